"""The generalized KL divergence (API.md E22) against optax ``generalized_kl_divergence``
(with ``where``) and scipy ``special.kl_div``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("classics")
TOL = {"rtol": 1e-6, "atol": 1e-9}


@pytest.mark.parametrize("masked", [0, 1])
def test_generalized_kl_against_optax(masked, x64):
    w = G["gkl/where"] if masked else None
    fn = lambda a, b: jaxloss.generalized_kl_divergence(a, b, axis_where=w, reduction="none")  # noqa: E731
    lq, p = G["gkl/lq"], G["gkl/p"]
    np.testing.assert_allclose(fn(lq, p), G[f"gkl/w{masked}"], **TOL)
    g_lq, g_p = jax.grad(lambda a, b: jnp.sum(fn(a, b)), argnums=(0, 1))(lq, p)
    np.testing.assert_allclose(g_lq, G[f"gkl/w{masked}/grad_lq"], **TOL)
    # At p = 0 optax's target gradient is -log q - 1 (its where keeps -log q); here the xlogy term
    # has zero gradient there, as kl_divergence: -1. Elsewhere they agree.
    support = p > 0
    np.testing.assert_allclose(g_p[support], G[f"gkl/w{masked}/grad_p"][support], **TOL)
    excluded = ~support if w is None else ~support & w
    np.testing.assert_allclose(g_p[excluded], -1.0)


def test_generalized_kl_against_scipy_and_kl_divergence(x64):
    np.testing.assert_allclose(
        jaxloss.convex_kl_divergence(G["gkl/lq"], G["gkl/p"], reduction="none"),
        G["gkl/scipy"],
        **TOL,
    )
    # Normalised inputs: the ordinary KL divergence.
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(5), 3), rng.dirichlet(np.ones(5), 3)
    np.testing.assert_allclose(
        jaxloss.generalized_kl_divergence(np.log(q), p, reduction="none"),
        jaxloss.kl_divergence(np.log(q), p, reduction="none"),
        **TOL,
    )


def test_generalized_kl_all_excluded_row_is_zero_with_zero_gradient():
    lq = jnp.array([[jnp.nan, 1.0], [0.0, 0.5]])
    p = jnp.array([[1.0, 2.0], [1.0, 0.0]])
    include = jnp.array([[False, False], [True, True]])
    fn = lambda a: jaxloss.generalized_kl_divergence(a, p, axis_where=include, reduction="sum")  # noqa: E731
    value, g = jax.value_and_grad(fn)(lq)
    # row 1: (0 - 1 + e^0) + (0 - 0 + e^0.5)
    np.testing.assert_allclose(value, np.exp(0.5), rtol=1e-6)
    np.testing.assert_array_equal(g[0], [0.0, 0.0])


# --------------------------------------------------------------------------- optax's own tests
# optax/losses/_classification_test.py GeneralizedKLDivergenceTest (optax 0.2.8): its data and
# expected values; mask and axis cases are its own comparisons.
_LOG_PS = np.array(
    [
        [-2.9957, -3.5066, -3.9120, -1.2040, -0.6931, -2.3026],
        [-1.6094, -1.6094, -1.6094, -2.3026, -1.8971, -1.8971],
    ]
)
_QS = np.array([[0.2, 0.2, 0.2, 0.1, 0.15, 0.15], [0.05, 0.03, 0.02, 0.3, 0.5, 0.0]])
_EXP = np.array([0.88757247, 0.859308])


def test_generalized_kl_optax_scalar_and_batched():
    f = jax.jit(lambda a, b: jaxloss.generalized_kl_divergence(a, b, reduction="none"))
    np.testing.assert_allclose(f(_LOG_PS[0], _QS[0]), _EXP[0], atol=1e-4)
    np.testing.assert_allclose(f(_LOG_PS, _QS), _EXP, atol=1e-4)
    np.testing.assert_allclose(
        jaxloss.convex_kl_divergence(_LOG_PS[0], _QS[0], reduction="none"), _EXP[0], atol=1e-4
    )


@pytest.mark.parametrize("size", [5, 10])
def test_generalized_kl_optax_mask(size):
    rng = np.random.default_rng(size)
    preds = rng.normal(size=size).astype(np.float32)
    targets = rng.dirichlet(np.ones(size)).astype(np.float32)
    mask = rng.integers(0, 2, size=size).astype(bool)
    x = jaxloss.generalized_kl_divergence(preds[mask], targets[mask], reduction="none")
    y = jaxloss.generalized_kl_divergence(preds, targets, axis_where=mask, reduction="none")
    np.testing.assert_allclose(x, y, atol=1e-4)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_generalized_kl_optax_axis(axis):
    rng = np.random.default_rng(axis)
    preds = rng.normal(size=(4, 5, 6)).astype(np.float32)
    targets = rng.dirichlet(np.ones(6), size=(4, 5)).astype(np.float32)
    x = jaxloss.generalized_kl_divergence(preds, targets, axis=axis, reduction="none")
    y = jaxloss.generalized_kl_divergence(
        np.moveaxis(preds, axis, -1), np.moveaxis(targets, axis, -1), reduction="none"
    )
    np.testing.assert_allclose(x, y, atol=1e-4)
