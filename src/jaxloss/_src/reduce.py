"""The one reduction path of the library.

Every loss ends in :func:`reduce`, so ``weights``, ``where``, ``ignore_index``
and the "nothing valid gives 0 with zero gradients" rule behave identically
across the library.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .contracts import function_name
from .numerics import _is_array, compute_dtype

REDUCTIONS = ("mean", "sum", "none")
# PML's AvgNonZeroReducer; only where a loss ends in the shared reduction (see check_reduction).
NONZERO = "mean_nonzero"


def broadcast(x: Any, shape: tuple[int, ...], what: str, dtype: Any = None) -> jax.Array:
    """``x`` broadcast to ``shape`` (NumPy rules), or a ``ValueError`` naming ``what``."""
    x = jnp.asarray(x) if dtype is None else jnp.asarray(x, dtype=dtype)
    try:
        target = np.broadcast_shapes(x.shape, shape)
    except ValueError:
        target = None
    if target != tuple(shape):
        raise ValueError(
            f"{function_name()}: {what} has shape {tuple(x.shape)}, which does not broadcast "
            f"to the unreduced loss shape {tuple(shape)}"
        )
    return jnp.broadcast_to(x, shape)


def combine_masks(shape: tuple[int, ...], *masks: Any) -> jax.Array | None:
    """Logical AND of the non-``None`` masks, broadcast to ``shape``."""
    out = None
    for m in masks:
        if m is None:
            continue
        m = broadcast(m, shape, "where", dtype=bool)
        out = m if out is None else out & m
    return out


def entry_mask(shape: tuple[int, ...], axis: int, axis_where: Any, where: Any) -> jax.Array | None:
    """The entries of a ``shape`` input that enter a loss reduced along ``axis``: ``axis_where``
    (the input's shape, optax's ``where``) and the rows of ``where`` (the output's shape, one
    value per row), combined; ``None`` when neither is given."""
    include = None if axis_where is None else broadcast(axis_where, shape, "axis_where", dtype=bool)
    if where is not None:
        rows = jnp.expand_dims(broadcast(where, shape[:axis] + shape[axis + 1 :], "where", dtype=bool), axis)
        include = rows if include is None else include & rows
    return include


def sanitize(x: jax.Array, mask: jax.Array | None, fill: float = 0.0) -> jax.Array:
    """Replaces masked-out entries by ``fill`` before the formula runs.

    This is the first half of the double-``where``: it keeps NaN/inf (or a
    singular point of the formula) at masked entries out of the gradient.
    """
    if mask is None:
        return x
    return jnp.where(broadcast(mask, x.shape, "where", dtype=bool), x, jnp.asarray(fill, x.dtype))


def check_reduction(reduction: str, *, own_rule: bool = False) -> None:
    """A known reduction. A loss whose mean has its own normaliser (not the shared
    :func:`reduce`) passes ``own_rule=True`` and refuses ``"mean_nonzero"`` by name."""
    if reduction == NONZERO and own_rule:
        raise ValueError(
            f"{function_name()}: reduction='mean_nonzero' (PML's AvgNonZeroReducer) is not "
            f"offered: this loss's mean has its own normaliser; use one of {REDUCTIONS}"
        )
    if reduction not in (*REDUCTIONS, NONZERO):
        raise ValueError(
            f"{function_name()}: reduction must be one of {(*REDUCTIONS, NONZERO)}, got {reduction!r}"
        )


def _leaf_terms(loss, weights, where, valid, normalizer, nonzero=False):
    loss = jnp.asarray(loss)
    shape = loss.shape
    mask = combine_masks(shape, where, valid)
    value = loss
    scale = None
    if weights is not None:
        scale = broadcast(weights, shape, "weights", dtype=loss.dtype)
        value = value * scale
    if normalizer is not None:
        n = broadcast(normalizer, shape, "normalizer", dtype=loss.dtype)
        scale = n if scale is None else scale * n
    if mask is not None:
        value = jnp.where(mask, value, jnp.zeros((), loss.dtype))
        scale = mask.astype(loss.dtype) if scale is None else jnp.where(mask, scale, 0)
    if nonzero:
        positive = jax.lax.stop_gradient(loss) > 0
        scale = positive.astype(loss.dtype) if scale is None else jnp.where(positive, scale, 0)
    denominator = jnp.asarray(loss.size, loss.dtype) if scale is None else jnp.sum(scale)
    return value, denominator


def leaves_like(tree: Any, like: Any, what: str) -> list:
    """Leaves of ``tree`` aligned with the leaves of ``like`` (``None`` -> all ``None``)."""
    n = len(jax.tree.leaves(like))
    if tree is None:
        return [None] * n
    if _is_array(tree) or np.isscalar(tree):
        if n == 1:
            return [tree]
        raise ValueError(
            f"{function_name()}: {what} must be a pytree matching the loss pytree "
            f"({n} leaves), got a single array"
        )
    leaves = jax.tree.leaves(tree)
    if jax.tree.structure(tree) != jax.tree.structure(like):
        raise ValueError(
            f"{function_name()}: {what} has pytree structure {jax.tree.structure(tree)} but "
            f"the loss has structure {jax.tree.structure(like)}"
        )
    return leaves


def reduce(
    loss: Any,
    reduction: str = "mean",
    *,
    weights: Any = None,
    where: Any = None,
    valid: Any = None,
    normalizer: Any = None,
) -> Any:
    """The one reduction path of the library.

    Args:
      loss: unreduced loss, an array or a pytree of arrays.
      reduction: ``"mean"``: ``sum(w * l * m) / sum(w * n * m)``; ``"sum"``:
        ``sum(w * l * m)``; ``"none"``: ``w * l`` with masked entries set to 0;
        ``"mean_nonzero"`` (PML's ``AvgNonZeroReducer``): ``sum(w * l * m) /
        sum(w * n * m * [l > 0])``, the indicator without gradient.
      weights: user weights broadcastable to ``loss`` (a matching pytree for a
        pytree loss).
      where: user mask broadcastable to ``loss``.
      valid: the loss's own validity mask (``ignore_index``, mining validity).
      normalizer: per-entry weights that enter only the denominator of the mean
        (PyTorch's class weights ``w[y_i]``); the loss already carries them.

    When nothing is valid (or, for ``"mean_nonzero"``, positive), the mean returns ``0``
    with zero gradients.
    """
    check_reduction(reduction)
    leaves, treedef = jax.tree.flatten(loss)
    w_leaves = leaves_like(weights, loss, "weights")
    m_leaves = leaves_like(where, loss, "where")
    v_leaves = leaves_like(valid, loss, "valid")
    n_leaves = leaves_like(normalizer, loss, "normalizer")
    terms = [
        _leaf_terms(*args, nonzero=reduction == NONZERO)
        for args in zip(leaves, w_leaves, m_leaves, v_leaves, n_leaves)
    ]
    if reduction == "none":
        values = [v for v, _ in terms]
        return values[0] if treedef.num_leaves == 1 and _is_array(loss) else treedef.unflatten(values)
    dtype = compute_dtype(*(v for v, _ in terms))
    total = sum((jnp.sum(v).astype(dtype) for v, _ in terms), jnp.zeros((), dtype))
    if reduction == "sum":
        return total
    denominator = sum((d.astype(dtype) for _, d in terms), jnp.zeros((), dtype))
    # Double where: the untaken 0/0 branch must not leak NaN into the gradient.
    empty = denominator == 0
    return jnp.where(empty, jnp.zeros((), dtype), total / jnp.where(empty, 1, denominator))
