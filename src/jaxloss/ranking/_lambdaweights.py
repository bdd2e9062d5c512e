"""Lambdaweights for the pairwise ranking losses (LambdaRank, LambdaLoss; rax semantics).

A lambdaweight is a ``[..., list_size, list_size]`` array that multiplies the
pair losses ``l_ij`` of a pairwise loss (``lambdaweight=`` on
:func:`~jaxloss.pairwise_logistic_loss` and its siblings). The weights depend
on the scores only through their ranks, so they carry no gradient, as in rax.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.lists import ranked_lists
from .._src.types import ArrayLike
from ._segments import check_segments, exp2_gain, group_sum, log2_discount, pair_mask, ranks

__all__ = ["dcg2_lambdaweight", "dcg_lambdaweight", "labeldiff_lambdaweight"]


def labeldiff_lambdaweight(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    segments: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
) -> jax.Array:
    r"""Absolute label difference lambdaweights: :math:`\lambda_{ij} = |y_i - y_j|`.

    Args:
      scores: ``[..., list_size]`` item scores (unused; accepted for uniformity).
      labels: ``[..., list_size]`` relevance labels.
      segments: optional ``[..., list_size]`` integer segment ids (rax
        ``segments``): pairs across segments get 0.
      weights: unused, accepted for uniformity (as rax).
      where: optional ``[..., list_size]`` boolean mask of valid items; a pair
        of one valid and one invalid item gets 0 (rax).

    Returns:
      ``[..., list_size, list_size]`` pair weights (rax returns them flattened
      to ``[..., list_size**2]``).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.labeldiff_lambdaweight(jnp.zeros(2), jnp.array([2.0, 0.0]))
      Array([[0., 2.],
             [2., 0.]], dtype=float32)

    References:
      rax ``labeldiff_lambdaweight``.
    """
    s, y, mask, _ = ranked_lists(scores, labels, weights=weights, where=where)
    seg = check_segments(segments, s)
    out = jnp.abs(y[..., :, None] - y[..., None, :])
    if mask is not None:
        out = jnp.where(mask[..., :, None] == mask[..., None, :], out, 0)
    if seg is not None:
        out = jnp.where(seg[..., :, None] == seg[..., None, :], out, 0)
    return out


def _dcg_family(
    pair_discount: Callable[[jax.Array, jax.Array], jax.Array],
    scores: ArrayLike,
    labels: ArrayLike,
    segments: ArrayLike | None,
    weights: ArrayLike | None,
    where: ArrayLike | None,
    topn: int | None,
    normalize: bool,
) -> jax.Array:
    if topn is not None:
        contracts.bounded(topn, "topn", ge=1)
    s, y, mask, w = ranked_lists(scores, labels, weights=weights, where=where)
    seg = check_segments(segments, s)
    r = ranks(s, mask, seg).astype(s.dtype)
    gains = exp2_gain(y)
    if w is not None:
        gains = gains * w
    pairs = pair_mask(mask, seg, s.shape)
    if normalize:
        # The ideal DCG of the item's list (or segment): items ranked by their (weighted) gain.
        ideal_ranks = ranks(gains, mask, seg).astype(s.dtype)
        ideal_terms = gains * log2_discount(ideal_ranks)
        if topn is not None:
            ideal_terms = jnp.where(ideal_ranks <= topn, ideal_terms, 0)
        ideal = group_sum(ideal_terms, pairs)
        gains = gains / jnp.where(ideal == 0, 1, ideal)
    gain_diffs = jnp.abs(gains[..., :, None] - gains[..., None, :])
    valid = jnp.ones(pairs.shape, bool) if mask is None else mask[..., :, None] & mask[..., None, :]
    out = jnp.where(valid, pair_discount(r, valid), 0) * s.shape[-1] * gain_diffs
    if seg is not None:
        out = jnp.where(seg[..., :, None] == seg[..., None, :], out, 0)
    return jax.lax.stop_gradient(out)


def dcg_lambdaweight(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    segments: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    topn: int | None = None,
    normalize: bool = False,
) -> jax.Array:
    r"""DCG (LambdaRank) lambdaweights.

    .. math::
       \lambda_{ij} = n\,|G_i - G_j|\,|D(r_i) - D(r_j)|,\quad
       G_i = 2^{y_i} - 1,\quad D(r) = \frac{1}{\log_2(1 + r)}

    where :math:`r_i` is the rank of item ``i`` by score within its list (or
    segment), :math:`n` the list size, and :math:`D(r) = 0` beyond ``topn``.

    Args:
      scores: ``[..., list_size]`` item scores (only their ranks are used).
      labels: ``[..., list_size]`` relevance labels.
      segments: optional ``[..., list_size]`` integer segment ids.
      weights: optional ``[..., list_size]`` item weights; they multiply the gains.
      where: optional ``[..., list_size]`` boolean mask of valid items.
      topn: optional rank cutoff (an integer >= 1).
      normalize: divide the gains by the ideal DCG of their list (NDCG form).

    Returns:
      ``[..., list_size, list_size]`` pair weights, with zero gradient (rax
      returns them flattened to ``[..., list_size**2]``).

    Differences from rax: with ``normalize=True`` and ``segments`` every item's
    gain is divided by its segment's ideal DCG; rax 0.4 divides only the first
    item of each segment (its ``dcg_metric(reduce_fn=None)`` zeroes the others).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.dcg_lambdaweight(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]))
      Array([[0.        , 0.73814046],
             [0.73814046, 0.        ]], dtype=float32)

    References:
      Burges, "From RankNet to LambdaRank to LambdaMART: An Overview", 2010;
      rax ``dcg_lambdaweight`` (default ``gain_fn`` and ``discount_fn``).
    """

    def pair_discount(r: jax.Array, valid: jax.Array) -> jax.Array:
        d = log2_discount(r)
        if topn is not None:
            d = jnp.where(r <= topn, d, 0)
        return jnp.abs(d[..., :, None] - d[..., None, :])

    return _dcg_family(pair_discount, scores, labels, segments, weights, where, topn, normalize)


def dcg2_lambdaweight(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    segments: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    topn: int | None = None,
    normalize: bool = False,
    light_discount: bool = False,
) -> jax.Array:
    r"""DCG v2 (LambdaLoss) lambdaweights.

    .. math::
       \lambda_{ij} = n\,|G_i - G_j|\,\bigl|D(|r_i - r_j|) - D(|r_i - r_j| + 1)\bigr|

    or :math:`n\,|G_i - G_j|\,D(|r_i - r_j|)` with ``light_discount=True``,
    with the gains and discounts of :func:`dcg_lambdaweight`; pairs of equal
    rank get 0. With ``topn``, a pair whose lower rank is beyond ``topn`` is
    scaled by :math:`1 / (1 - D(\max(r_i, r_j)))` (Wang et al. 2018, as rax).

    Args:
      scores: ``[..., list_size]`` item scores (only their ranks are used).
      labels: ``[..., list_size]`` relevance labels.
      segments: optional ``[..., list_size]`` integer segment ids.
      weights: optional ``[..., list_size]`` item weights; they multiply the gains.
      where: optional ``[..., list_size]`` boolean mask of valid items.
      topn: optional rank cutoff (an integer >= 1).
      normalize: divide the gains by the ideal DCG of their list (NDCG form).
      light_discount: use the light discount above.

    Returns:
      ``[..., list_size, list_size]`` pair weights, with zero gradient (rax
      returns them flattened to ``[..., list_size**2]``).

    Differences from rax: with ``normalize=True`` and ``segments`` every item's
    gain is divided by its segment's ideal DCG; rax 0.4 divides only the first
    item of each segment (its ``dcg_metric(reduce_fn=None)`` zeroes the others).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.dcg2_lambdaweight(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]))
      Array([[0.        , 0.73814046],
             [0.73814046, 0.        ]], dtype=float32)

    References:
      Wang et al., "The LambdaLoss Framework for Ranking Metric Optimization",
      CIKM 2018; rax ``dcg2_lambdaweight``.
    """

    def pair_discount(r: jax.Array, valid: jax.Array) -> jax.Array:
        diff = jnp.abs(r[..., :, None] - r[..., None, :])
        safe = jnp.where(diff == 0, 1, diff)
        d = log2_discount(safe) if light_discount else log2_discount(safe) - log2_discount(safe + 1)
        d = jnp.where(diff == 0, 0, jnp.abs(d))
        if topn is not None:
            r_max = jnp.maximum(r[..., :, None], r[..., None, :])
            beyond = r_max > topn
            scale = 1 / (1 - log2_discount(jnp.where(beyond, r_max, 2)))
            d = d * jnp.where(beyond, scale, 1)
        return d

    return _dcg_family(pair_discount, scores, labels, segments, weights, where, topn, normalize)


LAMBDAWEIGHTS: dict[str, Callable[..., jax.Array]] = {
    "dcg": dcg_lambdaweight,
    "dcg2": dcg2_lambdaweight,
    "labeldiff": labeldiff_lambdaweight,
}
