"""The shared core of the Dice family: per-(batch, class) overlap sums with a closed-form backward.

One ``custom_vjp`` returns the per-(batch, class) sums ``I = sum p t``, ``P = sum p``
(or ``p^2``) and ``T = sum t`` (or ``t^2``) and its backward is the closed form through
the activation; each loss of :mod:`._overlap` is then a small formula of these sums.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple, TypeAlias, cast

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.labels import poison
from .._src.numerics import is_traced, param
from .._src.reduce import reduce
from .._src.types import ArrayLike, Reduction
from ._inputs import UNROLL, Activation, activate, class_maps, grouped

__all__: list[str] = []


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

    def probabilities(self, x: jax.Array, activation: Activation) -> list[jax.Array]:
        xs = self.split(x)
        if activation != "softmax":
            return [activate(a, activation) for a in xs]
        top = self.fold(jnp.maximum, xs)
        es = [jnp.exp(a - top) for a in xs]
        inv = 1 / self.fold(jnp.add, es)
        return [e * inv for e in es]


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5))
def _overlap(x, t, m, activation, squared, soft):
    """``(I, P, T)`` summed over axis 1 of ``[G, N, C]`` arrays, ``p = activation(x)`` masked by ``m``.

    ``t`` is a ``[G, N, C]`` float map or ``[G, N]`` integer class indices (no gradient).
    With ``soft`` (MONAI's ``soft_label``), ``I = sum min(p, t) = sum (p + t - |p - t|) / 2``.
    """
    return _overlap_fwd(x, t, m, activation, squared, soft)[0]


def _parts(
    x: jax.Array, t: jax.Array, m: jax.Array | None, activation: Activation
) -> tuple[Any, ...]:
    k = _Classes(x.shape[-1] <= UNROLL, x.shape[-1])
    ps, ts = k.probabilities(x, activation), k.targets(t, x.dtype)
    if m is None:
        return k, ps, ts, None, ps, ts
    mk = k.pixel(m)
    return k, ps, ts, mk, [p * mk for p in ps], [u * mk for u in ts]


def _overlap_fwd(x, t, m, activation, squared, soft):
    k, _, _, _, pms, tms = _parts(x, t, m, activation)
    inter = k.join(
        [jnp.sum(jnp.minimum(p, u) if soft else p * u, axis=1) for p, u in zip(pms, tms)]
    )
    pred = k.join([jnp.sum(jnp.square(p) if squared else p, axis=1) for p in pms])
    true = k.join([jnp.sum(jnp.square(u) if squared else u, axis=1) for u in tms])
    return (inter, pred, true), (x, t, m)


def _overlap_bwd(activation, squared, soft, res, g):
    x, t, m = res
    # Recomputed: under jit XLA shares it with the forward pass.
    k, ps, ts, mk, pms, tms = _parts(x, t, m, activation)
    g_i, g_p, g_t = (k.split(gi[:, None, :]) for gi in g)
    if soft:  # d min(p, t) = (1 -+ sign(p - t)) / 2: |p - t| has subgradient 0 at p = t (torch's)
        di_p = [(1 - jnp.sign(p - u)) / 2 for p, u in zip(pms, tms)]
        di_t = [(1 + jnp.sign(p - u)) / 2 for p, u in zip(pms, tms)]
    else:
        di_p, di_t = tms, pms
    d_pm = [gi * dp + (2 * gp * p if squared else gp) for gi, gp, p, dp in zip(g_i, g_p, pms, di_p)]
    d_tm = [gi * dt + (2 * gt * u if squared else gt) for gi, gt, u, dt in zip(g_i, g_t, tms, di_t)]
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


def ratio(numerator: jax.Array, denominator: jax.Array) -> jax.Array:
    """``numerator / denominator``, 1 where the denominator is 0 (empty prediction and target
    with zero smoothing: a perfect match) with a zero gradient there."""
    empty = denominator == 0
    # Double where: the 0/0 branch must not leak NaN into the gradient.
    return jnp.where(
        empty, jnp.ones((), numerator.dtype), numerator / jnp.where(empty, 1, denominator)
    )


class Sums(NamedTuple):
    """The overlap sums of a batch (from :func:`overlap_sums`).

    Attributes:
      inter: ``[B, C']`` (``[C']`` with ``batch=True``) ``I = sum p t``.
      pred: ``P = sum p`` (``sum p^2`` when squared), same shape.
      true: ``T = sum t`` (``sum t^2`` when squared), same shape.
      bad: batch items with out-of-range labels, broadcastable to the sums, or ``None``.
    """

    inter: jax.Array
    pred: jax.Array
    true: jax.Array
    bad: jax.Array | None


def overlap_sums(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    activation: Activation,
    include_background: bool,
    ignore_index: int | None,
    squared: bool,
    batch: bool,
    axis: int = -1,
    soft_label: bool = False,
    classes: Sequence[int] | None = None,
) -> Sums:
    """The :func:`class_maps` prologue, then the sums of the overlap core, class 0 dropped if asked.

    ``classes`` (static indices of the input's class axis, smp's ``classes``) keeps only those
    classes, in the given order, after ``include_background``.
    """
    prep = class_maps(predictions, targets, activation, ignore_index, one_hot=False, axis=axis)
    # [G, N, C]: one reduction over a single axis (XLA CPU reduces that ~2x faster than
    # over several spatial axes); G = batch, or 1 with batch=True.
    groups = 1 if batch else prep.x.shape[0]
    x = grouped(prep.x, groups, prep.x.shape[-1])
    m = None if prep.m is None else grouped(prep.m, groups, 1)
    # Integer targets enter the core as [G, N] indices: no one-hot map is materialised.
    if prep.labels is None:
        assert prep.t is not None
        t = prep.t.reshape(x.shape)
    else:
        t = prep.labels.reshape(x.shape[:-1])
    # soft_label only changes I for the unsquared sums: MONAI's squared form is sum p t either way.
    soft = soft_label and not squared and prep.labels is None
    inter, pred, true = cast(
        "tuple[jax.Array, jax.Array, jax.Array]", _overlap(x, t, m, activation, squared, soft)
    )
    if batch:
        inter, pred, true = inter[0], pred[0], true[0]
    if not include_background:
        if prep.x.shape[-1] == 1:
            warnings.warn(
                f"{function_name()}: single channel prediction, "
                "include_background=False ignored (as MONAI)",
                stacklevel=3,
            )
        else:
            inter, pred, true = inter[..., 1:], pred[..., 1:], true[..., 1:]
    if classes is not None:
        keep = _class_subset(classes, prep.x.shape[-1], include_background or prep.x.shape[-1] == 1)
        inter, pred, true = inter[..., keep], pred[..., keep], true[..., keep]
    bad = prep.bad
    if bad is not None:
        bad = jnp.any(bad) if batch else bad[:, None]
    return Sums(inter, pred, true, bad)


def _class_subset(classes: Sequence[int], num_classes: int, background: bool) -> np.ndarray:
    """Positions of ``classes`` (indices of the input class axis) in the sums (class 0 dropped
    unless ``background``)."""
    name = function_name()
    if is_traced(classes):
        raise TypeError(
            f"{name}: classes must be a static sequence of class indices, not a traced array"
        )
    keep = np.asarray(classes)
    if keep.ndim != 1 or keep.size == 0 or not np.issubdtype(keep.dtype, np.integer):
        raise ValueError(
            f"{name}: classes must be a non-empty sequence of integer class indices, got {classes!r}"
        )
    if np.any(keep < 0) or np.any(keep >= num_classes) or len(set(keep.tolist())) != keep.size:
        raise ValueError(
            f"{name}: classes={list(keep.tolist())} must be distinct indices in [0, {num_classes}) "
            f"(predictions has {num_classes} classes)"
        )
    if not background:
        if np.any(keep == 0):
            raise ValueError(
                f"{name}: classes={list(keep.tolist())} names class 0, which include_background=False "
                "drops; leave 0 out of classes or pass include_background=True"
            )
        keep = keep - 1
    return keep


def class_weighted(loss: jax.Array, class_weights: ArrayLike | None) -> jax.Array:
    """MONAI's ``weight``: the per-class loss is multiplied (not a weighted mean)."""
    if class_weights is None or loss.shape[-1] == 1:
        return loss
    w = param(class_weights, loss.dtype)
    contracts.rank(w, {0, 1}, "class_weights", "a scalar or one weight per (kept) class")
    if w.ndim == 1:
        contracts.shape_is(
            w,
            (loss.shape[-1],),
            "class_weights",
            "one weight per class, without class 0 when include_background=False",
        )
    if not is_traced(w) and bool(np.any(np.asarray(w) < 0)):
        raise ValueError(f"{function_name()}: class_weights must be >= 0")
    return loss * jnp.broadcast_to(w, loss.shape)


