"""The triplet loss with in-batch mining (batch-all, batch-hard, semi-hard, easy-hard),
pytorch-metric-learning ``TripletMarginLoss`` options (swap, smooth loss, miner filters,
sampled triplets) and reference sets; no ``[B, B, B]`` tensor is materialised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.contracts import function_name
from .._src.distributed import global_reduce
from .._src.embeddings import pair_batch, pick
from .._src.numerics import param
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._mining import (
    TRIPLET_TYPES,
    TripletType,
    hardest,
    metric_matrix,
    semi_hard,
)
from ._mining_strategies import Pick, _easy_hard_picks
from ._pairs import MetricArg, check_metric

__all__ = ["triplet_loss"]

_FAMILY = "embedding"
TripletMining = Literal["batch_all", "batch_hard", "semi_hard", "easy_hard"]
_MININGS: tuple[TripletMining, ...] = ("batch_all", "batch_hard", "semi_hard", "easy_hard")
# BatchEasyHardMiner strategies, PML's "all" (every pair of that kind) included.
Strategy = Literal["easy", "semihard", "hard", "all"]
_STRATEGIES: tuple[Strategy, ...] = ("easy", "semihard", "hard", "all")
# Bytes of one [chunk, m, m] float32 block of the soft-margin batch-all loss.
_CHUNK_BYTES = 1 << 28


def _batch_all_hinge(
    d: jax.Array, pos: jax.Array, neg: jax.Array, margin: jax.Array
) -> tuple[jax.Array, jax.Array]:
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


def _batch_all_blocks(
    d: jax.Array,
    pos: jax.Array,
    neg: jax.Array,
    cost: Callable[[jax.Array], jax.Array],
    *,
    d_pn: jax.Array | None = None,
    keep: Callable[[jax.Array], jax.Array] | None = None,
    count_nonzero: bool = True,
) -> tuple[jax.Array, jax.Array]:
    """Per anchor: sum and count of ``cost(d_ap - d_an)`` over its triplets, in anchor chunks.

    ``d_pn`` (``[m, m]``, candidate to candidate) replaces :math:`d_{an}` by
    :math:`\\min(d_{an}, d_{pn})` (the distance swap); ``keep(delta)`` filters the
    triplets on :math:`\\Delta = d_{an} - d_{ap}` (no gradient). The count is the
    number of kept triplets, only those with a non-zero cost with ``count_nonzero``
    (PML's ``AvgNonZeroReducer``). Each chunk builds a ``[chunk, m, m]`` block;
    ``jax.checkpoint`` makes the backward pass recompute it, so only one block is
    alive at a time (no ``[B, B, B]`` tensor).
    """
    n, m = d.shape
    chunk = int(max(1, min(n, _CHUNK_BYTES // (4 * m * m))))
    pad = (-n) % chunk

    @jax.checkpoint
    def block(args):
        dc, pc, nc = args
        d_ap, d_an = dc[:, :, None], dc[:, None, :]
        ok = pc[:, :, None] & nc[:, None, :]
        if keep is not None:
            ok = ok & keep(jax.lax.stop_gradient(d_an - d_ap))
        if d_pn is not None:
            d_an = jnp.minimum(d_an, d_pn[None, :, :])
        loss = cost(d_ap - d_an)
        counted = ok & ~(loss <= 0) if count_nonzero else ok
        total = jnp.sum(jnp.where(ok, loss, 0.0), axis=(1, 2))
        return total, jnp.sum(counted, axis=(1, 2)).astype(d.dtype)

    def split(x):
        x = jnp.concatenate([x, jnp.zeros((pad, m), x.dtype)], axis=0) if pad else x
        return x.reshape(-1, chunk, m)

    sums, count = jax.lax.map(block, (split(d), split(pos), split(neg)))
    return sums.reshape(-1)[:n], count.reshape(-1)[:n]


def _triplet_filter(kind: TripletType, margin: jax.Array) -> Callable[[jax.Array], jax.Array]:
    """PML ``TripletMarginMiner(margin, type_of_triplets)`` on :math:`\\Delta = d_{an} - d_{ap}`."""
    if kind == "easy":
        return lambda delta: delta > margin
    if kind == "hard":
        return lambda delta: delta <= 0
    if kind == "semihard":
        return lambda delta: (delta > 0) & (delta <= margin)
    return lambda delta: delta <= margin


def _easy_hard(
    d: jax.Array,
    pos: jax.Array,
    neg: jax.Array,
    pos_strategy: Strategy,
    neg_strategy: Strategy,
    allowed_pos_range: tuple[float, float] | None,
    allowed_neg_range: tuple[float, float] | None,
) -> tuple[jax.Array, jax.Array]:
    """PML ``BatchEasyHardMiner`` as ``(positive, negative)`` selection masks over any pair
    masks (references included): one entry per anchor (the choice of
    :func:`jaxloss.mining.easy_hard_triplets`), every pair of that kind for ``"all"``."""
    columns = jnp.arange(d.shape[1], dtype=jnp.int32)[None, :]

    def one(found: Pick) -> jax.Array:
        index, _, ok = found
        return (columns == index[:, None]) & ok[:, None]

    p_pick, n_pick = _easy_hard_picks(
        jax.lax.stop_gradient(d), pos, neg, pos_strategy, neg_strategy,
        allowed_pos_range, allowed_neg_range,
    )
    if "semihard" in (pos_strategy, neg_strategy):
        return one(p_pick), one(n_pick)
    p_sel = pos if pos_strategy == "all" else one(p_pick)
    n_sel = neg if neg_strategy == "all" else one(n_pick)
    return p_sel, n_sel


@register(
    _FAMILY,
    reference="Hermans et al. 2017; pytorch-metric-learning TripletMarginLoss; TF-Addons triplet_semihard_loss",
)
def triplet_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    margin: ArrayLike = 1.0,
    metric: MetricArg = "euclidean",
    normalize_embeddings: bool = False,
    mining: TripletMining = "batch_hard",
    soft_margin: bool = False,
    swap: bool = False,
    smooth_loss: bool = False,
    triplet_type: TripletType | None = None,
    miner_margin: ArrayLike = 0.2,
    triplets_per_anchor: int | None = None,
    key: ArrayLike | None = None,
    pos_strategy: Strategy = "easy",
    neg_strategy: Strategy = "semihard",
    allowed_pos_range: tuple[float, float] | None = None,
    allowed_neg_range: tuple[float, float] | None = None,
    ref_embeddings: ArrayLike | None = None,
    ref_labels: ArrayLike | None = None,
    ref_where: ArrayLike | None = None,
    axis_name: str | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Triplet loss with in-batch mining.

    With :math:`d` the ``metric`` distance, :math:`P(a)` the other embeddings
    with anchor :math:`a`'s label and :math:`N(a)` those with another label,
    each mined triplet costs

    .. math::
       h(z) = \max(0, z + m) \quad (\texttt{smooth\_loss}: \operatorname{softplus}(z + m);
       \ \texttt{soft\_margin}: \operatorname{softplus}(z), \text{ no margin}), \qquad
       z = d_{ap} - d_{an}.

    ``swap=True`` (Balntas et al. 2016, PML ``swap``) uses
    :math:`\min(d_{an}, d_{pn})` for :math:`d_{an}`.

    - ``"batch_hard"`` (Hermans et al. 2017): per anchor
      :math:`h(\max_{p \in P(a)} d_{ap} - \min_{n \in N(a)} d_{an})`; the mean
      runs over anchors.
    - ``"batch_all"``: every triplet :math:`(a, p, n)`; the mean runs over the
      triplets with a positive loss (pytorch-metric-learning
      ``TripletMarginLoss`` with its default ``AvgNonZeroReducer``). Computed per
      anchor by sorting (hinge) or in anchor chunks (the other options): no
      ``[B, B, B]`` tensor. ``triplet_type`` keeps only the triplets PML's
      ``TripletMarginMiner(margin=miner_margin, type_of_triplets)`` keeps, with
      :math:`\Delta = d_{an} - d_{ap}`: ``"easy"`` :math:`\Delta > m'`,
      ``"semihard"`` :math:`0 < \Delta \le m'`, ``"hard"`` :math:`\Delta \le
      0`, ``"all"`` :math:`\Delta \le m'`. ``triplets_per_anchor=k`` instead
      samples ``k`` triplets per anchor (positive and negative each uniform,
      with replacement, from ``key``), as PML's ``triplets_per_anchor``.
    - ``"semi_hard"`` (TF-Addons ``triplet_semihard_loss``): per positive pair
      the nearest negative farther than the positive, else the farthest
      negative (:func:`jaxloss.mining.semi_hard_negatives`); the mean runs over
      positive pairs.
    - ``"easy_hard"`` (PML ``BatchEasyHardMiner`` feeding the loss): per anchor
      one positive by ``pos_strategy`` (``"easy"``: nearest, ``"hard"``:
      farthest, ``"semihard"``: farthest nearer than the chosen negative,
      ``"all"``: every positive) and one negative by ``neg_strategy``
      (``"easy"``: farthest, ``"hard"``: nearest, ``"semihard"``: nearest
      farther than the chosen positive, ``"all"``: every negative), candidates
      restricted to ``allowed_pos_range``/``allowed_neg_range``; the triplets
      are their combinations, averaged as ``"batch_all"``.

    Anchors without a positive or without a negative are excluded from the mean
    (TF-Addons instead treats the anchor itself as a negative at distance 0);
    nothing valid gives 0 with zero gradients.

    PML ``TripletMarginLoss(margin, swap, smooth_loss)`` (default ``LpDistance()``)
    is ``mining="batch_all"`` with ``normalize_embeddings=True`` (PML's default
    margin is 0.05). Differences from PML: with ``ref_embeddings`` the swap
    distance is :math:`d(r_p, r_n)` between the references (PML reads row
    :math:`p` of the query-to-reference matrix there); ``triplet_type`` and
    ``"easy_hard"`` mine with the loss's own distance (PML's miners have their
    own ``distance``).

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      labels: ``[batch]`` integer labels.
      margin: :math:`m`; float or traced array (unused with ``soft_margin``).
      metric: ``"euclidean"`` (default), ``"squared_euclidean"``, ``"cosine"``,
        ``"dot"``, ``"lp"`` (``p=2``), ``"manhattan"``, or a callable
        ``(x, y) -> [n, m]`` distance matrix (see
        :func:`jaxloss.mining.pairwise_distances`).
      normalize_embeddings: L2-normalise the rows first (``True`` is PML's
        default ``LpDistance()``).
      mining: ``"batch_hard"`` (default), ``"batch_all"``, ``"semi_hard"`` or
        ``"easy_hard"``.
      soft_margin: :math:`\operatorname{softplus}(z)`, without the margin
        (Hermans et al.); not with ``smooth_loss``.
      swap: the distance swap.
      smooth_loss: :math:`\operatorname{softplus}(z + m)` (PML ``smooth_loss``).
      triplet_type: ``None`` (default: no filter), ``"all"``, ``"hard"``,
        ``"semihard"`` or ``"easy"``; ``mining="batch_all"`` only.
      miner_margin: :math:`m'` of ``triplet_type``; float or traced array.
      triplets_per_anchor: ``None`` (every triplet) or the static number of
        triplets sampled per anchor; ``mining="batch_all"`` only, needs ``key``.
      key: the PRNG key of ``triplets_per_anchor``.
      pos_strategy: ``"easy"`` (default), ``"semihard"``, ``"hard"`` or
        ``"all"``; ``mining="easy_hard"`` only.
      neg_strategy: ``"semihard"`` (default), ``"easy"``, ``"hard"`` or ``"all"``.
        ``"semihard"`` is not allowed on both, nor together with ``"all"``
        (PML's rules).
      allowed_pos_range: optional static ``(low, high)`` distance range of the
        positive candidates (PML ``allowed_pos_range``).
      allowed_neg_range: the same for the negative candidates.
      ref_embeddings: optional ``[m, dim]`` reference (candidate) embeddings
        (PML ``ref_emb``): anchors come from ``embeddings``, their positives
        and negatives from the references, with no self-exclusion.
      ref_labels: ``[m]`` integer labels of ``ref_embeddings`` (required with them).
      ref_where: optional boolean ``[m]`` mask of the valid reference rows (a
        partly filled memory), or ``[batch, m]`` of the valid (anchor,
        reference) pairs (:func:`jaxloss.cross_batch_memory_loss`); masked
        entries contribute nothing, NaN included.
      axis_name: under ``shard_map``/``pmap``, each device's anchors are mined
        against the batch (or the references) gathered over this axis;
        ``"mean"``/``"sum"`` are then global (equal to the single-device loss
        on the concatenated batch) and ``"none"`` is this device's anchors.
      weights: optional ``[batch]`` anchor weights.
      where: optional boolean ``[batch]`` anchor mask (a masked anchor still
        serves as a positive or negative).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; for ``"none"`` the ``[batch]``
      per-anchor losses: the anchor's triplet loss (``"batch_hard"``) or the sum
      over its triplets (``"batch_all"``, ``"easy_hard"``) or positive pairs
      (``"semi_hard"``). ``"mean"`` divides the (weighted) sum of these by the
      (weighted) number of counted terms: anchors, positive-loss triplets or
      positive pairs.

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
      V. Balntas et al., BMVC 2016 (the swap); pytorch-metric-learning
      ``TripletMarginLoss``, ``TripletMarginMiner``, ``BatchEasyHardMiner``;
      TF-Addons ``triplet_semihard_loss``.
    """
    check_metric(metric)
    contracts.choice(mining, _MININGS, "mining")
    if soft_margin and smooth_loss:
        raise ValueError(
            f"{function_name()}: soft_margin and smooth_loss exclude each other "
            "(smooth_loss keeps the margin, soft_margin drops it)"
        )
    if triplet_type is not None:
        contracts.choice(triplet_type, TRIPLET_TYPES, "triplet_type")
        if mining != "batch_all":
            raise ValueError(
                f"{function_name()}: triplet_type filters the triplets of mining='batch_all', "
                f"got mining={mining!r}"
            )
    if triplets_per_anchor is not None:
        if mining != "batch_all" or triplet_type is not None:
            raise ValueError(
                f"{function_name()}: triplets_per_anchor samples the triplets of "
                "mining='batch_all' without triplet_type"
            )
        if (
            isinstance(triplets_per_anchor, bool)
            or not isinstance(triplets_per_anchor, int)
            or triplets_per_anchor < 1
        ):
            raise ValueError(
                f"{function_name()}: triplets_per_anchor must be a Python int >= 1, "
                f"got {triplets_per_anchor!r}"
            )
        if key is None:
            raise ValueError(f"{function_name()}: triplets_per_anchor needs key= (a PRNG key)")
        contracts.prng_key(key)
    contracts.choice(pos_strategy, _STRATEGIES, "pos_strategy")
    contracts.choice(neg_strategy, _STRATEGIES, "neg_strategy")
    if mining == "easy_hard" and (
        pos_strategy == neg_strategy == "semihard"
        or {pos_strategy, neg_strategy} == {"semihard", "all"}
    ):
        raise ValueError(
            f"{function_name()}: pos_strategy={pos_strategy!r} with neg_strategy="
            f"{neg_strategy!r}: 'semihard' needs the other side to pick one pair "
            "(not 'semihard', not 'all')"
        )
    b = pair_batch(
        embeddings, labels, None, None, ref_embeddings, ref_labels, ref_where, axis_name=axis_name
    )
    e = b.embeddings
    contracts.nonempty(b.refs, "embeddings", hint="triplets are mined within the batch")
    d = metric_matrix(e, b.refs, metric, b.self_index, normalize_embeddings=normalize_embeddings)
    pos, neg = b.pos, b.neg
    m = param(margin, e.dtype)
    d_pn = None
    if swap:
        own = None if b.self_index is None else jnp.arange(b.refs.shape[0])
        d_pn = metric_matrix(b.refs, b.refs, metric, own, normalize_embeddings=normalize_embeddings)

    def cost(z: jax.Array) -> jax.Array:
        if soft_margin:
            return jax.nn.softplus(z)
        return jax.nn.softplus(z + m) if smooth_loss else jax.nn.relu(z + m)

    count = None
    valid = None
    if mining == "batch_hard":
        p, q, valid = hardest(jax.lax.stop_gradient(d), pos, neg)
        d_an = pick(d, q) if d_pn is None else jnp.minimum(pick(d, q), d_pn[p, q])
        loss = jnp.where(valid, cost(pick(d, p) - d_an), 0.0)
    elif mining == "semi_hard":
        q, _, pairs = semi_hard(d, pos, neg)
        d_an = pick(d, q)
        if d_pn is not None:
            d_an = jnp.minimum(d_an, d_pn[jnp.arange(d.shape[1])[None, :], q])
        loss = jnp.sum(jnp.where(pairs, cost(d - d_an), 0.0), axis=1)
        count = jnp.sum(pairs, axis=1).astype(e.dtype)
    elif triplets_per_anchor is not None:
        k = triplets_per_anchor
        kp, kn = jax.random.split(jnp.asarray(key))
        p = jax.random.categorical(kp, jnp.where(pos, 0.0, -jnp.inf), shape=(k, d.shape[0])).T
        q = jax.random.categorical(kn, jnp.where(neg, 0.0, -jnp.inf), shape=(k, d.shape[0])).T
        ok = (jnp.any(pos, axis=1) & jnp.any(neg, axis=1))[:, None]
        d_an = pick(d, q) if d_pn is None else jnp.minimum(pick(d, q), d_pn[p, q])
        per = jnp.where(ok, cost(pick(d, p) - d_an), 0.0)
        loss = jnp.sum(per, axis=1)
        counted = (
            jnp.broadcast_to(ok, per.shape) if soft_margin or smooth_loss else ok & ~(per <= 0)
        )
        count = jnp.sum(counted, axis=1).astype(e.dtype)
    else:
        if mining == "easy_hard":
            pos, neg = _easy_hard(
                d, pos, neg, pos_strategy, neg_strategy, allowed_pos_range, allowed_neg_range
            )
        if not (swap or smooth_loss or soft_margin or triplet_type is not None):
            loss, count = _batch_all_hinge(d, pos, neg, m)
        else:
            keep = (
                None
                if triplet_type is None
                else _triplet_filter(triplet_type, param(miner_margin, e.dtype))
            )
            loss, count = _batch_all_blocks(
                d,
                pos,
                neg,
                cost,
                d_pn=d_pn,
                keep=keep,
                count_nonzero=not (soft_margin or smooth_loss),
            )
    if count is not None:
        valid = count > 0
    return global_reduce(
        loss, reduction, axis_name, weights=weights, where=where, valid=valid, normalizer=count
    )
