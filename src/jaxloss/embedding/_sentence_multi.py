"""sentence-transformers in-batch-negative losses with several directions: the symmetric
and the bidirectional (GTE) multiple-negatives ranking losses and GISTEmbed.

They extend :func:`~jaxloss.multiple_negatives_ranking_loss` (anchors, positives and
optional hard negatives, in its layout: ``[batch, k, dim]`` columns or ``[m, dim]``
shared candidates, flattened column-major as sentence-transformers concatenates its
columns). Under ``shard_map``/``pmap`` with ``axis_name`` the candidates are gathered
over that axis (sentence-transformers' ``gather_across_devices``); ``"mean"``/``"sum"``
are then the single-device values on the concatenated batch and ``"none"`` is this
device's share. ``where`` masks anchors' loss terms; a masked row still serves as a
candidate for the others.
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.blockwise import CrossDevice, check_blockwise
from .._src.contracts import function_name
from .._src.distributed import gather_batch, global_index, global_reduce
from .._src.embeddings import check_rows, pick
from .._src.numerics import l2_normalize, param, upcast
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._softmax import (
    _SIMILARITIES,
    Similarity,
    _check_columns,
    _flat_negatives,
    _ranking_rows,
    _similarity,
)

__all__ = [
    "gist_embed_loss",
    "multiple_negatives_bidirectional_ranking_loss",
    "multiple_negatives_symmetric_ranking_loss",
]

_FAMILY = "embedding"
MarginStrategy = Literal["absolute", "relative"]


# --------------------------------------------------------------------------- shared pieces


def _with(rows: jax.Array, extra: jax.Array | None) -> jax.Array:
    return rows if extra is None else jnp.concatenate([rows, extra], axis=0)


# --------------------------------------------------------------------------- symmetric MNRL


@register(
    _FAMILY,
    reference="sentence-transformers MultipleNegativesSymmetricRankingLoss (Günther et al. 2023)",
)
def multiple_negatives_symmetric_ranking_loss(
    anchors: ArrayLike,
    positives: ArrayLike,
    negatives: ArrayLike | None = None,
    *,
    scale: ArrayLike = 20.0,
    similarity: Similarity = "cosine",
    axis_name: str | None = None,
    cross_device: CrossDevice = "all_gather",
    chunk_size: int | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Symmetric multiple-negatives ranking loss: anchor → documents and positive → anchors.

    .. math::
       \ell_i = \tfrac12\Big(\log\!\sum_{c} e^{\lambda s(a_i, c)} - \lambda s(a_i, p_i)\Big)
       + \tfrac12\Big(\log\!\sum_{j} e^{\lambda s(p_i, a_j)} - \lambda s(p_i, a_i)\Big)

    The first term is :func:`~jaxloss.multiple_negatives_ranking_loss` (the
    candidates :math:`c` are all positives then all hard negatives); the second
    ranks the anchors for each positive (the backward direction, over anchors
    only). Each direction has its own softmax normaliser.

    Args:
      anchors: ``[batch, dim]`` floating anchor (query) embeddings.
      positives: ``[batch, dim]`` positive (document) embeddings.
      negatives: optional hard negatives, ``[batch, k, dim]`` (``k`` columns of
        one negative per anchor) or ``[m, dim]`` (candidates shared by every
        anchor); they enter the forward direction only.
      scale: :math:`\lambda` (``1 / temperature``); float or traced array, ``> 0``.
      similarity: ``"cosine"`` (default, ST's ``cos_sim``) or ``"dot"``.
      axis_name: under ``shard_map``/``pmap``, anchors, positives and negatives
        are gathered over this axis (ST's ``gather_across_devices``);
        ``"mean"``/``"sum"`` are the global values.
      cross_device: with ``axis_name``, ``"all_gather"`` (default) or ``"ring"``
        (candidate blocks travel around the devices with ``lax.ppermute``;
        same values and gradients), as in
        :func:`~jaxloss.multiple_negatives_ranking_loss`.
      chunk_size: memory-bounded form (a positive int): both directions visit
        their candidates ``chunk_size`` at a time with an online log-sum-exp
        and a ``custom_vjp`` backward (the kernel of :func:`~jaxloss.infonce_loss`);
        ``None`` (default): the dense scores.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean ``[batch]`` mask of the anchors' terms.
      reduction: ``"mean"`` (default, ST), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` per-anchor losses for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> a = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> jaxloss.multiple_negatives_symmetric_ranking_loss(a, a, scale=1.0)
      Array(0.31326163, dtype=float32)

    References:
      M. Günther et al., "Jina Embeddings 2", 2023, https://arxiv.org/abs/2310.19923;
      sentence-transformers ``MultipleNegativesSymmetricRankingLoss(model,
      scale=20.0, similarity_fct=cos_sim, gather_across_devices=False)``, in ST 6.x
      ``MultipleNegativesRankingLoss(directions=("query_to_doc", "doc_to_query"),
      partition_mode="per_direction")``. Deliberate differences: the embeddings are
      given; ST 6.x also accepts hard-negative columns here, as this does (older
      releases took pairs only).
    """
    contracts.choice(similarity, _SIMILARITIES, "similarity")
    contracts.bounded(scale, "scale", gt=0)
    _check_columns(anchors, positives, negatives)
    check_blockwise(chunk_size, cross_device, function_name())
    a, p, neg = upcast(anchors, positives, negatives)
    lam = param(scale, a.dtype)
    target = global_index(a.shape[0], axis_name)
    if chunk_size is not None or (axis_name is not None and cross_device == "ring"):
        loss = _ranking_rows(a, p, neg, target, lam, similarity, chunk_size, axis_name, cross_device,
                             symmetric=True)
        return global_reduce(loss, reduction, axis_name, weights=weights, where=where)
    docs = _with(gather_batch(p, axis_name), _flat_negatives(neg, axis_name))
    forward = _similarity(a, docs, similarity) * lam
    backward = _similarity(p, gather_batch(a, axis_name), similarity) * lam
    positive = pick(forward, target)
    log_z = 0.5 * (jax.nn.logsumexp(forward, axis=1) + jax.nn.logsumexp(backward, axis=1))
    return global_reduce(log_z - positive, reduction, axis_name, weights=weights, where=where)


