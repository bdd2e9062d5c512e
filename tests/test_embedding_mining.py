"""jaxloss.mining: distances against torch goldens, masks and miners on hand cases,
fixed shapes under jit, the leading episode axis, and memory (no [B, B, B] tensor)."""

from __future__ import annotations

import math

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

from jaxloss import mining
from jaxloss.embedding._mining import METRICS

G = load("embedding_pairs")
TOL = {"rtol": 1e-7, "atol": 1e-10}


@pytest.mark.parametrize("metric", METRICS)
def test_pairwise_distances_against_torch(metric, x64):
    x, y, w = G["dist_x"], G["dist_y"], G["dist_w"]
    f = jax.jit(lambda a, b: mining.pairwise_distances(a, b, metric=metric))
    np.testing.assert_allclose(f(x, y), G[f"dist_{metric}"], **TOL)
    gx, gy = jax.grad(lambda a, b: jnp.sum(f(a, b) * w), (0, 1))(x, y)
    np.testing.assert_allclose(gx, G[f"dist_{metric}_gx"], **TOL)
    np.testing.assert_allclose(gy, G[f"dist_{metric}_gy"], **TOL)


@pytest.mark.parametrize("metric", METRICS)
def test_zero_distance_and_zero_vectors_have_finite_gradients(metric):
    x = jnp.array([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0], [3.0, -1.0]])
    _, g = jax.value_and_grad(lambda a: jnp.sum(mining.pairwise_distances(a, metric=metric)))(x)
    assert np.all(np.isfinite(np.asarray(g)))
    dm = mining.pairwise_distances(x, metric=metric)
    if metric in ("euclidean", "squared_euclidean"):
        np.testing.assert_array_equal(np.diag(dm), 0.0)
        assert float(dm[0, 1]) == 0.0
    if metric == "euclidean":
        # The safe square root: the derivative of |x_i - x_j| at zero distance is 0.
        np.testing.assert_array_equal(jax.grad(lambda a: mining.pairwise_distances(a)[0, 1])(x), 0.0)
    if metric == "cosine":
        np.testing.assert_allclose(dm[2], 1.0)


