"""Pair embedding losses: contrastive (Hadsell et al.), the pytorch-metric-learning
batch contrastive loss, PyTorch's triplet margin, margin ranking and cosine embedding
losses; the metric option shared by the labelled-batch losses (``triplet_loss`` with
in-batch mining is in ``_triplets``).

Distances come from :mod:`jaxloss.mining` (safe square root: finite gradients
at zero distance and for duplicate embeddings). Batch-level losses return one
value per anchor for ``reduction="none"``; ``weights``/``where`` then act on
anchors, and a masked anchor still serves as a positive or negative for the
others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeAlias

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.contracts import function_name
from .._src.deprecation import renamed
from .._src.elementwise import elementwise
from .._src.embeddings import embedding_tuples, pair_batch
from .._src.labels import poison
from .._src.numerics import abs0, l2_normalize, param, safe_norm, safe_root
from .._src.reduce import check_reduction, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._mining import (
    DISTANCE_METRICS,
    DistanceMetric,
    hardest,
    metric_matrix,
    normalize_rows,
)

__all__ = [
    "batch_contrastive_loss",
    "contrastive_loss",
    "cosine_embedding_loss",
    "margin_ranking_loss",
    "triplet_margin_loss",
]

_FAMILY = "embedding"
# A metric name or a callable ``(x, ref) -> [n, m]`` distance matrix.
MetricArg: TypeAlias = DistanceMetric | Callable[[jax.Array, jax.Array], jax.Array]


def check_metric(metric: MetricArg) -> None:
    """``metric`` is one of the distance names or a callable."""
    if not callable(metric):
        contracts.choice(metric, DISTANCE_METRICS, "metric")


# --------------------------------------------------------------------------- pairs


def _paired(x1: jax.Array, x2: jax.Array, metric: MetricArg, normalize: bool = False) -> jax.Array:
    """Row-wise distance of matching rows, ``[...]``; a callable ``metric`` is called on
    each pair as a ``[1, dim]`` by ``[1, dim]`` matrix."""
    if normalize:
        q = 1.0 if metric == "manhattan" else 2.0
        x1, x2 = normalize_rows(x1, q), normalize_rows(x2, q)
    if callable(metric):
        lead, dim = x1.shape[:-1], x1.shape[-1]
        fn = metric

        def one(u: jax.Array, v: jax.Array) -> jax.Array:
            d = jnp.asarray(fn(u[None], v[None]))
            if d.shape != (1, 1):
                raise ValueError(
                    f"{function_name()}: metric returned shape {d.shape} for two [1, dim] rows; a "
                    "callable metric must return the [n, m] distance matrix of its two arguments"
                )
            return d[0, 0]

        return jax.vmap(one)(x1.reshape(-1, dim), x2.reshape(-1, dim)).reshape(lead)
    if metric == "dot":
        return -jnp.sum(x1 * x2, axis=-1)
    if metric == "cosine":
        return 1.0 - jnp.sum(l2_normalize(x1) * l2_normalize(x2), axis=-1)
    if metric == "manhattan":
        return jnp.sum(abs0(x1 - x2), axis=-1)
    sq = jnp.sum(jnp.square(x1 - x2), axis=-1)
    return sq if metric == "squared_euclidean" else safe_norm(x1 - x2, axis=-1)


@register(_FAMILY, reference="Hadsell, Chopra, LeCun 2006 (contrastive loss)")
def contrastive_loss(
    x1: ArrayLike, x2: ArrayLike, similar: ArrayLike, *, margin: ArrayLike = 1.0, metric: MetricArg = "euclidean",
    normalize_embeddings: bool = False,
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
      metric: ``"euclidean"`` (default), ``"squared_euclidean"``, ``"cosine"``,
        ``"dot"``, ``"lp"`` (``p=2``), ``"manhattan"`` (see
        :func:`jaxloss.mining.pairwise_distances`), or a callable
        ``(x, y) -> [n, m]`` distance matrix, called here on each pair as two
        ``[1, dim]`` rows.
      normalize_embeddings: L2-normalise the rows first (the L1 norm for
        ``"manhattan"``), as PML's distances do by default.
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
    check_metric(metric)
    (a, b), target = embedding_tuples({"x1": x1, "x2": x2}, similar, "similar")
    y = jnp.asarray(target, a.dtype)
    m = param(margin, a.dtype)
    d = _paired(a, b, metric, normalize_embeddings)
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
    metric: MetricArg = "euclidean", normalize_embeddings: bool = False, mining: Literal["all", "hard"] = "all",
    pos_mask: ArrayLike | None = None, neg_mask: ArrayLike | None = None,
    ref_embeddings: ArrayLike | None = None, ref_labels: ArrayLike | None = None, ref_where: ArrayLike | None = None,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Contrastive loss over the pairs of a labelled batch, pytorch-metric-learning semantics.

    .. math::
       \ell^+_{ij} = \max(0, d_{ij} - m_+), \qquad \ell^-_{ij} = \max(0, m_- - d_{ij}), \qquad
       \text{mean} = \operatorname{mean}_{\ell^+ > 0} \ell^+ + \operatorname{mean}_{\ell^- > 0} \ell^-

    Positive pairs are ordered pairs :math:`(i, j)`, :math:`i \ne j`, with equal
    labels; negative pairs have different labels. Each part is averaged over its
    pairs with a non-zero loss (PML's ``AvgNonZeroReducer``; an empty part is 0)
    and the two means are added, exactly as PML ``ContrastiveLoss``. PML
    ``ContrastiveLoss(pos_margin, neg_margin)`` (default ``LpDistance()``) is
    this with ``normalize_embeddings=True``; the jaxloss default compares the
    embeddings as given.

    With ``ref_embeddings`` (PML ``ref_emb``/``ref_labels``) the pairs are
    (anchor from ``embeddings``, candidate from the references), with no
    self-exclusion. ``pos_mask``/``neg_mask`` are PML's pair ``indices_tuple``
    (e.g. from :func:`jaxloss.mining.pair_margin_pairs`): only those pairs
    enter.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      labels: ``[batch]`` integer labels.
      pos_margin: :math:`m_+`; float or traced array.
      neg_margin: :math:`m_-`; float or traced array.
      metric: ``"euclidean"`` (default), ``"squared_euclidean"``, ``"cosine"``,
        ``"dot"``, ``"lp"`` (``p=2``), ``"manhattan"``, or a callable
        ``(x, y) -> [n, m]`` distance matrix (see
        :func:`jaxloss.mining.pairwise_distances`).
      normalize_embeddings: L2-normalise the rows first (``True`` is PML's
        default ``LpDistance()``).
      mining: ``"all"`` (every pair) or ``"hard"`` (each anchor's hardest
        positive and hardest negative pair among the candidate pairs, as PML's
        ``BatchHardMiner`` feeding ``ContrastiveLoss``).
      pos_mask: optional boolean ``[batch, candidates]`` mask of the positive
        pairs (anchor, candidate) that enter, from a pair miner (PML's
        ``indices_tuple``); used as given. Default: every pair with the same
        label, self excluded.
      neg_mask: the same for the negative pairs. Default: every pair with
        different labels.
      ref_embeddings: optional ``[m, dim]`` reference (candidate) embeddings
        (PML ``ref_emb``): anchors come from ``embeddings``, their positives
        and negatives from the references, with no self-exclusion.
      ref_labels: ``[m]`` integer labels of ``ref_embeddings`` (required with them).
      ref_where: optional boolean ``[m]`` mask of the valid reference rows (a
        partly filled memory), or ``[batch, m]`` of the valid (anchor,
        reference) pairs (:func:`jaxloss.cross_batch_memory_loss`); masked
        entries contribute nothing, NaN included.
      weights: optional ``[batch, candidates]``-broadcastable pair weights.
      where: optional boolean ``[batch, candidates]`` pair mask.
      reduction: ``"mean"`` (default), ``"sum"`` (total over pairs) or
        ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; for ``"none"`` the ``[batch,
      candidates]`` pair losses (0 off the mined pairs); the candidates are the
      batch itself, or the references.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.0, 0.0], [0.0, 0.5], [0.0, 0.75]])
      >>> jaxloss.batch_contrastive_loss(x, jnp.array([0, 0, 1]))
      Array(1., dtype=float32)

    References:
      R. Hadsell, S. Chopra, Y. LeCun, CVPR 2006; pytorch-metric-learning
      ``ContrastiveLoss`` (https://kevinmusgrave.github.io/pytorch-metric-learning/losses/).
    """
    check_metric(metric)
    contracts.choice(mining, ("all", "hard"), "mining")
    check_reduction(reduction, own_rule=True)
    b = pair_batch(embeddings, labels, pos_mask, neg_mask, ref_embeddings, ref_labels, ref_where)
    e, pos, neg = b.embeddings, b.pos, b.neg
    d = metric_matrix(e, b.refs, metric, b.self_index, normalize_embeddings=normalize_embeddings)
    if mining == "hard":
        p, q, valid = hardest(jax.lax.stop_gradient(d), pos, neg)
        columns = jnp.arange(d.shape[1], dtype=jnp.int32)[None, :]
        pos, neg = (columns == p[:, None]) & valid[:, None], (columns == q[:, None]) & valid[:, None]
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


