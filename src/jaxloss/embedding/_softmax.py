"""Softmax / contrastive embedding losses: InfoNCE (CPC, CLIP), NT-Xent, SupCon,
multiple-negatives ranking, GE2E (the angular-margin heads are in ``_heads``).

Similarities are cosine similarities of L2-normalised embeddings unless a
``similarity="dot"`` option says otherwise. The losses that take ``axis_name``
gather the candidate set over the devices of that axis under
``shard_map``/``pmap``; their ``"mean"``/``"sum"`` are then the global values
(equal to the single-device loss on the concatenated batch) and ``"none"`` is
this device's share. ``where`` masks loss terms (anchors, queries): a masked
embedding still serves as a candidate (positive or negative) for the others.
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.blockwise import CrossDevice, check_blockwise, contrastive_rows, pair_rows
from .._src.contracts import function_name
from .._src.distributed import gather_batch, global_index, global_reduce
from .._src.embeddings import check_rows, check_same_dim, masked_lse, pair_batch, pick
from .._src.labels import class_labels, poison
from .._src.numerics import l2_normalize, param, upcast
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._mining import metric_matrix
from ._pairs import MetricArg, check_metric

__all__ = [
    "ge2e_loss",
    "infonce_loss",
    "multiple_negatives_ranking_loss",
    "ntxent",
    "supervised_contrastive_loss",
]

_FAMILY = "embedding"
Similarity = Literal["cosine", "dot"]
_SIMILARITIES: tuple[Similarity, ...] = ("cosine", "dot")


def _similarity(a: jax.Array, b: jax.Array, kind: str) -> jax.Array:
    """``[n, m]`` similarities of the rows of ``a`` and ``b``."""
    if kind == "cosine":
        a, b = l2_normalize(a), l2_normalize(b)
    return a @ b.T


def _logits(
    e: jax.Array, refs: jax.Array, metric: MetricArg, self_index: jax.Array | None, normalize: bool
) -> jax.Array:
    """``[n, m]`` similarity logits before the temperature: the cosine similarity for
    ``"cosine"``, otherwise the negated ``metric`` distance (PML negates non-inverted
    distances; ``"dot"`` gives the raw dot product)."""
    if metric == "cosine":
        return _similarity(e, refs, "cosine")
    return -metric_matrix(e, refs, metric, self_index, normalize_embeddings=normalize)


# --------------------------------------------------------------------------- InfoNCE


@register(_FAMILY, reference="van den Oord et al. 2018 (CPC, arXiv:1807.03748); CLIP (arXiv:2103.00020)")
def infonce_loss(
    queries: ArrayLike, keys: ArrayLike, *, temperature: ArrayLike = 0.07, similarity: Similarity = "cosine",
    positive_indices: ArrayLike | None = None, symmetric: bool = False, axis_name: str | None = None,
    cross_device: CrossDevice = "all_gather", chunk_size: int | None = None,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""InfoNCE: cross-entropy of temperature-scaled query-key similarities.

    .. math::
       \ell_i = -\log \frac{\exp(s(q_i, k_{p_i}) / \tau)}{\sum_j \exp(s(q_i, k_j) / \tau)}

    with :math:`p_i = i` (diagonal positives) unless ``positive_indices`` is
    given. ``symmetric=True`` is the CLIP loss: each entry is the average of the
    query-to-key term above and the key-to-query term of the transposed logits,
    :math:`\tfrac12(\ell^{q\to k}_i + \ell^{k\to q}_i)`.

    Args:
      queries: ``[n, dim]`` floating query embeddings.
      keys: ``[m, dim]`` key embeddings (``m == n`` for diagonal positives).
      temperature: :math:`\tau`; float or traced array (differentiable).
      similarity: ``"cosine"`` (default) or ``"dot"`` (raw dot products).
      positive_indices: optional ``[n]`` integer index of each query's positive
        key (into the gathered keys when ``axis_name`` is set). Not with
        ``symmetric``.
      symmetric: average both directions (requires diagonal positives).
      axis_name: under ``shard_map``/``pmap``, the keys (and for ``symmetric``
        the queries) are gathered over this axis; the positive of local query
        ``i`` is at its global index. ``"mean"``/``"sum"`` are then the global
        values, equal to the single-device loss on the concatenated batch.
      cross_device: with ``axis_name``, ``"all_gather"`` (default: gather the
        keys, then ``[n, N]`` logits, or ``[n, chunk_size]`` tiles) or
        ``"ring"`` (key blocks travel around the devices with ``lax.ppermute``,
        so no device holds more than ``[n, m]`` logits; same values and
        gradients).
      chunk_size: memory-bounded form (a positive int): keys are visited
        ``chunk_size`` at a time with an online (running-max) log-sum-exp per
        query, and a ``custom_vjp`` backward recomputes each ``[n, chunk_size]``
        tile from the saved log-sum-exps, so neither pass forms the ``[n, m]``
        logits. ``symmetric`` runs the transposed problem the same way. Values
        and gradients (``temperature`` included) equal the dense form. ``None``
        (default): the dense logits.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output's shape; masked
        entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the ``[n]`` per-query losses for
      ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> q = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> jaxloss.infonce_loss(q, q, temperature=1.0)
      Array(0.31326163, dtype=float32)

    References:
      A. van den Oord et al., "Representation Learning with Contrastive
      Predictive Coding", 2018, https://arxiv.org/abs/1807.03748; A. Radford et
      al., "Learning Transferable Visual Models From Natural Language
      Supervision" (CLIP), 2021, https://arxiv.org/abs/2103.00020.
    """
    contracts.bounded(temperature, "temperature", gt=0)
    contracts.choice(similarity, _SIMILARITIES, "similarity")
    check_rows(queries, "queries")
    check_rows(keys, "keys")
    check_same_dim(queries=queries, keys=keys)
    check_blockwise(chunk_size, cross_device, function_name())
    q, k = upcast(queries, keys)
    n = q.shape[0]
    temp = param(temperature, q.dtype)
    blockwise = chunk_size is not None or (axis_name is not None and cross_device == "ring")
    k_all = k if blockwise else gather_batch(k, axis_name)
    n_keys = k.shape[0] * (1 if axis_name is None else jax.lax.axis_size(axis_name))
    bad = None
    if positive_indices is None:
        if k.shape[0] != n:
            raise ValueError(
                f"{function_name()}: queries has shape {q.shape} and keys has shape {k.shape}; "
                "diagonal positives need as many keys as queries (or pass positive_indices)"
            )
        target = global_index(n, axis_name)
    else:
        if symmetric:
            raise ValueError(f"{function_name()}: symmetric=True requires diagonal positives "
                             "(positive_indices=None)")
        contracts.integer(positive_indices=positive_indices)
        contracts.shape_is(positive_indices, (n,), "positive_indices", "one key index per query",
                            like={"queries": queries})
        target, _, bad = class_labels(positive_indices, n_keys, what="positive_indices")
    if blockwise:
        loss = contrastive_rows(q, k, target, scale=1 / temp, similarity=similarity, symmetric=symmetric,
                                chunk_size=chunk_size, axis_name=axis_name, cross_device=cross_device)
        return global_reduce(poison(loss, bad), reduction, axis_name, weights=weights, where=where)
    logits = _similarity(q, k_all, similarity) / temp
    loss = jax.nn.logsumexp(logits, axis=1) - pick(logits, target)
    if symmetric:
        logits_t = _similarity(k, gather_batch(q, axis_name), similarity) / temp
        loss = 0.5 * (loss + jax.nn.logsumexp(logits_t, axis=1) - pick(logits_t, target))
    return global_reduce(poison(loss, bad), reduction, axis_name, weights=weights, where=where)


