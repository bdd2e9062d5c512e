"""Exact OT (``exact_ot``/``emd2``, ``exact_wasserstein``): values and gradients vs POT ``emd2`` and
ott ``unreg.hungarian``/``wassdis_p`` goldens (gen_distribution_gw.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

R = load("distribution_gw")


def _cost_and_plan(c):
    out = jaxloss.exact_ot(c)
    return out.cost, out


@pytest.mark.parametrize("tag", ["sq", "rect"])
def test_exact_ot_matches_pot_emd2(tag, x64):
    c = R[f"emd/{tag}/c"]
    (value, out), grad = jax.value_and_grad(_cost_and_plan, has_aux=True)(c)
    np.testing.assert_allclose(value, R[f"emd/{tag}/value"], rtol=1e-12)
    np.testing.assert_allclose(grad, R[f"emd/{tag}/grad_c"], atol=1e-12)  # the plan
    np.testing.assert_allclose(out.coupling, grad, atol=0)
    if f"emd/{tag}/ott_value" in R:
        np.testing.assert_allclose(value, R[f"emd/{tag}/ott_value"], rtol=1e-12)


@pytest.mark.parametrize("p, rect", [(2.0, False), (3.0, True)])
def test_exact_wasserstein_matches_ott_and_pot(p, rect, x64):
    x, y = R["ew/x"], R["ew/y2" if rect else "ew/y"]
    key = f"ew/{'rect_' if rect else ''}p{p:g}/"
    fn = jax.value_and_grad(lambda a, b: jaxloss.exact_wasserstein(a, b, p=p), (0, 1))
    value, (gx, gy) = fn(x, y)
    np.testing.assert_allclose(value, R[key + "value"], rtol=1e-12)
    np.testing.assert_allclose(gx, R[key + "grad_x"], atol=1e-12)
    np.testing.assert_allclose(gy, R[key + "grad_y"], atol=1e-12)


def test_exact_ot_weights():
    c = jnp.asarray(R["emd/sq/c"], jnp.float32)
    assert jaxloss.emd2 is jaxloss.exact_ot
    skewed = jnp.arange(1.0, 7.0) / 21.0
    with pytest.raises(NotImplementedError, match=r"exact_ot: .*sinkhorn_from_cost"):
        jaxloss.exact_ot(c, skewed)
    # Under jit the weights cannot be inspected: non-uniform ones give NaN.
    assert np.isnan(jax.jit(lambda c_, a_: jaxloss.exact_ot(c_, a_).cost)(c, skewed))


def test_exact_ot_errors():
    with pytest.raises(ValueError, match="exact_ot: n=64 and m=65"):
        jaxloss.exact_ot(jnp.ones((64, 65)))
    with pytest.raises(ValueError, match="exact_ot: cost_matrix"):
        jaxloss.exact_ot(jnp.ones((2, 3, 3)))
