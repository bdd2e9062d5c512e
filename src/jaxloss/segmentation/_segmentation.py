"""Segmentation losses: the Dice family (MONAI semantics) and the Lovász losses.

Layout is channel-last, the JAX convention: ``predictions`` are ``[batch,
*spatial, classes]`` (MONAI is channel-first ``[batch, classes, *spatial]``).
``targets`` are integer class indices ``[batch, *spatial]`` or one-hot /
probability maps with the shape of ``predictions``. With a single channel
(binary segmentation, ``activation="sigmoid"``) integer targets are the binary
mask itself (values 0 and 1), as MONAI uses a one-channel target.

The Dice family shares one ``custom_vjp`` core that returns the per-(batch,
class) sums ``I = sum p t``, ``P = sum p`` (or ``p^2``) and ``T = sum t`` (or
``t^2``) and whose backward is the closed form through the activation; each
loss is then a small formula of these sums.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._src import contracts
from .._src.contracts import function_name
from .._src.labels import class_labels, poison
from .._src.numerics import abs0, is_traced, param, rows, upcast
from .._src.reduce import reduce
from .._src.registry import register

__all__ = [
    "dice_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "jaccard_loss",
    "lovasz_hinge_loss",
    "lovasz_softmax_loss",
    "tversky_loss",
]

_FAMILY = "segmentation"
ACTIVATIONS = ("softmax", "sigmoid", None)


# --------------------------------------------------------------------------- targets


class Prepared(NamedTuple):
    """Checked inputs of a segmentation loss, channel-last."""

    x: jax.Array  # [B, *S, C] predictions in the compute dtype
    t: jax.Array | None  # [B, *S, C] targets (one-hot for integer targets, unmasked)
    m: jax.Array | None  # [B, *S, 1] pixel mask from ignore_index (1 = counted)
    bad: jax.Array | None  # [B] batch items holding out-of-range labels
    labels: jax.Array | None = None  # [B, *S] in-range class indices (multi-class integer targets)


def prepare(
    predictions: Any, targets: Any, activation: Any, ignore_index: int | None, one_hot: bool = True
) -> Prepared:
    """Checks shapes/dtypes and turns integer targets into one-hot maps plus a pixel mask.

    With ``one_hot=False`` multi-class integer targets are returned as ``labels``
    (in-range class indices) and ``t`` is ``None``.

    ``ignore_index`` follows MONAI's ``create_ignore_mask``: integer targets (and
    one-channel float targets) exclude the pixels equal to it; one-hot targets
    exclude the pixels of class ``ignore_index`` when it is a class index, and
    the all-zero pixels when it is a sentinel outside ``[0, C)``.
    """
    name = function_name()
    contracts.choice(activation, ACTIVATIONS, "activation")
    contracts.floating(predictions=predictions)
    contracts.min_rank(predictions, 3, "predictions ([batch, *spatial, classes])")
    shape = tuple(np.shape(predictions))
    classes = shape[-1]
    if activation == "softmax" and classes == 1:
        raise ValueError(
            f"{name}: activation='softmax' over a single channel is constant 1 "
            f"(predictions has shape {shape}); use activation='sigmoid' for binary segmentation"
        )
    dtype = contracts._dtype(targets)
    tshape = tuple(np.shape(targets))
    if jnp.issubdtype(dtype, jnp.integer):
        if tshape != shape[:-1]:
            raise ValueError(
                f"{name}: targets has shape {tshape} but predictions has shape {shape}; "
                "integer targets must have predictions.shape without the class axis"
            )
        (x,) = upcast(predictions)
        binary = classes == 1
        safe, valid, bad = class_labels(
            targets, 2 if binary else classes, ignore_index=ignore_index, what="targets"
        )
        if binary:
            t = safe[..., None].astype(x.dtype)
        else:
            t = jax.nn.one_hot(safe, classes, dtype=x.dtype) if one_hot else None
        m = None if valid is None else valid[..., None].astype(x.dtype)
        bad = jnp.any(rows(bad), axis=1)
        return Prepared(x, t, m, bad, None if binary else safe)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(
            f"{name}: targets must be integer class indices or floating one-hot maps, got {dtype}"
        )
    if tshape != shape:
        raise ValueError(
            f"{name}: targets has shape {tshape} but predictions has shape {shape}; "
            "floating (one-hot) targets must have the shape of predictions"
        )
    x, t = upcast(predictions, targets)
    m = None
    if ignore_index is not None:
        if classes == 1:
            m = (t != ignore_index).astype(x.dtype)
        elif 0 <= ignore_index < classes:
            m = 1 - t[..., ignore_index : ignore_index + 1]
        else:
            m = (jnp.sum(t, axis=-1, keepdims=True) > 0).astype(x.dtype)
    return Prepared(x, t, m, None)


def activate(x: jax.Array, activation: str | None) -> jax.Array:
    if activation == "softmax":
        return jax.nn.softmax(x, axis=-1)
    if activation == "sigmoid":
        return jax.nn.sigmoid(x)
    return x


# --------------------------------------------------------------------------- the shared core

# Up to this many classes the core works on one [G, N] slice per class: XLA CPU is slow at
# softmax/reductions over a short channel-last axis (3x for 4 classes; break-even near 10).
_UNROLL = 8


class _Classes(NamedTuple):
    """The class axis of ``[G, N, C]`` arrays as a list of parts: ``C`` slices ``[G, N]``
    (``unrolled``) or the whole array."""

    unrolled: bool
    classes: int

    def split(self, a: jax.Array) -> list[jax.Array]:
        return [a[..., c] for c in range(self.classes)] if self.unrolled else [a]

    def join(self, parts: list[jax.Array]) -> jax.Array:
        return jnp.stack(parts, axis=-1) if self.unrolled else parts[0]

    def pixel(self, m: jax.Array) -> jax.Array:
        """A per-pixel ``[G, N, 1]`` array broadcastable against the parts."""
        return m[..., 0] if self.unrolled else m

    def fold(self, op: Any, parts: list[jax.Array]) -> jax.Array:
        """``op`` (``jnp.add``/``jnp.maximum``) over the classes, broadcastable against the parts."""
        if self.unrolled:
            return functools.reduce(op, parts)
        return (jnp.sum if op is jnp.add else jnp.max)(parts[0], axis=-1, keepdims=True)

    def targets(self, t: jax.Array, dtype: Any) -> list[jax.Array]:
        """Float target parts; integer ``t`` (``[G, N]`` class indices) becomes one-hot parts."""
        if not jnp.issubdtype(t.dtype, jnp.integer):
            return self.split(t)
        if self.unrolled:
            return [(t == c).astype(dtype) for c in range(self.classes)]
        return [(t[..., None] == jnp.arange(self.classes, dtype=t.dtype)).astype(dtype)]

    def probabilities(self, x: jax.Array, activation: str | None) -> list[jax.Array]:
        xs = self.split(x)
        if activation != "softmax":
            return [activate(a, activation) for a in xs]
        top = self.fold(jnp.maximum, xs)
        es = [jnp.exp(a - top) for a in xs]
        inv = 1 / self.fold(jnp.add, es)
        return [e * inv for e in es]


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4))
def _overlap(x, t, m, activation, squared):
    """``(I, P, T)`` summed over axis 1 of ``[G, N, C]`` arrays, ``p = activation(x)`` masked by ``m``.

    ``t`` is a ``[G, N, C]`` float map or ``[G, N]`` integer class indices (no gradient).
    """
    return _overlap_fwd(x, t, m, activation, squared)[0]


def _parts(x, t, m, activation):
    k = _Classes(x.shape[-1] <= _UNROLL, x.shape[-1])
    ps, ts = k.probabilities(x, activation), k.targets(t, x.dtype)
    mk = None if m is None else k.pixel(m)
    pms, tms = (ps, ts) if m is None else ([p * mk for p in ps], [u * mk for u in ts])
    return k, ps, ts, mk, pms, tms


def _overlap_fwd(x, t, m, activation, squared):
    k, _, _, _, pms, tms = _parts(x, t, m, activation)
    inter = k.join([jnp.sum(p * u, axis=1) for p, u in zip(pms, tms)])
    pred = k.join([jnp.sum(jnp.square(p) if squared else p, axis=1) for p in pms])
    true = k.join([jnp.sum(jnp.square(u) if squared else u, axis=1) for u in tms])
    return (inter, pred, true), (x, t, m)


def _overlap_bwd(activation, squared, res, g):
    x, t, m = res
    # Recomputed: under jit XLA shares it with the forward pass.
    k, ps, ts, mk, pms, tms = _parts(x, t, m, activation)
    g_i, g_p, g_t = (k.split(gi[:, None, :]) for gi in g)
    d_pm = [gi * u + (2 * gp * p if squared else gp) for gi, gp, p, u in zip(g_i, g_p, pms, tms)]
    d_tm = [gi * p + (2 * gt * u if squared else gt) for gi, gt, p, u in zip(g_i, g_t, pms, tms)]
    d_m = None
    if m is not None:
        d_m = k.fold(jnp.add, [dp * p + dt * u for dp, p, dt, u in zip(d_pm, ps, d_tm, ts)])
        d_m = d_m[..., None] if k.unrolled else d_m
        d_pm, d_tm = [d * mk for d in d_pm], [d * mk for d in d_tm]
    # Closed-form chain through the activation: one fused pass.
    if activation == "softmax":
        dot = k.fold(jnp.add, [d * p for d, p in zip(d_pm, ps)])
        d_x = [p * (d - dot) for d, p in zip(d_pm, ps)]
    elif activation == "sigmoid":
        d_x = [d * p * (1 - p) for d, p in zip(d_pm, ps)]
    else:
        d_x = d_pm
    d_t = None if jnp.issubdtype(t.dtype, jnp.integer) else k.join(d_tm)
    return k.join(d_x), d_t, d_m


_overlap.defvjp(_overlap_fwd, _overlap_bwd)


def _ratio(numerator: jax.Array, denominator: jax.Array) -> jax.Array:
    """``numerator / denominator``, 1 where the denominator is 0 (empty prediction and target
    with zero smoothing: a perfect match) with a zero gradient there."""
    empty = denominator == 0
    # Double where: the 0/0 branch must not leak NaN into the gradient.
    return jnp.where(empty, jnp.ones((), numerator.dtype), numerator / jnp.where(empty, 1, denominator))


class _Sums(NamedTuple):
    inter: jax.Array  # [B, C'] (or [C'] with batch=True)
    pred: jax.Array
    true: jax.Array
    bad: jax.Array | None  # broadcastable to the sums


def _grouped(a: jax.Array, groups: int, last: int) -> jax.Array:
    """``a.reshape(groups, -1, last)``, also for an empty batch (where ``-1`` is ambiguous)."""
    return a.reshape(groups, math.prod(a.shape) // max(groups * last, 1), last)


def _sums(predictions, targets, *, activation, include_background, ignore_index, squared, batch):
    prep = prepare(predictions, targets, activation, ignore_index, one_hot=False)
    # [G, N, C]: one reduction over a single axis (XLA CPU reduces that ~2x faster than
    # over several spatial axes); G = batch, or 1 with batch=True.
    groups = 1 if batch else prep.x.shape[0]
    x, m = (None if a is None else _grouped(a, groups, a.shape[-1]) for a in (prep.x, prep.m))
    # Integer targets enter the core as [G, N] indices: no one-hot map is materialised.
    t = prep.t.reshape(x.shape) if prep.labels is None else prep.labels.reshape(x.shape[:-1])
    inter, pred, true = _overlap(x, t, m, activation, squared)
    if batch:
        inter, pred, true = inter[0], pred[0], true[0]
    if not include_background:
        if prep.x.shape[-1] == 1:
            warnings.warn(
                f"{function_name()}: single channel prediction, "
                "include_background=False ignored (as MONAI)", stacklevel=3,
            )
        else:
            inter, pred, true = inter[..., 1:], pred[..., 1:], true[..., 1:]
    bad = prep.bad
    if bad is not None:
        bad = jnp.any(bad) if batch else bad[:, None]
    return _Sums(inter, pred, true, bad)


def _class_weighted(loss: jax.Array, class_weights: Any) -> jax.Array:
    """MONAI's ``weight``: the per-class loss is multiplied (not a weighted mean)."""
    if class_weights is None or loss.shape[-1] == 1:
        return loss
    w = param(class_weights, loss.dtype)
    contracts.rank(w, {0, 1}, "class_weights", "a scalar or one weight per (kept) class")
    if w.ndim == 1:
        contracts.shape_is(
            w, (loss.shape[-1],), "class_weights",
            "one weight per class, without class 0 when include_background=False",
        )
    if not is_traced(w) and bool(np.any(np.asarray(w) < 0)):
        raise ValueError(f"{function_name()}: class_weights must be >= 0")
    return loss * jnp.broadcast_to(w, loss.shape)


