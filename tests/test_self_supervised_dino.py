"""DINO, iBOT, SwAV, Sinkhorn-Knopp and CoCa against their anchors' goldens
(``tests/references/gen_dino.py``: facebookresearch dino ``DINOLoss``, dinov2
``iBOTPatchLoss`` and ``sinkhorn_knopp_teacher``, swav ``distributed_sinkhorn`` run from
checkouts, the swav loss loop transcribed, ott-jax's Sinkhorn plan for the fixed point,
open_clip ``CoCaLoss``), values and gradients at float32 tolerance, the new centres, and
the edge cases: overflow-free Sinkhorn, images with no masked patch, all-padding captions,
the state under ``jit``, and ``axis_name`` on 8 emulated devices."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("dino")
TOL = {"rtol": 1e-6, "atol": 1e-9}
F32 = {"rtol": 2e-4, "atol": 2e-5}


# --------------------------------------------------------------------------- DINO


@functools.partial(jax.jit, static_argnames="centering")
def _dino(s, t, c, tau_s, tau_t, m, centering="ema"):
    def fn(s, reduction="mean"):
        return jaxloss.dino_loss(
            s,
            t,
            c,
            student_temperature=tau_s,
            teacher_temperature=tau_t,
            center_momentum=m,
            centering=centering,
            reduction=reduction,
        )

    (value, center), grad = jax.value_and_grad(fn, has_aux=True)(s)
    return value, grad, center, fn(s, "none")[0]


@pytest.mark.parametrize("case", ["dino", "dino_opts"])
def test_dino_against_facebookresearch(case, x64):
    value, grad, center, rows = _dino(G["d_s"], G["d_t"], G["d_c"], *G[f"{case}_params"])
    np.testing.assert_allclose(value, G[case], **TOL)
    np.testing.assert_allclose(grad, G[f"{case}_g0"], **TOL)
    np.testing.assert_allclose(center, G[f"{case}_center"], **TOL)
    np.testing.assert_allclose(rows, G[f"{case}_rows"], **TOL)


def test_dino_float32_defaults_and_state():
    s, t, c = (G[k].astype(np.float32) for k in ("d_s", "d_t", "d_c"))
    value, grad, center, _ = _dino(s, t, c, 0.1, 0.04, 0.9)
    assert value.dtype == center.dtype == jnp.float32
    np.testing.assert_allclose(value, G["dino"], **F32)
    np.testing.assert_allclose(grad, G["dino_g0"], **F32)
    np.testing.assert_allclose(center, G["dino_center"], **F32)
    # The keyword defaults are DINO's; the state never carries gradient.
    loss, g_center = jax.jit(jax.value_and_grad(lambda c: jaxloss.dino_loss(s, t, c)[0]))(c)
    np.testing.assert_allclose(loss, G["dino"], **F32)
    np.testing.assert_array_equal(g_center, 0.0)
    np.testing.assert_array_equal(
        jaxloss.dino_center_init(K := s.shape[-1]), np.zeros(K, np.float32)
    )


def test_dino_sinkhorn_centering_against_dinov2():
    # DINOv2 computes the Sinkhorn teacher in float32: float32 tolerance.
    s, t, c = (G[k] for k in ("d_s", "d_t_sk", "d_c"))
    value, grad, center, _ = _dino(s, t, c, 0.1, 0.04, 0.9, centering="sinkhorn_knopp")
    np.testing.assert_allclose(value, G["dino_sk"], **F32)
    np.testing.assert_allclose(grad, G["dino_sk_g0"], **F32)
    np.testing.assert_array_equal(center, c.astype(np.float32))  # returned unchanged


def test_dino_checks():
    s, t, c = (
        np.zeros((3, 2, 4), np.float32),
        np.zeros((2, 2, 4), np.float32),
        np.zeros(4, np.float32),
    )
    with pytest.raises(ValueError, match="dino_loss: student_logits has shape \\(1, 2, 4\\)"):
        jaxloss.dino_loss(s[:1], t[:1], c)
    with pytest.raises(ValueError, match="center"):
        jaxloss.dino_loss(s, t, c[:3])
    with pytest.raises(ValueError, match="centering"):
        jaxloss.dino_loss(s, t, c, centering="batch")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="center_momentum"):
        jaxloss.dino_loss(s, t, c, center_momentum=1.5)
    with pytest.raises(ValueError, match="num_prototypes"):
        jaxloss.dino_center_init(0)


# --------------------------------------------------------------------------- iBOT


@jax.jit
def _ibot(s, t, masks, c, tau_s, tau_t, m):
    def fn(s):
        return jaxloss.ibot_patch_loss(
            s, t, masks, c, student_temperature=tau_s, teacher_temperature=tau_t, center_momentum=m
        )

    (value, center), grad = jax.value_and_grad(fn, has_aux=True)(s)
    return value, grad, center


@pytest.mark.parametrize("case", ["ibot", "ibot_opts"])
def test_ibot_against_dinov2(case, x64):
    value, grad, center = _ibot(G["i_s"], G["i_t"], G["i_masks"], G["i_c"], *G[f"{case}_params"])
    np.testing.assert_allclose(value, G[case], **TOL)
    np.testing.assert_allclose(grad, G[f"{case}_g0"], **TOL)
    np.testing.assert_allclose(center, G[f"{case}_center"], **TOL)


def test_ibot_unmasked_image_and_empty_mask():
    s, t, c = (G[k].astype(np.float32) for k in ("i_s", "i_t", "i_c"))
    masks = G["i_masks"]
    rows, _ = jax.jit(functools.partial(jaxloss.ibot_patch_loss, reduction="none"))(s, t, masks, c)
    assert rows[1] == 0.0  # image 1 has no masked patch, and still counts in the mean
    np.testing.assert_allclose(jnp.mean(rows), G["ibot"], **F32)
    value, grad, center = _ibot(s, t, np.zeros_like(masks), c, 0.1, 0.04, 0.9)
    assert value == 0.0
    np.testing.assert_array_equal(grad, 0.0)
    np.testing.assert_array_equal(center, c)  # nothing masked: the centre is unchanged


# --------------------------------------------------------------------------- Sinkhorn-Knopp


_sinkhorn = jax.jit(
    lambda x, eps, num_iterations=3: jaxloss.sinkhorn_knopp(
        x, epsilon=eps, num_iterations=num_iterations
    ),
    static_argnames="num_iterations",
)


@pytest.mark.parametrize("case", ["sk", "sk_opts", "sk_zero"])
def test_sinkhorn_knopp_against_swav(case, x64):
    eps, iterations = G[f"{case}_params"]
    codes = _sinkhorn(G["sk_scores"], eps, num_iterations=int(iterations))
    np.testing.assert_allclose(codes, G[case], **TOL)
    if iterations:
        np.testing.assert_allclose(jnp.sum(codes, axis=1), 1.0, **TOL)


def test_sinkhorn_knopp_fixed_point_is_otts_plan(x64):
    codes = _sinkhorn(G["sk_scores"], G["sk_ott_eps"], num_iterations=500)
    np.testing.assert_allclose(codes, G["sk_ott"], rtol=1e-7, atol=1e-9)


def test_sinkhorn_knopp_does_not_overflow_and_stops_gradients():
    # |scores| / epsilon reaches ~1000: SwAV's exp overflows float32; the log-space form does not.
    big = G["sk_big_scores"].astype(np.float32)
    assert np.abs(big).max() / 0.05 > 88
    codes = _sinkhorn(big, 0.05)
    np.testing.assert_allclose(codes, G["sk_big"], rtol=1e-5, atol=1e-6)
    grad = jax.jit(jax.grad(lambda x: jnp.sum(jaxloss.sinkhorn_knopp(x) * x)))(big)
    np.testing.assert_allclose(grad, codes)  # only the explicit factor: the codes are constants
    with pytest.raises(ValueError, match="epsilon"):
        jaxloss.sinkhorn_knopp(big, epsilon=0.0)
    with pytest.raises(ValueError, match="scores"):
        jaxloss.sinkhorn_knopp(big[0])


# --------------------------------------------------------------------------- SwAV

SWAV = {
    "swav": (0.1, 0.05, 3, (0, 1), False),
    "swav_opts": (0.3, 0.2, 5, (2,), False),
    "swav_queue": (0.1, 0.05, 3, (0, 1), True),
}


@functools.partial(jax.jit, static_argnames=("iterations", "crops"))
def _swav(scores, queue, tau, eps, iterations, crops):
    def fn(x):
        return jaxloss.swav_loss(
            x,
            temperature=tau,
            epsilon=eps,
            sinkhorn_iterations=iterations,
            crops_for_assign=crops,
            queue_scores=queue,
        )

    return jax.value_and_grad(fn)(scores)


@pytest.mark.parametrize("case", list(SWAV))
def test_swav_against_main_swav(case, x64):
    tau, eps, iterations, crops, queue = SWAV[case]
    value, grad = _swav(
        G["sw_scores"], G["sw_queue"] if queue else None, tau, eps, iterations, crops
    )
    np.testing.assert_allclose(value, G[case], **TOL)
    np.testing.assert_allclose(grad, G[f"{case}_g0"], **TOL)


def test_swav_float32_defaults_and_checks():
    scores = G["sw_scores"].astype(np.float32)
    value, rows = jax.jit(lambda x: (jaxloss.swav_loss(x), jaxloss.swav_loss(x, reduction="none")))(
        scores
    )
    np.testing.assert_allclose(value, G["swav"], **F32)
    np.testing.assert_allclose(jnp.mean(rows), G["swav"], **F32)
    with pytest.raises(ValueError, match="crops_for_assign"):
        jaxloss.swav_loss(scores, crops_for_assign=(3,))
    with pytest.raises(ValueError, match="queue_scores"):
        jaxloss.swav_loss(scores, queue_scores=np.zeros((1, 4, 5), np.float32))


# --------------------------------------------------------------------------- CoCa

COCA = {"coca": "cosine", "coca_dot": "dot", "coca_opts": "cosine"}


@functools.partial(jax.jit, static_argnames=("pad_id", "similarity"))
def _coca(x, y, logits, labels, tau, w_clip, w_cap, pad_id, similarity):
    def fn(x, y, logits, tau):
        return jaxloss.coca_loss(
            x,
            y,
            logits,
            labels,
            temperature=tau,
            clip_weight=w_clip,
            caption_weight=w_cap,
            pad_id=pad_id,
            similarity=similarity,
            return_aux=True,
        )

    return jax.value_and_grad(fn, argnums=(0, 1, 2, 3), has_aux=True)(x, y, logits, tau)


@pytest.mark.parametrize("case", list(COCA))
def test_coca_against_open_clip(case, x64):
    tau, w_clip, w_cap, pad = G[f"{case}_params"]
    (value, aux), grads = _coca(
        G["c_x"], G["c_y"], G["c_logits"], G["c_labels"], tau, w_clip, w_cap, int(pad), COCA[case]
    )
    np.testing.assert_allclose(value, G[case], **TOL)
    np.testing.assert_allclose(aux["contrastive_loss"], G[f"{case}_clip"], **TOL)
    np.testing.assert_allclose(aux["caption_loss"], G[f"{case}_caption"], **TOL)
    for i in range(3):
        np.testing.assert_allclose(grads[i], G[f"{case}_g{i}"], **TOL)
    np.testing.assert_allclose(grads[3], G[f"{case}_gtau"], **TOL)


def test_coca_float32_defaults_and_all_padding():
    x, y, logits = (G[k].astype(np.float32) for k in ("c_x", "c_y", "c_logits"))
    labels = G["c_labels"].astype(np.int32)
    np.testing.assert_allclose(jax.jit(jaxloss.coca_loss)(x, y, logits, labels), G["coca"], **F32)
    # Every token is padding: the captioning term is 0 (torch gives NaN), the gradient finite.
    value, grad = jax.jit(jax.value_and_grad(jaxloss.coca_loss, argnums=2))(
        x, y, logits, np.zeros_like(labels)
    )
    np.testing.assert_allclose(value, G["coca_clip"], **F32)
    np.testing.assert_array_equal(grad, 0.0)
    with pytest.raises(ValueError, match="caption_labels"):
        jaxloss.coca_loss(x, y, logits, np.full_like(labels, 99))
