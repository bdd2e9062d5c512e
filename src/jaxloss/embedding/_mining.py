"""Mining utilities for metric learning: distances, label masks, miners.

Pure array code with fixed output shapes (masks and indices), so everything
jits; each function accepts an optional leading episode axis through ``vmap``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal, ParamSpec, TypeVar, cast, get_args

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import calling, function_name
from .._src.distributed import gather_batch
from .._src.embeddings import pick
from .._src.numerics import l2_normalize, safe_sqrt, upcast
from .._src.types import ArrayLike

__all__: list[str] = [
    "batch_all_triplet_mask",
    "batch_hard_triplets",
    "gather_batch",
    "hard_pairs",
    "negative_mask",
    "pairwise_distances",
    "positive_mask",
    "semi_hard_negatives",
]

Metric = Literal["euclidean", "squared_euclidean", "cosine", "dot"]
METRICS: tuple[Metric, ...] = get_args(Metric)

P = ParamSpec("P")
R = TypeVar("R")


# --------------------------------------------------------------------------- plumbing


def _episodes(core_rank: int) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Maps ``fn`` with ``vmap`` over the leading (episode) axes of its positional
    arguments when the first one has more than ``core_rank`` dimensions."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        name = f"jaxloss.mining.{fn.__name__}"

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            arrays = cast("tuple[Any, ...]", args)
            with calling(name):
                if not arrays or np.ndim(arrays[0]) <= core_rank:
                    return fn(*args, **kwargs)
                first = arrays[0]
                for i, a in enumerate(arrays[1:]):
                    if a is not None and np.shape(a)[:1] != np.shape(first)[:1]:
                        raise ValueError(
                            f"{name}: argument {i + 2} has shape {tuple(np.shape(a))} but the first "
                            f"argument has shape {tuple(np.shape(first))}; a leading episode axis must "
                            "be on every argument"
                        )
                return jax.vmap(lambda *xs: wrapper(*xs, **kwargs))(*args)

        return wrapper

    return decorate


def _check_labels(distances: ArrayLike, labels: ArrayLike) -> None:
    contracts.rank(distances, 2, "distances", "[batch, batch] (or [episodes, batch, batch])")
    n = np.shape(distances)[0]
    contracts.shape_is(distances, (n, n), "distances", "a square [batch, batch] matrix")
    contracts.integer(labels=labels)
    contracts.shape_is(labels, (n,), "labels", "one label per row of distances", like={"distances": distances})


# --------------------------------------------------------------------------- distances


def distance_matrix(x: jax.Array, y: jax.Array, metric: str, self_index: ArrayLike | None = None) -> jax.Array:
    """``[n, m]`` distances between the rows of ``x`` and ``y`` (no checks).

    ``self_index`` (``[n]``) gives the column of each row's own embedding; that
    entry is set to exactly 0 for the euclidean metrics (the expansion below
    leaves a rounding residue there).
    """
    if metric == "dot":
        return -jnp.matmul(x, y.T, precision="highest")
    if metric == "cosine":
        return 1.0 - jnp.matmul(l2_normalize(x), l2_normalize(y).T, precision="highest")
    xx = jnp.sum(jnp.square(x), axis=1)
    yy = jnp.sum(jnp.square(y), axis=1)
    sq = xx[:, None] + yy[None, :] - 2.0 * jnp.matmul(x, y.T, precision="highest")
    # |x|^2 + |y|^2 - 2 x.y can round below 0 for (near-)duplicates.
    sq = jnp.maximum(sq, jnp.zeros((), sq.dtype))
    if self_index is not None:
        is_self = jnp.asarray(self_index).astype(jnp.int32)[:, None] == jnp.arange(y.shape[0], dtype=jnp.int32)[None, :]
        sq = jnp.where(is_self, jnp.zeros((), sq.dtype), sq)
    if metric == "squared_euclidean":
        return sq
    return safe_sqrt(sq)


@_episodes(2)
def pairwise_distances(x: ArrayLike, y: ArrayLike | None = None, *, metric: Metric = "euclidean") -> jax.Array:
    r"""Distances between the rows of ``x`` and ``y`` (``y = x`` when omitted).

    .. math::
       \text{euclidean: } \lVert x_i - y_j \rVert_2, \quad
       \text{squared\_euclidean: } \lVert x_i - y_j \rVert_2^2, \quad
       \text{cosine: } 1 - \frac{x_i \cdot y_j}{\lVert x_i\rVert \lVert y_j\rVert}, \quad
       \text{dot: } -x_i \cdot y_j

    The euclidean metrics use :math:`\lVert x\rVert^2 + \lVert y\rVert^2 - 2 x\cdot y`
    (clamped at 0; the diagonal is exactly 0 when ``y`` is omitted) and a safe
    square root, so the gradient at zero distance is 0 (finite). Cosine treats a
    zero vector as having cosine 0 with everything (finite gradient).

    Args:
      x: ``[n, dim]`` floating embeddings, or ``[episodes, n, dim]``.
      y: optional ``[m, dim]`` (``[episodes, m, dim]``) embeddings.
      metric: ``"euclidean"`` (default), ``"squared_euclidean"``, ``"cosine"``
        or ``"dot"``. All are distances: smaller means closer.

    Returns:
      ``[n, m]`` (``[episodes, n, m]``) distances in the compute dtype.

    Examples:
      >>> import jax.numpy as jnp
      >>> pairwise_distances(jnp.array([[0.0, 0.0], [3.0, 4.0]]))
      Array([[0., 5.],
             [5., 0.]], dtype=float32)
    """
    contracts.choice(metric, METRICS, "metric")
    contracts.floating(x=x, y=y)
    contracts.rank(x, 2, "x", "[n, dim] (or [episodes, n, dim])")
    if y is not None:
        contracts.rank(y, 2, "y", "[m, dim] (or [episodes, m, dim])")
        if np.shape(y)[1] != np.shape(x)[1]:
            raise ValueError(
                f"{function_name()}: x has shape {tuple(np.shape(x))} and y has shape "
                f"{tuple(np.shape(y))}; the embedding dimension (last axis) must match"
            )
    a, b = upcast(x, y)
    if b is None:
        return distance_matrix(a, a, metric, jnp.arange(a.shape[0]))
    return distance_matrix(a, b, metric)


# --------------------------------------------------------------------------- label masks


def label_masks(labels: jax.Array, labels_all: jax.Array, self_index: ArrayLike) -> tuple[jax.Array, jax.Array]:
    """``(positive, negative)`` ``[n, m]`` masks of anchors ``labels`` against candidates
    ``labels_all``; ``self_index`` is each anchor's own column (excluded from positives)."""
    same = labels[:, None] == labels_all[None, :]
    columns = jnp.arange(labels_all.shape[0], dtype=jnp.int32)
    is_self = jnp.asarray(self_index).astype(jnp.int32)[:, None] == columns[None, :]
    return same & ~is_self, ~same


