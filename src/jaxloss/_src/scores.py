"""The class-scores prologue: logits (or decision values) and their labels.

:func:`class_scores` prepares ``[..., C, ...]`` scores with integer class
indices or probability labels; :func:`binary_scores` prepares one score per
entry with same-shape labels. Both return a :class:`Scores`, whose ``valid``,
``bad`` and ``where`` fields go to :func:`~jaxloss._src.reduce.reduce` and
:func:`~jaxloss._src.labels.poison`. The gather/indicator/smoothing pieces the
formulas share live here too.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import contracts
from .contracts import function_name
from .elementwise import pair
from .labels import class_labels, poison
from .numerics import compute_dtype, param, upcast
from .reduce import broadcast, sanitize

__all__ = [
    "Scores",
    "binary_scores",
    "class_scores",
    "is_class_indices",
    "is_label",
    "is_zero",
    "smooth",
    "take",
]


class Scores(NamedTuple):
    """Scores and labels ready for a formula.

    Attributes:
      logits: the scores in the compute dtype. From :func:`class_scores`:
        ``[..., C]`` with the class axis moved last; from :func:`binary_scores`:
        the input shape. Entries masked out by ``where`` are 0.
      labels: integer labels: ``[...]`` ``int32`` class indices, out-of-range
        ones replaced by 0 so they can index; probability labels: ``[..., C]`` in
        the compute dtype (masked rows 0); binary labels: same shape as
        ``logits``, probabilities or ``+-1`` signs (``signed=True``).
      integer: whether ``labels`` are class indices.
      valid: ``labels != ignore_index`` (``None`` without ``ignore_index``):
        the ``valid=`` of ``reduce``.
      bad: out-of-range class indices that are not ignored (``None`` for
        probability or binary labels); the loss must be NaN there
        (:meth:`poisoned`), never a finite wrong value.
      where: the user mask broadcast to the per-example shape (``None`` when not
        given): the ``where=`` of ``reduce``.
    """

    logits: jax.Array
    labels: jax.Array
    integer: bool
    valid: jax.Array | None
    bad: jax.Array | None
    where: jax.Array | None

    def poisoned(self, loss: jax.Array) -> jax.Array:
        """``loss`` with NaN at out-of-range labels (a no-op without ``bad``)."""
        return poison(loss, self.bad)


def class_scores(
    logits: Any,
    labels: Any,
    *,
    axis: int | None = -1,
    ignore_index: int | None = None,
    where: Any = None,
    integer_only: bool = False,
    what: str = "logits",
) -> Scores:
    """Checks ``[..., C, ...]`` scores and integer or probability labels; upcasts; masks.

    Integer labels have the shape of ``logits`` without ``axis``, probability
    labels the shape of ``logits`` (decided by dtype). ``axis=None`` means the
    classes are fixed on the last axis (the loss has no ``axis`` option);
    ``integer_only`` rejects probability labels with ``TypeError``; ``what``
    names ``logits`` in messages. Out-of-range labels raise eagerly (see
    :func:`~jaxloss._src.labels.class_labels`).
    """
    name = function_name()
    contracts.floating(**{what: logits})
    if integer_only:
        contracts.integer(labels=labels)
    contracts.min_rank(logits, 1, what)
    shape = tuple(np.shape(logits))
    ax = len(shape) - 1 if axis is None else contracts.axis_index(axis, len(shape), what)
    out_shape = shape[:ax] + shape[ax + 1 :]
    without = "the last (class) axis" if axis is None else f"axis {axis}"
    dtype = contracts._dtype(labels)
    integer = bool(jnp.issubdtype(dtype, jnp.integer))
    if integer:
        if tuple(np.shape(labels)) != out_shape:
            raise ValueError(
                f"{name}: labels has shape {tuple(np.shape(labels))} but {what} has shape "
                f"{shape}; integer labels must have {what}.shape without {without}"
            )
    elif jnp.issubdtype(dtype, jnp.floating):
        if tuple(np.shape(labels)) != shape:
            raise ValueError(
                f"{name}: labels has shape {tuple(np.shape(labels))} but {what} has shape "
                f"{shape}; probability labels must have the shape of {what}"
            )
        if ignore_index is not None:
            raise ValueError(f"{name}: ignore_index applies to integer labels only")
    else:
        raise TypeError(
            f"{name}: labels must be integer class indices or floating probabilities, "
            f"got dtype {dtype}"
        )
    x, probs = upcast(logits, None if integer else labels)
    x = jnp.moveaxis(x, ax, -1)
    mask = None if where is None else broadcast(where, out_shape, "where", dtype=bool)
    if mask is not None:
        x = sanitize(x, mask[..., None])
    if integer:
        safe, valid, bad = class_labels(labels, shape[ax], ignore_index=ignore_index)
        return Scores(x, safe, True, valid, bad, mask)
    probs = jnp.moveaxis(probs, ax, -1)
    if mask is not None:
        probs = sanitize(probs, mask[..., None])
    return Scores(x, probs, False, None, None, mask)


def binary_scores(
    logits: Any,
    labels: Any,
    *,
    where: Any = None,
    signed: bool = False,
    what: str = "logits",
    hint: str = "",
) -> Scores:
    """Checks same-shape scores and binary labels; upcasts; applies ``where``.

    ``signed=False``: ``labels`` are targets in ``[0, 1]`` (any numeric dtype),
    upcast with the scores. ``signed=True``: ``{-1, +1}`` or ``{0, 1}`` labels
    (numeric or boolean) become ``+-1`` (every label ``> 0`` is positive; a NaN
    label stays NaN). ``hint`` is added to a shape mismatch message.
    """
    if not signed:
        (x, y), mask = pair(logits, labels, where=where, names=(what, "labels"), hint=hint)
        return Scores(x, y, False, None, None, mask)
    dtype = contracts._dtype(labels)
    contracts.floating(**{what: logits})
    contracts.same_shape(hint, **{what: logits, "labels": labels})
    if not (jnp.issubdtype(dtype, jnp.number) or dtype == jnp.bool_):
        raise TypeError(f"{function_name()}: labels must be numeric, got {dtype}")
    (x,), mask = pair(logits, where=where, names=(what,), dtype=compute_dtype(logits, labels))
    return Scores(x, _signed(labels, x.dtype), False, None, None, mask)


def _signed(labels: Any, dtype: Any) -> jax.Array:
    """``{0, 1}`` or ``{-1, +1}`` labels (numeric or boolean) as ``+-1`` in ``dtype``."""
    labels = jnp.asarray(labels)
    positive = labels > jnp.zeros((), labels.dtype)
    signs = jnp.where(positive, jnp.ones((), dtype), -jnp.ones((), dtype))
    if jnp.issubdtype(labels.dtype, jnp.floating):
        # A NaN label has no sign: it must reach the loss (NaN in, NaN out), not read as -1.
        signs = jnp.where(jnp.isnan(labels), jnp.asarray(jnp.nan, dtype), signs)
    return signs


def is_class_indices(logits: Any, labels: Any) -> bool:
    """Integer labels with one axis fewer than ``logits``: class indices over the last axis."""
    return bool(jnp.issubdtype(contracts._dtype(labels), jnp.integer)) and \
        np.ndim(labels) == np.ndim(logits) - 1


def take(x: jax.Array, index: jax.Array) -> jax.Array:
    """``x[..., index]`` along the last axis (a gather, no one-hot)."""
    return jnp.take_along_axis(x, index[..., None], axis=-1)[..., 0]


def is_label(labels: jax.Array, num_classes: int) -> jax.Array:
    """Boolean ``[..., C]``: ``True`` at each entry's class (broadcast, never a one-hot matmul)."""
    return jax.lax.broadcasted_iota(labels.dtype, (*labels.shape, num_classes), labels.ndim) == \
        labels[..., None]


def is_zero(x: Any) -> bool:
    """A literal Python zero: a static fast path (traced values take the general path)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == 0


def smooth(probs: jax.Array, label_smoothing: Any) -> jax.Array:
    """``(1 - eps) * probs + eps / C`` over the last axis; ``probs`` itself for a literal 0."""
    if is_zero(label_smoothing):
        return probs
    eps = param(label_smoothing, probs.dtype)
    return (1 - eps) * probs + eps / probs.shape[-1]
