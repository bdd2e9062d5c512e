"""The Dice family (MONAI semantics): Dice, Jaccard, Tversky, focal Tversky, generalised Dice.

Each loss is a small formula of the per-(batch, class) overlap sums of
:func:`._overlap_sums.overlap_sums` (channel-last ``[batch, *spatial, classes]``
predictions; integer or one-hot targets, see :mod:`._inputs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.numerics import param
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._inputs import Activation
from ._overlap_sums import (
    AbsentClasses,
    Sums,
    complete,
    error,
    finish,
    floored,
    overlap_sums,
    ratio,
    sums_d1,
)

__all__ = [
    "dice_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "jaccard_loss",
    "tversky_loss",
]

_FAMILY = "segmentation"


@register(_FAMILY, reference="monai.losses.DiceLoss", aliases=("dice",))
def dice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    activation: Activation = "softmax",
    include_background: bool = True,
    squared: bool = False,
    smooth_numerator: float | ArrayLike = 1e-5,
    smooth_denominator: float | ArrayLike = 1e-5,
    batch: bool = False,
    soft_label: bool = False,
    axis: int = -1,
    log_loss: bool = False,
    absent_classes: AbsentClasses = "keep",
    classes: Sequence[int] | None = None,
    min_denominator: float | ArrayLike = 0.0,
    per_class: bool = True,
    class_weights: ArrayLike | None = None,
    ignore_index: int | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Soft Dice loss (MONAI ``DiceLoss`` semantics), channel-last.

    .. math::
       \ell_{bc} = 1 - \frac{2 \sum_i p_{bic} t_{bic} + s_n}
       {\sum_i p_{bic}^{q} + \sum_i t_{bic}^{q} + s_d}, \qquad q = 2 \text{ if squared else } 1

    with sums over the spatial positions ``i`` (and the batch too when
    ``batch=True``). The sums come from a ``custom_vjp`` whose backward is the
    closed-form gradient through the activation. The gradient is finite
    everywhere: empty targets and zero smoothing included. Empty prediction and
    empty target give 0 (with default smoothing; also with zero smoothing,
    where the ratio is defined as 1 with a zero gradient).

    Other anchors. segmentation-models-pytorch 0.6 ``DiceLoss(mode, classes, log_loss,
    from_logits, smooth, ignore_index, eps)`` is ``batch=True, absent_classes="zero",
    soft_label=True, smooth_numerator=smooth_denominator=2 * smooth, min_denominator=eps``
    (smp's score is :math:`(I + s) / ((P + T) / 2 + s)`, so its ``smooth`` enters doubled here;
    its intersection is the ``soft_label`` identity), with ``activation="softmax"`` (mode
    ``"multiclass"``) or ``"sigmoid"`` (``"binary"``, ``"multilabel"``) when ``from_logits``,
    ``None`` otherwise; smp's ``class_weights`` (a weighted mean over classes) are ``weights=``
    (``class_weights[classes]`` with ``classes``). Differences from smp: ``ignore_index`` masks
    whole pixels (MONAI's rule), where smp's ``"multilabel"`` mode masks single elements equal to
    it. Keras ``Dice()`` (``axis=None``) is ``activation=None, per_class=False, batch=True,
    smooth_numerator=0, smooth_denominator=1e-7`` (``axis=(1, 2, 3)``: ``batch=False``).

    Args:
      predictions: ``[batch, *spatial, classes]`` floating logits (``activation``
        ``"softmax"``/``"sigmoid"``) or probabilities (``activation=None``).
      targets: integer class indices ``[batch, *spatial]`` or floating one-hot /
        probability maps with the shape of ``predictions``.
      activation: ``"softmax"`` over the class axis (MONAI ``softmax=True``; needs
        at least two classes), ``"sigmoid"`` per channel (MONAI ``sigmoid=True``) or
        ``None``.
      include_background: if ``False`` class 0 is dropped after the activation.
        With one channel it is ignored with a warning, as in MONAI.
      squared: squares predictions and targets in the denominator (MONAI
        ``squared_pred``).
      smooth_numerator: :math:`s_n` (MONAI ``smooth_nr``); float or traced array.
      smooth_denominator: :math:`s_d` (MONAI ``smooth_dr``); float or traced array.
      batch: sum over the batch before the ratio (one Dice per class).
      soft_label: MONAI's ``soft_label``: the overlap is :math:`\sum \min(p, t) =
        \sum (p + t - |p - t|) / 2`, exact for soft targets (with one-hot targets and
        probabilities it equals :math:`\sum p t`; ``squared`` sums are unchanged, as MONAI).
      axis: the class axis of ``predictions`` (and of one-hot ``targets``): ``-1``
        channel-last (default), ``1`` channels-first (MONAI's layout). Integer targets
        omit it (channels-first ones may carry it with size 1, MONAI's
        ``[B, 1, *spatial]``). The ``"none"``
        output is channel-last ``[batch, classes]`` either way.
      log_loss: smp's ``log_loss``: the per-class loss is :math:`-\log \max(D, m)` instead of
        :math:`1 - D` (:math:`D` the Dice score, :math:`m` = ``min_denominator``, floored at the
        smallest normal float so that the loss stays finite; zero gradient below the floor).
      absent_classes: ``"keep"`` (MONAI, default) or ``"zero"`` (smp): a class whose target
        sum :math:`T` is 0 gets loss 0 (zero gradient) and stays in the mean.
      classes: smp's ``classes``: a static sequence of distinct class indices (of the input's
        class axis) to keep, in that order, after ``include_background`` (which then must not
        be contradicted by a 0 here); the ``"none"`` output has one column per kept class.
      min_denominator: :math:`m`, smp's ``eps``: the score is :math:`(2 I + s_n) / \max(P + T + s_d,
        2 m)` (smp's Tversky-form denominator :math:`I + FP/2 + FN/2 + \text{smooth}` is half of
        ours); float or traced array, ``>= 0``.
      per_class: ``False`` pools every (kept) class into one score per batch item (one for the
        batch with ``batch=True``), as Keras ``Dice``; the ``"none"`` output then has no class
        axis and ``class_weights`` is not accepted.
      class_weights: scalar or ``[classes]`` (without class 0 when
        ``include_background=False``; one per kept class with ``classes``) non-negative factors
        multiplying the per-class loss, as MONAI's ``weight`` (ignored with a single class, as MONAI).
      ignore_index: pixels whose target is ``ignore_index`` are excluded from every
        sum (MONAI's ``ignore_index``; see the module notes for one-hot targets).
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output ``[batch, classes]``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; for ``"none"`` the per-(batch, class)
      loss ``[batch, classes]`` (``[classes]`` with ``batch=True``): MONAI's
      ``[B, C, 1, ...]`` squeezed and channel-last. Out-of-range integer targets
      raise ``ValueError`` eagerly and give NaN for their batch item under ``jit``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[[1.0, -1.0], [-1.0, 1.0]]])[..., None]  # [1, 2, 2, 1 channel]
      >>> y = jnp.array([[[1, 0], [1, 1]]])  # binary mask (one channel)
      >>> jaxloss.dice_loss(x, y, activation="sigmoid", smooth_numerator=1e-6,
      ...                   smooth_denominator=1e-6)
      Array(0.3076, dtype=float32)

    References:
      Milletari et al., `V-Net <https://arxiv.org/abs/1606.04797>`_, 2016;
      MONAI ``monai.losses.DiceLoss``.
    """
    sums = sums_d1(
        predictions,
        targets,
        activation=activation,
        include_background=include_background,
        ignore_index=ignore_index,
        squared=squared,
        batch=batch,
        axis=axis,
        soft_label=soft_label,
        classes=classes,
        per_class=per_class,
        class_weights=class_weights,
        absent_classes=absent_classes,
        min_denominator=min_denominator,
    )
    sn = param(smooth_numerator, sums.inter.dtype)
    sd = param(smooth_denominator, sums.inter.dtype)
    score = floored(2 * sums.inter + sn, sums.pred + sums.true + sd, min_denominator, 2.0)
    return complete(
        error(score, log_loss, min_denominator),
        sums,
        absent_classes=absent_classes,
        per_class=per_class,
        class_weights=class_weights,
        weights=weights,
        where=where,
        reduction=reduction,
    )


