"""Ranked lists: the prologue of the learning-to-rank losses.

``scores`` and ``labels`` are ``[..., list_size]``: lists on the last axis, any
batch shape; ``where`` marks the valid items and ``weights`` weights items (rax).
"""

from __future__ import annotations

from typing import NamedTuple

import jax

from . import contracts
from .numerics import upcast
from .reduce import broadcast, combine_masks
from .types import ArrayLike

__all__ = ["Lists", "ranked_lists"]


class Lists(NamedTuple):
    """Ranked lists after :func:`ranked_lists`.

    Attributes:
      scores: ``[..., list_size]`` item scores in the compute dtype.
      labels: ``[..., list_size]`` relevance labels in the compute dtype.
      where: ``[..., list_size]`` bool mask of the valid items, or ``None`` (all valid).
      weights: ``[..., list_size]`` item weights in the compute dtype, or ``None``.
    """

    scores: jax.Array
    labels: jax.Array
    where: jax.Array | None
    weights: jax.Array | None


def ranked_lists(
    scores: ArrayLike, labels: ArrayLike, *, weights: ArrayLike | None, where: ArrayLike | None
) -> Lists:
    """Checks same-shape ``[..., list_size]`` floating scores and labels, upcasts them
    and broadcasts ``where`` and ``weights`` to their shape."""
    contracts.min_rank(scores, 1, "scores")
    contracts.same_shape(scores=scores, labels=labels)
    contracts.floating(scores=scores)
    s, y = upcast(scores, labels)
    mask = combine_masks(s.shape, where)
    w = None if weights is None else broadcast(weights, s.shape, "weights", s.dtype)
    return Lists(s, y, mask, w)
