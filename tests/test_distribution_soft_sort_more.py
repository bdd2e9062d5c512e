"""Soft quantiles, quantization and quantile normalization vs ott-jax goldens
(gen_soft_sort_more.py): values and gradients, in one compilation of three (batched) solves."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

R = load("soft_sort_more")
TIGHT = {"epsilon": 0.05, "tolerance": 1e-10, "max_iterations": 20000}
PERM = np.array([2, 0, 1])
DEFAULT_WEIGHT = 0.02  # ott's weight=None here: min(0.02, 1.5/n, 1/(2m), half of every gap)


def _vjp(op, args, cotangent):
    value, vjp = jax.vjp(op, *args)
    return value, *vjp(cotangent)


@jax.jit
def _values_and_grads(x, w, q, y, v):
    out = {}

    # quantiles along axis 0 of x.T: q; q out of order; a constant slice; a given weight
    def quantile(z, p, mass, c):
        op = lambda z, p: jaxloss.soft_quantile(z, p, axis=0, weight=mass, **TIGHT)  # noqa: E731
        return _vjp(op, (z, p), c)

    xt, wt = x.T, w[:, :3].T
    cases = (
        (xt, q, DEFAULT_WEIGHT, wt),
        (xt, q[PERM], DEFAULT_WEIGHT, w[:, PERM].T),
        (jnp.ones_like(xt), q, DEFAULT_WEIGHT, wt),
        (xt, q, 0.06, wt),
    )
    out["quantile"] = jax.vmap(quantile)(*(jnp.stack(c) for c in zip(*cases, strict=True)))
    # quantization at the default 10 levels, and of constant slices (two more rows)
    quantize = lambda z: jaxloss.soft_quantize(z, **TIGHT)  # noqa: E731
    out["qz"] = _vjp(quantize, (jnp.concatenate([x, jnp.ones_like(x)]),), jnp.concatenate([w, w]))

    # quantile normalization with uniform and given target weights (the coupling of quantize's shape)
    def normalize(b):
        op = lambda z, t: jaxloss.soft_quantile_normalization(z, t, weights=b, **TIGHT)  # noqa: E731
        return _vjp(op, (x, y), w)

    out["qn"] = jax.vmap(normalize)(jnp.stack([jnp.full_like(v, 1.0 / v.shape[0]), v]))
    return out


def _check(got, name, args, atol=1e-8):
    value, *grads = got
    np.testing.assert_allclose(value, R[name], atol=atol, err_msg=name)
    for arg, g in zip(args, grads, strict=True):
        key = f"{name}/g{arg}"  # gradients the anchor gives as all-zero are not stored
        expected = R[key] if key in R else np.zeros_like(g)
        np.testing.assert_allclose(g, expected, atol=100 * atol, err_msg=key)


def test_soft_quantile_operators_match_ott(x64):
    names = ("x", "w", "q", "y", "v")
    out = jax.tree.map(np.asarray, _values_and_grads(*(R[k] for k in names)))
    value, gx, gq = out["quantile"]
    _check((value[0].T, gx[0].T, gq[0]), "quantile", "xq")
    # levels out of order come back in the order of q (ott 0.6 only gets an involution right)
    back = np.argsort(PERM)
    _check((value[1].T[:, back], gx[1].T, gq[1][back]), "quantile", "xq")
    np.testing.assert_allclose(value[2], 1.0, rtol=1e-8)  # a constant slice: its value
    assert np.all(np.isfinite(gx[2])) and np.all(np.isfinite(gq[2]))
    _check((value[3].T, gx[3].T, gq[3]), "quantile_w", "xq")
    value, gx = out["qz"]
    _check((value[:2], gx[:2]), "qz", "x")
    np.testing.assert_allclose(value[2:], 1.0, rtol=1e-8)
    assert np.all(np.isfinite(gx[2:]))
    value, gx, gy = out["qn"]
    _check((value[0], gx[0], gy[0]), "qn", "xy")
    _check((value[1], gx[1], gy[1]), "qn_w", "xy")


def test_soft_quantile_arguments_are_checked():
    x = jnp.zeros((2, 5))
    with pytest.raises(ValueError, match=r"soft_quantile: q must be > 0 and < 1"):
        jaxloss.soft_quantile(x, jnp.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="soft_quantile: weight must be > 0"):
        jaxloss.soft_quantile(x, 0.5, weight=0.0)
    with pytest.raises(ValueError, match="soft_quantize: num_levels must be an int >= 1"):
        jaxloss.soft_quantize(x, num_levels=0)
    with pytest.raises(ValueError, match=r"soft_quantile_normalization: .*expected equal shapes"):
        jaxloss.soft_quantile_normalization(x, jnp.arange(3.0), weights=jnp.ones(4) / 4)
    with pytest.raises(ValueError, match="soft_quantile_normalization: targets must have rank 1"):
        jaxloss.soft_quantile_normalization(x, jnp.zeros((2, 3)))
