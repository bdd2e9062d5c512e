"""Proxy, multi-centre and N-pair metric-learning losses, pytorch-metric-learning semantics:
Proxy-Anchor, SoftTriple, the margin loss with a learnable boundary, and N-pairs.

Proxy and centre matrices are ``[dim, classes]`` (``proxies``) or class-major
``[dim, classes * K]`` (``centers``), as the angular-margin heads; PML stores its
``ProxyAnchorLoss.proxies`` as ``[classes, dim]``, the transpose. Label ``-1``
ignores an example in the proxy losses, as in the heads.
"""

from __future__ import annotations

from typing import get_args

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.embeddings import check_rows, embedding_tuples, head_batch, labelled_batch
from .._src.labels import class_labels, poison
from .._src.numerics import l2_normalize, param
from .._src.reduce import check_reduction, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._heads import angular_head, head_cross_entropy
from ._mining import DISTANCE_METRICS, label_masks, metric_matrix
from ._softmax import Similarity
from ._structure import MetricArg

__all__ = ["margin_loss", "npairs_loss", "proxy_anchor_loss", "soft_triple_loss"]

_FAMILY = "embedding"
_SIMILARITIES: tuple[Similarity, ...] = get_args(Similarity)


def _similarities(x: jax.Array, w: jax.Array, kind: str, axis: int) -> jax.Array:
    """``x @ w`` for ``[n, dim]`` rows ``x``; with ``"cosine"`` both L2-normalised (``w`` along ``axis``)."""
    if kind == "cosine":
        x, w = l2_normalize(x), l2_normalize(w, axis=axis)
    return jnp.matmul(x, w, precision="highest")


def _log1p_sum_exp(z: jax.Array, mask: jax.Array, axis: int) -> jax.Array:
    """``log(1 + sum_{mask} exp z)`` along ``axis``: an empty set gives exactly 0 with zero
    gradients (PML ``lmu.logsumexp(add_one=True)``)."""
    zz = jnp.where(mask, z, -jnp.inf)
    shape = list(zz.shape)
    shape[axis] = 1
    zero = jnp.zeros(shape, zz.dtype)
    return jax.nn.logsumexp(jnp.concatenate([zz, zero], axis=axis), axis=axis)


# --------------------------------------------------------------------------- Proxy-Anchor