def _finish(loss, sums, weights, where, reduction):
    loss = poison(loss, sums.bad)
    return reduce(loss, reduction, weights=weights, where=where)


_SHARED_ARGS = """\
      predictions: ``[batch, *spatial, classes]`` floating logits (``activation``
        ``"softmax"``/``"sigmoid"``) or probabilities (``activation=None``).
      targets: integer class indices ``[batch, *spatial]`` or floating one-hot /
        probability maps with the shape of ``predictions``.
      activation: ``"softmax"`` over the class axis (MONAI ``softmax=True``; needs
        at least two classes), ``"sigmoid"`` per channel (MONAI ``sigmoid=True``) or
        ``None``."""


# --------------------------------------------------------------------------- Dice family


@register(_FAMILY, reference="monai.losses.DiceLoss", aliases=("dice",))
def dice_loss(
    predictions: Any, targets: Any, *, activation: str | None = "softmax",
    include_background: bool = True, squared: bool = False,
    smooth_numerator: Any = 1e-5, smooth_denominator: Any = 1e-5, batch: bool = False,
    class_weights: Any = None, ignore_index: int | None = None,
    weights: Any = None, where: Any = None, reduction: str = "mean",
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

    Args:
    {shared}
      include_background: if ``False`` class 0 is dropped after the activation.
        With one channel it is ignored with a warning, as in MONAI.
      squared: squares predictions and targets in the denominator (MONAI
        ``squared_pred``).
      smooth_numerator: :math:`s_n` (MONAI ``smooth_nr``); float or traced array.
      smooth_denominator: :math:`s_d` (MONAI ``smooth_dr``); float or traced array.
      batch: sum over the batch before the ratio (one Dice per class).
      class_weights: scalar or ``[classes]`` (without class 0 when
        ``include_background=False``) non-negative factors multiplying the
        per-class loss, as MONAI's ``weight`` (ignored with a single class, as MONAI).
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
    sums = _sums(predictions, targets, activation=activation, include_background=include_background,
                 ignore_index=ignore_index, squared=squared, batch=batch)
    sn = param(smooth_numerator, sums.inter.dtype)
    sd = param(smooth_denominator, sums.inter.dtype)
    loss = 1 - _ratio(2 * sums.inter + sn, sums.pred + sums.true + sd)
    return _finish(_class_weighted(loss, class_weights), sums, weights, where, reduction)


@register(_FAMILY, reference="monai.losses.DiceLoss(jaccard=True)", aliases=("soft_iou_loss",))
def jaccard_loss(
    predictions: Any, targets: Any, *, activation: str | None = "softmax",
    include_background: bool = True, squared: bool = False,
    smooth_numerator: Any = 1e-5, smooth_denominator: Any = 1e-5, batch: bool = False,
    class_weights: Any = None, ignore_index: int | None = None,
    weights: Any = None, where: Any = None, reduction: str = "mean",
) -> jax.Array:
    r"""Soft Jaccard (IoU) loss, MONAI ``DiceLoss(jaccard=True)`` semantics.

    .. math::
       \ell_{bc} = 1 - \frac{2 I + s_n}{2 (P + T - I) + s_d}, \quad
       I = \sum_i p t, \; P = \sum_i p^q, \; T = \sum_i t^q

    (MONAI keeps the factor 2 in numerator and denominator, so the smoothing
    terms enter as in its code.) Options, shapes, masks and the gradient are as
    in :func:`dice_loss`.

    Args:
    {shared}
      include_background: if ``False`` class 0 is dropped after the activation.
      squared: squares predictions and targets in the sums ``P`` and ``T``.
      smooth_numerator: :math:`s_n`; float or traced array.
      smooth_denominator: :math:`s_d`; float or traced array.
      batch: sum over the batch before the ratio.
      class_weights: scalar or per-class factors multiplying the per-class loss.
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
    sums = _sums(predictions, targets, activation=activation, include_background=include_background,
                 ignore_index=ignore_index, squared=squared, batch=batch)
    sn = param(smooth_numerator, sums.inter.dtype)
    sd = param(smooth_denominator, sums.inter.dtype)
    union = sums.pred + sums.true - sums.inter
    loss = 1 - _ratio(2 * sums.inter + sn, 2 * union + sd)
    return _finish(_class_weighted(loss, class_weights), sums, weights, where, reduction)


def _tversky_index(sums, alpha, beta, sn, sd):
    dtype = sums.inter.dtype
    a, b = param(alpha, dtype), param(beta, dtype)
    fp, fn = sums.pred - sums.inter, sums.true - sums.inter
    sn, sd = param(sn, dtype), param(sd, dtype)
    return _ratio(sums.inter + sn, sums.inter + a * fp + b * fn + sd)


@register(_FAMILY, reference="monai.losses.TverskyLoss", aliases=("tversky",))
def tversky_loss(
    predictions: Any, targets: Any, *, activation: str | None = "softmax",
    include_background: bool = True, alpha: Any = 0.5, beta: Any = 0.5,
    smooth_numerator: Any = 1e-5, smooth_denominator: Any = 1e-5, batch: bool = False,
    class_weights: Any = None, ignore_index: int | None = None,
    weights: Any = None, where: Any = None, reduction: str = "mean",
) -> jax.Array:
    r"""Tversky loss (MONAI ``TverskyLoss`` semantics); ``alpha = beta = 0.5`` is Dice.

    .. math::
       \ell_{bc} = 1 - \frac{TP + s_n}{TP + \alpha FP + \beta FN + s_d}, \quad
       TP = \sum_i p t, \; FP = \sum_i p (1 - t), \; FN = \sum_i (1 - p) t

    Options, shapes, masks and the gradient are as in :func:`dice_loss`.

    Args:
    {shared}
      include_background: if ``False`` class 0 is dropped after the activation.
      alpha: weight of false positives; float or traced array.
      beta: weight of false negatives; float or traced array.
      smooth_numerator: :math:`s_n`; float or traced array.
      smooth_denominator: :math:`s_d`; float or traced array.
      batch: sum over the batch before the ratio.
      class_weights: scalar or per-class factors multiplying the per-class loss.
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
    sums = _sums(predictions, targets, activation=activation, include_background=include_background,
                 ignore_index=ignore_index, squared=False, batch=batch)
    loss = 1 - _tversky_index(sums, alpha, beta, smooth_numerator, smooth_denominator)
    return _finish(_class_weighted(loss, class_weights), sums, weights, where, reduction)


@jax.custom_jvp
def _focal_power(u: jax.Array, gamma: jax.Array) -> jax.Array:
    """``max(u, 0) ** gamma`` (``0 ** 0 = 1``); NaN stays NaN."""
    pos = ~(u <= 0)
    return jnp.where(pos, jnp.where(pos, u, 1) ** gamma, jnp.where(gamma == 0, 1.0, 0.0).astype(u.dtype))


@_focal_power.defjvp
def _focal_power_jvp(primals, tangents):
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
    predictions: Any, targets: Any, *, activation: str | None = "softmax",
    include_background: bool = True, alpha: Any = 0.5, beta: Any = 0.5, gamma: Any = 0.75,
    smooth_numerator: Any = 1e-5, smooth_denominator: Any = 1e-5, batch: bool = False,
    class_weights: Any = None, ignore_index: int | None = None,
    weights: Any = None, where: Any = None, reduction: str = "mean",
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
    {shared}
      include_background: if ``False`` class 0 is dropped after the activation.
      alpha: weight of false positives; float or traced array.
      beta: weight of false negatives; float or traced array.
      gamma: focal exponent (``> 0``); float or traced array.
      smooth_numerator: :math:`s_n`; float or traced array.
      smooth_denominator: :math:`s_d`; float or traced array.
      batch: sum over the batch before the ratio.
      class_weights: scalar or per-class factors multiplying the per-class loss.
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
    sums = _sums(predictions, targets, activation=activation, include_background=include_background,
                 ignore_index=ignore_index, squared=False, batch=batch)
    ti = _tversky_index(sums, alpha, beta, smooth_numerator, smooth_denominator)
    u = 1 - ti  # _focal_power treats u <= 0 (TI >= 1, also TI > 1 when s_n > s_d) as 0
    loss = _focal_power(u, param(gamma, u.dtype))
    return _finish(_class_weighted(loss, class_weights), sums, weights, where, reduction)


@register(_FAMILY, reference="monai.losses.GeneralizedDiceLoss", aliases=("generalized_dice",))
def generalized_dice_loss(
    predictions: Any, targets: Any, *, activation: str | None = "softmax",
    include_background: bool = True, weight_type: str = "square",
    smooth_numerator: Any = 1e-5, smooth_denominator: Any = 1e-5, batch: bool = False,
    ignore_index: int | None = None,
    weights: Any = None, where: Any = None, reduction: str = "mean",
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
    {shared}
      include_background: if ``False`` class 0 is dropped after the activation.
      weight_type: ``"square"`` (default), ``"simple"`` or ``"uniform"`` (MONAI ``w_type``).
      smooth_numerator: :math:`s_n`; float or traced array.
      smooth_denominator: :math:`s_d`; float or traced array.
      batch: sum over the batch before the ratio (one loss for the batch).
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
    sums = _sums(predictions, targets, activation=activation, include_background=include_background,
                 ignore_index=ignore_index, squared=False, batch=batch)
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
    loss = 1 - _ratio(numerator, denominator)
    bad = None if sums.bad is None or batch else sums.bad[:, 0]
    return _finish(loss, sums._replace(bad=bad), weights, where, reduction)


# --------------------------------------------------------------------------- Lovász


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
    predictions: Any, targets: Any, *, activation: str | None = "softmax",
    classes: str = "present", per_image: bool = False, ignore_index: int | None = None,
    weights: Any = None, where: Any = None, reduction: str = "mean",
) -> jax.Array:
    r"""Lovász-Softmax loss: the Lovász extension of the per-class Jaccard loss.

    .. math::
       \ell_c = \sum_{k} e_{(k)c} \, \Delta J_c(k), \qquad e_{ic} = |t_{ic} - p_{ic}|

    with the errors sorted in decreasing order and :math:`\Delta J_c` Berman's
    ``lovasz_grad`` of the sorted ground truth. Classes absent from the targets
    are skipped (``classes="present"``) with masks, so shapes are fixed and the
    loss jits; ignored pixels are sorted last with zero error.

    Args:
    {shared}
      classes: ``"present"`` (default: average over the classes present in the
        targets) or ``"all"``.
      per_image: ``False`` (default, as segmentation_models_pytorch's
        ``LovaszLoss``): one loss per class over the whole batch; ``True``: the
        loss of each image (mean over its classes), then the mean over images.
      ignore_index: pixels whose target is ``ignore_index`` are excluded.
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
    prep = prepare(predictions, targets, activation, ignore_index)
    p = activate(prep.x, activation)
    n_classes = p.shape[-1]
    groups = p.shape[0] if per_image else 1
    valid = jnp.ones((*p.shape[:-1], 1), bool) if prep.m is None else prep.m > 0
    errors = _grouped(abs0(prep.t - p), groups, n_classes)
    fg = _grouped(prep.t, groups, n_classes)
    valid = _grouped(valid, groups, 1)
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
    logits: Any, targets: Any, *, per_image: bool = False, ignore_index: Any = None,
    weights: Any = None, where: Any = None, reduction: str = "mean",
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
    contracts.floating(logits=logits)
    contracts.min_rank(logits, 2, "logits ([batch, *spatial])")
    contracts.same_shape(logits=logits, targets=targets)
    bad = valid = None
    if jnp.issubdtype(contracts._dtype(targets), jnp.integer):
        safe, valid, bad = class_labels(targets, 2, ignore_index=ignore_index, what="targets")
        (x,) = upcast(logits)
        t = safe.astype(x.dtype)
        bad = jnp.any(rows(bad), axis=1)
    else:
        x, t = upcast(logits, targets)
        if ignore_index is not None:
            valid = t != ignore_index
            t = jnp.where(valid, t, 0)
    groups = x.shape[0] if per_image else 1
    valid = jnp.ones(x.shape, bool) if valid is None else valid
    errors = _grouped(jax.nn.relu(1 - x * (2 * t - 1)), groups, 1)
    valid = _grouped(valid, groups, 1)
    loss = _lovasz_extension(errors, _grouped(t, groups, 1), valid)[:, 0]
    ok = jnp.any(valid, axis=(1, 2))
    if not per_image:
        loss, ok = loss[0], ok[0]
        bad = None if bad is None else jnp.any(bad)
    loss = poison(loss, bad)
    return reduce(loss, reduction, weights=weights, where=where, valid=ok)


for _fn in (dice_loss, jaccard_loss, tversky_loss, focal_tversky_loss, generalized_dice_loss,
            lovasz_softmax_loss):
    _fn.__doc__ = _fn.__doc__.replace("    {shared}", _SHARED_ARGS)
