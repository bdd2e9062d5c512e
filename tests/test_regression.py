"""Regression family against PyTorch goldens, optax, and the papers' closed forms."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from references import load

import jaxloss

G = load("regression")
TOL = {"rtol": 1e-5, "atol": 1e-6}


def _value_and_grad(fn, *args, argnums=(0,)):
    return jax.value_and_grad(lambda *a: jnp.sum(fn(*a)), argnums=argnums)(*args)


@pytest.mark.parametrize(
    ("golden", "fn"),
    [
        ("mse", lambda p, t: jaxloss.squared_error(p, t)),
        ("l1", lambda p, t: jaxloss.absolute_error(p, t)),
        ("l1_none", lambda p, t: jaxloss.mae(p, t, reduction="none")),
        ("huber_1.5", lambda p, t: jaxloss.huber_loss(p, t, delta=1.5, reduction="sum")),
        ("huber_none", lambda p, t: jaxloss.huber_loss(p, t, delta=0.7, reduction="none")),
        ("smooth_l1_0.5", lambda p, t: jaxloss.smooth_l1_loss(p, t, beta=0.5)),
        ("smooth_l1_0", lambda p, t: jaxloss.smooth_l1_loss(p, t, beta=0.0)),
        ("smooth_l1_none", lambda p, t: jaxloss.smooth_l1_loss(p, t, beta=2.0, reduction="none")),
    ],
)
def test_against_torch(golden, fn, x64):
    value, (grad,) = _value_and_grad(fn, G["p"], G["t"])
    np.testing.assert_allclose(fn(G["p"], G["t"]), G[f"{golden}/value"], **TOL)
    np.testing.assert_allclose(value, np.sum(G[f"{golden}/value"]), **TOL)
    np.testing.assert_allclose(grad, G[f"{golden}/grad"], **TOL)


def test_absolute_error_gradient_is_zero_at_zero_residual():
    grad = jax.grad(jaxloss.absolute_error)(jnp.array([1.0, 2.0]), jnp.array([1.0, 0.0]))
    np.testing.assert_array_equal(grad, [0.0, 0.5])


@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_against_torch(full, x64):
    f = lambda m, v: jaxloss.gaussian_nll_loss(m, G["t"], v, full=full, eps=1e-6)  # noqa: E731
    value, (g_mu, g_var) = jax.value_and_grad(f, argnums=(0, 1))(G["p"], G["var"])
    np.testing.assert_allclose(value, G[f"gauss_full{full}/value"], **TOL)
    np.testing.assert_allclose(g_mu, G[f"gauss_full{full}/grad_mean"], **TOL)
    # torch's clamp at eps does not stop the variance gradient; neither do we.
    np.testing.assert_allclose(g_var, G[f"gauss_full{full}/grad_var"], rtol=1e-5)


@pytest.mark.parametrize(("var_key", "reduction", "golden"), [("row", "none", "row"), ("vec", "sum", "vec")])
def test_gaussian_nll_shared_variance_shapes(var_key, reduction, golden, x64):
    var = G["var_row"] if var_key == "row" else G["var_row"][:, 0]

    def f(m, v):
        return jnp.sum(jaxloss.gaussian_nll_loss(m, G["t"], v, reduction=reduction))

    np.testing.assert_allclose(
        jaxloss.gaussian_nll_loss(G["p"], G["t"], var, reduction=reduction), G[f"gauss_{golden}/value"], **TOL
    )
    g_mu, g_var = jax.grad(f, argnums=(0, 1))(G["p"], var)
    np.testing.assert_allclose(g_mu, G[f"gauss_{golden}/grad_mean"], **TOL)
    np.testing.assert_allclose(g_var, G[f"gauss_{golden}/grad_var"], **TOL)


def test_gaussian_nll_bad_variance_shape_names_arguments():
    with pytest.raises(ValueError, match=r"gaussian_nll_loss: variance has shape \(3,\)"):
        jaxloss.gaussian_nll_loss(jnp.zeros((5, 4)), jnp.zeros((5, 4)), jnp.ones(3))


@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
def test_poisson_nll_against_torch(log_input, full, x64):
    x = G["p"] if log_input else G["rates"]

    def f(x):
        return jaxloss.poisson_nll_loss(x, G["counts"], log_input=log_input, full=full, reduction="none")

    np.testing.assert_allclose(f(x), G[f"poisson_log{log_input}_full{full}/value"], **TOL)
    np.testing.assert_allclose(
        jax.grad(lambda x: jnp.sum(f(x)))(x), G[f"poisson_log{log_input}_full{full}/grad"], **TOL
    )


def test_log_cosh_matches_optax_and_is_stable():
    rng = np.random.default_rng(0)
    p, t = rng.standard_normal((2, 50)).astype(np.float32) * 30
    np.testing.assert_allclose(
        jaxloss.log_cosh(p, t, reduction="none"), optax.losses.log_cosh(p, t), rtol=1e-6, atol=1e-6
    )
    big = jnp.array([1e4, -1e4])
    assert np.all(np.isfinite(jax.grad(lambda x: jaxloss.log_cosh(x, jnp.zeros(2)))(big)))


def test_wing_loss_paper_values():
    # Feng et al. 2018, eq. (5): w ln(1 + |x|/eps) inside, |x| - C outside, C = w - w ln(1 + w/eps).
    x = jnp.array([0.0, 1.0, 9.999, 10.0, 25.0])
    out = jaxloss.wing_loss(x, jnp.zeros(5), width=10.0, curvature=2.0, reduction="none")
    c = 10.0 - 10.0 * np.log(6.0)
    expected = [0.0, 10 * np.log(1.5), 10 * np.log1p(9.999 / 2), 10.0 - c, 25.0 - c]
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    np.testing.assert_allclose(10 * np.log(6.0), 10.0 - c, rtol=1e-6)  # continuous at |x| = w


def test_quantile_loss_minimiser_is_the_quantile():
    targets = jnp.arange(1.0, 101.0)
    grid = jnp.linspace(0.0, 101.0, 2021)
    losses = jax.vmap(lambda c: jaxloss.quantile_loss(jnp.full(100, c), targets, quantile=0.9))(grid)
    assert 89.0 <= float(grid[jnp.argmin(losses)]) <= 91.0
    np.testing.assert_allclose(
        jaxloss.quantile_loss(jnp.zeros(2), jnp.array([2.0, -2.0]), quantile=0.25, reduction="none"),
        [0.5, 1.5],
    )


@pytest.mark.parametrize(
    ("alpha", "closed_form"),
    [
        (2.0, lambda x: 0.5 * x**2),
        (1.0, lambda x: np.sqrt(x**2 + 1) - 1),
        (0.0, lambda x: np.log(0.5 * x**2 + 1)),
        (-2.0, lambda x: 2 * x**2 / (x**2 + 4)),
        (-np.inf, lambda x: 1 - np.exp(-0.5 * x**2)),
        (np.inf, lambda x: np.exp(0.5 * x**2) - 1),
    ],
)
def test_robust_loss_special_cases_from_the_paper(alpha, closed_form, x64):
    # Barron 2019, eq. (3)-(8): L2, pseudo-Huber/Charbonnier, Cauchy, Geman-McClure, Welsch.
    x = np.linspace(-4, 4, 17)
    out = jaxloss.robust_loss(x, np.zeros_like(x), alpha=alpha, scale=1.0, reduction="none")
    np.testing.assert_allclose(out, closed_form(x), rtol=1e-10, atol=1e-12)


def test_robust_loss_scale_and_continuity_in_alpha(x64):
    x = np.linspace(-3, 3, 13)
    at = lambda a: jaxloss.robust_loss(x, np.zeros_like(x), alpha=a, scale=0.5, reduction="none")  # noqa: E731
    np.testing.assert_allclose(at(0.0), np.log(0.5 * (x / 0.5) ** 2 + 1), rtol=1e-12)
    for a in (0.0, 2.0):
        np.testing.assert_allclose(at(a + 1e-7), at(a), rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(at(a - 1e-7), at(a), rtol=1e-5, atol=1e-9)


def test_robust_loss_alpha_gradient_is_finite_and_smooth_through_zero(x64):
    x = np.linspace(-3, 3, 7)

    def f(a):
        return jaxloss.robust_loss(x, np.zeros_like(x), alpha=a, reduction="sum")

    g0 = jax.grad(f)(0.0)
    central = (f(1e-4) - f(-1e-4)) / 2e-4
    np.testing.assert_allclose(g0, central, rtol=1e-6)
    for a in (-np.inf, -2.0, 1.0, 2.0, 5.0):
        assert np.isfinite(jax.grad(f)(a))
    assert np.all(np.isfinite(jax.grad(lambda s: jaxloss.robust_loss(x, 0 * x, alpha=1.0, scale=s))(0.3)))


def test_pytree_inputs_reduce_over_all_leaves():
    rng = np.random.default_rng(3)
    p = {"a": rng.standard_normal((3, 2)).astype(np.float32), "b": [rng.standard_normal(4).astype(np.float32)]}
    t = jax.tree.map(np.zeros_like, p)
    flat_p = np.concatenate([x.ravel() for x in jax.tree.leaves(p)])
    flat_t = np.zeros_like(flat_p)
    np.testing.assert_allclose(jaxloss.huber_loss(p, t), jaxloss.huber_loss(flat_p, flat_t), rtol=1e-6)
    np.testing.assert_allclose(jaxloss.mse(p, t, reduction="sum"), np.sum(flat_p**2), rtol=1e-6)
    none = jaxloss.mse(p, t, reduction="none")
    assert jax.tree.structure(none) == jax.tree.structure(p)
    np.testing.assert_allclose(none["a"], p["a"] ** 2, rtol=1e-6)
    where = jax.tree.map(lambda x: x > 0, p)
    masked = np.concatenate([x.ravel() for x in jax.tree.leaves(where)])
    np.testing.assert_allclose(
        jaxloss.mse(p, t, where=where), np.mean(flat_p[masked] ** 2), rtol=1e-6
    )
    with pytest.raises(ValueError, match="squared_error: targets has pytree structure"):
        jaxloss.mse(p, {"a": t["a"]})


def test_nan_at_masked_entries_reaches_neither_value_nor_gradient():
    p = jnp.array([1.0, jnp.nan, 3.0])
    where = jnp.array([True, False, True])
    for fn in (jaxloss.mse, jaxloss.huber_loss, jaxloss.log_cosh, jaxloss.robust_loss):
        value, grad = jax.value_and_grad(lambda p, fn=fn: fn(p, jnp.zeros(3), where=where))(p)
        assert np.isfinite(value), fn.__name__
        assert np.all(np.isfinite(grad)), fn.__name__
        assert grad[1] == 0.0


def test_hyperparameters_are_differentiable_and_traceable():
    p, t = jnp.array([0.5, 2.0, -3.0]), jnp.zeros(3)
    g = jax.grad(lambda d: jaxloss.huber_loss(p, t, delta=d))(1.0)
    np.testing.assert_allclose(g, (0.0 + (2.0 - 1.0) + (3.0 - 1.0)) / 3, rtol=1e-6)
    swept = jax.jit(jax.vmap(lambda q: jaxloss.quantile_loss(p, t, quantile=q)))(jnp.array([0.1, 0.9]))
    assert swept.shape == (2,)
