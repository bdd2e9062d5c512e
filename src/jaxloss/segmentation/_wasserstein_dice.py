"""Class-weighted Dice variants: the generalised Wasserstein Dice loss (Fidon et al. 2017, MONAI) and
optax's multiclass generalised Dice loss (a formula of the overlap sums of :mod:`._overlap_sums`),
channel-last.
"""

from __future__ import annotations

import functools
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.labels import poison
from .._src.numerics import is_traced, param
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._inputs import Activation, class_maps, class_slices, grouped, pick, softmax_slices
from ._overlap_sums import finish, overlap_sums, ratio

__all__ = [
    "generalized_wasserstein_dice_loss",
    "multiclass_generalized_dice_loss",
]

_FAMILY = "segmentation"


def _distance_matrix(dist_matrix: ArrayLike, classes: int, dtype: jnp.dtype) -> jax.Array:
    """``M / max(M)`` after the shape and (when concrete) value checks."""
    name = function_name()
    contracts.floating(dist_matrix=dist_matrix)
    shape = tuple(np.shape(dist_matrix))
    if shape != (classes, classes):
        raise ValueError(
            f"{name}: dist_matrix has shape {shape} but predictions has {classes} classes; "
            f"dist_matrix must be ({classes}, {classes})"
        )
    if not is_traced(dist_matrix):
        m = np.asarray(dist_matrix, dtype=np.float64)
        if not np.all(np.isfinite(m)) or np.any(m < 0) or not np.any(m > 0):
            raise ValueError(f"{name}: dist_matrix must be finite, >= 0 and not all zero")
    m = jnp.asarray(dist_matrix).astype(dtype)
    scale = jnp.max(m)
    # MONAI divides only when the maximum is not 1 (so no gradient flows through it at 1)
    return jnp.where(scale == 1, m, m / scale)


