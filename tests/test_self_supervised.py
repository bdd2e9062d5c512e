"""Self-supervised losses (SigLIP, VICReg, Barlow Twins, KoLeo) against their anchors'
goldens (values and gradients, the anchors' defaults and mapped options: open_clip
SigLipLoss, PML VICRegLoss, MONAI BarlowTwinsLoss, and the barlowtwins / dinov2 formulas
transcribed in torch), float32 tolerance, and the edge cases: gradients w.r.t. SigLIP's
scale and bias, zero rows, constant features, duplicate points, tiny batches."""

from __future__ import annotations

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("self_supervised")
TOL = {"rtol": 1e-6, "atol": 1e-9}
F32 = {"rtol": 2e-4, "atol": 2e-5}


def _check(value, grads, key, tol):
    np.testing.assert_allclose(value, G[key], **tol)
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g, G[f"{key}_g{i}"], **tol)


# --------------------------------------------------------------------------- SigLIP

SIGLIP = {"siglip": "cosine", "siglip_dot": "dot", "siglip_sb": "cosine", "siglip_dot_sb": "dot"}


@functools.partial(jax.jit, static_argnames="similarity")
def _siglip_all(x, y, scale, bias, similarity):
    # One compilation per similarity and dtype: scale and bias are traced.
    def fn(x, y, scale, bias, reduction="mean"):
        return jaxloss.siglip_loss(
            x, y, scale=scale, bias=bias, similarity=similarity, reduction=reduction
        )

    value_and_grads = jax.value_and_grad(fn, argnums=(0, 1, 2, 3))(x, y, scale, bias)
    return value_and_grads, fn(x, y, scale, bias, "none"), fn(x, y, scale, bias, "sum")


def _siglip_call(case, dtype):
    args = [G[k].astype(dtype) for k in ("s_x", "s_y", f"{case}_scale", f"{case}_bias")]
    return _siglip_all(*args, similarity=SIGLIP[case])


@pytest.mark.parametrize("case", list(SIGLIP))
def test_siglip_against_open_clip(case, x64):
    (value, grads), rows, total = _siglip_call(case, np.float64)
    _check(value, grads, case, TOL)
    np.testing.assert_allclose(rows, G[f"{case}_rows"], **TOL)
    np.testing.assert_allclose(total, np.sum(G[f"{case}_rows"]), **TOL)


@pytest.mark.parametrize("case", ["siglip", "siglip_dot_sb"])
def test_siglip_float32(case):
    (value, grads), _, _ = _siglip_call(case, np.float32)
    assert value.dtype == jnp.float32
    _check(value, grads, case, F32)


def test_siglip_defaults_and_alias():
    x, y = G["s_x"].astype(np.float32), G["s_y"].astype(np.float32)
    alias = jaxloss.get("sigmoid_contrastive_loss")
    out = jax.jit(lambda a, b: (jaxloss.siglip_loss(a, b), alias(a, b)))(x, y)
    np.testing.assert_allclose(out, [G["siglip"]] * 2, **F32)


def test_siglip_bf16_logits_are_float32():
    x, y = (jnp.asarray(G[k], jnp.bfloat16) for k in ("s_x", "s_y"))
    out = jax.jit(jaxloss.siglip_loss)(x, y)
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, G["siglip"], rtol=3e-2)


def test_siglip_saturated_logits_stay_finite():
    # scale 1e4: logits of +-1e4 (log_sigmoid form; the naive log(sigmoid) gives inf).
    x = np.eye(4, dtype=np.float32)
    value, grads = jax.jit(
        jax.value_and_grad(
            lambda a, s, b: jaxloss.siglip_loss(a, -a, scale=s, bias=b), argnums=(0, 1, 2)
        )
    )(x, 1e4, 0.0)
    assert np.isfinite(value) and value > 1e3
    assert all(np.all(np.isfinite(g)) for g in grads)


def test_siglip_zero_rows_have_finite_gradients():
    x = G["s_x"].astype(np.float32).copy()
    x[0] = 0.0
    grads = jax.jit(jax.grad(jaxloss.siglip_loss, argnums=(0, 1)))(x, G["s_y"].astype(np.float32))
    assert all(np.all(np.isfinite(g)) for g in grads)


