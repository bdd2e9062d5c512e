"""Bounding-box regression losses over matched box pairs: GIoU, DIoU and CIoU.

Boxes are corner-encoded, ``[..., 4]`` as ``(x1, y1, x2, y2)`` and, for the
generalized IoU, ``[..., 6]`` as ``(x1, y1, z1, x2, y2, z2)``; ``boxes1[i]`` is
compared with ``boxes2[i]`` (matched pairs, as in ``torchvision.ops``), and the
``"none"`` output is one loss per pair, ``boxes1.shape[:-1]``.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.contracts import function_name
from .._src.numerics import param, upcast
from .._src.reduce import broadcast, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["complete_box_iou_loss", "distance_box_iou_loss", "generalized_box_iou_loss"]

_FAMILY = "detection"


class _Pairs:
    """Matched boxes in the compute dtype, split into low and high corners ``[..., d]``."""

    def __init__(self, boxes1: jax.Array, boxes2: jax.Array) -> None:
        d = boxes1.shape[-1] // 2
        self.lo1, self.hi1 = boxes1[..., :d], boxes1[..., d:]
        self.lo2, self.hi2 = boxes2[..., :d], boxes2[..., d:]

    def inter_union(self) -> tuple[jax.Array, jax.Array]:
        """Intersection volume (0 unless the boxes overlap on every axis) and union volume."""
        sides = jnp.minimum(self.hi1, self.hi2) - jnp.maximum(self.lo1, self.lo2)
        overlap = jnp.all(sides > 0, axis=-1)
        inter = jnp.where(overlap, jnp.prod(sides, axis=-1), jnp.zeros((), sides.dtype))
        area1 = jnp.prod(self.hi1 - self.lo1, axis=-1)
        area2 = jnp.prod(self.hi2 - self.lo2, axis=-1)
        return inter, area1 + area2 - inter

    def enclosing_sides(self) -> jax.Array:
        """Side lengths of the smallest box enclosing both, ``[..., d]``."""
        return jnp.maximum(self.hi1, self.hi2) - jnp.minimum(self.lo1, self.lo2)

    def center_distance_sq(self) -> jax.Array:
        """Squared distance between the two box centres."""
        delta = (self.lo1 + self.hi1) / 2 - (self.lo2 + self.hi2) / 2
        return jnp.sum(jnp.square(delta), axis=-1)


def _prologue(
    boxes1: Any, boxes2: Any, *, eps: Any, where: Any, sizes: tuple[int, ...]
) -> tuple[_Pairs, jax.Array]:
    for what, b in (("boxes1", boxes1), ("boxes2", boxes2)):
        dtype = jnp.asarray(b).dtype
        if dtype == jnp.bool_ or not (
            jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer)
        ):
            raise TypeError(
                f"{function_name()}: {what} must have a floating or integer dtype (box coordinates), "
                f"got {dtype} with shape {tuple(jnp.shape(b))}"
            )
    contracts.min_rank(boxes1, 1, "boxes1")
    contracts.same_shape("boxes are matched pairs", boxes1=boxes1, boxes2=boxes2)
    last = jnp.shape(boxes1)[-1]
    if last not in sizes:
        layouts = " or ".join(f"[..., {n}] ({'xyxy' if n == 4 else 'xyzxyz'})" for n in sizes)
        raise ValueError(
            f"{function_name()}: boxes1 has shape {tuple(jnp.shape(boxes1))} and boxes2 has shape "
            f"{tuple(jnp.shape(boxes2))}; boxes must be {layouts} corner coordinates"
        )
    contracts.bounded(eps, "eps", ge=0)
    b1, b2 = upcast(boxes1, boxes2)
    if where is not None:
        # Masked pairs become two unit boxes, so nothing at a masked pair reaches the gradient.
        unit = jnp.concatenate([jnp.zeros(last // 2, b1.dtype), jnp.ones(last // 2, b1.dtype)])
        unit = unit.reshape((1,) * (b1.ndim - 1) + (last,))
        keep = broadcast(where, b1.shape[:-1], "where", dtype=bool)[..., None]
        b1 = jnp.where(keep, b1, unit)
        b2 = jnp.where(keep, b2, unit)
    return _Pairs(b1, b2), param(eps, b1.dtype)


def _aspect_angle(w: jax.Array, h: jax.Array) -> jax.Array:
    """``atan(w / h)`` (torchvision), continuous at ``h = 0`` (``±pi/2``) and 0 for a point box.

    Written as ``atan2(s w, s h)`` with ``s = sign(h)``, whose gradient is finite wherever
    ``(w, h) != (0, 0)``; the point box is replaced before the ``atan2`` (double ``where``).
    """
    s = jnp.where(h < 0, -1, 1).astype(h.dtype)
    point = (w == 0) & (h == 0)
    angle = jnp.arctan2(jnp.where(point, 0, s * w), jnp.where(point, 1, s * h))
    return jnp.where(point, jnp.zeros((), h.dtype), angle)


@register(_FAMILY, reference="torchvision.ops.generalized_box_iou_loss; MONAI BoxGIoULoss (3-D)")
def generalized_box_iou_loss(
    boxes1: ArrayLike,
    boxes2: ArrayLike,
    *,
    eps: float | ArrayLike = 1e-7,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Generalized IoU loss of matched box pairs, 2-D (xyxy) or 3-D (xyzxyz).

    .. math:: \ell_i = 1 - \frac{|B_i \cap G_i|}{|B_i \cup G_i| + \epsilon}
       + \frac{|C_i| - |B_i \cup G_i|}{|C_i| + \epsilon}

    where :math:`C_i` is the smallest axis-aligned box enclosing :math:`B_i` and
    :math:`G_i`. The loss lies in :math:`[0, 2)` for valid boxes and is symmetric in its
    two arguments.

    Args:
      boxes1: boxes ``[..., 4]`` as ``(x1, y1, x2, y2)`` with ``x1 <= x2``, ``y1 <= y2``, or
        ``[..., 6]`` as ``(x1, y1, z1, x2, y2, z2)``; integer coordinates are cast to float.
      boxes2: the matched boxes, same shape.
      eps: added to the union and enclosing volumes (``>= 0``; may be traced).
      weights: optional per-pair weights broadcastable to ``boxes1.shape[:-1]``.
      where: optional per-pair mask broadcastable to ``boxes1.shape[:-1]``; masked pairs
        contribute nothing to the value or the gradient.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``boxes1.shape[:-1]`` (one loss per pair) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> a = jnp.array([[0.0, 0.0, 2.0, 2.0]])
      >>> b = jnp.array([[1.0, 1.0, 3.0, 3.0]])
      >>> jaxloss.generalized_box_iou_loss(a, b)
      Array(1.0793651, dtype=float32)

    References:
      Rezatofighi et al., "Generalized Intersection over Union: A Metric and A Loss for
      Bounding Box Regression", CVPR 2019, https://arxiv.org/abs/1902.09630. Follows
      ``torchvision.ops.generalized_box_iou_loss`` (2-D) and MONAI ``BoxGIoULoss`` (3-D).

      Differences: torchvision's default reduction is ``"none"`` (its ``"mean"`` is this
      default). MONAI adds ``finfo(float32).eps`` (``1.19e-7``) instead of ``eps`` and
      always computes in float32; pass ``eps=1.1920929e-7`` to reproduce it exactly.
      MONAI clamps the enclosing box's sides at 0, which changes nothing for valid boxes
      (``x1 <= x2``). torchvision and MONAI broadcast or reject leading shapes differently;
      here both arguments must have the same shape.
    """
    pairs, eps = _prologue(boxes1, boxes2, eps=eps, where=where, sizes=(4, 6))
    inter, union = pairs.inter_union()
    enclosing = jnp.prod(pairs.enclosing_sides(), axis=-1)
    loss = 1 - inter / (union + eps) + (enclosing - union) / (enclosing + eps)
    return reduce(loss, reduction, weights=weights, where=where)