def test_distances_hand_values():
    x = jnp.array([[0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_allclose(mining.pairwise_distances(x, metric="squared_euclidean"), [[0, 25], [25, 0]])
    np.testing.assert_allclose(mining.pairwise_distances(x, metric="dot"), [[0, 0], [0, -25]])
    with pytest.raises(ValueError, match=r"pairwise_distances.*metric"):
        mining.pairwise_distances(x, metric="l2")
    with pytest.raises(ValueError, match=r"pairwise_distances: x has shape \(2, 2\) and y has shape \(2, 3\)"):
        mining.pairwise_distances(x, jnp.ones((2, 3)))


def test_label_masks():
    y = jnp.array([0, 1, 0, 2])
    pos = np.asarray(mining.positive_mask(y))
    neg = np.asarray(mining.negative_mask(y))
    expected_pos = np.zeros((4, 4), bool)
    expected_pos[0, 2] = expected_pos[2, 0] = True
    np.testing.assert_array_equal(pos, expected_pos)
    np.testing.assert_array_equal(neg, np.asarray(y)[:, None] != np.asarray(y)[None, :])
    trip = np.asarray(mining.batch_all_triplet_mask(y))
    assert trip.shape == (4, 4, 4)
    # (0, 2, n) and (2, 0, n) for n in {1, 3}.
    assert sorted(zip(*np.nonzero(trip))) == [(0, 2, 1), (0, 2, 3), (2, 0, 1), (2, 0, 3)]
    with pytest.raises(TypeError, match="positive_mask: labels must have an integer dtype"):
        mining.positive_mask(jnp.zeros(3))


def test_batch_hard_and_hard_pairs_hand_case():
    x = jnp.array([[0.0], [1.0], [3.0], [0.5], [10.0]])
    y = jnp.array([0, 0, 0, 1, 2])
    d = mining.pairwise_distances(x)
    p, n, valid = mining.batch_hard_triplets(d, y)
    np.testing.assert_array_equal(p[:3], [2, 2, 0])
    np.testing.assert_array_equal(n[:4], [3, 3, 3, 0])
    np.testing.assert_array_equal(valid, [True, True, True, False, False])
    pp, nn = mining.hard_pairs(d, y)
    assert pp.shape == nn.shape == (5, 5)
    np.testing.assert_array_equal(np.nonzero(pp)[1], [2, 2, 0])
    np.testing.assert_array_equal(np.nonzero(nn)[1], [3, 3, 3])
    np.testing.assert_array_equal(pp.sum(1), [1, 1, 1, 0, 0])
    with pytest.raises(ValueError, match=r"batch_hard_triplets: labels has shape \(4,\)"):
        mining.batch_hard_triplets(d, y[:4])


def test_semi_hard_negatives_follow_the_tf_addons_rule():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 3)).astype(np.float32)
    y = rng.integers(0, 4, 20).astype(np.int32)
    y[-1] = 7  # no positive
    d = np.asarray(mining.pairwise_distances(x))
    neg, semi, valid = jax.jit(mining.semi_hard_negatives)(d, y)
    assert neg.shape == semi.shape == valid.shape == (20, 20) and neg.dtype == jnp.int32
    np.testing.assert_array_equal(valid, mining.positive_mask(y))
    fallbacks = 0
    for a, p in zip(*np.nonzero(np.asarray(valid))):
        negatives = np.nonzero(y != y[a])[0]
        farther = negatives[d[a, negatives] > d[a, p]]
        if farther.size:
            assert d[a, neg[a, p]] == d[a, farther].min() and semi[a, p]
        else:
            fallbacks += 1
            assert d[a, neg[a, p]] == d[a, negatives].max() and not semi[a, p]
    assert fallbacks > 0
    # margin only narrows the semi-hard flag to FaceNet's band d_ap < d_an < d_ap + margin.
    neg_m, semi_m, _ = mining.semi_hard_negatives(d, y, margin=0.1)
    np.testing.assert_array_equal(neg_m, neg)
    d_an = np.take_along_axis(d, np.asarray(neg), 1)
    np.testing.assert_array_equal(semi_m, np.asarray(semi) & (d_an < d + 0.1))


def test_leading_episode_axis_equals_loop():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 7, 4)).astype(np.float32)
    y = rng.integers(0, 3, (3, 7)).astype(np.int32)
    d = jax.jit(mining.pairwise_distances)(x)
    assert d.shape == (3, 7, 7)
    for e in range(3):
        np.testing.assert_allclose(d[e], mining.pairwise_distances(x[e]), rtol=1e-6)
        for fn in (mining.batch_hard_triplets, mining.semi_hard_negatives, mining.hard_pairs):
            for got, want in zip(fn(d, y)[:], fn(d[e], y[e])):
                np.testing.assert_array_equal(got[e], want)
        for fn in (mining.positive_mask, mining.negative_mask, mining.batch_all_triplet_mask):
            np.testing.assert_array_equal(fn(y)[e], fn(y[e]))
    with pytest.raises(ValueError, match="leading episode axis"):
        mining.batch_hard_triplets(d, y[:2])


def _largest_intermediate(fn, *args) -> int:
    jaxpr = jax.make_jaxpr(fn)(*args)
    sizes = [0]

    def visit(j):
        for eqn in j.eqns:
            for v in eqn.outvars:
                sizes.append(math.prod(getattr(v.aval, "shape", ())))
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                visit(sub)

    visit(jaxpr.jaxpr)
    return max(sizes)


@pytest.mark.parametrize("mining_kind", ["batch_hard", "semi_hard", "batch_all"])
def test_no_cubic_intermediate(mining_kind):
    import jaxloss

    b = 64
    x = jnp.zeros((b, 8))
    y = jnp.arange(b) % 8
    size = _largest_intermediate(jax.grad(lambda e: jaxloss.triplet_loss(e, y, mining=mining_kind)), x)
    assert size < b**3 // 4, f"{mining_kind}: an intermediate of {size} elements"
