"""Listwise softmax-type ranking losses with rax semantics.

``scores`` and ``labels`` are ``[..., list_size]``: lists on the last axis, any
batch shape. ``where`` marks the valid items and ``weights`` weights items, as
in rax. Without ``segments`` the losses return one value per list for
``reduction="none"`` (``[...]``) and average over lists with at least one valid
item. With ``segments`` (several lists packed along the list axis, one integer
id per item) ``"none"`` is ``[..., list_size]``: each segment's loss sits on
its first valid item and the other items are 0 (rax), and ``"mean"`` averages
over segments. A list (or batch) with nothing valid gives 0 with zero gradients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.labels import poison
from .._src.lists import ranked_lists
from .._src.numerics import param
from .._src.reduce import sanitize
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._segments import (
    check_segments,
    exp2_gain,
    group_logsumexp,
    group_sum,
    list_reduce,
    pair_mask,
    segment_logsumexp,
)

__all__ = ["listmle_loss", "poly1_softmax_loss", "softmax_ranking_loss", "unique_softmax_loss"]

_FAMILY = "ranking"

LabelFn = Callable[..., jax.Array]


def _log_softmax(s: jax.Array, mask: jax.Array | None, seg: jax.Array | None) -> jax.Array:
    """Log-softmax over the valid items of each list (segment); 0 at invalid items."""
    if seg is None:
        out = jax.nn.log_softmax(s if mask is None else jnp.where(mask, s, -jnp.inf), axis=-1)
    else:
        s = sanitize(s, mask)
        out = s - segment_logsumexp(s, pair_mask(mask, seg, s.shape))
    return out if mask is None else jnp.where(mask, out, 0)


def _per_list(terms: jax.Array, mask: jax.Array | None, seg: jax.Array | None) -> jax.Array:
    """Sum of per-item terms over each list (``[...]``) or segment (``[..., L]``)."""
    if seg is None:
        return jnp.sum(terms, axis=-1)
    return group_sum(terms, pair_mask(mask, seg, terms.shape))


def _cross_entropy(target: jax.Array, log_p: jax.Array, mask: jax.Array | None) -> jax.Array:
    """``target * log_p`` with 0 where the target is 0 or the item invalid."""
    keep = target != 0
    if mask is not None:
        keep = keep & mask
    return jnp.where(keep, target * jnp.where(keep, log_p, 0), 0)


def _targets(y: jax.Array, mask: jax.Array | None, w: jax.Array | None) -> jax.Array:
    if w is not None:
        y = y * w
    return y if mask is None else jnp.where(mask, y, 0)


@register(
    _FAMILY, reference="rax.softmax_loss (ListNet, Cao et al. 2007)", aliases=("listnet_loss",)
)
def softmax_ranking_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    label_fn: LabelFn | None = None,
    segments: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Softmax (ListNet top-1) ranking loss: cross-entropy of the scores' softmax
    against the labels, per list.

    .. math:: \ell(s, y) = -\sum_i y_i \log \frac{e^{s_i}}{\sum_j e^{s_j}}

    Labels are used as given (rax's default; normalise them to a distribution
    for the original ListNet, for example with ``label_fn``).

    Args:
      scores: ``[..., list_size]`` item scores.
      labels: ``[..., list_size]`` relevance labels (graded or binary).
      label_fn: optional callable ``(labels, where=mask) -> targets`` applied to
        the (weighted, masked) labels before the cross-entropy, as rax's
        ``label_fn`` (``mask`` is ``None`` when every item is valid). The
        sentence-transformers CrossEncoder ``ListNetLoss`` uses the softmax of
        the labels over the valid items.
      segments: optional ``[..., list_size]`` integer segment ids: several lists
        packed along the list axis, each its own softmax.
      weights: optional ``[..., list_size]`` item weights; they multiply the labels (rax).
      where: optional ``[..., list_size]`` boolean mask of valid items.
      reduction: ``"mean"`` (over lists or segments, default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar; for ``"none"`` ``[...]`` (one value per list), or ``[..., list_size]``
      with ``segments`` (each segment's loss on its first valid item, 0 elsewhere).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.softmax_ranking_loss(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]))
      Array(0.6931472, dtype=float32)

    References:
      Cao et al., "Learning to Rank: From Pairwise Approach to Listwise
      Approach", ICML 2007; rax ``softmax_loss``.
    """
    s, y, mask, w = ranked_lists(scores, labels, weights=weights, where=where)
    seg = check_segments(segments, s)
    target = _targets(y, mask, w)
    if label_fn is not None:
        target = jnp.asarray(label_fn(target, where=mask), s.dtype)
    terms = _cross_entropy(target, _log_softmax(s, mask, seg), mask)
    return list_reduce(-_per_list(terms, mask, seg), mask, seg, reduction)


