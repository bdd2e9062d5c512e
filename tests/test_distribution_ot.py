"""Optimal transport additions: values and gradients vs ott-jax, POT and tslearn goldens (gen_ot.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss
from jaxloss.distribution import sinkhorn, sinkhorn_divergence, sinkhorn_from_cost

R = load("ot")
TIGHT = {"tolerance": 1e-11, "max_iterations": 50000}
FC_CASES = {  # tag: (epsilon, relative_epsilon, tau_a, tau_b), as gen_ot.py
    "eps0.1": (0.1, None, 1.0, 1.0),
    "default": (None, None, 1.0, 1.0),
    "mean0.2": (0.2, "mean", 1.0, 1.0),
    "std0.3": (0.3, "std", 1.0, 1.0),
    "unb0.8": (0.1, None, 0.8, 0.8),
    "unb1_0.6": (0.2, None, 1.0, 0.6),
}


def _centered(g):
    return g - np.mean(g)


@pytest.mark.parametrize("tag", list(FC_CASES))
def test_sinkhorn_from_cost_matches_ott(tag, x64):
    eps, rel, ta, tb = FC_CASES[tag]
    c, a, b = R["fc/c"], R["fc/a"], R["fc/b"]
    key = f"fc/{tag}"

    def run(c_, a_, b_, e):
        return sinkhorn_from_cost(
            c_, a_, b_, epsilon=e, relative_epsilon=rel, tau_a=ta, tau_b=tb, **TIGHT
        )

    argnums = (0, 1, 2, 3) if f"{key}/grad_eps" in R else (0, 1, 2)
    fn = jax.jit(  # one compiled call: eager dispatch compiles op by op (CI time)
        jax.value_and_grad(
            lambda *z: (lambda o: (o.reg_ot_cost, o))(run(*z)), argnums, has_aux=True
        )
    )
    (_, out), grads = fn(c, a, b, eps)
    assert bool(out.converged)
    np.testing.assert_allclose(out.reg_ot_cost, R[f"{key}/reg_ot_cost"], rtol=1e-9)
    np.testing.assert_allclose(out.coupling, R[f"{key}/coupling"], atol=1e-10)
    np.testing.assert_allclose(out.potentials[0], R[f"{key}/f"], atol=1e-8)
    np.testing.assert_allclose(out.potentials[1], R[f"{key}/g"], atol=1e-8)
    np.testing.assert_allclose(grads[0], R[f"{key}/grad_c"], atol=1e-8)
    balanced = ta == tb == 1.0  # the balanced gradient in a, b is defined up to a constant
    adjust = _centered if balanced else np.asarray
    np.testing.assert_allclose(adjust(grads[1]), adjust(R[f"{key}/grad_a"]), atol=1e-7)
    np.testing.assert_allclose(adjust(grads[2]), adjust(R[f"{key}/grad_b"]), atol=1e-7)
    if len(argnums) == 4:
        np.testing.assert_allclose(grads[3], R[f"{key}/grad_eps"], rtol=1e-7)


@pytest.mark.parametrize("tag, tau", [("eps0.1", 1.0), ("unb0.8", 0.8)])
def test_transport_cost_matches_pot(tag, tau, x64):
    c, a, b = R["fc/c"], R["fc/a"], R["fc/b"]
    key = f"fc/pot_{tag}"

    def run(c_, a_, b_, implicit=True):
        return sinkhorn_from_cost(
            c_, a_, b_, epsilon=0.1, tau_a=tau, tau_b=tau, implicit_diff=implicit, **TIGHT
        )

    fn = jax.jit(  # one compiled call: eager dispatch compiles op by op (CI time)
        jax.value_and_grad(
            lambda *z: (lambda o: (o.transport_cost, o))(run(*z)), (0, 1, 2), has_aux=True
        )
    )
    (_, out), grads = fn(c, a, b)
    np.testing.assert_allclose(out.transport_cost, R[f"{key}/value"], rtol=1e-9)
    np.testing.assert_allclose(out.coupling, R[f"{key}/plan"], atol=1e-10)
    adjust = _centered if tau == 1.0 else np.asarray
    np.testing.assert_allclose(grads[0], R[f"{key}/grad_c"], atol=1e-7)
    np.testing.assert_allclose(adjust(grads[1]), adjust(R[f"{key}/grad_a"]), atol=1e-6)
    np.testing.assert_allclose(adjust(grads[2]), adjust(R[f"{key}/grad_b"]), atol=1e-6)
    if tau == 1.0:
        return
    # implicit differentiation == autodiff of the unrolled iterations
    unrolled = jax.jit(jax.grad(lambda z: run(z, a, b, implicit=False).transport_cost))(c)
    np.testing.assert_allclose(grads[0], unrolled, atol=1e-8)


@pytest.mark.parametrize(
    "cost, p", [("cosine", None), ("pnorm_p", 1.5), ("euclidean_p", 1.5), ("neg_dot", None)]
)
def test_point_cloud_costs_match_ott(cost, p, x64):
    x, y = R["pc/x"], R["pc/y"]
    key = f"pc/{cost}"
    run = lambda x_, y_: sinkhorn(x_, y_, epsilon=0.5, cost=cost, cost_p=p, **TIGHT)  # noqa: E731
    fn = jax.jit(
        jax.value_and_grad(lambda *z: (lambda o: (o.reg_ot_cost, o))(run(*z)), (0, 1), has_aux=True)
    )
    (_, out), (gx, gy) = fn(x, y)
    np.testing.assert_allclose(out.reg_ot_cost, R[f"{key}/reg_ot_cost"], rtol=1e-9)
    np.testing.assert_allclose(out.coupling, R[f"{key}/coupling"], atol=1e-10)
    np.testing.assert_allclose(gx, R[f"{key}/grad_x"], atol=1e-8)
    np.testing.assert_allclose(gy, R[f"{key}/grad_y"], atol=1e-8)


@pytest.mark.parametrize(
    "tag, kwargs",
    [
        ("std0.1", {"epsilon": 0.1, "relative_epsilon": "std"}),
        ("unb0.9", {"epsilon": 0.5, "tau_a": 0.9, "tau_b": 0.9}),
        ("pnorm_p", {"epsilon": 0.5, "cost": "pnorm_p", "cost_p": 1.5}),
        ("pot_transport", {"epsilon": 0.5, "value": "transport_cost"}),
    ],
)
def test_divergence_options_match_anchors(tag, kwargs, x64):
    x, y = R["pc/x"], R["pc/y"]
    f = lambda x_, y_: sinkhorn_divergence(x_, y_, **kwargs, **TIGHT)  # noqa: E731
    value, (gx, gy) = jax.jit(jax.value_and_grad(f, (0, 1)))(x, y)
    np.testing.assert_allclose(value, R[f"div/{tag}"], rtol=1e-8)
    np.testing.assert_allclose(gx, R[f"div/{tag}/grad_x"], atol=1e-7)
    np.testing.assert_allclose(gy, R[f"div/{tag}/grad_y"], atol=1e-7)


def test_callable_cost_and_zero_weights():
    x, y = jnp.asarray(R["pc/x"], jnp.float32), jnp.asarray(R["pc/y"], jnp.float32)
    custom = sinkhorn(x, y, epsilon=0.5, cost=lambda u, v: jnp.sum(jnp.abs(u - v) ** 1.5) / 1.5)
    np.testing.assert_allclose(custom.reg_ot_cost, R["pc/pnorm_p/reg_ot_cost"], rtol=1e-5)
    # a zero-weight row drops out of the unbalanced problem, with finite gradients
    c = jnp.asarray(R["fc/c"], jnp.float32)
    a = jnp.array([0.3, 0.0, 0.2, 0.25, 0.25])
    ref = sinkhorn_from_cost(
        c[np.array([0, 2, 3, 4])], a[np.array([0, 2, 3, 4])], epsilon=0.2, tau_a=0.7
    )

    def cost(c_, a_):
        return sinkhorn_from_cost(c_, a_, epsilon=0.2, tau_a=0.7).transport_cost

    value, (gc, ga) = jax.jit(jax.value_and_grad(cost, (0, 1)))(c, a)
    np.testing.assert_allclose(value, ref.transport_cost, rtol=1e-5)
    assert np.all(np.isfinite(gc)) and np.all(np.isfinite(ga)) and np.all(gc[1] == 0)


def test_option_errors():
    x = jnp.zeros((3, 2))
    with pytest.raises(ValueError, match="sinkhorn: cost_p must be >= 1"):
        sinkhorn(x, x, cost="pnorm_p", cost_p=0.5)
    with pytest.raises(ValueError, match="sinkhorn: cost='euclidean_p' needs cost_p"):
        sinkhorn(x, x, cost="euclidean_p")
    with pytest.raises(ValueError, match="sinkhorn_from_cost: tau_a must be > 0 and <= 1"):
        sinkhorn_from_cost(jnp.ones((3, 3)), tau_a=1.5)
    with pytest.raises(ValueError, match="relative_epsilon"):
        sinkhorn_from_cost(jnp.ones((3, 3)), relative_epsilon="median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sinkhorn_from_cost: b has shape"):
        sinkhorn_from_cost(jnp.ones((3, 2)), b=jnp.ones(3) / 3)
    with pytest.raises(ValueError, match="sinkhorn_divergence: value"):
        jaxloss.sinkhorn_divergence(x, x, value="primal")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- soft-DTW


def _both_soft_dtw(x_, y_, g):  # plain and debiased, one value per pair
    plain = jaxloss.soft_dtw(x_, y_, gamma=g, reduction="none")
    return plain, jaxloss.soft_dtw(x_, y_, gamma=g, debiased=True, reduction="none")


@jax.jit  # values and gradients of both, one compilation for every gamma (traced; CI time)
def _soft_dtw_values_and_grads(x_, y_, g):
    grads = [
        jax.grad(lambda *z, i=i: jnp.sum(_both_soft_dtw(*z)[i]), (0, 1, 2))(x_, y_, g)
        for i in (0, 1)
    ]
    return _both_soft_dtw(x_, y_, g), grads


@pytest.mark.parametrize("gamma", [1.0, 0.1])
def test_soft_dtw_matches_ott_and_tslearn(gamma, x64):
    x, y = R["sdtw/x"], R["sdtw/y"]
    values, grads = _soft_dtw_values_and_grads(x, y, gamma)
    for index, debiased in enumerate((False, True)):
        key = f"sdtw/g{gamma}" + ("/debiased" if debiased else "")
        f = lambda x_, y_, g, i=index: jnp.sum(_soft_dtw_values_and_grads(x_, y_, g)[0][i])  # noqa: E731
        value = values[index]
        gx, gy, gg = grads[index]
        np.testing.assert_allclose(value, R[key], rtol=1e-10)
        if not debiased:
            np.testing.assert_allclose(value, R[f"{key}/tslearn"], rtol=1e-10)
        np.testing.assert_allclose(gx, R[f"{key}/grad_x"], atol=1e-9)
        np.testing.assert_allclose(gy, R[f"{key}/grad_y"], atol=1e-9)
        # ott's SoftDTW keeps gamma static (zero gradient): check d/dgamma by central differences.
        h = 1e-6
        fd = (f(x, y, gamma + h) - f(x, y, gamma - h)) / (2 * h)
        np.testing.assert_allclose(gg, fd, rtol=1e-6)


def test_soft_dtw_small_gamma_is_dtw_and_one_step_series():
    x = jnp.array([[0.0], [1.0], [1.0], [3.0]])
    y = jnp.array([[0.0], [2.0], [3.0]])
    # hard DTW by hand: path (0,0) (1,1) (2,1) (3,2): 0 + 1 + 1 + 0 = 2
    np.testing.assert_allclose(jaxloss.soft_dtw(x, y, gamma=1e-4), 2.0, atol=1e-3)
    # a one-step series: the sum of the costs to every point of the other series
    np.testing.assert_allclose(jaxloss.soft_dtw(x[:1], y, gamma=0.3), 0.0 + 4.0 + 9.0, rtol=1e-6)
    g = jax.grad(lambda z: jaxloss.soft_dtw(z, z, gamma=0.5, debiased=True))(x)
    np.testing.assert_allclose(g, 0.0, atol=1e-6)
    with pytest.raises(ValueError, match="soft_dtw: gamma must be > 0"):
        jaxloss.soft_dtw(x, y, gamma=0.0)


# --------------------------------------------------------------------------- soft sorting


def test_soft_sort_operators_match_ott(x64):
    x, w = R["ss/x"], R["ss/w"]
    tight = {"epsilon": 0.05, "tolerance": 1e-10, "max_iterations": 20000}
    ops = {
        "sort": lambda z: jaxloss.soft_sort(z, **tight),
        "sort_top3": lambda z: jaxloss.soft_sort(z, topk=3, **tight),
        "sort_t4": lambda z: jaxloss.soft_sort(z, num_targets=4, **tight),
        "ranks": lambda z: jaxloss.soft_rank(z, **tight),
        "topk2": lambda z: jaxloss.soft_topk_mask(z, 2, **tight),
    }

    @jax.jit  # the five operators, values and gradients, in one compilation
    def values_and_grads(z, w):
        out = {}
        for name, op in ops.items():
            value, vjp = jax.vjp(op, z)
            out[name] = (value, vjp(w[:, : value.shape[-1]])[0])
        return out

    for name, (value, grad) in values_and_grads(x, jnp.asarray(w)).items():
        np.testing.assert_allclose(value, R[f"ss/{name}"], atol=1e-8, err_msg=name)
        np.testing.assert_allclose(grad, R[f"ss/{name}/grad"], atol=1e-6, err_msg=name)


def test_spearman_loss_matches_ott_ranks_and_scipy(x64):
    x, t = R["ss/x"], R["sp/t"]

    @jax.jit  # one compilation for the three cases (epsilon is traced)
    def value_and_vjp(z, target, e):
        value, vjp = jax.vjp(
            lambda z: jaxloss.spearman_loss(z, target, epsilon=e, reduction="none"), z
        )
        return value, vjp(jnp.full(2, 0.5))[0]

    value, grad = value_and_vjp(x, t, 0.05)
    np.testing.assert_allclose(value, R["sp/loss"], atol=1e-4)  # at the default tolerance 1e-3
    np.testing.assert_allclose(grad, R["sp/grad"], atol=1e-4)
    # small epsilon: 1 - scipy spearmanr (no ties in x)
    np.testing.assert_allclose(value_and_vjp(x, t, 1e-3)[0], R["sp/scipy"], atol=2e-2)
    # a constant target list gives 0 with zero gradient
    zero, g = value_and_vjp(x, jnp.ones_like(t), 0.05)
    assert np.all(np.asarray(zero) == 0.0) and np.all(np.asarray(g) == 0)