@register(_FAMILY, reference="monai.losses.DiceLoss(jaccard=True)", aliases=("soft_iou_loss",))
def jaccard_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    activation: Activation = "softmax",
    include_background: bool = True,
    squared: bool = False,
    smooth_numerator: float | ArrayLike = 1e-5,
    smooth_denominator: float | ArrayLike = 1e-5,
    batch: bool = False,
    soft_label: bool = False,
    axis: int = -1,
    log_loss: bool = False,
    absent_classes: AbsentClasses = "keep",
    classes: Sequence[int] | None = None,
    min_denominator: float | ArrayLike = 0.0,
    per_class: bool = True,
    class_weights: ArrayLike | None = None,
    ignore_index: int | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Soft Jaccard (IoU) loss, MONAI ``DiceLoss(jaccard=True)`` semantics.

    .. math::
       \ell_{bc} = 1 - \frac{2 I + s_n}{2 (P + T - I) + s_d}, \quad
       I = \sum_i p t, \; P = \sum_i p^q, \; T = \sum_i t^q

    (MONAI keeps the factor 2 in numerator and denominator, so the smoothing
    terms enter as in its code.) Options, shapes, masks and the gradient are as
    in :func:`dice_loss`. segmentation-models-pytorch 0.6 ``JaccardLoss(mode, classes,
    log_loss, from_logits, smooth, ignore_index, eps)`` is ``batch=True,
    absent_classes="zero", soft_label=True, smooth_numerator=smooth_denominator=2 * smooth,
    min_denominator=eps`` (smp's index is :math:`(I + s) / (P + T - I + s)`; activations and
    differences as in :func:`dice_loss`).

    Args:
      predictions: ``[batch, *spatial, classes]`` floating logits (``activation``
        ``"softmax"``/``"sigmoid"``) or probabilities (``activation=None``).
      targets: integer class indices ``[batch, *spatial]`` or floating one-hot /
        probability maps with the shape of ``predictions``.
      activation: ``"softmax"`` over the class axis (MONAI ``softmax=True``; needs
        at least two classes), ``"sigmoid"`` per channel (MONAI ``sigmoid=True``) or
        ``None``.
      include_background: if ``False`` class 0 is dropped after the activation.
      squared: squares predictions and targets in the sums ``P`` and ``T``.
      smooth_numerator: :math:`s_n`; float or traced array.
      smooth_denominator: :math:`s_d`; float or traced array.
      batch: sum over the batch before the ratio.
      soft_label: MONAI's ``soft_label``: the overlap is :math:`\sum \min(p, t) =
        \sum (p + t - |p - t|) / 2`, exact for soft targets (with one-hot targets and
        probabilities it equals :math:`\sum p t`; ``squared`` sums are unchanged, as MONAI).
      axis: the class axis: ``-1`` channel-last (default), ``1`` channels-first
        (MONAI's layout); see :func:`dice_loss`.
      log_loss: smp's ``log_loss``: :math:`-\log \max(J, m)` per class instead of :math:`1 - J`
        (:math:`J` the Jaccard index, :math:`m` = ``min_denominator``, floored at the smallest
        normal float).
      absent_classes: ``"keep"`` (MONAI, default) or ``"zero"`` (smp): a class with :math:`T = 0`
        gets loss 0 (zero gradient) and stays in the mean.
      classes: smp's ``classes``: static class indices (of the input's class axis) to keep,
        in that order; see :func:`dice_loss`.
      min_denominator: :math:`m`, smp's ``eps``: the index is :math:`(2 I + s_n) / \max(2 (P + T - I)
        + s_d, 2 m)`; float or traced array, ``>= 0``.
      per_class: ``False`` pools every (kept) class into one score; ``"none"``
        then has no class axis.
      class_weights: scalar or per-class factors (one per kept class) multiplying the
        per-class loss.
      ignore_index: pixels whose target is ``ignore_index`` are excluded.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch, classes]`` (``[classes]`` with
      ``batch=True``) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[[0.5], [1.0], [0.0]]])  # probabilities, one channel
      >>> jaxloss.jaccard_loss(p, jnp.array([[1, 1, 0]]), activation=None,
      ...                      smooth_numerator=0.0, smooth_denominator=0.0)
      Array(0.25, dtype=float32)

    References:
      Wang et al., `Jaccard Metric Losses <https://arxiv.org/abs/2302.05666>`_,
      2023; MONAI ``monai.losses.DiceLoss(jaccard=True)``.
    """
    sums = sums_d1(
        predictions,
        targets,
        activation=activation,
        include_background=include_background,
        ignore_index=ignore_index,
        squared=squared,
        batch=batch,
        axis=axis,
        soft_label=soft_label,
        classes=classes,
        per_class=per_class,
        class_weights=class_weights,
        absent_classes=absent_classes,
        min_denominator=min_denominator,
    )
    sn = param(smooth_numerator, sums.inter.dtype)
    sd = param(smooth_denominator, sums.inter.dtype)
    union = sums.pred + sums.true - sums.inter
    score = floored(2 * sums.inter + sn, 2 * union + sd, min_denominator, 2.0)
    return complete(
        error(score, log_loss, min_denominator),
        sums,
        absent_classes=absent_classes,
        per_class=per_class,
        class_weights=class_weights,
        weights=weights,
        where=where,
        reduction=reduction,
    )


def _tversky_index(
    sums: Sums,
    alpha: ArrayLike,
    beta: ArrayLike,
    sn: ArrayLike,
    sd: ArrayLike,
    min_denominator: float | ArrayLike,
) -> jax.Array:
    dtype = sums.inter.dtype
    a, b = param(alpha, dtype), param(beta, dtype)
    fp, fn = sums.pred - sums.inter, sums.true - sums.inter
    sn, sd = param(sn, dtype), param(sd, dtype)
    return floored(sums.inter + sn, sums.inter + a * fp + b * fn + sd, min_denominator, 1.0)


@register(_FAMILY, reference="monai.losses.TverskyLoss", aliases=("tversky",))
def tversky_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    activation: Activation = "softmax",
    include_background: bool = True,
    alpha: float | ArrayLike = 0.5,
    beta: float | ArrayLike = 0.5,
    smooth_numerator: float | ArrayLike = 1e-5,
    smooth_denominator: float | ArrayLike = 1e-5,
    batch: bool = False,
    soft_label: bool = False,
    axis: int = -1,
    log_loss: bool = False,
    absent_classes: AbsentClasses = "keep",
    classes: Sequence[int] | None = None,
    min_denominator: float | ArrayLike = 0.0,
    per_class: bool = True,
    class_weights: ArrayLike | None = None,
    ignore_index: int | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Tversky loss (MONAI ``TverskyLoss`` semantics); ``alpha = beta = 0.5`` is Dice.

    .. math::
       \ell_{bc} = 1 - \frac{TP + s_n}{TP + \alpha FP + \beta FN + s_d}, \quad
       TP = \sum_i p t, \; FP = \sum_i p (1 - t), \; FN = \sum_i (1 - p) t

    Options, shapes, masks and the gradient are as in :func:`dice_loss`.
    segmentation-models-pytorch 0.6 ``TverskyLoss(mode, classes, log_loss, from_logits, smooth,
    ignore_index, eps, alpha, beta)`` is ``batch=True, absent_classes="zero", soft_label=True,
    smooth_numerator=smooth_denominator=smooth, min_denominator=eps`` (activations as in
    :func:`dice_loss`). Differences from smp: its ``gamma`` raises the *class mean* to
    ``gamma`` (compose ``tversky_loss(...) ** gamma``; :func:`focal_tversky_loss` raises each
    class), and ``ignore_index`` masks whole pixels. Keras ``Tversky(alpha, beta)`` names the
    false negatives ``alpha``: it is ``alpha=beta_keras, beta=alpha_keras, activation=None,
    per_class=False, batch=True, smooth_numerator=0, smooth_denominator=1e-7``.

    Args:
      predictions: ``[batch, *spatial, classes]`` floating logits (``activation``
        ``"softmax"``/``"sigmoid"``) or probabilities (``activation=None``).
      targets: integer class indices ``[batch, *spatial]`` or floating one-hot /
        probability maps with the shape of ``predictions``.
      activation: ``"softmax"`` over the class axis (MONAI ``softmax=True``; needs
        at least two classes), ``"sigmoid"`` per channel (MONAI ``sigmoid=True``) or
        ``None``.
      include_background: if ``False`` class 0 is dropped after the activation.
      alpha: weight of false positives; float or traced array.
      beta: weight of false negatives; float or traced array.
      smooth_numerator: :math:`s_n`; float or traced array.
      smooth_denominator: :math:`s_d`; float or traced array.
      batch: sum over the batch before the ratio.
      soft_label: MONAI's ``soft_label``: the overlap is :math:`\sum \min(p, t) =
        \sum (p + t - |p - t|) / 2`, exact for soft targets (with one-hot targets and
        probabilities it equals :math:`\sum p t`; ``squared`` sums are unchanged, as MONAI).
      axis: the class axis: ``-1`` channel-last (default), ``1`` channels-first
        (MONAI's layout); see :func:`dice_loss`.
      log_loss: smp's ``log_loss``: :math:`-\log \max(TI, m)` per class instead of
        :math:`1 - TI` (:math:`m` = ``min_denominator``, floored at the smallest normal float).
      absent_classes: ``"keep"`` (MONAI, default) or ``"zero"`` (smp): a class with :math:`T = 0`
        gets loss 0 (zero gradient) and stays in the mean.
      classes: smp's ``classes``: static class indices (of the input's class axis) to keep,
        in that order; see :func:`dice_loss`.
      min_denominator: :math:`m`, smp's ``eps``: the index is :math:`(TP + s_n) / \max(TP + \alpha FP
        + \beta FN + s_d, m)`; float or traced array, ``>= 0``.
      per_class: ``False`` pools every (kept) class into one score (Keras ``Tversky``); ``"none"``
        then has no class axis.
      class_weights: scalar or per-class factors (one per kept class) multiplying the
        per-class loss.
      ignore_index: pixels whose target is ``ignore_index`` are excluded.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch, classes]`` (``[classes]`` with
      ``batch=True``) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[[0.5], [1.0], [0.0]]])
      >>> jaxloss.tversky_loss(p, jnp.array([[1, 1, 0]]), activation=None, alpha=0.3,
      ...                      beta=0.7, smooth_numerator=0.0, smooth_denominator=0.0)
      Array(0.1892, dtype=float32)

    References:
      Salehi et al., `Tversky loss function for image segmentation
      <https://arxiv.org/abs/1706.05721>`_, 2017; MONAI ``monai.losses.TverskyLoss``.
    """
    contracts.bounded(alpha, "alpha", ge=0)
    contracts.bounded(beta, "beta", ge=0)
    sums = sums_d1(
        predictions,
        targets,
        activation=activation,
        include_background=include_background,
        ignore_index=ignore_index,
        squared=False,
        batch=batch,
        axis=axis,
        soft_label=soft_label,
        classes=classes,
        per_class=per_class,
        class_weights=class_weights,
        absent_classes=absent_classes,
        min_denominator=min_denominator,
    )
    ti = _tversky_index(sums, alpha, beta, smooth_numerator, smooth_denominator, min_denominator)
    return complete(
        error(ti, log_loss, min_denominator),
        sums,
        absent_classes=absent_classes,
        per_class=per_class,
        class_weights=class_weights,
        weights=weights,
        where=where,
        reduction=reduction,
    )


