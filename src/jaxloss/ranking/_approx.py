"""Approximate-metric ranking losses with rax semantics (``rax.approx_t12n``).

``scores`` and ``labels`` are ``[..., list_size]``: lists on the last axis, any
batch shape; ``where``, ``weights`` and ``segments`` are per item, as in rax.
Ranks are replaced by the smooth ranks ``1 + sum_j sigmoid((s_j - s_i) / T)``
over the other valid items of the same list (segment). ``reduction="none"``
returns one value per list (``[...]``), or with ``segments`` ``[..., list_size]``
with each segment's value on its first valid item.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

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

__all__ = ["approx_ndcg_loss"]

_FAMILY = "ranking"


@register(
    _FAMILY,
    reference="rax.approx_t12n(rax.ndcg_metric) (Qin et al. 2010)",
    aliases=("approx_ndcg",),
)
def approx_ndcg_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    temperature: ArrayLike = 1.0,
    segments: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
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
      segments: optional ``[..., list_size]`` integer segment ids: several lists
        packed along the list axis, each ranked on its own.
      weights: optional ``[..., list_size]`` item weights (rax semantics).
      where: optional ``[..., list_size]`` boolean mask of valid items.
      reduction: ``"mean"`` (over lists or segments, default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar; for ``"none"`` ``[...]`` (one value per list), or ``[..., list_size]``
      with ``segments`` (each segment's value on its first valid item, 0 elsewhere).

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
    seg = check_segments(segments, s)
    valid = jnp.ones(s.shape, bool) if mask is None else mask
    s, y = sanitize(s, mask), sanitize(y, mask)
    pairs = pair_mask(mask, seg, s.shape)
    others = pairs & ~jnp.broadcast_to(jnp.eye(s.shape[-1], dtype=bool), pairs.shape)
    step = jax.nn.sigmoid((s[..., None, :] - s[..., :, None]) / param(temperature, s.dtype))
    approx_rank = 1 + jnp.sum(jnp.where(others, step, 0), axis=-1)
    gain = jnp.where(valid, exp2_gain(y), 0)
    if w is not None:
        gain = gain * w
    # The ideal ranks: items ranked by their (weighted) gain within their list (segment).
    ideal_rank = ranks(gain, mask, seg).astype(s.dtype)
    dcg_terms, ideal_terms = gain * log2_discount(approx_rank), gain * log2_discount(ideal_rank)
    if seg is None:
        dcg, ideal_dcg = jnp.sum(dcg_terms, axis=-1), jnp.sum(ideal_terms, axis=-1)
    else:
        dcg, ideal_dcg = group_sum(dcg_terms, pairs), group_sum(ideal_terms, pairs)
    ndcg = dcg / jnp.where(ideal_dcg == 0, 1, ideal_dcg)
    return list_reduce(-ndcg, mask, seg, reduction)
