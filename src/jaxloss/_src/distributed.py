"""Losses over a batch sharded along a mapped axis (``shard_map``/``pmap``).

:func:`gather_batch` builds the global candidate set, :func:`global_index` places
this device's rows in it, and :func:`global_reduce` makes ``"mean"``/``"sum"``
the single-device values on the concatenated batch.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .reduce import NONZERO, check_reduction, reduce
from .types import ArrayLike, ArrayTree, Reduction

__all__ = ["gather_batch", "global_index", "global_reduce"]


def gather_batch(x: ArrayTree, axis_name: str | None) -> ArrayTree:
    """Concatenates ``x`` (a pytree with a leading batch axis) over the devices of
    ``axis_name``, in device order; returns ``x`` unchanged when ``axis_name`` is ``None``.

    Used by the losses that draw negatives from the global batch under
    ``shard_map``/``pmap``.

    Args:
      x: a pytree of arrays ``[local_batch, ...]``.
      axis_name: the mapped axis to gather over, or ``None``.

    Returns:
      The pytree with leaves ``[devices * local_batch, ...]`` (``x`` itself for ``None``).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.gather_batch(jnp.ones((2, 3)), None).shape
      (2, 3)
    """
    if axis_name is None:
        return x
    return jax.tree.map(lambda a: jax.lax.all_gather(a, axis_name, axis=0, tiled=True), x)


def global_index(n_local: int, axis_name: str | None) -> jax.Array:
    """``[n_local]`` indices of this device's rows in the batch gathered over ``axis_name``
    (``arange(n_local)`` on one device)."""
    # int32 throughout: axis_index is int32 and x64 must not promote (strict promotion).
    offset = 0 if axis_name is None else jax.lax.axis_index(axis_name) * n_local
    return offset + jnp.arange(n_local, dtype=jnp.int32)


def global_reduce(
    loss: jax.Array,
    reduction: Reduction,
    axis_name: str | None,
    *,
    weights: ArrayLike | None,
    where: ArrayLike | None,
    valid: ArrayLike | None = None,
    normalizer: ArrayLike | None = None,
) -> jax.Array:
    """:func:`~jaxloss._src.reduce.reduce`, global over ``axis_name`` for ``"mean"``/``"sum"``.

    The numerator and the denominator of the mean are each ``psum``-ed, so the
    result equals the single-device mean on the concatenated batch; ``"none"``
    is this device's share.
    """
    check_reduction(reduction)
    if axis_name is None or reduction == "none":
        return reduce(loss, reduction, weights=weights, where=where, valid=valid, normalizer=normalizer)
    total = jax.lax.psum(
        reduce(loss, "sum", weights=weights, where=where, valid=valid, normalizer=normalizer),
        axis_name,
    )
    if reduction == "sum":
        return total
    count = jnp.ones_like(loss) if normalizer is None else jnp.asarray(normalizer, loss.dtype)
    if reduction == NONZERO:
        count = jnp.where(jax.lax.stop_gradient(loss) > 0, count, 0)
    count = jax.lax.psum(reduce(count, "sum", weights=weights, where=where, valid=valid), axis_name)
    empty = count == 0
    # Double where: the untaken 0/0 branch must not leak NaN into the gradient.
    return jnp.where(empty, jnp.zeros((), total.dtype), total / jnp.where(empty, 1, count))