@jax.custom_jvp
def _focal_power(u: jax.Array, gamma: jax.Array) -> jax.Array:
    """``max(u, 0) ** gamma`` (``0 ** 0 = 1``); NaN stays NaN."""
    pos = ~(u <= 0)
    return jnp.where(
        pos, jnp.where(pos, u, 1) ** gamma, jnp.where(gamma == 0, 1.0, 0.0).astype(u.dtype)
    )


@_focal_power.defjvp
def _focal_power_jvp(
    primals: tuple[jax.Array, jax.Array], tangents: tuple[jax.Array, jax.Array]
) -> tuple[jax.Array, jax.Array]:
    u, gamma = primals
    du, dgamma = tangents
    out = _focal_power(u, gamma)
    pos = ~(u <= 0)
    safe = jnp.where(pos, u, 1)
    one, zero = jnp.ones((), u.dtype), jnp.zeros((), u.dtype)
    # At u = 0 (Tversky index 1) the slope gamma u^(gamma-1) diverges for gamma < 1: the loss is
    # at its minimum there, so the derivative is taken as 0 (1 for gamma = 1, where it is exact).
    d_u = jnp.where(pos, gamma * safe ** (gamma - 1), jnp.where(gamma == 1, one, zero))
    d_gamma = jnp.where(pos, out * jnp.log(safe), zero)
    return out, d_u * du + d_gamma * dgamma


