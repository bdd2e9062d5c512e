"""Numerics guards of the round-4 losses, against values worked out here in float64.

Each test is the one a tests/NUMERICS.md case names under "tested by" (the case itself only
compares the value with the mathematics and checks that the gradient is finite). Expected values
and gradients come from the formulas in numpy (float64), never from jaxloss. Tiny inputs, one
compiled call per test.
"""

from __future__ import annotations

import importlib.util
import math
import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss

ROOT = pathlib.Path(__file__).resolve().parents[1]
F32 = {"rtol": 1e-5, "atol": 1e-6}


def _numerics():
    """scripts/numerics.py (the module tests/test_numerics.py loads; reused when loaded)."""
    if "numerics" not in sys.modules:
        spec = importlib.util.spec_from_file_location("numerics", ROOT / "scripts" / "numerics.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["numerics"] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules["numerics"]


def test_numerics_cases_name_existing_tests():
    cases = {c.key: c for c in _numerics().CASES}
    round4 = {
        "lpips_zero_features",
        "patch_bce_saturated",
        "softmax_focal_soft_pt1",
        "cosine_zero_vector",
        "weighted_kappa_degenerate",
        "exact_wasserstein_identical",
        "soft_quantile_constant",
    }
    assert round4 <= set(cases)
    for key, case in cases.items():
        if key in round4:
            assert case.test, f"{key}: no test named"
        if case.test:
            path, name = case.test.split("::")
            assert f"def {name}(" in (ROOT / path).read_text(), f"{key}: {case.test} not found"


def test_lpips_zero_features():
    # Features are the images; pixel 0 is all-zero in both (a dead ReLU). lpips normalises
    # x / (|x| + 1e-10): at 0 its derivative is I / 1e-10, applied to u(p) - u(t) = 0 there.
    p = np.array([[[[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]]]])
    t = np.array([[[[0.0, 0.0, 0.0], [2.0, 0.0, 1.0]]]])
    a, b = p[0, 0, 1], t[0, 0, 1]
    u, v = a / np.linalg.norm(a), b / np.linalg.norm(b)
    value = 0.5 * np.sum((u - v) ** 2)  # mean over the 2 pixels
    jac = (np.eye(3) - np.outer(u, u)) / np.linalg.norm(a)  # d(a/|a|)/da
    grad = np.zeros_like(p)
    grad[0, 0, 1] = 0.5 * 2 * jac @ (u - v)
    fn = jax.jit(jax.value_and_grad(lambda x, y: jaxloss.lpips_loss(lambda z: (z,), x, y)))
    got, g = fn(jnp.float32(p), jnp.float32(t))
    np.testing.assert_allclose(got, value, **F32)
    np.testing.assert_allclose(g, grad, **F32)
    assert np.all(np.asarray(g)[0, 0, 0] == 0)


def test_patch_bce_saturated():
    # Fakes (label 0): softplus(x) per logit, mean; MONAI's sigmoid + BCELoss gives 100 past ~17.
    x = np.array([[-2.0, 20.0, 120.0]])
    value = np.mean(np.logaddexp(0.0, x))
    grad = 1.0 / (1.0 + np.exp(-x)) / x.size
    fn = jax.jit(
        jax.value_and_grad(
            lambda x: jaxloss.patch_adversarial_loss(
                x, target_is_real=False, for_discriminator=True, criterion="bce"
            )
        )
    )
    got, g = fn(jnp.float32(x))
    np.testing.assert_allclose(got, value, **F32)
    np.testing.assert_allclose(g, grad, **F32)
    # real images (label 1): softplus(-x)
    real = jax.jit(
        lambda x: jaxloss.patch_adversarial_loss(
            x, target_is_real=True, for_discriminator=True, criterion="bce"
        )
    )
    np.testing.assert_allclose(real(jnp.float32(-x)), value, **F32)


def _soft_focal_reference(x: np.ndarray, y: np.ndarray, gamma: float):
    """Value and gradient of -sum y (1 - p)^gamma log p (float64; 1 - p from expm1)."""
    log_p = (
        x
        - np.log(np.sum(np.exp(x - x.max(-1, keepdims=True)), -1, keepdims=True))
        - x.max(-1, keepdims=True)
    )
    p, q = np.exp(log_p), -np.expm1(log_p)
    value = -np.sum(y * q**gamma * log_p)
    grad = np.zeros_like(x)
    n, c = x.shape
    for i in range(n):
        for j in range(c):
            total = 0.0
            for k in range(c):
                dlogp = (k == j) - p[i, j]  # d log p_k / d x_j
                dq = -p[i, k] * dlogp  # d q_k / d x_j
                dfocal = gamma * q[i, k] ** (gamma - 1) * dq if q[i, k] > 0 else 0.0
                total -= y[i, k] * (dfocal * log_p[i, k] + q[i, k] ** gamma * dlogp)
            grad[i, j] = total
    return value, grad


def test_softmax_focal_soft_targets_at_p_one():
    x = np.array([[30.0, 0.0, 0.0], [0.0, 30.0, 0.0], [1.0, -2.0, 0.5]])
    y = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.2, 0.3, 0.5]])
    fn = jax.jit(
        jax.value_and_grad(lambda x, g: jaxloss.softmax_focal_loss(x, y, gamma=g, reduction="sum"))
    )
    for gamma in (0.5, 2.0):
        value, grad = _soft_focal_reference(x, y, gamma)
        got, g = fn(jnp.float32(x), jnp.float32(gamma))
        np.testing.assert_allclose(got, value, **F32)
        np.testing.assert_allclose(g, grad, **F32)