@register(_FAMILY, reference="monai.losses.GeneralizedWassersteinDiceLoss", aliases=("gwdl",))
def generalized_wasserstein_dice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    dist_matrix: ArrayLike,
    *,
    weighting_mode: Literal["default", "GDL"] = "default",
    smooth_numerator: float | ArrayLike = 1e-5,
    smooth_denominator: float | ArrayLike = 1e-5,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Generalised Wasserstein Dice loss (MONAI ``GeneralizedWassersteinDiceLoss`` semantics).

    With :math:`p = \mathrm{softmax}(x)` over the classes, integer targets :math:`y` and the
    class-distance matrix :math:`M` divided by its maximum, each pixel's Wasserstein error is
    :math:`w_i = \sum_c M_{y_i c}\, p_{ic}` (0 for a confident, correct prediction), and per
    image

    .. math::
       TP = \sum_i \alpha_{y_i} (1 - w_i), \qquad
       \ell_b = 1 - \frac{2\, TP + s_n}{D + s_d}

    with ``weighting_mode="default"`` (Fidon et al.): :math:`\alpha_0 = 0` for the background
    (class 0) and 1 for every other class, :math:`D = 2\, TP + \sum_i w_i`; and
    ``weighting_mode="GDL"`` (Tilborghs et al. 2020, appendix): :math:`\alpha_{bc} = 1 / (V_{bc}
    + 1)` with :math:`V_{bc}` the pixel count of class :math:`c` in image :math:`b`, and
    :math:`D = \sum_i \alpha_{y_i} (2 - w_i)`. A zero denominator (zero smoothing) gives 0 with
    zero gradient. Plain autodiff: every step is smooth.

    Args:
      predictions: ``[batch, *spatial, classes]`` floating logits (the softmax is applied
        inside, as MONAI does; at least two classes).
      targets: integer class indices ``[batch, *spatial]`` (MONAI's ``[B, 1, *spatial]`` with
        ``axis=1``).
      dist_matrix: ``[classes, classes]`` non-negative distances between the classes (a data
        argument: it may be traced and differentiated); it is divided by its maximum unless
        that is 1, as MONAI (so at a maximum of 1 no gradient flows through the division).
      weighting_mode: ``"default"`` or ``"GDL"`` (MONAI's names).
      smooth_numerator: :math:`s_n` (MONAI ``smooth_nr``); float or traced array.
      smooth_denominator: :math:`s_d` (MONAI ``smooth_dr``); float or traced array.
      axis: the class axis of ``predictions``: ``-1`` channel-last (default), ``1``
        channels-first (MONAI's layout).
      weights: optional weights broadcastable to the ``"none"`` output ``[batch]``.
      where: optional boolean mask of the ``"none"`` output.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` for ``"none"`` (MONAI's ``"none"``).
      Out-of-range targets raise ``ValueError`` eagerly and give NaN for their batch item under
      ``jit``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> m = jnp.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5], [1.0, 0.5, 0.0]])
      >>> x = jnp.array([[[4.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 1.0, 2.0]]])  # [1, 3, 3]
      >>> jaxloss.generalized_wasserstein_dice_loss(x, jnp.array([[0, 1, 2]]), m)
      Array(0.0722, dtype=float32)

    References:
      Fidon et al., `Generalised Wasserstein Dice Score for Imbalanced Multi-class
      Segmentation using Holistic Convolutional Networks <https://arxiv.org/abs/1707.00478>`_,
      2017; MONAI ``monai.losses.GeneralizedWassersteinDiceLoss``. The paper's weights are
      :math:`\alpha_c = M_{0c}`; MONAI (and this function) take 0 for the background and 1
      otherwise, which is the same when every class is at the maximal distance from the
      background. MONAI has no ``axis``, ``weights`` or ``where``.
    """
    contracts.choice(weighting_mode, ("default", "GDL"), "weighting_mode")
    if not jnp.issubdtype(contracts._dtype(targets), jnp.integer):
        raise TypeError(
            f"{function_name()}: targets must be integer class indices, got {contracts._dtype(targets)}"
        )
    prep = class_maps(predictions, targets, "softmax", None, one_hot=False, axis=axis)
    assert prep.labels is not None
    batch, classes = prep.x.shape[0], prep.x.shape[-1]
    x = grouped(prep.x, batch, classes)  # [B, N, C]
    labels = prep.labels.reshape(x.shape[:-1])  # [B, N]
    m = _distance_matrix(dist_matrix, classes, x.dtype)
    xs = class_slices(x)
    if xs is not None:
        # Few classes: per-class slices and selects (no matmul over a short axis, no gather).
        ps = softmax_slices(xs)
        # w_i = sum_c M[y_i, c] p_ic: the row of M picked by the label
        rows = [
            functools.reduce(jnp.add, [m[k, c] * ps[c] for c in range(classes)])
            for k in range(classes)
        ]
        wass = pick(labels, rows)
    else:
        p = jax.nn.softmax(x, axis=-1)
        # w_i = sum_c M[y_i, c] p_ic = (p M^T)[i, y_i]
        wass = jnp.take_along_axis(p @ m.T, labels[..., None], axis=-1)[..., 0]
    if weighting_mode == "GDL":
        if xs is not None:
            inverse = [
                1 / (jnp.sum(labels == k, axis=1, keepdims=True).astype(x.dtype) + 1)
                for k in range(classes)
            ]
            alpha = pick(labels, inverse)
        else:
            volumes = jnp.sum(
                labels[..., None] == jnp.arange(classes, dtype=labels.dtype)[None, None], axis=1
            )
            alpha = jnp.take_along_axis(1 / (volumes.astype(x.dtype) + 1), labels, axis=1)
        true_pos = jnp.sum(alpha * (1 - wass), axis=1)
        denominator = jnp.sum(alpha * (2 - wass), axis=1)
    else:
        alpha = (labels != 0).astype(x.dtype)
        true_pos = jnp.sum(alpha * (1 - wass), axis=1)
        denominator = 2 * true_pos + jnp.sum(wass, axis=1)
    sn = param(smooth_numerator, x.dtype)
    sd = param(smooth_denominator, x.dtype)
    loss = 1 - ratio(2 * true_pos + sn, denominator + sd)
    return reduce(poison(loss, prep.bad), reduction, weights=weights, where=where)


@register(_FAMILY, reference="optax.losses.multiclass_generalized_dice_loss")
def multiclass_generalized_dice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    smooth: float | ArrayLike = 1.0,
    apply_softmax: bool = True,
    ignore_background: bool = False,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""optax's multiclass generalised Dice loss: per-class Dice with normalised ``1/freq**2`` weights.

    .. math::
       \ell_{bc} = \omega_c \Big(1 - \frac{I_{bc} + s}{(P_{bc} + T_{bc}) / 2 + s}\Big), \qquad
       \omega_c = C \frac{v_c}{\sum_k v_k}, \quad v_c = \frac{1}{F_c^2 + 10^{-7}}, \quad
       F_c = \sum_{b} T_{bc}

    with :math:`I, P, T` the per-(batch, class) overlap sums of :func:`dice_loss` and
    :math:`F_c` the class frequency over the whole batch (all :math:`C` classes enter the
    normalisation, also with ``ignore_background``). This is optax's function, not MONAI's
    :func:`generalized_dice_loss` (which weights inside one ratio per image). The frequencies
    carry gradients w.r.t. floating targets, as in optax.

    Args:
      predictions: ``[batch, *spatial, classes]`` floating logits (``apply_softmax=True``:
        softmax over the classes, sigmoid for one channel, as optax) or probabilities.
      targets: one-hot (or probability) maps with the shape of ``predictions``, or integer
        class indices ``[batch, *spatial]``.
      smooth: :math:`s`; float or traced array.
      apply_softmax: ``False`` takes probabilities; with two or more classes they must sum
        to 1 over the classes (optax's check, to ``1e-5``): otherwise ``ValueError`` eagerly
        and NaN for the batch item under ``jit``.
      ignore_background: drop class 0 from the output (after the weights are computed).
      axis: the class axis: ``-1`` channel-last (default), ``1`` channels-first.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output.
      reduction: ``"mean"`` (default; optax's value), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch, classes]`` (without class 0 when
      ``ignore_background``) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]])  # [1, 3 pixels, 2 classes]
      >>> jaxloss.multiclass_generalized_dice_loss(p, jnp.array([[0, 1, 0]]), apply_softmax=False)
      Array(0.1548, dtype=float32)

    References:
      Sudre et al., `Generalised Dice overlap as a deep learning loss function for highly
      unbalanced segmentations <https://arxiv.org/abs/1707.03237>`_, 2017; optax
      ``optax.losses.multiclass_generalized_dice_loss``. Differences from optax: integer
      targets, ``axis``, ``weights``/``where`` and ``reduction`` are extensions; the
      sum-to-one check is skipped for a single channel (optax would reject any binary
      probability map there) and it poisons instead of raising under ``jit``.
    """
    ax = contracts.axis_index(axis, np.ndim(predictions), "predictions")
    classes = int(np.shape(predictions)[ax])
    check = not apply_softmax and classes > 1
    if check and not is_traced(predictions):
        total = np.sum(np.asarray(predictions, np.float64), axis=ax)
        if np.any(np.abs(total - 1) > 1e-8 + 1e-5):
            raise ValueError(
                f"{contracts.function_name()}: with apply_softmax=False, predictions must be "
                "probabilities that sum to 1 over the class axis (pass logits with "
                "apply_softmax=True)"
            )
    activation: Activation = ("softmax" if classes > 1 else "sigmoid") if apply_softmax else None
    sums = overlap_sums(
        predictions,
        targets,
        activation=activation,
        include_background=True,
        ignore_index=None,
        squared=False,
        batch=False,
        axis=axis,
    )
    dtype = sums.inter.dtype
    s = param(smooth, dtype)
    frequency = jnp.sum(sums.true, axis=0)
    inverse = 1 / (jnp.square(frequency) + 1e-7)
    omega = inverse / jnp.sum(inverse) * classes
    loss = omega[None] * (1 - (sums.inter + s) / ((sums.pred + sums.true) / 2 + s))
    if ignore_background and classes > 1:
        loss = loss[..., 1:]
    bad = sums.bad
    if check and is_traced(predictions):  # under jit: NaN for the batch items off the simplex
        total = jnp.sum(jnp.asarray(predictions), axis=ax).astype(dtype)
        off = jnp.abs(total - 1) > 1e-8 + 1e-5
        off = jnp.any(off.reshape(off.shape[0], -1), axis=1)[:, None]
        bad = off if bad is None else bad | off
    return finish(loss, sums._replace(bad=bad), weights, where, reduction)
