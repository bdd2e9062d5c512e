"""The labelled embedding batch: the prologues of the embedding losses.

:func:`labelled_batch` is the prologue of the losses over ``[batch, dim]``
embeddings with one group label each (contrastive, triplet, SupCon, NT-Xent),
gathered over ``axis_name`` when the batch is sharded; :func:`pair_batch` builds
on it the anchors, the candidates (the batch itself, or PML's ``ref_emb``) and
the ``[n, m]`` positive/negative pair masks of the losses that compare every
anchor with every candidate; :func:`head_batch` is the
prologue of the classification heads over embeddings, a class matrix and class
labels (ArcFace, CosFace, CurricularFace, center loss); :func:`embedding_tuples`
is the prologue of the losses over given pairs or triplets of ``[..., dim]``
embeddings (contrastive, cosine embedding, triplet margin).
"""

from __future__ import annotations

from typing import NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np

from . import contracts
from .contracts import function_name
from .distributed import gather_batch, global_index
from .labels import class_labels
from .numerics import upcast
from .reduce import broadcast, sanitize
from .types import ArrayLike

__all__ = [
    "HeadBatch",
    "LabelledBatch",
    "PairBatch",
    "Tuples",
    "check_labels",
    "check_rows",
    "check_same_dim",
    "embedding_tuples",
    "head_batch",
    "labelled_batch",
    "masked_lse",
    "pair_batch",
    "pick",
]

# The label of an example a classification head ignores (insightface's convention).
IGNORE = -1


def check_rows(x: ArrayLike | None, what: str) -> None:
    """``x`` is a floating ``[batch, dim]`` matrix."""
    contracts.floating(**{what: x})
    contracts.rank(x, 2, what, "[batch, dim]")


def check_labels(labels: ArrayLike, embeddings: ArrayLike) -> None:
    """``labels`` are integers, one per row of ``embeddings``."""
    contracts.integer(labels=labels)
    contracts.shape_is(labels, np.shape(embeddings)[:1], "labels", "one label per embedding",
                        like={"embeddings": embeddings})


def check_same_dim(**arrays: ArrayLike | None) -> None:
    """The non-``None`` ``arrays`` have the same last axis (the embedding dimension)."""
    dims = {k: np.shape(v)[-1] for k, v in arrays.items() if v is not None}
    if len(set(dims.values())) > 1:
        shapes = ", ".join(f"{k} has shape {tuple(np.shape(v))}" for k, v in arrays.items() if v is not None)
        raise ValueError(f"{function_name()}: {shapes}; the embedding dimension (last axis) must match")


def pick(x: jax.Array, index: jax.Array) -> jax.Array:
    """``x[i, index[i]]`` for a 2-D ``x``: one column per row (``[n]`` index) or
    several (``[n, k]`` index)."""
    if index.ndim == 1:
        return jnp.take_along_axis(x, index[:, None], axis=1)[:, 0]
    return jnp.take_along_axis(x, index, axis=1)


class LabelledBatch(NamedTuple):
    """A labelled embedding batch after :func:`labelled_batch`.

    Attributes:
      embeddings: ``[n, dim]`` this device's embeddings, in the compute dtype.
      labels: ``[n]`` their integer labels.
      all_embeddings: ``[N, dim]`` the candidates: ``embeddings`` gathered over
        ``axis_name`` (``embeddings`` itself on one device).
      all_labels: ``[N]`` the candidates' labels.
      index: ``[n]`` the row of each local embedding in ``all_embeddings``.
    """

    embeddings: jax.Array
    labels: jax.Array
    all_embeddings: jax.Array
    all_labels: jax.Array
    index: jax.Array


def labelled_batch(embeddings: ArrayLike, labels: ArrayLike, axis_name: str | None = None) -> LabelledBatch:
    """Checks ``[batch, dim]`` floating embeddings with one integer label each,
    upcasts them to the compute dtype and gathers them over ``axis_name``."""
    check_rows(embeddings, "embeddings")
    n = np.shape(embeddings)[0]
    check_labels(labels, embeddings)
    (e,) = upcast(embeddings)
    y = jnp.asarray(labels)
    e_all, y_all = gather_batch((e, y), axis_name)
    return LabelledBatch(e, y, e_all, y_all, global_index(n, axis_name))


