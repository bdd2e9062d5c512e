"""Memory-bounded query/key losses: InfoNCE/CLIP and SigLIP rows, block by block.

Both losses are a sum over the rows of a query/key logit matrix
``s_ij = scale * <q_i, k_j> + bias``. :func:`pair_rows` never forms that matrix:
the keys are visited in chunks of ``chunk_size`` columns (an ``[n, chunk]`` tile at a
time), and across the devices of ``axis_name`` either gathered first
(``cross_device="all_gather"``) or passed around a ring with ``lax.ppermute``
(``"ring"``: device ``d`` sees the key block of device ``d - t`` at step ``t``, so no
device holds more than its own ``[n, m]`` block). A ``custom_vjp`` replays the same
walk in the backward from the saved row statistics (the flash-attention recipe):
each tile's logits are recomputed, and the key cotangents of the ring travel with
their block and are home after a full turn. Memory is ``O(n * chunk)`` in both
passes, not ``O(n * N)``.

Row ``i`` has a target: the global id ``targets[i]`` of its positive key; key ``j``
carries its global id ``key_ids[j]`` (ids that no target uses mark pure negatives).

- ``kind="softmax"`` (InfoNCE): ``logsumexp_j s_ij - sum_j [id_j = t_i] s_ij``, with an
  online (running-max) log-sum-exp per row.
- ``kind="sigmoid"`` (SigLIP): ``sum_j softplus(-s_ij) if id_j = t_i else softplus(s_ij)``.
"""

from __future__ import annotations

import functools
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from .distributed import gather_batch, global_index
from .numerics import l2_normalize

__all__ = ["check_blockwise", "contrastive_rows", "pair_rows"]

Kind = Literal["softmax", "sigmoid"]
CrossDevice = Literal["all_gather", "ring"]
CROSS_DEVICE: tuple[CrossDevice, ...] = ("all_gather", "ring")


def check_blockwise(chunk_size: int | None, cross_device: str, function: str) -> None:
    """Trace-time checks of the static ``chunk_size`` and ``cross_device`` options."""
    if chunk_size is not None and (
        not isinstance(chunk_size, int | np.integer)
        or isinstance(chunk_size, bool)
        or chunk_size < 1
    ):
        raise ValueError(
            f"{function}: chunk_size must be a positive int or None, got {chunk_size!r}"
        )
    if cross_device not in CROSS_DEVICE:
        raise ValueError(
            f"{function}: cross_device must be one of {CROSS_DEVICE}, got {cross_device!r}"
        )


def _varying(x: jax.Array, axis_name: str | None) -> jax.Array:
    """``x`` typed as varying over ``axis_name`` under ``shard_map`` (its cotangent, summed over
    the devices by the transpose of this cast, may then differ per device)."""
    aval = jax.typeof(x)
    manual = getattr(aval, "manual_axis_type", None)
    varying = getattr(manual, "varying", None) if manual is not None else getattr(aval, "vma", None)
    if axis_name is None or axis_name in (varying or ()):
        return x
    return jax.lax.pcast(x, axis_name, to="varying")


