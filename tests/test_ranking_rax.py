"""Wave-2 ranking options and losses against rax 0.4.0 goldens (gen_ranking_rax.py).

segments= on every list loss, the pairwise MSE / soft zero-one / quantile losses,
poly1 and unique softmax, listmle's key, label_fn, and the lambdaweights.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("ranking_rax")


def _normalize(labels, where=None):
    """rax.utils.normalize_probabilities (written from its docstring): sum to 1 over the valid
    items, uniform over them where the valid labels sum to 0."""
    valid = jnp.ones(labels.shape, bool) if where is None else where
    total = jnp.sum(jnp.where(valid, labels, 0), axis=-1, keepdims=True)
    count = jnp.sum(valid, axis=-1, keepdims=True)
    count = jnp.where(count == 0, labels.shape[-1], count)
    return jnp.where(total != 0, labels / jnp.where(total == 0, 1, total), 1 / count)


# case -> (function, options): the same option sets as gen_ranking_rax.losses().
LOSSES = {
    "pairwise_hinge": (jaxloss.pairwise_hinge_loss, {}),
    "pairwise_logistic": (jaxloss.pairwise_logistic_loss, {}),
    "pairwise_soft_zero_one": (jaxloss.pairwise_soft_zero_one_loss, {}),
    "pairwise_mse": (jaxloss.pairwise_mse_loss, {}),
    "pairwise_qr": (jaxloss.pairwise_qr_loss, {}),
    "pairwise_qr_t0.25_sq": (jaxloss.pairwise_qr_loss, {"tau": 0.25, "squared": True}),
    "softmax": (jaxloss.softmax_ranking_loss, {}),
    "softmax_normalized": (jaxloss.softmax_ranking_loss, {"label_fn": _normalize}),
    "poly1": (jaxloss.poly1_softmax_loss, {}),
    "poly1_e-0.5": (jaxloss.poly1_softmax_loss, {"epsilon": -0.5}),
    "unique_softmax": (jaxloss.unique_softmax_loss, {}),
    "unique_softmax_nogain": (jaxloss.unique_softmax_loss, {"gain_fn": None}),
    "listmle": (jaxloss.listmle_loss, {}),
    "listmle_key": (jaxloss.listmle_loss, {"key": jax.random.PRNGKey(3)}),
    "approx_ndcg": (jaxloss.approx_ndcg_loss, {}),
    "logistic_dcg": (jaxloss.pairwise_logistic_loss, {"lambdaweight": "dcg"}),
    "logistic_dcg2": (jaxloss.pairwise_logistic_loss, {"lambdaweight": "dcg2"}),
    "logistic_labeldiff": (jaxloss.pairwise_logistic_loss, {"lambdaweight": "labeldiff"}),
    "hinge_ndcg_top3": (
        jaxloss.pairwise_hinge_loss,
        {"lambdaweight": functools.partial(jaxloss.dcg_lambdaweight, topn=3, normalize=True)},
    ),
}
VARIANT_KWARGS = {
    "plain": {},
    "where": {"where": G["where"]},
    "weights": {"weights": G["weights"]},
    "segments": {"segments": G["segments"]},
    "segments_where": {"segments": G["segments"], "where": G["where"]},
    "segments_weights": {"segments": G["segments"], "weights": G["weights"]},
}


# rax 0.4 bugs, deliberate differences (documented in the docstrings):
# - with normalize=True and segments, rax divides only the first item of each segment by the
#   ideal DCG (its dcg_metric(reduce_fn=None) zeroes the other items): those goldens are skipped;
# - listmle with segments and where gives NaN gradients in rax (-inf - -inf in its
#   segment_logcumsumexp); the value is compared, and the gradient against the same lists without
#   the masked padding (rax's own test pairs these inputs) or checked finite.
NORMALIZE_BUG = {"hinge_ndcg_top3", "dcg_top2_norm", "dcg2_norm"}
NAN_GRAD = {"listmle", "listmle_key"}


# The anchor's defaults and the option sets: the full set of variants for the base cases, two for
# the option sets (the test time is the compile time of the variants).
BASE = {
    "pairwise_hinge",
    "pairwise_logistic",
    "pairwise_soft_zero_one",
    "pairwise_mse",
    "pairwise_qr",
    "softmax",
    "poly1",
    "unique_softmax",
    "listmle",
    "approx_ndcg",
}
FULL = ("where", "segments_weights", "rax_segments_where")
SHORT = ("where", "segments_where")


def _runs(case):
    """variant -> (scores, labels, kwargs) for the goldens of ``case`` that the test compares."""
    keep = FULL if case in BASE else SHORT
    runs = {
        v: (G["scores"], G["labels"], kw)
        for v, kw in VARIANT_KWARGS.items()
        if f"{case}/{v}/value" in G and v in keep
    }
    if case == "listmle":  # rax's ListMLE takes no weights
        runs["segments_where"] = (G["scores"], G["labels"], VARIANT_KWARGS["segments_where"])
    if case in NORMALIZE_BUG:
        return {v: r for v, r in runs.items() if "segments" not in v}
    if case in BASE:
        runs["rax_segments_where"] = (
            G["rax/scores"],
            G["rax/labels"],
            {"segments": G["rax/segments"], "where": G["rax/where"]},
        )
    return runs


@pytest.mark.parametrize("case", list(LOSSES))
def test_against_rax(case, x64):
    fn, options = LOSSES[case]
    runs = _runs(case)

    @jax.jit
    def all_variants(scores):
        out = {}
        for v, (_, labels, kw) in runs.items():
            f = lambda s, labels=labels, kw=kw: fn(s, labels, **options, **kw)  # noqa: E731
            value, grad = jax.value_and_grad(f)(scores[v])
            out[v] = value, grad, fn(scores[v], labels, reduction="none", **options, **kw)
        return out

    got = all_variants({v: jnp.asarray(s) for v, (s, _, _) in runs.items()})
    for v, (value, grad, none) in got.items():
        key = f"{case}/{v}"
        np.testing.assert_allclose(value, G[f"{key}/value"], rtol=1e-9, atol=1e-12, err_msg=key)
        expected_grad = G[f"{key}/grad"]
        if case in NAN_GRAD and v == "segments_where":
            assert np.all(np.isfinite(grad)), key
            expected_grad = grad
        elif case in NAN_GRAD and v == "rax_segments_where":
            expected_grad = np.concatenate([G[f"{case}/rax_segments/grad"], np.zeros(2)])
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-8, atol=1e-12, err_msg=key)
        expected = G[f"{key}/none"]  # rax flattens the pair axes
        np.testing.assert_allclose(
            np.reshape(none, expected.shape), expected, rtol=1e-9, atol=1e-12, err_msg=key
        )


LAMBDAWEIGHTS = {
    "dcg": functools.partial(jaxloss.dcg_lambdaweight),
    "dcg_top2_norm": functools.partial(jaxloss.dcg_lambdaweight, topn=2, normalize=True),
    "dcg2": functools.partial(jaxloss.dcg2_lambdaweight),
    "dcg2_light": functools.partial(jaxloss.dcg2_lambdaweight, light_discount=True),
    "dcg2_top2": functools.partial(jaxloss.dcg2_lambdaweight, topn=2),
    "dcg2_norm": functools.partial(jaxloss.dcg2_lambdaweight, normalize=True),
    "labeldiff": functools.partial(jaxloss.labeldiff_lambdaweight),
}


def test_lambdaweights_against_rax(x64):
    variants = {v: VARIANT_KWARGS[v] for v in ("where", "segments_where")}

    @jax.jit
    def all_weights(scores, labels):
        return {
            (n, v): fn(scores, labels, **kw)
            for n, fn in LAMBDAWEIGHTS.items()
            for v, kw in variants.items()
            if not (n in NORMALIZE_BUG and "segments" in v)
        } | {("dcg", "weights"): jaxloss.dcg_lambdaweight(scores, labels, weights=G["weights"])}

    got = all_weights(G["scores"], G["labels"])
    for (n, v), value in got.items():
        expected = G[f"lw/{n}/{v}"]
        np.testing.assert_allclose(
            np.reshape(value, expected.shape), expected, rtol=1e-9, atol=1e-12, err_msg=f"{n}/{v}"
        )
    grad = jax.grad(lambda s: jnp.sum(jaxloss.dcg_lambdaweight(s, G["labels"])))(G["scores"])
    np.testing.assert_array_equal(grad, 0.0)


def test_all_masked_gives_zero_and_zero_gradient():
    labels = jnp.array([[1.0, 0, 2, 0], [0, 1, 0, 0]])
    segments = jnp.array([[0, 0, 1, 1], [0, 1, 2, 3]])
    none = jnp.zeros((2, 4), bool)
    calls = [
        (fn, kw)
        for fn in (
            jaxloss.pairwise_mse_loss,
            jaxloss.poly1_softmax_loss,
            jaxloss.unique_softmax_loss,
        )
        for kw in ({}, {"segments": segments})
    ]
    calls += [
        (fn, {"segments": segments}) for fn in (jaxloss.listmle_loss, jaxloss.approx_ndcg_loss)
    ]

    @jax.jit
    def every(s):
        return [
            jax.value_and_grad(lambda s, fn=fn, kw=kw: fn(s, labels, where=none, **kw))(s)
            for fn, kw in calls
        ]

    for value, grad in every(jnp.ones((2, 4))):
        assert value == 0.0
        np.testing.assert_array_equal(grad, 0.0)


def test_option_checks():
    s, y = jnp.zeros(3), jnp.array([1.0, 0.0, 2.0])
    with pytest.raises(ValueError, match="tau"):
        jaxloss.pairwise_qr_loss(s, y, tau=0.0)
    with pytest.raises(ValueError, match="lambdaweight"):
        jaxloss.pairwise_logistic_loss(s, y, lambdaweight="ndcg")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="segments"):
        jaxloss.softmax_ranking_loss(s, y, segments=jnp.zeros(2, int))
    with pytest.raises(TypeError, match="segments"):
        jaxloss.softmax_ranking_loss(s, y, segments=jnp.zeros(3))


def _approx_ndcg_with_key(scores, labels, *, key=None, **kwargs):
    del key
    return jaxloss.approx_ndcg_loss(scores, labels, **kwargs)


GUMBELS = {
    "softmax": (jaxloss.gumbel_t12n(jaxloss.softmax_ranking_loss), True),
    "listmle_s4_b0.5": (jaxloss.gumbel_t12n(jaxloss.listmle_loss, samples=4, beta=0.5), True),
    "softmax_smooth": (
        jaxloss.gumbel_t12n(jaxloss.softmax_ranking_loss, smoothing_factor=1e-20),
        True,
    ),
    # rax's approx_t12n losses take **kwargs, so rax splits the key for them: a loss that takes
    # a key (and ignores it) gets the same split here.
    "approx_ndcg": (jaxloss.gumbel_t12n(_approx_ndcg_with_key), False),
}


def test_gumbel_t12n_against_rax(x64):
    """The same key gives rax's noise: values and gradients agree."""
    key = jax.random.PRNGKey(42)

    @jax.jit
    def every(s):
        out = {}
        for name, (fn, masked) in GUMBELS.items():
            kw = {"where": jnp.asarray(G["where"])} if masked else {}
            f = lambda s, fn=fn, kw=kw: fn(s, G["labels"], key=key, **kw)  # noqa: E731
            out[name] = jax.value_and_grad(f)(s)
        return out

    for name, (value, grad) in every(jnp.asarray(G["scores"])).items():
        np.testing.assert_allclose(value, G[f"gumbel/{name}/value"], rtol=1e-9, err_msg=name)
        np.testing.assert_allclose(
            grad, G[f"gumbel/{name}/grad"], rtol=1e-8, atol=1e-12, err_msg=name
        )
    with pytest.raises(ValueError, match="samples"):
        jaxloss.gumbel_t12n(jaxloss.softmax_ranking_loss, samples=0)
