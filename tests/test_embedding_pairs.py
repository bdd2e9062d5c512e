"""Pair / triplet embedding losses against goldens (pytorch-metric-learning, torch
functionals, TF-Addons' semi-hard algorithm and its docstring example, Hadsell et al.),
hand cases, and the edge cases: excluded anchors, no valid triplet, duplicates."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss
from jaxloss import mining
from jaxloss.embedding import _triplets as _embedding_triplets
from jaxloss.embedding._mining import METRICS

G = load("embedding_pairs")
TOL = {"rtol": 1e-7, "atol": 1e-10}
MININGS = ("batch_all", "batch_hard", "semi_hard")


def _vg(fn, argnums=0):
    return jax.jit(jax.value_and_grad(fn, argnums))


def _finite(*trees):
    for leaf in jax.tree.leaves(trees):
        assert np.all(np.isfinite(np.asarray(leaf))), leaf


# --------------------------------------------------------------------------- triplet_loss


@pytest.mark.parametrize("case", ["batch_all", "batch_all_sq", "batch_all_soft", "batch_hard", "batch_hard_soft"])
def test_triplet_loss_against_pytorch_metric_learning(case, x64):
    kw = {"mining": case.split("_soft")[0].replace("_sq", ""), "soft_margin": case.endswith("soft"),
          "metric": "squared_euclidean" if case.endswith("_sq") else "euclidean"}
    y = G["trip_labels"].astype(np.int32)
    value, grad = _vg(lambda e: jaxloss.triplet_loss(e, y, margin=0.8, **kw))(G["trip_x"])
    np.testing.assert_allclose(value, G[f"trip_{case}"], **TOL)
    np.testing.assert_allclose(grad, G[f"trip_{case}_g"], **TOL)


@pytest.mark.parametrize("case", ["trip", "semi2"])
def test_semi_hard_against_tf_addons_algorithm(case, x64):
    if case == "trip":
        x, y, margin, ref = G["trip_x"][:-1], G["trip_labels"][:-1], 0.8, "trip_semi_hard"
    else:
        x, y, margin, ref = G["semi2_x"], G["semi2_labels"], 0.5, "semi2"
    value, grad = _vg(lambda e: jaxloss.triplet_loss(e, y.astype(np.int32), margin=margin, mining="semi_hard"))(x)
    np.testing.assert_allclose(value, G[ref], **TOL)
    np.testing.assert_allclose(grad, G[f"{ref}_g"], **TOL)


def test_tf_addons_docstring_examples():
    # TF-Addons: y = [0, 0], [[0, 1], [1, 0]] -> TripletSemiHardLoss 2.4142137, TripletHardLoss 1.0,
    # with margin 1.0 and distance_metric="L2" (euclidean, not squared: squared would give 3.0).
    # 2.4142137 = margin + d_ap - 0 = 1 + sqrt(2): with no negative in the batch, TF-Addons' masked
    # maximum falls back to the row minimum, the anchor's distance to itself. The transcription in
    # the golden generator reproduces it, which validates it as a reference:
    np.testing.assert_allclose(G["tfa_doc_semi_hard"], 2.4142137, rtol=1e-7)
    np.testing.assert_allclose(1.0 + math.sqrt(2.0), 2.4142137, rtol=1e-7)
    # jaxloss excludes anchors without a negative instead (documented): nothing valid -> 0.
    x, y = jnp.array([[0.0, 1.0], [1.0, 0.0]]), jnp.array([0, 0])
    values = jax.jit(lambda e: [jax.value_and_grad(lambda v: jaxloss.triplet_loss(v, y, mining=m))(e)  # noqa: B023 (called at once)
                                for m in MININGS])(x)
    for value, grad in values:
        assert float(value) == 0.0
        np.testing.assert_array_equal(grad, 0.0)
    # TripletHardLoss' 1.0 = max(d_ap - d_an + 1, 0) with d_an = d_ap = sqrt(2) (its masked minimum
    # falls back to the row maximum). A genuine negative at distance sqrt(2) from both anchors:
    t = (1.0 + math.sqrt(3.0)) / 2.0
    x3, y3 = jnp.array([[0.0, 1.0], [1.0, 0.0], [t, t]]), jnp.array([0, 0, 1])
    both = jax.jit(lambda e: [jaxloss.triplet_loss(e, y3, mining=m) for m in ("batch_hard", "semi_hard")])(x3)
    # batch-hard, and semi-hard falling back to that farthest negative: 1 + sqrt(2) - sqrt(2).
    np.testing.assert_allclose(both, [1.0, 1.0], rtol=1e-6)


def test_anchors_without_positive_or_negative_are_excluded():
    x = jnp.array([[0.0], [1.0], [0.5], [2.0], [7.0]])
    y = jnp.array([0, 0, 1, 1, 9])  # anchor 4: no positive
    loss = jax.jit(jaxloss.triplet_loss, static_argnames=("mining", "reduction"))
    for m in MININGS:
        full = loss(x, y, mining=m, reduction="none")
        assert float(full[4]) == 0.0
        if m == "semi_hard":  # the far point is a new (fallback) negative for the others
            np.testing.assert_allclose(loss(x, y, mining=m), full.sum() / 4, rtol=1e-6)
            continue
        np.testing.assert_allclose(loss(x, y, mining=m), loss(x[:4], y[:4], mining=m), rtol=1e-6)
    # Hand values (margin 1): batch-hard per anchor, Hermans' mean over the 4 valid anchors.
    np.testing.assert_allclose(loss(x[:4], y[:4], mining="batch_hard", reduction="none"), [1.5, 1.5, 2.0, 1.5])


def test_no_valid_triplet_gives_zero_with_zero_gradients():
    x = jax.random.normal(jax.random.key(0), (5, 3))
    cases = [(m, soft) for m in MININGS for soft in (False, True)]

    @jax.jit
    def run(e):
        out = []
        for m, soft in cases:
            for y in (jnp.zeros(5, jnp.int32), jnp.arange(5, dtype=jnp.int32)):  # no negatives; no positives
                out.append(jax.value_and_grad(lambda v: jaxloss.triplet_loss(v, y, mining=m, soft_margin=soft))(e))  # noqa: B023 (called at once)
            out.append(jax.value_and_grad(lambda v: jaxloss.triplet_loss(
                v, jnp.arange(5, dtype=jnp.int32) % 2, mining=m, soft_margin=soft, where=jnp.zeros(5, bool)))(e))  # noqa: B023 (called at once)
        return out

    for value, grad in run(x):
        assert float(value) == 0.0
        np.testing.assert_array_equal(grad, 0.0)


def test_duplicate_embeddings_give_finite_gradients():
    x = jax.random.normal(jax.random.key(1), (8, 4))
    x = x.at[1].set(x[0]).at[4].set(x[0]).at[5].set(0.0)  # a duplicate positive, a duplicate negative, a zero
    y = jnp.array([0, 0, 0, 1, 1, 2, 2, 2])

    @jax.jit
    def grads(e):
        out = []
        for metric in METRICS:
            for m in MININGS:
                for soft in (False, True):
                    out.append(jax.grad(lambda v: jaxloss.triplet_loss(v, y, mining=m, metric=metric, soft_margin=soft))(e))  # noqa: B023 (called at once)
            for m in ("all", "hard"):
                out.append(jax.grad(lambda v: jaxloss.batch_contrastive_loss(v, y, metric=metric, mining=m))(e))  # noqa: B023 (called at once)
            out.append(jax.grad(lambda v: jaxloss.contrastive_loss(v, e, jnp.ones(8), metric=metric))(e))  # noqa: B023 (called at once)
        return out

    _finite(grads(x))


def test_where_and_weights_act_on_anchors():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((10, 3)).astype(np.float32)
    y = rng.integers(0, 3, 10).astype(np.int32)
    keep = np.array([1, 1, 0, 1, 0, 1, 1, 1, 0, 1], bool)
    d = np.asarray(mining.pairwise_distances(x))
    trip = np.asarray(mining.batch_all_triplet_mask(y))
    hinge = np.maximum(d[:, :, None] - d[:, None, :] + 0.5, 0) * trip
    def loss(*a, **k):
        return jaxloss.triplet_loss(*a, margin=0.5, **k)

    @functools.partial(jax.jit, static_argnames=("m",))
    def run(x, y, keep, m):  # one compile per mining for every call of the test
        return (loss(x, y, mining=m, reduction="none"), loss(x, y, mining=m, where=keep),
                loss(x, y, mining=m, reduction="sum", where=keep),
                loss(x, y, mining=m, weights=jnp.full(10, 3.0, jnp.float32)), loss(x, y, mining=m))

    for m in MININGS:
        none, got, total, weighted, plain = run(x, y, keep, m=m)
        none = np.asarray(none)
        if m == "batch_all":
            np.testing.assert_allclose(none, hinge.sum((1, 2)), rtol=1e-5, atol=1e-6)
            count = ((hinge > 0) & keep[:, None, None]).sum()
        elif m == "semi_hard":
            count = (np.asarray(mining.positive_mask(y)) & keep[:, None]).sum()
        else:
            count = (np.asarray(mining.batch_hard_triplets(d, y)[2]) & keep).sum()
        np.testing.assert_allclose(got, none[keep].sum() / count, rtol=1e-5)
        np.testing.assert_allclose(total, none[keep].sum(), rtol=1e-5)
        # A constant anchor weight cancels in the mean.
        np.testing.assert_allclose(weighted, plain, rtol=1e-6)


def test_margin_is_differentiable():
    x = G["trip_x"].astype(np.float32)
    y = G["trip_labels"].astype(np.int32)
    for m in MININGS:
        f = jax.jit(lambda mg: jaxloss.triplet_loss(x, y, margin=mg, mining=m))  # noqa: B023 (called at once)
        g = jax.jit(jax.grad(f))(0.8)
        np.testing.assert_allclose(g, (f(0.8 + 1e-2) - f(0.8 - 1e-2)) / 2e-2, rtol=5e-2, atol=1e-4)


def test_soft_batch_all_in_several_chunks(monkeypatch, x64):
    # Force chunks of 2 anchors (12 anchors: 6 chunks; 11: padding of one row).
    monkeypatch.setattr(_embedding_triplets, "_CHUNK_BYTES", 4 * 2 * 12 * 12)
    y = G["trip_labels"].astype(np.int32)
    value, grad = _vg(lambda e: jaxloss.triplet_loss(e, y, margin=0.8, mining="batch_all", soft_margin=True))(G["trip_x"])
    np.testing.assert_allclose(value, G["trip_batch_all_soft"], **TOL)
    np.testing.assert_allclose(grad, G["trip_batch_all_soft_g"], **TOL)
    odd = jaxloss.triplet_loss(G["trip_x"][:11], y[:11], mining="batch_all", soft_margin=True, reduction="none")
    monkeypatch.setattr(_embedding_triplets, "_CHUNK_BYTES", 1 << 28)
    ref = jaxloss.triplet_loss(G["trip_x"][:11], y[:11], mining="batch_all", soft_margin=True, reduction="none")
    np.testing.assert_allclose(odd, ref, **TOL)


def test_triplet_loss_options_are_checked():
    x, y = jnp.ones((4, 2)), jnp.array([0, 0, 1, 1])
    with pytest.raises(ValueError, match="triplet_loss: mining must be one of"):
        jaxloss.triplet_loss(x, y, mining="hard")
    with pytest.raises(ValueError, match=r"triplet_loss: labels has shape \(3,\)"):
        jaxloss.triplet_loss(x, y[:3])


# --------------------------------------------------------------------------- contrastive


@pytest.mark.parametrize("m", ["all", "hard"])
def test_batch_contrastive_against_pytorch_metric_learning(m, x64):
    y = G["trip_labels"].astype(np.int32)
    value, grad = _vg(lambda e: jaxloss.batch_contrastive_loss(e, y, pos_margin=0.3, neg_margin=1.2, mining=m))(G["bc_x"])
    np.testing.assert_allclose(value, G[f"bc_{m}"], **TOL)
    np.testing.assert_allclose(grad, G[f"bc_{m}_g"], **TOL)


def test_batch_contrastive_none_sum_and_empty():
    x, y = jnp.array([[0.0, 0.0], [0.0, 0.5], [0.0, 0.75]]), jnp.array([0, 0, 1])
    none, total = jax.jit(lambda e: [jaxloss.batch_contrastive_loss(e, y, reduction=r) for r in ("none", "sum")])(x)
    np.testing.assert_allclose(none, [[0, 0.5, 0.25], [0.5, 0, 0.75], [0.25, 0.75, 0]])
    np.testing.assert_allclose(total, 3.0)
    value, grad = _vg(lambda e: jaxloss.batch_contrastive_loss(e, jnp.zeros(3, jnp.int32), pos_margin=5.0))(x)
    assert float(value) == 0.0
    np.testing.assert_array_equal(grad, 0.0)


def test_contrastive_loss_against_hadsell_equation(x64):
    args = G["pair_x1"], G["pair_x2"], G["pair_y"]
    np.testing.assert_allclose(jaxloss.contrastive_loss(*args, margin=2.0, reduction="none"), G["pair_none"], **TOL)
    _, (g1, g2) = _vg(lambda a, b: jaxloss.contrastive_loss(a, b, args[2], margin=2.0), (0, 1))(*args[:2])
    np.testing.assert_allclose(g1, G["pair_g1"], **TOL)
    np.testing.assert_allclose(g2, G["pair_g2"], **TOL)
    boolean = jaxloss.contrastive_loss(args[0], args[1], args[2] > 0.5, margin=2.0)
    np.testing.assert_allclose(boolean, G["pair_none"].mean(), **TOL)


# --------------------------------------------------------------------------- torch functionals


@pytest.mark.parametrize("case", ["p2", "p1", "p3", "swap"])
def test_triplet_margin_loss_against_torch(case, x64):
    kw = {"p2": {}, "p1": {"p": 1.0}, "p3": {"p": 3.0}, "swap": {"swap": True, "margin": 2.0}}[case]
    a, p, n = G["tm_a"], G["tm_p"], G["tm_n"]
    np.testing.assert_allclose(jaxloss.triplet_margin_loss(a, p, n, reduction="none", **kw), G[f"tm_{case}"], **TOL)
    _, grads = _vg(lambda *t: jaxloss.triplet_margin_loss(*t, **kw), (0, 1, 2))(a, p, n)
    for g, name in zip(grads, "apn"):
        np.testing.assert_allclose(g, G[f"tm_{case}_g{name}"], **TOL)


def test_margin_ranking_loss_against_torch(x64):
    args = G["mr_x1"], G["mr_x2"], G["mr_y"]
    np.testing.assert_allclose(jaxloss.margin_ranking_loss(*args, margin=0.3, reduction="none"), G["mr_none"], **TOL)
    _, (g1, g2) = _vg(lambda a, b: jaxloss.margin_ranking_loss(a, b, args[2], margin=0.3), (0, 1))(*args[:2])
    np.testing.assert_allclose(g1, G["mr_g1"], **TOL)
    np.testing.assert_allclose(g2, G["mr_g2"], **TOL)


def test_cosine_embedding_loss_against_torch(x64):
    args = G["ce_x1"], G["ce_x2"], G["ce_y"]
    np.testing.assert_allclose(jaxloss.cosine_embedding_loss(*args, margin=-0.2, reduction="none"), G["ce_none"], **TOL)
    _, (g1, g2) = _vg(lambda a, b: jaxloss.cosine_embedding_loss(a, b, args[2], margin=-0.2), (0, 1))(*args[:2])
    np.testing.assert_allclose(g1, G["ce_g1"], **TOL)
    np.testing.assert_allclose(g2, G["ce_g2"], **TOL)
