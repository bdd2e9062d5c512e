"""Learning-to-rank losses with rax semantics.

``scores`` and ``labels`` are ``[..., list_size]``: lists on the last axis, any
batch shape. ``where`` (``[..., list_size]``) marks the valid items and
``weights`` (``[..., list_size]``) weights items, as in rax. Listwise losses
return one value per list for ``reduction="none"`` (``[...]``) and average over
lists with at least one valid item; pairwise losses return the ``[..., n, n]``
pair losses and average over valid pairs. A list (or batch) with nothing valid
gives 0 with zero gradients.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.elementwise import elementwise
from .._src.labels import poison
from .._src.lists import ranked_lists
from .._src.numerics import param
from .._src.reduce import reduce, sanitize
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ..embedding import margin_ranking_loss

__all__ = [
    "approx_ndcg_loss",
    "bpr_loss",
    "listmle_loss",
    "margin_ranking_loss",
    "pairwise_hinge_loss",
    "pairwise_logistic_loss",
    "softmax_ranking_loss",
]

_FAMILY = "ranking"


@register(_FAMILY, reference="Rendle et al. 2009, arXiv:1205.2618 (BPR)")
def bpr_loss(
    positive_scores: ArrayLike, negative_scores: ArrayLike, *,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Bayesian personalised ranking: a positive item should outscore a negative one.

    .. math:: \ell = -\log \sigma(s^+ - s^-) = \operatorname{softplus}(s^- - s^+)

    Args:
      positive_scores: scores of observed items, any shape.
      negative_scores: scores of sampled negatives, same shape.
      weights: optional weights broadcastable to the scores.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (elementwise).

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.bpr_loss(jnp.array([2.0, 0.0]), jnp.array([0.0, 0.0]), reduction="none")
      Array([0.126928 , 0.6931472], dtype=float32)

    References:
      Rendle et al., "BPR: Bayesian Personalized Ranking from Implicit
      Feedback", UAI 2009, https://arxiv.org/abs/1205.2618.
    """
    return elementwise(
        lambda pos, neg: jax.nn.softplus(neg - pos), positive_scores, negative_scores,
        weights=weights, where=where, reduction=reduction,
        names=("positive_scores", "negative_scores"),
    )


def _pairwise(
    pair_loss: Callable[[jax.Array], jax.Array], scores: ArrayLike, labels: ArrayLike,
    weights: ArrayLike | None, where: ArrayLike | None, reduction: Reduction,
) -> jax.Array:
    s, y, mask, w = ranked_lists(scores, labels, weights=weights, where=where)
    nan = jnp.isnan(y)
    nan_pair = nan[..., :, None] | nan[..., None, :]
    # A NaN label compares False with every label: its pairs count, as NaN (NaN in, NaN out).
    valid = (y[..., :, None] > y[..., None, :]) | nan_pair
    if mask is not None:
        valid = valid & mask[..., :, None] & mask[..., None, :]
        s = sanitize(s, mask)
    loss = poison(pair_loss(s[..., :, None] - s[..., None, :]), nan_pair)
    if w is not None:
        loss = loss * w[..., :, None]
    return reduce(loss, reduction, valid=valid)


