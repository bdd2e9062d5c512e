"""Mining utilities for metric learning: distances, label masks, miners.

Pure array code with fixed output shapes (masks and indices), so everything
jits; each function accepts an optional leading episode axis through ``vmap``.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import Any, Literal, ParamSpec, TypeVar, cast, get_args

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import calling, function_name
from .._src.distributed import gather_batch
from .._src.embeddings import pick
from .._src.numerics import abs0, is_traced, l2_normalize, safe_norm, safe_root, safe_sqrt, upcast
from .._src.types import ArrayLike

__all__: list[str] = [
    "batch_all_triplet_mask",
    "batch_hard_triplets",
    "gather_batch",
    "hard_pairs",
    "multi_similarity_pairs",
    "negative_mask",
    "pair_margin_pairs",
    "pairwise_distances",
    "positive_mask",
    "semi_hard_negatives",
    "triplet_margin_mask",
]

# The metrics every distance-based loss takes.
Metric = Literal["euclidean", "squared_euclidean", "cosine", "dot"]
METRICS: tuple[Metric, ...] = get_args(Metric)
# ... and the p-norms of wave 2 (``pairwise_distances`` and the losses that take ``p=``).
DistanceMetric = Literal["euclidean", "squared_euclidean", "cosine", "dot", "lp", "manhattan"]
DISTANCE_METRICS: tuple[DistanceMetric, ...] = get_args(DistanceMetric)
TripletType = Literal["all", "hard", "semihard", "easy"]
TRIPLET_TYPES: tuple[TripletType, ...] = get_args(TripletType)

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
    contracts.shape_is(
        labels, (n,), "labels", "one label per row of distances", like={"distances": distances}
    )


# --------------------------------------------------------------------------- distances


def _lp_norm(x: jax.Array, p: float, axis: int = -1, keepdims: bool = False) -> jax.Array:
    """``||x||_p`` over ``axis`` (static ``p >= 1``) with a zero gradient at ``x = 0``."""
    if p == 2:
        return safe_norm(x, axis=axis, keepdims=keepdims)
    if p == 1:
        return jnp.sum(abs0(x), axis=axis, keepdims=keepdims)
    if p == float("inf"):
        return jnp.max(abs0(x), axis=axis, keepdims=keepdims)
    return safe_root(jnp.sum(abs0(x) ** p, axis=axis, keepdims=keepdims), p)


def normalize_rows(x: jax.Array, p: float = 2.0) -> jax.Array:
    """``x / max(||x||_p, 1e-12)`` per row (torch ``F.normalize(x, p)``, what PML's distances do)."""
    if p == 2:
        return l2_normalize(x)
    return x / jnp.maximum(_lp_norm(x, p, keepdims=True), jnp.asarray(1e-12, x.dtype))


def distance_matrix(
    x: jax.Array, y: jax.Array, metric: str, self_index: ArrayLike | None = None, *, p: float = 2.0
) -> jax.Array:
    """``[n, m]`` distances between the rows of ``x`` and ``y`` (no checks).

    ``self_index`` (``[n]``) gives the column of each row's own embedding; that
    entry is set to exactly 0 for the euclidean metrics (the expansion below
    leaves a rounding residue there). ``p`` is the degree of ``"lp"``.
    """
    if metric == "dot":
        return -jnp.matmul(x, y.T, precision="highest")
    if metric == "cosine":
        return 1.0 - jnp.matmul(l2_normalize(x), l2_normalize(y).T, precision="highest")
    if metric == "manhattan" or (metric == "lp" and p != 2):
        # [n, m, dim] differences, as torch.cdist for p != 2.
        return _lp_norm(x[:, None, :] - y[None, :, :], 1.0 if metric == "manhattan" else p)
    xx = jnp.sum(jnp.square(x), axis=1)
    yy = jnp.sum(jnp.square(y), axis=1)
    sq = xx[:, None] + yy[None, :] - 2.0 * jnp.matmul(x, y.T, precision="highest")
    # |x|^2 + |y|^2 - 2 x.y can round below 0 for (near-)duplicates.
    sq = jnp.maximum(sq, jnp.zeros((), sq.dtype))
    if self_index is not None:
        is_self = (
            jnp.asarray(self_index).astype(jnp.int32)[:, None]
            == jnp.arange(y.shape[0], dtype=jnp.int32)[None, :]
        )
        sq = jnp.where(is_self, jnp.zeros((), sq.dtype), sq)
    if metric == "squared_euclidean":
        return sq
    return safe_sqrt(sq)


def raise_power(d: jax.Array, power: ArrayLike) -> jax.Array:
    """``d ** power`` with a zero gradient at ``d = 0``; an integer Python ``power`` also
    takes negative ``d`` (the ``"dot"`` metric)."""
    if not is_traced(power) and float(np.asarray(power)).is_integer():
        k = int(np.asarray(power))
        return d if k == 1 else d**k
    positive = d > 0
    base = jnp.where(positive, d, jnp.ones((), d.dtype))
    return jnp.where(positive, base ** jnp.asarray(power, d.dtype), jnp.zeros((), d.dtype))


def check_p(p: float, power: ArrayLike = 1.0) -> None:
    """``p >= 1`` (a static number: the norm degree) and a concrete ``power > 0``."""
    if is_traced(p) or not isinstance(p, numbers.Real) or isinstance(p, bool) or not p >= 1:
        raise ValueError(
            f"{function_name()}: p must be a Python number >= 1 (the norm degree), got {p!r}"
        )
    contracts.bounded(power, "power", gt=0)


def metric_matrix(
    x: jax.Array,
    y: jax.Array,
    metric: str | Callable[[jax.Array, jax.Array], jax.Array],
    self_index: ArrayLike | None = None,
    *,
    p: float = 2.0,
    power: ArrayLike = 1.0,
    normalize_embeddings: bool = False,
) -> jax.Array:
    """:func:`distance_matrix` after the optional row normalisation (by the ``p``-norm for
    ``"lp"``/``"manhattan"``, as PML's ``LpDistance``; L2 otherwise), raised to ``power``.
    A callable ``metric`` is called as ``metric(x, y)`` on the (normalised) rows."""
    q = 1.0 if metric == "manhattan" else p if metric == "lp" else 2.0
    if normalize_embeddings:
        x, y = normalize_rows(x, q), normalize_rows(y, q)
    if callable(metric):
        d = jnp.asarray(metric(x, y))
        if d.shape != (x.shape[0], y.shape[0]):
            raise ValueError(
                f"{function_name()}: metric returned shape {d.shape}; a callable metric must "
                f"return the [{x.shape[0]}, {y.shape[0]}] distance matrix of its two arguments"
            )
    else:
        d = distance_matrix(x, y, metric, self_index, p=q)
    return raise_power(d, power)


@_episodes(2)
def pairwise_distances(
    x: ArrayLike,
    y: ArrayLike | None = None,
    *,
    metric: DistanceMetric = "euclidean",
    p: float = 2.0,
    power: ArrayLike = 1.0,
    normalize_embeddings: bool = False,
) -> jax.Array:
    r"""Distances between the rows of ``x`` and ``y`` (``y = x`` when omitted).

    .. math::
       \text{euclidean: } \lVert x_i - y_j \rVert_2, \quad
       \text{squared\_euclidean: } \lVert x_i - y_j \rVert_2^2, \quad
       \text{cosine: } 1 - \frac{x_i \cdot y_j}{\lVert x_i\rVert \lVert y_j\rVert}, \quad
       \text{dot: } -x_i \cdot y_j, \quad
       \text{lp: } \lVert x_i - y_j \rVert_p, \quad
       \text{manhattan: } \lVert x_i - y_j \rVert_1

    then raised to ``power``. The euclidean metrics (and ``"lp"`` with ``p=2``)
    use :math:`\lVert x\rVert^2 + \lVert y\rVert^2 - 2 x\cdot y` (clamped at
    0; the diagonal is exactly 0 when ``y`` is omitted) and a safe square root,
    so the gradient at zero distance is 0 (finite); the other p-norms work on
    the ``[n, m, dim]`` differences (as ``torch.cdist``) with the same zero
    gradient at 0. Cosine treats a zero vector as having cosine 0 with
    everything (finite gradient).

    pytorch-metric-learning: ``LpDistance(p=p, power=power,
    normalize_embeddings=ne)`` is ``pairwise_distances(metric="lp", p=p,
    power=power, normalize_embeddings=ne)``; its ``CosineSimilarity()`` is
    ``1 - pairwise_distances(metric="cosine")``, and
    ``DotProductSimilarity(normalize_embeddings=ne)`` is
    ``-pairwise_distances(metric="dot", normalize_embeddings=ne)``. PML applies
    ``power`` to the similarity, jaxloss to the distance: the two agree for even
    powers of ``"dot"`` only.

    Args:
      x: ``[n, dim]`` floating embeddings, or ``[episodes, n, dim]``.
      y: optional ``[m, dim]`` (``[episodes, m, dim]``) embeddings.
      metric: ``"euclidean"`` (default), ``"squared_euclidean"``, ``"cosine"``,
        ``"dot"``, ``"lp"`` (the ``p``-norm) or ``"manhattan"`` (``"lp"`` with
        ``p=1``; sentence-transformers ``SiameseDistanceMetric.MANHATTAN``). All
        are distances: smaller means closer.
      p: the norm degree of ``"lp"``, a static Python number ``>= 1``
        (``float("inf")`` for the maximum norm); ignored by the other metrics.
      power: the exponent applied to the distance (PML ``power``; float or
        traced array, ``> 0``). A non-integer or traced ``power`` treats
        distances ``<= 0`` as 0, so use an integer power with ``"dot"``.
      normalize_embeddings: divide every row by its norm first, with torch
        ``F.normalize``'s floor ``1e-12`` (PML's default, ``True`` for parity).
        The norm is the ``p``-norm for ``"lp"``/``"manhattan"`` (as PML's
        ``LpDistance``) and the L2 norm otherwise.

    Returns:
      ``[n, m]`` (``[episodes, n, m]``) distances in the compute dtype.

    Examples:
      >>> import jax.numpy as jnp
      >>> pairwise_distances(jnp.array([[0.0, 0.0], [3.0, 4.0]]))
      Array([[0., 5.],
             [5., 0.]], dtype=float32)
      >>> pairwise_distances(jnp.array([[0.0, 0.0], [3.0, 4.0]]), metric="manhattan", power=2)
      Array([[ 0., 49.],
             [49.,  0.]], dtype=float32)
    """
    contracts.choice(metric, DISTANCE_METRICS, "metric")
    check_p(p, power)
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
    kw = {"p": p, "power": power, "normalize_embeddings": normalize_embeddings}
    if b is None:
        return metric_matrix(a, a, metric, jnp.arange(a.shape[0]), **kw)
    return metric_matrix(a, b, metric, **kw)


# --------------------------------------------------------------------------- label masks


def label_masks(
    labels: jax.Array, labels_all: jax.Array, self_index: ArrayLike
) -> tuple[jax.Array, jax.Array]:
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


def hardest(
    distances: jax.Array, pos: jax.Array, neg: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Row-wise hardest positive (farthest) and negative (nearest): ``(p, n, valid)``."""
    far = jnp.where(pos, distances, -jnp.inf)
    near = jnp.where(neg, distances, jnp.inf)
    p = jnp.argmax(far, axis=1).astype(jnp.int32)
    n = jnp.argmin(near, axis=1).astype(jnp.int32)
    return p, n, jnp.any(pos, axis=1) & jnp.any(neg, axis=1)


@_episodes(2)
def batch_hard_triplets(
    distances: ArrayLike, labels: ArrayLike
) -> tuple[jax.Array, jax.Array, jax.Array]:
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


def _pair_label_masks(
    distances: ArrayLike, labels: ArrayLike
) -> tuple[jax.Array, jax.Array, jax.Array]:
    _check_labels(distances, labels)
    labels = jnp.asarray(labels)
    pos, neg = label_masks(labels, labels, jnp.arange(labels.shape[0]))
    (d,) = upcast(jax.lax.stop_gradient(jnp.asarray(distances)))
    return d, pos, neg


@_episodes(2)
def multi_similarity_pairs(
    similarities: ArrayLike, labels: ArrayLike, *, epsilon: ArrayLike = 0.1
) -> tuple[jax.Array, jax.Array]:
    r"""Multi-similarity pair mining (Wang et al. 2019), PML ``MultiSimilarityMiner``.

    With :math:`s` the similarities (larger is closer), a negative pair
    :math:`(a, n)` is kept when it is closer than the anchor's least similar
    positive minus a slack, and a positive pair :math:`(a, p)` when it is less
    similar than the anchor's most similar negative plus the slack:

    .. math::
       s_{an} + \epsilon > \min_{p'} s_{ap'}, \qquad s_{ap} - \epsilon < \max_{n'} s_{an'}

    An anchor without positives keeps no negative pair, and one without
    negatives keeps no positive pair (PML's sentinels). PML's miner takes
    embeddings and its default ``CosineSimilarity``; pass
    ``1 - pairwise_distances(e, metric="cosine")`` for the same pairs.

    Args:
      similarities: ``[batch, batch]`` (or ``[episodes, batch, batch]``)
        similarities, larger is closer.
      labels: ``[batch]`` (``[episodes, batch]``) integer labels.
      epsilon: :math:`\epsilon`; float or traced array.

    Returns:
      ``(pos_mask, neg_mask)``: boolean ``[batch, batch]`` masks of the kept
      positive and negative pairs (the ``pos_mask=``/``neg_mask=`` of the pair
      losses, e.g. :func:`jaxloss.multi_similarity_loss`). No gradient flows
      through them.

    Examples:
      >>> import jax.numpy as jnp
      >>> s = jnp.array([[1.0, 0.5, 0.7], [0.5, 1.0, 0.2], [0.7, 0.2, 1.0]])
      >>> pos, neg = multi_similarity_pairs(s, jnp.array([0, 0, 1]))
      >>> pos.astype(int)[0], neg.astype(int)[0]
      (Array([0, 1, 0], dtype=int32), Array([0, 0, 1], dtype=int32))

    References:
      X. Wang et al., "Multi-Similarity Loss with General Pair Weighting for
      Deep Metric Learning", CVPR 2019, https://arxiv.org/abs/1904.06627;
      pytorch-metric-learning ``MultiSimilarityMiner``.
    """
    s, pos, neg = _pair_label_masks(similarities, labels)
    eps = jnp.asarray(jax.lax.stop_gradient(epsilon), s.dtype)
    least_positive = jnp.min(jnp.where(pos, s, jnp.inf), axis=1, keepdims=True)
    most_negative = jnp.max(jnp.where(neg, s, -jnp.inf), axis=1, keepdims=True)
    return pos & (s - eps < most_negative), neg & (s + eps > least_positive)


@_episodes(2)
def pair_margin_pairs(
    distances: ArrayLike,
    labels: ArrayLike,
    *,
    pos_margin: ArrayLike = 0.2,
    neg_margin: ArrayLike = 0.8,
) -> tuple[jax.Array, jax.Array]:
    r"""Pairs that violate a margin, PML ``PairMarginMiner``.

    Positive pairs farther than ``pos_margin`` and negative pairs nearer than
    ``neg_margin``: :math:`d_{ap} > m_+`, :math:`d_{an} < m_-`.

    Args:
      distances: ``[batch, batch]`` (or ``[episodes, batch, batch]``) distances
        (smaller is closer). PML's default is ``LpDistance()``:
        ``pairwise_distances(e, normalize_embeddings=True)``.
      labels: ``[batch]`` (``[episodes, batch]``) integer labels.
      pos_margin: :math:`m_+`; float or traced array.
      neg_margin: :math:`m_-`; float or traced array.

    Returns:
      ``(pos_mask, neg_mask)``: boolean ``[batch, batch]`` masks of the mined
      positive and negative pairs (no gradient flows through them).

    Examples:
      >>> import jax.numpy as jnp
      >>> x = jnp.array([[0.0], [1.0], [0.5]])
      >>> pos, neg = pair_margin_pairs(pairwise_distances(x), jnp.array([0, 0, 1]))
      >>> int(pos.sum()), int(neg.sum())
      (2, 4)

    References:
      pytorch-metric-learning ``PairMarginMiner``.
    """
    d, pos, neg = _pair_label_masks(distances, labels)
    return (
        pos & (d > jnp.asarray(jax.lax.stop_gradient(pos_margin), d.dtype)),
        neg & (d < jnp.asarray(jax.lax.stop_gradient(neg_margin), d.dtype)),
    )


@_episodes(2)
def triplet_margin_mask(
    distances: ArrayLike,
    labels: ArrayLike,
    *,
    margin: ArrayLike = 0.2,
    type_of_triplets: TripletType = "all",
) -> jax.Array:
    r"""Triplets selected by their margin, PML ``TripletMarginMiner`` as a ``[B, B, B]`` mask.

    With :math:`\Delta = d_{an} - d_{ap}` for every valid triplet (as
    :func:`batch_all_triplet_mask`):

    - ``"all"``: :math:`\Delta \le m` (PML's ``"all"`` still filters by the margin);
    - ``"hard"``: :math:`\Delta \le 0`;
    - ``"semihard"``: :math:`0 < \Delta \le m`;
    - ``"easy"``: :math:`\Delta > m`.

    This materialises ``batch**3`` booleans (fine for a batch of a few hundred);
    the losses mine blockwise instead.

    Args:
      distances: ``[batch, batch]`` (or ``[episodes, batch, batch]``) distances
        (smaller is closer).
      labels: ``[batch]`` (``[episodes, batch]``) integer labels.
      margin: :math:`m`; float or traced array.
      type_of_triplets: ``"all"`` (default), ``"hard"``, ``"semihard"`` or ``"easy"``.

    Returns:
      A boolean ``[batch, batch, batch]`` mask indexed ``[anchor, positive,
      negative]`` (with the episode axis first).

    Examples:
      >>> import jax.numpy as jnp
      >>> x = jnp.array([[0.0], [1.0], [0.5]])
      >>> mask = triplet_margin_mask(pairwise_distances(x), jnp.array([0, 0, 1]), type_of_triplets="hard")
      >>> [tuple(int(i) for i in t) for t in jnp.argwhere(mask)]
      [(0, 1, 2), (1, 0, 2)]

    References:
      pytorch-metric-learning ``TripletMarginMiner``.
    """
    contracts.choice(type_of_triplets, TRIPLET_TYPES, "type_of_triplets")
    d, pos, neg = _pair_label_masks(distances, labels)
    m = jnp.asarray(jax.lax.stop_gradient(margin), d.dtype)
    delta = d[:, None, :] - d[:, :, None]  # [a, p, n] = d_an - d_ap
    if type_of_triplets == "easy":
        keep = delta > m
    elif type_of_triplets == "hard":
        keep = (delta <= m) & (delta <= 0)
    elif type_of_triplets == "semihard":
        keep = (delta <= m) & (delta > 0)
    else:
        keep = delta <= m
    return keep & pos[:, :, None] & neg[:, None, :]


# --------------------------------------------------------------------------- one per row (shared by the easy/hard miners)


def _range_mask(d: jax.Array, allowed: tuple[float, float] | None, what: str) -> jax.Array | None:
    if allowed is None:
        return None
    if len(allowed) != 2:
        raise ValueError(f"{function_name()}: {what} must be a (low, high) pair, got {allowed!r}")
    low, high = (jnp.asarray(jax.lax.stop_gradient(v), d.dtype) for v in allowed)
    return (d >= low) & (d <= high)


def _pick_per_row(
    d: jax.Array,
    candidates: jax.Array,
    nearest: bool,
    allowed: jax.Array | None,
    threshold: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per row, the nearest (``nearest``) or farthest candidate, optionally beyond the
    per-row ``threshold`` (nearest: strictly farther; farthest: strictly nearer) and
    inside the ``allowed`` band: ``(index, distance, found)``."""
    m = candidates
    if threshold is not None:
        m = m & ((d > threshold[:, None]) if nearest else (d < threshold[:, None]))
    if allowed is not None:
        m = m & allowed
    if nearest:
        idx = jnp.argmin(jnp.where(m, d, jnp.inf), axis=1)
    else:
        idx = jnp.argmax(jnp.where(m, d, -jnp.inf), axis=1)
    idx = idx.astype(jnp.int32)
    return idx, pick(d, idx), jnp.any(m, axis=1)