def finish(
    loss: jax.Array,
    sums: Sums,
    weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: Reduction,
) -> jax.Array:
    """NaN for the batch items with out-of-range labels, then the shared reduction."""
    loss = poison(loss, sums.bad)
    return reduce(loss, reduction, weights=weights, where=where)


AbsentClasses: TypeAlias = Literal["keep", "zero"]


def sums_d1(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    activation: Activation,
    include_background: bool,
    ignore_index: int | None,
    squared: bool,
    batch: bool,
    axis: int,
    soft_label: bool,
    classes: Sequence[int] | None,
    per_class: bool,
    class_weights: ArrayLike | None,
    absent_classes: AbsentClasses,
    min_denominator: float | ArrayLike,
) -> Sums:
    """The checked overlap sums; with ``per_class=False`` summed over the classes (one ``[..., 1]``
    column: Keras's ``axis=None`` pooling of every element and channel)."""
    contracts.choice(absent_classes, ("keep", "zero"), "absent_classes")
    contracts.bounded(min_denominator, "min_denominator", ge=0)
    if not per_class and class_weights is not None:
        raise ValueError(
            f"{contracts.function_name()}: class_weights needs per_class=True "
            "(per_class=False pools every class into one score)"
        )
    sums = overlap_sums(
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
    )
    if per_class:
        return sums
    inter, pred, true = (jnp.sum(a, axis=-1, keepdims=True) for a in sums[:3])
    return Sums(inter, pred, true, sums.bad)