@register(_FAMILY, reference="Abraham & Khan 2019 focal Tversky loss", aliases=("focal_tversky",))
def focal_tversky_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    activation: Activation = "softmax",
    include_background: bool = True,
    alpha: float | ArrayLike = 0.5,
    beta: float | ArrayLike = 0.5,
    gamma: float | ArrayLike = 0.75,
    smooth_numerator: float | ArrayLike = 1e-5,
    smooth_denominator: float | ArrayLike = 1e-5,
    batch: bool = False,
    soft_label: bool = False,
    axis: int = -1,
    log_loss: bool = False,
    absent_classes: AbsentClasses = "keep",
    classes: Sequence[int] | None = None,
    min_denominator: float | ArrayLike = 0.0,
    per_class: bool = True,
    class_weights: ArrayLike | None = None,
    ignore_index: int | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Focal Tversky loss: the per-class Tversky loss raised to ``gamma``.

    .. math:: \ell_{bc} = (1 - TI_{bc})^{\gamma}

    with :math:`TI` the Tversky index of :func:`tversky_loss` (``alpha`` weighs
    false positives, ``beta`` false negatives, as MONAI; the paper's setting
    "alpha = 0.7 on false negatives" is ``alpha=0.3, beta=0.7``). ``gamma`` is the
    exponent itself (the paper's :math:`1/\gamma`, default ``0.75`` = ``1/(4/3)``).
    The gradient is finite at :math:`TI = 1` for :math:`\gamma < 1`: the loss
    is at its minimum there and its derivative is taken as 0.

    Args:
      predictions: ``[batch, *spatial, classes]`` floating logits (``activation``
        ``"softmax"``/``"sigmoid"``) or probabilities (``activation=None``).
      targets: integer class indices ``[batch, *spatial]`` or floating one-hot /
        probability maps with the shape of ``predictions``.
      activation: ``"softmax"`` over the class axis (MONAI ``softmax=True``; needs
        at least two classes), ``"sigmoid"`` per channel (MONAI ``sigmoid=True``) or
        ``None``.
      include_background: if ``False`` class 0 is dropped after the activation.
      alpha: weight of false positives; float or traced array.
      beta: weight of false negatives; float or traced array.
      gamma: focal exponent (``> 0``); float or traced array.
      smooth_numerator: :math:`s_n`; float or traced array.
      smooth_denominator: :math:`s_d`; float or traced array.
      batch: sum over the batch before the ratio.
      soft_label: MONAI's ``soft_label``: the overlap is :math:`\sum \min(p, t) =
        \sum (p + t - |p - t|) / 2`, exact for soft targets (with one-hot targets and
        probabilities it equals :math:`\sum p t`; ``squared`` sums are unchanged, as MONAI).
      axis: the class axis: ``-1`` channel-last (default), ``1`` channels-first
        (MONAI's layout); see :func:`dice_loss`.
      log_loss: the base is :math:`-\log \max(TI, m)` instead of :math:`1 - TI`
        (:math:`m` = ``min_denominator``, floored at the smallest normal float), then raised to
        ``gamma``.
      absent_classes: ``"keep"`` (MONAI, default) or ``"zero"`` (smp): a class with :math:`T = 0`
        gets loss 0 (zero gradient) and stays in the mean.
      classes: smp's ``classes``: static class indices (of the input's class axis) to keep,
        in that order; see :func:`dice_loss`.
      min_denominator: :math:`m`: the index is :math:`(TP + s_n) / \max(TP + \alpha FP + \beta FN
        + s_d, m)`; float or traced array, ``>= 0``.
      per_class: ``False`` pools every (kept) class into one score; ``"none"``
        then has no class axis.
      class_weights: scalar or per-class factors (one per kept class) multiplying the
        per-class loss.
      ignore_index: pixels whose target is ``ignore_index`` are excluded.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch, classes]`` (``[classes]`` with
      ``batch=True``) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[[0.5], [1.0], [0.0]]])  # alpha = beta = 1: Jaccard index 0.75
      >>> jaxloss.focal_tversky_loss(p, jnp.array([[1, 1, 0]]), activation=None, alpha=1.0,
      ...                            beta=1.0, gamma=0.5, smooth_numerator=0.0,
      ...                            smooth_denominator=0.0)
      Array(0.5, dtype=float32)

    References:
      Abraham & Khan, `A Novel Focal Tversky Loss Function
      <https://arxiv.org/abs/1810.07842>`_, 2019.
    """
    contracts.bounded(alpha, "alpha", ge=0)
    contracts.bounded(beta, "beta", ge=0)
    contracts.bounded(gamma, "gamma", gt=0)
    sums = sums_d1(
        predictions,
        targets,
        activation=activation,
        include_background=include_background,
        ignore_index=ignore_index,
        squared=False,
        batch=batch,
        axis=axis,
        soft_label=soft_label,
        classes=classes,
        per_class=per_class,
        class_weights=class_weights,
        absent_classes=absent_classes,
        min_denominator=min_denominator,
    )
    ti = _tversky_index(sums, alpha, beta, smooth_numerator, smooth_denominator, min_denominator)
    u = error(ti, log_loss, min_denominator)  # _focal_power treats u <= 0 (TI >= 1) as 0
    loss = _focal_power(u, param(gamma, u.dtype))
    return complete(
        loss,
        sums,
        absent_classes=absent_classes,
        per_class=per_class,
        class_weights=class_weights,
        weights=weights,
        where=where,
        reduction=reduction,
    )


@register(_FAMILY, reference="monai.losses.GeneralizedDiceLoss", aliases=("generalized_dice",))
def generalized_dice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    activation: Activation = "softmax",
    include_background: bool = True,
    weight_type: Literal["square", "simple", "uniform"] = "square",
    smooth_numerator: float | ArrayLike = 1e-5,
    smooth_denominator: float | ArrayLike = 1e-5,
    batch: bool = False,
    soft_label: bool = False,
    axis: int = -1,
    ignore_index: int | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Generalised Dice loss (Sudre et al.), MONAI ``GeneralizedDiceLoss`` semantics.

    .. math::
       \ell_b = 1 - \frac{2 \sum_c w_{bc} I_{bc} + s_n}{\sum_c w_{bc} (P_{bc} + T_{bc}) + s_d},
       \qquad w_{bc} = 1 / T_{bc}^2

    (``weight_type="simple"``: :math:`1/T`; ``"uniform"``: 1). A class absent
    from the targets (:math:`T = 0`, infinite weight) gets the largest finite
    weight of its batch item instead (of the whole batch when ``batch=True``),
    as MONAI does. The weights carry gradients w.r.t. soft targets, as in MONAI.

    Args:
      predictions: ``[batch, *spatial, classes]`` floating logits (``activation``
        ``"softmax"``/``"sigmoid"``) or probabilities (``activation=None``).
      targets: integer class indices ``[batch, *spatial]`` or floating one-hot /
        probability maps with the shape of ``predictions``.
      activation: ``"softmax"`` over the class axis (MONAI ``softmax=True``; needs
        at least two classes), ``"sigmoid"`` per channel (MONAI ``sigmoid=True``) or
        ``None``.
      include_background: if ``False`` class 0 is dropped after the activation.
      weight_type: ``"square"`` (default), ``"simple"`` or ``"uniform"`` (MONAI ``w_type``).
      smooth_numerator: :math:`s_n`; float or traced array.
      smooth_denominator: :math:`s_d`; float or traced array.
      batch: sum over the batch before the ratio (one loss for the batch).
      soft_label: MONAI's ``soft_label``: the overlap is :math:`\sum \min(p, t) =
        \sum (p + t - |p - t|) / 2`, exact for soft targets (with one-hot targets and
        probabilities it equals :math:`\sum p t`; ``squared`` sums are unchanged, as MONAI).
      axis: the class axis: ``-1`` channel-last (default), ``1`` channels-first
        (MONAI's layout); see :func:`dice_loss`.
      ignore_index: pixels whose target is ``ignore_index`` are excluded from every
        sum (an extension: MONAI's ``GeneralizedDiceLoss`` has no ``ignore_index``).
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; for ``"none"`` the per-item loss
      ``[batch]`` (a scalar with ``batch=True``).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]])  # [1, 3 pixels, 2 classes]
      >>> jaxloss.generalized_dice_loss(p, jnp.array([[0, 1, 0]]), activation=None,
      ...                               smooth_numerator=0.0, smooth_denominator=0.0)
      Array(0.2713, dtype=float32)

    References:
      Sudre et al., `Generalised Dice overlap as a deep learning loss function for
      highly unbalanced segmentations <https://arxiv.org/abs/1707.03237>`_, 2017;
      MONAI ``monai.losses.GeneralizedDiceLoss``.
    """
    contracts.choice(weight_type, ("square", "simple", "uniform"), "weight_type")
    sums = overlap_sums(
        predictions,
        targets,
        activation=activation,
        include_background=include_background,
        ignore_index=ignore_index,
        squared=False,
        batch=batch,
        axis=axis,
        soft_label=soft_label,
    )
    true = sums.true
    if weight_type == "uniform":
        w = jnp.ones_like(true)
    else:
        volume = jnp.square(true) if weight_type == "square" else true
        infinite = jnp.isinf(1 / volume)
        # Double where: 1 / 0 must not reach the gradient; MONAI puts the max finite weight there.
        w = jnp.where(infinite, 0, 1 / jnp.where(infinite, 1, volume))
        w = w + infinite.astype(w.dtype) * jnp.max(w, axis=-1, keepdims=True)
    sn = param(smooth_numerator, true.dtype)
    sd = param(smooth_denominator, true.dtype)
    numerator = 2 * jnp.sum(w * sums.inter, axis=-1) + sn
    denominator = jnp.sum(w * (sums.pred + true), axis=-1) + sd
    loss = 1 - ratio(numerator, denominator)
    bad = None if sums.bad is None or batch else sums.bad[:, 0]
    return finish(loss, sums._replace(bad=bad), weights, where, reduction)