def _chunks(keys: jax.Array, ids: jax.Array, chunk: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Keys, ids and a validity mask as ``[chunks, chunk, ...]``, the last chunk zero-padded."""
    m = keys.shape[0]
    count = max(1, -(-m // chunk))
    pad = count * chunk - m
    valid = jnp.arange(count * chunk) < m
    keys = jnp.pad(keys, ((0, pad), (0, 0)))
    ids = jnp.pad(ids, (0, pad), constant_values=-1)
    return (keys.reshape(count, chunk, -1), ids.reshape(count, chunk), valid.reshape(count, chunk))


def _tile(q, kc, idc, valid, targets, scale, bias):
    """One ``[n, chunk]`` tile: similarities, logits and the positive mask."""
    sim = jnp.matmul(q, kc.T, precision="highest")
    positive = (targets[:, None] == idc[None, :]) & valid[None, :]
    return sim, scale * sim + bias, positive


def _block_forward(kind, chunk, q, keys, ids, targets, scale, bias, state) -> tuple[jax.Array, ...]:
    """Folds one key block into the row statistics ``state`` (a tuple of ``[n]`` arrays)."""

    def step(carry, xs):
        kc, idc, valid = xs
        _, s, positive = _tile(q, kc, idc, valid, targets, scale, bias)
        if kind == "sigmoid":
            (total,) = carry
            term = jnp.where(positive, jax.nn.softplus(-s), jax.nn.softplus(s))
            return (total + jnp.sum(jnp.where(valid[None, :], term, 0.0), axis=1),), None
        top, sumexp, pos = carry
        s = jnp.where(valid[None, :], s, -jnp.inf)
        new_top = jnp.maximum(top, jnp.max(s, axis=1))
        # The running max is -inf until a finite logit arrives: shift by 0 then (no inf - inf).
        shift = jnp.where(jnp.isfinite(new_top), new_top, 0.0)
        sumexp = sumexp * jnp.exp(top - shift) + jnp.sum(jnp.exp(s - shift[:, None]), axis=1)
        return (new_top, sumexp, pos + jnp.sum(jnp.where(positive, s, 0.0), axis=1)), None

    state, _ = jax.lax.scan(step, state, _chunks(keys, ids, chunk))
    return state


def _block_backward(kind, chunk, q, keys, ids, targets, scale, bias, lse, g):
    """Cotangents ``(dq, dkeys, dscale, dbias)`` of one key block, tile by tile."""
    m = keys.shape[0]

    def step(carry, xs):
        dq, dscale, dbias = carry
        kc, idc, valid = xs
        sim, s, positive = _tile(q, kc, idc, valid, targets, scale, bias)
        p = jax.nn.sigmoid(s) if kind == "sigmoid" else jnp.exp(s - lse[:, None])
        grad = g[:, None] * jnp.where(valid[None, :], p - positive.astype(s.dtype), 0.0)
        dq = dq + scale * jnp.matmul(grad, kc, precision="highest")
        dkc = scale * jnp.matmul(grad.T, q, precision="highest")
        return (dq, dscale + jnp.sum(grad * sim), dbias + jnp.sum(grad)), dkc

    zero = jnp.zeros_like(scale)
    (dq, dscale, dbias), dk = jax.lax.scan(
        step, (jnp.zeros_like(q), zero, zero), _chunks(keys, ids, chunk)
    )
    return dq, dk.reshape(-1, keys.shape[1])[:m], dscale, dbias


def _initial(kind: str, q: jax.Array) -> tuple[jax.Array, ...]:
    # full_like keeps the manual-axis type of ``q`` (a scan carry must not change type).
    zero = jnp.zeros_like(q[:, 0])
    if kind == "sigmoid":
        return (zero,)
    return (jnp.full_like(zero, -jnp.inf), zero, zero)


def _shift(x, axis_name, size):
    """Sends ``x`` (a pytree) from device ``d`` to device ``d + 1`` of the ring."""
    perm = [(d, (d + 1) % size) for d in range(size)]
    return jax.tree.map(lambda a: jax.lax.ppermute(a, axis_name, perm), x)


def _walk_forward(kind, chunk, ring, q, keys, ids, targets, scale, bias):
    """Row statistics over the local keys, then (``ring``) over every other device's block."""
    state = _block_forward(kind, chunk, q, keys, ids, targets, scale, bias, _initial(kind, q))
    if ring is not None:
        size = jax.lax.axis_size(ring)

        def step(carry, _):
            (kb, ib), st = carry
            kb, ib = _shift((kb, ib), ring, size)
            return (
                (kb, ib),
                _block_forward(kind, chunk, q, kb, ib, targets, scale, bias, st),
            ), None

        (_, state), _ = jax.lax.scan(step, ((keys, ids), state), None, length=size - 1)
    if kind == "sigmoid":
        return state[0], jnp.zeros_like(state[0])
    top, sumexp, pos = state
    lse = jnp.where(jnp.isfinite(top), top, 0.0) + jnp.log(sumexp)
    return lse - pos, lse


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2))
def _rows(kind, chunk, ring, q, keys, ids, targets, scale, bias):
    return _walk_forward(kind, chunk, ring, q, keys, ids, targets, scale, bias)[0]


def _rows_fwd(kind, chunk, ring, q, keys, ids, targets, scale, bias):
    loss, lse = _walk_forward(kind, chunk, ring, q, keys, ids, targets, scale, bias)
    return loss, (q, keys, ids, targets, scale, bias, lse)


def _rows_bwd(kind, chunk, ring, residuals, g):
    q, keys, ids, targets, scale, bias, lse = residuals
    dq, dk, dscale, dbias = _block_backward(kind, chunk, q, keys, ids, targets, scale, bias, lse, g)
    if ring is not None:
        size = jax.lax.axis_size(ring)

        def step(carry, _):
            kb, ib, dkb, dq, dscale, dbias = carry
            # The key cotangent travels with its block; after the last shift below it is home.
            kb, ib, dkb = _shift((kb, ib, dkb), ring, size)
            dq_, dk_, ds_, db_ = _block_backward(
                kind, chunk, q, kb, ib, targets, scale, bias, lse, g
            )
            return (kb, ib, dkb + dk_, dq + dq_, dscale + ds_, dbias + db_), None

        carry = (keys, ids, dk, dq, dscale, dbias)
        (_, _, dk, dq, dscale, dbias), _ = jax.lax.scan(step, carry, None, length=size - 1)
        dk = _shift(dk, ring, size)
    return dq, dk, None, None, dscale, dbias


