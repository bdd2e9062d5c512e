"""Keras regression errors (API.md E36) against Keras ``MeanAbsolutePercentageError`` and
``MeanSquaredLogarithmicError`` (torch backend)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("classics")
TOL = {"rtol": 1e-6, "atol": 1e-9}


@pytest.mark.parametrize(
    ("name", "alias"),
    [("absolute_percentage_error", "mape"), ("squared_logarithmic_error", "msle")],
)
def test_keras_regression_against_keras(name, alias, x64):
    fn = getattr(jaxloss, name)
    assert jaxloss.get(alias) is fn and getattr(jaxloss, alias) is fn
    p, t = G["kreg/p"], G["kreg/t"]
    # Keras: mean over the last axis per sample, then over the batch (= the elementwise mean).
    np.testing.assert_allclose(
        jnp.mean(fn(p, t, reduction="none"), axis=-1), G[f"kreg/{alias}"], **TOL
    )
    gp, gt = jax.grad(fn, argnums=(0, 1))(p, t)
    np.testing.assert_allclose(gp, G[f"kreg/{alias}/grad_p"], **TOL)
    np.testing.assert_allclose(gt, G[f"kreg/{alias}/grad_t"], **TOL)


def test_keras_regression_pytrees_and_edges():
    p = {"a": jnp.array([1.0, 3.0]), "b": jnp.array([[2.0]])}
    t = {"a": jnp.array([2.0, 4.0]), "b": jnp.array([[4.0]])}
    np.testing.assert_allclose(jaxloss.mape(p, t), (50.0 + 25.0 + 50.0) / 3, rtol=1e-6)
    # Values below eps are raised to eps, with zero gradient there; |t| = 0 stays finite.
    g = jax.grad(lambda a: jaxloss.msle(a, jnp.array([1.0, 1.0])))(jnp.array([-3.0, 0.5]))
    assert g[0] == 0.0 and np.isfinite(g[1])
    v, g = jax.value_and_grad(lambda b: jaxloss.mape(jnp.array([1.0]), b))(jnp.array([0.0]))
    np.testing.assert_allclose(v, 1e9, rtol=1e-5)
    assert np.isfinite(g).all()
    with pytest.raises(ValueError, match="eps"):
        jaxloss.mape(p, t, eps=0.0)
