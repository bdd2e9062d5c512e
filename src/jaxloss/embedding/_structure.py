"""Losses over the pair structure of a labelled batch, pytorch-metric-learning semantics:
multi-similarity, circle and (generalized) lifted structure. Their prologue, shared with
the neighbourhood losses and the older pair/triplet/softmax losses, is
:func:`jaxloss._src.embeddings.pair_batch`.

Each anchor (row) is compared with the other embeddings of the batch: its
positives (same label, not itself) and negatives (other labels), or the pairs
a miner kept (``pos_mask=``/``neg_mask=``, PML's ``indices_tuple``, e.g. from
:func:`jaxloss.mining.multi_similarity_pairs`). Sums of exponentials are
masked log-sum-exps whose empty rows are exactly 0 with zero gradients (PML's
``lmu.logsumexp``), never ``-inf`` or NaN. PML normalises embeddings in its
default distances: the PML mapping of a distance-based loss here is
``normalize_embeddings=True``; the similarity-based ones (``similarity=
"cosine"``) normalise by construction.
"""

from __future__ import annotations

from typing import get_args

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.embeddings import masked_lse, pair_batch
from .._src.numerics import l2_normalize, param
from .._src.reduce import check_reduction, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._mining import metric_matrix
from ._pairs import MetricArg, check_metric
from ._softmax import Similarity

__all__ = [
    "circle_loss",
    "generalized_lifted_structure_loss",
    "lifted_structure_loss",
    "multi_similarity_loss",
]

_FAMILY = "embedding"
_SIMILARITIES: tuple[Similarity, ...] = get_args(Similarity)


# --------------------------------------------------------------------------- shared pieces


def similarity_matrix(x: jax.Array, r: jax.Array, kind: str) -> jax.Array:
    """``[n, m]`` similarities: cosine (rows L2-normalised, eps ``1e-12``) or raw dot products."""
    if kind == "cosine":
        x, r = l2_normalize(x), l2_normalize(r)
    return jnp.matmul(x, r.T, precision="highest")


# --------------------------------------------------------------------------- multi-similarity


