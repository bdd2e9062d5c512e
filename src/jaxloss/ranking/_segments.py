"""Segments: several lists packed along the list axis (rax ``segments``).

Private helpers of the ranking family. ``segments`` is an integer
``[..., list_size]`` array, one id per item; items with the same id form one
list. Everything goes through masked ``[..., L, L]`` same-segment matrices, as
rax does, so shapes stay static under ``jit``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.reduce import reduce
from .._src.types import ArrayLike, Reduction

__all__: list[str] = []


def check_segments(segments: ArrayLike | None, scores: jax.Array) -> jax.Array | None:
    """``segments`` as an integer array of the scores' shape (or ``None``)."""
    if segments is None:
        return None
    contracts.same_shape(scores=scores, segments=segments)
    contracts.integer(segments=segments)
    return jnp.asarray(segments)


def pair_mask(
    mask: jax.Array | None, segments: jax.Array | None, shape: tuple[int, ...]
) -> jax.Array:
    """``[..., L, L]``: both items valid and in the same segment."""
    out = jnp.ones((*shape, shape[-1]), bool)
    if mask is not None:
        out = out & mask[..., :, None] & mask[..., None, :]
    if segments is not None:
        out = out & (segments[..., :, None] == segments[..., None, :])
    return out


def group_sum(x: jax.Array, pairs: jax.Array) -> jax.Array:
    """``out_i = sum_j pairs_ij x_j`` (the sum over item ``i``'s segment)."""
    return jnp.sum(jnp.where(pairs, x[..., None, :], 0), axis=-1)


def group_logsumexp(x: jax.Array, pairs: jax.Array) -> jax.Array:
    """``out_i = log sum_j pairs_ij exp(x_j)``; ``-inf`` where row ``i`` is empty.

    The shift (the row maximum) is under ``stop_gradient``, as rax's
    ``segment_log_softmax``; ``x`` must be finite where ``pairs`` is set.
    """
    xx = jnp.where(pairs, x[..., None, :], -jnp.inf)
    any_ = jnp.any(pairs, axis=-1)
    m = jax.lax.stop_gradient(jnp.where(any_, jnp.max(xx, axis=-1), 0))
    total = jnp.sum(jnp.where(pairs, jnp.exp(jnp.where(pairs, xx - m[..., None], 0)), 0), axis=-1)
    # Double where: an empty row must not put log(0) into the gradient.
    return jnp.where(any_, jnp.log(jnp.where(any_, total, 1)) + m, -jnp.inf)


def segment_logsumexp(x: jax.Array, pairs: jax.Array) -> jax.Array:
    """:func:`group_logsumexp` for ``pairs`` from :func:`pair_mask` (same segment, both valid).

    The rows of such a mask are equivalence classes, so the shift ``m_i`` (the row maximum)
    is the same for every ``j`` of row ``i`` and ``exp(x_j - m_i) = exp(x_j - m_j)``: one
    exponential per item instead of one per pair (in the gradient too), the same values.
    """
    any_ = jnp.any(pairs, axis=-1)
    m = jnp.max(jnp.where(pairs, x[..., None, :], -jnp.inf), axis=-1)
    m = jax.lax.stop_gradient(jnp.where(any_, m, 0))
    e = jnp.exp(x - m)
    total = jnp.sum(jnp.where(pairs, e[..., None, :], 0), axis=-1)
    # Double where: an empty row must not put log(0) into the gradient.
    return jnp.where(any_, jnp.log(jnp.where(any_, total, 1)) + m, -jnp.inf)


def first_items(mask: jax.Array | None, segments: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """``[..., L]``: the first valid item of each segment (rax's ``first_item_segment_mask``)."""
    same = pair_mask(mask, segments, shape)
    earlier = jnp.broadcast_to(jnp.tril(jnp.ones((shape[-1], shape[-1]), bool), k=-1), same.shape)
    first = ~jnp.any(same & earlier, axis=-1)
    return first if mask is None else first & mask


def list_reduce(
    per: jax.Array, mask: jax.Array | None, segments: jax.Array | None, reduction: Reduction
) -> jax.Array:
    """Listwise reduction (rax's list mask).

    Without segments ``per`` is ``[...]`` (one value per list) and the mean is
    over lists with at least one valid item. With segments ``per`` is
    ``[..., L]`` (each item carrying its segment's value); only the first valid
    item of each segment keeps it, so ``"none"`` is per item and the mean is
    over segments.
    """
    if segments is None:
        valid = None if mask is None else jnp.any(mask, axis=-1)
    else:
        valid = first_items(mask, segments, per.shape)
    return reduce(per, reduction, valid=valid)


def ranks(values: jax.Array, mask: jax.Array | None, segments: jax.Array | None) -> jax.Array:
    """1-based ranks by decreasing ``values`` within each segment (rax ``utils.ranks``).

    Invalid items rank after the valid ones; ties keep the input order. The
    ranks are integers: they carry no gradient.
    """
    values = jax.lax.stop_gradient(values)
    n = values.shape[-1]
    vi, vj = values[..., :, None], values[..., None, :]
    earlier = jnp.broadcast_to(
        jnp.tril(jnp.ones((n, n), bool), k=-1), (*values.shape, n)
    )  # j before i
    precedes = (vj > vi) | ((vj == vi) & earlier)
    if mask is not None:
        mi, mj = mask[..., :, None], mask[..., None, :]
        precedes = jnp.where(mi == mj, precedes, mj)
    if segments is not None:
        precedes = precedes & (segments[..., :, None] == segments[..., None, :])
    return 1 + jnp.sum(precedes, axis=-1)


def exp2_gain(labels: jax.Array) -> jax.Array:
    """rax's default gain ``2^y - 1``."""
    return jnp.exp2(labels) - 1


def log2_discount(ranks_: jax.Array) -> jax.Array:
    """rax's default discount ``1 / log2(1 + rank)``."""
    return 1 / jnp.log2(1 + ranks_)