def _pnorm_distance(p: float, eps: jax.Array) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """PyTorch's ``pairwise_distance``: ``||x - y + eps||_p`` over the last axis."""

    def distance(x: jax.Array, y: jax.Array) -> jax.Array:
        return _pnorm(x - y + eps, p)

    return distance


def _user_distance(
    fn: Callable[[jax.Array, jax.Array], jax.Array], shape: tuple[int, ...]
) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """``fn`` with its output checked to be one distance per row, of shape ``shape``."""
    if not callable(fn):
        raise TypeError(f"{function_name()}: distance_function must be a callable (x, y) -> row distances "
                        f"or None, got {type(fn).__name__}")

    def distance(x: jax.Array, y: jax.Array) -> jax.Array:
        d = jnp.asarray(fn(x, y))
        if d.shape != shape:
            raise ValueError(f"{function_name()}: distance_function returned shape {d.shape}; "
                             f"expected one distance per row, {shape}")
        return d.astype(x.dtype)

    return distance


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
    distance_function: Callable[[jax.Array, jax.Array], jax.Array] | None = None,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Triplet margin loss on given triplets, PyTorch semantics.

    .. math::
       \ell = \max(0, m + d(a, p) - d(a, n)), \qquad d(x, y) = \lVert x - y + \epsilon \rVert_p

    With ``swap=True`` (Balntas et al. 2016) :math:`d(a, n)` is replaced by
    :math:`\min(d(a, n), d(p, n))`.

    With ``distance_function`` set, :math:`d` is that callable instead of the
    p-norm (``p`` and ``eps`` are then unused): PyTorch
    ``TripletMarginWithDistanceLoss(distance_function=..., margin=1.0, swap=False)``,
    whose default ``pairwise_distance`` is this function's default ``p=2, eps=1e-6``.
    The callable takes two ``[..., dim]`` arrays and returns the ``[...]`` row
    distances; it must have a finite gradient where it is used (a Euclidean
    distance written as ``jnp.linalg.norm(x - y, axis=-1)`` has a NaN gradient
    at ``x == y``; ``jnp.sqrt(jnp.sum((x - y) ** 2, axis=-1) + 1e-12)`` has a
    finite one). sentence-transformers ``TripletLoss`` with its Manhattan or
    cosine metric is this with ``distance_function`` the L1 distance or
    ``1 - cos``.

    Args:
      anchors: ``[..., dim]`` floating embeddings.
      positives: same shape.
      negatives: same shape.
      margin: :math:`m`; float or traced array.
      p: the norm degree (static Python number; 2 by default).
      swap: use the distance swap.
      eps: :math:`\epsilon` added to the difference, as in PyTorch (static).
      distance_function: optional ``(x, y) -> [...]`` row distance replacing the p-norm
        (static; PyTorch ``TripletMarginWithDistanceLoss``); ``None`` keeps the p-norm.
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
    if distance_function is None:
        distance = _pnorm_distance(p, jnp.asarray(eps, a.dtype))
    else:
        distance = _user_distance(distance_function, a.shape[:-1])
    d_ap = distance(a, pos)
    d_an = distance(a, neg)
    if swap:
        d_an = jnp.minimum(d_an, distance(pos, neg))
    loss = jax.nn.relu(param(margin, a.dtype) + d_ap - d_an)
    return reduce(loss, reduction, weights=weights, where=where)