@register(_FAMILY, reference="pytorch-metric-learning MultiSimilarityLoss (Wang et al. 2019)")
def multi_similarity_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: ArrayLike = 2.0,
    beta: ArrayLike = 50.0,
    base: ArrayLike = 0.5,
    similarity: Similarity = "cosine",
    pos_mask: ArrayLike | None = None,
    neg_mask: ArrayLike | None = None,
    ref_embeddings: ArrayLike | None = None,
    ref_labels: ArrayLike | None = None,
    ref_where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Multi-similarity loss (Wang et al. 2019), pytorch-metric-learning semantics.

    With :math:`s` the ``similarity`` of anchor :math:`i` to the other
    embeddings, :math:`P(i)` its positives and :math:`N(i)` its negatives,

    .. math::
       \ell_i = \frac{1}{\alpha} \log\Big(1 + \sum_{p \in P(i)} e^{-\alpha (s_{ip} - \lambda)}\Big)
              + \frac{1}{\beta} \log\Big(1 + \sum_{n \in N(i)} e^{\beta (s_{in} - \lambda)}\Big)

    with :math:`\lambda` = ``base``; an empty set contributes 0. Each term is a
    log-sum-exp with an explicit 0 logit (stable for any :math:`\beta`). The
    mean runs over **all** anchors, those without positives or negatives
    included (PML's ``MeanReducer``). PML ``MultiSimilarityLoss()`` is this
    with the defaults; with ``MultiSimilarityMiner`` it is
    ``pos_mask, neg_mask = jaxloss.mining.multi_similarity_pairs(s, labels)``.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      labels: ``[batch]`` integer labels.
      alpha: :math:`\alpha > 0` (positive pairs); float or traced array.
      beta: :math:`\beta > 0` (negative pairs); float or traced array.
      base: :math:`\lambda`; float or traced array.
      similarity: ``"cosine"`` (default; PML's ``CosineSimilarity``) or
        ``"dot"`` (raw dot products, PML's
        ``DotProductSimilarity(normalize_embeddings=False)``).
      pos_mask: optional boolean ``[batch, batch]`` mask of the positive pairs
        (anchor, candidate) that enter, from a pair miner (PML's
        ``indices_tuple``); used as given. Default: every pair with the same
        label, self excluded.
      neg_mask: the same for the negative pairs. Default: every pair with
        different labels.
      ref_embeddings: optional ``[m, dim]`` reference (candidate) embeddings
        (PML ``ref_emb``): anchors come from ``embeddings``, their positives
        and negatives from the references, with no self-exclusion.
      ref_labels: ``[m]`` integer labels of ``ref_embeddings`` (required with them).
      ref_where: optional boolean ``[m]`` mask of the valid reference rows (a
        partly filled memory); masked rows contribute nothing, NaN included.
      weights: optional ``[batch]`` anchor weights.
      where: optional boolean ``[batch]`` anchor mask (a masked anchor still
        serves as a positive or negative for the others).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the ``[batch]`` per-anchor losses for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
      >>> jaxloss.multi_similarity_loss(x, jnp.array([0, 0, 1]), beta=2.0)
      Array(0.97708064, dtype=float32)

    References:
      X. Wang, X. Han, W. Huang, D. Dong, M. R. Scott, "Multi-Similarity Loss
      with General Pair Weighting for Deep Metric Learning", CVPR 2019,
      https://arxiv.org/abs/1904.06627; pytorch-metric-learning
      ``MultiSimilarityLoss``.
    """
    contracts.choice(similarity, _SIMILARITIES, "similarity")
    contracts.bounded(alpha, "alpha", gt=0)
    contracts.bounded(beta, "beta", gt=0)
    check_reduction(reduction)
    b = pair_batch(embeddings, labels, pos_mask, neg_mask, ref_embeddings, ref_labels, ref_where)
    e, pos, neg = b.embeddings, b.pos, b.neg
    s = similarity_matrix(e, b.refs, similarity)
    a, b, lam = param(alpha, e.dtype), param(beta, e.dtype), param(base, e.dtype)
    loss = (
        masked_lse(-a * (s - lam), pos, add_one=True) / a
        + masked_lse(b * (s - lam), neg, add_one=True) / b
    )
    return reduce(loss, reduction, weights=weights, where=where)


# --------------------------------------------------------------------------- circle


@register(
    _FAMILY, reference="pytorch-metric-learning CircleLoss (Sun et al. 2020); keras.losses.Circle"
)
def circle_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    m: ArrayLike = 0.4,
    gamma: ArrayLike = 80.0,
    detach_weights: bool = True,
    remove_diagonal: bool = True,
    similarity: Similarity = "cosine",
    pos_mask: ArrayLike | None = None,
    neg_mask: ArrayLike | None = None,
    ref_embeddings: ArrayLike | None = None,
    ref_labels: ArrayLike | None = None,
    ref_where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Circle loss for pair labels (Sun et al. 2020), pytorch-metric-learning semantics.

    With :math:`s` the similarities of anchor :math:`i`, :math:`P(i)` its
    positives and :math:`N(i)` its negatives,

    .. math::
       \ell_i = \operatorname{softplus}\Big(
          \operatorname{lse}_{p \in P(i)} \big(-\gamma [1 + m - s_{ip}]_+ (s_{ip} - 1 + m)\big)
        + \operatorname{lse}_{n \in N(i)} \big(\gamma [s_{in} + m]_+ (s_{in} - m)\big)\Big)

    Anchors lacking positives or negatives are excluded from the mean (their
    ``"none"`` entry is 0). The log-sum-exps are masked; logits reach
    :math:`2\gamma = 160` at most for cosines, fine in float32.

    ``detach_weights=True`` (default) treats the :math:`[\cdot]_+` weights as
    constants, as PML does; ``False`` differentiates them, as Keras'
    ``losses.Circle`` does: the values are equal, the gradients differ.
    PML ``CircleLoss()`` uses ``AvgNonZeroReducer``: it also drops an anchor
    whose loss underflows to exactly 0 (below ~1e-45 in float32), which jaxloss
    counts as a 0 term; that is the one (deliberate) difference in value.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      labels: ``[batch]`` integer labels.
      m: the relaxation :math:`m`; float or traced array.
      gamma: the scale :math:`\gamma > 0`; float or traced array.
      detach_weights: stop the gradient through the adaptive weights (PML).
      remove_diagonal: exclude each anchor's own pair from its positives
        (default, PML and Keras' default); ``False`` keeps it, as Keras'
        ``remove_diagonal=False``. Without ``ref_embeddings`` only: with
        references nothing is excluded (PML).
      similarity: ``"cosine"`` (default, PML's ``CosineSimilarity``) or ``"dot"``.
      pos_mask: optional boolean ``[batch, batch]`` mask of the positive pairs
        (anchor, candidate) that enter, from a pair miner (PML's
        ``indices_tuple``); used as given. Default: every pair with the same
        label, self excluded.
      neg_mask: the same for the negative pairs. Default: every pair with
        different labels.
      ref_embeddings: optional ``[m, dim]`` reference (candidate) embeddings
        (PML ``ref_emb``): anchors come from ``embeddings``, their positives
        and negatives from the references, with no self-exclusion.
      ref_labels: ``[m]`` integer labels of ``ref_embeddings`` (required with them).
      ref_where: optional boolean ``[m]`` mask of the valid reference rows (a
        partly filled memory); masked rows contribute nothing, NaN included.
      weights: optional ``[batch]`` anchor weights.
      where: optional boolean ``[batch]`` anchor mask.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the ``[batch]`` per-anchor losses for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
      >>> jaxloss.circle_loss(x, jnp.array([0, 0, 1]), gamma=1.0)
      Array(0.6484312, dtype=float32)

    References:
      Y. Sun et al., "Circle Loss: A Unified Perspective of Pair Similarity
      Optimization", CVPR 2020, https://arxiv.org/abs/2002.10857;
      pytorch-metric-learning ``CircleLoss``; Keras ``losses.Circle``.
    """
    contracts.choice(similarity, _SIMILARITIES, "similarity")
    contracts.bounded(gamma, "gamma", gt=0)
    check_reduction(reduction)
    b = pair_batch(
        embeddings,
        labels,
        pos_mask,
        neg_mask,
        ref_embeddings,
        ref_labels,
        ref_where,
        with_self=not remove_diagonal,
    )
    e, pos, neg = b.embeddings, b.pos, b.neg
    s = similarity_matrix(e, b.refs, similarity)
    mm, g = param(m, e.dtype), param(gamma, e.dtype)
    w = jax.lax.stop_gradient(s) if detach_weights else s
    logit_pos = -g * jax.nn.relu(1.0 + mm - w) * (s - (1.0 - mm))
    logit_neg = g * jax.nn.relu(w + mm) * (s - mm)
    valid = jnp.any(pos, axis=1) & jnp.any(neg, axis=1)
    loss = jax.nn.softplus(masked_lse(logit_pos, pos) + masked_lse(logit_neg, neg))
    loss = jnp.where(valid, loss, jnp.zeros((), e.dtype))
    return reduce(loss, reduction, weights=weights, where=where, valid=valid)


# --------------------------------------------------------------------------- lifted structure


def pair_distances(
    embeddings: ArrayLike,
    labels: ArrayLike,
    metric: MetricArg,
    normalize_embeddings: bool,
    pos_mask: ArrayLike | None,
    neg_mask: ArrayLike | None,
    ref_embeddings: ArrayLike | None = None,
    ref_labels: ArrayLike | None = None,
    ref_where: ArrayLike | None = None,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    check_metric(metric)
    b = pair_batch(embeddings, labels, pos_mask, neg_mask, ref_embeddings, ref_labels, ref_where)
    d = metric_matrix(
        b.embeddings, b.refs, metric, b.self_index, normalize_embeddings=normalize_embeddings
    )
    return d, b.pos, b.neg


@register(
    _FAMILY,
    reference="pytorch-metric-learning GeneralizedLiftedStructureLoss (Hermans et al. 2017)",
)
def generalized_lifted_structure_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    neg_margin: ArrayLike = 1.0,
    pos_margin: ArrayLike = 0.0,
    metric: MetricArg = "euclidean",
    normalize_embeddings: bool = False,
    pos_mask: ArrayLike | None = None,
    neg_mask: ArrayLike | None = None,
    ref_embeddings: ArrayLike | None = None,
    ref_labels: ArrayLike | None = None,
    ref_where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Generalized lifted structure loss (Hermans et al. 2017, eq. 4), PML semantics.

    .. math::
       \ell_i = \Big[\operatorname{lse}_{p \in P(i)} (d_{ip} - m_+)
              + \operatorname{lse}_{n \in N(i)} (m_- - d_{in})\Big]_+

    The log-sum-exp of an empty set counts as 0 (PML), so an anchor without
    positives still contributes its negative term; the mean runs over all
    anchors (PML's ``MeanReducer``). PML
    ``GeneralizedLiftedStructureLoss(neg_margin, pos_margin)`` is this with
    ``normalize_embeddings=True``. With a PML similarity :math:`s` (inverted
    distance) PML uses :math:`m_+ - s` and :math:`s - m_-`: that is
    ``metric="dot"`` with both margins negated.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      labels: ``[batch]`` integer labels.
      neg_margin: :math:`m_-`; float or traced array.
      pos_margin: :math:`m_+`; float or traced array.
      metric: ``"euclidean"`` (default), ``"squared_euclidean"``, ``"cosine"``,
        ``"dot"``, ``"lp"`` (``p=2``), ``"manhattan"``, or a callable
        ``(x, y) -> [n, m]`` distance matrix (see
        :func:`jaxloss.mining.pairwise_distances`).
      normalize_embeddings: L2-normalise the rows first (``True`` is PML's
        default ``LpDistance()``).
      pos_mask: optional boolean ``[batch, batch]`` mask of the positive pairs
        (anchor, candidate) that enter, from a pair miner (PML's
        ``indices_tuple``); used as given. Default: every pair with the same
        label, self excluded.
      neg_mask: the same for the negative pairs. Default: every pair with
        different labels.
      ref_embeddings: optional ``[m, dim]`` reference (candidate) embeddings
        (PML ``ref_emb``): anchors come from ``embeddings``, their positives
        and negatives from the references, with no self-exclusion.
      ref_labels: ``[m]`` integer labels of ``ref_embeddings`` (required with them).
      ref_where: optional boolean ``[m]`` mask of the valid reference rows (a
        partly filled memory); masked rows contribute nothing, NaN included.
      weights: optional ``[batch]`` anchor weights.
      where: optional boolean ``[batch]`` anchor mask.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the ``[batch]`` per-anchor losses for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.0], [1.0], [3.0]])
      >>> jaxloss.generalized_lifted_structure_loss(x, jnp.array([0, 0, 1]), neg_margin=4.0)
      Array(2.437754, dtype=float32)

    References:
      A. Hermans, L. Beyer, B. Leibe, "In Defense of the Triplet Loss for
      Person Re-Identification", 2017, https://arxiv.org/abs/1703.07737;
      pytorch-metric-learning ``GeneralizedLiftedStructureLoss``.
    """
    check_reduction(reduction)
    d, pos, neg = pair_distances(
        embeddings,
        labels,
        metric,
        normalize_embeddings,
        pos_mask,
        neg_mask,
        ref_embeddings,
        ref_labels,
        ref_where,
    )
    mp, mn = param(pos_margin, d.dtype), param(neg_margin, d.dtype)
    loss = jax.nn.relu(masked_lse(d - mp, pos) + masked_lse(mn - d, neg))
    return reduce(loss, reduction, weights=weights, where=where)


@register(
    _FAMILY,
    reference="pytorch-metric-learning LiftedStructureLoss (Song et al. 2016); TF-Addons lifted_struct_loss",
)
def lifted_structure_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    neg_margin: ArrayLike = 1.0,
    pos_margin: ArrayLike = 0.0,
    metric: MetricArg = "euclidean",
    normalize_embeddings: bool = False,
    pos_mask: ArrayLike | None = None,
    neg_mask: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Lifted structured loss (Song et al. 2016), pytorch-metric-learning semantics.

    For every ordered positive pair :math:`(i, j)`,

    .. math::
       J_{ij} = \log\Big(\sum_{k \in N(i)} e^{m_- - d_{ik}} + \sum_{k \in N(j)} e^{m_- - d_{jk}}\Big)
              + d_{ij} - m_+, \qquad \ell_{ij} = \tfrac12 [J_{ij}]_+^2

    and the mean runs over the positive pairs. Each row's log-sum-exp is
    stable and the two are combined with ``logaddexp``, so far negatives stay
    finite (TF-Addons' shared-max trick). When neither :math:`i` nor :math:`j`
    has a negative the log term counts as 0 (PML). PML
    ``LiftedStructureLoss(neg_margin, pos_margin)`` is this with
    ``normalize_embeddings=True``; TF-Addons ``lifted_struct_loss(margin)``
    (raw embeddings, euclidean) is ``neg_margin=margin``: its
    :math:`\tfrac14 \sum_{\text{ordered}} / \#\text{unordered}` is the same value.

    ``ref_embeddings`` are not offered here: PML's ``LiftedStructureLoss``
    matches the reference index of a positive against query indices of the
    negative pairs, which has no meaning for a separate reference set.

    Differences from PML: PML returns 0 when the batch has no negative pair at
    all (or at most one positive and one negative pair); jaxloss still applies
    :math:`\tfrac12 [d_{ij} - m_+]_+^2` to the positive pairs then.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      labels: ``[batch]`` integer labels.
      neg_margin: :math:`m_-`; float or traced array.
      pos_margin: :math:`m_+`; float or traced array.
      metric: ``"euclidean"`` (default), ``"squared_euclidean"``, ``"cosine"``,
        ``"dot"``, ``"lp"`` (``p=2``), ``"manhattan"``, or a callable
        ``(x, y) -> [n, m]`` distance matrix (see
        :func:`jaxloss.mining.pairwise_distances`).
      normalize_embeddings: L2-normalise the rows first (``True`` is PML's
        default ``LpDistance()``).
      pos_mask: optional boolean ``[batch, batch]`` mask of the positive pairs
        (anchor, candidate) that enter, from a pair miner (PML's
        ``indices_tuple``); used as given. Default: every pair with the same
        label, self excluded.
      neg_mask: the same for the negative pairs. Default: every pair with
        different labels.
      weights: optional ``[batch, batch]``-broadcastable pair weights.
      where: optional boolean ``[batch, batch]`` pair mask.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; for ``"none"`` the ``[batch, batch]``
      pair losses (0 off the positive pairs).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.0], [1.0], [3.0]])
      >>> jaxloss.lifted_structure_loss(x, jnp.array([0, 0, 1]), neg_margin=4.0)
      Array(5.4888515, dtype=float32)

    References:
      H. O. Song, Y. Xiang, S. Jegelka, S. Savarese, "Deep Metric Learning via
      Lifted Structured Feature Embedding", CVPR 2016,
      https://arxiv.org/abs/1511.06452; pytorch-metric-learning
      ``LiftedStructureLoss``; TF-Addons ``lifted_struct_loss``.
    """
    check_reduction(reduction)
    d, pos, neg = pair_distances(
        embeddings, labels, metric, normalize_embeddings, pos_mask, neg_mask
    )
    mp, mn = param(pos_margin, d.dtype), param(neg_margin, d.dtype)
    has = jnp.any(neg, axis=1)
    row = masked_lse(mn - d, neg)  # 0 on rows without negatives
    both = has[:, None] & has[None, :]
    combined = jnp.where(
        both,
        jnp.logaddexp(row[:, None], row[None, :]),
        jnp.where(
            has[:, None],
            row[:, None],
            jnp.where(has[None, :], row[None, :], jnp.zeros((), d.dtype)),
        ),
    )
    loss = jnp.where(pos, 0.5 * jnp.square(jax.nn.relu(combined + d - mp)), jnp.zeros((), d.dtype))
    return reduce(loss, reduction, weights=weights, where=where, valid=pos)