class PairBatch(NamedTuple):
    """The checked batch of a loss over (anchor, candidate) pairs, after :func:`pair_batch`.

    Attributes:
      embeddings: ``[n, dim]`` this device's anchors, in the compute dtype.
      refs: ``[m, dim]`` the candidates: the embeddings gathered over
        ``axis_name`` (the embeddings themselves on one device), or the
        reference embeddings (gathered likewise; rows masked by ``ref_where``
        zeroed).
      self_index: ``[n]`` each anchor's own column in ``refs``; ``None`` with
        reference embeddings (no self-exclusion).
      pos: ``[n, m]`` positive pairs (same label, self excluded), or the given ``pos_mask``.
      neg: ``[n, m]`` negative pairs (different labels), or the given ``neg_mask``.
      labels: ``[n]`` the anchors' labels.
      ref_labels: ``[m]`` the candidates' labels.
      ref_valid: ``[n, m]`` the valid (anchor, reference) pairs (``ref_where``), or
        ``None``: all valid.
    """

    embeddings: jax.Array
    refs: jax.Array
    self_index: jax.Array | None
    pos: jax.Array
    neg: jax.Array
    labels: jax.Array
    ref_labels: jax.Array
    ref_valid: jax.Array | None


def pair_batch(
    embeddings: ArrayLike,
    labels: ArrayLike,
    pos_mask: ArrayLike | None = None,
    neg_mask: ArrayLike | None = None,
    ref_embeddings: ArrayLike | None = None,
    ref_labels: ArrayLike | None = None,
    ref_where: ArrayLike | None = None,
    with_self: bool = False,
    axis_name: str | None = None,
) -> PairBatch:
    """The checked, upcast batch and its ``[n, m]`` pair masks. Without references the
    candidates are the embeddings (gathered over ``axis_name``), self excluded (kept as a
    positive with ``with_self``); with them every reference row is a candidate (PML
    ``ref_emb``), except those ``ref_where`` masks: ``[m]`` valid rows (a partly filled
    memory) or ``[n, m]`` valid (anchor, reference) pairs (a memory that holds the
    anchors themselves, :func:`jaxloss.cross_batch_memory_loss`); the references (with
    their labels and mask) are what ``axis_name`` gathers. A given ``pos_mask``/``neg_mask``
    replaces the label-derived mask of its kind (and is still restricted to the valid
    references)."""
    if ref_embeddings is None:
        if ref_labels is not None or ref_where is not None:
            raise ValueError(f"{function_name()}: ref_labels and ref_where need ref_embeddings")
        batch = labelled_batch(embeddings, labels, axis_name)
        e, y, refs, ry, index = batch
        columns = jnp.arange(ry.shape[0], dtype=jnp.int32)
        is_self = index.astype(jnp.int32)[:, None] == columns[None, :]
        same = y[:, None] == ry[None, :]
        pos, neg = (same if with_self else same & ~is_self), ~same
        valid = None
    else:
        if ref_labels is None:
            raise ValueError(
                f"{function_name()}: ref_embeddings needs ref_labels (one label per reference row)"
            )
        batch = labelled_batch(embeddings, labels)
        check_rows(ref_embeddings, "ref_embeddings")
        check_same_dim(embeddings=embeddings, ref_embeddings=ref_embeddings)
        contracts.integer(ref_labels=ref_labels)
        contracts.shape_is(
            ref_labels,
            np.shape(ref_embeddings)[:1],
            "ref_labels",
            "one label per reference row",
            like={"ref_embeddings": ref_embeddings},
        )
        e, refs = upcast(batch.embeddings, ref_embeddings)
        y, ry = batch.labels, jnp.asarray(ref_labels)
        refs, ry = gather_batch((refs, ry), axis_name)
        valid = None
        if ref_where is not None:
            local = (e.shape[0], np.shape(ref_embeddings)[0])
            if np.ndim(ref_where) == 2:  # per anchor: [n, m]
                valid = broadcast(ref_where, local, "ref_where", dtype=bool)
                if axis_name is not None:
                    valid = jax.lax.all_gather(valid, axis_name, axis=1, tiled=True)
            else:
                valid = gather_batch(broadcast(ref_where, local[1:], "ref_where", dtype=bool), axis_name)
                valid = jnp.broadcast_to(valid[None, :], (e.shape[0], refs.shape[0]))
        index = None
        pos = y[:, None] == ry[None, :]
        neg = ~pos
        # Rows masked for every anchor (a partly filled memory) must not reach any gradient,
        # NaN included.
        refs = sanitize(refs, None if valid is None else jnp.any(valid, axis=0)[:, None])
    n, m = e.shape[0], refs.shape[0]
    for what, mask in {"pos_mask": pos_mask, "neg_mask": neg_mask}.items():
        if mask is not None:
            contracts.shape_is(
                mask,
                (n, m),
                what,
                "a boolean [batch, candidates] pair mask (anchor, candidate)",
                like={"embeddings": embeddings},
            )
    pos = pos if pos_mask is None else jnp.asarray(pos_mask, bool)
    neg = neg if neg_mask is None else jnp.asarray(neg_mask, bool)
    if valid is not None:
        pos, neg = pos & valid, neg & valid
    return PairBatch(e, refs, index, pos, neg, y, ry, valid)