def test_siglip_checks():
    x = np.ones((3, 2), np.float32)
    with pytest.raises(ValueError, match="siglip_loss"):
        jaxloss.siglip_loss(x, np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match="scale"):
        jaxloss.siglip_loss(x, x, scale=0.0)
    with pytest.raises(ValueError, match="similarity"):
        jaxloss.siglip_loss(x, x, similarity="euclidean")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- VICReg

VICREG = {
    "vicreg": ("v_z1", "v_z2", {}),
    "vicreg_opts": (
        "v_z1",
        "v_z2",
        {"invariance_weight": 5.0, "variance_weight": 10.0, "covariance_weight": 2.0, "eps": 1e-3},
    ),
    "vicreg_const": ("v_const", "v_z2", {}),
}


_VICREG_DEFAULTS = {
    "invariance_weight": 25.0,
    "variance_weight": 25.0,
    "covariance_weight": 1.0,
    "eps": 1e-4,
}


@jax.jit
def _vicreg_vg(a, b, kw):
    # One compilation per dtype: the weights and eps are traced.
    return jax.value_and_grad(lambda a, b: jaxloss.vicreg_loss(a, b, **kw), argnums=(0, 1))(a, b)


def _vicreg_call(case, dtype):
    k1, k2, kw = VICREG[case]
    kw = {k: np.asarray(v, dtype) for k, v in {**_VICREG_DEFAULTS, **kw}.items()}
    return _vicreg_vg(G[k1].astype(dtype), G[k2].astype(dtype), kw)


@pytest.mark.parametrize("case", list(VICREG))
def test_vicreg_against_pml(case, x64):
    value, grads = _vicreg_call(case, np.float64)
    _check(value, grads, case, TOL)


def test_vicreg_float32():
    value, grads = _vicreg_call("vicreg", np.float32)
    assert value.dtype == jnp.float32
    _check(value, grads, "vicreg", F32)


def test_vicreg_aux_terms_are_pml_sub_losses(x64):
    def fn(a, b):
        (loss, aux), grad = jax.value_and_grad(
            lambda a: jaxloss.vicreg_loss(a, b, return_aux=True), has_aux=True
        )(a)
        # aux carries no gradient
        aux_grad = jax.grad(lambda a: jaxloss.vicreg_loss(a, b, return_aux=True)[1]["variance"])(a)
        return loss, aux, grad, aux_grad

    loss, aux, grad, aux_grad = jax.jit(fn)(G["v_z1"], G["v_z2"])
    np.testing.assert_allclose(loss, G["vicreg"], **TOL)
    np.testing.assert_allclose(grad, G["vicreg_g0"], **TOL)
    for short, full in (("inv", "invariance"), ("var", "variance"), ("cov", "covariance")):
        np.testing.assert_allclose(aux[full], G[f"vicreg_{short}"], **TOL)
    assert np.all(aux_grad == 0)


def test_vicreg_reductions_give_the_scalar():
    z1, z2 = G["v_z1"].astype(np.float32), G["v_z2"].astype(np.float32)
    out = jax.jit(
        lambda a, b: [jaxloss.vicreg_loss(a, b, reduction=r) for r in ("mean", "sum", "none")]
    )(z1, z2)
    for value in out:
        assert value.shape == ()
        np.testing.assert_allclose(value, G["vicreg"], **F32)


# --------------------------------------------------------------------------- Barlow Twins

BARLOW = {
    "barlow": {},
    "barlow_l02": {"lambd": 0.2},
    "barlow_monai": {"normalization": "monai", "lambd": 0.005},
    "barlow_monai_l02": {"normalization": "monai", "lambd": 0.2},
}


@functools.partial(jax.jit, static_argnames="normalization")
def _barlow_vg(a, b, lambd, normalization):
    def fn(a, b):
        return jaxloss.barlow_twins_loss(a, b, lambd=lambd, normalization=normalization)

    return jax.value_and_grad(fn, argnums=(0, 1))(a, b)


