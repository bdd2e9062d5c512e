"""DINO and iBOT self-distillation: cross-entropy from a centred, sharpened teacher.

Both losses are stateful: the teacher centre is an EMA of the teacher's outputs. The
state is the centre itself, a ``[prototypes]`` array of at least float32 (a one-leaf pytree; a
``NamedTuple`` around it would add nothing): ``loss, new_center = dino_loss(..., center)``,
with :func:`dino_center_init` as its constructor. The centre never carries gradient.
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.distributed import global_reduce
from .._src.numerics import param, upcast
from .._src.reduce import check_reduction
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._swav import check_iterations, sinkhorn_knopp

__all__ = ["dino_center_init", "dino_loss", "ibot_patch_loss"]

Centering = Literal["ema", "sinkhorn_knopp"]


def dino_center_init(num_prototypes: int) -> jax.Array:
    """The initial teacher centre of :func:`dino_loss` and :func:`ibot_patch_loss`: zeros.

    Args:
      num_prototypes: :math:`K`, the output dimension of the heads (DINO ``out_dim``).

    Returns:
      A float32 ``[num_prototypes]`` array of zeros (DINO's ``register_buffer("center",
      torch.zeros(1, out_dim))`` without the leading axis).

    Examples:
      >>> import jaxloss
      >>> jaxloss.dino_center_init(3)
      Array([0., 0., 0.], dtype=float32)
    """
    if (
        isinstance(num_prototypes, bool)
        or not isinstance(num_prototypes, int)
        or num_prototypes < 1
    ):
        raise ValueError(
            f"dino_center_init: num_prototypes must be an int >= 1, got {num_prototypes!r}"
        )
    return jnp.zeros((num_prototypes,), jnp.float32)


def _check_center(center: ArrayLike, k: int, like: dict[str, ArrayLike]) -> jax.Array:
    contracts.shape_is(center, (k,), "center", hint="build it with dino_center_init(K)", like=like)
    contracts.floating(center=center)
    (c,) = upcast(center)
    return jax.lax.stop_gradient(c)


def _check_options(
    student_temperature: ArrayLike, teacher_temperature: ArrayLike, center_momentum: ArrayLike
) -> None:
    contracts.bounded(student_temperature, "student_temperature", gt=0)
    contracts.bounded(teacher_temperature, "teacher_temperature", gt=0)
    contracts.bounded(center_momentum, "center_momentum", ge=0, le=1)


def _centred_softmax(t: jax.Array, center: jax.Array, temperature: ArrayLike) -> jax.Array:
    """The teacher targets ``softmax((t - c) / tau_t)`` over the last axis, no gradient."""
    tau = param(jax.lax.stop_gradient(temperature), t.dtype)
    return jax.lax.stop_gradient(
        jax.nn.softmax((t - center.astype(t.dtype)[None, None]) / tau, axis=-1)
    )


def _ema(center: jax.Array, batch_mean: jax.Array, momentum: ArrayLike) -> jax.Array:
    m = param(jax.lax.stop_gradient(momentum), center.dtype)
    new = center * m + jax.lax.stop_gradient(batch_mean).astype(center.dtype) * (1 - m)
    return jax.lax.stop_gradient(new)


def _psum(x: jax.Array, axis_name: str | None) -> jax.Array:
    return x if axis_name is None else jax.lax.psum(x, axis_name)


@register(
    "self_supervised", reference="facebookresearch/dino main_dino.py DINOLoss (Caron et al. 2021)"
)
def dino_loss(
    student_logits: ArrayLike,
    teacher_logits: ArrayLike,
    center: ArrayLike,
    *,
    student_temperature: ArrayLike = 0.1,
    teacher_temperature: ArrayLike = 0.04,
    center_momentum: ArrayLike = 0.9,
    centering: Centering = "ema",
    sinkhorn_iterations: int = 3,
    axis_name: str | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> tuple[jax.Array, jax.Array]:
    r"""DINO: cross-entropy between a centred, sharpened teacher and every other student crop.

    The student sees :math:`V` crops (the :math:`G` global crops first), the teacher the
    :math:`G` global crops. With ``centering="ema"`` the teacher targets are
    :math:`q_{g} = \operatorname{softmax}((t_g - c)/\tau_t)`, and

    .. math::
       \ell_b = \frac{1}{P} \sum_{g=1}^{G} \sum_{v \ne g}
       -\sum_k q_{g,b,k} \log \operatorname{softmax}(s_{v,b} / \tau_s)_k

    over the :math:`P = G\,V - G` pairs (a pair needs different views). The targets carry
    no gradient. The centre is then updated from the teacher rows,
    :math:`c' = m\,c + (1 - m)\,\overline{t}` (the mean of the :math:`G\,B` teacher rows,
    global with ``axis_name``), and returned. ``centering="sinkhorn_knopp"`` (DINOv2):
    :math:`q = \text{sinkhorn\_knopp}(t, \epsilon=\tau_t)` over the :math:`G\,B` teacher
    rows, and the centre is returned unchanged.

    Args:
      student_logits: ``[n_crops, batch, K]`` floating student head outputs, global crops
        first (the order of DINO's ``chunk(ncrops)``).
      teacher_logits: ``[n_global, batch, K]`` teacher head outputs of the global crops
        (``n_global <= n_crops``; DINO uses 2).
      center: ``[K]`` teacher centre (the state; :func:`dino_center_init` for the first
        step). Kept in its dtype, at least float32 (a half centre is upcast).
      student_temperature: :math:`\tau_s > 0` (DINO ``student_temp=0.1``); float or traced.
      teacher_temperature: :math:`\tau_t > 0` (DINO ``teacher_temp=0.04``); float or
        traced, so the warm-up schedule (DINO's ``teacher_temp_schedule[epoch]``) is the
        caller's.
      center_momentum: :math:`m \in [0, 1]` (DINO ``center_momentum=0.9``).
      centering: ``"ema"`` (DINO) or ``"sinkhorn_knopp"`` (DINOv2's
        ``sinkhorn_knopp_teacher``).
      sinkhorn_iterations: Sinkhorn rounds for ``centering="sinkhorn_knopp"`` (DINOv2: 3).
      axis_name: under ``shard_map``/``pmap``: the centre update and the Sinkhorn sums
        are over the global batch (DINO's ``all_reduce``), and ``"mean"``/``"sum"`` are
        global.
      weights: optional weights broadcastable to ``[batch]``.
      where: optional boolean ``[batch]`` mask of the loss terms (the centre update
        still uses every teacher row, as DINO's).
      reduction: ``"mean"`` (default, DINO's), ``"sum"`` or ``"none"`` (the ``[batch]``
        per-image terms, averaged over the pairs).

    Returns:
      ``(loss, new_center)``: the loss (scalar, or ``[batch]`` for ``"none"``) and the
      ``[K]`` centre for the next step (under ``stop_gradient``; the dtype of ``center``,
      at least float32).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.zeros((3, 2, 4)); t = jnp.ones((2, 2, 4))
      >>> loss, center = jaxloss.dino_loss(s, t, jaxloss.dino_center_init(4))
      >>> loss, center
      (Array(1.3862944, dtype=float32), Array([0.1, 0.1, 0.1, 0.1], dtype=float32))

    References:
      M. Caron et al., "Emerging Properties in Self-Supervised Vision Transformers"
      (DINO), ICCV 2021, https://arxiv.org/abs/2104.14294; facebookresearch/dino
      ``main_dino.py::DINOLoss`` (``forward`` and ``update_center``), with its defaults
      (``student_temp=0.1``, ``teacher_temp=0.04``, ``center_momentum=0.9``); DINOv2
      ``dinov2/loss/dino_clstoken_loss.py::sinkhorn_knopp_teacher`` for
      ``centering="sinkhorn_knopp"``. Deliberate differences: DINO's teacher always has
      two chunks, here ``n_global`` follows ``teacher_logits``; the teacher temperature is
      a value, not an epoch-indexed schedule; DINOv2 sums its terms over every
      (student, teacher) pair without excluding same-view pairs and scales them in the
      training loop, here the pairs and the mean are DINO's (DINOv2's per-term scaling
      stays with the caller); the Sinkhorn step runs in log space.
    """
    check_reduction(reduction)
    contracts.choice(centering, ("ema", "sinkhorn_knopp"), "centering")
    contracts.rank(student_logits, 3, "student_logits", "[n_crops, batch, K]")
    contracts.rank(teacher_logits, 3, "teacher_logits", "[n_global, batch, K]")
    contracts.floating(student_logits=student_logits, teacher_logits=teacher_logits)
    n_crops, batch, k = jnp.shape(student_logits)
    contracts.shape_is(
        teacher_logits, (None, batch, k), "teacher_logits", like={"student_logits": student_logits}
    )
    n_global = jnp.shape(teacher_logits)[0]
    if not 1 <= n_global <= n_crops or n_crops < 2:
        raise ValueError(
            f"dino_loss: student_logits has shape {tuple(jnp.shape(student_logits))} and "
            f"teacher_logits has shape {tuple(jnp.shape(teacher_logits))}; the teacher needs 1 "
            "to n_crops (global) crops and the student at least 2 crops"
        )
    c = _check_center(center, k, {"student_logits": student_logits})
    _check_options(student_temperature, teacher_temperature, center_momentum)
    check_iterations(sinkhorn_iterations, "sinkhorn_iterations")
    s, t = upcast(student_logits, teacher_logits)
    t = jax.lax.stop_gradient(t)
    tau_t = param(jax.lax.stop_gradient(teacher_temperature), t.dtype)
    if centering == "ema":
        q = _centred_softmax(t, c, teacher_temperature)
        rows = _psum(jnp.sum(t, axis=(0, 1)), axis_name)
        count = _psum(jnp.asarray(n_global * batch, t.dtype), axis_name)
        new_center = _ema(c, rows / count, center_momentum)
    else:
        flat = t.reshape(n_global * batch, k)
        q = sinkhorn_knopp(
            flat, epsilon=tau_t, num_iterations=sinkhorn_iterations, axis_name=axis_name
        )
        q = q.reshape(n_global, batch, k)
        new_center = c
    q = jax.lax.stop_gradient(q).astype(s.dtype)
    log_p = jax.nn.log_softmax(s / param(student_temperature, s.dtype), axis=-1)
    # [G, V, B]: every (teacher crop, student crop) pair; the diagonal g == v is left out.
    cross = -jnp.einsum("gbk,vbk->gvb", q, log_p, precision="highest")
    pairs = jnp.arange(n_global)[:, None] != jnp.arange(n_crops)[None, :]
    total = jnp.sum(jnp.where(pairs[:, :, None], cross, jnp.zeros((), s.dtype)), axis=(0, 1))
    loss = total / (n_global * n_crops - n_global)
    return global_reduce(loss, reduction, axis_name, weights=weights, where=where), new_center


@register("self_supervised", reference="DINOv2 ibot_patch_loss.py iBOTPatchLoss (Zhou et al. 2022)")
def ibot_patch_loss(
    student_patch_logits: ArrayLike,
    teacher_patch_logits: ArrayLike,
    masks: ArrayLike,
    center: ArrayLike,
    *,
    student_temperature: ArrayLike = 0.1,
    teacher_temperature: ArrayLike = 0.04,
    center_momentum: ArrayLike = 0.9,
    axis_name: str | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> tuple[jax.Array, jax.Array]:
    r"""iBOT masked-patch self-distillation: the student predicts the teacher on masked patches.

    With :math:`q_{bn} = \operatorname{softmax}((t_{bn} - c)/\tau_t)` (no gradient) and
    :math:`M_b` the number of masked patches of image :math:`b`,

    .. math::
       \ell_b = \frac{1}{\max(M_b, 1)} \sum_{n\,\text{masked}}
       -\sum_k q_{bnk} \log \operatorname{softmax}(s_{bn} / \tau_s)_k

    and ``"mean"`` is :math:`\frac1B \sum_b \ell_b` (DINOv2's ``forward_masked``: each
    image's masked patches weigh :math:`1/M_b`, the sum is divided by the batch size). An
    image with no masked patch contributes 0 (and still counts in :math:`B`). The centre
    is updated from the masked teacher patches,
    :math:`c' = m\,c + (1 - m)\,\overline{t}_{\text{masked}}` (the mean over every masked
    patch of the batch, global with ``axis_name``; unchanged when nothing is masked).

    Args:
      student_patch_logits: ``[batch, patches, K]`` floating student patch-head outputs
        (of the masked view).
      teacher_patch_logits: ``[batch, patches, K]`` teacher patch-head outputs (of the
        unmasked view).
      masks: ``[batch, patches]`` boolean: ``True`` where the student's patch was masked.
      center: ``[K]`` teacher patch centre (the state; :func:`dino_center_init` for the
        first step). Kept in its dtype, at least float32 (a half centre is upcast).
      student_temperature: :math:`\tau_s > 0` (DINOv2 ``student_temp=0.1``); float or traced.
      teacher_temperature: :math:`\tau_t > 0` (DINOv2 ``teacher_temp`` 0.04 after
        warm-up); float or traced.
      center_momentum: :math:`m \in [0, 1]` (DINOv2 ``center_momentum=0.9``).
      axis_name: under ``shard_map``/``pmap``: the centre is updated from the masked
        patches of the global batch, and ``"mean"``/``"sum"`` are global.
      weights: optional weights broadcastable to ``[batch]``.
      where: optional boolean ``[batch]`` mask of the images' terms.
      reduction: ``"mean"`` (default, DINOv2's), ``"sum"`` or ``"none"`` (``[batch]``
        per-image terms :math:`\ell_b`).

    Returns:
      ``(loss, new_center)``: the loss (scalar, or ``[batch]`` for ``"none"``) and the
      ``[K]`` centre for the next step (under ``stop_gradient``; the dtype of ``center``,
      at least float32).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> s = jnp.zeros((2, 3, 4)); t = jnp.ones((2, 3, 4))
      >>> masks = jnp.array([[True, False, True], [False, False, False]])
      >>> loss, center = jaxloss.ibot_patch_loss(s, t, masks, jaxloss.dino_center_init(4))
      >>> loss
      Array(0.6931472, dtype=float32)

    References:
      J. Zhou et al., "iBOT: Image BERT Pre-Training with Online Tokenizer", ICLR 2022,
      https://arxiv.org/abs/2111.07832; M. Oquab et al., DINOv2, 2023,
      ``dinov2/loss/ibot_patch_loss.py::iBOTPatchLoss`` (``softmax_center_teacher``,
      ``forward_masked`` and ``update_center``/``apply_center_update``), with its defaults.
      Deliberate differences: the patches are kept at fixed shapes with a mask where
      DINOv2 gathers the masked ones into a flat ``[n_masked, K]`` buffer; the centre is
      the per-prototype mean over the masked teacher patches, which is DINOv2's
      ``update_center`` given a ``[1, n_masked, K]`` batch (its training loop passes the
      flat ``[n_masked, K]`` buffer, whose ``mean(1)`` averages over the prototypes
      instead); the centre is updated in the same call rather than lazily at the next one;
      DINOv2's optional Sinkhorn teacher for patches is not offered here
      (:func:`~jaxloss.sinkhorn_knopp` on the masked teacher rows gives it).
    """
    check_reduction(reduction)
    contracts.rank(student_patch_logits, 3, "student_patch_logits", "[batch, patches, K]")
    contracts.floating(
        student_patch_logits=student_patch_logits, teacher_patch_logits=teacher_patch_logits
    )
    contracts.same_shape(
        "the teacher and student see the same patches",
        student_patch_logits=student_patch_logits,
        teacher_patch_logits=teacher_patch_logits,
    )
    batch, n_patches, k = jnp.shape(student_patch_logits)
    contracts.shape_is(
        masks, (batch, n_patches), "masks", like={"student_patch_logits": student_patch_logits}
    )
    c = _check_center(center, k, {"student_patch_logits": student_patch_logits})
    _check_options(student_temperature, teacher_temperature, center_momentum)
    s, t = upcast(student_patch_logits, teacher_patch_logits)
    t = jax.lax.stop_gradient(t)
    m = jnp.asarray(masks).astype(bool)
    q = _centred_softmax(t, c, teacher_temperature)
    log_p = jax.nn.log_softmax(s / param(student_temperature, s.dtype), axis=-1)
    cross = -jnp.sum(q * log_p, axis=-1)  # [batch, patches]
    per_image = jnp.sum(jnp.where(m, cross, jnp.zeros((), s.dtype)), axis=1)
    loss = per_image / jnp.maximum(jnp.sum(m, axis=1), 1).astype(s.dtype)
    masked_sum = _psum(
        jnp.sum(jnp.where(m[..., None], t, jnp.zeros((), t.dtype)), axis=(0, 1)), axis_name
    )
    n_masked = _psum(jnp.sum(m).astype(t.dtype), axis_name)
    batch_mean = masked_sum / jnp.maximum(n_masked, 1)
    new_center = jnp.where(n_masked > 0, _ema(c, batch_mean, center_momentum), c)
    return global_reduce(loss, reduction, axis_name, weights=weights, where=where), new_center
