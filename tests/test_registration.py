"""Registration family: MONAI 1.6.1 goldens (bending energy, diffusion, LNCC), edge cases."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from references import load

import jaxloss

G = load("registration")
REGULARIZERS = {"bending": jaxloss.bending_energy_loss, "diffusion": jaxloss.diffusion_loss}
FIELD_CASES = sorted(
    (name, key, normalize)
    for name in REGULARIZERS
    for key in ("1d", "2d", "3d")
    for normalize in (False, True)
)
# case -> (image key, options); the reference is in gen_registration.py (MONAI's names mapped)
LNCC = {
    "default_2d": ("2d", {}),
    "default_1d": ("1d", {}),
    "default_3d": ("3d", {}),
    "triangular5_2d": ("2d", {"kernel_type": "triangular", "kernel_size": 5}),
    "triangular7_1d": ("1d", {"kernel_type": "triangular", "kernel_size": 7}),
    "gaussian5_2d": ("2d", {"kernel_type": "gaussian", "kernel_size": 5}),
    "gaussian3_3d": ("3d", {"kernel_type": "gaussian", "kernel_size": 3}),
    "rect1_2d": ("2d", {"kernel_size": 1}),
    "smooth_2d": ("2d", {"smooth_numerator": 1e-3, "smooth_denominator": 0.5}),
}
lncc = jaxloss.local_normalized_cross_correlation_loss


def _none_value_and_grad(fn, *args, argnums=0, **kwargs):
    """``fn(*args, reduction="none")`` and the value and gradient of its default reduction.

    One compiled call: eager op-by-op dispatch compiles every primitive, which for these
    convolution- and histogram-heavy losses costs several times one jit (CI time).
    """

    def run(*args):
        none = fn(*args, reduction="none", **kwargs)
        return none, jax.value_and_grad(lambda *a: fn(*a, **kwargs), argnums=argnums)(*args)

    return jax.jit(run)(*args)


@pytest.mark.parametrize("name, key, normalize", FIELD_CASES)
def test_regularizers_match_monai(name, key, normalize, x64):
    fn, u = REGULARIZERS[name], jnp.asarray(G[f"field_{key}"])
    case = f"{name}_{key}" + ("_normalize" if normalize else "")
    none, (value, grad) = _none_value_and_grad(fn, u, normalize=normalize)
    np.testing.assert_allclose(none, G[f"{case}/none"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(value, G[f"{case}/mean"], rtol=1e-10)
    np.testing.assert_allclose(grad, G[f"{case}/grad"], rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("case", sorted(LNCC))
def test_lncc_matches_monai(case, x64):
    key, kwargs = LNCC[case]
    p, t = jnp.asarray(G[f"image_{key}/p"]), jnp.asarray(G[f"image_{key}/t"])
    # MONAI builds the triangular and Gaussian kernels, and their volume, in float32.
    rtol = 1e-5 if kwargs.get("kernel_type") in ("triangular", "gaussian") else 1e-9
    atol = 1e-12 if rtol < 1e-6 else 1e-8
    none, (value, (gp, gt)) = _none_value_and_grad(lncc, p, t, argnums=(0, 1), **kwargs)
    np.testing.assert_allclose(none, G[f"lncc_{case}/none"], rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(value, G[f"lncc_{case}/mean"], rtol=rtol)
    np.testing.assert_allclose(gp, G[f"lncc_{case}/gp"], rtol=rtol * 10, atol=atol)
    np.testing.assert_allclose(gt, G[f"lncc_{case}/gt"], rtol=rtol * 10, atol=atol)


def test_float32_matches_monai():
    u = jnp.asarray(G["field_3d"], jnp.float32)
    np.testing.assert_allclose(jaxloss.bending_energy_loss(u), G["bending_3d/mean"], rtol=1e-5)
    np.testing.assert_allclose(jaxloss.diffusion_loss(u), G["diffusion_3d/mean"], rtol=1e-5)
    p, t = (jnp.asarray(G[f"image_2d/{k}"], jnp.float32) for k in ("p", "t"))
    np.testing.assert_allclose(lncc(p, t), G["lncc_default_2d/mean"], rtol=1e-4)


def test_affine_fields_have_no_bending_and_constant_diffusion(x64):
    # u(x) = A x + b: every second derivative is 0; the first derivatives are A's entries.
    grid = jnp.stack(jnp.meshgrid(jnp.arange(5.0), jnp.arange(6.0), indexing="ij"), -1)
    a = jnp.array([[0.3, -1.2], [0.7, 2.0]])
    u = (grid @ a.T + jnp.array([[[1.0, -2.0]]]))[None]
    np.testing.assert_allclose(jaxloss.bending_energy_loss(u), 0.0, atol=1e-20)
    per_component = jnp.sum(a**2, axis=1)
    np.testing.assert_allclose(
        jaxloss.diffusion_loss(u, reduction="none")[0, 0, 0], per_component, rtol=1e-12
    )


def test_lncc_is_minus_one_for_affine_related_images(x64):
    rng = np.random.default_rng(1)
    t = jnp.asarray(rng.uniform(size=(2, 6, 7, 1)))
    # A pure scale (zero padding at the border is not shifted by an offset).
    np.testing.assert_allclose(lncc(-3.0 * t, t, reduction="none"), -1.0, rtol=1e-8)


@pytest.mark.parametrize("fn", [jaxloss.bending_energy_loss, jaxloss.diffusion_loss])
def test_regularizer_shape_errors(fn):
    with pytest.raises(ValueError, match="every spatial size must be > 2"):
        fn(np.zeros((1, 2, 5, 2), np.float32))
    with pytest.raises(ValueError, match="one component per spatial axis"):
        fn(np.zeros((1, 4, 5, 3), np.float32))
    with pytest.raises(ValueError, match=r"1 to 3 spatial axes"):
        fn(np.zeros((4, 5), np.float32))


def test_integer_fields_are_cast():
    u = np.arange(2 * 4 * 5 * 2).reshape(2, 4, 5, 2) ** 2 % 7
    for fn in (jaxloss.bending_energy_loss, jaxloss.diffusion_loss):
        np.testing.assert_allclose(fn(u), fn(u.astype(np.float32)))


def test_lncc_option_errors():
    x = np.zeros((1, 5, 5, 1), np.float32)
    with pytest.raises(ValueError, match="kernel_size must be a positive odd integer"):
        lncc(x, x, kernel_size=4)
    with pytest.raises(ValueError, match="kernel_type"):
        lncc(x, x, kernel_type="box")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="smooth_denominator must be >= 0"):
        lncc(x, x, smooth_denominator=-1.0)
    with pytest.raises(ValueError, match="predictions must have rank"):
        lncc(x[0, 0], x[0, 0])


def test_lncc_constant_images_are_finite():
    # Inside (away from the zero padding) both variances fall below the floor: the loss is
    # -s_nr / s_dr^2 there, with finite gradients everywhere.
    x = jnp.ones((1, 5, 5, 1))
    none, (_, grads) = _none_value_and_grad(lncc, x, x, argnums=(0, 1), smooth_numerator=1e-12)
    np.testing.assert_allclose(none[:, 1:-1, 1:-1], -1e-12 / 1e-10, rtol=1e-4)
    assert all(np.all(np.isfinite(g)) for g in grads)


@pytest.mark.parametrize("fn", [jaxloss.bending_energy_loss, jaxloss.diffusion_loss])
def test_regularizers_check_grads(fn, x64):
    u = jnp.asarray(G["field_2d"])
    check_grads(jax.jit(lambda u: fn(u, normalize=True)), (u,), order=2, modes=("rev",))


def test_lncc_smoothing_may_be_traced():
    p, t = (jnp.asarray(G[f"image_2d/{k}"], jnp.float32) for k in ("p", "t"))
    f = jax.jit(lambda s: lncc(p, t, smooth_denominator=s))
    np.testing.assert_allclose(f(0.5), lncc(p, t, smooth_denominator=0.5), rtol=1e-6)
    assert np.isfinite(jax.grad(lambda s: lncc(p, t, smooth_denominator=s))(0.5))


# --------------------------------------------------------------------------- mutual information

mi = jaxloss.global_mutual_information_loss
MI = {
    "gaussian_2d": ("2d", {}),
    "gaussian_3d": ("3d", {}),
    "gaussian_bins10_sigma1": ("2d", {"num_bins": 10, "sigma_ratio": 1.0}),
    "gaussian_smooth": ("2d", {"smooth_numerator": 1e-3, "smooth_denominator": 1e-2}),
    "bspline_2d": ("2d", {"kernel_type": "b-spline"}),
    "bspline_bins12_3d": ("3d", {"kernel_type": "b-spline", "num_bins": 12}),
}


@pytest.mark.parametrize("case", sorted(MI))
def test_mutual_information_matches_monai(case, x64):
    key, kwargs = MI[case]
    p, t = jnp.asarray(G[f"mi_image_{key}/p"]), jnp.asarray(G[f"mi_image_{key}/t"])
    none, (value, (gp, gt)) = _none_value_and_grad(mi, p, t, argnums=(0, 1), **kwargs)
    np.testing.assert_allclose(none, G[f"mi_{case}/none"], rtol=1e-9)
    np.testing.assert_allclose(value, G[f"mi_{case}/mean"], rtol=1e-9)
    np.testing.assert_allclose(gp, G[f"mi_{case}/gp"], rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(gt, G[f"mi_{case}/gt"], rtol=1e-7, atol=1e-12)


def test_mutual_information_float32_matches_monai():
    p, t = (jnp.asarray(G[f"mi_image_2d/{k}"], jnp.float32) for k in ("p", "t"))
    gaussian, bspline = jax.jit(lambda p, t: (mi(p, t), mi(p, t, kernel_type="b-spline")))(p, t)
    np.testing.assert_allclose(gaussian, G["mi_gaussian_2d/mean"], rtol=1e-5)
    np.testing.assert_allclose(bspline, G["mi_bspline_2d/mean"], rtol=1e-5)


def test_mutual_information_is_larger_for_dependent_images(x64):
    rng = np.random.default_rng(2)
    t = jnp.asarray(rng.uniform(size=(1, 12, 12, 1)))
    independent = jnp.asarray(rng.uniform(size=(1, 12, 12, 1)))
    for kernel_type in ("gaussian", "b-spline"):
        f = jax.jit(lambda p, t: mi(p, t, kernel_type=kernel_type))  # noqa: B023 (called here)
        assert f(t, t) < f(independent, t)


def test_mutual_information_option_errors():
    x = np.full((1, 4, 4, 1), 0.5, np.float32)
    with pytest.raises(ValueError, match="num_bins must be an integer >= 2"):
        mi(x, x, num_bins=1)
    with pytest.raises(ValueError, match="num_bins must be an integer >= 5"):
        mi(x, x, kernel_type="b-spline", num_bins=4)
    with pytest.raises(ValueError, match="sigma_ratio must be > 0"):
        mi(x, x, sigma_ratio=0.0)
    with pytest.raises(ValueError, match="kernel_type"):
        mi(x, x, kernel_type="parzen")  # type: ignore[arg-type]


def test_mutual_information_sigma_ratio_may_be_traced():
    p, t = (jnp.asarray(G[f"mi_image_2d/{k}"], jnp.float32) for k in ("p", "t"))
    value, grad = jax.jit(jax.value_and_grad(lambda s: mi(p, t, sigma_ratio=s)))(0.8)
    np.testing.assert_allclose(
        value, jax.jit(lambda p, t: mi(p, t, sigma_ratio=0.8))(p, t), rtol=1e-6
    )
    assert np.isfinite(grad)