def _barlow_call(case, dtype):
    kw = {"lambd": 0.0051, "normalization": "batchnorm", **BARLOW[case]}
    lambd = np.asarray(kw["lambd"], dtype)
    return _barlow_vg(G["b_z1"].astype(dtype), G["b_z2"].astype(dtype), lambd, kw["normalization"])


@pytest.mark.parametrize("case", list(BARLOW))
def test_barlow_twins_against_monai_and_barlowtwins(case, x64):
    # "barlow*" transcribe the barlowtwins formula (nn.BatchNorm1d); "barlow_monai*" run MONAI.
    value, grads = _barlow_call(case, np.float64)
    _check(value, grads, case, TOL)


def test_barlow_twins_float32():
    value, grads = _barlow_call("barlow", np.float32)
    assert value.dtype == jnp.float32
    _check(value, grads, "barlow", F32)


@pytest.mark.parametrize("normalization", ["batchnorm", "monai"])
def test_barlow_twins_constant_feature_is_finite(normalization):
    z1 = G["b_z1"].astype(np.float32).copy()
    z1[:, 0] = 3.0
    value, grads = _barlow_vg(z1, G["b_z2"].astype(np.float32), np.float32(0.0051), normalization)
    assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads)


def test_the_goldens_use_the_anchors_defaults():
    # The golden calls pass the hyper-parameters as traced arrays (one compilation for all
    # cases); these are the defaults they stand for.
    defaults = {
        "barlow_twins_loss": {"lambd": 0.0051, "normalization": "batchnorm"},
        "vicreg_loss": _VICREG_DEFAULTS,
        "koleo_loss": {"eps": 1e-8},
        "siglip_loss": {"scale": 10.0, "bias": -10.0, "similarity": "cosine"},
    }
    for name, expected in defaults.items():
        parameters = inspect.signature(jaxloss.get(name)).parameters
        assert {k: parameters[k].default for k in expected} == expected, name


@pytest.mark.parametrize("name", ["barlow_twins_loss", "vicreg_loss"])
def test_batch_statistics_need_two_rows(name):
    z = np.ones((1, 3), np.float32)
    with pytest.raises(ValueError, match=name):
        jaxloss.get(name)(z, z)


# --------------------------------------------------------------------------- KoLeo

KOLEO = {
    "koleo": ("k_x", 1e-8),
    "koleo_dup": ("k_dup", 1e-8),
    "koleo_scaled": ("k_scaled", 1e-8),
    "koleo_eps": ("k_x", 1e-2),
}


@jax.jit
def _koleo_all(a, eps):
    # One compilation per dtype: eps is traced.
    rows = jaxloss.koleo_loss(a, eps=eps, reduction="none")
    return jax.value_and_grad(lambda a: jaxloss.koleo_loss(a, eps=eps))(a), rows


def _koleo_call(case, dtype):
    src, eps = KOLEO[case]
    (value, grad), rows = _koleo_all(G[src].astype(dtype), np.asarray(eps, dtype))
    return value, (grad,), rows


@pytest.mark.parametrize("case", list(KOLEO))
def test_koleo_against_dinov2(case, x64):
    # transcribe: dinov2 KoLeoLoss's formula written out in torch by the generator.
    value, grads, rows = _koleo_call(case, np.float64)
    _check(value, grads, case, TOL)
    np.testing.assert_allclose(rows, G[f"{case}_rows"], **TOL)


@pytest.mark.parametrize("case", ["koleo", "koleo_scaled"])
def test_koleo_float32(case):
    value, grads, _ = _koleo_call(case, np.float32)
    assert value.dtype == jnp.float32
    _check(value, grads, case, F32)


def test_koleo_duplicates_and_zero_rows_are_finite():
    x = np.zeros((4, 3), np.float32)
    value, grad = jax.jit(jax.value_and_grad(jaxloss.koleo_loss))(x)
    np.testing.assert_allclose(value, -np.log(1e-8 * np.sqrt(3) + 1e-8), rtol=1e-5)
    assert np.all(np.isfinite(grad))


def test_koleo_needs_a_neighbour():
    with pytest.raises(ValueError, match="koleo_loss"):
        jaxloss.koleo_loss(np.ones((1, 3), np.float32))
