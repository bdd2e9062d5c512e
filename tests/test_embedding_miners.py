"""Wave-2 mining: ``pairwise_distances`` with ``"lp"``/``"manhattan"``, ``power`` and
``normalize_embeddings`` against PML's distances (values and gradients), and the
``multi_similarity_pairs``, ``pair_margin_pairs`` and ``triplet_margin_mask`` miners
against PML's miners (dense masks), on hand cases, under jit and with an episode axis."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

from jaxloss import mining

G = load("embedding_structure")
TOL = {"rtol": 1e-7, "atol": 1e-10}
Y = G["labels"].astype(np.int32)

# golden key -> (pairwise_distances options, sign): PML similarity = sign * (constant - distance).
DISTANCES = {
    "lp1": ({"metric": "lp", "p": 1.0}, 1.0),
    "lp3_pow2_norm": ({"metric": "lp", "p": 3.0, "power": 2.0, "normalize_embeddings": True}, 1.0),
    "lp2_norm": ({"metric": "lp", "normalize_embeddings": True}, 1.0),
    "lp2_pow2": ({"metric": "lp", "power": 2}, 1.0),
    "lp1_norm": ({"metric": "manhattan", "normalize_embeddings": True}, 1.0),
    "cos": ({"metric": "cosine"}, -1.0),
    "dot": ({"metric": "dot"}, -1.0),
    "dot_pow2": ({"metric": "dot", "power": 2}, 1.0),
}
# The same distances under the names that already existed.
ALIASES = {
    "lp2_norm": {"metric": "euclidean", "normalize_embeddings": True},
    "lp2_pow2": {"metric": "squared_euclidean"},
    "lp1": {"metric": "manhattan"},
}


def _check(key, kw, sign):
    x, y, w = G["d_x"], G["d_y"], G["d_w"]
    if kw["metric"] == "manhattan":
        # The coincident pair (x[1] = y[2]) sits on the kink of |.|: whether its two normalised
        # rows round alike depends on the compiler, so its subgradient is checked on exact ties
        # in test_zero_distance_has_zero_gradient instead; here it carries no weight.
        w = np.where(np.all(x[:, None] == y[None], axis=-1), 0.0, w)
    f = jax.jit(lambda a, b: mining.pairwise_distances(a, b, **kw))
    d = f(x, y)
    offset = 1.0 if kw["metric"] == "cosine" else 0.0
    np.testing.assert_allclose(sign * (d - offset), G[f"d_{key}"], **TOL)
    gx, gy = jax.grad(lambda a, b: jnp.sum(sign * f(a, b) * w), (0, 1))(x, y)
    np.testing.assert_allclose(gx, G[f"d_{key}_gx"], **TOL)
    np.testing.assert_allclose(gy, G[f"d_{key}_gy"], **TOL)


@pytest.mark.parametrize("key", list(DISTANCES))
def test_distances_against_pytorch_metric_learning(key, x64):
    _check(key, *DISTANCES[key])


@pytest.mark.parametrize("key", list(ALIASES))
def test_existing_metric_names_give_the_same_distances(key, x64):
    _check(key, ALIASES[key], 1.0)


@pytest.mark.parametrize(
    "kw",
    [
        {"metric": "lp", "p": 1.0},
        {"metric": "lp", "p": 3.0},
        {"metric": "lp", "p": float("inf")},
        {"metric": "manhattan", "power": 0.5},
        {"metric": "euclidean", "power": 2.0},
    ],
)
def test_zero_distance_has_zero_gradient(kw):
    x = jnp.array([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0], [3.0, -1.0]])

    @jax.jit
    def run(e):  # the distances and both gradients in one compile
        dm = mining.pairwise_distances(e, **kw)
        g01 = jax.grad(lambda a: mining.pairwise_distances(a, **kw)[0, 1])(e)
        g = jax.grad(
            lambda a: jnp.sum(mining.pairwise_distances(a, normalize_embeddings=True, **kw))
        )(e)
        return dm, g01, g

    dm, g01, g = run(x)
    assert float(dm[0, 1]) == 0.0
    np.testing.assert_array_equal(np.diag(dm), 0.0)
    np.testing.assert_array_equal(g01, 0.0)
    assert np.all(np.isfinite(np.asarray(g)))


def test_lp_hand_values_and_traced_power():
    x = jnp.array([[0.0, 0.0], [3.0, -4.0]])
    np.testing.assert_allclose(mining.pairwise_distances(x, metric="manhattan")[0, 1], 7.0)
    np.testing.assert_allclose(mining.pairwise_distances(x, metric="lp", p=float("inf"))[0, 1], 4.0)
    np.testing.assert_allclose(
        mining.pairwise_distances(x, metric="lp", p=3.0)[0, 1], (27 + 64) ** (1 / 3), rtol=1e-6
    )
    # L1-normalised rows for "manhattan" (PML LpDistance(p=1) normalises by the p-norm).
    np.testing.assert_allclose(
        mining.pairwise_distances(x, metric="manhattan", normalize_embeddings=True)[0, 1], 1.0
    )
    f = jax.jit(lambda a, pw: mining.pairwise_distances(a, metric="manhattan", power=pw))
    np.testing.assert_allclose(f(x, 2.0)[0, 1], 49.0, rtol=1e-6)
    np.testing.assert_allclose(
        jax.grad(lambda pw: f(x, pw)[0, 1])(2.0), 49.0 * np.log(7.0), rtol=1e-5
    )


def test_bad_distance_options_raise():
    x = jnp.ones((3, 2))
    with pytest.raises(ValueError, match="pairwise_distances: p must be"):
        mining.pairwise_distances(x, metric="lp", p=0.5)
    with pytest.raises(ValueError, match="pairwise_distances: power must be > 0"):
        mining.pairwise_distances(x, power=0.0)
    with pytest.raises(ValueError, match=r"pairwise_distances.*metric"):
        mining.pairwise_distances(x, metric="l1")  # pyright: ignore[reportArgumentType]


# --------------------------------------------------------------------------- miners


@pytest.mark.parametrize("epsilon", [0.1, 0.3])
def test_multi_similarity_pairs_against_pml(epsilon, x64):
    s = 1.0 - mining.pairwise_distances(G["m_x"], metric="cosine")
    pos, neg = jax.jit(lambda a, y: mining.multi_similarity_pairs(a, y, epsilon=epsilon))(s, Y)
    np.testing.assert_array_equal(pos, G[f"m_ms_{epsilon}_pos"])
    np.testing.assert_array_equal(neg, G[f"m_ms_{epsilon}_neg"])


def test_pair_margin_pairs_against_pml(x64):
    d = mining.pairwise_distances(G["m_x"], normalize_embeddings=True)
    pos, neg = mining.pair_margin_pairs(d, Y, pos_margin=0.5, neg_margin=1.0)
    np.testing.assert_array_equal(pos, G["m_pm_pos"])
    np.testing.assert_array_equal(neg, G["m_pm_neg"])


@pytest.mark.parametrize("kind", ["all", "hard", "semihard", "easy"])
def test_triplet_margin_mask_against_pml(kind, x64):
    d = mining.pairwise_distances(G["m_x"])
    mask = jax.jit(
        lambda a, y: mining.triplet_margin_mask(a, y, margin=0.3, type_of_triplets=kind)
    )(d, Y)
    assert mask.shape == (12, 12, 12)
    np.testing.assert_array_equal(mask, G[f"m_tm_{kind}"])


def test_triplet_types_partition_the_valid_triplets():
    d = mining.pairwise_distances(jnp.asarray(G["m_x"], jnp.float32))
    masks = {
        k: np.asarray(mining.triplet_margin_mask(d, Y, margin=0.3, type_of_triplets=k))
        for k in ("hard", "semihard", "easy", "all")
    }
    np.testing.assert_array_equal(masks["hard"] | masks["semihard"], masks["all"])
    assert not np.any(masks["hard"] & masks["semihard"])
    np.testing.assert_array_equal(
        masks["all"] | masks["easy"], np.asarray(mining.batch_all_triplet_mask(Y))
    )


def test_miner_edge_cases():
    s = jnp.array([[1.0, 0.5, 0.7], [0.5, 1.0, 0.2], [0.7, 0.2, 1.0]])
    # Hand case: anchor 0 keeps its positive (0.5 - 0.1 < 0.7) and its negative (0.7 + 0.1 > 0.5);
    # anchor 1 neither (0.5 - 0.1 >= 0.2; 0.2 + 0.1 <= 0.5); anchor 2 has no positive.
    pos, neg = mining.multi_similarity_pairs(s, jnp.array([0, 0, 1]))
    np.testing.assert_array_equal(pos, [[0, 1, 0], [0, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(neg, [[0, 0, 1], [0, 0, 0], [0, 0, 0]])
    # No negatives anywhere / no positives anywhere: nothing is kept.
    for y in (jnp.zeros(3, jnp.int32), jnp.arange(3, dtype=jnp.int32)):
        for out in (
            mining.multi_similarity_pairs(s, y),
            mining.pair_margin_pairs(1.0 - s, y, pos_margin=-1.0),
        ):
            assert not np.any(out[0]) or not np.any(out[1])
        assert not np.any(mining.triplet_margin_mask(1.0 - s, y, margin=10.0))


def test_miners_take_an_episode_axis():
    x = jax.random.normal(jax.random.key(0), (3, 8, 4))
    y = jnp.tile(jnp.array([0, 0, 1, 1, 2, 2, 3, 3]), (3, 1))
    d = mining.pairwise_distances(x, metric="lp", p=1.0)
    assert d.shape == (3, 8, 8)
    for e in range(3):
        np.testing.assert_allclose(
            d[e], mining.pairwise_distances(x[e], metric="lp", p=1.0), rtol=1e-6
        )
        for fn in (mining.multi_similarity_pairs, mining.pair_margin_pairs):
            batched = fn(-d, y) if fn is mining.multi_similarity_pairs else fn(d, y)
            single = fn(-d[e], y[e]) if fn is mining.multi_similarity_pairs else fn(d[e], y[e])
            for b, s in zip(batched, single, strict=True):
                np.testing.assert_array_equal(b[e], s)
        np.testing.assert_array_equal(
            mining.triplet_margin_mask(d, y)[e], mining.triplet_margin_mask(d[e], y[e])
        )