def test_cosine_zero_vector():
    p = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]])
    t = np.array([[1.0, 2.0, 2.0], [2.0, 0.0, 1.0]])
    a, b = p[1], t[1]
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    cos = a @ b / (na * nb)
    d_cos = b / (na * nb) - cos * a / na**2

    def both(x):
        s = jaxloss.cosine_similarity(x, t.astype(np.float32), reduction="none")
        d = jaxloss.cosine_distance(x, t.astype(np.float32), reduction="none")
        return s, d

    @jax.jit
    def run(x):
        (s, d), vjp = jax.vjp(both, x)
        return s, d, vjp((jnp.ones(2), jnp.zeros(2)))[0], vjp((jnp.zeros(2), jnp.ones(2)))[0]

    s, d, gs, gd = run(jnp.float32(p))
    np.testing.assert_allclose(s, [0.0, cos], **F32)  # a zero vector: similarity 0
    np.testing.assert_allclose(d, [1.0, 1.0 - cos], **F32)  # ... distance 1
    assert np.all(np.isfinite(gs)) and np.all(np.isfinite(gd))
    np.testing.assert_allclose(gs[1], d_cos, **F32)
    np.testing.assert_allclose(gd, -gs, **F32)


def test_weighted_kappa_degenerate():
    # Every prediction and label in class 2: numerator and denominator of the ratio are both 0
    # (TF-Addons' divide_no_nan gives 0, so the loss is log(epsilon)). Off this point the
    # denominator equals the numerator for any predictions (all labels in one class), so the
    # ratio is 1 nearby and the gradient is 0.
    labels = np.full(4, 2)
    probs = np.eye(5)[labels]
    w = (np.arange(5)[:, None] - np.arange(5)[None, :]) ** 2.0

    def ratio(pr):
        numerator = np.sum(w * (np.eye(5)[labels].T @ pr))
        denominator = np.sum(w * np.outer(np.eye(5)[labels].sum(0), pr.sum(0))) / len(labels)
        return numerator / denominator

    nearby = probs + 1e-3 * np.random.default_rng(0).uniform(size=probs.shape)
    assert math.isclose(ratio(nearby), 1.0, rel_tol=1e-12)
    fn = jax.jit(
        jax.value_and_grad(lambda p: jaxloss.weighted_kappa_loss(p, labels, num_classes=5))
    )
    got, g = fn(jnp.float32(probs))
    np.testing.assert_allclose(got, math.log(1e-6), **F32)
    assert np.all(np.asarray(g) == 0)
    got, _ = fn(jnp.float32(nearby))
    np.testing.assert_allclose(got, math.log(1.0 + 1e-6), atol=1e-5)


def test_exact_wasserstein_identical():
    # Identical clouds: every matched distance is 0 (a kink of |x - y| and of the square root);
    # 0 is a subgradient. A shifted copy (second problem of the batch) checks the value and
    # gradient away from the kink: W_2 = |shift|, gradient shift / |shift| / n per point.
    x = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]], np.float32)
    shift = np.array([0.3, -0.4], np.float32)

    def total(a, b):
        out = jaxloss.exact_wasserstein(a, b, p=2.0, reduction="none")
        return jnp.sum(out), out

    fn = jax.jit(jax.value_and_grad(total, has_aux=True))
    (_, value), grad = fn(np.stack([x, x + shift]), np.stack([x, x]))
    assert value[0] == 0 and np.all(np.asarray(grad[0]) == 0)
    np.testing.assert_allclose(value[1], 0.5, **F32)
    np.testing.assert_allclose(grad[1], np.tile(shift / 0.5 / 3, (3, 1)), **F32)
