"""Smooth ranking metrics as losses (rax ``approx_t12n`` / ``bound_t12n``).

``scores`` and ``labels`` are ``[..., list_size]``: lists on the last axis, any
batch shape; ``where``, ``weights`` and ``segments`` are per item, as in rax.
The ranks of a metric are replaced by the smooth ranks
``1 + sum_j step(s_j - s_i)`` over the other valid items of the same list
(segment), and its top-``n`` cutoff by a smooth step around the ``n``-th
rank, as rax does (the cut point is under ``stop_gradient``, so with ``topn``
the gradient is rax's, not the finite difference). ``reduction="none"`` returns one value per list (``[...]``),
or with ``segments`` ``[..., list_size]`` with each segment's value on its first
valid item.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.lists import ranked_lists
from .._src.numerics import param
from .._src.reduce import sanitize
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._segments import (
    check_segments,
    exp2_gain,
    group_sum,
    list_reduce,
    log2_discount,
    pair_mask,
    ranks,
)

__all__ = ["approx_metric_loss"]

_FAMILY = "ranking"

Metric = Literal["ndcg", "dcg", "mrr", "ap", "recall", "precision"]
RankApprox = Literal["approx", "bound"]
_METRICS = ("ndcg", "dcg", "mrr", "ap", "recall", "precision")
Step = Callable[[jax.Array], jax.Array]


def smooth_ranks(s: jax.Array, pairs: jax.Array, step: Step) -> jax.Array:
    """``1 + sum_{j != i} step(s_j - s_i)`` over the pairs (rax ``utils.approx_ranks``).

    ``pairs`` is the ``[..., L, L]`` valid same-segment mask; an item with no pair
    (a masked item) gets rank 1, as in rax.
    """
    others = pairs & ~jnp.broadcast_to(jnp.eye(s.shape[-1], dtype=bool), pairs.shape)
    return 1 + jnp.sum(jnp.where(others, step(s[..., None, :] - s[..., :, None]), 0), axis=-1)


def _smooth_cutoff(rank: jax.Array, topn: int, seg: jax.Array | None, step: Step) -> jax.Array:
    """rax ``utils.approx_cutoff(-rank, topn, segments=seg)`` (called without ``where``).

    The cut point is halfway between the ``topn``-th and ``topn + 1``-th smooth
    ranks, under ``stop_gradient``; lists (segments) of at most ``topn`` items
    are not cut.
    """
    a = -rank
    everything = pair_mask(None, seg, a.shape)
    order = ranks(a, None, seg)
    at_n = jnp.where((order == topn) | (order == topn + 1), a, 0)
    if seg is None:
        cut = jnp.sum(at_n, axis=-1, keepdims=True) / 2
        count = jnp.full((*a.shape[:-1], 1), a.shape[-1])
    else:
        cut = group_sum(at_n, everything) / 2
        count = jnp.sum(everything, axis=-1)
    return jnp.where(count > topn, step(a - jax.lax.stop_gradient(cut)), 1)


def _steps(rank_approx: str, temperature: jax.Array) -> tuple[Step, Step]:
    """(rank step, cutoff step): sigmoid for ``approx``, the hinge bounds for ``bound``."""
    if rank_approx == "approx":
        sig: Step = lambda x: jax.nn.sigmoid(x / temperature)  # noqa: E731
        return sig, sig
    return (
        lambda x: jax.nn.relu(x / temperature + 1),
        lambda x: 1 - jax.nn.relu(1 - x / temperature),
    )


@register(
    _FAMILY,
    reference="rax.approx_t12n / rax.bound_t12n of rax's ranking metrics (Qin et al. 2010)",
)
def approx_metric_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    metric: Metric = "ndcg",
    temperature: ArrayLike = 1.0,
    topn: int | None = None,
    rank_approx: RankApprox = "approx",
    segments: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""A negative ranking metric computed with smooth ranks and a smooth top-``n`` cutoff.

    .. math::
       \hat\pi_i = 1 + \sum_{j \ne i} \operatorname{step}(s_j - s_i),\qquad
       \ell = -\operatorname{metric}(\hat\pi, y)

    with :math:`\operatorname{step}(x) = \sigma(x / T)` for ``rank_approx="approx"``
    (rax ``approx_t12n``) or the hinge upper bound :math:`\max(0, x / T + 1)` for
    ``"bound"`` (rax ``bound_t12n``). With ``topn`` an item is retrieved with weight
    :math:`c_i = \operatorname{step}'(c - \hat\pi_i)`, ``c`` halfway between the
    ``topn``-th and ``topn + 1``-th smooth ranks (``step'`` is the sigmoid, or the
    lower bound :math:`1 - \max(0, 1 - x / T)`); without it :math:`c_i = 1`.
    With gains :math:`G_i = 2^{y_i} - 1` (times ``weights``), relevance
    :math:`r_i = [y_i \ge 1]` and :math:`D(\pi) = 1 / \log_2(1 + \pi)`:

    * ``"dcg"``: :math:`\sum_i c_i G_i D(\hat\pi_i)`; ``"ndcg"``: DCG over the
      exact ideal DCG at ``topn`` (0 when that is 0);
    * ``"mrr"``: :math:`\max_i r_i c_i / \hat\pi_i`;
    * ``"recall"``: :math:`\sum_i r_i c_i / \sum_i r_i`; ``"precision"``:
      :math:`\sum_i r_i c_i / \sum_i c_i`;
    * ``"ap"``: :math:`\sum_i c_i \sum_j r_i r_j [\hat\pi_i \ge \hat\pi_j] / \hat\pi_i`
      over :math:`\sum_i r_i`

    (a zero denominator counts as 1).

    Args:
      scores: ``[..., list_size]`` item scores.
      labels: ``[..., list_size]`` relevance labels (graded or binary).
      metric: ``"ndcg"`` (default), ``"dcg"``, ``"mrr"``, ``"ap"``, ``"recall"`` or
        ``"precision"``.
      temperature: ``T`` > 0; smaller is closer to the true ranks.
      topn: optional static rank cutoff (an integer >= 1).
      rank_approx: ``"approx"`` (sigmoid, default) or ``"bound"`` (hinge bounds).
      segments: optional ``[..., list_size]`` integer segment ids: several lists
        packed along the list axis, each ranked on its own.
      weights: optional ``[..., list_size]`` item weights; they multiply the gains
        (``"dcg"`` and ``"ndcg"`` only, as rax).
      where: optional ``[..., list_size]`` boolean mask of valid items.
      reduction: ``"mean"`` (over lists or segments, default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar; for ``"none"`` ``[...]`` (one value per list), or ``[..., list_size]``
      with ``segments`` (each segment's value on its first valid item, 0 elsewhere).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.approx_metric_loss(jnp.array([10.0, -10.0]), jnp.array([1.0, 0.0]), metric="mrr")
      Array(-1., dtype=float32)

    References:
      Qin, Liu & Li, "A general approximation framework for direct optimization
      of information retrieval measures", 2010; rax ``approx_t12n(metric_fn,
      temperature)`` and ``bound_t12n(metric_fn)`` of ``ndcg_metric``,
      ``dcg_metric``, ``mrr_metric``, ``ap_metric``, ``recall_metric`` and
      ``precision_metric`` (defaults: NDCG, ``T = 1``, no cutoff). Differences
      from rax: ``temperature`` also scales the hinge steps of ``"bound"`` (rax's
      ``bound_t12n`` has none: ``T = 1`` is rax); for ``"ap"`` a masked relevant
      item does not count in the precision at the valid items' ranks (rax 0.4
      counts it, with rank 1); scores of ``-inf`` are not treated as "not
      retrieved" (rax's exact metrics do; its smooth ranks are NaN there);
      ``"opa"`` (rax's ``opa_metric``) is not offered: it has no ranks to smooth,
      so its transformed loss has zero gradient.
    """
    if metric not in _METRICS:
        raise ValueError(f"approx_metric_loss: metric must be one of {_METRICS}, got {metric!r}")
    if rank_approx not in ("approx", "bound"):
        raise ValueError(
            f"approx_metric_loss: rank_approx must be 'approx' or 'bound', got {rank_approx!r}"
        )
    if topn is not None and (not isinstance(topn, (int, np.integer)) or isinstance(topn, bool)):
        raise TypeError(f"approx_metric_loss: topn must be an int or None, got {topn!r}")
    contracts.bounded(topn, "topn", ge=1)
    contracts.bounded(temperature, "temperature", gt=0)
    s, y, mask, w = ranked_lists(scores, labels, weights=weights, where=where)
    seg = check_segments(segments, s)
    valid = jnp.ones(s.shape, bool) if mask is None else mask
    s, y = sanitize(s, mask), sanitize(y, mask)
    pairs = pair_mask(mask, seg, s.shape)
    rank_step, cut_step = _steps(rank_approx, param(temperature, s.dtype))
    rank = smooth_ranks(s, pairs, rank_step)
    retrieved = valid.astype(s.dtype)
    if topn is not None:
        retrieved = retrieved * _smooth_cutoff(rank, int(topn), seg, cut_step)

    def total(x: jax.Array) -> jax.Array:  # the sum over each list (segment)
        x = jnp.where(valid, x, 0)
        return jnp.sum(x, axis=-1) if seg is None else group_sum(x, pairs)

    # Binary relevance; a NaN label stays NaN (rax's ``labels >= 1`` would hide it).
    relevant = jnp.where(jnp.isnan(y), jnp.nan, jnp.where(valid & (y >= 1), 1, 0)).astype(s.dtype)
    if metric in ("dcg", "ndcg"):
        gain = jnp.where(valid, exp2_gain(y), 0)
        if w is not None:
            gain = gain * w
        value = total(retrieved * gain * log2_discount(rank))
        if metric == "ndcg":
            # The ideal DCG: items ranked by their (weighted) gain, exact ranks and cutoff.
            ideal_rank = ranks(gain, mask, seg)
            ideal_cut = valid if topn is None else valid & (ideal_rank <= topn)
            ideal = total(jnp.where(ideal_cut, gain * log2_discount(ideal_rank.astype(s.dtype)), 0))
            value = value / jnp.where(ideal == 0, 1, ideal)
    elif metric == "mrr":
        v = relevant * retrieved / rank
        if seg is None:
            value = jnp.max(v, axis=-1, where=valid, initial=0.0)
        else:
            value = jnp.max(
                jnp.broadcast_to(v[..., None, :], pairs.shape), axis=-1, where=pairs, initial=0.0
            )
    elif metric == "ap":
        before = rank[..., :, None] >= rank[..., None, :]
        prec = (
            jnp.sum(jnp.where(pairs & before, relevant[..., None, :], 0), axis=-1) * relevant / rank
        )
        value = total(prec * retrieved) / _nonzero(total(relevant))
    elif metric == "recall":
        value = total(relevant * retrieved) / _nonzero(total(relevant))
    else:  # precision
        value = total(relevant * retrieved) / _nonzero(total(retrieved))
    return list_reduce(-value, mask, seg, reduction)


def _nonzero(x: jax.Array) -> jax.Array:
    return jnp.where(x == 0, 1, x)