# --------------------------------------------------------------------------- NT-Xent


@register(_FAMILY, reference="optax.ntxent (Chen et al. 2020, SimCLR)")
def ntxent(
    embeddings: ArrayLike, labels: ArrayLike, *, temperature: ArrayLike = 0.07, metric: MetricArg = "cosine",
    normalize_embeddings: bool = False,
    ref_embeddings: ArrayLike | None = None, ref_labels: ArrayLike | None = None, ref_where: ArrayLike | None = None,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Normalised temperature-scaled cross-entropy (NT-Xent, SimCLR), optax semantics.

    For every positive pair :math:`(i, j)` (same label, :math:`i \ne j`), with
    :math:`s_{ij}` the cosine similarity over :math:`\tau` and :math:`N(i)` the
    embeddings with another label,

    .. math::
       \ell_{ij} = -\log \frac{e^{s_{ij}}}{e^{s_{ij}} + \sum_{k \in N(i)} e^{s_{ik}}},
       \qquad \text{mean} = \frac{\sum_{i,j} \ell_{ij}}{\#\text{positive pairs}}

    so ``"mean"`` equals ``optax.ntxent``. ``"none"`` is per anchor, the sum of
    its pair losses :math:`\sum_j \ell_{ij}`; the mean divides by the (weighted)
    number of positive pairs, so a per-anchor weight weights each of that
    anchor's pairs. Anchors without a positive are excluded; with no positive
    pair at all the loss is 0 (optax gives NaN).

    PML ``NTXentLoss(temperature)`` is the same loss (its default
    ``CosineSimilarity()``); with a PML distance (not a similarity) it uses
    :math:`s = -d`, which is ``metric=`` with that distance here (e.g. PML
    ``LpDistance()`` is ``metric="euclidean", normalize_embeddings=True``).
    PML adds ``1e-45`` inside its log; jaxloss does not.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      labels: ``[batch]`` integer group labels; equal labels are positives.
      temperature: :math:`\tau`; float or traced array.
      metric: ``"cosine"`` (default: cosine similarities), ``"dot"`` (raw dot
        products), or a distance (``"euclidean"``, ``"squared_euclidean"``,
        ``"lp"``, ``"manhattan"``, or a callable ``(x, y) -> [n, m]``
        distance matrix) whose negation is the similarity.
      normalize_embeddings: L2-normalise the rows first (PML's distances do by
        default; ``"cosine"`` normalises anyway).
      ref_embeddings: optional ``[m, dim]`` reference (candidate) embeddings
        (PML ``ref_emb``): anchors come from ``embeddings``, their positives
        and negatives from the references, with no self-exclusion.
      ref_labels: ``[m]`` integer labels of ``ref_embeddings`` (required with them).
      ref_where: optional boolean ``[m]`` mask of the valid reference rows (a
        partly filled memory), or ``[batch, m]`` of the valid (anchor,
        reference) pairs (:func:`jaxloss.cross_batch_memory_loss`); masked
        entries contribute nothing, NaN included.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output's shape; masked
        entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` per-anchor sums for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
      >>> jaxloss.ntxent(x, jnp.array([0, 0, 1, 1]), temperature=0.5)
      Array(0.28987798, dtype=float32)

    References:
      T. Chen et al., "A Simple Framework for Contrastive Learning of Visual
      Representations", 2020, https://arxiv.org/abs/2002.05709; ``optax.ntxent``.
    """
    contracts.bounded(temperature, "temperature", gt=0)
    check_metric(metric)
    b = pair_batch(embeddings, labels, None, None, ref_embeddings, ref_labels, ref_where)
    e, pos, neg = b.embeddings, b.pos, b.neg
    s = _logits(e, b.refs, metric, b.self_index, normalize_embeddings) / param(temperature, e.dtype)
    has_neg = jnp.any(neg, axis=1)
    # Rows without negatives: logsumexp of finite zeros, then -inf by a second where
    # (a logsumexp over only -inf has a NaN gradient).
    z = jnp.where(neg & has_neg[:, None], s, jnp.where(has_neg[:, None], -jnp.inf, 0.0))
    lse_neg = jnp.where(has_neg, jax.nn.logsumexp(z, axis=1), -jnp.inf)
    # -log(e^s / (e^s + sum_neg e^s_k)) = softplus(lse_neg - s); 0 when there is no negative.
    pair = jax.nn.softplus(lse_neg[:, None] - s)
    loss = jnp.sum(jnp.where(pos, pair, 0.0), axis=1)
    count = jnp.sum(pos, axis=1).astype(e.dtype)
    return reduce(loss, reduction, weights=weights, where=where, valid=count > 0, normalizer=count)


# --------------------------------------------------------------------------- SupCon


@register(_FAMILY, reference="Khosla et al. 2020 (arXiv:2004.11362); pytorch-metric-learning SupConLoss")
def supervised_contrastive_loss(
    embeddings: ArrayLike, labels: ArrayLike, *, temperature: ArrayLike = 0.07, metric: MetricArg = "cosine",
    normalize_embeddings: bool = False,
    ref_embeddings: ArrayLike | None = None, ref_labels: ArrayLike | None = None, ref_where: ArrayLike | None = None,
    axis_name: str | None = None,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Supervised contrastive loss (SupCon, :math:`\mathcal{L}^{sup}_{out}`) on cosine similarities.

    .. math::
       \ell_i = -\frac{1}{|P(i)|} \sum_{p \in P(i)}
       \log \frac{\exp(s_{ip} / \tau)}{\sum_{a \ne i} \exp(s_{ia} / \tau)}

    :math:`P(i)` are the other embeddings with anchor :math:`i`'s label and
    :math:`s` the cosine similarity; the anchor itself is excluded from the
    denominator. The mean runs over anchors with at least one positive
    (anchors without one are excluded, never NaN; none at all gives 0 with
    zero gradients), as pytorch-metric-learning's ``SupConLoss``. Unlike that
    implementation, a batch without negatives still has a loss (PML returns 0)
    and the default temperature is 0.07 (PML: 0.1). PML's ``AvgNonZeroReducer``
    also drops an anchor whose loss is exactly 0; jaxloss counts it.

    With a PML distance (not a similarity) PML uses :math:`s = -d`: that is
    ``metric=`` with that distance (PML ``LpDistance()`` is
    ``metric="euclidean", normalize_embeddings=True``). With ``ref_embeddings``
    the positives and the denominator run over the (valid) references, with no
    self-exclusion (PML ``ref_emb``).

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      labels: ``[batch]`` integer class labels.
      temperature: :math:`\tau`; float or traced array.
      metric: ``"cosine"`` (default: cosine similarities), ``"dot"`` (raw dot
        products), or a distance (``"euclidean"``, ``"squared_euclidean"``,
        ``"lp"``, ``"manhattan"``, or a callable ``(x, y) -> [n, m]``
        distance matrix) whose negation is the similarity.
      normalize_embeddings: L2-normalise the rows first (PML's distances do by
        default; ``"cosine"`` normalises anyway).
      ref_embeddings: optional ``[m, dim]`` reference (candidate) embeddings
        (PML ``ref_emb``).
      ref_labels: ``[m]`` integer labels of ``ref_embeddings`` (required with them).
      ref_where: optional boolean ``[m]`` mask of the valid reference rows (a
        partly filled memory), or ``[batch, m]`` of the valid (anchor,
        reference) pairs (:func:`jaxloss.cross_batch_memory_loss`); masked
        entries contribute nothing, NaN included.
      axis_name: under ``shard_map``/``pmap``, the contrast set (embeddings and
        labels, or the references) is gathered over this axis;
        ``"mean"``/``"sum"`` are global, equal to the single-device loss on the
        concatenated batch.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output's shape; masked
        entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` per-anchor losses for
      ``"none"`` (0 for anchors without a positive).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
      >>> jaxloss.supervised_contrastive_loss(x, jnp.array([0, 0, 1, 1]), temperature=0.5)
      Array(0.2898779, dtype=float32)

    References:
      P. Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020,
      https://arxiv.org/abs/2004.11362; pytorch-metric-learning ``SupConLoss``.
    """
    contracts.bounded(temperature, "temperature", gt=0)
    check_metric(metric)
    b = pair_batch(embeddings, labels, None, None, ref_embeddings, ref_labels, ref_where, axis_name=axis_name)
    e, pos = b.embeddings, b.pos
    contracts.nonempty(b.refs, "embeddings")
    logits = _logits(e, b.refs, metric, b.self_index, normalize_embeddings) / param(temperature, e.dtype)
    # The denominator: every candidate but the anchor itself (no self-exclusion with references).
    log_prob = logits - masked_lse(logits, pos | b.neg)[:, None]
    count = jnp.sum(pos, axis=1)
    loss = -jnp.sum(jnp.where(pos, log_prob, 0.0), axis=1) / jnp.maximum(count, 1).astype(e.dtype)
    return global_reduce(loss, reduction, axis_name, weights=weights, where=where, valid=count > 0)


# --------------------------------------------------------------------------- MNRL


@register(_FAMILY, reference="sentence-transformers MultipleNegativesRankingLoss")
def multiple_negatives_ranking_loss(
    anchors: ArrayLike, positives: ArrayLike, negatives: ArrayLike | None = None, *, scale: ArrayLike = 20.0,
    similarity: Similarity = "cosine", axis_name: str | None = None,
    cross_device: CrossDevice = "all_gather", chunk_size: int | None = None,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Multiple-negatives ranking loss (in-batch negatives), sentence-transformers semantics.

    .. math::
       \ell_i = -\log \frac{\exp(\lambda\, s(a_i, p_i))}
       {\sum_j \exp(\lambda\, s(a_i, p_j)) + \sum_k \exp(\lambda\, s(a_i, n_k))}

    The candidates of every anchor are all positives followed by all
    negatives (``[positives; negatives[:, 0]; negatives[:, 1]; ...]``, the
    order of sentence-transformers' columns); the label of anchor ``i`` is
    ``i``.

    Args:
      anchors: ``[batch, dim]`` floating anchor (query) embeddings.
      positives: ``[batch, dim]`` positive (document) embeddings.
      negatives: optional hard negatives: ``[batch, k, dim]`` (``k`` per
        anchor, sentence-transformers' extra columns) or ``[m, dim]`` (shared
        candidates, e.g. one column with ``m = batch``).
      scale: :math:`\lambda` (``1 / temperature``); float or traced array.
      similarity: ``"cosine"`` (default) or ``"dot"``.
      axis_name: under ``shard_map``/``pmap``, positives and negatives are
        gathered over this axis (sentence-transformers'
        ``gather_across_devices``); ``"mean"``/``"sum"`` are global.
      cross_device: with ``axis_name``, ``"all_gather"`` (default: gather the
        candidates) or ``"ring"`` (each device's positives and negatives travel
        around the devices with ``lax.ppermute``; no device holds more than one
        device's candidates at a time; same values and gradients).
      chunk_size: memory-bounded form (a positive int): candidates are visited
        ``chunk_size`` at a time with an online log-sum-exp per anchor, and a
        ``custom_vjp`` backward recomputes each ``[batch, chunk_size]`` tile, so
        neither pass forms the ``[batch, candidates]`` scores (the kernel of
        :func:`infonce_loss`). ``None`` (default): the dense scores.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output's shape; masked
        entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` per-anchor losses for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> a = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> jaxloss.multiple_negatives_ranking_loss(a, a, scale=1.0)
      Array(0.31326163, dtype=float32)

    References:
      M. Henderson et al., "Efficient Natural Language Response Suggestion for
      Smart Reply", 2017, https://arxiv.org/abs/1705.00652; sentence-transformers
      ``MultipleNegativesRankingLoss``.
    """
    contracts.choice(similarity, _SIMILARITIES, "similarity")
    _check_columns(anchors, positives, negatives)
    check_blockwise(chunk_size, cross_device, function_name())
    a, p, neg = upcast(anchors, positives, negatives)
    n = a.shape[0]
    target = global_index(n, axis_name)
    if chunk_size is not None or (axis_name is not None and cross_device == "ring"):
        loss = _ranking_rows(a, p, neg, target, param(scale, a.dtype), similarity, chunk_size,
                             axis_name, cross_device)
        return global_reduce(loss, reduction, axis_name, weights=weights, where=where)
    candidates = gather_batch(p, axis_name)
    flat = _flat_negatives(neg, axis_name)
    if flat is not None:
        candidates = jnp.concatenate([candidates, flat], axis=0)
    scores = _similarity(a, candidates, similarity) * param(scale, a.dtype)
    loss = jax.nn.logsumexp(scores, axis=1) - pick(scores, target)
    return global_reduce(loss, reduction, axis_name, weights=weights, where=where)


def _check_columns(anchors: ArrayLike, positives: ArrayLike, negatives: ArrayLike | None) -> None:
    """Anchors and positives ``[batch, dim]``; negatives ``[batch, k, dim]`` or ``[m, dim]``."""
    check_rows(anchors, "anchors")
    check_rows(positives, "positives")
    contracts.same_shape("one positive per anchor", anchors=anchors, positives=positives)
    if negatives is None:
        return
    contracts.floating(negatives=negatives)
    contracts.rank(negatives, {2, 3}, "negatives", "[m, dim] or [batch, k, dim]")
    if np.ndim(negatives) == 3:
        contracts.shape_is(
            negatives,
            (np.shape(anchors)[0], None, None),
            "negatives",
            "[batch, k, dim] needs one row of k negatives per anchor",
            like={"anchors": anchors},
        )
    check_same_dim(anchors=anchors, negatives=negatives)


def _flat_negatives(neg: jax.Array | None, axis_name: str | None) -> jax.Array | None:
    """The gathered negatives as rows, column-major (``[neg[:, 0]; neg[:, 1]; ...]``)."""
    if neg is None:
        return None
    rows: jax.Array = gather_batch(neg, axis_name)
    if rows.ndim == 3:
        rows = jnp.swapaxes(rows, 0, 1).reshape(-1, rows.shape[-1])
    return rows


def _ranking_rows(
    a: jax.Array, p: jax.Array, neg: jax.Array | None, target: jax.Array, scale: jax.Array,
    similarity: str, chunk_size: int | None, axis_name: str | None, cross_device: CrossDevice,
    symmetric: bool = False,
) -> jax.Array:
    """``[n]`` per-anchor ranking losses, blockwise (``_src.blockwise.pair_rows``): anchors
    against this device's positives and negatives; with ``symmetric``, averaged with the
    positives ranking the anchors."""
    if similarity == "cosine":
        a, p = l2_normalize(a), l2_normalize(p)
    keys, key_ids = p, target
    if neg is not None:
        flat = neg.reshape(-1, neg.shape[-1])
        flat = l2_normalize(flat) if similarity == "cosine" else flat
        # Negatives are never a target (id -1); the order of the candidates does not change
        # a log-sum-exp.
        keys = jnp.concatenate([p, flat], axis=0)
        key_ids = jnp.concatenate([target, jnp.full(flat.shape[:1], -1, jnp.int32)])
    options = {"scale": scale, "kind": "softmax", "chunk_size": chunk_size, "axis_name": axis_name,
               "cross_device": cross_device}
    loss = pair_rows(a, keys, target, key_ids, **options)
    if symmetric:
        loss = 0.5 * (loss + pair_rows(p, a, target, target, **options))
    return loss


# --------------------------------------------------------------------------- GE2E


@register(_FAMILY, reference="Wan et al. 2018 (arXiv:1710.10467)")
def ge2e_loss(
    embeddings: ArrayLike, *, w: ArrayLike = 10.0, b: ArrayLike = -5.0,
    method: Literal["softmax", "contrast"] = "softmax",
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Generalized end-to-end (GE2E) speaker-verification loss.

    Embeddings are L2-normalised (the paper's d-vectors are unit norm);
    :math:`c_k` is the mean of speaker :math:`k`'s normalised embeddings and
    :math:`c_j^{(-i)}` that of speaker :math:`j` without utterance :math:`i`.

    .. math::
       S_{ji,k} = w \cos(e_{ji}, c_k^{(-i \text{ if } k = j)}) + b, \qquad
       \ell^{\text{softmax}}_{ji} = -S_{ji,j} + \log \sum_k \exp S_{ji,k}, \qquad
       \ell^{\text{contrast}}_{ji} = 1 - \sigma(S_{ji,j}) + \max_{k \ne j} \sigma(S_{ji,k})

    ``w`` and ``b`` are used as given (no clamping) and are differentiable; the
    paper keeps :math:`w > 0`: parameterise it positive (e.g. ``softplus``) or
    clip it after each update.

    Args:
      embeddings: ``[speakers, utterances, dim]`` floating embeddings
        (``utterances >= 2``; ``speakers >= 2`` for ``"contrast"``).
      w: similarity scale; float or traced array.
      b: similarity bias; float or traced array.
      method: ``"softmax"`` (default) or ``"contrast"``.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output's shape; masked
        entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"`` (the mean over utterances; the paper's
      :math:`L_G` is the ``"sum"``); ``[speakers, utterances]`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> e = jnp.array([[[1.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]])
      >>> jaxloss.ge2e_loss(e, w=1.0, b=0.0)
      Array(0.31326163, dtype=float32)

    References:
      L. Wan, Q. Wang, A. Papir, I. L. Moreno, "Generalized End-to-End Loss for
      Speaker Verification", ICASSP 2018, https://arxiv.org/abs/1710.10467.
    """
    contracts.choice(method, ("softmax", "contrast"), "method")
    contracts.floating(embeddings=embeddings)
    contracts.rank(embeddings, 3, "embeddings", "[speakers, utterances, dim]")
    speakers, utterances, _ = np.shape(embeddings)
    if utterances < 2 or (method == "contrast" and speakers < 2):
        raise ValueError(
            f"{function_name()}: embeddings has shape {tuple(np.shape(embeddings))}; needs at least "
            "2 utterances per speaker (and 2 speakers for method='contrast')"
        )
    (e,) = upcast(embeddings)
    e = l2_normalize(e)
    sums = jnp.sum(e, axis=1)
    centroids = l2_normalize(sums / utterances)
    own_centroids = l2_normalize((sums[:, None, :] - e) / (utterances - 1))
    cos_all = jnp.einsum("jid,kd->jik", e, centroids)
    cos_own = jnp.sum(e * own_centroids, axis=-1)
    own = jnp.eye(speakers, dtype=bool)[:, None, :]
    cos = jnp.where(own, cos_own[..., None], cos_all)
    s = param(w, e.dtype) * cos + param(b, e.dtype)
    s_own = param(w, e.dtype) * cos_own + param(b, e.dtype)
    if method == "softmax":
        loss = jax.nn.logsumexp(s, axis=-1) - s_own
    else:
        others = jnp.max(jnp.where(own, -jnp.inf, jax.nn.sigmoid(s)), axis=-1)
        loss = 1.0 - jax.nn.sigmoid(s_own) + others
    return reduce(loss, reduction, weights=weights, where=where)
