"""Ranking family against rax goldens and the BPR paper formula."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from references import load

import jaxloss

G = load("ranking")
LOSSES = {
    "pairwise_hinge": jaxloss.pairwise_hinge_loss,
    "pairwise_logistic": jaxloss.pairwise_logistic_loss,
    "softmax": jaxloss.softmax_ranking_loss,
    "listmle": jaxloss.listmle_loss,
    "approx_ndcg": jaxloss.approx_ndcg_loss,
    "approx_ndcg_t0.5": lambda s, y, **kw: jaxloss.approx_ndcg_loss(s, y, temperature=0.5, **kw),
}
CASES = [(n, v) for n in LOSSES for v in ("plain", "where", "weights") if f"{n}/{v}/value" in G]


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_against_rax(name, variant, x64):
    kwargs = {"plain": {}, "where": {"where": G["where"]}, "weights": {"weights": G["weights"]}}[variant]
    fn = LOSSES[name]

    def run(s, y):  # one jit: eager op-by-op dispatch compiles every primitive (CI time)
        return jax.value_and_grad(lambda s: fn(s, y, **kwargs))(s), fn(s, y, reduction="none", **kwargs)

    (value, grad), none = jax.jit(run)(G["scores"], G["labels"])
    np.testing.assert_allclose(value, G[f"{name}/{variant}/value"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad, G[f"{name}/{variant}/grad"], rtol=1e-9, atol=1e-12)
    expected = G[f"{name}/{variant}/none"]  # rax flattens the pair axes
    np.testing.assert_allclose(np.reshape(none, expected.shape), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("fn", list(LOSSES.values()))
def test_all_masked_lists_give_zero_and_zero_gradient(fn):
    scores, labels = jnp.ones((2, 4)), jnp.array([[1.0, 0, 2, 0], [0, 1, 0, 0]])
    value, grad = jax.jit(jax.value_and_grad(lambda s: fn(s, labels, where=jnp.zeros((2, 4), bool))))(scores)
    assert value == 0.0
    np.testing.assert_array_equal(grad, 0.0)


def test_bpr_is_log_sigmoid_of_the_difference():
    pos, neg = jnp.array([3.0, -1.0, 0.0]), jnp.array([1.0, 2.0, 0.0])
    expected = -jax.nn.log_sigmoid(pos - neg)
    np.testing.assert_allclose(jaxloss.bpr_loss(pos, neg, reduction="none"), expected, rtol=1e-6)
    np.testing.assert_allclose(
        jaxloss.bpr_loss(pos, neg), optax.losses.sigmoid_binary_cross_entropy(pos - neg, jnp.ones(3)).mean(),
        rtol=1e-6,
    )


def test_margin_ranking_loss_is_reexported():
    assert jaxloss.ranking.margin_ranking_loss is jaxloss.margin_ranking_loss


def test_approx_ndcg_tends_to_ndcg_at_low_temperature():
    scores = jnp.array([[3.0, 1.0, 2.0]])
    labels = jnp.array([[0.0, 2.0, 1.0]])
    # True ranks 1, 3, 2: DCG = 3 / log2(4) + 1 / log2(3); IDCG = 3 / log2(2) + 1 / log2(3).
    ndcg = (3 / 2 + 1 / np.log2(3)) / (3 + 1 / np.log2(3))
    np.testing.assert_allclose(jaxloss.approx_ndcg_loss(scores, labels, temperature=1e-3), -ndcg, rtol=1e-5)
