"""Softmax / contrastive embedding losses and angular-margin heads against goldens
(torch, pytorch-metric-learning, sentence-transformers, insightface / CurricularFace /
GE2E / center-loss equations in torch), optax for NT-Xent, and hand-computed cases."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from references import load

import jaxloss

G = load("embedding_softmax")
TOL = {"rtol": 1e-6, "atol": 1e-9}


def _vg(fn, argnums=0, **kw):
    """Compiled value-and-grad (op-by-op dispatch of many small ops is slow on CPU)."""
    return jax.jit(jax.value_and_grad(fn, argnums, **kw))


def _jit(fn, *args, **kwargs):
    return jax.jit(lambda *a: fn(*a, **kwargs))(*args)


def _finite(*trees):
    for leaf in jax.tree.leaves(trees):
        assert np.all(np.isfinite(np.asarray(leaf))), leaf


# --------------------------------------------------------------------------- InfoNCE vs torch


@pytest.mark.parametrize("case", ["cos", "dot", "sym", "idx"])
def test_infonce_against_torch(case, x64):
    q = G["infonce_q"]
    k = G["infonce_k7"] if case == "idx" else G["infonce_k"]
    kw = {"temperature": 0.2, "similarity": "dot" if case == "dot" else "cosine",
          "symmetric": case == "sym", "positive_indices": G["infonce_idx"] if case == "idx" else None}
    np.testing.assert_allclose(_jit(jaxloss.infonce_loss, q, k, reduction="none", **kw), G[f"infonce_{case}_none"], **TOL)
    value, (gq, gk) = _vg(lambda a, b: jaxloss.infonce_loss(a, b, **kw), (0, 1))(q, k)
    np.testing.assert_allclose(value, G[f"infonce_{case}_mean"], **TOL)
    np.testing.assert_allclose(gq, G[f"infonce_{case}_gq"], **TOL)
    np.testing.assert_allclose(gk, G[f"infonce_{case}_gk"], **TOL)


def test_infonce_temperature_is_differentiable_and_options_are_checked():
    q, k = G["infonce_q"].astype(np.float32), G["infonce_k"].astype(np.float32)
    g = jax.jit(jax.grad(lambda t: jaxloss.infonce_loss(q, k, temperature=t)))(0.2)
    eps = 1e-3
    f = jax.jit(lambda t: jaxloss.infonce_loss(q, k, temperature=t))
    fd = (f(0.2 + eps) - f(0.2 - eps)) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-2)
    with pytest.raises(ValueError, match=r"infonce_loss.*positive_indices"):
        jaxloss.infonce_loss(q, G["infonce_k7"])
    with pytest.raises(ValueError, match="symmetric"):
        jaxloss.infonce_loss(q, q, symmetric=True, positive_indices=np.arange(5))
    with pytest.raises(ValueError, match="similarity"):
        jaxloss.infonce_loss(q, q, similarity="euclidean")
    with pytest.raises(ValueError, match="positive_indices must lie in"):
        jaxloss.infonce_loss(q, G["infonce_k7"], positive_indices=np.array([0, 1, 2, 3, 7]))
    traced = jax.jit(lambda i: jaxloss.infonce_loss(q, G["infonce_k7"], positive_indices=i, reduction="none"))
    assert np.isnan(traced(np.array([0, 1, 2, 3, 7]))[4])


# --------------------------------------------------------------------------- NT-Xent vs optax

_OPTAX_YS = np.array([[-1.9540, 1.0780], [0.2380, -0.5703], [1.8745, -0.0195], [-0.6719, -1.9210]], np.float32)


def test_ntxent_optax_test_fixtures():
    # The expected values of optax/losses/_self_supervised_test.py (NtxentTest).
    ys2 = _OPTAX_YS.copy()
    ys2[0] = 0.0
    np.testing.assert_allclose(_jit(jaxloss.ntxent, _OPTAX_YS, np.array([0, 0, 1, 1])), 14.01032, atol=1e-4)
    np.testing.assert_allclose(_jit(jaxloss.ntxent, _OPTAX_YS, np.array([0, 0, 0, 1])), 8.968544, atol=1e-4)
    np.testing.assert_allclose(_jit(jaxloss.ntxent, ys2, np.array([0, 0, 1, 1])), 9.2889, atol=1e-4)


@pytest.mark.parametrize("labels", [[0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 2], [0, 1, 0, 1, 0, 1], [3, 3, 3, 3, 3, 3]])
def test_ntxent_against_optax(labels, rng):
    x = rng.standard_normal((6, 5)).astype(np.float32)
    labels = np.array(labels)
    ours = _vg(lambda e, t: jaxloss.ntxent(e, labels, temperature=t), (0, 1))
    ref = _vg(lambda e, t: optax.ntxent(e, labels, temperature=t), (0, 1))
    with jax.numpy_dtype_promotion("standard"):  # optax.ntxent mixes bool and int
        rv, (rg, rgt) = ref(x, 0.3)
    v, (g, gt) = ours(x, 0.3)
    np.testing.assert_allclose(v, rv, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(g, rg, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(gt, rgt, rtol=1e-4, atol=1e-6)


def test_ntxent_per_anchor_weights_and_no_positive(rng):
    x = rng.standard_normal((6, 5)).astype(np.float32)
    labels = np.array([0, 0, 0, 1, 1, 2])
    none = np.asarray(_jit(jaxloss.ntxent, x, labels, reduction="none"))
    assert none[5] == 0.0
    pairs = np.array([2, 2, 2, 1, 1, 0])
    np.testing.assert_allclose(none.sum() / pairs.sum(), _jit(jaxloss.ntxent, x, labels), rtol=1e-6)
    w = np.array([1.0, 2.0, 1.0, 0.5, 3.0, 7.0], np.float32)
    np.testing.assert_allclose(_jit(jaxloss.ntxent, x, labels, weights=w), (w * none).sum() / (w * pairs).sum(), rtol=1e-6)
    value, grad = _vg(lambda e: jaxloss.ntxent(e, np.arange(6)))(x)
    assert value == 0.0
    np.testing.assert_array_equal(grad, 0.0)


# --------------------------------------------------------------------------- SupCon vs PML


@pytest.mark.parametrize("temp", [0.1, 0.5])
def test_supcon_against_pml(temp, x64):
    x, labels = G["supcon_x"], G["supcon_labels"]
    fn = lambda e: jaxloss.supervised_contrastive_loss(e, labels, temperature=temp)  # noqa: E731
    value, grad = _vg(fn)(x)
    np.testing.assert_allclose(value, G[f"supcon_{temp}_mean"], **TOL)
    np.testing.assert_allclose(grad, G[f"supcon_{temp}_g"], rtol=1e-6, atol=1e-8)
    none = _jit(jaxloss.supervised_contrastive_loss, x, labels, temperature=temp, reduction="none")
    np.testing.assert_allclose(none, G[f"supcon_{temp}_none"], rtol=1e-6, atol=1e-8)
    # Anchors 3 and 6 have no positive: 0 in "none" and excluded from the mean.
    assert none[3] == 0.0 and none[6] == 0.0
    np.testing.assert_allclose(value, none.sum() / 6, **TOL)


def test_supcon_without_any_positive_is_zero_with_zero_gradients(rng):
    x = rng.standard_normal((5, 3)).astype(np.float32)
    value, grad = _vg(lambda e: jaxloss.supervised_contrastive_loss(e, np.arange(5)))(x)
    assert value == 0.0
    np.testing.assert_array_equal(grad, 0.0)


def test_contrastive_losses_finite_with_duplicate_and_zero_embeddings():
    x = np.array([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0], [0.0, 0.0]], np.float32)
    labels = np.array([0, 0, 1, 1])
    for fn in (lambda e: jaxloss.supervised_contrastive_loss(e, labels),
               lambda e: jaxloss.ntxent(e, labels),
               lambda e: jaxloss.infonce_loss(e, e, symmetric=True),
               lambda e: jaxloss.multiple_negatives_ranking_loss(e, e, e)):
        _finite(_vg(fn)(x))


# --------------------------------------------------------------------------- MNRL vs sentence-transformers


@pytest.mark.parametrize("case", ["pair", "triplet", "two_neg", "dot"])
def test_mnrl_against_sentence_transformers(case, x64):
    a, p = G["mnrl_a"], G["mnrl_p"]
    neg = {"pair": None, "triplet": G["mnrl_n"], "two_neg": G["mnrl_n2"], "dot": G["mnrl_n"]}[case]
    kw = {"scale": {"two_neg": 7.0, "dot": 1.0}.get(case, 20.0), "similarity": "dot" if case == "dot" else "cosine"}
    argnums = (0, 1) if neg is None else (0, 1, 2)
    value, grads = _vg(
        lambda *xs: jaxloss.multiple_negatives_ranking_loss(*xs, **kw), argnums)(*(a, p, neg)[:len(argnums)])
    np.testing.assert_allclose(value, G[f"mnrl_{case}_mean"], **TOL)
    np.testing.assert_allclose(grads[0], G[f"mnrl_{case}_ga"], **TOL)
    np.testing.assert_allclose(grads[1], G[f"mnrl_{case}_gp"], **TOL)
    if neg is not None:
        gn = G[f"mnrl_{case}_gn"]
        np.testing.assert_allclose(grads[2], gn if neg.ndim == 3 else gn[:, 0], **TOL)


# --------------------------------------------------------------------------- GE2E


@pytest.mark.parametrize("method", ["softmax", "contrast"])
def test_ge2e_against_paper_equations(method, x64):
    x = G["ge2e_x"]
    np.testing.assert_allclose(_jit(jaxloss.ge2e_loss, x, w=7.0, b=-3.0, method=method, reduction="none"),
                               G[f"ge2e_{method}_none"], **TOL)
    value, (gx, gw, gb) = _vg(
        lambda e, w, b: jaxloss.ge2e_loss(e, w=w, b=b, method=method), (0, 1, 2))(x, 7.0, -3.0)
    np.testing.assert_allclose(value, G[f"ge2e_{method}_mean"], **TOL)
    np.testing.assert_allclose(gx, G[f"ge2e_{method}_gx"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gw, G[f"ge2e_{method}_gw"], **TOL)
    np.testing.assert_allclose(gb, G[f"ge2e_{method}_gb"], rtol=1e-6, atol=1e-9)


def test_ge2e_hand_example():
    # Speaker 0 says [1, 0] twice, speaker 1 says [0, 1] twice: the own (leave-one-out)
    # centroid has cos 1, the other centroid cos 0, so S_own = w + b and S_other = b.
    e = np.array([[[1.0, 0.0], [2.0, 0.0]], [[0.0, 3.0], [0.0, 1.0]]], np.float32)
    w, b = 2.0, -1.0
    softmax = math.log(1 + math.exp(-w))
    contrast = 1 - 1 / (1 + math.exp(-(w + b))) + 1 / (1 + math.exp(-b))
    np.testing.assert_allclose(_jit(jaxloss.ge2e_loss, e, w=w, b=b), softmax, rtol=1e-6)
    np.testing.assert_allclose(_jit(jaxloss.ge2e_loss, e, w=w, b=b, method="contrast"), contrast, rtol=1e-6)
    with pytest.raises(ValueError, match=r"ge2e_loss.*2 utterances"):
        jaxloss.ge2e_loss(e[:, :1])


# --------------------------------------------------------------------------- ArcFace / CosFace vs PML


@pytest.mark.parametrize(("name", "fn", "kw"), [
    ("arcface", jaxloss.arcface_loss, {"scale": 16.0, "margin": 0.5}),
    ("arcface_m", jaxloss.arcface_loss, {"scale": 64.0, "margin": math.radians(math.degrees(0.3))}),
    ("cosface", jaxloss.cosface_loss, {"scale": 16.0, "margin": 0.35}),
])
def test_margin_heads_against_pml(name, fn, kw, x64):
    # Rows 5 and 6 point almost opposite their class weight: theta + m > pi (fallback).
    x, w, labels = G["head_x"], G["head_w"], G["head_labels"]
    value, (gx, gw) = _vg(lambda a, b: fn(a, b, labels, **kw), (0, 1))(x, w)
    np.testing.assert_allclose(value, G[f"{name}_mean"], **TOL)
    np.testing.assert_allclose(gx, G[f"{name}_gx"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gw, G[f"{name}_gw"], rtol=1e-6, atol=1e-9)


def test_arcface_easy_margin_and_ignored_labels_against_insightface(x64):
    x, w, labels = G["if_x"], G["if_w"], G["if_labels"]  # labels[3] == -1
    fn = lambda a, b, r="mean": jaxloss.arcface_loss(a, b, labels, scale=16.0, easy_margin=True, reduction=r)  # noqa: E731
    np.testing.assert_allclose(_jit(fn, x, w, r="none"), G["if_easy_none"], **TOL)
    value, (gx, gw) = _vg(fn, (0, 1))(x, w)
    np.testing.assert_allclose(value, G["if_easy_mean"], **TOL)
    np.testing.assert_allclose(gx, G["if_easy_gx"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gw, G["if_easy_gw"], rtol=1e-6, atol=1e-9)
    assert np.all(gx[3] == 0.0)


def test_arcface_fallback_value_and_margin_gradient():
    w = np.eye(3, dtype=np.float32)
    x = -w[:1]  # cos = -1: theta = pi, theta + m > pi
    m = 0.5
    expected_logit = -1 - m * math.sin(m)
    expected = math.log(math.exp(4 * expected_logit) + 2) - 4 * expected_logit
    np.testing.assert_allclose(_jit(jaxloss.arcface_loss, x, w, np.array([0]), scale=4.0, margin=m), expected, rtol=1e-6)
    g = jax.jit(jax.grad(lambda mm: jaxloss.arcface_loss(x, w, np.array([0]), scale=4.0, margin=mm)))(m)
    eps = 1e-3
    f = jax.jit(lambda mm: jaxloss.arcface_loss(x, w, np.array([0]), scale=4.0, margin=mm))
    np.testing.assert_allclose(g, (f(m + eps) - f(m - eps)) / (2 * eps), rtol=1e-2)


def test_margin_heads_finite_gradients_at_cos_plus_minus_one(rng):
    w = rng.standard_normal((4, 3)).astype(np.float32)
    labels = np.array([0, 1, 2])
    losses = (lambda a, b: jaxloss.arcface_loss(a, b, labels),
              lambda a, b: jaxloss.arcface_loss(a, b, labels, easy_margin=True),
              lambda a, b: jaxloss.cosface_loss(a, b, labels),
              lambda a, b: jaxloss.curricularface_loss(a, b, labels, 0.2)[0])
    all_grads = jax.jit(lambda a, b: [jax.value_and_grad(f, (0, 1))(a, b) for f in losses])
    for sign in (1.0, -1.0):  # each embedding equal (opposite) to its class weight
        _finite(all_grads(sign * w.T, w))


def test_margin_heads_label_minus_one_is_ignored(rng):
    x = rng.standard_normal((5, 4)).astype(np.float32)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    labels = np.array([0, -1, 2, 1, -1])
    keep = labels >= 0
    for fn in (jaxloss.arcface_loss, jaxloss.cosface_loss,
               lambda *a: jaxloss.curricularface_loss(*a, 0.1)[0]):
        # One compile per head for its three calls.
        full, kept, none_left = jax.jit(lambda a, b, fn=fn: (
            fn(a, b, labels), fn(a[keep], b, labels[keep]), fn(a, b, np.full(5, -1))))(x, w)
        np.testing.assert_allclose(full, kept, rtol=1e-6)
        assert none_left == 0.0
    (_, t_all), (_, t_kept) = jax.jit(lambda a, b: (
        jaxloss.curricularface_loss(a, b, labels, 0.1),
        jaxloss.curricularface_loss(a[keep], b, labels[keep], 0.1)))(x, w)
    np.testing.assert_allclose(t_all, t_kept, rtol=1e-6)
    with pytest.raises(ValueError, match="arcface_loss: labels must lie in"):
        jaxloss.arcface_loss(x, w, np.array([0, 1, 3, 0, 0]))
    assert np.isnan(jax.jit(jaxloss.arcface_loss)(x, w, np.array([0, 1, 3, 0, 0])))


# --------------------------------------------------------------------------- CurricularFace


def test_curricularface_against_official_head(x64):
    x, w, labels = G["if_x"], G["if_w"], G["if_labels"]
    fn = lambda a, b, r="mean": jaxloss.curricularface_loss(a, b, labels, 0.3, scale=16.0, reduction=r)  # noqa: E731
    np.testing.assert_allclose(_jit(fn, x, w, r="none")[0], G["if_curricular_none"], **TOL)
    (value, new_t), (gx, gw) = _vg(fn, (0, 1), has_aux=True)(x, w)
    np.testing.assert_allclose(value, G["if_curricular_mean"], **TOL)
    np.testing.assert_allclose(new_t, G["if_curricular_t"], **TOL)
    np.testing.assert_allclose(gx, G["if_curricular_gx"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gw, G["if_curricular_gw"], rtol=1e-6, atol=1e-9)


def test_curricularface_state_dtype_and_no_gradient_to_t():
    x = np.eye(3, dtype=np.float32)
    labels = np.array([0, 1, 2])
    _, t = _jit(jaxloss.curricularface_loss, x, np.eye(3, dtype=np.float32), labels, jnp.float32(0.0))
    assert t.dtype == jnp.float32
    np.testing.assert_allclose(t, 0.01, rtol=1e-6)
    gx, gt = jax.jit(jax.grad(lambda e, s: jaxloss.curricularface_loss(e, np.eye(3, dtype=np.float32), labels, s)[1],
                              (0, 1)))(x, 0.5)
    assert gt == 0.0 and np.all(gx == 0.0)


# --------------------------------------------------------------------------- center loss


def test_center_loss_against_paper(x64):
    x, c, labels = G["center_x"], G["center_c"], G["center_labels"]
    np.testing.assert_allclose(_jit(jaxloss.center_loss, x, c, labels, reduction="none")[0], G["center_none"], **TOL)
    (value, new), (gx, gc) = _vg(
        lambda a, b: jaxloss.center_loss(a, b, labels, alpha=0.3), (0, 1), has_aux=True)(x, c)
    np.testing.assert_allclose(value, G["center_none"].mean(), **TOL)
    np.testing.assert_allclose(gx, G["center_gx"], **TOL)
    np.testing.assert_allclose(gc, G["center_gc"], **TOL)
    np.testing.assert_allclose(new, G["center_new"], **TOL)
    np.testing.assert_array_equal(new[3], c[3])  # an absent class does not move


def test_center_loss_ignored_and_masked_examples_do_not_move_centres(rng):
    x = rng.standard_normal((4, 2)).astype(np.float32)
    c = rng.standard_normal((2, 2)).astype(np.float32)
    loss, new = _jit(jaxloss.center_loss, x, c, np.array([0, -1, 1, 1]), where=np.array([True, True, True, False]))
    ref_loss, ref_new = _jit(jaxloss.center_loss, x[[0, 2]], c, np.array([0, 1]))
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-6)
    np.testing.assert_allclose(new, ref_new, rtol=1e-6)
    assert new.dtype == jnp.float32
    _, half = _jit(jaxloss.center_loss, x, c.astype(jnp.bfloat16), np.array([0, 0, 1, 1]))
    assert half.dtype == jnp.bfloat16