@register(_FAMILY, reference="torchvision.ops.distance_box_iou_loss")
def distance_box_iou_loss(
    boxes1: ArrayLike,
    boxes2: ArrayLike,
    *,
    eps: float | ArrayLike = 1e-7,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Distance IoU loss of matched 2-D box pairs.

    .. math:: \ell_i = 1 - \frac{|B_i \cap G_i|}{|B_i \cup G_i| + \epsilon}
       + \frac{\rho^2(b_i, g_i)}{c_i^2 + \epsilon}

    where :math:`\rho` is the distance between the box centres and :math:`c_i` the
    diagonal of the smallest box enclosing both. Symmetric in its two arguments.

    Args:
      boxes1: boxes ``[..., 4]`` as ``(x1, y1, x2, y2)`` with ``x1 <= x2``, ``y1 <= y2``;
        integer coordinates are cast to float.
      boxes2: the matched boxes, same shape.
      eps: added to the union and to the squared diagonal (``>= 0``; may be traced).
      weights: optional per-pair weights broadcastable to ``boxes1.shape[:-1]``.
      where: optional per-pair mask broadcastable to ``boxes1.shape[:-1]``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``boxes1.shape[:-1]`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> a = jnp.array([[0.0, 0.0, 2.0, 2.0]])
      >>> b = jnp.array([[1.0, 1.0, 3.0, 3.0]])
      >>> jaxloss.distance_box_iou_loss(a, b)
      Array(0.96825397, dtype=float32)

    References:
      Zheng et al., "Distance-IoU Loss: Faster and Better Learning for Bounding Box
      Regression", AAAI 2020, https://arxiv.org/abs/1911.08287. Follows
      ``torchvision.ops.distance_box_iou_loss``.

      Differences: torchvision's default reduction is ``"none"`` (its ``"mean"`` is this
      default); both arguments must have the same shape (torchvision broadcasts).
    """
    pairs, eps = _prologue(boxes1, boxes2, eps=eps, where=where, sizes=(4,))
    loss, _ = _diou(pairs, eps)
    return reduce(loss, reduction, weights=weights, where=where)


def _diou(pairs: _Pairs, eps: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The DIoU loss and the IoU of each pair."""
    inter, union = pairs.inter_union()
    iou = inter / (union + eps)
    diagonal_sq = jnp.sum(jnp.square(pairs.enclosing_sides()), axis=-1) + eps
    return 1 - iou + pairs.center_distance_sq() / diagonal_sq, iou


@register(_FAMILY, reference="torchvision.ops.complete_box_iou_loss")
def complete_box_iou_loss(
    boxes1: ArrayLike,
    boxes2: ArrayLike,
    *,
    eps: float | ArrayLike = 1e-7,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Complete IoU loss of matched 2-D box pairs: DIoU plus an aspect-ratio term.

    .. math:: \ell_i = \mathrm{DIoU}_i + \alpha_i v_i,\quad
       v_i = \frac{4}{\pi^2}\Big(\arctan\frac{w^g_i}{h^g_i} - \arctan\frac{w_i}{h_i}\Big)^2,\quad
       \alpha_i = \mathrm{sg}\Big[\frac{v_i}{1 - \mathrm{IoU}_i + v_i + \epsilon}\Big]

    with :math:`\mathrm{DIoU}_i` as in :func:`distance_box_iou_loss`, :math:`(w, h)` the
    size of ``boxes1`` and :math:`(w^g, h^g)` that of ``boxes2``; :math:`\alpha` carries no
    gradient (torchvision computes it under ``no_grad``). Symmetric in its two arguments.

    Args:
      boxes1: boxes ``[..., 4]`` as ``(x1, y1, x2, y2)`` with ``x1 <= x2``, ``y1 <= y2``;
        integer coordinates are cast to float.
      boxes2: the matched boxes, same shape.
      eps: added to the union, the squared diagonal and the denominator of
        :math:`\alpha` (``>= 0``; may be traced).
      weights: optional per-pair weights broadcastable to ``boxes1.shape[:-1]``.
      where: optional per-pair mask broadcastable to ``boxes1.shape[:-1]``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``boxes1.shape[:-1]`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> a = jnp.array([[0.0, 0.0, 2.0, 4.0]])
      >>> b = jnp.array([[1.0, 1.0, 3.0, 3.0]])
      >>> jaxloss.complete_box_iou_loss(a, b)
      Array(0.8420908, dtype=float32)

    References:
      Zheng et al., "Enhancing Geometric Factors in Model Learning and Inference for
      Object Detection and Instance Segmentation", IEEE TCYB 2021,
      https://arxiv.org/abs/2005.03572. Follows ``torchvision.ops.complete_box_iou_loss``.

      Differences: torchvision's default reduction is ``"none"`` (its ``"mean"`` is this
      default). torchvision uses its own ``eps`` only in :math:`\alpha` and the fixed
      ``1e-7`` in the DIoU part; here ``eps`` is used in both (identical at the default).
      :math:`\arctan(w/h)` is taken as ``atan2``, so a zero-height box gives
      :math:`\pm\pi/2` with a finite gradient, and a point box (``w = h = 0``) gives 0
      where torchvision returns NaN; :math:`\alpha` is 0 where its denominator is 0
      (identical boxes with ``eps=0``), where torchvision returns NaN.
      Both arguments must have the same shape (torchvision broadcasts).
    """
    pairs, eps = _prologue(boxes1, boxes2, eps=eps, where=where, sizes=(4,))
    diou, iou = _diou(pairs, eps)
    size, size_g = pairs.hi1 - pairs.lo1, pairs.hi2 - pairs.lo2
    angle = _aspect_angle(size[..., 0], size[..., 1])
    angle_g = _aspect_angle(size_g[..., 0], size_g[..., 1])
    v = (4 / math.pi**2) * jnp.square(angle_g - angle)
    denominator = jax.lax.stop_gradient(1 - iou + v + eps)
    empty = denominator == 0
    alpha = jax.lax.stop_gradient(jnp.where(empty, 0, v) / jnp.where(empty, 1, denominator))
    return reduce(diou + alpha * v, reduction, weights=weights, where=where)