def _own_masks(labels: ArrayLike) -> tuple[jax.Array, jax.Array]:
    contracts.integer(labels=labels)
    contracts.rank(labels, 1, "labels", "[batch] (or [episodes, batch])")
    labels = jnp.asarray(labels)
    return label_masks(labels, labels, jnp.arange(labels.shape[0]))


@_episodes(1)
def positive_mask(labels: ArrayLike) -> jax.Array:
    """``[batch, batch]`` mask of positive pairs: same label, not the same embedding.

    Args:
      labels: ``[batch]`` (or ``[episodes, batch]``) integer labels.

    Returns:
      A boolean ``[batch, batch]`` (``[episodes, batch, batch]``) mask.

    Examples:
      >>> import jax.numpy as jnp
      >>> positive_mask(jnp.array([0, 0, 1]))
      Array([[False,  True, False],
             [ True, False, False],
             [False, False, False]], dtype=bool)
    """
    return _own_masks(labels)[0]


@_episodes(1)
def negative_mask(labels: ArrayLike) -> jax.Array:
    """``[batch, batch]`` mask of negative pairs: different labels.

    Args:
      labels: ``[batch]`` (or ``[episodes, batch]``) integer labels.

    Returns:
      A boolean ``[batch, batch]`` (``[episodes, batch, batch]``) mask.

    Examples:
      >>> import jax.numpy as jnp
      >>> negative_mask(jnp.array([0, 0, 1])).astype(int)
      Array([[0, 0, 1],
             [0, 0, 1],
             [1, 1, 0]], dtype=int32)
    """
    return _own_masks(labels)[1]