@register(_FAMILY, reference="Kim et al. 2020 (arXiv:2003.13911); PML ProxyAnchorLoss")
def proxy_anchor_loss(
    embeddings: ArrayLike,
    proxies: ArrayLike,
    labels: ArrayLike,
    *,
    margin: ArrayLike = 0.1,
    alpha: ArrayLike = 32.0,
    similarity: Similarity = "cosine",
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Proxy-Anchor loss: each class proxy is an anchor pulling its samples and pushing the rest.

    .. math::
       \mathcal{L} = \frac{1}{|P^+|} \sum_{c \in P^+}
       \log\Bigl(1 + \sum_{x \in X_c^+} e^{-\alpha (s(x, p_c) - \delta)}\Bigr)
       + \frac{1}{C} \sum_{c=1}^{C} \log\Bigl(1 + \sum_{x \in X_c^-} e^{\alpha (s(x, p_c) + \delta)}\Bigr)

    :math:`p_c` is column :math:`c` of ``proxies``, :math:`X_c^+` the batch examples of
    class :math:`c`, :math:`X_c^-` the others, :math:`P^+` the classes present in the
    batch, :math:`C` the number of proxies and :math:`s` the cosine similarity (PML's
    ``CosineSimilarity``). An empty set contributes 0.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      proxies: ``[dim, classes]`` class proxies (differentiable). PML's
        ``ProxyAnchorLoss.proxies`` is ``[classes, dim]``: pass its transpose.
      labels: ``[batch]`` integer classes; ``-1`` ignores the example (in no set).
      margin: :math:`\delta`; float or traced array.
      alpha: :math:`\alpha > 0`; float or traced array.
      similarity: ``"cosine"`` (default, PML) or ``"dot"`` (raw dot products, PML's
        ``DotProductSimilarity(normalize_embeddings=False)``).
      weights: optional ``[classes]`` per-proxy weights.
      where: optional ``[classes]`` boolean mask of proxies; masked terms contribute nothing.
      reduction: ``"mean"`` (default) and ``"sum"`` both give the loss above (the sum of
        the per-proxy terms, which already carry PML's divisors); ``"none"`` gives them.

    Returns:
      A scalar for ``"mean"``/``"sum"``; for ``"none"`` the ``[classes]`` per-proxy terms
      :math:`t_c = \mathrm{pos}_c / |P^+| + \mathrm{neg}_c / C` whose sum is the loss.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.1], [0.2, 1.0], [0.9, -0.1]])
      >>> jaxloss.proxy_anchor_loss(x, jnp.eye(2), jnp.array([0, 1, 0]), alpha=4.0)
      Array(1.482604, dtype=float32)

    References:
      S. Kim, D. Kim, M. Cho, S. Kwak, "Proxy Anchor Loss for Deep Metric Learning",
      CVPR 2020, https://arxiv.org/abs/2003.13911; pytorch-metric-learning
      ``ProxyAnchorLoss`` (``DivisorReducer``). Differences: ``"none"`` returns the
      per-proxy terms with the divisors applied (PML keeps two sub-losses), and label
      ``-1`` ignores an example (PML has no ignored label). PML's ``indices_tuple``
      miner weights are not supported.
    """
    check_reduction(reduction, own_rule=True)
    contracts.choice(similarity, _SIMILARITIES, "similarity")
    contracts.bounded(alpha, "alpha", gt=0)
    batch = head_batch(embeddings, labels, proxies, "proxies", "[dim, classes]", None)
    s = _similarities(batch.embeddings, batch.matrix, similarity, axis=0)  # [batch, classes]
    dtype = s.dtype
    a, m = param(alpha, dtype), param(margin, dtype)
    classes = s.shape[1]
    member = (jnp.arange(classes, dtype=jnp.int32)[None, :] == batch.labels[:, None]) & batch.valid[
        :, None
    ]
    other = ~member & batch.valid[:, None]
    pos = _log1p_sum_exp(-a * (s - m), member, axis=0)
    neg = _log1p_sum_exp(a * (s + m), other, axis=0)
    present = jnp.sum(jnp.any(member, axis=0)).astype(dtype)
    terms = pos / jnp.maximum(present, 1.0) + neg / jnp.asarray(max(classes, 1), dtype)
    terms = poison(terms, jnp.any(batch.bad))
    return reduce(terms, "sum" if reduction == "mean" else reduction, weights=weights, where=where)


# --------------------------------------------------------------------------- SoftTriple


@register(_FAMILY, reference="Qian et al. 2019 (arXiv:1909.05235); PML SoftTripleLoss")
def soft_triple_loss(
    embeddings: ArrayLike,
    centers: ArrayLike,
    labels: ArrayLike,
    *,
    centers_per_class: int = 10,
    la: ArrayLike = 20.0,
    gamma: ArrayLike = 0.1,
    margin: ArrayLike = 0.01,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""SoftTriple loss: softmax cross-entropy over classes represented by ``K`` centres each.

    .. math::
       S_c(x) = \sum_{k=1}^{K} \frac{e^{s_{ck}/\gamma}}{\sum_{k'} e^{s_{ck'}/\gamma}}\, s_{ck},
       \qquad
       \ell_i = -\log \frac{e^{\lambda (S_{y_i}(x_i) - \delta)}}
       {e^{\lambda (S_{y_i}(x_i) - \delta)} + \sum_{c \ne y_i} e^{\lambda S_c(x_i)}}

    with :math:`s_{ck}` the cosine between the embedding and centre :math:`k` of class
    :math:`c`. The paper's centre regulariser is a separate term.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      centers: ``[dim, classes * centers_per_class]`` centres, class-major (PML's ``fc``
        layout: columns ``c * K ... c * K + K - 1`` belong to class ``c``); normalised inside.
      labels: ``[batch]`` integer classes; ``-1`` ignores the example.
      centers_per_class: :math:`K`, a static positive int.
      la: :math:`\lambda > 0`, the logit scale; float or traced array.
      gamma: :math:`\gamma > 0`, the temperature of the soft assignment to centres (PML
        stores its inverse); float or traced array.
      margin: :math:`\delta`; float or traced array.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output's shape; masked
        entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"`` (the mean over non-ignored examples);
      ``[batch]`` per-example losses for ``"none"`` (0 where ignored).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> w = jnp.array([[1.0, 0.8, 0.0, 0.1], [0.0, 0.6, 1.0, 1.0]])
      >>> x = jnp.array([[1.0, 0.2], [0.1, 1.0]])
      >>> jaxloss.soft_triple_loss(x, w, jnp.array([0, 1]), centers_per_class=2)
      Array(0.00096035, dtype=float32)

    References:
      Q. Qian et al., "SoftTriple Loss: Deep Metric Learning Without Triplet Sampling",
      ICCV 2019, https://arxiv.org/abs/1909.05235; pytorch-metric-learning
      ``SoftTripleLoss`` (the regulariser is its ``weight_regularizer``, not included).
      Differences: label ``-1`` ignores an example; miner weights are not supported.
    """
    contracts.bounded(la, "la", gt=0)
    contracts.bounded(gamma, "gamma", gt=0)

    def soft_assignment(s: jax.Array) -> jax.Array:
        weights = jax.nn.softmax(s / param(gamma, s.dtype), axis=-1)
        return jnp.sum(weights * s, axis=-1)

    h = angular_head(
        embeddings,
        centers,
        labels,
        where,
        centers_per_class,
        soft_assignment,
        clip=False,
        what="centers_per_class",
    )
    dtype = h.cos.dtype
    loss = head_cross_entropy(h, h.target - param(margin, dtype), param(la, dtype))
    return reduce(loss, reduction, weights=weights, where=where, valid=h.valid)


