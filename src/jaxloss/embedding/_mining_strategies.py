"""Miners that pick one candidate per anchor or pair by a strategy, pytorch-metric-learning
semantics: ``BatchEasyHardMiner`` (easy / semi-hard / hard positives and negatives)
and ``DistanceWeightedMiner`` (negatives sampled by inverse distance density).

Fixed output shapes (indices and validity masks), so everything jits; each
function accepts an optional leading episode axis through ``vmap``, as the
miners of :mod:`jaxloss.embedding._mining`.
"""

from __future__ import annotations

import numbers
from typing import Literal, get_args

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.contracts import function_name
from .._src.numerics import is_traced
from .._src.types import ArrayLike
from ._mining import _episodes, _pair_label_masks, _pick_per_row, _range_mask

__all__ = [
    "distance_weighted_negatives",
    "easy_hard_triplets",
]


# --------------------------------------------------------------------------- easy/hard (PML BatchEasyHardMiner)

Strategy = Literal["easy", "semihard", "hard"]
STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)


@_episodes(2)
def easy_hard_triplets(
    distances: ArrayLike,
    labels: ArrayLike,
    *,
    pos_strategy: Strategy = "easy",
    neg_strategy: Strategy = "semihard",
    allowed_pos_range: tuple[float, float] | None = None,
    allowed_neg_range: tuple[float, float] | None = None,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    r"""One positive and one negative per anchor by strategy, PML ``BatchEasyHardMiner``.

    With distances (smaller is closer):

    - positives: ``"easy"`` the nearest, ``"hard"`` the farthest, ``"semihard"``
      the farthest with :math:`d_{ap} < d_{an}` (the anchor's selected negative);
    - negatives: ``"easy"`` the farthest, ``"hard"`` the nearest, ``"semihard"``
      the nearest with :math:`d_{an} > d_{ap}` (the anchor's selected positive).

    ``allowed_pos_range=(low, high)`` keeps only positives with
    :math:`low \le d \le high` before the choice (``allowed_neg_range`` the
    same for negatives). Both strategies cannot be ``"semihard"`` (PML raises
    too).

    Args:
      distances: ``[batch, batch]`` (or ``[episodes, batch, batch]``) distances.
        PML's default distance is ``LpDistance()``:
        ``pairwise_distances(e, normalize_embeddings=True)``; for a similarity
        (PML ``CosineSimilarity``) pass a distance such as ``1 - s`` (and the
        ranges in its units).
      labels: ``[batch]`` (``[episodes, batch]``) integer labels.
      pos_strategy: ``"easy"`` (default), ``"semihard"`` or ``"hard"``.
      neg_strategy: ``"easy"``, ``"semihard"`` (default) or ``"hard"``.
      allowed_pos_range: optional ``(low, high)`` band of positive distances.
      allowed_neg_range: optional ``(low, high)`` band of negative distances.

    Returns:
      ``(positives, negatives, valid)``: ``[batch]`` int32 indices of each
      anchor's selected positive and negative, and a boolean ``[batch]`` mask of
      the anchors that have both (the indices of the others are meaningless).
      Ties go to the lowest index. No gradient flows through them.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.0], [1.0], [3.0], [0.5]])
      >>> d = jaxloss.pairwise_distances(x)
      >>> jaxloss.easy_hard_triplets(d, jnp.array([0, 0, 0, 1]), neg_strategy="hard")
      (Array([1, 0, 1, 0], dtype=int32), Array([3, 3, 3, 0], dtype=int32), Array([ True,  True,  True, False], dtype=bool))

    References:
      pytorch-metric-learning ``BatchEasyHardMiner`` (Xuan et al., "Improved
      Embeddings with Easy Positive Triplet Mining", WACV 2020). Deliberate
      difference: PML's ``"all"`` strategy returns every pair of that kind,
      which has no one-per-anchor index; it is refused here, use
      :func:`jaxloss.mining.positive_mask`/:func:`jaxloss.mining.negative_mask`
      for that side.
    """
    for value, what in ((pos_strategy, "pos_strategy"), (neg_strategy, "neg_strategy")):
        if value == "all":
            raise ValueError(
                f"{function_name()}: {what}='all' has no one-per-anchor index; use "
                "jaxloss.mining.positive_mask / negative_mask for that side (PML's 'all')"
            )
        contracts.choice(value, STRATEGIES, what)
    if pos_strategy == neg_strategy == "semihard":
        raise ValueError(
            f"{function_name()}: pos_strategy and neg_strategy cannot both be 'semihard'"
        )
    d, pos, neg = _pair_label_masks(distances, labels)
    (p_idx, _, p_ok), (n_idx, _, n_ok) = _easy_hard_picks(
        d, pos, neg, pos_strategy, neg_strategy, allowed_pos_range, allowed_neg_range
    )
    return p_idx, n_idx, p_ok & n_ok


Pick = tuple[jax.Array, jax.Array, jax.Array]


def _easy_hard_picks(
    d: jax.Array,
    pos: jax.Array,
    neg: jax.Array,
    pos_strategy: str,
    neg_strategy: str,
    allowed_pos_range: tuple[float, float] | None,
    allowed_neg_range: tuple[float, float] | None,
) -> tuple[Pick, Pick]:
    """One ``(index, distance, found)`` pick per anchor for each side of PML's
    ``BatchEasyHardMiner`` (``"all"`` picks as ``"hard"``; the caller decides what it means)."""
    pos_band = _range_mask(d, allowed_pos_range, "allowed_pos_range")
    neg_band = _range_mask(d, allowed_neg_range, "allowed_neg_range")
    pos_nearest = pos_strategy == "easy"
    neg_nearest = neg_strategy != "easy"
    if pos_strategy == "semihard":
        n_pick = _pick_per_row(d, neg, neg_nearest, neg_band)
        return _pick_per_row(d, pos, pos_nearest, pos_band, threshold=n_pick[1]), n_pick
    if neg_strategy == "semihard":
        p_pick = _pick_per_row(d, pos, pos_nearest, pos_band)
        return p_pick, _pick_per_row(d, neg, neg_nearest, neg_band, threshold=p_pick[1])
    return _pick_per_row(d, pos, pos_nearest, pos_band), _pick_per_row(d, neg, neg_nearest, neg_band)


# --------------------------------------------------------------------------- distance weighted (PML DistanceWeightedMiner)


def _distance_weighted_probabilities(
    d: jax.Array, labels: jax.Array, dim: int, cutoff: jax.Array, nonzero_loss_cutoff: jax.Array
) -> jax.Array:
    """``[B, B]`` row-normalised sampling probabilities of the negatives (0 for the
    ineligible ones; a row without an eligible negative is all 0)."""
    dc = jnp.maximum(d, cutoff)
    # log(1 - d^2/4) is -inf at d = 2 and NaN beyond: PML drops those (inf_or_nan).
    inside = (dc < 2.0) & (dc < nonzero_loss_cutoff)
    safe_d = jnp.where(inside, dc, jnp.ones((), d.dtype))
    log_w = (2.0 - dim) * jnp.log(safe_d) - ((dim - 3.0) / 2.0) * jnp.log1p(-0.25 * safe_d**2)
    eligible = inside & (labels[:, None] != labels[None, :])
    log_w = jnp.where(eligible, log_w, -jnp.inf)
    has = jnp.any(eligible, axis=1, keepdims=True)
    log_w = jnp.where(has, log_w, jnp.zeros((), d.dtype))
    return jnp.where(has, jax.nn.softmax(log_w, axis=1), jnp.zeros((), d.dtype))


@_episodes(2)
def distance_weighted_negatives(
    distances: ArrayLike,
    labels: ArrayLike,
    key: ArrayLike,
    *,
    dim: int,
    cutoff: ArrayLike = 0.5,
    nonzero_loss_cutoff: ArrayLike = 1.4,
) -> tuple[jax.Array, jax.Array]:
    r"""Distance-weighted negative sampling (Wu et al. 2017), PML ``DistanceWeightedMiner``.

    For every positive pair :math:`(a, p)` one negative :math:`n` of :math:`a`
    is drawn with probability proportional to :math:`1 / q(d_{an})`, the
    inverse density of distances between uniform points on the unit sphere in
    ``dim`` dimensions:

    .. math::
       \log q(d) = (	ext{dim} - 2) \log d + 	frac{	ext{dim} - 3}{2} \logig(1 - 	frac{d^2}{4}ig)

    with :math:`d` clipped below at ``cutoff``, and weight 0 for
    :math:`d \ge` ``nonzero_loss_cutoff`` (and for :math:`d \ge 2`, where
    :math:`q` vanishes). The weights are normalised in log space (a softmax
    per anchor), so large ``dim`` does not overflow. The draw is an inverse-CDF
    search per pair: memory ``O(batch^2)``.

    Args:
      distances: ``[batch, batch]`` (or ``[episodes, batch, batch]``) Euclidean
        distances between L2-normalised embeddings (PML's required
        ``LpDistance(normalize_embeddings=True, p=2, power=1)``):
        ``pairwise_distances(e, normalize_embeddings=True)``.
      labels: ``[batch]`` (``[episodes, batch]``) integer labels.
      key: a PRNG key (one per episode with an episode axis).
      dim: the embedding dimension (a Python int; PML reads it from the embeddings).
      cutoff: the lower clip of the distances; float or traced array.
      nonzero_loss_cutoff: distances at or beyond it are never drawn; float or
        traced array.

    Returns:
      ``(negatives, valid)``, each ``[batch, batch]`` (row anchor, column
      positive): the int32 index of the negative drawn for the pair, and the
      valid pairs (positive pairs whose anchor has an eligible negative; the
      others' indices are meaningless). No gradient flows through them.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [0.0, 1.0]])
      >>> d = jaxloss.pairwise_distances(x, normalize_embeddings=True)
      >>> key = jax.random.key(0)
      >>> neg, valid = jaxloss.distance_weighted_negatives(d, jnp.array([0, 0, 1, 1]), key, dim=2)
      >>> valid.astype(int)
      Array([[0, 1, 0, 0],
             [1, 0, 0, 0],
             [0, 0, 0, 1],
             [0, 0, 1, 0]], dtype=int32)

    References:
      C.-Y. Wu, R. Manmatha, A. J. Smola, P. Krähenbühl, "Sampling Matters in
      Deep Embedding Learning", ICCV 2017, https://arxiv.org/abs/1706.07567;
      pytorch-metric-learning ``DistanceWeightedMiner``. Deliberate
      differences: one negative per positive pair (PML draws, per anchor, as
      many triplets as its class has members, each with a random positive);
      the weights are normalised per anchor in log space (PML subtracts one
      global maximum, which can underflow whole rows for large ``dim``).
    """
    contracts.prng_key(key)
    if is_traced(dim) or not isinstance(dim, numbers.Integral) or isinstance(dim, bool) or dim < 1:
        raise ValueError(
            f"{function_name()}: dim must be a Python int >= 1 (the embedding dimension), got {dim!r}"
        )
    d, pos, _ = _pair_label_masks(distances, labels)
    n = d.shape[0]
    prob = _distance_weighted_probabilities(
        d,
        jnp.asarray(labels),
        int(dim),
        jnp.asarray(jax.lax.stop_gradient(cutoff), d.dtype),
        jnp.asarray(jax.lax.stop_gradient(nonzero_loss_cutoff), d.dtype),
    )
    has = jnp.any(prob > 0, axis=1)
    cdf = jnp.cumsum(prob, axis=1)
    u = jax.random.uniform(key, (n, n), d.dtype) * cdf[:, -1:] if n else jnp.zeros((n, n), d.dtype)
    draw = jax.vmap(lambda c, q: jnp.searchsorted(c, q, side="right", method="scan"))(cdf, u)
    # u * total can round up to the total: fall back to the last eligible column.
    last = (n - 1 - jnp.argmax((prob > 0)[:, ::-1], axis=1)) if n else jnp.zeros((0,), jnp.int32)
    draw = jnp.minimum(draw, last[:, None]).astype(jnp.int32)
    return draw, pos & has[:, None]