@register(_FAMILY, reference="rax.pairwise_hinge_loss")
def pairwise_hinge_loss(
    scores: ArrayLike, labels: ArrayLike, *,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Pairwise hinge loss over the pairs ``y_i > y_j`` of each list.

    .. math:: \ell_{ij} = \mathbb{1}[y_i > y_j] \max(0, 1 - (s_i - s_j))

    Args:
      scores: ``[..., list_size]`` item scores.
      labels: ``[..., list_size]`` relevance labels (graded or binary).
      weights: optional ``[..., list_size]`` item weights (rax semantics).
      where: optional ``[..., list_size]`` boolean mask of valid items.
      reduction: ``"mean"`` (over valid pairs, default), ``"sum"`` or ``"none"``
        (the ``[..., n, n]`` pair losses, 0 for invalid pairs).

    Returns:
      A scalar, or ``[..., list_size, list_size]`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.pairwise_hinge_loss(jnp.array([2.0, 1.0, 0.5, 3.0]), jnp.array([1.0, 0.0, 2.0, 0.0]))
      Array(1.9, dtype=float32)

    References:
      Herbrich et al., "Large margin rank boundaries for ordinal regression",
      2000; rax ``pairwise_hinge_loss``.
    """
    return _pairwise(lambda d: jax.nn.relu(1 - d), scores, labels, weights, where, reduction)


@register(_FAMILY, reference="rax.pairwise_logistic_loss (RankNet)")
def pairwise_logistic_loss(
    scores: ArrayLike, labels: ArrayLike, *,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Pairwise logistic (RankNet) loss over the pairs ``y_i > y_j`` of each list.

    .. math:: \ell_{ij} = \mathbb{1}[y_i > y_j] \log(1 + e^{-(s_i - s_j)})

    Args:
      scores: ``[..., list_size]`` item scores.
      labels: ``[..., list_size]`` relevance labels (graded or binary).
      weights: optional ``[..., list_size]`` item weights (rax semantics).
      where: optional ``[..., list_size]`` boolean mask of valid items.
      reduction: ``"mean"`` (over valid pairs, default), ``"sum"`` or ``"none"``
        (the ``[..., n, n]`` pair losses, 0 for invalid pairs).

    Returns:
      A scalar, or ``[..., list_size, list_size]`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.pairwise_logistic_loss(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]))
      Array(0.6931472, dtype=float32)

    References:
      Burges et al., "Learning to Rank using Gradient Descent", ICML 2005;
      rax ``pairwise_logistic_loss``.
    """
    return _pairwise(lambda d: jax.nn.softplus(-d), scores, labels, weights, where, reduction)


def _list_reduce(per_list: jax.Array, mask: jax.Array | None, reduction: Reduction) -> jax.Array:
    """Mean over lists that have at least one valid item (rax's list mask)."""
    valid = None if mask is None else jnp.any(mask, axis=-1)
    return reduce(per_list, reduction, valid=valid)


@register(_FAMILY, reference="rax.softmax_loss (ListNet, Cao et al. 2007)", aliases=("listnet_loss",))
def softmax_ranking_loss(
    scores: ArrayLike, labels: ArrayLike, *,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Softmax (ListNet top-1) ranking loss: cross-entropy of the scores' softmax
    against the labels, per list.

    .. math:: \ell(s, y) = -\sum_i y_i \log \frac{e^{s_i}}{\sum_j e^{s_j}}

    Labels are used as given (rax's default; normalise them to a distribution
    for the original ListNet).

    Args:
      scores: ``[..., list_size]`` item scores.
      labels: ``[..., list_size]`` relevance labels (graded or binary).
      weights: optional ``[..., list_size]`` item weights (rax semantics).
      where: optional ``[..., list_size]`` boolean mask of valid items.
      reduction: ``"mean"`` (over lists, default), ``"sum"`` or ``"none"`` (per list).

    Returns:
      A scalar, or ``[...]`` (one value per list) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.softmax_ranking_loss(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]))
      Array(0.6931472, dtype=float32)

    References:
      Cao et al., "Learning to Rank: From Pairwise Approach to Listwise
      Approach", ICML 2007; rax ``softmax_loss``.
    """
    s, y, mask, w = ranked_lists(scores, labels, weights=weights, where=where)
    if w is not None:
        y = y * w
    if mask is not None:
        y = jnp.where(mask, y, 0)
        s = jnp.where(mask, s, -jnp.inf)
    log_p = jax.nn.log_softmax(s, axis=-1)
    # Double where: masked items have log p = -inf and label 0; 0 * -inf must not appear.
    terms = jnp.where(y != 0, y * jnp.where(y != 0, log_p, 0), 0)
    return _list_reduce(-jnp.sum(terms, axis=-1), mask, reduction)


@register(_FAMILY, reference="rax.listmle_loss (Xia et al. 2008)")
def listmle_loss(
    scores: ArrayLike, labels: ArrayLike, *,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""ListMLE: negative log-likelihood of the label order under the Plackett-Luce model.

    .. math:: \ell(s, y) = -\sum_i \left(s_{\pi_i} - \log \sum_{k \ge i} e^{s_{\pi_k}}\right)

    where ``pi`` sorts the labels in decreasing order (ties keep the input
    order, as rax without a ``key``).

    Args:
      scores: ``[..., list_size]`` item scores.
      labels: ``[..., list_size]`` relevance labels (graded or binary).
      weights: optional ``[..., list_size]`` item weights, accepted for
        uniformity: each list's loss is multiplied by the weight of its first
        item (rax's ListMLE has no item weights).
      where: optional ``[..., list_size]`` boolean mask of valid items.
      reduction: ``"mean"`` (over lists, default), ``"sum"`` or ``"none"`` (per list).

    Returns:
      A scalar, or ``[...]`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.listmle_loss(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]))
      Array(0.6931472, dtype=float32)

    References:
      Xia et al., "Listwise Approach to Learning to Rank: Theory and Algorithm",
      ICML 2008; rax ``listmle_loss``.
    """
    s, y, mask, w = ranked_lists(scores, labels, weights=weights, where=where)
    valid_items = jnp.ones(s.shape, bool) if mask is None else mask
    # Invalid items sort last; stable sort keeps ties in input order.
    key = jnp.where(valid_items, -y, jnp.inf)
    order = jnp.argsort(key, axis=-1, stable=True)
    s_sorted = jnp.take_along_axis(s, order, axis=-1)
    v_sorted = jnp.take_along_axis(valid_items, order, axis=-1)
    masked = jnp.where(v_sorted, s_sorted, -jnp.inf)
    lse = jax.lax.cumlogsumexp(masked, axis=masked.ndim - 1, reverse=True)
    terms = jnp.where(v_sorted, s_sorted - jnp.where(v_sorted, lse, 0), 0)
    # Labels only order the items: a NaN label must reach the list's loss (NaN in, NaN out).
    per_list = poison(-jnp.sum(terms, axis=-1), jnp.any(jnp.isnan(y) & valid_items, axis=-1))
    if w is not None:
        per_list = per_list * w[..., 0]
    return _list_reduce(per_list, mask, reduction)


