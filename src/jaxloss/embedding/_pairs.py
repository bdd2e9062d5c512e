"""Pair and triplet embedding losses: contrastive (Hadsell et al.), the
pytorch-metric-learning batch contrastive loss, triplet losses with in-batch
mining (batch-all, batch-hard, semi-hard), and PyTorch's margin ranking and
cosine embedding losses.

Distances come from :mod:`jaxloss.mining` (safe square root: finite gradients
at zero distance and for duplicate embeddings). Batch-level losses return one
value per anchor for ``reduction="none"``; ``weights``/``where`` then act on
anchors, and a masked anchor still serves as a positive or negative for the
others.
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.deprecation import renamed
from .._src.distributed import global_reduce
from .._src.elementwise import elementwise
from .._src.embeddings import embedding_tuples, labelled_batch, pick
from .._src.labels import poison
from .._src.numerics import abs0, l2_normalize, param, safe_norm, safe_root
from .._src.reduce import check_reduction, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._mining import (
    METRICS,
    Metric,
    distance_matrix,
    hard_pairs,
    hardest,
    label_masks,
    semi_hard,
)

__all__ = [
    "batch_contrastive_loss",
    "contrastive_loss",
    "cosine_embedding_loss",
    "margin_ranking_loss",
    "triplet_loss",
    "triplet_margin_loss",
]

_FAMILY = "embedding"
TripletMining = Literal["batch_all", "batch_hard", "semi_hard"]
_MININGS: tuple[TripletMining, ...] = ("batch_all", "batch_hard", "semi_hard")
# Bytes of one [chunk, m, m] float32 block of the soft-margin batch-all loss.
_CHUNK_BYTES = 1 << 28


# --------------------------------------------------------------------------- pairs


def _paired(x1: jax.Array, x2: jax.Array, metric: str) -> jax.Array:
    """Row-wise distance of matching rows, ``[...]``."""
    if metric == "dot":
        return -jnp.sum(x1 * x2, axis=-1)
    if metric == "cosine":
        return 1.0 - jnp.sum(l2_normalize(x1) * l2_normalize(x2), axis=-1)
    sq = jnp.sum(jnp.square(x1 - x2), axis=-1)
    return sq if metric == "squared_euclidean" else safe_norm(x1 - x2, axis=-1)


@register(_FAMILY, reference="Hadsell, Chopra, LeCun 2006 (contrastive loss)")
def contrastive_loss(
    x1: ArrayLike, x2: ArrayLike, similar: ArrayLike, *, margin: ArrayLike = 1.0, metric: Metric = "euclidean",
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Contrastive loss of labelled pairs (Hadsell, Chopra, LeCun 2006).

    .. math::
       \ell = \tfrac12 \big(y\, d^2 + (1 - y) \max(0, m - d)^2\big), \qquad d = d(x_1, x_2)

    Args:
      x1: ``[..., dim]`` floating embeddings.
      x2: same shape as ``x1``.
      similar: ``[...]`` pair labels: 1 (or ``True``) for similar pairs, 0 for
        dissimilar ones; soft values in between interpolate.
      margin: :math:`m`; float or traced array.
      metric: ``"euclidean"`` (default), ``"squared_euclidean"``, ``"cosine"``
        or ``"dot"`` (see :func:`jaxloss.mining.pairwise_distances`).
      weights: optional weights broadcastable to ``[...]``.
      where: optional boolean mask of shape ``[...]``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the ``[...]`` per-pair losses for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x1 = jnp.array([[0.0, 0.0], [0.0, 0.0]])
      >>> x2 = jnp.array([[0.6, 0.8], [0.3, 0.4]])
      >>> jaxloss.contrastive_loss(x1, x2, jnp.array([1.0, 0.0]))
      Array(0.3125, dtype=float32)

    References:
      R. Hadsell, S. Chopra, Y. LeCun, "Dimensionality Reduction by Learning an
      Invariant Mapping", CVPR 2006, https://doi.org/10.1109/CVPR.2006.100.
    """
    contracts.choice(metric, METRICS, "metric")
    (a, b), target = embedding_tuples({"x1": x1, "x2": x2}, similar, "similar")
    y = jnp.asarray(target, a.dtype)
    m = param(margin, a.dtype)
    d = _paired(a, b, metric)
    loss = 0.5 * (y * jnp.square(d) + (1.0 - y) * jnp.square(jax.nn.relu(m - d)))
    return reduce(loss, reduction, weights=weights, where=where)


