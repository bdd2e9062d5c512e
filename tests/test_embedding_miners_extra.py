"""``easy_hard_triplets`` against PML's ``BatchEasyHardMiner`` (every strategy pair,
allowed ranges) and ``distance_weighted_negatives`` against PML's
``DistanceWeightedMiner`` (its sampling weights, and the empirical frequencies of the
draws), under jit and with an episode axis."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load
from references.gen_embedding_ap import DISTANCE_WEIGHTED, EASY_HARD

import jaxloss
from jaxloss.embedding._mining_strategies import _distance_weighted_probabilities

G = load("embedding_ap")
Y = G["labels"].astype(np.int32)


def test_easy_hard_against_pytorch_metric_learning():
    d = G["m_d"].astype(np.float32)
    for case, kw in EASY_HARD.items():
        p, n, valid = jax.jit(lambda d, kw=kw: jaxloss.easy_hard_triplets(d, Y, **kw))(d)
        expected_p, expected_n = G[f"m_{case}_pos"], G[f"m_{case}_neg"]
        np.testing.assert_array_equal(valid, expected_p >= 0, err_msg=case)
        np.testing.assert_array_equal(np.where(valid, p, -1), expected_p, err_msg=case)
        np.testing.assert_array_equal(np.where(valid, n, -1), expected_n, err_msg=case)


def test_easy_hard_episodes_and_errors():
    d = jnp.asarray(G["m_d"].astype(np.float32))
    p, n, valid = jax.jit(jaxloss.easy_hard_triplets)(jnp.stack([d, d]), jnp.stack([Y, Y]))
    single = G["m_default_pos"], G["m_default_neg"], G["m_default_pos"] >= 0
    valid_single = np.asarray(valid[1])
    np.testing.assert_array_equal(valid_single, single[2])
    for a, b in zip((p, n), single[:2], strict=True):
        np.testing.assert_array_equal(np.where(valid_single, a[1], -1), b)
    with pytest.raises(ValueError, match=r"easy_hard_triplets.*both be 'semihard'"):
        jaxloss.easy_hard_triplets(d, Y, pos_strategy="semihard", neg_strategy="semihard")
    with pytest.raises(ValueError, match=r"easy_hard_triplets.*pos_strategy='all'.*positive_mask"):
        jaxloss.easy_hard_triplets(d, Y, pos_strategy="all", neg_strategy="hard")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"easy_hard_triplets.*neg_strategy"):
        jaxloss.easy_hard_triplets(d, Y, neg_strategy="hardest")  # type: ignore[arg-type]


def test_distance_weighted_probabilities_match_pytorch_metric_learning():
    probabilities = jax.jit(_distance_weighted_probabilities, static_argnums=2)
    for case, (dim, kw) in DISTANCE_WEIGHTED.items():
        d = jnp.asarray(G[f"m_{case}_d"].astype(np.float32))
        cut, nonzero = kw.get("cutoff", 0.5), kw.get("nonzero_loss_cutoff", 1.4)
        got = probabilities(d, jnp.asarray(Y), dim, jnp.float32(cut), jnp.float32(nonzero))
        expected = G[f"m_{case}_w"]
        # PML's rows without an eligible negative are 0/0 = NaN; here they are all 0.
        empty = np.isnan(expected).any(axis=1)
        np.testing.assert_allclose(
            got[~empty], expected[~empty], rtol=2e-5, atol=1e-7, err_msg=case
        )
        assert np.all(np.asarray(got)[empty] == 0)


def test_distance_weighted_draws_follow_the_probabilities():
    case, (dim, kw) = "dw_cut", DISTANCE_WEIGHTED["dw_cut"]
    d = jnp.asarray(G[f"m_{case}_d"].astype(np.float32))
    draws = 4000
    keys = jax.random.split(jax.random.key(0), draws)
    # An episode axis over the keys (the same batch repeated): one compiled call.
    neg, valid = jax.jit(
        lambda keys: jaxloss.distance_weighted_negatives(
            jnp.broadcast_to(d, (draws, *d.shape)),
            jnp.broadcast_to(Y, (draws, 12)),
            keys,
            dim=dim,
            **kw,
        )
    )(keys)
    neg, valid = np.asarray(neg), np.asarray(valid)
    expected = G[f"m_{case}_w"]
    empty = np.isnan(expected).any(axis=1)
    pos = (Y[:, None] == Y[None, :]) & ~np.eye(12, dtype=bool)
    np.testing.assert_array_equal(valid[0], pos & ~empty[:, None])
    for a in np.flatnonzero(pos.any(axis=1) & ~empty):
        p = np.flatnonzero(pos[a])[0]
        counts = np.bincount(neg[:, a, p], minlength=12) / draws
        prob = expected[a]
        assert np.all(counts[prob == 0] == 0), a  # never an ineligible negative
        sigma = np.sqrt(prob * (1 - prob) / draws)
        assert np.all(np.abs(counts - prob) <= 5 * sigma + 1e-3), (a, counts, prob)


def test_distance_weighted_errors():
    d = jnp.asarray(G["m_dw_d"])
    with pytest.raises(ValueError, match=r"distance_weighted_negatives.*dim"):
        jaxloss.distance_weighted_negatives(d, Y, jax.random.key(0), dim=0)
    with pytest.raises(TypeError, match=r"distance_weighted_negatives.*key"):
        jaxloss.distance_weighted_negatives(d, Y, jnp.zeros(3), dim=5)
