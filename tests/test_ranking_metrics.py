"""approx_metric_loss against rax 0.4.0 goldens (gen_ranking_metrics.py): values, gradients, "none"."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("ranking_metrics")
METRICS = ("ndcg", "dcg", "mrr", "ap", "recall", "precision")


CASES = json.loads(str(G["cases"]))  # case -> options; True marks an input array


def _options(options):
    return {k: G[k] if v is True else v for k, v in options.items()}


@pytest.mark.parametrize("metric", METRICS)
def test_against_rax(metric, x64):
    cases = {c: _options(o) for c, o in CASES.items() if c.startswith(f"{metric}/")}

    @jax.jit
    def every(scores):
        out = {}
        for case, kw in cases.items():
            f = lambda s, kw=kw: jaxloss.approx_metric_loss(s, G["labels"], **kw)  # noqa: E731
            value, grad = jax.value_and_grad(f)(scores)
            out[case] = (
                value,
                grad,
                jaxloss.approx_metric_loss(scores, G["labels"], reduction="none", **kw),
            )
        return out

    for case, (value, grad, none) in every(jnp.asarray(G["scores"])).items():
        np.testing.assert_allclose(value, G[f"{case}/value"], rtol=1e-9, atol=1e-12, err_msg=case)
        np.testing.assert_allclose(grad, G[f"{case}/grad"], rtol=1e-8, atol=1e-12, err_msg=case)
        np.testing.assert_allclose(none, G[f"{case}/none"], rtol=1e-9, atol=1e-12, err_msg=case)


def test_edge_cases():
    """No relevant item scores 0; an all-masked list is left out of the mean with zero gradient."""
    s = jnp.array([[0.3, -1.0, 2.0], [1.0, 0.0, -1.0]])
    y = jnp.array([[0.0, 0.0, 0.0], [1.0, 0.0, 2.0]])
    where = jnp.array([[True, True, True], [False, False, False]])

    @jax.jit
    def every(s):
        return [
            jax.value_and_grad(
                lambda s, m=m: jaxloss.approx_metric_loss(s, y, metric=m, where=where, topn=2)
            )(s)
            for m in ("ndcg", "ap", "precision")
        ]

    for value, grad in every(s):
        assert value == 0.0
        np.testing.assert_array_equal(grad, 0.0)


def test_option_checks():
    s, y = jnp.zeros(3), jnp.array([1.0, 0.0, 2.0])
    with pytest.raises(ValueError, match="metric"):
        jaxloss.approx_metric_loss(s, y, metric="opa")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rank_approx"):
        jaxloss.approx_metric_loss(s, y, rank_approx="gumbel")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="topn"):
        jaxloss.approx_metric_loss(s, y, topn=0)
    with pytest.raises(ValueError, match="temperature"):
        jaxloss.approx_metric_loss(s, y, temperature=0.0)


LAMBDA_CASES = json.loads(str(G["lambda_cases"]))  # case -> options of lambda_loss


def test_lambda_loss_against_sentence_transformers():
    scores, labels, where = G["lambda/scores"], G["lambda/labels"], G["lambda/where"]

    @jax.jit
    def every(s):
        return {
            case: jax.value_and_grad(
                lambda s, kw=kw: jaxloss.lambda_loss(s, labels, where=where, **kw)
            )(s)
            for case, kw in LAMBDA_CASES.items()
        }

    for case, (value, grad) in every(jnp.asarray(scores)).items():
        key = f"lambda/{case}"
        np.testing.assert_allclose(value, G[f"{key}/value"], rtol=2e-5, atol=1e-7, err_msg=key)
        np.testing.assert_allclose(grad, G[f"{key}/grad"], rtol=2e-5, atol=1e-7, err_msg=key)


def test_lambda_loss_edge_cases():
    """No pair selected gives 0 with zero gradient; "none" is the pair matrix; option checks."""
    s, y = jnp.array([[0.5, -1.0, 2.0]]), jnp.array([[1.0, 1.0, 1.0]])

    @jax.jit
    def run(s):
        f = lambda s: jaxloss.lambda_loss(s, y)  # noqa: E731
        return jax.value_and_grad(f)(s), jaxloss.lambda_loss(s, y, reduction="none")

    (value, grad), none = run(s)
    assert value == 0.0
    np.testing.assert_array_equal(grad, 0.0)
    assert none.shape == (1, 3, 3)
    with pytest.raises(ValueError, match="weighting"):
        jaxloss.lambda_loss(s, y, weighting="ndcg")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="log_base"):
        jaxloss.lambda_loss(s, y, log_base=1.0)
    with pytest.raises(ValueError, match="k"):
        jaxloss.lambda_loss(s, y, k=0)
