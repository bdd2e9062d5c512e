"""Compound segmentation losses (MONAI): Dice + cross-entropy, Dice + focal, generalised Dice + focal.

Each is a weighted sum of two terms. ``"mean"`` reduces each term as the anchor
does (the Dice term over (batch, class), the pixel term over its pixels), so it
equals MONAI's; ``"none"`` is per example ``[batch]`` and ``"sum"`` its sum.
``return_aux=True`` also returns the two weighted terms (stop-gradient).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.labels import poison
from .._src.numerics import is_traced, param
from .._src.reduce import broadcast, check_reduction, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._inputs import (
    Activation,
    class_maps,
    class_slices,
    grouped,
    log_softmax_slices,
    max_and_logsumexp,
    pick,
)
from ._overlap import dice_loss, generalized_dice_loss, jaccard_loss
from ._seg_focal import FocalActivation, focal_terms

__all__ = ["dice_ce_loss", "dice_focal_loss", "generalized_dice_focal_loss"]

_FAMILY = "segmentation"


def _dice_term(
    predictions: ArrayLike, targets: ArrayLike, *, jaccard: bool, **options: Any
) -> jax.Array:
    """MONAI's ``DiceLoss`` (``jaccard=True``: soft IoU) unreduced: ``[B, C']`` (``[C']`` with ``batch``)."""
    fn = jaccard_loss if jaccard else dice_loss
    return fn(predictions, targets, reduction="none", **options)


def _per_example(
    loss: jax.Array, valid: jax.Array | None = None, normalizer: jax.Array | None = None
) -> jax.Array:
    """The ``"mean"`` of each batch item of ``loss`` ``[B, ...]`` (the shared reduction, per item)."""

    def one(item, v, n):
        return reduce(item, "mean", valid=v, normalizer=n)

    return jax.vmap(one)(loss, valid, normalizer)


def _as_rows(
    x: ArrayLike | None, batch: int, ndim: int, what: str, dtype: Any = None
) -> jax.Array | None:
    """Per-example ``weights``/``where`` (broadcastable to ``[B]``) as ``[B, 1, ...]`` of rank ``ndim``."""
    if x is None:
        return None
    return broadcast(x, (batch,), what, dtype).reshape((batch,) + (1,) * (ndim - 1))


def _combine(
    terms: dict[
        str, tuple[jax.Array, Callable[[], jax.Array], jax.Array | None, jax.Array | None, bool]
    ],
    lambdas: dict[str, jax.Array],
    n_examples: int,
    weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: Reduction,
    return_aux: bool,
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
    """``sum_k lambda_k term_k``; each term is ``(loss, per_example, valid, normalizer, itemised)``
    with ``per_example()`` giving the term's ``[B]`` values (only traced where needed).

    ``"none"``/``"sum"``: the per-example terms ``[B]`` with ``weights``/``where``; ``"mean"``:
    each term's own mean over its entries (MONAI's), ``weights``/``where`` broadcast per
    example (not to a term that is not ``itemised``: the Dice term with ``batch=True``).
    """
    check_reduction(reduction, own_rule=True)
    parts = {}
    for key, (loss, per_example, valid, normalizer, itemised) in terms.items():
        if reduction != "mean":
            parts[key] = lambdas[key] * reduce(
                per_example(), reduction, weights=weights, where=where
            )
            continue
        batch = n_examples
        if not itemised:
            w = m = None
        else:
            w = _as_rows(weights, batch, loss.ndim, "weights")
            m = _as_rows(where, batch, loss.ndim, "where", bool)
        parts[key] = lambdas[key] * reduce(
            loss, reduction, weights=w, where=m, valid=valid, normalizer=normalizer
        )
    total = sum(parts.values(), jnp.zeros((), next(iter(parts.values())).dtype))
    if return_aux:
        return total, jax.lax.stop_gradient(parts)
    return total


def _dice_per_example(dice: jax.Array, batch: int, batched: bool) -> jax.Array:
    """The Dice term per example: the mean over classes, or the batch Dice repeated."""
    return jnp.broadcast_to(jnp.mean(dice), (batch,)) if batched else jnp.mean(dice, axis=-1)


def _cross_entropy(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    class_weights: ArrayLike | Sequence[float] | None,
    label_smoothing: float | ArrayLike,
    ignore_index: int | None,
    axis: int,
) -> tuple[jax.Array, jax.Array | None, jax.Array | None]:
    """torch ``CrossEntropyLoss(weight, label_smoothing)`` per pixel ``[B, *S]`` over all channels
    (``BCEWithLogitsLoss(pos_weight)`` with one channel), its validity mask and mean normaliser."""
    prep = class_maps(predictions, targets, None, ignore_index, one_hot=False, axis=axis)
    x = prep.x
    classes = x.shape[-1]
    w = None
    if class_weights is not None:
        w = param(class_weights, x.dtype)
        contracts.rank(w, {0, 1}, "class_weights", "a scalar or one weight per class")
        if w.ndim == 1:
            contracts.shape_is(
                w,
                (classes,),
                "class_weights",
                "one weight per class (all classes: the cross-entropy term uses every channel)",
            )
    valid = None if prep.m is None else prep.m[..., 0] > 0
    normalizer = None
    if classes == 1:
        assert prep.t is not None
        z, t = x[..., 0], prep.t[..., 0]
        pos = jax.nn.softplus(-z) if w is None else w.reshape(()) * jax.nn.softplus(-z)
        loss = t * pos + (1 - t) * jax.nn.softplus(z)
    else:
        eps = param(label_smoothing, x.dtype)
        # [B, N, C] slices, the view of the Dice core (XLA then shares the softmax exponentials)
        xs = class_slices(grouped(x, x.shape[0], classes))
        if xs is not None:
            flat = xs[0].shape
            labels = None if prep.labels is None else prep.labels.reshape(flat)
            t = None if prep.t is None else prep.t.reshape((*flat, classes))
            smoothing = is_traced(label_smoothing) or bool(np.any(np.asarray(label_smoothing)))
            loss, normalizer = _cross_entropy_slices(xs, labels, t, w, eps, smoothing)
            loss = loss.reshape(x.shape[:-1])
            normalizer = None if normalizer is None else normalizer.reshape(x.shape[:-1])
        else:
            logp = jax.nn.log_softmax(x, axis=-1)
            wlogp = (
                logp
                if w is None
                else jnp.broadcast_to(w, (classes,)).reshape((1,) * (x.ndim - 1) + (classes,))
                * logp
            )
            if prep.labels is not None:
                labels = prep.labels[..., None]
                nll = -jnp.take_along_axis(wlogp, labels, axis=-1)[..., 0]
                loss = (1 - eps) * nll - eps / classes * jnp.sum(wlogp, axis=-1)
                if w is not None:
                    normalizer = jnp.broadcast_to(w, (classes,))[prep.labels]
            else:
                assert prep.t is not None
                t = prep.t * (1 - eps) + eps / classes
                loss = -jnp.sum(t * wlogp, axis=-1)
    if prep.bad is not None:
        loss = poison(loss, prep.bad.reshape((-1,) + (1,) * (loss.ndim - 1)))
    return loss, valid, normalizer


def _cross_entropy_slices(
    xs: list[jax.Array],
    labels: jax.Array | None,
    t: jax.Array | None,
    w: jax.Array | None,
    eps: jax.Array,
    smoothing: bool,
) -> tuple[jax.Array, jax.Array | None]:
    """The multi-class CE of :func:`_cross_entropy` on the class slices ``xs`` (few classes):
    the same formula with the log-softmax, the label pick and the class sums done per slice
    (no ``take_along_axis`` gather, whose transpose is a scatter-add on XLA CPU).

    ``smoothing=False`` (``eps`` a concrete 0): the smoothing sum is multiplied by 0, so only
    its non-finite entries matter (the NaN policy); ``0 * x`` keeps exactly those, and the
    shifted logits then feed only the exponentials, which XLA fuses with them (and shares
    with the Dice term's softmax).
    """
    classes = len(xs)
    wc = None if w is None else jnp.broadcast_to(w, (classes,))
    if labels is None:
        assert t is not None
        logp = log_softmax_slices(xs)
        wlogp = logp if wc is None else [wc[c] * a for c, a in enumerate(logp)]
        ts = [t[..., c] * (1 - eps) + eps / classes for c in range(classes)]
        return -functools.reduce(jnp.add, [u * a for u, a in zip(ts, wlogp)]), None
    top, lse = max_and_logsumexp(xs)
    # log p_y = (x_y - max) - lse, the label's entry of jax.nn.log_softmax
    logp_y = (pick(labels, xs) - top) - lse
    w_y = None if wc is None else pick(labels, [wc[c] for c in range(classes)])
    nll = -(logp_y if w_y is None else w_y * logp_y)
    # eps = 0 multiplies the smoothing sum: only its non-finite values matter (0 * inf = NaN)
    terms = [(a - top) - lse for a in xs] if smoothing else [a * 0 for a in xs]
    total = functools.reduce(
        jnp.add, terms if wc is None else [wc[c] * a for c, a in enumerate(terms)]
    )
    loss = (1 - eps) * nll - eps / classes * total
    return loss, w_y


@register(_FAMILY, reference="monai.losses.DiceCELoss", aliases=("dice_ce",))
def dice_ce_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    lambda_dice: float | ArrayLike = 1.0,
    lambda_ce: float | ArrayLike = 1.0,
    class_weights: ArrayLike | Sequence[float] | None = None,
    label_smoothing: float | ArrayLike = 0.0,
    activation: Activation = "softmax",
    include_background: bool = True,
    squared: bool = False,
    jaccard: bool = False,
    smooth_numerator: float | ArrayLike = 1e-5,
    smooth_denominator: float | ArrayLike = 1e-5,
    batch: bool = False,
    ignore_index: int | None = None,
    axis: int = -1,
    return_aux: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
    r"""Dice plus cross-entropy (MONAI ``DiceCELoss`` semantics), channel-last.

    .. math:: \mathcal{L} = \lambda_d \, \mathcal{L}_{\mathrm{Dice}} + \lambda_{ce} \, \mathcal{L}_{\mathrm{CE}}

    :math:`\mathcal{L}_{\mathrm{Dice}}` is :func:`dice_loss` (:func:`jaccard_loss` with
    ``jaccard=True``) with ``activation`` applied; :math:`\mathcal{L}_{\mathrm{CE}}` is
    torch's ``CrossEntropyLoss(weight=class_weights, label_smoothing)`` on the raw
    logits over every channel: with integer targets the weighted mean
    :math:`\sum_i w_{y_i} \ell_i / \sum_i w_{y_i}`, with one-hot or soft targets the
    probability-target form :math:`-\sum_c w_c t_c \log p_c` averaged over pixels.
    With a single channel the CE term is ``BCEWithLogitsLoss(pos_weight=class_weights)``.

    Args:
      predictions: ``[batch, *spatial, classes]`` floating logits (the class axis is ``axis``).
      targets: integer class indices ``[batch, *spatial]`` (or ``[batch, 1, *spatial]``
        with ``axis=1``) or floating one-hot / probability maps with the shape of
        ``predictions``.
      lambda_dice: :math:`\lambda_d \ge 0`; float or traced array.
      lambda_ce: :math:`\lambda_{ce} \ge 0`; float or traced array.
      class_weights: ``[classes]`` (all classes) CE class weights, also the Dice term's
        per-class factors (without class 0 when ``include_background=False``), as MONAI's
        ``weight``; with one channel the BCE ``pos_weight``.
      label_smoothing: in ``[0, 1]``, the CE term's (torch's) label smoothing.
      activation: the Dice term's activation: ``"softmax"`` (default), ``"sigmoid"`` or ``None``.
      include_background: if ``False`` class 0 leaves the Dice term (the CE term keeps
        every channel, as MONAI).
      squared: Dice term: squared denominators (MONAI ``squared_pred``).
      jaccard: Dice term: soft IoU instead of Dice.
      smooth_numerator: Dice term's :math:`s_n` (MONAI ``smooth_nr``).
      smooth_denominator: Dice term's :math:`s_d` (MONAI ``smooth_dr``).
      batch: Dice term: sums over the batch before the ratio.
      ignore_index: pixels whose target is ``ignore_index`` leave both terms (an
        extension: MONAI's ``DiceCELoss`` has none; torch's CE ``ignore_index`` rule).
      axis: the class axis: ``-1`` channel-last (default), ``1`` channels-first.
      return_aux: also return ``{"dice": ..., "ce": ...}``, the two weighted terms
        (stop-gradient; they sum to the loss).
      weights: optional per-example weights broadcastable to ``[batch]``.
      where: optional boolean per-example mask broadcastable to ``[batch]``.
      reduction: ``"mean"`` (default, MONAI's: each term's own mean), ``"sum"`` (of the
        ``"none"`` output) or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` for ``"none"``: the per-example
      Dice (mean over classes; the batch Dice with ``batch=True``) plus the
      per-example CE (mean over its pixels). With ``return_aux=True``, ``(loss, aux)``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[[2.0, -1.0], [0.0, 1.0]]])  # [1 batch, 2 pixels, 2 classes]
      >>> jaxloss.dice_ce_loss(x, jnp.array([[0, 1]]))
      Array(0.3411, dtype=float32)

    References:
      Isensee et al., `nnU-Net <https://arxiv.org/abs/1809.10486>`_, 2021; MONAI
      ``monai.losses.DiceCELoss``. MONAI's ``DiceCELoss(to_onehot_y=True,
      softmax=True)`` is the default here (MONAI's own defaults apply no activation
      to the Dice term). Deliberate differences: ``"none"`` exists (MONAI has none);
      ``ignore_index`` is an extension; ``activation="softmax"`` over one channel raises
      (MONAI warns and skips the softmax); ``"sum"`` is the sum of the per-example
      ``"none"`` values (MONAI's ``"sum"`` adds the Dice sum over (batch, class) to the CE
      sum over pixels: ``"mean"`` with ``lambda_dice`` and ``lambda_ce`` multiplied by
      those counts reproduces it).
    """
    contracts.bounded(lambda_dice, "lambda_dice", ge=0)
    contracts.bounded(lambda_ce, "lambda_ce", ge=0)
    contracts.bounded(label_smoothing, "label_smoothing", ge=0, le=1)
    contracts.bounded(class_weights, "class_weights", ge=0, scalar=False)
    dice_weights = class_weights
    if class_weights is not None and not include_background and np.ndim(class_weights) == 1:
        dice_weights = jnp.asarray(class_weights)[1:]
    dice = _dice_term(
        predictions,
        targets,
        jaccard=jaccard,
        activation=activation,
        include_background=include_background,
        squared=squared,
        smooth_numerator=smooth_numerator,
        smooth_denominator=smooth_denominator,
        batch=batch,
        class_weights=dice_weights,
        ignore_index=ignore_index,
        axis=axis,
    )
    ce, valid, normalizer = _cross_entropy(
        predictions,
        targets,
        class_weights=class_weights,
        label_smoothing=label_smoothing,
        ignore_index=ignore_index,
        axis=axis,
    )
    n = ce.shape[0]
    terms = {
        "dice": (dice, lambda: _dice_per_example(dice, n, batch), None, None, not batch),
        "ce": (ce, lambda: _per_example(ce, valid, normalizer), valid, normalizer, True),
    }
    lambdas = {"dice": param(lambda_dice, ce.dtype), "ce": param(lambda_ce, ce.dtype)}
    return _combine(terms, lambdas, n, weights, where, reduction, return_aux)


@register(_FAMILY, reference="monai.losses.DiceFocalLoss", aliases=("dice_focal",))
def dice_focal_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    lambda_dice: float | ArrayLike = 1.0,
    lambda_focal: float | ArrayLike = 1.0,
    gamma: float | ArrayLike = 2.0,
    alpha: float | ArrayLike | None = None,
    class_weights: ArrayLike | Sequence[float] | None = None,
    activation: Activation = "softmax",
    focal_activation: FocalActivation = "sigmoid",
    include_background: bool = True,
    squared: bool = False,
    jaccard: bool = False,
    smooth_numerator: float | ArrayLike = 1e-5,
    smooth_denominator: float | ArrayLike = 1e-5,
    batch: bool = False,
    ignore_index: int | None = None,
    axis: int = -1,
    return_aux: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
    r"""Dice plus focal loss (MONAI ``DiceFocalLoss`` semantics), channel-last.

    .. math:: \mathcal{L} = \lambda_d \, \mathcal{L}_{\mathrm{Dice}} + \lambda_f \, \mathcal{L}_{\mathrm{focal}}

    :math:`\mathcal{L}_{\mathrm{Dice}}` is :func:`dice_loss` (:func:`jaccard_loss` with
    ``jaccard=True``) with ``activation``; :math:`\mathcal{L}_{\mathrm{focal}}` is
    :func:`segmentation_focal_loss` on the raw logits, averaged over batch, pixels and
    channels. As in MONAI, the focal term is the **sigmoid** focal loss on one-hot
    targets even when the Dice term uses softmax; ``focal_activation="softmax"`` makes
    it MONAI's ``use_softmax`` focal instead.

    Args:
      predictions: ``[batch, *spatial, classes]`` floating logits (the class axis is ``axis``).
      targets: integer class indices ``[batch, *spatial]`` (or ``[batch, 1, *spatial]``
        with ``axis=1``) or floating one-hot / probability maps with the shape of
        ``predictions``.
      lambda_dice: :math:`\lambda_d \ge 0`; float or traced array.
      lambda_focal: :math:`\lambda_f \ge 0`; float or traced array.
      gamma: focal exponent :math:`\gamma \ge 0`; float or traced array.
      alpha: focal :math:`\alpha` in ``[0, 1]`` (see :func:`segmentation_focal_loss`) or ``None``.
      class_weights: scalar or ``[classes]`` (without class 0 when
        ``include_background=False``) factors of both terms, MONAI's ``weight``.
      activation: the Dice term's activation: ``"softmax"`` (default), ``"sigmoid"`` or ``None``.
      focal_activation: the focal term's: ``"sigmoid"`` (default, MONAI) or ``"softmax"``.
      include_background: if ``False`` class 0 leaves both terms (MONAI).
      squared: Dice term: squared denominators (MONAI ``squared_pred``).
      jaccard: Dice term: soft IoU instead of Dice.
      smooth_numerator: Dice term's :math:`s_n` (MONAI ``smooth_nr``).
      smooth_denominator: Dice term's :math:`s_d` (MONAI ``smooth_dr``).
      batch: Dice term: sums over the batch before the ratio.
      ignore_index: pixels whose target is ``ignore_index`` leave both terms (an
        extension: MONAI's ``DiceFocalLoss`` has none).
      axis: the class axis: ``-1`` channel-last (default), ``1`` channels-first.
      return_aux: also return ``{"dice": ..., "focal": ...}``, the two weighted terms
        (stop-gradient; they sum to the loss).
      weights: optional per-example weights broadcastable to ``[batch]``.
      where: optional boolean per-example mask broadcastable to ``[batch]``.
      reduction: ``"mean"`` (default, MONAI's: each term's own mean), ``"sum"`` (of the
        ``"none"`` output) or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` for ``"none"`` (per-example Dice,
      mean over classes, plus per-example focal, mean over pixels and channels). With
      ``return_aux=True``, ``(loss, aux)``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[[2.0, -1.0], [0.0, 1.0]]])  # [1 batch, 2 pixels, 2 classes]
      >>> jaxloss.dice_focal_loss(x, jnp.array([[0, 1]]))
      Array(0.2152, dtype=float32)

    References:
      Zhu et al., `AnatomyNet <https://arxiv.org/abs/1808.05238>`_, 2019; MONAI
      ``monai.losses.DiceFocalLoss``. MONAI's ``DiceFocalLoss(to_onehot_y=True,
      softmax=True)`` is the default here. Deliberate differences: ``"none"`` is
      per example ``[batch]`` (MONAI broadcasts ``[B, C, 1, ...]`` against
      ``[B, C, *S]``); ``ignore_index`` is an extension; ``"sum"`` is the sum of the
      per-example ``"none"`` values (MONAI's ``"sum"`` is ``"mean"`` with both lambdas
      multiplied by the number of (batch, class) pairs).
    """
    contracts.bounded(lambda_dice, "lambda_dice", ge=0)
    contracts.bounded(lambda_focal, "lambda_focal", ge=0)
    dice = _dice_term(
        predictions,
        targets,
        jaccard=jaccard,
        activation=activation,
        include_background=include_background,
        squared=squared,
        smooth_numerator=smooth_numerator,
        smooth_denominator=smooth_denominator,
        batch=batch,
        class_weights=class_weights,
        ignore_index=ignore_index,
        axis=axis,
    )
    focal = focal_terms(
        predictions,
        targets,
        activation=focal_activation,
        gamma=gamma,
        alpha=alpha,
        class_weights=class_weights,
        include_background=include_background,
        ignore_index=ignore_index,
        axis=axis,
    )
    n = focal.loss.shape[0]
    terms = {
        "dice": (dice, lambda: _dice_per_example(dice, n, batch), None, None, not batch),
        "focal": (
            focal.loss,
            lambda: _per_example(focal.loss, focal.valid),
            focal.valid,
            None,
            True,
        ),
    }
    lambdas = {
        "dice": param(lambda_dice, focal.loss.dtype),
        "focal": param(lambda_focal, focal.loss.dtype),
    }
    return _combine(terms, lambdas, n, weights, where, reduction, return_aux)


@register(
    _FAMILY, reference="monai.losses.GeneralizedDiceFocalLoss", aliases=("generalized_dice_focal",)
)
def generalized_dice_focal_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weight_type: Literal["square", "simple", "uniform"] = "square",
    lambda_gdl: float | ArrayLike = 1.0,
    lambda_focal: float | ArrayLike = 1.0,
    gamma: float | ArrayLike = 2.0,
    class_weights: ArrayLike | Sequence[float] | None = None,
    activation: Activation = "softmax",
    focal_activation: FocalActivation = "sigmoid",
    include_background: bool = True,
    smooth_numerator: float | ArrayLike = 1e-5,
    smooth_denominator: float | ArrayLike = 1e-5,
    batch: bool = False,
    ignore_index: int | None = None,
    axis: int = -1,
    return_aux: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
    r"""Generalised Dice plus focal loss (MONAI ``GeneralizedDiceFocalLoss`` semantics).

    .. math:: \mathcal{L} = \lambda_g \, \mathcal{L}_{\mathrm{GDL}} + \lambda_f \, \mathcal{L}_{\mathrm{focal}}

    :math:`\mathcal{L}_{\mathrm{GDL}}` is :func:`generalized_dice_loss` (one value per
    example) with ``activation``; :math:`\mathcal{L}_{\mathrm{focal}}` is
    :func:`segmentation_focal_loss` on the raw logits (sigmoid, as MONAI, unless
    ``focal_activation="softmax"``) with ``class_weights`` and no ``alpha`` (MONAI passes
    none), averaged over batch, pixels and channels.

    Args:
      predictions: ``[batch, *spatial, classes]`` floating logits (the class axis is ``axis``).
      targets: integer class indices ``[batch, *spatial]`` (or ``[batch, 1, *spatial]``
        with ``axis=1``) or floating one-hot / probability maps with the shape of
        ``predictions``.
      weight_type: the GDL class weights: ``"square"`` (default), ``"simple"`` or
        ``"uniform"`` (MONAI ``w_type``).
      lambda_gdl: :math:`\lambda_g \ge 0`; float or traced array.
      lambda_focal: :math:`\lambda_f \ge 0`; float or traced array.
      gamma: focal exponent :math:`\gamma \ge 0`; float or traced array.
      class_weights: scalar or ``[classes]`` (without class 0 when
        ``include_background=False``) factors of the focal term (MONAI's ``weight``).
      activation: the GDL term's activation: ``"softmax"`` (default), ``"sigmoid"`` or ``None``.
      focal_activation: the focal term's: ``"sigmoid"`` (default, MONAI) or ``"softmax"``.
      include_background: if ``False`` class 0 leaves both terms (MONAI).
      smooth_numerator: GDL term's :math:`s_n` (MONAI ``smooth_nr``).
      smooth_denominator: GDL term's :math:`s_d` (MONAI ``smooth_dr``).
      batch: GDL term: sums over the batch before the ratio (one value for the batch).
      ignore_index: pixels whose target is ``ignore_index`` leave both terms (an extension).
      axis: the class axis: ``-1`` channel-last (default), ``1`` channels-first.
      return_aux: also return ``{"gdl": ..., "focal": ...}``, the two weighted terms
        (stop-gradient; they sum to the loss).
      weights: optional per-example weights broadcastable to ``[batch]``.
      where: optional boolean per-example mask broadcastable to ``[batch]``.
      reduction: ``"mean"`` (default, MONAI's: each term's own mean), ``"sum"`` (of the
        ``"none"`` output) or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` for ``"none"`` (per-example GDL, the
      batch GDL repeated with ``batch=True``, plus the per-example focal mean). With
      ``return_aux=True``, ``(loss, aux)``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[[2.0, -1.0], [0.0, 1.0]]])  # [1 batch, 2 pixels, 2 classes]
      >>> jaxloss.generalized_dice_focal_loss(x, jnp.array([[0, 1]]))
      Array(0.2133, dtype=float32)

    References:
      Sudre et al., `Generalised Dice overlap <https://arxiv.org/abs/1707.03237>`_, 2017;
      MONAI ``monai.losses.GeneralizedDiceFocalLoss``; ``GeneralizedDiceFocalLoss(
      to_onehot_y=True, softmax=True)`` is the default here. Deliberate differences:
      ``"none"`` is per example ``[batch]``; ``"sum"`` is the sum of the per-example
      ``"none"`` values; ``ignore_index`` is an extension.
    """
    contracts.bounded(lambda_gdl, "lambda_gdl", ge=0)
    contracts.bounded(lambda_focal, "lambda_focal", ge=0)
    gdl = generalized_dice_loss(
        predictions,
        targets,
        activation=activation,
        include_background=include_background,
        weight_type=weight_type,
        smooth_numerator=smooth_numerator,
        smooth_denominator=smooth_denominator,
        batch=batch,
        ignore_index=ignore_index,
        axis=axis,
        reduction="none",
    )
    focal = focal_terms(
        predictions,
        targets,
        activation=focal_activation,
        gamma=gamma,
        alpha=None,
        class_weights=class_weights,
        include_background=include_background,
        ignore_index=ignore_index,
        axis=axis,
    )
    n = focal.loss.shape[0]
    terms = {
        "gdl": (gdl, lambda: jnp.broadcast_to(gdl, (n,)), None, None, not batch),
        "focal": (
            focal.loss,
            lambda: _per_example(focal.loss, focal.valid),
            focal.valid,
            None,
            True,
        ),
    }
    lambdas = {
        "gdl": param(lambda_gdl, focal.loss.dtype),
        "focal": param(lambda_focal, focal.loss.dtype),
    }
    return _combine(terms, lambdas, n, weights, where, reduction, return_aux)
