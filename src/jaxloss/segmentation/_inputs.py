"""The segmentation prologues: dense class maps and binary maps, channel-last.

Layout is channel-last, the JAX convention: ``predictions`` are ``[batch,
*spatial, classes]`` (MONAI is channel-first ``[batch, classes, *spatial]``).
``targets`` are integer class indices ``[batch, *spatial]`` or one-hot /
probability maps with the shape of ``predictions``. With a single channel
(binary segmentation, ``activation="sigmoid"``) integer targets are the binary
mask itself (values 0 and 1), as MONAI uses a one-channel target.
"""

from __future__ import annotations

import functools
import math
from typing import Literal, NamedTuple, TypeAlias

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .._src import contracts
from .._src.contracts import function_name
from .._src.labels import class_labels
from .._src.numerics import rows, upcast

__all__: list[str] = []

Activation: TypeAlias = Literal["softmax", "sigmoid"] | None
ACTIVATIONS = ("softmax", "sigmoid", None)

# Up to this many classes the dense losses work on one slice per class: XLA CPU is slow at
# softmax/reductions over a short channel-last axis (3x for 4 classes; break-even near 10) and
# at gathers along it (``take_along_axis``; its transpose is a scatter-add).
UNROLL = 8


class ClassMaps(NamedTuple):
    """Checked inputs of a dense class-map loss, channel-last (from :func:`class_maps`).

    Attributes:
      x: ``[B, *S, C]`` predictions in the compute dtype (before the activation).
      t: ``[B, *S, C]`` float targets (one-hot for integer targets, unmasked); ``None``
        for multi-class integer targets with ``one_hot=False`` (then ``labels`` holds them).
      m: ``[B, *S, 1]`` pixel mask from ``ignore_index`` (1 = counted), or ``None``.
      bad: ``[B]`` batch items holding out-of-range integer labels, or ``None``.
      labels: ``[B, *S]`` in-range class indices (multi-class integer targets), or ``None``.
    """

    x: jax.Array
    t: jax.Array | None
    m: jax.Array | None
    bad: jax.Array | None
    labels: jax.Array | None = None


def channel_last(
    predictions: ArrayLike, targets: ArrayLike, axis: int
) -> tuple[ArrayLike, ArrayLike]:
    """Moves the class ``axis`` of ``predictions`` (and of same-rank targets) to the end.

    Integer targets omit the class axis (``[batch, *spatial]``); channels-first ones may also
    carry it with size 1 (MONAI's ``[B, 1, *spatial]`` label maps), which is dropped.
    """
    name = function_name()
    ndim = np.ndim(predictions)
    contracts.min_rank(predictions, 3, "predictions ([batch, *spatial, classes])")
    ax = contracts.axis_index(axis, ndim, "predictions")
    if ax == 0:
        raise ValueError(
            f"{name}: axis={axis} is the batch axis; the class axis is axis=-1 (channel-last, "
            "the default) or axis=1 (channels-first, MONAI's layout)"
        )
    shape = tuple(np.shape(predictions))
    tshape = tuple(np.shape(targets))
    integer = jnp.issubdtype(contracts._dtype(targets), jnp.integer)
    if (
        integer
        and ax != ndim - 1
        and len(tshape) == ndim
        and tshape == (*shape[:ax], 1, *shape[ax + 1 :])
    ):
        targets = jnp.squeeze(jnp.asarray(targets), axis=ax)
    elif ax != ndim - 1 and len(tshape) == ndim:
        targets = jnp.moveaxis(jnp.asarray(targets), ax, -1)
    if ax != ndim - 1:
        predictions = jnp.moveaxis(jnp.asarray(predictions), ax, -1)
    return predictions, targets


def _layout_hint(shape: tuple[int, ...], tshape: tuple[int, ...]) -> str:
    """A hint for channels-first predictions with integer targets under the default ``axis=-1``."""
    return " (channels-first input? pass axis=1)" if tshape == shape[:1] + shape[2:] else ""


def class_maps(
    predictions: ArrayLike,
    targets: ArrayLike,
    activation: Activation,
    ignore_index: int | None,
    one_hot: bool = True,
    axis: int = -1,
) -> ClassMaps:
    """Checks shapes/dtypes and turns integer targets into one-hot maps plus a pixel mask.

    The class ``axis`` is moved to the end first (:func:`channel_last`); every returned
    array is channel-last. With ``one_hot=False`` multi-class integer targets are
    returned as ``labels`` (in-range class indices) and ``t`` is ``None``.

    ``ignore_index`` follows MONAI's ``create_ignore_mask``: integer targets (and
    one-channel float targets) exclude the pixels equal to it; one-hot targets
    exclude the pixels of class ``ignore_index`` when it is a class index, and
    the all-zero pixels when it is a sentinel outside ``[0, C)``.
    """
    name = function_name()
    contracts.choice(activation, ACTIVATIONS, "activation")
    contracts.floating(predictions=predictions)
    predictions, targets = channel_last(predictions, targets, axis)
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
                + _layout_hint(shape, tshape)
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
        return ClassMaps(x, t, m, bad, None if binary else safe)
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
    return ClassMaps(x, t, m, None)


