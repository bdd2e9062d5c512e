"""Proxy / multi-centre losses and the sub-center and multiplicative-margin heads against
pytorch-metric-learning goldens (values and gradients, float64), the TF-Addons N-pairs
formula (transcribed), and hand-built edge cases."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("embedding_proxies")
TOL = {"rtol": 1e-6, "atol": 1e-9}


def _vg(fn, argnums=0):
    return jax.jit(jax.value_and_grad(fn, argnums))


def _finite(*trees):
    for leaf in jax.tree.leaves(trees):
        assert np.all(np.isfinite(np.asarray(leaf))), leaf


# --------------------------------------------------------------------------- Proxy-Anchor

_PA = {"default": {}, "m3": {"margin": 0.3, "alpha": 8.0}}


@pytest.mark.parametrize("case", sorted(_PA))
def test_proxy_anchor_against_pml(case, x64):
    x, p, y, kw = G["pa_x"], G["pa_p"], G["pa_labels"], _PA[case]

    @jax.jit
    def run(a, b):
        value, grads = jax.value_and_grad(
            lambda u, v: jaxloss.proxy_anchor_loss(u, v, y, **kw), (0, 1)
        )(a, b)
        none = jaxloss.proxy_anchor_loss(a, b, y, reduction="none", **kw)
        return value, grads, none, jaxloss.proxy_anchor_loss(a, b, y, reduction="sum", **kw)

    value, (gx, gp), none, total = run(x, p)
    np.testing.assert_allclose(value, G[f"pa_{case}_mean"], **TOL)
    np.testing.assert_allclose(gx, G[f"pa_{case}_gx"], **TOL)
    np.testing.assert_allclose(gp, G[f"pa_{case}_gp"], **TOL)
    assert none.shape == (p.shape[1],)
    np.testing.assert_allclose(none, G[f"pa_{case}_none"], **TOL)
    np.testing.assert_allclose(np.sum(none), G[f"pa_{case}_mean"], **TOL)
    np.testing.assert_allclose(total, value, **TOL)


def test_proxy_anchor_ignored_labels_masks_and_traced_hyperparameters(x64):
    x, p, y = G["pa_x"], G["pa_p"], G["pa_labels"]
    # Label -1 removes the example from every set: the same as dropping it.
    y_ign = y.copy()
    y_ign[[1, 5]] = -1
    keep = y_ign != -1
    w = np.linspace(0.5, 2.0, p.shape[1])
    m = np.array([True, False, True, True, False, True])
    ignored, dropped, none, weighted = jax.jit(
        lambda a, b: (
            jaxloss.proxy_anchor_loss(a, b, y_ign),
            jaxloss.proxy_anchor_loss(a[keep], b, y[keep]),
            jaxloss.proxy_anchor_loss(a, b, y, reduction="none"),
            jaxloss.proxy_anchor_loss(a, b, y, weights=w, where=m),
        )
    )(x, p)
    np.testing.assert_allclose(ignored, dropped, **TOL)
    # where masks proxies; weights scale the per-proxy terms; "mean" is the (weighted) sum.
    none = np.asarray(none)
    np.testing.assert_allclose(weighted, np.sum(w * none * m), **TOL)
    value, grads = _vg(
        lambda a, b: jaxloss.proxy_anchor_loss(a, b, y, where=np.zeros(6, bool)), (0, 1)
    )(x, p)
    assert float(value) == 0.0
    for g in grads:
        np.testing.assert_array_equal(g, 0.0)
    # alpha and margin are differentiable.
    f = jax.jit(lambda a, d: jaxloss.proxy_anchor_loss(x, p, y, alpha=a, margin=d))
    ga, gd = jax.grad(f, (0, 1))(8.0, 0.3)
    eps = 1e-6
    np.testing.assert_allclose(ga, (f(8.0 + eps, 0.3) - f(8.0 - eps, 0.3)) / (2 * eps), rtol=1e-5)
    np.testing.assert_allclose(gd, (f(8.0, 0.3 + eps) - f(8.0, 0.3 - eps)) / (2 * eps), rtol=1e-5)
    with pytest.raises(ValueError, match=r"proxy_anchor_loss: alpha must be > 0"):
        jaxloss.proxy_anchor_loss(x, p, y, alpha=0.0)
    with pytest.raises(ValueError, match=r"proxy_anchor_loss.*similarity"):
        jaxloss.proxy_anchor_loss(x, p, y, similarity="euclidean")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"proxy_anchor_loss: labels must lie in \[0, 6\)"):
        jaxloss.proxy_anchor_loss(x, p, np.where(y == 3, 6, y))


def test_proxy_anchor_dot_similarity_and_one_class_batch():
    x = np.array([[1.0, 0.5], [2.0, -1.0]], np.float32)
    p = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    y = np.array([0, 0])
    # Only class 0 present: pos over {x0, x1} for proxy 0; neg only for proxy 1.
    s = x @ p
    a, d = 2.0, 0.1
    pos0 = np.log1p(np.exp(-a * (s[:, 0] - d)).sum())
    neg1 = np.log1p(np.exp(a * (s[:, 1] + d)).sum())
    expected = pos0 / 1 + neg1 / 2
    np.testing.assert_allclose(
        jaxloss.proxy_anchor_loss(x, p, y, alpha=a, margin=d, similarity="dot"), expected, rtol=1e-6
    )
    # All examples ignored: 0 with finite gradients.
    value, grads = _vg(lambda e: jaxloss.proxy_anchor_loss(e, p, np.array([-1, -1])))(x)
    assert float(value) == 0.0
    _finite(grads)


def test_proxy_anchor_bad_labels_under_jit_are_nan():
    x, p = G["pa_x"].astype(np.float32), G["pa_p"].astype(np.float32)
    out = jax.jit(lambda y: jaxloss.proxy_anchor_loss(x, p, y))(
        np.where(G["pa_labels"] == 3, 9, G["pa_labels"])
    )
    assert np.isnan(out)


# --------------------------------------------------------------------------- SoftTriple

_ST = {"default": (10, {}), "k3": (3, {"la": 10.0, "gamma": 0.5, "margin": 0.2})}


@pytest.mark.parametrize("case", sorted(_ST))
def test_soft_triple_against_pml(case, x64):
    k, kw = _ST[case]
    x, w, y = G["st_x"], G[f"st_{case}_w"], G["st_labels"]

    def f(a, b):
        return jaxloss.soft_triple_loss(a, b, y, centers_per_class=k, **kw)

    @jax.jit
    def run(a, b):
        none = jaxloss.soft_triple_loss(a, b, y, centers_per_class=k, reduction="none", **kw)
        return jax.value_and_grad(f, (0, 1))(a, b), none

    (value, (gx, gw)), none = run(x, w)
    np.testing.assert_allclose(value, G[f"st_{case}_mean"], **TOL)
    np.testing.assert_allclose(gx, G[f"st_{case}_gx"], **TOL)
    np.testing.assert_allclose(gw, G[f"st_{case}_gw"], **TOL)
    np.testing.assert_allclose(none, G[f"st_{case}_none"], **TOL)


def test_soft_triple_options_and_edges(x64):
    x, w, y = G["st_x"], G["st_k3_w"], G["st_labels"]
    # Label -1 is ignored (0 in "none", out of the mean).
    y_ign = y.copy()
    y_ign[0] = -1
    w1 = w[:, ::3]
    none, mean, one_center = jax.jit(
        lambda a, b: (
            jaxloss.soft_triple_loss(a, b, y_ign, centers_per_class=3, reduction="none"),
            jaxloss.soft_triple_loss(a, b, y_ign, centers_per_class=3),
            jaxloss.soft_triple_loss(a, b[:, ::3], y, centers_per_class=1),
        )
    )(x, w)
    assert none[0] == 0.0
    np.testing.assert_allclose(mean, np.mean(none[1:]), **TOL)
    # One centre per class and gamma -> any value: the plain normalised-softmax head.
    cos = (x / np.linalg.norm(x, axis=1, keepdims=True)) @ (
        w1 / np.linalg.norm(w1, axis=0, keepdims=True)
    )
    logits = 20.0 * (cos - 0.01 * np.eye(4)[y])
    expected = np.mean(np.log(np.exp(logits).sum(1)) - logits[np.arange(len(y)), y])
    np.testing.assert_allclose(one_center, expected, **TOL)
    with pytest.raises(
        ValueError, match=r"soft_triple_loss: .*centers must be \[dim, classes \* 5\]"
    ):
        jaxloss.soft_triple_loss(x, w, y, centers_per_class=5)
    with pytest.raises(
        ValueError, match=r"soft_triple_loss: centers_per_class must be a static positive int"
    ):
        jaxloss.soft_triple_loss(x, w, y, centers_per_class=0)
    with pytest.raises(ValueError, match=r"soft_triple_loss: gamma must be > 0"):
        jaxloss.soft_triple_loss(x, w, y, centers_per_class=3, gamma=0.0)
    with pytest.raises(ValueError, match=r"soft_triple_loss: labels must lie in \[0, 4\)"):
        jaxloss.soft_triple_loss(x, w, np.where(y == 3, 4, y), centers_per_class=3)


# --------------------------------------------------------------------------- margin loss

_ML = {
    "default": ({}, 1.2),
    "nu": ({"margin": 0.3, "nu": 0.1}, 0.9),
    "classes": ({"nu": 0.05}, None),
    "raw": ({"margin": 0.5, "normalize_embeddings": False}, 2.0),
}


@pytest.mark.parametrize("case", sorted(_ML))
def test_margin_loss_against_pml_with_beta_gradients(case, x64):
    kw, beta = _ML[case]
    kw = {"normalize_embeddings": True, **kw}
    x, y = G["ml_x"], G["ml_labels"]
    b = G["ml_beta_classes"] if beta is None else np.float64(beta)
    value, (gx, gb) = _vg(lambda e, bb: jaxloss.margin_loss(e, y, bb, **kw), (0, 1))(x, b)
    np.testing.assert_allclose(value, G[f"ml_{case}_mean"], **TOL)
    np.testing.assert_allclose(gx, G[f"ml_{case}_gx"], **TOL)
    np.testing.assert_allclose(np.reshape(gb, -1), G[f"ml_{case}_gbeta"], **TOL)


@pytest.mark.parametrize("case", ["idx", "idx_classes"])
def test_margin_loss_given_triplets_against_pml(case, x64):
    x, y, neg_idx = G["ml_x"], G["ml_labels"], G["ml_neg_idx"]
    b = G["ml_beta_classes"] if case == "idx_classes" else np.float64(1.1)
    kw = {"normalize_embeddings": True, "nu": 0.1, "neg_idx": neg_idx}
    value, (gx, gb) = _vg(lambda e, bb: jaxloss.margin_loss(e, y, bb, **kw), (0, 1))(x, b)
    np.testing.assert_allclose(value, G[f"ml_{case}_mean"], **TOL)
    np.testing.assert_allclose(gx, G[f"ml_{case}_gx"], **TOL)
    np.testing.assert_allclose(np.reshape(gb, -1), G[f"ml_{case}_gbeta"], **TOL)
    # Entries out of range or naming the anchor itself (not a negative) drop their pair, as -1.
    expected = jaxloss.margin_loss(x, y, b, **kw)
    for fill in (99, np.arange(9)[:, None].repeat(9, 1)):
        kw_fill = {**kw, "neg_idx": np.where(neg_idx >= 0, neg_idx, fill)}
        np.testing.assert_allclose(jaxloss.margin_loss(x, y, b, **kw_fill), expected, **TOL)
    with pytest.raises(ValueError, match=r"margin_loss: neg_idx"):
        jaxloss.margin_loss(x, y, b, neg_idx=neg_idx[:3])


def test_margin_loss_reductions_and_edges(x64):
    x, y = G["ml_x"], G["ml_labels"]
    kw = {"normalize_embeddings": True, "nu": 0.1, "margin": 0.3}
    none = np.asarray(jaxloss.margin_loss(x, y, 0.9, reduction="none", **kw))
    assert none.shape == (9,)
    assert none[6] == 0.0  # the singleton label has no triplet as anchor
    np.testing.assert_allclose(
        jaxloss.margin_loss(x, y, 0.9, reduction="sum", **kw), none.sum(), **TOL
    )
    # Brute force over every triplet, written independently of the per-anchor sums.
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    d = np.linalg.norm(xn[:, None] - xn[None], axis=-1)
    total, count = 0.0, 0
    for a in range(9):
        for p in range(9):
            for n in range(9):
                if p != a and y[p] == y[a] and y[n] != y[a]:
                    lp, ln = max(d[a, p] - 0.9 + 0.3, 0.0), max(0.9 - d[a, n] + 0.3, 0.0)
                    total += lp + ln
                    count += int(lp > 0) + int(ln > 0)
    np.testing.assert_allclose(
        jaxloss.margin_loss(x, y, 0.9, **kw), total / count + 0.1 * 0.9, **TOL
    )
    # No triplet is active: 0 with zero gradients (PML adds nu * beta there: documented).
    far = np.array([[0.0, 0.0], [0.01, 0.0], [10.0, 0.0], [10.0, 0.01]])
    value, (gx, gb) = _vg(
        lambda e, b: jaxloss.margin_loss(e, np.array([0, 0, 1, 1]), b, margin=0.1), (0, 1)
    )(far, 1.0)
    assert float(value) == 0.0
    np.testing.assert_array_equal(gx, 0.0)
    assert float(gb) == 0.0
    # Only one label: no negatives, nothing to average.
    value, grads = _vg(lambda e: jaxloss.margin_loss(e, np.zeros(9, np.int32), 1.2))(x)
    assert float(value) == 0.0
    _finite(grads)
    with pytest.raises(ValueError, match=r"margin_loss: beta must have rank"):
        jaxloss.margin_loss(x, y, np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"margin_loss: labels must lie in \[0, 3\)"):
        jaxloss.margin_loss(x, y, np.ones(3))
    with pytest.raises(ValueError, match=r"margin_loss: metric"):
        jaxloss.margin_loss(x, y, 1.2, metric="hamming")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- N-pairs


def test_npairs_against_pml(x64):
    x, labels = G["np_x"], G["np_labels"]
    # PML takes, per label in ascending order, its first occurrence as the anchor and the
    # second as the positive.
    first = np.array([np.flatnonzero(labels == c)[0] for c in np.unique(labels)])
    second = np.array([np.flatnonzero(labels == c)[1] for c in np.unique(labels)])

    def f(e):
        return jaxloss.npairs_loss(e[first], e[second], similarity="cosine")

    value, g = _vg(f)(x)
    np.testing.assert_allclose(value, G["np_pml_mean"], **TOL)
    np.testing.assert_allclose(g, G["np_pml_gx"], **TOL)


@pytest.mark.parametrize("case", ["tfa", "diag", "multi"])
def test_npairs_tfa_formula(case, x64):
    a, p = G["np_a"], G["np_p"]
    labels = {"tfa": G["np_pair_labels"], "diag": None, "multi": G["np_multi_hot"]}[case]
    none = jaxloss.npairs_loss(a, p, labels, temperature=0.5, reduction="none")
    np.testing.assert_allclose(none, G[f"np_{case}_none"], **TOL)
    value, (ga, gp) = _vg(lambda u, v: jaxloss.npairs_loss(u, v, labels, temperature=0.5), (0, 1))(
        a, p
    )
    np.testing.assert_allclose(value, np.mean(G[f"np_{case}_none"]), **TOL)
    np.testing.assert_allclose(ga, G[f"np_{case}_ga"], **TOL)
    np.testing.assert_allclose(gp, G[f"np_{case}_gp"], **TOL)
    if case == "diag":  # distinct labels are the identity targets
        np.testing.assert_allclose(
            jaxloss.npairs_loss(a, p, np.arange(6), temperature=0.5, reduction="none"), none, **TOL
        )


def test_npairs_checks():
    a = np.ones((3, 2), np.float32)
    # A multi-hot row without any label has no target: excluded from the mean (TF-Addons: NaN).
    b = np.arange(6, dtype=np.float32).reshape(3, 2)
    y = np.array([[1, 0], [0, 0], [1, 1]])
    none = np.asarray(jaxloss.npairs_loss(b, b, y, reduction="none"))
    assert none[1] == 0.0
    np.testing.assert_allclose(jaxloss.npairs_loss(b, b, y), none[[0, 2]].mean(), rtol=1e-6)
    _finite(jax.grad(lambda e: jaxloss.npairs_loss(e, e, y))(b))
    with pytest.raises(ValueError, match="npairs_loss"):
        jaxloss.npairs_loss(a, np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match="npairs_loss: labels"):
        jaxloss.npairs_loss(a, a, np.arange(2))
    with pytest.raises(ValueError, match="npairs_loss: temperature must be > 0"):
        jaxloss.npairs_loss(a, a, temperature=0.0)


# --------------------------------------------------------------------------- sub-center ArcFace

_SC = {"default": (3, {"margin": math.radians(28.6)}), "k2": (2, {"margin": 0.3, "scale": 16.0})}


@pytest.mark.parametrize("case", sorted(_SC))
def test_sub_center_arcface_against_pml(case, x64):
    k, kw = _SC[case]
    x, w, y = G[f"sc_{case}_x"], G[f"sc_{case}_w"], G[f"sc_{case}_labels"]
    value, (gx, gw) = _vg(
        lambda a, b: jaxloss.sub_center_arcface_loss(a, b, y, sub_centers=k, **kw), (0, 1)
    )(x, w)
    np.testing.assert_allclose(value, G[f"sc_{case}_mean"], **TOL)
    np.testing.assert_allclose(gx, G[f"sc_{case}_gx"], **TOL)
    np.testing.assert_allclose(gw, G[f"sc_{case}_gw"], **TOL)


@pytest.mark.parametrize("case", sorted(_SC))
@pytest.mark.parametrize("threshold", [75, 100])
def test_sub_center_outliers_against_pml(case, threshold, x64):
    k, _ = _SC[case]
    x, w, y = G[f"sc_{case}_x"], G[f"sc_{case}_w"], G[f"sc_{case}_labels"]
    mask, dominant = jaxloss.sub_center_outliers(
        x, w, y, sub_centers=k, threshold=math.radians(threshold)
    )
    np.testing.assert_array_equal(mask, G[f"sc_{case}_outliers{threshold}"])
    np.testing.assert_allclose(dominant, G[f"sc_{case}_dominant{threshold}"], **TOL)


def test_sub_center_with_one_center_is_arcface_and_edges(x64):
    x, w, y = G["sc_k2_x"], G["sc_k2_w"], G["sc_k2_labels"]
    w1 = w[:, ::2]
    pairs = jax.jit(
        lambda a, b: [
            (
                jaxloss.sub_center_arcface_loss(a, b, y, sub_centers=1, scale=16.0, easy_margin=e),
                jaxloss.arcface_loss(a, b, y, scale=16.0, easy_margin=e),
            )
            for e in (False, True)
        ]
    )(x, w1)
    for sub_center, arcface in pairs:
        np.testing.assert_allclose(sub_center, arcface, **TOL)
    # Tied sub-centres: the gradient goes to the first one only.
    tied = np.repeat(w1, 2, axis=1)
    g = jax.jit(
        jax.grad(lambda b: jaxloss.sub_center_arcface_loss(x, b, y, sub_centers=2, scale=16.0))
    )(tied)
    assert np.all(g[:, 1::2] == 0.0) and np.any(g[:, ::2] != 0.0)
    # Label -1: ignored by the loss, never an outlier; an absent class gets its first sub-centre.
    y_ign = np.where(y == 3, -1, y)
    (mask, dominant), none = jax.jit(
        lambda a, b: (
            jaxloss.sub_center_outliers(a, b, y_ign, sub_centers=2),
            jaxloss.sub_center_arcface_loss(a, b, y_ign, sub_centers=2, reduction="none"),
        )
    )(x, w)
    assert not np.any(mask[y_ign == -1])
    np.testing.assert_array_equal(dominant[:, 3], w[:, 6])
    assert np.all(np.asarray(none)[y_ign == -1] == 0.0)
    # An embedding on a sub-centre (cos = 1) keeps finite gradients.
    x_on = x.copy()
    x_on[0] = w[:, 2 * y[0]]
    _finite(
        jax.jit(
            jax.grad(lambda a, b: jaxloss.sub_center_arcface_loss(a, b, y, sub_centers=2), (0, 1))
        )(x_on, w)
    )
    with pytest.raises(
        ValueError, match=r"sub_center_arcface_loss: .*centers must be \[dim, classes \* 3\]"
    ):
        jaxloss.sub_center_arcface_loss(x, w, y, sub_centers=3)
    with pytest.raises(
        ValueError, match=r"sub_center_outliers: sub_centers must be a static positive int"
    ):
        jaxloss.sub_center_outliers(x, w, y, sub_centers=2.0)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- L-Softmax / SphereFace

_LM = {
    "lsoftmax_default": ("large_margin_softmax_loss", {}),
    "lsoftmax_m3": ("large_margin_softmax_loss", {"margin": 3, "scale": 0.5}),
    "lsoftmax_m1": ("large_margin_softmax_loss", {"margin": 1}),
    "sphereface_default": ("sphereface_loss", {}),
    "sphereface_m2": ("sphereface_loss", {"margin": 2, "scale": 2.0}),
}


@pytest.mark.parametrize("case", sorted(_LM))
def test_multiplicative_margin_against_pml(case, x64):
    name, kw = _LM[case]
    fn = jaxloss.get(name)
    x, w, y = G["lm_x"], G["lm_w"], G["lm_labels"]
    (value, (gx, gw)), none = jax.jit(
        lambda a, b: (
            jax.value_and_grad(lambda u, v: fn(u, v, y, **kw), (0, 1))(a, b),
            fn(a, b, y, reduction="none", **kw),
        )
    )(x, w)
    np.testing.assert_allclose(value, G[f"lm_{case}_mean"], **TOL)
    np.testing.assert_allclose(gx, G[f"lm_{case}_gx"], **TOL)
    np.testing.assert_allclose(gw, G[f"lm_{case}_gw"], **TOL)
    np.testing.assert_allclose(none, G[f"lm_{case}_none"], **TOL)


def test_multiplicative_margin_edges(x64):
    x, w, y = G["lm_x"], G["lm_w"], G["lm_labels"]
    # m = 1 is the plain softmax over the logits w_j . x.
    logits = x @ w
    expected = np.mean(np.log(np.exp(logits).sum(1)) - logits[np.arange(len(y)), y])
    np.testing.assert_allclose(
        jax.jit(lambda a, b: jaxloss.large_margin_softmax_loss(a, b, y, margin=1))(x, w),
        expected,
        **TOL,
    )
    # psi(theta) = (-1)^k cos(m theta) - 2k is continuous and decreasing from 1 to 1 - 2m. On the
    # unit circle with centres e0, e1 the loss is log(1 + exp(sin(theta) - psi(theta))).
    theta = np.linspace(0.0, np.pi, 721)
    xs = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    nones = jax.jit(
        lambda a: [
            jaxloss.sphereface_loss(
                a, np.eye(2), np.zeros(721, np.int32), margin=m, reduction="none"
            )
            for m in (2, 3, 4)
        ]
    )(xs)
    for m, none in zip((2, 3, 4), nones):
        none = np.asarray(none)
        psi = np.sin(theta) - np.log(np.expm1(none))
        np.testing.assert_allclose(psi[[0, -1]], [1.0, 1.0 - 2 * m], atol=1e-9)
        assert np.all(np.diff(psi) <= 1e-12)
        assert np.max(np.abs(np.diff(psi))) < m * (theta[1] - theta[0]) * 1.01
    # Finite gradients at cos = +-1 and at a zero embedding.
    x_edge = x.copy()
    x_edge[0] = w[:, y[0]]
    x_edge[1] = -w[:, y[1]]
    x_edge[2] = 0.0
    _finite(
        jax.jit(
            lambda a, b: [
                jax.grad(lambda u, v, f=fn: f(u, v, y), (0, 1))(a, b)
                for fn in (jaxloss.large_margin_softmax_loss, jaxloss.sphereface_loss)
            ]
        )(x_edge, w)
    )
    for bad in (0, 2.0, True):
        with pytest.raises(
            ValueError, match=r"large_margin_softmax_loss: margin must be a static positive int"
        ):
            jaxloss.large_margin_softmax_loss(x, w, y, margin=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"sphereface_loss: scale must be > 0"):
        jaxloss.sphereface_loss(x, w, y, scale=-1.0)
    y_ign = y.copy()
    y_ign[3] = -1
    none, mean = jax.jit(
        lambda a, b: (
            jaxloss.sphereface_loss(a, b, y_ign, reduction="none"),
            jaxloss.sphereface_loss(a, b, y_ign),
        )
    )(x, w)
    assert none[3] == 0.0
    np.testing.assert_allclose(mean, np.mean(np.delete(np.asarray(none), 3)), **TOL)


def test_half_and_jit_paths_agree():
    x, w, y = (G["lm_x"].astype(np.float32), G["lm_w"].astype(np.float32), G["lm_labels"])
    for fn in (jaxloss.large_margin_softmax_loss, jaxloss.sphereface_loss):
        out = fn(jnp.asarray(x, jnp.bfloat16), w, y)
        assert out.dtype == jnp.float32
        np.testing.assert_allclose(
            jax.jit(lambda a, b, f=fn: f(a, b, y))(x, w), fn(x, w, y), rtol=1e-6
        )
