"""Distribution family: values and gradients vs torch, SciPy, POT, ott-jax goldens and hand checks."""

from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.spatial.distance
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads
from references import load

import jaxloss
from jaxloss.distribution import (
    js_divergence,
    kl_divergence,
    mmd_loss,
    sinkhorn,
    sinkhorn_divergence,
    sliced_wasserstein,
    wasserstein_1d,
)

R = load("distribution")
TIGHT = {"tolerance": 1e-10, "max_iterations": 20000}


def _log(a):
    """``np.log`` with ``log 0 = -inf`` and no warning."""
    with np.errstate(divide="ignore"):
        return np.log(a)


def _finite(tree):
    return all(np.all(np.isfinite(np.asarray(leaf))) for leaf in jax.tree.leaves(tree))


# --------------------------------------------------------------------------- KL


@pytest.mark.parametrize("log_target", [False, True])
def test_kl_matches_torch_batchmean_and_gradients(log_target, x64):
    lq, p = R["kl/log_q"], R["kl/p"]
    t = _log(p) if log_target else p  # -inf where p = 0
    key = f"kl/log_target{log_target}"
    f = lambda a, b: kl_divergence(a, b, log_targets=log_target)  # noqa: E731
    value = f(lq, t)
    # torch's value is NaN with log_target and a -inf target; the p-form golden is the same KL.
    np.testing.assert_allclose(value, R["kl/log_targetFalse/batchmean"], rtol=1e-12)
    g_lq, g_t = jax.grad(f, (0, 1))(lq, t)
    np.testing.assert_allclose(g_lq, R[f"{key}/grad_log_q"], atol=1e-12)
    zero = p == 0
    assert _finite(g_t) and np.all(np.asarray(g_t)[zero] == 0.0)  # torch: NaN there
    np.testing.assert_allclose(np.asarray(g_t)[~zero], R[f"{key}/grad_target"][~zero], rtol=1e-10)
    none = kl_divergence(lq, t, log_targets=log_target, reduction="none")
    np.testing.assert_allclose(none, np.nansum(R[f"{key}/none"], -1), atol=1e-12)


def test_kl_matches_optax_and_torch_mean_convention():
    rng = np.random.default_rng(0)
    lq = jax.nn.log_softmax(jnp.asarray(rng.standard_normal((3, 4)), jnp.float32))
    p = jax.nn.softmax(jnp.asarray(rng.standard_normal((3, 4)), jnp.float32))
    np.testing.assert_allclose(
        kl_divergence(lq, p, reduction="none"), optax.losses.kl_divergence(lq, p), rtol=1e-6
    )
    np.testing.assert_allclose(
        kl_divergence(lq, jnp.log(p), log_targets=True, reduction="none"),
        optax.losses.kl_divergence_with_log_targets(lq, jnp.log(p)), rtol=1e-6,
    )
    # axis: the class axis first
    np.testing.assert_allclose(
        kl_divergence(lq.T, p.T, axis=0, reduction="none"), optax.losses.kl_divergence(lq, p), rtol=1e-6
    )


def test_kl_zero_target_and_zero_prediction_finite():
    lq = jnp.array([[-jnp.inf, 0.0]])  # q = (0, 1)
    p = jnp.array([[0.0, 1.0]])
    value, grads = jax.value_and_grad(kl_divergence, (0, 1))(lq, p)
    assert float(value) == 0.0 and _finite(grads)
    np.testing.assert_array_equal(grads[0], [[0.0, -1.0]])


# --------------------------------------------------------------------------- JS


def test_js_matches_scipy_jensenshannon_squared(x64):
    p, q = R["js/p"], R["js/q"]
    js = js_divergence(_log(p), _log(q), reduction="none")
    np.testing.assert_allclose(js, R["js/scipy_distance"] ** 2, rtol=1e-10)
    direct = [scipy.spatial.distance.jensenshannon(p[i], q[i]) ** 2 for i in range(len(p))]
    np.testing.assert_allclose(js, direct, rtol=1e-10)
    # symmetric, bounded by log 2 (disjoint supports), zero at identity
    np.testing.assert_allclose(js_divergence(_log(q), _log(p), reduction="none"), js, rtol=1e-12)
    assert float(js_divergence(_log(p), _log(p))) == pytest.approx(0.0, abs=1e-15)
    disjoint = js_divergence(jnp.log(jnp.array([1.0, 0.0])), jnp.log(jnp.array([0.0, 1.0])))
    np.testing.assert_allclose(disjoint, math.log(2.0), rtol=1e-12)