class BinaryMaps(NamedTuple):
    """Checked inputs of a binary-map loss (from :func:`binary_maps`).

    Attributes:
      x: ``[B, *S]`` logits in the compute dtype.
      t: ``[B, *S]`` float 0/1 targets (0 at ignored pixels).
      valid: ``[B, *S]`` boolean mask of the counted pixels, or ``None`` (all counted).
      bad: ``[B]`` batch items holding out-of-range integer labels, or ``None``.
    """

    x: jax.Array
    t: jax.Array
    valid: jax.Array | None
    bad: jax.Array | None


def binary_maps(logits: ArrayLike, targets: ArrayLike, ignore_index: int | None) -> BinaryMaps:
    """Checks ``[batch, *spatial]`` logits and same-shape binary (integer or float) targets."""
    contracts.floating(logits=logits)
    contracts.min_rank(logits, 2, "logits ([batch, *spatial])")
    contracts.same_shape(logits=logits, targets=targets)
    if jnp.issubdtype(contracts._dtype(targets), jnp.integer):
        safe, valid, bad = class_labels(targets, 2, ignore_index=ignore_index, what="targets")
        (x,) = upcast(logits)
        return BinaryMaps(x, safe.astype(x.dtype), valid, jnp.any(rows(bad), axis=1))
    x, t = upcast(logits, targets)
    valid = None
    if ignore_index is not None:
        valid = t != ignore_index
        t = jnp.where(valid, t, 0)
    return BinaryMaps(x, t, valid, None)


def activate(x: jax.Array, activation: Activation) -> jax.Array:
    """``softmax`` over the class axis, ``sigmoid`` per channel, or ``x`` itself."""
    if activation == "softmax":
        return jax.nn.softmax(x, axis=-1)
    if activation == "sigmoid":
        return jax.nn.sigmoid(x)
    return x


def grouped(a: jax.Array, groups: int, last: int) -> jax.Array:
    """``a.reshape(groups, -1, last)``, also for an empty batch (where ``-1`` is ambiguous)."""
    return a.reshape(groups, math.prod(a.shape) // max(groups * last, 1), last)


def class_slices(x: jax.Array) -> list[jax.Array] | None:
    """The slices ``x[..., c]`` of a channel-last array with at most :data:`UNROLL` classes, else ``None``."""
    classes = x.shape[-1]
    return [x[..., c] for c in range(classes)] if classes <= UNROLL else None


def max_and_logsumexp(xs: list[jax.Array]) -> tuple[jax.Array, jax.Array]:
    """``(top, lse)`` of the class slices ``xs``: the max (without gradient) and
    ``log(sum(exp(x - top)))``, so that ``log_softmax(x)_c = (x_c - top) - lse``."""
    top = jax.lax.stop_gradient(functools.reduce(jnp.maximum, xs))
    return top, jnp.log(functools.reduce(jnp.add, [jnp.exp(a - top) for a in xs]))


def log_softmax_slices(xs: list[jax.Array]) -> list[jax.Array]:
    """``jax.nn.log_softmax`` over the class slices ``xs`` (same steps: the max shift without
    gradient, then ``shifted - log(sum(exp(shifted)))``)."""
    top, lse = max_and_logsumexp(xs)
    return [(a - top) - lse for a in xs]


def softmax_slices(xs: list[jax.Array]) -> list[jax.Array]:
    """``jax.nn.softmax`` over the class slices ``xs`` (the max shift without gradient, then
    ``exp(shifted) / sum``)."""
    top = jax.lax.stop_gradient(functools.reduce(jnp.maximum, xs))
    es = [jnp.exp(a - top) for a in xs]
    total = functools.reduce(jnp.add, es)
    return [e / total for e in es]


def pick(labels: jax.Array, values: list[jax.Array] | jax.Array) -> jax.Array:
    """``values[labels]`` per pixel: a select per class (no gather), ``values`` the class slices
    ``[B, *S]`` (or a ``[C]`` vector)."""
    out = None
    for c in range(len(values)):
        v = values[c]
        term = jnp.where(labels == c, v, jnp.zeros((), v.dtype))
        out = term if out is None else out + term
    assert out is not None
    return out
