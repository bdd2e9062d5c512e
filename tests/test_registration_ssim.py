"""SSIM and MS-SSIM: MONAI 1.6.1 goldens (SSIMLoss, compute_ms_ssim), edge cases."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load
from references.gen_imaging import MS_BIG_SEED, MS_BIG_SHAPE, MS_SSIM, SSIM

import jaxloss

G = load("imaging")


def _check(fn, prefix, p, t, options, stride=1):
    # One compiled call per case: the "none" output, the mean and both gradients. float64
    # against MONAI's own code run in float64 (see gen_imaging.py).
    def f(p, t):
        value, grads = jax.value_and_grad(lambda p, t: fn(p, t, **options), argnums=(0, 1))(p, t)
        return fn(p, t, reduction="none", **options), value, grads

    p, t = jnp.asarray(p, jnp.float64), jnp.asarray(t, jnp.float64)
    none, value, (gp, gt) = jax.jit(f)(p, t)
    index = (slice(None), *(slice(None, None, stride),) * (p.ndim - 2), slice(None))
    # 1e-7: MONAI holds the MS-SSIM exponents in float32.
    np.testing.assert_allclose(none, G[f"{prefix}/none"], rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(value, G[f"{prefix}/mean"], rtol=1e-7, atol=1e-12)
    if prefix.endswith("identical_2d"):  # a maximum: both gradients are rounding noise around 0
        assert max(np.abs(gp).max(), np.abs(G[f"{prefix}/gp"]).max()) < 1e-12
        return
    atol = 1e-7 * np.abs(G[f"{prefix}/gp"]).max()  # float32 exponents again
    np.testing.assert_allclose(gp[index], G[f"{prefix}/gp"], rtol=1e-6, atol=atol)
    np.testing.assert_allclose(gt[index], G[f"{prefix}/gt"], rtol=1e-6, atol=atol)


@pytest.mark.parametrize("case", sorted(SSIM))
def test_ssim_matches_monai(case, x64):
    key, options = SSIM[case]
    _check(jaxloss.ssim_loss, f"ssim_{case}", G[f"img_{key}/p"], G[f"img_{key}/t"], options)


@pytest.mark.parametrize("case", sorted(MS_SSIM))
def test_ms_ssim_matches_monai(case, x64):
    key, options = MS_SSIM[case]
    _check(jaxloss.ms_ssim_loss, f"ms_{case}", G[f"img_{key}/p"], G[f"img_{key}/t"], options)


def _big():
    big = np.random.default_rng(MS_BIG_SEED).uniform(size=(2, *MS_BIG_SHAPE))
    return (0.8 * big[0] + 0.2 * big[1]).astype(np.float32), big[0].astype(np.float32)


def test_ms_ssim_default_matches_monai(x64):
    _check(jaxloss.ms_ssim_loss, "ms_default_big", *_big(), {}, stride=8)


def test_float32_matches_monai():
    # float32 variances by cancellation: about 1e-6 from the float64 values.
    p, t = G["img_2d/p"], G["img_2d/t"]
    options = MS_SSIM["w3_2d"][1]
    ssim, ms = jax.jit(
        lambda p, t: (
            jaxloss.ssim_loss(p, t, reduction="none"),
            jaxloss.ms_ssim_loss(p, t, reduction="none", **options),
        )
    )(p, t)
    assert ssim.dtype == ms.dtype == jnp.float32
    np.testing.assert_allclose(ssim, G["ssim_default_2d/none"], rtol=1e-5)
    np.testing.assert_allclose(ms, G["ms_w3_2d/none"], rtol=1e-4)


def test_ms_ssim_clamped_terms_have_finite_gradients():
    # Anti-correlated images: a contrast term is negative, clamped to 0 (MONAI: MS-SSIM 0, loss 1,
    # and a NaN gradient from 0 ** (w - 1)); here the gradient is 0 there, also in the exponents.
    t = jnp.asarray(G["img_2d/t"])

    def f(p, t, w):
        return jaxloss.ms_ssim_loss(p, t, win_size=3, scale_weights=w, reduction="none")

    w = jnp.array([0.2, 0.3, 0.5])
    none, grads = jax.jit(
        lambda p, t, w: (
            f(p, t, w),
            jax.grad(lambda *a: jnp.mean(f(*a)), argnums=(0, 1, 2))(p, t, w),
        )
    )(1 - t, t, w)
    np.testing.assert_allclose(none, 1 - G["ms_anti/none"], atol=1e-6)
    assert all(np.all(np.isfinite(g)) for g in grads)


def test_ssim_options_may_be_traced():
    p, t = jnp.asarray(G["img_2d/p"]), jnp.asarray(G["img_2d/t"])

    def f(s, r):
        return jaxloss.ssim_loss(p, t, win_size=9, kernel_sigma=s, data_range=r, k1=0.02, k2=0.05)

    value, grads = jax.jit(jax.value_and_grad(f, argnums=(0, 1)))(2.0, 2.0)
    np.testing.assert_allclose(value, G["ssim_options_2d/mean"], rtol=2e-5)
    assert np.all(np.isfinite(grads))


def test_ssim_errors():
    x = np.zeros((1, 8, 8, 1), np.float32)
    with pytest.raises(ValueError, match="too small for win_size=11"):
        jaxloss.ssim_loss(x, x)
    with pytest.raises(ValueError, match="kernel"):
        jaxloss.ssim_loss(x, x, kernel="box")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="data_range must be > 0"):
        jaxloss.ssim_loss(x, x, win_size=3, data_range=0.0)
    with pytest.raises(ValueError, match="must be larger than 160"):
        jaxloss.ms_ssim_loss(
            np.zeros((1, 160, 176, 1), np.float32), np.zeros((1, 160, 176, 1), np.float32)
        )
    with pytest.raises(ValueError, match="after 1 poolings"):
        jaxloss.ms_ssim_loss(
            np.zeros((1, 12, 12, 1), np.float32),
            np.zeros((1, 12, 12, 1), np.float32),
            win_size=7,
            scale_weights=(0.5, 0.5),
        )