@register(_FAMILY, reference="rax.approx_t12n(rax.ndcg_metric) (Qin et al. 2010)", aliases=("approx_ndcg",))
def approx_ndcg_loss(
    scores: ArrayLike, labels: ArrayLike, *, temperature: ArrayLike = 1.0,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Negative ApproxNDCG: NDCG with ranks replaced by a sigmoid approximation.

    .. math::
       \hat\pi_i = 1 + \sum_{j \ne i} \sigma\!\left(\frac{s_j - s_i}{T}\right),\quad
       \ell = -\frac{\sum_i (2^{y_i} - 1) / \log_2(1 + \hat\pi_i)}{\mathrm{IDCG}(y)}

    Lists whose ideal DCG is 0 (no relevant item) score 0.

    Args:
      scores: ``[..., list_size]`` item scores.
      labels: ``[..., list_size]`` relevance labels (graded or binary).
      temperature: ``T``; smaller is closer to the true ranks.
      weights: optional ``[..., list_size]`` item weights (rax semantics).
      where: optional ``[..., list_size]`` boolean mask of valid items.
      reduction: ``"mean"`` (over lists, default), ``"sum"`` or ``"none"`` (per list).

    Returns:
      A scalar, or ``[...]`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.approx_ndcg_loss(jnp.array([10.0, -10.0]), jnp.array([1.0, 0.0]))
      Array(-1., dtype=float32)

    References:
      Qin, Liu & Li, "A general approximation framework for direct optimization
      of information retrieval measures", 2010; rax ``approx_t12n(ndcg_metric)``.
    """
    contracts.bounded(temperature, "temperature", gt=0)
    s, y, mask, w = ranked_lists(scores, labels, weights=weights, where=where)
    valid_items = jnp.ones(s.shape, bool) if mask is None else mask
    s = sanitize(s, mask)
    off_diagonal = jnp.broadcast_to(~jnp.eye(s.shape[-1], dtype=bool), (*s.shape, s.shape[-1]))
    pair_valid = valid_items[..., :, None] & valid_items[..., None, :] & off_diagonal
    step = jax.nn.sigmoid((s[..., None, :] - s[..., :, None]) / param(temperature, s.dtype))
    approx_rank = 1 + jnp.sum(jnp.where(pair_valid, step, 0), axis=-1)
    gain = jnp.where(valid_items, jnp.exp2(y) - 1, 0)
    if w is not None:
        gain = gain * w
    dcg = jnp.sum(gain / jnp.log2(1 + approx_rank), axis=-1)
    # The ideal ranks: items sorted by (weighted) gain, invalid items last.
    ideal = -jnp.sort(-jnp.where(valid_items, gain, -jnp.inf), axis=-1)
    ranks = jnp.broadcast_to(jnp.arange(1, s.shape[-1] + 1, dtype=s.dtype), s.shape)
    ideal_dcg = jnp.sum(jnp.where(jnp.isfinite(ideal), ideal, 0) / jnp.log2(1 + ranks), axis=-1)
    ndcg = dcg / jnp.where(ideal_dcg == 0, 1, ideal_dcg)
    return _list_reduce(-ndcg, mask, reduction)