def test_js_gradients_finite_at_zeros_and_vs_finite_differences(x64):
    lp, lq = _log(R["js/p"]), _log(R["js/q"])
    assert _finite(jax.grad(js_divergence, (0, 1))(lp, lq))  # p has a zero entry
    both = jnp.log(jnp.array([0.0, 0.5, 0.5]))
    assert _finite(jax.grad(js_divergence, (0, 1))(both, both))
    x = jax.nn.log_softmax(jnp.asarray(np.random.default_rng(1).standard_normal((2, 4))))
    y = jax.nn.log_softmax(jnp.asarray(np.random.default_rng(2).standard_normal((2, 4))))
    check_grads(js_divergence, (x, y), order=1, modes=("rev",), eps=1e-6)


# --------------------------------------------------------------------------- wasserstein_1d


def test_wasserstein_1d_matches_scipy(x64):
    u, v, wu, wv = R["w1d/u"], R["w1d/v"], R["w1d/wu"], R["w1d/wv"]
    np.testing.assert_allclose(wasserstein_1d(u, v), R["w1d/scipy"], rtol=1e-12)
    # SciPy normalises weights: so do we
    np.testing.assert_allclose(wasserstein_1d(u, v, 3.0 * wu, wv), R["w1d/scipy_weighted"], rtol=1e-12)
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal(40), rng.exponential(size=25)
    wa, wb = rng.uniform(size=40), rng.uniform(size=25)
    np.testing.assert_allclose(
        wasserstein_1d(a, b, wa, wb), scipy.stats.wasserstein_distance(a, b, wa, wb), rtol=1e-12
    )


@pytest.mark.parametrize("p", [1, 2, 3])
def test_wasserstein_1d_matches_pot_values_and_gradients(p, x64):
    u, v, wu, wv = R["w1d/u"], R["w1d/v"], R["w1d/wu"], R["w1d/wv"]
    f = lambda a, b: wasserstein_1d(a, b, wu, wv, p=float(p))  # noqa: E731
    np.testing.assert_allclose(f(u, v), R[f"w1d/pot_p{p}"], rtol=1e-12)
    g_u, g_v = jax.grad(f, (0, 1))(u, v)
    np.testing.assert_allclose(g_u, R[f"w1d/pot_p{p}/grad_u"], atol=1e-12)
    np.testing.assert_allclose(g_v, R[f"w1d/pot_p{p}/grad_v"], atol=1e-12)


def test_wasserstein_1d_batched_none_matches_pot(x64):
    out = wasserstein_1d(R["w1d/ub"], R["w1d/vb"], p=2.0, reduction="none")
    np.testing.assert_allclose(out, R["w1d/pot_batched_p2"], rtol=1e-12)


@pytest.mark.parametrize("p", [1.0, 2.0, 1.5])
def test_wasserstein_1d_custom_vjp_vs_finite_differences_incl_weights(p, x64):
    args = (R["w1d/u"], R["w1d/v"], R["w1d/wu"], R["w1d/wv"])
    check_grads(lambda *a: wasserstein_1d(*a, p=p), args, order=1, modes=("rev",), eps=1e-7)


@pytest.mark.parametrize("p", [1.0, 2.0])
def test_wasserstein_1d_gradients_at_ties_and_identical_inputs(p):
    u = jnp.array([0.0, 1.0, 1.0, 3.0])
    g_u, g_v = jax.grad(lambda a, b: wasserstein_1d(a, b, p=p), (0, 1))(u, u)
    # identical: W = 0 is a minimum; analytic limit of the (sub)gradient is 0
    np.testing.assert_array_equal(g_u, 0.0)
    np.testing.assert_array_equal(g_v, 0.0)
    # a shift t: W_p^p = |t|^p, d/dt = p |t|^(p-1) sign t (split evenly over equal atoms)
    t = 0.25
    g_u = jax.grad(lambda a: wasserstein_1d(a, u, p=p))(u + t)
    np.testing.assert_allclose(g_u, np.full(4, p * t ** (p - 1) / 4), rtol=1e-6)
    # ties across u and v (some atoms shared)
    g = jax.grad(lambda a, b: wasserstein_1d(a, b, p=p), (0, 1))(u, jnp.array([1.0, 1.0, 2.0]))
    assert _finite(g)


def test_wasserstein_1d_rejects_p_below_one():
    with pytest.raises(ValueError, match="wasserstein_1d"):
        wasserstein_1d(jnp.zeros(3), jnp.zeros(3), p=0.5)