def floored(
    numerator: jax.Array, denominator: jax.Array, min_denominator: float | ArrayLike, scale: float
) -> jax.Array:
    """``numerator / max(denominator, scale * min_denominator)`` (smp's ``clamp_min(eps)`` of its
    Tversky-form denominator, which is ``1 / scale`` of ours); 0/0 is 1 (:func:`ratio`)."""
    if not is_traced(min_denominator) and not np.any(np.asarray(min_denominator)):
        return ratio(numerator, denominator)
    floor = scale * param(min_denominator, denominator.dtype)
    return ratio(numerator, jnp.maximum(denominator, floor))


def error(score: jax.Array, log_loss: bool, min_denominator: float | ArrayLike) -> jax.Array:
    """``1 - score``, or smp's ``log_loss``: ``-log(max(score, min_denominator))``, with the floor
    never below the smallest normal number (a finite loss, zero gradient below the floor)."""
    if not log_loss:
        return 1 - score
    floor = jnp.maximum(param(min_denominator, score.dtype), jnp.finfo(score.dtype).tiny)
    return -jnp.log(jnp.maximum(score, floor))


def complete(
    loss: jax.Array,
    sums: Sums,
    *,
    absent_classes: AbsentClasses,
    per_class: bool,
    class_weights: ArrayLike | None,
    weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: Reduction,
) -> jax.Array:
    """smp's absent-class zeroing, MONAI's class weights, then :func:`finish`."""
    # smp: a class without target pixels contributes 0 (and stays in the mean)
    if absent_classes == "zero":
        loss = jnp.where(sums.true > 0, loss, jnp.zeros((), loss.dtype))
    loss = class_weighted(loss, class_weights)
    if not per_class:
        loss = loss[..., 0]
        if sums.bad is not None and sums.bad.ndim:
            sums = sums._replace(bad=sums.bad[..., 0])
    return finish(loss, sums, weights, where, reduction)
