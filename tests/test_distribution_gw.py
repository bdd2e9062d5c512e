"""Gromov-Wasserstein and fused GW: values, couplings and gradients vs ott-jax and POT goldens
(gen_distribution_gw.py)."""

from __future__ import annotations

import functools

import jax
import numpy as np
import pytest
from references import load

import jaxloss

R = load("distribution_gw")
TIGHT = {  # the generator's ott settings: the same iterations, run for run
    "tolerance": 1e-7,
    "max_iterations": 100,
    "sinkhorn_tolerance": 1e-9,
    "sinkhorn_max_iterations": 5000,
}


def _data():
    return tuple(R[f"gw/{k}"] for k in ("cx", "cy", "a", "b", "m"))


def _solve(cx, cy, m, eps, fp, **kw):
    """``(reg_gw_cost, output), grads`` w.r.t. ``cost_x, cost_y, fused_cost``."""
    _, _, a, b, _ = _data()

    def run(cx_, cy_, m_, eps_, fp_):
        out = jaxloss.gromov_wasserstein(
            cx_, cy_, a, b, epsilon=eps_, fused_cost=m_, fused_penalty=fp_, **kw, **TIGHT
        )
        return out.reg_gw_cost, out

    return jax.value_and_grad(run, (0, 1, 2), has_aux=True)(cx, cy, m, eps, fp)


def _check_ott(tag, value, out, grads, fused):
    key = f"gw/{tag}/"
    assert bool(out.converged), tag
    np.testing.assert_allclose(value, R[key + "reg_gw_cost"], rtol=1e-10)
    np.testing.assert_allclose(out.coupling, R[key + "coupling"], atol=1e-12)
    np.testing.assert_allclose(out.primal_cost, R[key + "primal_cost"], rtol=1e-10)
    np.testing.assert_allclose(grads[0], R[key + "grad_cx"], atol=1e-10)
    np.testing.assert_allclose(grads[1], R[key + "grad_cy"], atol=1e-10)
    if fused:
        np.testing.assert_allclose(grads[2], R[key + "grad_m"], atol=1e-10)
    n = int(out.iterations)
    assert np.all(out.errors[:n] >= 0) and np.all(out.errors[n:] == -1)


def test_gw_and_fused_gw_match_ott_and_pot(x64):
    """One compiled, vmapped call: ott GW (fused_penalty 0), ott fused GW, POT GW and POT FGW.

    POT iterates on 2 C(T): its GW coupling is ours at epsilon / 2 and its value our
    primal_cost; FGW(alpha = 0.5, epsilon = 0.2) is fused_penalty = (1 - alpha) / (2 alpha)
    at epsilon / (2 alpha), value alpha * primal_cost + (1 - alpha) / 2 * <M, T>."""
    cx, cy, _, _, m = _data()
    eps, fp = np.array([0.1, 0.1, 0.1, 0.2]), np.array([0.0, 0.5, 0.0, 0.5])
    solve = jax.jit(jax.vmap(_solve, (None, None, None, 0, 0)))
    (value, out), grads = solve(cx, cy, m, eps, fp)
    pick = lambda tree, i: jax.tree.map(lambda z: z[i], tree)  # noqa: E731
    _check_ott("sq", value[0], pick(out, 0), pick(grads, 0), False)
    _check_ott("fused", value[1], pick(out, 1), pick(grads, 1), True)
    np.testing.assert_allclose(out.primal_cost[2], R["pot/gw/value"], rtol=1e-6)
    np.testing.assert_allclose(out.coupling[2], R["pot/gw/coupling"], atol=5e-6)
    np.testing.assert_allclose(out.coupling[3], R["pot/fgw/coupling"], atol=5e-6)
    linear = np.sum(m * out.coupling[3])
    np.testing.assert_allclose(
        0.5 * out.primal_cost[3] + 0.25 * linear, R["pot/fgw/value"], rtol=1e-6
    )


@pytest.mark.parametrize("tag, kw", [("kl", {"loss": "kl"}), ("std", {"relative_epsilon": "std"})])
def test_gw_options_match_ott(tag, kw, x64):
    cx, cy, _, _, m = _data()
    if tag == "kl":  # the generator shifts the costs to keep log(cost_y) finite
        cx, cy = cx + 0.1, cy + 0.1
    eps = 0.5 if tag == "std" else 0.1
    (value, out), grads = jax.jit(functools.partial(_solve, **kw))(cx, cy, m, eps, 0.0)
    _check_ott(tag, value, out, grads, False)


def test_gw_errors():
    c = np.eye(3, dtype=np.float32)
    with pytest.raises(NotImplementedError, match="gromov_wasserstein: unbalanced"):
        jaxloss.gromov_wasserstein(c, c, tau_a=0.9)
    with pytest.raises(ValueError, match="gromov_wasserstein: cost_x has shape"):
        jaxloss.gromov_wasserstein(np.ones((3, 2), np.float32), c)
    with pytest.raises(ValueError, match="gromov_wasserstein: fused_cost has shape"):
        jaxloss.gromov_wasserstein(c, c, fused_cost=np.ones((3, 2), np.float32))
    with pytest.raises(ValueError, match="gromov_wasserstein: loss"):
        jaxloss.gromov_wasserstein(c, c, loss="l1")  # type: ignore[arg-type]