# --------------------------------------------------------------------------- sinkhorn


@pytest.mark.parametrize("eps", [0.5, 0.1])
def test_sinkhorn_matches_ott(eps, x64):
    x, y, a, b = R["ott/x"], R["ott/y"], R["ott/a"], R["ott/b"]
    key = f"ott/eps{eps}"
    out = sinkhorn(x, y, a, b, epsilon=eps, **TIGHT)
    assert bool(out.converged)
    np.testing.assert_allclose(out.reg_ot_cost, R[f"{key}/reg_ot_cost"], rtol=1e-10)
    np.testing.assert_allclose(out.potentials[0], R[f"{key}/f"], atol=1e-8)
    np.testing.assert_allclose(out.potentials[1], R[f"{key}/g"], atol=1e-8)
    np.testing.assert_allclose(out.coupling, R[f"{key}/coupling"], atol=1e-10)
    grad = jax.grad(lambda z: sinkhorn(z, y, a, b, epsilon=eps, **TIGHT).reg_ot_cost)(x)
    np.testing.assert_allclose(grad, R[f"{key}/grad_x"], atol=1e-8)


def test_sinkhorn_matches_pot_and_hand_check(x64):
    x, y, a, b = R["ott/x"], R["ott/y"], R["ott/a"], R["ott/b"]
    C = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    out = sinkhorn(x, y, a, b, epsilon=0.5, **TIGHT)
    np.testing.assert_allclose(jnp.sum(out.coupling * C), R["pot/sinkhorn2_eps0.5"], rtol=1e-8)
    # small epsilon approaches the exact OT cost (POT emd2)
    small = sinkhorn(x, y, a, b, epsilon=0.01, max_iterations=20000, tolerance=1e-9)
    np.testing.assert_allclose(jnp.sum(small.coupling * C), R["pot/emd2"], rtol=1e-2)
    # POT sinkhorn2([.5,.5],[.5,.5],[[0,1],[1,0]],1) = 1/(1+e)
    pts = jnp.array([[0.0], [1.0]])
    hand = sinkhorn(pts, pts, epsilon=1.0, **TIGHT)
    value = jnp.sum(hand.coupling * jnp.array([[0.0, 1.0], [1.0, 0.0]]))
    np.testing.assert_allclose(value, 1.0 / (1.0 + math.e), rtol=1e-12)
    np.testing.assert_allclose(value, R["pot/hand"], rtol=1e-12)


def test_sinkhorn_implicit_equals_unrolled_and_finite_differences(x64):
    x, y, a, b = R["ott/x"], R["ott/y"], R["ott/a"], R["ott/b"]

    def cost(z, w, eps, implicit):
        return sinkhorn(z, w, a, b, epsilon=eps, implicit_diff=implicit, **TIGHT).reg_ot_cost

    g_imp = jax.grad(cost, (0, 1, 2))(x, y, 0.3, True)
    g_unr = jax.grad(cost, (0, 1, 2))(x, y, 0.3, False)
    for gi, gu in zip(g_imp, g_unr):
        np.testing.assert_allclose(gi, gu, atol=1e-7)
    check_grads(lambda z, w, e: cost(z, w, e, True), (x, y, 0.3), order=1, modes=("rev",), eps=1e-6)


def test_sinkhorn_weight_gradient_directional(x64):
    x, y, a, b = R["ott/x"], R["ott/y"], R["ott/a"], R["ott/b"]
    cost = lambda aa, bb: sinkhorn(x, y, aa, bb, epsilon=0.3, **TIGHT).reg_ot_cost  # noqa: E731
    g_a, g_b = jax.grad(cost, (0, 1))(a, b)
    # the gradient is defined up to a constant: check mass-preserving directions
    da = np.random.default_rng(0).standard_normal(a.shape)
    da -= da.mean()
    h = 1e-6
    fd = (cost(a + h * da, b) - cost(a - h * da, b)) / (2 * h)
    np.testing.assert_allclose(jnp.dot(g_a, da), fd, rtol=1e-5)
    assert _finite(g_b)


def test_sinkhorn_zero_weights():
    x = jnp.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    y = jnp.array([[0.0, 1.0], [1.0, 1.0]])
    a = jnp.array([0.5, 0.5, 0.0])
    out = sinkhorn(x, y, a, epsilon=0.1)
    ref = sinkhorn(x[:2], y, a[:2], epsilon=0.1)
    np.testing.assert_allclose(out.reg_ot_cost, ref.reg_ot_cost, rtol=1e-5)
    grads = jax.grad(lambda z, w: sinkhorn(z, y, w, epsilon=0.1).reg_ot_cost, (0, 1))(x, a)
    assert _finite(grads)
    np.testing.assert_array_equal(grads[0][2], 0.0)


