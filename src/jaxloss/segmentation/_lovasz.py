"""The Lovász losses (Berman et al. 2018): Lovász-Softmax and the binary Lovász hinge.

Fixed shapes throughout: ignored pixels are sorted last with zero error and
absent classes are masked, so both losses jit.
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
from jax import lax

from .._src import contracts
from .._src.labels import poison
from .._src.numerics import abs0
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._inputs import Activation, activate, binary_maps, class_maps, grouped

__all__ = ["lovasz_hinge_loss", "lovasz_softmax_loss"]

_FAMILY = "segmentation"


def _lovasz_extension(errors: jax.Array, fg: jax.Array, valid: jax.Array) -> jax.Array:
    """Berman's Lovász extension of the Jaccard loss along axis 1.

    ``errors``, ``fg``: ``[G, N, C]``; ``valid``: ``[G, N, 1]``. Invalid pixels are
    sorted last with zero error and zero target, so the fixed-shape result equals
    the reference computed on the valid pixels only. Returns ``[G, C]``.
    """
    e = jnp.where(valid, errors, 0)
    g = lax.stop_gradient(jnp.where(valid, fg, 0))
    key = lax.stop_gradient(jnp.where(valid, -errors, jnp.inf))  # descending errors, invalid last
    _, e_sorted, g_sorted = lax.sort((key, e, g), dimension=1, num_keys=1)
    total = jnp.sum(g_sorted, axis=1, keepdims=True)
    intersection = total - jnp.cumsum(g_sorted, axis=1)
    # union >= 1 - g_(0) + total > 0: no division by zero.
    union = total + jnp.cumsum(1 - g_sorted, axis=1)
    jaccard = 1 - intersection / union
    weights = jnp.concatenate([jaccard[:, :1], jaccard[:, 1:] - jaccard[:, :-1]], axis=1)
    return jnp.sum(e_sorted * weights, axis=1)


@register(_FAMILY, reference="segmentation_models_pytorch LovaszLoss (multiclass); Berman et al. 2018",
          aliases=("lovasz_softmax",))
def lovasz_softmax_loss(
    predictions: ArrayLike, targets: ArrayLike, *, activation: Activation = "softmax",
    classes: Literal["present", "all"] = "present", per_image: bool = False,
    ignore_index: int | None = None, axis: int = -1,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Lovász-Softmax loss: the Lovász extension of the per-class Jaccard loss.

    .. math::
       \ell_c = \sum_{k} e_{(k)c} \, \Delta J_c(k), \qquad e_{ic} = |t_{ic} - p_{ic}|

    with the errors sorted in decreasing order and :math:`\Delta J_c` Berman's
    ``lovasz_grad`` of the sorted ground truth. Classes absent from the targets
    are skipped (``classes="present"``) with masks, so shapes are fixed and the
    loss jits; ignored pixels are sorted last with zero error.

    Args:
      predictions: ``[batch, *spatial, classes]`` floating logits (``activation``
        ``"softmax"``/``"sigmoid"``) or probabilities (``activation=None``); the class
        axis is ``axis``.
      targets: integer class indices ``[batch, *spatial]`` (or ``[batch, 1, *spatial]``
        with ``axis=1``) or floating one-hot / probability maps with the shape of
        ``predictions``.
      activation: ``"softmax"`` over the class axis (MONAI ``softmax=True``; needs
        at least two classes), ``"sigmoid"`` per channel (MONAI ``sigmoid=True``) or
        ``None``.
      classes: ``"present"`` (default: average over the classes present in the
        targets) or ``"all"``.
      per_image: ``False`` (default, as segmentation_models_pytorch's
        ``LovaszLoss``): one loss per class over the whole batch; ``True``: the
        loss of each image (mean over its classes), then the mean over images.
      ignore_index: pixels whose target is ``ignore_index`` are excluded.
      axis: the class axis: ``-1`` channel-last (default), ``1`` channels-first
        (segmentation_models_pytorch's and MONAI's layout).
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``. ``"none"``: ``[classes]`` per-class losses
      (``per_image=False``; absent classes are 0 and excluded from the mean) or
      ``[batch]`` per-image losses (``per_image=True``; images without valid
      pixels are 0 and excluded from the mean).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]])  # probabilities
      >>> jaxloss.lovasz_softmax_loss(p, jnp.array([[0, 1, 0]]), activation=None)
      Array(0.2833, dtype=float32)

    References:
      Berman et al., `The Lovász-Softmax loss <https://arxiv.org/abs/1705.08790>`_,
      CVPR 2018; segmentation_models_pytorch ``LovaszLoss(mode="multiclass")``.
    """
    contracts.choice(classes, ("present", "all"), "classes")
    prep = class_maps(predictions, targets, activation, ignore_index, axis=axis)
    t = prep.t
    assert t is not None  # one_hot=True: integer targets come back as one-hot maps
    p = activate(prep.x, activation)
    n_classes = p.shape[-1]
    groups = p.shape[0] if per_image else 1
    valid = jnp.ones((*p.shape[:-1], 1), bool) if prep.m is None else prep.m > 0
    errors = grouped(abs0(t - p), groups, n_classes)
    fg = grouped(t, groups, n_classes)
    valid = grouped(valid, groups, 1)
    losses = _lovasz_extension(errors, fg, valid)  # [G, C]
    counted = jnp.any(valid, axis=1)  # [G, 1]
    if classes == "present":
        counted = counted & (jnp.sum(jnp.where(valid, fg, 0), axis=1) > 0)
    else:
        counted = jnp.broadcast_to(counted, losses.shape)
    bad = prep.bad
    if per_image:
        k = jnp.sum(counted, axis=-1).astype(losses.dtype)
        loss = jnp.sum(jnp.where(counted, losses, 0), axis=-1) / jnp.maximum(k, 1)
        ok = k > 0
    else:
        loss, ok = losses[0], counted[0]
        bad = None if bad is None else jnp.any(bad)
    loss = poison(loss, bad)
    return reduce(loss, reduction, weights=weights, where=where, valid=ok)