def _normalized(y: jax.Array, mask: jax.Array | None, seg: jax.Array | None) -> jax.Array:
    """Labels normalised to sum 1 per list/segment; uniform where they sum to 0 (rax)."""
    m = jnp.ones(y.shape, bool) if mask is None else mask
    total = _per_list(jnp.where(m, y, 0), mask, seg)
    count = _per_list(m.astype(y.dtype), mask, seg)
    if seg is None:
        total, count = total[..., None], count[..., None]
    count = jnp.where(count == 0, 1, count)
    zero = total == 0
    return jnp.where(zero, 1 / count, y / jnp.where(zero, 1, total))


@register(_FAMILY, reference="rax.poly1_softmax_loss (Leng et al. 2022)")
def poly1_softmax_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    epsilon: ArrayLike = 1.0,
    segments: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Poly-1 softmax ranking loss: the softmax loss plus ``epsilon (1 - p_t)``.

    .. math::
       \ell(s, y) = -\sum_i y_i \log p_i + \epsilon\,(1 - p_t),\quad
       p_i = \frac{e^{s_i}}{\sum_j e^{s_j}},\quad p_t = \sum_i \frac{y_i}{\sum_j y_j}\, p_i

    The cross-entropy uses the raw (weighted) labels, as
    :func:`softmax_ranking_loss`; ``p_t`` uses them normalised to sum 1 (uniform
    over the valid items when they sum to 0). This differs from
    :func:`~jaxloss.poly1_cross_entropy`, whose targets are class labels.
    rax 0.4 fails on a batch of lists with both ``segments`` and ``where`` (its
    all-masked fix-up broadcasts ``[batch]`` against ``[batch, list]``); here the
    lists are independent, as rax computes them one at a time.

    Args:
      scores: ``[..., list_size]`` item scores.
      labels: ``[..., list_size]`` relevance labels (graded or binary).
      epsilon: the Poly-1 coefficient (any real; may be traced).
      segments: optional ``[..., list_size]`` integer segment ids: several lists
        packed along the list axis.
      weights: optional ``[..., list_size]`` item weights; they multiply the labels (rax).
      where: optional ``[..., list_size]`` boolean mask of valid items.
      reduction: ``"mean"`` (over lists or segments, default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar; for ``"none"`` ``[...]`` (one value per list), or ``[..., list_size]``
      with ``segments`` (each segment's loss on its first valid item, 0 elsewhere).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.poly1_softmax_loss(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]))
      Array(1.1931472, dtype=float32)

    References:
      Leng et al., "PolyLoss: A Polynomial Expansion Perspective of
      Classification Loss Functions", ICLR 2022; rax ``poly1_softmax_loss``
      (same default ``epsilon=1.0``).
    """
    s, y, mask, w = ranked_lists(scores, labels, weights=weights, where=where)
    seg = check_segments(segments, s)
    target = _targets(y, mask, w)
    log_p = _log_softmax(s, mask, seg)
    ce = -_per_list(_cross_entropy(target, log_p, mask), mask, seg)
    p = jnp.exp(log_p) if mask is None else jnp.where(mask, jnp.exp(log_p), 0)
    pt = _per_list(_normalized(target, mask, seg) * p, mask, seg)
    return list_reduce(ce + param(epsilon, s.dtype) * (1 - pt), mask, seg, reduction)


GainFn = Literal["exp2"] | Callable[[jax.Array], jax.Array] | None


@register(_FAMILY, reference="rax.unique_softmax_loss (Zhu & Klabjan 2020)")
def unique_softmax_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    gain_fn: GainFn = "exp2",
    segments: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Unique softmax loss: each item against the items less relevant than it.

    .. math::
       \ell(s, y) = -\sum_i g(y_i) \log
       \frac{e^{s_i}}{e^{s_i} + \sum_{j:\,y_j < y_i} e^{s_j}}

    Args:
      scores: ``[..., list_size]`` item scores.
      labels: ``[..., list_size]`` relevance labels (graded or binary).
      gain_fn: ``"exp2"`` (default, ``g(y) = 2^y - 1``), ``None`` (``g = 1``) or
        a callable mapping labels to gains (static).
      segments: optional ``[..., list_size]`` integer segment ids: several lists
        packed along the list axis.
      weights: optional ``[..., list_size]`` item weights; they multiply each item's term (rax).
      where: optional ``[..., list_size]`` boolean mask of valid items.
      reduction: ``"mean"`` (over lists or segments, default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar; for ``"none"`` ``[...]`` (one value per list), or ``[..., list_size]``
      with ``segments`` (each segment's loss on its first valid item, 0 elsewhere).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.unique_softmax_loss(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]))
      Array(0.6931472, dtype=float32)

    References:
      Zhu & Klabjan, "Listwise Learning to Rank by Exploring Unique Ratings",
      WSDM 2020; rax ``unique_softmax_loss`` (``gain_fn=None`` is rax's
      ``gain_fn=None``; ``"exp2"`` its default ``default_gain_fn``).
    """
    if isinstance(gain_fn, str):
        contracts.choice(gain_fn, ("exp2",), "gain_fn")
    s, y, mask, w = ranked_lists(scores, labels, weights=weights, where=where)
    seg = check_segments(segments, s)
    s, y = sanitize(s, mask), sanitize(y, mask)
    n = s.shape[-1]
    lower = jnp.broadcast_to(jnp.eye(n, dtype=bool), (*s.shape, n)) | (
        y[..., None, :] < y[..., :, None]
    )
    log_p = s - group_logsumexp(s, lower & pair_mask(mask, seg, s.shape))
    if w is not None:
        log_p = log_p * w
    if isinstance(gain_fn, str):
        log_p = log_p * exp2_gain(y)
    elif gain_fn is not None:
        log_p = log_p * jnp.asarray(gain_fn(y), s.dtype)
    # A NaN label compares False with every label: it must still reach the loss (NaN in, NaN out).
    terms = poison(log_p, jnp.isnan(y))
    if mask is not None:
        terms = jnp.where(mask, terms, 0)
    return list_reduce(-_per_list(terms, mask, seg), mask, seg, reduction)


def _order_keys(y: jax.Array, valid: jax.Array, key: ArrayLike | None) -> list[jax.Array]:
    """Sort keys of rax's ``sort_by``: valid first, labels decreasing, then a random tie-break."""
    keys = [~valid, jnp.where(valid, -y, jnp.inf)]
    if key is not None:
        keys.append(jax.random.uniform(key, y.shape))
    return keys


def _plistmle_weights(rank: jax.Array, count: jax.Array, valid: jax.Array) -> jax.Array:
    """PListMLE position weights ``2^(n - r) - 1`` (``r`` the 1-based position among the ``n`` valid items).

    Rows with ``n > 127`` are rescaled by ``2^-(n - 127)`` (as sentence-transformers) so that
    the weights stay finite in float32; the caller normalises them to sum 1.
    """
    scale = jnp.maximum(count - 127, 0)
    return jnp.where(valid, jnp.exp2(count - rank - scale) - jnp.exp2(-scale), 0)


def _normalize_rows(x: jax.Array, pairs: jax.Array | None) -> jax.Array:
    total = jnp.sum(x, axis=-1, keepdims=True) if pairs is None else group_sum(x, pairs)
    return x / jnp.where(total == 0, 1, total)


@register(_FAMILY, reference="rax.listmle_loss (Xia et al. 2008)")
def listmle_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    key: ArrayLike | None = None,
    position_weights: Literal["plistmle"] | None = None,
    segments: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""ListMLE: negative log-likelihood of the label order under the Plackett-Luce model.

    .. math:: \ell(s, y) = -\sum_i \left(s_{\pi_i} - \log \sum_{k \ge i} e^{s_{\pi_k}}\right)

    where ``pi`` sorts the labels in decreasing order (within each segment).
    Ties keep the input order without a ``key``, and are broken at random
    with one (rax draws ``jax.random.uniform(key, scores.shape)``; the same key
    gives the same order here). With ``segments`` and ``where`` together rax
    0.4's gradient is NaN (``-inf - -inf`` in its segment log-cumsum-exp); the
    value is the same and the gradient finite here.

    Args:
      scores: ``[..., list_size]`` item scores.
      labels: ``[..., list_size]`` relevance labels (graded or binary).
      key: optional PRNG key for the random tie-break of equal labels.
      position_weights: ``None`` (ListMLE, default) or ``"plistmle"``:
        Position-Aware ListMLE (Lan et al. 2014), the term of the item at
        position ``r`` of the label order multiplied by ``2^(n - r) - 1``
        (``n`` valid items), normalised to sum 1 per list, as the default of
        sentence-transformers' CrossEncoder ``PListMLELoss`` (whose 1e-10 in
        the normaliser is left out). sentence-transformers' ``ListMLELoss`` is
        ``None``; both average over lists as ``reduction="mean"`` does when every
        list has a valid item.
      segments: optional ``[..., list_size]`` integer segment ids: several lists
        packed along the list axis.
      weights: optional ``[..., list_size]`` item weights, accepted for
        uniformity: each list's loss is multiplied by the weight of its first
        item (of its first valid item with ``segments``); rax's ListMLE has no
        item weights.
      where: optional ``[..., list_size]`` boolean mask of valid items.
      reduction: ``"mean"`` (over lists or segments, default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar; for ``"none"`` ``[...]`` (one value per list), or ``[..., list_size]``
      with ``segments`` (each segment's loss on its first valid item, 0 elsewhere).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.listmle_loss(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]))
      Array(0.6931472, dtype=float32)

    References:
      Xia et al., "Listwise Approach to Learning to Rank: Theory and Algorithm",
      ICML 2008; rax ``listmle_loss``. Lan et al., "Position-Aware ListMLE: A
      Sequential Learning Process for Ranking", UAI 2014; sentence-transformers
      ``PListMLELoss``.
    """
    if position_weights is not None:
        contracts.choice(position_weights, ("plistmle",), "position_weights")
    if key is not None:
        contracts.prng_key(key)
    s, y, mask, w = ranked_lists(scores, labels, weights=weights, where=where)
    seg = check_segments(segments, s)
    valid = jnp.ones(s.shape, bool) if mask is None else mask
    n = s.shape[-1]
    nan_list = jnp.isnan(y) & valid
    if seg is None:
        iota = jnp.broadcast_to(jnp.arange(n), s.shape)
        keys = _order_keys(y, valid, key)
        *_, order = jax.lax.sort(
            (*keys, iota), dimension=s.ndim - 1, num_keys=len(keys), is_stable=True
        )
        s_sorted = jnp.take_along_axis(s, order, axis=-1)
        v_sorted = jnp.take_along_axis(valid, order, axis=-1)
        masked = jnp.where(v_sorted, s_sorted, -jnp.inf)
        lse = jax.lax.cumlogsumexp(masked, axis=masked.ndim - 1, reverse=True)
        terms = jnp.where(v_sorted, s_sorted - jnp.where(v_sorted, lse, 0), 0)
        if position_weights is not None:
            count = jnp.sum(v_sorted, axis=-1, keepdims=True).astype(s.dtype)
            rank = jnp.broadcast_to(jnp.arange(1, n + 1, dtype=s.dtype), s.shape)
            terms = terms * _normalize_rows(_plistmle_weights(rank, count, v_sorted), None)
        # Labels only order the items: a NaN label must reach the list's loss (NaN in, NaN out).
        per = poison(-jnp.sum(terms, axis=-1), jnp.any(nan_list, axis=-1))
        if w is not None:
            per = per * w[..., 0]
    else:
        # Item j comes at or after item i in its segment's order: a lexicographic comparison.
        keys = [k.astype(jnp.int32) if k.dtype == bool else k for k in _order_keys(y, valid, key)]
        after = jnp.broadcast_to(jnp.tril(jnp.ones((n, n), bool)).T, (*s.shape, n))  # j >= i
        for k in reversed(keys):
            ki, kj = k[..., :, None], k[..., None, :]
            after = (kj > ki) | ((kj == ki) & after)
        pairs = pair_mask(mask, seg, s.shape)
        s = sanitize(s, mask)
        terms = jnp.where(valid, s - group_logsumexp(s, after & pairs), 0)
        if position_weights is not None:
            ones = jnp.ones(s.shape, s.dtype)
            # The position of item i in its segment's order: the valid items at or before it.
            rank = group_sum(ones, jnp.swapaxes(after, -1, -2) & pairs)
            weights_ = _plistmle_weights(rank, group_sum(ones, pairs), valid)
            terms = terms * _normalize_rows(weights_, pairs)
        per = poison(-group_sum(terms, pairs), group_sum(nan_list.astype(s.dtype), pairs) > 0)
        if w is not None:
            per = per * w
    return list_reduce(per, mask, seg, reduction)