@pytest.mark.filterwarnings("ignore:sinkhorn.*did not converge:RuntimeWarning")
def test_sinkhorn_small_epsilon_float32_finite():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.uniform(size=(20, 2)), jnp.float32)
    y = jnp.asarray(rng.uniform(size=(15, 2)), jnp.float32)
    mean_cost = float(jnp.mean(jnp.sum((x[:, None] - y[None]) ** 2, -1)))
    eps = 1e-3 * mean_cost

    def f(z):
        return sinkhorn(z, y, epsilon=eps, max_iterations=2000).reg_ot_cost

    value, grad = jax.value_and_grad(f)(x)
    assert _finite((value, grad))
    div = sinkhorn_divergence(x, y, epsilon=eps, max_iterations=2000)
    assert _finite(div) and float(div) > 0
    assert _finite(jax.grad(lambda z: sinkhorn_divergence(z, y, epsilon=eps, max_iterations=2000))(x))


def test_unconverged_sinkhorn_warns_eagerly_and_reports_it():
    # Issue 19: at epsilon=1e-4 the solver runs out of iterations; the value alone gives no signal.
    x = jax.random.normal(jax.random.key(0), (20, 2))
    y = x + 1.0
    with pytest.warns(RuntimeWarning, match=r"sinkhorn_divergence: Sinkhorn did not converge in max_iterations=1000 "
                                            r"\(marginal L1 error [0-9.e-]+\).*Increase max_iterations or epsilon"):
        sinkhorn_divergence(x, y, epsilon=1e-4)
    with pytest.warns(RuntimeWarning, match="sinkhorn: Sinkhorn did not converge"):
        out = sinkhorn(x, y, epsilon=1e-4)
    assert not bool(out.converged) and float(out.error) > 1e-3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jax.jit(lambda x: sinkhorn_divergence(x, y, epsilon=1e-4))(x)  # traced: nothing to say
        sinkhorn_divergence(x, y, epsilon=1.0)  # converged: silent


def test_sinkhorn_output_and_errors():
    x = jnp.zeros((3, 2))
    out = sinkhorn(x, x + 1.0)
    assert isinstance(out, jaxloss.SinkhornOutput)
    assert out.coupling.shape == (3, 3) and out.potentials[0].shape == (3,)
    assert int(out.iterations) % 10 == 0
    with pytest.raises(ValueError, match="sinkhorn"):
        sinkhorn(jnp.zeros((3, 2)), jnp.zeros((3, 3)))
    with pytest.raises(ValueError, match="cost"):
        sinkhorn(x, x, cost="manhattan")


# --------------------------------------------------------------------------- divergence


@pytest.mark.parametrize("eps", [0.5, 0.1])
def test_sinkhorn_divergence_matches_ott(eps, x64):
    x, y, a, b = R["ott/x"], R["ott/y"], R["ott/a"], R["ott/b"]
    key = f"ott/eps{eps}"
    f = lambda z: sinkhorn_divergence(z, y, a, b, epsilon=eps, **TIGHT)  # noqa: E731
    np.testing.assert_allclose(f(x), R[f"{key}/divergence"], rtol=1e-9)
    np.testing.assert_allclose(jax.grad(f)(x), R[f"{key}/divergence_grad_x"], atol=1e-7)


def test_sinkhorn_divergence_identical_is_zero_with_zero_gradient():
    x = jnp.asarray(np.random.default_rng(0).standard_normal((6, 2)), jnp.float32)
    value, grad = jax.value_and_grad(sinkhorn_divergence)(x, x)
    assert abs(float(value)) < 1e-5
    np.testing.assert_allclose(grad, 0.0, atol=1e-4)


def test_sinkhorn_divergence_batched_none_and_euclidean():
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.standard_normal((2, 5, 2)), jnp.float32)
    y = jnp.asarray(rng.standard_normal((2, 4, 2)), jnp.float32)
    none = sinkhorn_divergence(x, y, epsilon=0.2, cost="euclidean", reduction="none")
    loop = [sinkhorn_divergence(x[i], y[i], epsilon=0.2, cost="euclidean") for i in range(2)]
    np.testing.assert_allclose(none, loop, rtol=1e-5)