def masked_lse(z: jax.Array, mask: jax.Array, add_one: bool = False) -> jax.Array:
    """Row-wise ``log(sum_{mask} exp z)`` (``log(1 + ...)`` with ``add_one``); an empty row
    gives exactly 0 with zero gradients (PML ``lmu.logsumexp``)."""
    has = jnp.any(mask, axis=-1, keepdims=True)
    zz = jnp.where(mask, z, -jnp.inf)
    if add_one:
        zz = jnp.concatenate([zz, jnp.zeros_like(zz[..., :1])], axis=-1)
        return jax.nn.logsumexp(zz, axis=-1)
    # Empty rows: a logsumexp over finite zeros, then 0 (one over only -inf has a NaN gradient).
    zz = jnp.where(has, zz, jnp.zeros((), z.dtype))
    return jnp.where(has[..., 0], jax.nn.logsumexp(zz, axis=-1), jnp.zeros((), z.dtype))


class HeadBatch(NamedTuple):
    """Embeddings, class matrix and class labels after :func:`head_batch`.

    Attributes:
      embeddings: ``[batch, dim]`` in the compute dtype; rows masked by ``where`` are 0.
      matrix: the class matrix (``[dim, classes]`` or ``[classes, dim]``), in the compute dtype.
      labels: ``[batch]`` int32 classes, safe to index with (ignored and
        out-of-range labels replaced by 0).
      valid: ``[batch]`` bool, label is not ``-1``.
      bad: ``[batch]`` bool, label out of range and not ``-1`` (to be poisoned under ``jit``).
      counted: ``[batch]`` bool, ``valid`` and not masked by ``where``.
    """

    embeddings: jax.Array
    matrix: jax.Array
    labels: jax.Array
    valid: jax.Array
    bad: jax.Array
    counted: jax.Array


def head_batch(
    embeddings: ArrayLike, labels: ArrayLike, matrix: ArrayLike, what: str, layout: str, where: ArrayLike | None
) -> HeadBatch:
    """Checks ``[batch, dim]`` embeddings, ``[batch]`` class labels (``-1`` ignores an
    example) and the class matrix ``what`` of the given ``layout`` (``"[dim, classes]"``
    or ``"[classes, dim]"``); upcasts and zeroes the rows masked by ``where``."""
    contracts.floating(embeddings=embeddings, **{what: matrix})
    contracts.rank(embeddings, 2, "embeddings", "[batch, dim]")
    contracts.rank(matrix, 2, what, layout)
    shape = tuple(np.shape(matrix))
    classes, dim = shape[::-1] if layout == "[dim, classes]" else shape
    if np.shape(embeddings)[1] != dim:
        raise ValueError(
            f"{function_name()}: embeddings has shape {tuple(np.shape(embeddings))} but "
            f"{what} has shape {shape}; {what} must be {layout} with the embeddings' dim"
        )
    contracts.integer(labels=labels)
    n = np.shape(embeddings)[0]
    contracts.shape_is(labels, (n,), "labels", "one class index (or -1 to ignore) per embedding",
                        like={"embeddings": embeddings})
    safe, valid, bad = class_labels(labels, classes, ignore_index=IGNORE, like={what: matrix})
    valid = cast(jax.Array, valid)  # not None: ignore_index is set
    mask = None if where is None else broadcast(where, (n,), "where", dtype=bool)
    x, m = upcast(embeddings, matrix)
    x = sanitize(x, None if mask is None else mask[:, None])
    return HeadBatch(x, m, safe, valid, bad, valid if mask is None else valid & mask)


class Tuples(NamedTuple):
    """Embeddings compared row by row (pairs, triplets), after :func:`embedding_tuples`.

    Attributes:
      embeddings: the same-shape ``[..., dim]`` members of each tuple, in the compute dtype.
      target: the ``[...]`` per-tuple target as an array (its own dtype), or ``None``.
    """

    embeddings: tuple[jax.Array, ...]
    target: jax.Array | None


def embedding_tuples(
    embeddings: dict[str, ArrayLike], target: ArrayLike | None = None, what: str = "y"
) -> Tuples:
    """Checks the named same-shape floating ``[..., dim]`` ``embeddings`` and a ``[...]``
    ``target`` named ``what`` (one entry per tuple); upcasts the embeddings together."""
    contracts.floating(**embeddings)
    first, x = next(iter(embeddings.items()))
    contracts.min_rank(x, 1, first)
    contracts.same_shape("", **embeddings)
    if target is not None:
        contracts.shape_is(target, np.shape(x)[:-1], what, f"one entry per pair ({first} without its last axis)",
                            like={first: x})
    return Tuples(upcast(*embeddings.values()), None if target is None else jnp.asarray(target))