@register(_FAMILY, reference="torch.nn.functional.margin_ranking_loss")
@renamed(y="labels")
def margin_ranking_loss(
    x1: ArrayLike, x2: ArrayLike, labels: ArrayLike, *, margin: ArrayLike = 0.0,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Margin ranking loss, PyTorch semantics.

    .. math:: \ell = \max(0, -y (x_1 - x_2) + \text{margin})

    Args:
      x1: scores of any shape.
      x2: same shape as ``x1``.
      labels: ``y``, same shape; +1 when ``x1`` should rank higher, -1 when ``x2``
        should (PyTorch's ``target``; the keyword ``y=`` is deprecated).
      margin: float or traced array.
      weights: optional weights broadcastable to the elementwise loss.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.margin_ranking_loss(jnp.array([1.0, 2.0]), jnp.array([2.0, 1.0]), jnp.array([1.0, 1.0]))
      Array(0.5, dtype=float32)

    References:
      PyTorch ``torch.nn.functional.margin_ranking_loss``.
    """
    return elementwise(
        lambda a, b, t, margin: jax.nn.relu(margin - t * (a - b)), x1, x2, labels,
        weights=weights, where=where, reduction=reduction, names=("x1", "x2", "labels"), margin=margin,
    )


@register(_FAMILY, reference="torch.nn.functional.cosine_embedding_loss")
@renamed(y="labels")
def cosine_embedding_loss(
    x1: ArrayLike, x2: ArrayLike, labels: ArrayLike, *, margin: ArrayLike = 0.0,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Cosine embedding loss, PyTorch semantics.

    .. math::
       \ell = \begin{cases} 1 - \cos(x_1, x_2) & y = 1 \\
       \max(0, \cos(x_1, x_2) - \text{margin}) & y = -1 \end{cases}

    with PyTorch's :math:`\cos = x_1 \cdot x_2 / \sqrt{(\lVert x_1\rVert^2 +
    10^{-12})(\lVert x_2\rVert^2 + 10^{-12})}` (zero vectors: cosine 0, finite
    gradients). Other values of ``labels`` give 0, as in PyTorch.

    Args:
      x1: ``[..., dim]`` floating embeddings.
      x2: same shape as ``x1``.
      labels: ``y``, ``[...]`` targets in ``{1, -1}`` (PyTorch's ``target``; the
        keyword ``y=`` is deprecated).
      margin: float or traced array.
      weights: optional weights broadcastable to ``[...]``.
      where: optional boolean mask of shape ``[...]``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the ``[...]`` per-pair losses for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0], [1.0, 0.0]])
      >>> jaxloss.cosine_embedding_loss(x, jnp.array([[0.0, 1.0], [1.0, 1.0]]), jnp.array([1, -1]))
      Array(0.8535534, dtype=float32)

    References:
      PyTorch ``torch.nn.functional.cosine_embedding_loss``.
    """
    (a, b), target = embedding_tuples({"x1": x1, "x2": x2}, labels, "labels")
    y = jnp.asarray(target)
    eps = jnp.asarray(1e-12, a.dtype)
    denominator = jnp.sqrt((jnp.sum(jnp.square(a), axis=-1) + eps) * (jnp.sum(jnp.square(b), axis=-1) + eps))
    cos = jnp.sum(a * b, axis=-1) / denominator
    zero = jnp.zeros((), a.dtype)
    loss = jnp.where(y == 1, 1.0 - cos, jnp.where(y == -1, jax.nn.relu(cos - param(margin, a.dtype)), zero))
    if jnp.issubdtype(y.dtype, jnp.floating):
        loss = poison(loss, jnp.isnan(y))  # NaN in, NaN out: a NaN target is neither 1 nor -1
    return reduce(loss, reduction, weights=weights, where=where)


# --------------------------------------------------------------------------- batch contrastive


@register(_FAMILY, reference="pytorch-metric-learning ContrastiveLoss")
def batch_contrastive_loss(
    embeddings: ArrayLike, labels: ArrayLike, *, pos_margin: ArrayLike = 0.0, neg_margin: ArrayLike = 1.0,
    metric: Metric = "euclidean", mining: Literal["all", "hard"] = "all",
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Contrastive loss over the pairs of a labelled batch, pytorch-metric-learning semantics.

    .. math::
       \ell^+_{ij} = \max(0, d_{ij} - m_+), \qquad \ell^-_{ij} = \max(0, m_- - d_{ij}), \qquad
       \text{mean} = \operatorname{mean}_{\ell^+ > 0} \ell^+ + \operatorname{mean}_{\ell^- > 0} \ell^-

    Positive pairs are ordered pairs :math:`(i, j)`, :math:`i \ne j`, with equal
    labels; negative pairs have different labels. Each part is averaged over its
    pairs with a non-zero loss (PML's ``AvgNonZeroReducer``; an empty part is 0)
    and the two means are added, exactly as PML ``ContrastiveLoss``. Distances
    are on the embeddings as given: PML's default distance L2-normalises first,
    so pass ``jaxloss.mining``-style normalised embeddings (or compare with
    ``LpDistance(normalize_embeddings=False)``) for the same numbers.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      labels: ``[batch]`` integer labels.
      pos_margin: :math:`m_+`; float or traced array.
      neg_margin: :math:`m_-`; float or traced array.
      metric: ``"euclidean"`` (default), ``"squared_euclidean"``, ``"cosine"``
        or ``"dot"``.
      mining: ``"all"`` (every pair) or ``"hard"`` (each anchor's hardest
        positive and hardest negative pair, :func:`jaxloss.mining.hard_pairs`,
        as PML's ``BatchHardMiner`` feeding ``ContrastiveLoss``).
      weights: optional ``[batch, batch]``-broadcastable pair weights.
      where: optional boolean ``[batch, batch]`` pair mask.
      reduction: ``"mean"`` (default), ``"sum"`` (total over pairs) or
        ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; for ``"none"`` the ``[batch, batch]``
      pair losses (0 off the mined pairs).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.0, 0.0], [0.0, 0.5], [0.0, 0.75]])
      >>> jaxloss.batch_contrastive_loss(x, jnp.array([0, 0, 1]))
      Array(1., dtype=float32)

    References:
      R. Hadsell, S. Chopra, Y. LeCun, CVPR 2006; pytorch-metric-learning
      ``ContrastiveLoss`` (https://kevinmusgrave.github.io/pytorch-metric-learning/losses/).
    """
    contracts.choice(metric, METRICS, "metric")
    contracts.choice(mining, ("all", "hard"), "mining")
    check_reduction(reduction)
    batch = labelled_batch(embeddings, labels)
    e, y = batch.embeddings, batch.labels
    d = distance_matrix(e, e, metric, batch.index)
    if mining == "all":
        pos, neg = label_masks(y, y, batch.index)
    else:
        pos, neg = hard_pairs(jax.lax.stop_gradient(d), y)
    pos_loss = jnp.where(pos, jax.nn.relu(d - param(pos_margin, e.dtype)), 0.0)
    neg_loss = jnp.where(neg, jax.nn.relu(param(neg_margin, e.dtype) - d), 0.0)
    if reduction == "none":
        return reduce(pos_loss + neg_loss, "none", weights=weights, where=where)
    if reduction == "sum":
        return reduce(pos_loss + neg_loss, "sum", weights=weights, where=where)
    # ~(l <= 0): a NaN term is counted (NaN in, NaN out), never dropped as "not positive".
    return (reduce(pos_loss, "mean", weights=weights, where=where, valid=~(pos_loss <= 0))
            + reduce(neg_loss, "mean", weights=weights, where=where, valid=~(neg_loss <= 0)))


# --------------------------------------------------------------------------- triplets


def _pnorm(x: jax.Array, p: float) -> jax.Array:
    """``||x||_p`` over the last axis with a finite gradient at 0 (torch's ``norm``)."""
    if p == 2:
        return safe_norm(x, axis=-1)
    if p == 1:
        return jnp.sum(abs0(x), axis=-1)
    if p == float("inf"):
        return jnp.max(jnp.abs(x), axis=-1)
    s = jnp.sum(abs0(x) ** p, axis=-1)
    return safe_root(s, p)


@register(_FAMILY, reference="torch.nn.functional.triplet_margin_loss")
def triplet_margin_loss(
    anchors: ArrayLike, positives: ArrayLike, negatives: ArrayLike, *, margin: ArrayLike = 1.0, p: float = 2.0,
    swap: bool = False, eps: float = 1e-6,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Triplet margin loss on given triplets, PyTorch semantics.

    .. math::
       \ell = \max(0, m + d(a, p) - d(a, n)), \qquad d(x, y) = \lVert x - y + \epsilon \rVert_p

    With ``swap=True`` (Balntas et al. 2016) :math:`d(a, n)` is replaced by
    :math:`\min(d(a, n), d(p, n))`.

    Args:
      anchors: ``[..., dim]`` floating embeddings.
      positives: same shape.
      negatives: same shape.
      margin: :math:`m`; float or traced array.
      p: the norm degree (static Python number; 2 by default).
      swap: use the distance swap.
      eps: :math:`\epsilon` added to the difference, as in PyTorch (static).
      weights: optional weights broadcastable to ``[...]``.
      where: optional boolean mask of shape ``[...]``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[...]`` per-triplet losses for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> a, pos, neg = jnp.array([[0.0, 0.0]]), jnp.array([[0.0, 1.0]]), jnp.array([[1.0, 0.0]])
      >>> jaxloss.triplet_margin_loss(a, pos, neg, eps=0.0)
      Array(1., dtype=float32)

    References:
      PyTorch ``torch.nn.functional.triplet_margin_loss``; V. Balntas et al.,
      "Learning local feature descriptors with triplets and shallow
      convolutional neural networks", BMVC 2016.
    """
    (a, pos, neg), _ = embedding_tuples({"anchors": anchors, "positives": positives, "negatives": negatives})
    e = jnp.asarray(eps, a.dtype)
    d_ap = _pnorm(a - pos + e, p)
    d_an = _pnorm(a - neg + e, p)
    if swap:
        d_an = jnp.minimum(d_an, _pnorm(pos - neg + e, p))
    loss = jax.nn.relu(param(margin, a.dtype) + d_ap - d_an)
    return reduce(loss, reduction, weights=weights, where=where)


def _batch_all_hinge(d: jax.Array, pos: jax.Array, neg: jax.Array, margin: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Per anchor: sum and count of the positive hinge losses over all its triplets.

    For one positive, :math:`\\sum_n \\max(0, t - d_{an}) = k t - \\sum_{j<k} s_j` with
    :math:`s` the sorted negative distances, :math:`k` the number below
    :math:`t = d_{ap} + m`: a sort, a cumulative sum and a binary search per
    anchor, ``O(n m log m)`` time and ``O(n m)`` memory.
    """
    ranked = jnp.sort(jnp.where(neg, d, jnp.inf), axis=1)
    finite = jnp.isfinite(ranked)
    prefix = jnp.cumsum(jnp.where(finite, ranked, 0.0), axis=1)
    prefix = jnp.concatenate([jnp.zeros_like(prefix[:, :1]), prefix], axis=1)
    threshold = d + margin
    k = jax.vmap(lambda r, q: jnp.searchsorted(r, q, side="left", method="scan"))(
        jax.lax.stop_gradient(ranked), jax.lax.stop_gradient(threshold)
    ).astype(jnp.int32)
    k = jnp.where(pos, k, 0)
    below = jnp.take_along_axis(prefix, k, axis=1)
    per_pair = jnp.where(pos, k.astype(d.dtype) * threshold - below, 0.0)
    # Rounding of k t - prefix can leave tiny negatives: the exact value is >= 0.
    per_pair = jnp.maximum(per_pair, 0.0)
    return jnp.sum(per_pair, axis=1), jnp.sum(k, axis=1).astype(d.dtype)


def _batch_all_soft(d: jax.Array, pos: jax.Array, neg: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Per anchor: sum of ``softplus(d_ap - d_an)`` over its triplets, in anchor chunks.

    Each chunk builds a ``[chunk, m, m]`` block; ``jax.checkpoint`` makes the
    backward pass recompute it, so only one block is alive at a time.
    """
    n, m = d.shape
    chunk = int(max(1, min(n, _CHUNK_BYTES // (4 * m * m))))
    pad = (-n) % chunk

    @jax.checkpoint
    def block(args):
        dc, pc, nc = args
        z = dc[:, :, None] - dc[:, None, :]
        ok = pc[:, :, None] & nc[:, None, :]
        return jnp.sum(jnp.where(ok, jax.nn.softplus(z), 0.0), axis=(1, 2))

    def split(x):
        x = jnp.concatenate([x, jnp.zeros((pad, m), x.dtype)], axis=0) if pad else x
        return x.reshape(-1, chunk, m)

    sums = jax.lax.map(block, (split(d), split(pos), split(neg))).reshape(-1)[:n]
    count = jnp.sum(pos, axis=1).astype(d.dtype) * jnp.sum(neg, axis=1).astype(d.dtype)
    return sums, count


@register(_FAMILY, reference="Hermans et al. 2017; pytorch-metric-learning TripletMarginLoss; TF-Addons triplet_semihard_loss")
def triplet_loss(
    embeddings: ArrayLike, labels: ArrayLike, *, margin: ArrayLike = 1.0, metric: Metric = "euclidean",
    mining: TripletMining = "batch_hard", soft_margin: bool = False, axis_name: str | None = None,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Triplet loss with in-batch mining.

    With :math:`d` the ``metric`` distance, :math:`P(a)` the other embeddings
    with anchor :math:`a`'s label and :math:`N(a)` those with another label,
    each mined triplet costs

    .. math::
       h(z) = \max(0, z + m) \quad (\texttt{soft\_margin}: \operatorname{softplus}(z),
       \text{ no margin}), \qquad z = d_{ap} - d_{an}.

    - ``"batch_hard"`` (Hermans et al. 2017): per anchor
      :math:`h(\max_{p \in P(a)} d_{ap} - \min_{n \in N(a)} d_{an})`; the mean
      runs over anchors.
    - ``"batch_all"``: every triplet :math:`(a, p, n)`; the mean runs over the
      triplets with a positive loss (pytorch-metric-learning
      ``TripletMarginLoss`` with its default ``AvgNonZeroReducer``). Computed per
      anchor by sorting (hinge) or in anchor chunks (soft margin): no
      ``[B, B, B]`` tensor.
    - ``"semi_hard"`` (TF-Addons ``triplet_semihard_loss``): per positive pair
      the nearest negative farther than the positive, else the farthest
      negative (:func:`jaxloss.mining.semi_hard_negatives`); the mean runs over
      positive pairs.

    Anchors without a positive or without a negative are excluded from the mean
    (TF-Addons instead treats the anchor itself as a negative at distance 0);
    nothing valid gives 0 with zero gradients.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      labels: ``[batch]`` integer labels.
      margin: :math:`m`; float or traced array (unused with ``soft_margin``).
      metric: ``"euclidean"`` (default), ``"squared_euclidean"``, ``"cosine"``
        or ``"dot"``.
      mining: ``"batch_hard"`` (default), ``"batch_all"`` or ``"semi_hard"``.
      soft_margin: softplus instead of the hinge.
      axis_name: under ``shard_map``/``pmap``, each device's anchors are mined
        against the batch gathered over this axis; ``"mean"``/``"sum"`` are
        then global (equal to the single-device loss on the concatenated batch)
        and ``"none"`` is this device's anchors.
      weights: optional ``[batch]`` anchor weights.
      where: optional boolean ``[batch]`` anchor mask (a masked anchor still
        serves as a positive or negative).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; for ``"none"`` the ``[batch]``
      per-anchor losses: the anchor's triplet loss (``"batch_hard"``) or the sum
      over its triplets (``"batch_all"``) or positive pairs (``"semi_hard"``).
      ``"mean"`` divides the (weighted) sum of these by the (weighted) number
      of counted terms: anchors, positive-loss triplets or positive pairs.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.0], [1.0], [0.5], [2.0]])
      >>> y = jnp.array([0, 0, 1, 1])
      >>> jaxloss.triplet_loss(x, y, margin=1.0)
      Array(1.625, dtype=float32)
      >>> jaxloss.triplet_loss(x, y, margin=1.0, mining="semi_hard")
      Array(0.875, dtype=float32)

    References:
      A. Hermans, L. Beyer, B. Leibe, "In Defense of the Triplet Loss for
      Person Re-Identification", 2017, https://arxiv.org/abs/1703.07737;
      F. Schroff et al., "FaceNet", CVPR 2015, https://arxiv.org/abs/1503.03832;
      pytorch-metric-learning ``TripletMarginLoss``; TF-Addons
      ``triplet_semihard_loss``.
    """
    contracts.choice(metric, METRICS, "metric")
    contracts.choice(mining, _MININGS, "mining")
    batch = labelled_batch(embeddings, labels, axis_name)
    e = batch.embeddings
    contracts.nonempty(batch.all_embeddings, "embeddings", hint="triplets are mined within the batch")
    d = distance_matrix(e, batch.all_embeddings, metric, batch.index)
    pos, neg = label_masks(batch.labels, batch.all_labels, batch.index)
    m = param(margin, e.dtype)

    def cost(z: jax.Array) -> jax.Array:
        return jax.nn.softplus(z) if soft_margin else jax.nn.relu(z + m)

    count = None
    if mining == "batch_hard":
        p, q, valid = hardest(jax.lax.stop_gradient(d), pos, neg)
        loss = jnp.where(valid, cost(pick(d, p) - pick(d, q)), 0.0)
    elif mining == "semi_hard":
        q, _, pairs = semi_hard(d, pos, neg)
        loss = jnp.sum(jnp.where(pairs, cost(d - pick(d, q)), 0.0), axis=1)
        count = jnp.sum(pairs, axis=1).astype(e.dtype)
    elif soft_margin:
        loss, count = _batch_all_soft(d, pos, neg)
    else:
        loss, count = _batch_all_hinge(d, pos, neg, m)
    if count is not None:
        valid = count > 0
    return global_reduce(loss, reduction, axis_name, weights=weights, where=where, valid=valid, normalizer=count)
