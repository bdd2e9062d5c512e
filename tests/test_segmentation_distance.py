"""Distance-transform and skeleton losses: scipy EDT and MONAI 1.6.1 goldens, edge cases."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load
from references.gen_imaging import BOUNDARY, CLDICE, DICE_CLDICE, HAUSDORFF

import jaxloss

G = load("imaging")
edt = jaxloss.distance_transform_edt


def _data(key, options):
    x = G[f"seg_{key}/logits" if options.get("activation") else f"seg_{key}/probs"]
    return jnp.asarray(x), jnp.asarray(G[f"seg_{key}/onehot"]), jnp.asarray(G[f"seg_{key}/labels"])


# --------------------------------------------------------------------------- distance transform


def test_edt_matches_scipy(x64):
    for key, sampling in (("2d", None), ("3d", (1.5, 0.7, 2.0)), ("1d", 2.0)):
        mask = G[f"edt_{key}/mask"]
        got = jax.jit(lambda m, s=sampling: edt(m, sampling=s))(mask)
        np.testing.assert_allclose(got, G[f"edt_{key}/dist"], rtol=1e-12)
    # scipy's value for a mask without zeros (distance to the virtual point (-1, 0, ..., 0)).
    np.testing.assert_allclose(
        edt(np.ones((3, 4, 2)), sampling=(1.0, 2.0, 0.5)), G["edt_ones/dist"], rtol=1e-12
    )
    np.testing.assert_allclose(edt(np.zeros((4, 3))), G["edt_zeros/dist"])


def test_edt_float32_traced_sampling_and_errors():
    mask = G["edt_3d/mask"]
    got = jax.jit(lambda s: edt(mask, sampling=s))(jnp.array([1.5, 0.7, 2.0]))
    assert got.dtype == jnp.float32
    np.testing.assert_allclose(got, G["edt_3d/dist"], rtol=1e-6)
    with pytest.raises(ValueError, match="one spacing per axis"):
        edt(mask, sampling=(1.0, 2.0))
    with pytest.raises(ValueError, match="sampling must be > 0"):
        edt(mask, sampling=0.0)


# --------------------------------------------------------------------------- Hausdorff DT / boundary


def _golden(fn, prefix, key, options, rtol):
    # One compiled call per case: "none" on one-hot targets, the mean and its gradient on
    # integer targets (the two target forms must agree).
    x, onehot, labels = _data(key, options)

    def f(x, onehot, labels):
        value, grad = jax.value_and_grad(lambda x: fn(x, labels, **options))(x)
        return fn(x, onehot, reduction="none", **options), value, grad

    none, value, grad = jax.jit(f)(x, onehot, labels)
    np.testing.assert_allclose(none, G[f"{prefix}/none"], rtol=rtol)
    np.testing.assert_allclose(value, G[f"{prefix}/mean"], rtol=rtol)
    np.testing.assert_allclose(grad, G[f"{prefix}/grad"], rtol=rtol * 10, atol=1e-12)


# The distance fields: MONAI casts scipy's float64 fields to float32 (1e-7 relative).
@pytest.mark.parametrize("case", sorted(HAUSDORFF))
def test_hausdorff_dt_matches_monai(case, x64):
    key, options = HAUSDORFF[case]
    _golden(jaxloss.hausdorff_dt_loss, f"hd_{case}", key, options, rtol=1e-6)


@pytest.mark.parametrize("case", sorted(BOUNDARY))
def test_boundary_matches_monai(case, x64):
    key, options = BOUNDARY[case]
    _golden(jaxloss.boundary_loss, f"bd_{case}", key, options, rtol=1e-6)


def test_float32_and_traced_alpha():
    x, onehot, _ = _data("2d", {})
    x32 = x.astype(jnp.float32)

    def f(x, a):
        value, d_alpha = jax.value_and_grad(
            lambda a: jaxloss.hausdorff_dt_loss(x, onehot, alpha=a, include_background=True)
        )(a)
        return value, d_alpha, jaxloss.boundary_loss(x, onehot), jaxloss.soft_cldice_loss(x, onehot)

    hd, d_alpha, bd, cl = jax.jit(f)(x32, 1.5)
    np.testing.assert_allclose(hd, G["hd_alpha_bg_2d/mean"], rtol=1e-5)
    np.testing.assert_allclose(bd, G["bd_default_2d/mean"], rtol=1e-5)
    np.testing.assert_allclose(cl, G["cl_default_2d/mean"], rtol=1e-5)
    assert np.isfinite(d_alpha)


def test_empty_and_full_maps_are_finite():
    # Every map empty or full: the fields are 0, so the losses and gradients are 0 (alpha = 2);
    # alpha = 0 gives 0 ** 0 = 1 (as torch) with a finite gradient in alpha. clDice of empty
    # predictions and targets: tprec = tsens = 1 by the smoothing, a finite gradient.
    p = jnp.full((2, 4, 5, 2), 0.3)
    t = jnp.zeros((2, 4, 5), jnp.int32)

    def f(p, a):
        hd = jax.value_and_grad(lambda p: jaxloss.hausdorff_dt_loss(p, t, include_background=True))(
            p
        )
        bd = jax.value_and_grad(lambda p: jaxloss.boundary_loss(p, t))(p)
        hd0 = jax.value_and_grad(
            lambda a: jaxloss.hausdorff_dt_loss(p, t, alpha=a, include_background=True)
        )(a)
        cl = jax.value_and_grad(lambda p: jaxloss.soft_cldice_loss(p[..., :1] * 0, t))(p)
        return hd, bd, hd0, cl

    hd, bd, hd0, cl = jax.jit(f)(p, 0.0)
    for value, grad in (hd, bd):
        assert value == 0 and np.all(grad == 0)
    # (0.3 - 1)^2 * 2 on the full class-0 map, 0.3^2 * 2 on the empty class-1 map.
    np.testing.assert_allclose(hd0[0], (0.49 * 2 + 0.09 * 2) / 2, rtol=1e-6)
    assert np.isfinite(hd0[1])
    np.testing.assert_allclose(cl[0], 1 - 2 / (2 + 1e-4), atol=1e-7)
    assert np.all(np.isfinite(cl[1]))


def test_distance_losses_options_and_errors():
    p = jnp.full((1, 4, 4, 2), 0.5)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        jaxloss.hausdorff_dt_loss(p, p, alpha=-1.0)
    with pytest.warns(UserWarning, match="include_background=False ignored"):
        jaxloss.hausdorff_dt_loss(p[..., :1], p[..., :1])
    with pytest.raises(ValueError, match="targets has shape"):
        jaxloss.boundary_loss(p, p[..., :1])


# --------------------------------------------------------------------------- clDice


@pytest.mark.parametrize("case", sorted(CLDICE))
def test_soft_cldice_matches_monai(case, x64):
    key, options = CLDICE[case]
    _golden(jaxloss.soft_cldice_loss, f"cl_{case}", key, options, rtol=1e-9)


@pytest.mark.parametrize("case", sorted(DICE_CLDICE))
def test_soft_dice_cldice_matches_monai(case, x64):
    key, options = DICE_CLDICE[case]
    x, onehot, _ = _data(key, options)
    value, grad = jax.jit(
        jax.value_and_grad(lambda x: jaxloss.soft_dice_cldice_loss(x, onehot, **options))
    )(x)
    np.testing.assert_allclose(value, G[f"dcl_{case}/mean"], rtol=1e-9)
    np.testing.assert_allclose(grad, G[f"dcl_{case}/grad"], rtol=1e-7, atol=1e-12)


def test_cldice_option_errors():
    x = jnp.asarray(G["seg_2d/probs"], jnp.float32)
    with pytest.raises(ValueError, match="iterations must be a non-negative integer"):
        jaxloss.soft_cldice_loss(x, x, iterations=-1)
    with pytest.raises(ValueError, match="smooth must be > 0"):
        jaxloss.soft_cldice_loss(x, x, smooth=0.0)
    with pytest.raises(ValueError, match="alpha must be >= 0 and <= 1"):
        jaxloss.soft_dice_cldice_loss(x, x, alpha=1.5)