@register(_FAMILY, reference="segmentation_models_pytorch LovaszLoss (binary); Berman et al. 2018",
          aliases=("lovasz_hinge",))
def lovasz_hinge_loss(
    logits: ArrayLike, targets: ArrayLike, *, per_image: bool = False, ignore_index: int | None = None,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Binary Lovász hinge loss: the Lovász extension of the Jaccard loss on hinge errors.

    .. math::
       \ell = \sum_k \max(e_{(k)}, 0) \, \Delta J(k), \qquad e_i = 1 - x_i (2 t_i - 1)

    with the errors sorted in decreasing order and :math:`\Delta J` Berman's
    ``lovasz_grad`` of the sorted ground truth. Fixed shapes: ignored pixels are
    sorted last with zero error, so it jits.

    Args:
      logits: ``[batch, *spatial]`` floating logits.
      targets: binary targets (integer or floating 0/1) with the shape of ``logits``.
      per_image: ``False`` (default, as segmentation_models_pytorch's
        ``LovaszLoss``): one loss over the whole batch; ``True``: one loss per image,
        then the mean over images.
      ignore_index: pixels whose target equals ``ignore_index`` are excluded.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``. ``"none"``: ``[batch]`` per-image losses
      (``per_image=True``; images without valid pixels are 0 and excluded from the
      mean, where segmentation_models_pytorch counts them as 0) or a scalar
      (``per_image=False``).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.lovasz_hinge_loss(jnp.array([[2.0, -0.5, 0.5]]), jnp.array([[1, 0, 0]]))
      Array(0.8333, dtype=float32)

    References:
      Berman et al., `The Lovász-Softmax loss <https://arxiv.org/abs/1705.08790>`_,
      CVPR 2018; segmentation_models_pytorch ``LovaszLoss(mode="binary")``.
    """
    x, t, valid, bad = binary_maps(logits, targets, ignore_index)
    groups = x.shape[0] if per_image else 1
    valid = jnp.ones(x.shape, bool) if valid is None else valid
    errors = grouped(jax.nn.relu(1 - x * (2 * t - 1)), groups, 1)
    valid = grouped(valid, groups, 1)
    loss = _lovasz_extension(errors, grouped(t, groups, 1), valid)[:, 0]
    ok = jnp.any(valid, axis=(1, 2))
    if not per_image:
        loss, ok = loss[0], ok[0]
        bad = None if bad is None else jnp.any(bad)
    loss = poison(loss, bad)
    return reduce(loss, reduction, weights=weights, where=where, valid=ok)