_cloud = st.lists(st.floats(-3, 3, allow_nan=False, width=32), min_size=8, max_size=8)


@settings(max_examples=15, deadline=None)
@given(_cloud, _cloud)
def test_sinkhorn_divergence_non_negative_and_symmetric(xs, ys):
    x = jnp.asarray(np.reshape(xs, (4, 2)), jnp.float32)
    y = jnp.asarray(np.reshape(ys, (4, 2)), jnp.float32)
    xy = float(sinkhorn_divergence(x, y, epsilon=0.5))
    yx = float(sinkhorn_divergence(y, x, epsilon=0.5))
    tol = 1e-4 * (1.0 + abs(xy))
    assert xy >= -tol
    assert abs(xy - yx) <= tol


# --------------------------------------------------------------------------- sliced, MMD


@pytest.mark.parametrize("p", [1, 2])
def test_sliced_matches_pot_with_same_projections(p, x64):
    x, y, proj = R["sw/x"], R["sw/y"], R["sw/proj"]
    np.testing.assert_allclose(sliced_wasserstein(x, y, projections=proj, p=float(p)), R[f"sw/p{p}"], rtol=1e-12)


def test_sliced_weighted_matches_pot_and_key_projections(x64):
    x, y, proj = R["sw/x"], R["sw/y"], R["sw/proj"]
    out = sliced_wasserstein(x, y, projections=proj, b=R["sw/b"])
    np.testing.assert_allclose(out, R["sw/p2_weighted"], rtol=1e-12)
    key = jax.random.key(3)
    from jaxloss.distribution._wasserstein import random_projections

    via_key = sliced_wasserstein(x, y, key, num_projections=32)
    explicit = sliced_wasserstein(x, y, projections=random_projections(key, 3, 32, jnp.float64))
    np.testing.assert_allclose(via_key, explicit, rtol=1e-12)
    with pytest.raises(ValueError, match="sliced_wasserstein"):
        sliced_wasserstein(x, y)


def test_sliced_identical_inputs_zero_with_finite_gradient():
    x = jnp.asarray(np.random.default_rng(0).standard_normal((5, 3)), jnp.float32)
    value, grads = jax.value_and_grad(sliced_wasserstein, (0, 1))(x, x, jax.random.key(0))
    assert float(value) == 0.0
    np.testing.assert_array_equal(grads[0], 0.0)


def test_mmd_matches_sklearn_kernel_golden(x64):
    x, y = R["mmd/x"], R["mmd/y"]
    np.testing.assert_allclose(mmd_loss(x, y, bandwidths=(0.5, 2.0)), R["mmd/unbiased"], rtol=1e-12)
    np.testing.assert_allclose(
        mmd_loss(x, y, bandwidths=(0.5, 2.0), unbiased=False), R["mmd/biased"], rtol=1e-12
    )


def test_mmd_hand_value_bandwidth_gradient_and_identity():
    x = jnp.array([[0.0], [1.0]])
    # by hand: biased (1 - e^-2) / 2; unbiased 2 e^-1/2 - (1 + 2 e^-1/2 + e^-2) / 2
    np.testing.assert_allclose(mmd_loss(x, x + 1.0, unbiased=False), (1 - math.exp(-2)) / 2, rtol=1e-5)
    unbiased = 2 * math.exp(-0.5) - (1 + 2 * math.exp(-0.5) + math.exp(-2)) / 2
    np.testing.assert_allclose(mmd_loss(x, x + 1.0), unbiased, rtol=1e-5)
    g = jax.grad(lambda s: mmd_loss(x, x + 1.0, bandwidths=s))(jnp.array([0.5, 1.5]))
    assert _finite(g) and np.all(np.asarray(g) != 0)
    assert float(mmd_loss(x, x, unbiased=False)) == 0.0
    with pytest.raises(ValueError, match="mmd_loss"):
        mmd_loss(x[:1], x)


def test_registry_and_solver_export():
    names = jaxloss.available("distribution")
    assert set(names) == {
        "kl_divergence", "js_divergence", "wasserstein_1d", "sinkhorn_divergence",
        "sliced_wasserstein", "mmd_loss", "generalized_kl_divergence",
        "energy_distance", "gaussian_wasserstein", "empirical_gaussian_wasserstein", "max_sliced_wasserstein",
        "soft_dtw", "spearman_loss", "exact_wasserstein",
    }
    assert jaxloss.sinkhorn is sinkhorn and "sinkhorn" not in names
    assert jaxloss.get("kl_div") is kl_divergence