# --------------------------------------------------------------------------- margin loss


@register(_FAMILY, reference="Wu et al. 2017 (arXiv:1706.07567); PML MarginLoss")
def margin_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    beta: ArrayLike,
    *,
    margin: ArrayLike = 0.2,
    nu: ArrayLike = 0.0,
    neg_idx: ArrayLike | None = None,
    metric: MetricArg = "euclidean",
    normalize_embeddings: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Margin loss (Wu et al. 2017) over the triplets of the batch, with a learnable boundary.

    .. math::
       \ell_{apn} = [d_{ap} - \beta_a + m]_+ + [\beta_a - d_{an} + m]_+,
       \qquad
       \mathcal{L} = \frac{\sum_{apn} \ell_{apn} + \nu R}
       {\#\{d_{ap} - \beta_a + m > 0\} + \#\{\beta_a - d_{an} + m > 0\}}

    over all triplets (anchor :math:`a`, positive :math:`p \ne a` with its label, negative
    :math:`n` with another label), or over one given negative per positive pair
    (``neg_idx``, e.g. from distance-weighted sampling); the counts also over triplets
    (PML's divisor; they carry no gradient). :math:`\beta_a` is ``beta`` (a scalar) or ``beta[labels[a]]``
    (``[classes]``, PML's ``num_classes``). The :math:`\nu` regulariser follows PML: for a
    scalar :math:`\beta` it adds :math:`\nu\beta` to the mean (:math:`R = \beta \cdot`
    divisor), for per-class :math:`\beta` it is :math:`R = \sum_{apn} \beta_a` (also divided).
    The triplets are summed per anchor in :math:`O(B^2)` (no ``[B, B, B]`` tensor).

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      labels: ``[batch]`` integer labels (any integers for a scalar ``beta``; class indices
        in ``[0, classes)`` for a per-class ``beta``).
      beta: the boundary :math:`\beta`: a scalar or ``[classes]``; always differentiable
        (PML's ``learn_beta=True``; PML's default value is 1.2).
      margin: :math:`m`; float or traced array.
      nu: :math:`\nu`, the weight of the :math:`\beta` regulariser; float or traced array.
      neg_idx: optional ``[batch, batch]`` integers: ``neg_idx[a, p]`` is the negative of
        the triplet of positive pair ``(a, p)`` (PML's ``indices_tuple`` triplets). Entries
        that do not name a negative of ``a`` (``-1``, say) drop that pair.
      metric: ``"euclidean"`` (default; PML's ``LpDistance``), ``"squared_euclidean"``,
        ``"cosine"``, ``"dot"``, ``"lp"``, ``"manhattan"`` or a callable ``(x, ref) -> [n, m]``.
      normalize_embeddings: L2-normalise the rows first (``True`` is PML's default distance).
      weights: optional ``[batch]`` per-anchor weights; they scale the anchor's terms and
        its share of the divisor.
      where: optional ``[batch]`` boolean mask of anchors (as candidates they still count).
      reduction: ``"mean"`` (default, the PML value above), ``"sum"`` (the numerator) or
        ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; for ``"none"`` the ``[batch]`` per-anchor numerators
      (the anchor's triplet losses plus its share of :math:`\nu R`). ``"mean"`` is their sum
      over the per-anchor divisor counts, 0 when no triplet term is positive.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.0, 0.0], [0.5, 0.0], [1.0, 1.0], [1.2, 1.0]])
      >>> jaxloss.margin_loss(x, jnp.array([0, 0, 1, 1]), 1.2)
      Array(0.23065525, dtype=float32)

    References:
      C.-Y. Wu, R. Manmatha, A. J. Smola, P. Krähenbühl, "Sampling Matters in Deep
      Embedding Learning", ICCV 2017, https://arxiv.org/abs/1706.07567;
      pytorch-metric-learning ``MarginLoss(learn_beta=True)`` (``DivisorReducer``).
      Differences: when no triplet term is positive the result is 0 (PML still adds
      :math:`\nu\beta` for a scalar :math:`\beta`); PML's ``triplets_per_anchor`` sampling
      and ``ref_emb`` are not supported here (``neg_idx`` gives explicit triplets).
    """
    if not callable(metric):
        contracts.choice(metric, DISTANCE_METRICS, "metric")
    batch = labelled_batch(embeddings, labels)
    e, y = batch.embeddings, batch.labels
    dtype = e.dtype
    b = jnp.asarray(beta, dtype)
    contracts.rank(b, {0, 1}, "beta", "a scalar or [classes]")
    per_class = b.ndim == 1
    if per_class:
        safe, _, bad = class_labels(y, b.shape[0], like={"beta": b})
        beta_a = b[safe]
    else:
        bad = None
        beta_a = jnp.broadcast_to(b, y.shape)
    m, n = param(margin, dtype), param(nu, dtype)
    d = metric_matrix(e, e, metric, batch.index, normalize_embeddings=normalize_embeddings)
    pos, neg = label_masks(y, y, batch.index)
    zero = jnp.zeros((), dtype)
    if neg_idx is None:
        hp = jnp.where(pos, jax.nn.relu(d - beta_a[:, None] + m), zero)
        hn = jnp.where(neg, jax.nn.relu(beta_a[:, None] - d + m), zero)
        n_pos = jnp.sum(pos, axis=1).astype(dtype)
        n_neg = jnp.sum(neg, axis=1).astype(dtype)
        # Each positive pair meets every negative, and each negative every positive.
        weight_p, weight_n, triplets = n_neg, n_pos, n_pos * n_neg
    else:
        contracts.integer(neg_idx=neg_idx)
        contracts.shape_is(
            neg_idx,
            d.shape,
            "neg_idx",
            "[batch, batch]: one negative per (anchor, positive)",
            like={"embeddings": embeddings},
        )
        idx = jnp.asarray(neg_idx).astype(jnp.int32)
        inside = (idx >= 0) & (idx < d.shape[1])
        safe_idx = jnp.where(inside, idx, 0)
        # The triplet (a, p, neg_idx[a, p]) counts where p is a positive and neg_idx a negative of a.
        valid = pos & inside & jnp.take_along_axis(neg, safe_idx, axis=1)
        hp = jnp.where(valid, jax.nn.relu(d - beta_a[:, None] + m), zero)
        hn = jnp.where(
            valid, jax.nn.relu(beta_a[:, None] - jnp.take_along_axis(d, safe_idx, axis=1) + m), zero
        )
        one = jnp.ones((), dtype)
        weight_p, weight_n, triplets = one, one, jnp.sum(valid, axis=1).astype(dtype)
    terms = weight_p * jnp.sum(hp, axis=1) + weight_n * jnp.sum(hn, axis=1)
    # ~(h <= 0): a NaN term is counted, so NaN reaches the mean instead of a 0/0 -> 0.
    active_p = jnp.sum(~(hp <= 0), axis=1).astype(dtype)
    active_n = jnp.sum(~(hn <= 0), axis=1).astype(dtype)
    counts = weight_p * active_p + weight_n * active_n
    share = triplets if per_class else counts
    loss = poison(terms + n * beta_a * share, bad)
    return reduce(loss, reduction, weights=weights, where=where, normalizer=counts)


# --------------------------------------------------------------------------- N-pairs


@register(
    _FAMILY, reference="Sohn 2016 (NeurIPS, N-pair loss); TF-Addons npairs_loss; PML NPairsLoss"
)
def npairs_loss(
    anchors: ArrayLike,
    positives: ArrayLike,
    labels: ArrayLike | None = None,
    *,
    similarity: Similarity = "dot",
    temperature: ArrayLike = 1.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Multi-class N-pair loss: softmax cross-entropy of each anchor against all positives.

    .. math::
       \ell_i = -\sum_j \frac{[y_i = y_j]}{\sum_k [y_i = y_k]}
       \log \frac{e^{s(a_i, p_j)/\tau}}{\sum_k e^{s(a_i, p_k)/\tau}}

    the TF-Addons form (``npairs_loss(labels, anchors @ positives.T)``); without
    ``labels`` the targets are the diagonal (pair :math:`i` is its own class). With
    multi-hot labels :math:`[y_i = y_j]` becomes :math:`|Y_i \cap Y_j|`.

    Args:
      anchors: ``[batch, dim]`` floating embeddings.
      positives: ``[batch, dim]`` floating embeddings, ``positives[i]`` paired with ``anchors[i]``.
      labels: optional ``[batch]`` integer labels of the pairs (any integers), or
        ``[batch, classes]`` multi-hot indicators (TF-Addons ``npairs_multilabel_loss``:
        the targets are the label-intersection counts, row-normalised; a row without
        any label is excluded from the mean, where TF-Addons gives NaN).
      similarity: ``"dot"`` (default, TF-Addons on raw embeddings) or ``"cosine"``
        (PML's ``NPairsLoss``, whose ``DotProductSimilarity`` normalises by default).
      temperature: :math:`\tau > 0`; float or traced array.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output's shape; masked
        entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` per-anchor losses for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> a = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> jaxloss.npairs_loss(a, a)
      Array(0.31326163, dtype=float32)

    References:
      K. Sohn, "Improved Deep Metric Learning with Multi-class N-pair Loss Objective",
      NeurIPS 2016; TF-Addons ``npairs_loss``; pytorch-metric-learning ``NPairsLoss``
      (one pair per label: the first two examples of each label, in label order, give
      ``anchors`` and ``positives`` with ``similarity="cosine"``). Differences: the
      paper's L2 penalty on the embeddings is not included (as TF-Addons and PML).
    """
    contracts.choice(similarity, _SIMILARITIES, "similarity")
    contracts.bounded(temperature, "temperature", gt=0)
    check_rows(anchors, "anchors")
    tuples = embedding_tuples({"anchors": anchors, "positives": positives})
    a, p = tuples.embeddings
    dtype = a.dtype
    logits = _similarities(a, p.T, similarity, axis=0) / param(temperature, dtype)
    log_p = jax.nn.log_softmax(logits, axis=1)
    valid = None
    if labels is None:
        loss = -jnp.diagonal(log_p)
    else:
        contracts.rank(labels, {1, 2}, "labels", "[batch] labels or [batch, classes] multi-hot")
        contracts.shape_is(
            labels,
            a.shape[:1] + np.shape(labels)[1:],
            "labels",
            "one label (row) per pair",
            like={"anchors": anchors},
        )
        y = jnp.asarray(labels)
        if y.ndim == 1:
            contracts.integer(labels=labels)
            same = (y[:, None] == y[None, :]).astype(dtype)
        else:  # TF-Addons npairs_multilabel_loss: label-intersection counts
            same = jnp.matmul(y.astype(dtype), y.astype(dtype).T, precision="highest")
        total = jnp.sum(same, axis=1)
        valid = total > 0  # a multi-hot row without labels has no target (TF-Addons: NaN)
        loss = -jnp.sum(same * log_p, axis=1) / jnp.where(valid, total, 1)
    return reduce(loss, reduction, weights=weights, where=where, valid=valid)
