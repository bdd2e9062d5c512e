"""Matthews correlation coefficient loss (MONAI ``MCCLoss``) from the Dice family's overlap sums."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.numerics import param
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._inputs import Activation
from ._overlap_sums import finish, overlap_sums

__all__ = ["mcc_loss"]

_FAMILY = "segmentation"


@register(_FAMILY, reference="monai.losses.MCCLoss", aliases=("matthews_correlation_loss",))
def mcc_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    activation: Activation = None,
    include_background: bool = True,
    batch: bool = False,
    smooth_numerator: float | ArrayLike = 0.0,
    smooth_denominator: float | ArrayLike = 1e-5,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Soft Matthews correlation coefficient loss (MONAI ``MCCLoss`` semantics).

    .. math::
       \ell_{bc} = 1 - \frac{TP \cdot TN - FP \cdot FN + s_n}
       {\sqrt{(TP + FP)(TP + FN)(TN + FP)(TN + FN) + s_d}}

    with the soft confusion sums over the spatial positions (and the batch with
    ``batch=True``): :math:`TP = \sum p t`, :math:`FP = \sum p (1 - t)`,
    :math:`FN = \sum (1 - p) t`, :math:`TN = \sum (1 - p)(1 - t)`. A perfect prediction
    (:math:`FP = FN = 0`) gives 0 with a zero gradient, as MONAI (where the product
    under the root vanishes and the ratio would be near 0). The sums come from the
    Dice family's ``custom_vjp`` core (:math:`TN = N - P - T + TP`).

    Args:
      predictions: ``[batch, *spatial, classes]`` probabilities (``activation=None``,
        the default, as MONAI) or logits (``"sigmoid"``/``"softmax"``).
      targets: integer class indices ``[batch, *spatial]`` (a binary mask with one
        channel) or floating one-hot / probability maps with the shape of ``predictions``.
      activation: ``None`` (default), ``"sigmoid"`` per channel or ``"softmax"`` over the
        class axis (MONAI ``sigmoid=True`` / ``softmax=True``).
      include_background: if ``False`` class 0 is dropped after the activation.
      batch: sum over the batch too (one score per class).
      smooth_numerator: :math:`s_n` (MONAI ``smooth_nr``, default 0); float or traced.
      smooth_denominator: :math:`s_d > 0` (MONAI ``smooth_dr``, default 1e-5) inside the
        square root, which keeps it and its gradient finite; float or traced.
      axis: the class axis: ``-1`` channel-last (default), ``1`` channels-first (MONAI's
        layout).
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output.
      reduction: ``"mean"`` (default, over batch and classes), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; for ``"none"`` ``[batch, classes]``
      (``[classes]`` with ``batch=True``), MONAI's ``[B, C]`` channel-last.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[[0.9], [0.2], [0.8], [0.1]]])  # [1 batch, 4 pixels, 1 channel]
      >>> jaxloss.mcc_loss(p, jnp.array([[1, 0, 1, 0]]))
      Array(0.3, dtype=float32)

    References:
      Abhishek & Hamarneh, `Matthews Correlation Coefficient Loss for Deep
      Convolutional Networks <https://arxiv.org/abs/2010.13454>`_, 2021; MONAI
      ``monai.losses.MCCLoss`` (``to_onehot_y=True`` for integer targets). smp
      ``MCCLoss(eps)`` (one channel of probabilities, the batch summed) adds ``eps`` to
      each of TP, TN, FP and FN; ``batch=True`` here agrees with it to :math:`O(\epsilon)`.
      Deliberate differences: none in the value.
    """
    contracts.bounded(smooth_denominator, "smooth_denominator", gt=0)
    sums = overlap_sums(
        predictions,
        targets,
        activation=activation,
        include_background=include_background,
        ignore_index=None,
        squared=False,
        batch=batch,
        axis=axis,
    )
    dtype = sums.inter.dtype
    shape = jnp.shape(predictions)
    count = 1
    for i, n in enumerate(shape):
        if i not in (0, axis % len(shape)):
            count *= n
    if batch:
        count *= shape[0]
    tp = sums.inter
    fp, fn = sums.pred - tp, sums.true - tp
    tn = count - sums.pred - sums.true + tp
    sn, sd = param(smooth_numerator, dtype), param(smooth_denominator, dtype)
    numerator = tp * tn - fp * fn + sn
    mcc = numerator / jnp.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn) + sd)
    perfect = (fp == 0) & (fn == 0)
    loss = jnp.where(perfect, jnp.zeros((), dtype), 1 - mcc)
    return finish(loss, sums, weights, where, reduction)