_rows.defvjp(_rows_fwd, _rows_bwd)


def pair_rows(
    queries: jax.Array,
    keys: jax.Array,
    targets: jax.Array,
    key_ids: jax.Array,
    *,
    scale: jax.Array,
    bias: jax.Array | None = None,
    kind: Kind,
    chunk_size: int | None = None,
    axis_name: str | None = None,
    cross_device: CrossDevice = "all_gather",
) -> jax.Array:
    """Per-query losses ``[n]`` of the logits ``scale * queries @ keys.T + bias``, blockwise.

    Args:
      queries: ``[n, dim]`` floating queries (already normalised if the loss is cosine).
      keys: ``[m, dim]`` this device's keys (same dtype).
      targets: ``[n]`` integer global id of each query's positive key.
      key_ids: ``[m]`` integer global ids of this device's keys.
      scale: scalar logit multiplier (differentiable).
      bias: scalar logit bias (differentiable; ``None`` is 0).
      kind: ``"softmax"`` (InfoNCE rows) or ``"sigmoid"`` (SigLIP rows).
      chunk_size: keys per tile (``None``: a whole block at once).
      axis_name: under ``shard_map``/``pmap``, the keys of every device of this axis are
        candidates (``None``: the local keys only).
      cross_device: ``"all_gather"`` (gather keys and ids, then tile) or ``"ring"`` (pass
        key blocks around with ``ppermute``).

    Returns:
      ``[n]`` per-query losses in the dtype of ``queries``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss._src.blockwise import pair_rows
      >>> x = jnp.eye(2)
      >>> pair_rows(x, x, jnp.arange(2), jnp.arange(2), scale=jnp.float32(1.0), kind="softmax", chunk_size=1)
      Array([0.3132616..., 0.3132616...], dtype=float32)
    """
    dtype = queries.dtype
    bias = jnp.zeros((), dtype) if bias is None else jnp.asarray(bias, dtype)
    scale = jnp.asarray(scale, dtype)
    targets = jnp.asarray(targets, jnp.int32)
    key_ids = jnp.asarray(key_ids, jnp.int32)
    ring = None
    if axis_name is not None:
        if cross_device == "ring":
            ring = axis_name
        else:
            keys, key_ids = gather_batch((keys, key_ids), axis_name)
    if axis_name is not None:
        queries, keys, scale, bias = (_varying(a, axis_name) for a in (queries, keys, scale, bias))
    chunk = keys.shape[0] if chunk_size is None else min(int(chunk_size), max(keys.shape[0], 1))
    return _rows(kind, max(chunk, 1), ring, queries, keys, key_ids, targets, scale, bias)


def contrastive_rows(
    queries: jax.Array,
    keys: jax.Array,
    targets: jax.Array,
    *,
    scale: jax.Array,
    similarity: Literal["cosine", "dot"],
    symmetric: bool,
    chunk_size: int | None,
    axis_name: str | None,
    cross_device: CrossDevice,
) -> jax.Array:
    """The ``[n]`` per-query InfoNCE losses of :func:`pair_rows`, optionally symmetric (CLIP).

    ``targets`` are global key ids (diagonal positives: ``global_index(n, axis_name)``).
    With ``symmetric`` (diagonal positives only), entry ``i`` averages query ``i``'s row
    and key ``i``'s column, the column computed as the row of the transposed problem.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss._src.blockwise import contrastive_rows
      >>> x = jnp.eye(2)
      >>> contrastive_rows(x, x, jnp.arange(2), scale=jnp.float32(1.0), similarity="dot", symmetric=True,
      ...                  chunk_size=1, axis_name=None, cross_device="all_gather")
      Array([0.3132616..., 0.3132616...], dtype=float32)
    """
    if similarity == "cosine":
        queries, keys = l2_normalize(queries), l2_normalize(keys)
    options = {
        "scale": scale,
        "kind": "softmax",
        "chunk_size": chunk_size,
        "axis_name": axis_name,
        "cross_device": cross_device,
    }
    key_ids = global_index(keys.shape[0], axis_name)
    loss = pair_rows(queries, keys, targets, key_ids, **options)
    if symmetric:
        loss = 0.5 * (loss + pair_rows(keys, queries, key_ids, targets, **options))
    return loss