# --------------------------------------------------------------------------- bidirectional (GTE)


@register(
    _FAMILY,
    reference="sentence-transformers MultipleNegativesBidirectionalRankingLoss (GTE, Li et al. 2023)",
)
def multiple_negatives_bidirectional_ranking_loss(
    anchors: ArrayLike,
    positives: ArrayLike,
    negatives: ArrayLike | None = None,
    *,
    temperature: ArrayLike = 0.01,
    similarity: Similarity = "cosine",
    axis_name: str | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""GTE's improved contrastive loss: one softmax over four blocks of candidates.

    .. math::
       \ell_i = \log Z_i - s(q_i, d_i)/\tau, \qquad
       Z_i = \sum_{c} e^{s(q_i, c)/\tau} + \sum_{j \ne i} e^{s(q_i, q_j)/\tau}
       + \sum_{j} e^{s(d_i, q_j)/\tau} + \sum_{c \notin D_i} e^{s(d_i, c)/\tau}

    with :math:`q` the anchors, :math:`d` the positives, :math:`c` every
    document (all positives, then all hard negatives) and :math:`D_i` the
    documents of query :math:`i` (its positive and its own row of
    ``[batch, k, dim]`` negatives).

    Args:
      anchors: ``[batch, dim]`` floating query embeddings.
      positives: ``[batch, dim]`` document embeddings, one per query.
      negatives: optional hard negatives, ``[batch, k, dim]`` (``k`` columns, one
        per query: query ``i``'s own negatives are left out of its document →
        document block) or ``[m, dim]`` (shared candidates, never left out; ST's
        single negative column is ``[batch, 1, dim]``).
      temperature: :math:`\tau > 0` (ST's ``scale`` is ``1 / temperature``); float
        or traced array.
      similarity: ``"cosine"`` (default) or ``"dot"``.
      axis_name: under ``shard_map``/``pmap``, queries and documents are gathered
        over this axis (ST's ``gather_across_devices``); ``"mean"``/``"sum"`` are
        the global values.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean ``[batch]`` mask of the queries' terms.
      reduction: ``"mean"`` (default, ST), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` per-query losses for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> q = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> jaxloss.multiple_negatives_bidirectional_ranking_loss(q, q, temperature=1.0)
      Array(1.2445917, dtype=float32)

    References:
      Z. Li et al., "Towards General Text Embeddings with Multi-stage Contrastive
      Learning", 2023, https://arxiv.org/abs/2308.03281; sentence-transformers
      ``MultipleNegativesBidirectionalRankingLoss(model, temperature=0.01)``, in ST
      6.x ``MultipleNegativesRankingLoss(scale=1/temperature, directions=("query_to_doc",
      "query_to_query", "doc_to_query", "doc_to_doc"), partition_mode="joint")`` (the
      anchor checked). Deliberate differences: the embeddings are given; ``[m, dim]``
      shared negatives (no owner query) are a jaxloss layout.
    """
    contracts.choice(similarity, _SIMILARITIES, "similarity")
    contracts.bounded(temperature, "temperature", gt=0)
    _check_columns(anchors, positives, negatives)
    q, d, neg = upcast(anchors, positives, negatives)
    n = q.shape[0]
    inv = 1.0 / param(temperature, q.dtype)
    target = global_index(n, axis_name)
    q_all, d_all = gather_batch(q, axis_name), gather_batch(d, axis_name)
    total = d_all.shape[0]
    docs = _with(d_all, _flat_negatives(neg, axis_name))
    own = target[:, None] == jnp.arange(total, dtype=target.dtype)[None, :]  # [n, N]: query i's own column
    # Query i's documents in the document -> document block: its positive, and its own
    # negatives when they come as [batch, k, dim] columns (each column has N rows).
    columns = 1 + (neg.shape[1] if neg is not None and neg.ndim == 3 else 0)
    own_docs = jnp.tile(own, (1, columns))
    if docs.shape[0] > own_docs.shape[1]:  # shared [m, dim] negatives: never a query's own
        own_docs = jnp.pad(own_docs, ((0, 0), (0, docs.shape[0] - own_docs.shape[1])))
    minus_inf = jnp.array(-jnp.inf, q.dtype)
    q2d = _similarity(q, docs, similarity) * inv
    q2q = jnp.where(own, minus_inf, _similarity(q, q_all, similarity) * inv)
    d2q = _similarity(d, q_all, similarity) * inv
    d2d = jnp.where(own_docs, minus_inf, _similarity(d, docs, similarity) * inv)
    log_z = jax.nn.logsumexp(jnp.concatenate([q2d, q2q, d2q, d2d], axis=1), axis=1)
    loss = log_z - pick(q2d, target)
    return global_reduce(loss, reduction, axis_name, weights=weights, where=where)


# --------------------------------------------------------------------------- GISTEmbed


@register(_FAMILY, reference="sentence-transformers GISTEmbedLoss (Solatorio 2024)")
def gist_embed_loss(
    anchors: ArrayLike,
    positives: ArrayLike,
    negatives: ArrayLike | None = None,
    *,
    guide_anchors: ArrayLike | None = None,
    guide_positives: ArrayLike | None = None,
    guide_negatives: ArrayLike | None = None,
    temperature: ArrayLike = 0.01,
    margin_strategy: MarginStrategy = "absolute",
    margin: ArrayLike = 0.0,
    contrast_anchors: bool = True,
    contrast_positives: bool = True,
    axis_name: str | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""GISTEmbed: in-batch negatives with a guide model's false negatives masked out.

    .. math::
       \ell_i = \log \sum_{c \in \mathcal{C}_i} e^{s(a_i, c)/\tau} - s(a_i, p_i)/\tau

    with :math:`s` the cosine similarity. The candidates :math:`\mathcal{C}_i` are
    the blocks anchor → positives, anchor → anchors (``contrast_anchors``; itself
    excluded), positive → positives (``contrast_positives``, the rows of
    :math:`p_i`; itself excluded) and anchor → negatives. A candidate is dropped
    when its guide similarity exceeds the guide similarity of the pair,
    :math:`g(x_i, c) > g(a_i, p_i) - m` (``"absolute"``) or
    :math:`g(x_i, c) > g(a_i, p_i) - |g(a_i, p_i)|\, m` (``"relative"``); the
    positive itself is always kept, so every row stays finite.

    Args:
      anchors: ``[batch, dim]`` floating anchor embeddings (the trained model).
      positives: ``[batch, dim]`` positive embeddings.
      negatives: optional hard negatives, ``[batch, k, dim]`` (``k`` columns) or
        ``[m, dim]`` (shared candidates).
      guide_anchors: ``[batch, dim_g]`` the guide model's embeddings of the
        anchors (no gradient flows into the guide embeddings). ``None``
        (default, with the other two ``None``): the model guides itself, its
        own embeddings under ``stop_gradient`` (ST's ``guide=model``).
      guide_positives: the guide's embeddings of the positives, same shape;
        given with ``guide_anchors``.
      guide_negatives: the guide's embeddings of the negatives (``negatives``'
        layout with ``dim_g``); given with ``guide_anchors`` and ``negatives``.
      temperature: :math:`\tau > 0`; float or traced array.
      margin_strategy: ``"absolute"`` (default) or ``"relative"``.
      margin: :math:`m`; float or traced array (0 drops every candidate the guide
        ranks above the positive).
      contrast_anchors: include the anchor → anchor block.
      contrast_positives: include the positive → positive block.
      axis_name: under ``shard_map``/``pmap``, the candidates (and their guide
        embeddings) are gathered over this axis; ``"mean"``/``"sum"`` are the
        global values, equal to the single-device loss on the concatenated batch.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean ``[batch]`` mask of the anchors' terms.
      reduction: ``"mean"`` (default, ST's ``CrossEntropyLoss``), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` per-anchor losses for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> a = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> jaxloss.gist_embed_loss(a, a, guide_anchors=a, guide_positives=a, temperature=1.0)
      Array(0.7436683, dtype=float32)

    References:
      A. V. Solatorio, "GISTEmbed: Guided In-sample Selection of Training Negatives
      for Text Embedding Fine-tuning", 2024, https://arxiv.org/abs/2402.16829;
      sentence-transformers ``GISTEmbedLoss(model, guide, temperature=0.01,
      margin_strategy="absolute", margin=0.0, contrast_anchors=True,
      contrast_positives=True, gather_across_devices=False)``. Deliberate
      differences: the model's and the guide's embeddings are given (ST embeds the
      texts with both, re-tokenising for the guide when needed); ST takes one
      negative column, this takes ``k`` or shared ones; with ``axis_name`` the
      anchor → anchor block is over the gathered anchors (ST keeps it local), so
      the loss equals the single-device loss on the concatenated batch;
      the cosine of a zero vector is 0 here (``F.normalize`` semantics) where
      ``nn.CosineSimilarity`` clamps the product of the norms at ``1e-8``.
    """
    contracts.choice(margin_strategy, ("absolute", "relative"), "margin_strategy")
    contracts.bounded(temperature, "temperature", gt=0)
    contracts.bounded(margin, "margin")
    _check_columns(anchors, positives, negatives)
    if guide_anchors is None:
        if guide_positives is not None or guide_negatives is not None:
            raise ValueError(
                f"{contracts.function_name()}: guide_positives/guide_negatives were given without "
                "guide_anchors; pass all the guide's embeddings, or none (the model guides itself)"
            )
        guide_anchors, guide_positives, guide_negatives = anchors, positives, negatives
    if guide_positives is None:
        raise ValueError(
            f"{contracts.function_name()}: guide_anchors was given without guide_positives; "
            "pass the guide's embeddings of both columns"
        )
    check_rows(guide_anchors, "guide_anchors")
    contracts.same_shape(
        "the guide embeds the same pairs",
        guide_anchors=guide_anchors,
        guide_positives=guide_positives,
    )
    contracts.shape_is(
        guide_anchors,
        (np.shape(anchors)[0], None),
        "guide_anchors",
        "one guide embedding per anchor",
        like={"anchors": anchors},
    )
    if (negatives is None) != (guide_negatives is None):
        raise ValueError(
            f"{contracts.function_name()}: negatives and guide_negatives go together "
            "(pass both or neither)"
        )
    if negatives is not None:
        contracts.floating(guide_negatives=guide_negatives)
        contracts.shape_is(
            guide_negatives,
            (*np.shape(negatives)[:-1], np.shape(guide_anchors)[-1]),
            "guide_negatives",
            "the guide's embeddings of the negatives, in their layout",
            like={"negatives": negatives, "guide_anchors": guide_anchors},
        )
    a, p, neg, ga, gp, gn = upcast(
        anchors, positives, negatives, guide_anchors, guide_positives, guide_negatives
    )
    ga, gp = jax.lax.stop_gradient(ga), jax.lax.stop_gradient(gp)
    gn = None if gn is None else jax.lax.stop_gradient(gn)
    inv = 1.0 / param(temperature, a.dtype)
    m = param(margin, a.dtype)
    n = a.shape[0]
    target = global_index(n, axis_name)
    minus_inf = jnp.array(-jnp.inf, a.dtype)
    a, p, ga, gp = l2_normalize(a), l2_normalize(p), l2_normalize(ga), l2_normalize(gp)
    g_pair = jnp.sum(ga * gp, axis=-1, keepdims=True)  # g(a_i, p_i), [n, 1]
    threshold = g_pair - m if margin_strategy == "absolute" else g_pair - jnp.abs(g_pair) * m

    def block(x: jax.Array, c: jax.Array, gx: jax.Array, gc: jax.Array, keep: jax.Array | None):
        """``s(x, c) / tau`` with the guide's false negatives (and ``keep``'s
        complement of the diagonal, when given) at ``-inf``."""
        drop = (gx @ l2_normalize(gc).T) > threshold
        if keep is not None:
            drop = drop & ~keep
        return jnp.where(drop, minus_inf, (x @ l2_normalize(c).T) * inv)

    p_all, gp_all = gather_batch((p, gp), axis_name)
    own = target[:, None] == jnp.arange(p_all.shape[0], dtype=target.dtype)[None, :]
    scores = [block(a, p_all, ga, gp_all, own)]
    if contrast_anchors:
        a_all, ga_all = gather_batch((a, ga), axis_name)
        scores.append(jnp.where(own, minus_inf, block(a, a_all, ga, ga_all, None)))
    if contrast_positives:
        scores.append(jnp.where(own, minus_inf, block(p, p_all, gp, gp_all, None)))
    if neg is not None and gn is not None:
        neg_all, gn_all = _flat_negatives(neg, axis_name), _flat_negatives(gn, axis_name)
        assert neg_all is not None and gn_all is not None
        scores.append(block(a, neg_all, ga, gn_all, None))
    logits = jnp.concatenate(scores, axis=1)
    loss = jax.nn.logsumexp(logits, axis=1) - pick(logits, target)
    return global_reduce(loss, reduction, axis_name, weights=weights, where=where)