@_episodes(1)
def batch_all_triplet_mask(labels: ArrayLike) -> jax.Array:
    """``[batch, batch, batch]`` mask of the valid triplets ``(a, p, n)``.

    ``mask[a, p, n]`` is true when ``p != a`` has ``a``'s label and ``n`` has
    another. This materialises ``batch**3`` booleans: the losses never call it
    (``triplet_loss(mining="batch_all")`` works per anchor); it is for
    inspection and small batches.

    Args:
      labels: ``[batch]`` (or ``[episodes, batch]``) integer labels.

    Returns:
      A boolean ``[batch, batch, batch]`` mask (with the episode axis first).

    Examples:
      >>> import jax.numpy as jnp
      >>> int(batch_all_triplet_mask(jnp.array([0, 0, 1])).sum())  # (0, 1, 2) and (1, 0, 2)
      2
    """
    pos, neg = _own_masks(labels)
    return pos[:, :, None] & neg[:, None, :]


# --------------------------------------------------------------------------- miners


def hardest(distances: jax.Array, pos: jax.Array, neg: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Row-wise hardest positive (farthest) and negative (nearest): ``(p, n, valid)``."""
    far = jnp.where(pos, distances, -jnp.inf)
    near = jnp.where(neg, distances, jnp.inf)
    p = jnp.argmax(far, axis=1).astype(jnp.int32)
    n = jnp.argmin(near, axis=1).astype(jnp.int32)
    return p, n, jnp.any(pos, axis=1) & jnp.any(neg, axis=1)


@_episodes(2)
def batch_hard_triplets(distances: ArrayLike, labels: ArrayLike) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Batch-hard mining (Hermans et al. 2017): per anchor, its farthest positive and
    nearest negative.

    Args:
      distances: ``[batch, batch]`` (or ``[episodes, batch, batch]``) distances
        (smaller is closer), e.g. from :func:`pairwise_distances`.
      labels: ``[batch]`` (``[episodes, batch]``) integer labels.

    Returns:
      ``(positives, negatives, valid)``: ``[batch]`` int32 indices of each
      anchor's hardest positive and hardest negative, and a boolean ``[batch]``
      mask of the anchors that have both (the indices of the others are 0 and
      meaningless). Ties go to the lowest index.

    Examples:
      >>> import jax.numpy as jnp
      >>> x = jnp.array([[0.0], [1.0], [3.0], [0.5]])
      >>> batch_hard_triplets(pairwise_distances(x), jnp.array([0, 0, 0, 1]))[:2]
      (Array([2, 2, 0, 0], dtype=int32), Array([3, 3, 3, 0], dtype=int32))

    References:
      A. Hermans, L. Beyer, B. Leibe, "In Defense of the Triplet Loss for
      Person Re-Identification", 2017, https://arxiv.org/abs/1703.07737.
    """
    _check_labels(distances, labels)
    labels = jnp.asarray(labels)
    pos, neg = label_masks(labels, labels, jnp.arange(labels.shape[0]))
    return hardest(jnp.asarray(distances), pos, neg)


def semi_hard(
    distances: jax.Array, pos: jax.Array, neg: jax.Array, margin: ArrayLike | None = None
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """TF-Addons semi-hard selection without a ``[n, m, m]`` tensor (sort + searchsorted)."""
    m = distances.shape[1]
    candidates = jax.lax.stop_gradient(jnp.where(neg, distances, jnp.inf))
    order = jnp.argsort(candidates, axis=1).astype(jnp.int32)
    ranked = jnp.take_along_axis(candidates, order, axis=1)
    count = jnp.sum(neg, axis=1).astype(jnp.int32)
    # First rank whose distance exceeds d(a, p) strictly (TF-Addons: d_an > d_ap).
    first = jax.vmap(lambda r, q: jnp.searchsorted(r, q, side="right", method="scan"))(
        ranked, jax.lax.stop_gradient(distances)
    ).astype(jnp.int32)
    found = first < count[:, None]
    at = jnp.minimum(first, m - 1)
    if margin is not None:
        found = found & (pick(ranked, at) < jax.lax.stop_gradient(distances + margin))
    farthest = pick(order, jnp.maximum(count - 1, 0))
    negatives = jnp.where(first < count[:, None], pick(order, at), farthest[:, None])
    return negatives, found, pos & (count > 0)[:, None]


@_episodes(2)
def semi_hard_negatives(
    distances: ArrayLike, labels: ArrayLike, *, margin: ArrayLike | None = None
) -> tuple[jax.Array, jax.Array, jax.Array]:
    r"""Semi-hard negative of every positive pair, TF-Addons ``triplet_semihard_loss`` rule.

    For the positive pair :math:`(a, p)` the negative is the nearest :math:`n`
    with :math:`d_{an} > d_{ap}`; when there is none, the farthest negative of
    :math:`a` (TF-Addons' fallback). Computed by sorting each anchor's negative
    distances and a binary search, so memory is ``O(batch^2)``, never
    ``batch^3``.

    Args:
      distances: ``[batch, batch]`` (or ``[episodes, batch, batch]``) distances.
      labels: ``[batch]`` (``[episodes, batch]``) integer labels.
      margin: optional; when given, ``semi_hard`` additionally requires
        FaceNet's band :math:`d_{an} < d_{ap} + \text{margin}`. The selected
        index does not depend on it.

    Returns:
      ``(negatives, semi_hard, valid)``, each ``[batch, batch]`` (row anchor,
      column positive): the int32 index of the selected negative; whether it is
      a genuine semi-hard negative (not the fallback); and the valid pairs
      (positive pairs whose anchor has at least one negative).

    Examples:
      >>> import jax.numpy as jnp
      >>> x = jnp.array([[0.0], [1.0], [0.5], [2.0]])
      >>> neg, semi, valid = semi_hard_negatives(pairwise_distances(x), jnp.array([0, 0, 1, 1]))
      >>> int(neg[0, 1]), bool(semi[0, 1]), int(neg[1, 0]), bool(semi[1, 0])
      (3, True, 3, False)

    References:
      F. Schroff, D. Kalenichenko, J. Philbin, "FaceNet", CVPR 2015,
      https://arxiv.org/abs/1503.03832; TF-Addons ``triplet_semihard_loss``.
    """
    _check_labels(distances, labels)
    labels = jnp.asarray(labels)
    pos, neg = label_masks(labels, labels, jnp.arange(labels.shape[0]))
    return semi_hard(jnp.asarray(distances), pos, neg, margin)


@_episodes(2)
def hard_pairs(distances: ArrayLike, labels: ArrayLike) -> tuple[jax.Array, jax.Array]:
    """The hardest positive pair and hardest negative pair of every anchor, as pair masks.

    pytorch-metric-learning's ``BatchHardMiner`` seen as pairs (what its
    ``ContrastiveLoss`` uses): anchors with both a positive and a negative
    contribute ``(a, farthest positive)`` and ``(a, nearest negative)``.

    Args:
      distances: ``[batch, batch]`` (or ``[episodes, batch, batch]``) distances.
      labels: ``[batch]`` (``[episodes, batch]``) integer labels.

    Returns:
      ``(positive_pairs, negative_pairs)``: boolean ``[batch, batch]`` masks
      with at most one true entry per row.

    Examples:
      >>> import jax.numpy as jnp
      >>> x = jnp.array([[0.0], [1.0], [3.0], [0.5]])
      >>> p, n = hard_pairs(pairwise_distances(x), jnp.array([0, 0, 0, 1]))
      >>> p.astype(int)[0], n.astype(int)[0]
      (Array([0, 0, 1, 0], dtype=int32), Array([0, 0, 0, 1], dtype=int32))
    """
    _check_labels(distances, labels)
    labels = jnp.asarray(labels)
    n = labels.shape[0]
    pos, neg = label_masks(labels, labels, jnp.arange(n))
    p, q, valid = hardest(jnp.asarray(distances), pos, neg)
    columns = jnp.arange(n, dtype=jnp.int32)[None, :]
    return (columns == p[:, None]) & valid[:, None], (columns == q[:, None]) & valid[:, None]
