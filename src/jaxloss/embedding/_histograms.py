"""Losses over the ranking or the distribution of a labelled batch's pair scores,
pytorch-metric-learning semantics: FastAP (soft distance histograms), Smooth-AP
(sigmoid-relaxed ranks) and the histogram loss (soft similarity histograms).

Each anchor (row) is compared with the other embeddings of the batch, as in
:mod:`jaxloss.embedding._structure`, whose prologue (:func:`labelled_batch`
through ``pair_batch``) these losses share. Histograms are built by linear
(triangular) soft binning, which is differentiable in the scores; the number of
bins is static.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.contracts import function_name
from .._src.numerics import is_traced, param
from .._src.reduce import check_reduction, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._mining import metric_matrix
from ._structure import pair_batch, similarity_matrix

__all__ = [
    "fast_ap_loss",
    "histogram_loss",
    "smooth_ap_loss",
]

_FAMILY = "embedding"


def _check_bins(num_bins: int) -> None:
    """``num_bins`` is a static positive integer (it sets an array shape)."""
    if (
        is_traced(num_bins)
        or not isinstance(num_bins, numbers.Integral)
        or isinstance(num_bins, bool)
        or num_bins < 1
    ):
        raise ValueError(
            f"{function_name()}: num_bins must be a Python int >= 1 (it sets the histogram's "
            f"shape), got {num_bins!r}"
        )


# --------------------------------------------------------------------------- FastAP


@register(_FAMILY, reference="pytorch-metric-learning FastAPLoss (Cakir et al. 2019)")
def fast_ap_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    num_bins: int = 10,
    power: float = 2.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""FastAP loss (Cakir et al. 2019), pytorch-metric-learning semantics.

    Distances are :math:`d_{ij} = \lVert \hat x_i - \hat x_j \rVert^{p}` between
    L2-normalised embeddings (:math:`p` = ``power``), in :math:`[0, 2^p]`. With
    the ``num_bins + 1`` bin centres :math:`c_b = b\,\Delta`,
    :math:`\Delta = 2^p / \text{num\_bins}`, and the triangular pulses
    :math:`\delta_b(d) = [1 - |d - c_b| / \Delta]_+`, query :math:`i` has the
    soft histograms :math:`h^+_b = \sum_{j \in P(i)} \delta_b(d_{ij})` and
    :math:`h^-_b = \sum_{j \in N(i)} \delta_b(d_{ij})` of its positive and
    negative distances, their cumulative sums :math:`H^+_b`, :math:`H_b` (of
    :math:`h^+ + h^-`), and

    .. math::
       \ell_i = 1 - \frac{1}{|P(i)|} \sum_b \frac{h^+_b H^+_b}{H_b}

    Bins with :math:`h^+_b H^+_b = 0` or :math:`H_b = 0` are skipped (no 0/0, as
    PML). Queries without a positive are excluded from the mean (PML's
    ``MeanReducer`` over the queries it scores); their ``"none"`` entry is 0.
    PML ``FastAPLoss(num_bins)`` is this with the defaults (its distance is
    ``LpDistance(power=2)``, normalised); ``LpDistance(power=q)`` maps to
    ``power=q``.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings (normalised here).
      labels: ``[batch]`` integer labels.
      num_bins: the number of histogram bins (a static Python int >= 1; PML's
        ``num_bins``).
      power: the exponent :math:`p > 0` of the Euclidean distance (a Python
        number; PML's ``LpDistance(power=)``).
      weights: optional ``[batch]`` query weights.
      where: optional boolean ``[batch]`` query mask (a masked query still
        serves as a positive or negative for the others).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the ``[batch]`` per-query losses for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
      >>> jaxloss.fast_ap_loss(x, jnp.array([0, 0, 1, 1]))
      Array(0., dtype=float32)

    References:
      F. Cakir, K. He, X. Xia, B. Kulis, S. Sclaroff, "Deep Metric Learning to
      Rank", CVPR 2019, https://arxiv.org/abs/1906.11006; pytorch-metric-learning
      ``FastAPLoss``. Deliberate differences: none in value or gradient; PML's
      ``indices_tuple`` miner weights have no counterpart (use ``weights=``).
    """
    _check_bins(num_bins)
    if is_traced(power) or not isinstance(power, numbers.Real) or isinstance(power, bool):
        raise ValueError(f"{function_name()}: power must be a Python number > 0, got {power!r}")
    contracts.bounded(power, "power", gt=0)
    check_reduction(reduction)
    b = pair_batch(embeddings, labels)
    e = b.embeddings
    if power == 2:
        d = metric_matrix(e, e, "squared_euclidean", b.self_index, normalize_embeddings=True)
    else:
        d = metric_matrix(e, e, "euclidean", b.self_index, power=power, normalize_embeddings=True)
    top = 2.0**power
    width = top / num_bins
    centres = jnp.linspace(0.0, top, num_bins + 1, dtype=e.dtype)
    pulse = jax.nn.relu(
        1.0 - jnp.abs(d[:, :, None] - centres[None, None, :]) / width
    )  # [n, n, bins + 1]
    h_pos = jnp.einsum("ijb,ij->ib", pulse, b.pos.astype(e.dtype), precision="highest")
    h_neg = jnp.einsum("ijb,ij->ib", pulse, b.neg.astype(e.dtype), precision="highest")
    big_pos = jnp.cumsum(h_pos, axis=1)
    big_all = jnp.cumsum(h_pos + h_neg, axis=1)
    product = h_pos * big_pos
    # Written as "not <= 0" so that a NaN keeps the ratio branch (NaN in, NaN out).
    safe = ~(product <= 0) & ~(big_all <= 0)
    ratio = jnp.where(safe, product / jnp.where(safe, big_all, 1.0), jnp.zeros((), e.dtype))
    n_pos = jnp.sum(b.pos, axis=1)
    valid = n_pos > 0
    ap = jnp.sum(ratio, axis=1) / jnp.maximum(n_pos, 1).astype(e.dtype)
    loss = jnp.where(valid, 1.0 - ap, jnp.zeros((), e.dtype))
    return reduce(loss, reduction, weights=weights, where=where, valid=valid)


# --------------------------------------------------------------------------- Smooth-AP


# Queries per block of the Smooth-AP rank computation: memory is O(block * batch^2).
_QUERY_BLOCK = 16


@register(_FAMILY, reference="pytorch-metric-learning SmoothAPLoss (Brown et al. 2020)")
def smooth_ap_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    temperature: ArrayLike = 0.01,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Smooth-AP loss (Brown et al. 2020), pytorch-metric-learning semantics.

    With :math:`s` the cosine similarities, :math:`\sigma_\tau(z) =
    \operatorname{sigmoid}(z / \tau)` and :math:`P(i)` the items with the label
    of query :math:`i` (the query itself included, as PML and the authors' code
    count it), the ranks among all items and among the positives are relaxed to

    .. math::
       R_i(j) = 1 + \sum_{k \ne j} \sigma_\tau(s_{ik} - s_{ij}), \qquad
       R^+_i(j) = 1 + \sum_{k \in P(i),\, k \ne j} \sigma_\tau(s_{ik} - s_{ij})

    and :math:`\ell_i = 1 - \frac{1}{|P(i)|} \sum_{j \in P(i)} R^+_i(j) / R_i(j)`.
    The ranks are computed for blocks of queries, so memory is
    ``O(block * batch^2)`` (PML builds ``[batch, batch, batch]``).

    PML ``SmoothAPLoss(temperature)`` requires every class to have the same
    count and raises otherwise; it then groups the batch in consecutive blocks,
    which are the classes when the batch is sorted by label and has as many
    classes as items per class (the case it is checked against). jaxloss
    accepts any labels, in any order: that is the one deliberate difference.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      labels: ``[batch]`` integer labels.
      temperature: :math:`\tau > 0`; float or traced array.
      weights: optional ``[batch]`` query weights.
      where: optional boolean ``[batch]`` query mask (a masked query is still
        ranked by the others).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the ``[batch]`` per-query losses for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
      >>> jaxloss.smooth_ap_loss(x, jnp.array([0, 0, 1, 1]))
      Array(0., dtype=float32)

    References:
      A. Brown, W. Xie, V. Kalogeiton, A. Zisserman, "Smooth-AP: Smoothing the
      Path Towards Large-Scale Image Retrieval", ECCV 2020,
      https://arxiv.org/abs/2007.12163; pytorch-metric-learning ``SmoothAPLoss``.
    """
    contracts.bounded(temperature, "temperature", gt=0)
    check_reduction(reduction)
    b = pair_batch(embeddings, labels)
    e, y = b.embeddings, jnp.asarray(labels)
    n = e.shape[0]
    s = similarity_matrix(e, e, "cosine")
    tau = param(temperature, e.dtype)
    same = y[:, None] == y[None, :]
    others = ~jnp.eye(n, dtype=bool)  # [j, k]: k != j

    def query(args: tuple[jax.Array, jax.Array]) -> jax.Array:
        row, positive = args  # [n], [n]
        sig = jax.nn.sigmoid((row[None, :] - row[:, None]) / tau)  # [j, k]
        sig = jnp.where(others, sig, jnp.zeros((), e.dtype))
        rank_all = 1.0 + jnp.sum(sig, axis=1)
        rank_pos = 1.0 + jnp.sum(jnp.where(positive[None, :], sig, 0.0), axis=1)
        ratio = jnp.where(positive, rank_pos / rank_all, jnp.zeros((), e.dtype))
        return jnp.sum(ratio) / jnp.sum(positive).astype(e.dtype)

    if n == 0:
        ap = jnp.zeros((0,), e.dtype)
    else:
        ap = jax.lax.map(query, (s, same), batch_size=min(n, _QUERY_BLOCK))
    return reduce(1.0 - ap, reduction, weights=weights, where=where)


# --------------------------------------------------------------------------- histogram


@register(_FAMILY, reference="pytorch-metric-learning HistogramLoss (Ustinova & Lempitsky 2016)")
def histogram_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    num_bins: int = 100,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Histogram loss (Ustinova & Lempitsky 2016), pytorch-metric-learning semantics.

    The cosine similarities of the positive and of the negative pairs (each
    unordered pair once) are spread over the ``num_bins + 1`` nodes
    :math:`t_r = -1 + r\Delta`, :math:`\Delta = 2 / \text{num\_bins}`, by
    linear interpolation between the two nearest nodes; dividing by the number
    of pairs gives the densities :math:`p^+` and :math:`p^-`, and

    .. math::
       \mathcal{L} = \sum_r p^-_r \sum_{q \le r} p^+_q

    the probability that a random negative pair is more similar than a random
    positive one. As in PML, a pair enters only if it belongs to a triplet: a
    negative pair whose two items both lack positives is left out. No pair
    (one class, or only singletons) gives 0. The soft binning is a
    differentiable scatter-add.

    This is a batch-level loss: ``"none"`` gives the scalar too.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      labels: ``[batch]`` integer labels.
      num_bins: the number of bins (a static Python int >= 1); PML's ``n_bins``,
        or ``2 / delta``.
      weights: optional weight of the batch loss (broadcastable to ``()``).
      where: optional boolean ``()`` mask of the batch loss.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``: all three give
        the batch's scalar.

    Returns:
      The scalar loss.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
      >>> jaxloss.histogram_loss(x, jnp.array([0, 0, 1, 1]))
      Array(0., dtype=float32)

    References:
      E. Ustinova, V. Lempitsky, "Learning Deep Embeddings with Histogram
      Loss", NeurIPS 2016, https://arxiv.org/abs/1611.00822;
      pytorch-metric-learning ``HistogramLoss``. Deliberate difference: PML
      indexes past its last node (an error) for a similarity of exactly 1;
      here it falls on the last node.
    """
    _check_bins(num_bins)
    check_reduction(reduction)
    b = pair_batch(embeddings, labels)
    e = b.embeddings
    n = e.shape[0]
    s = similarity_matrix(e, e, "cosine")
    upper = jnp.triu(jnp.ones((n, n), dtype=bool), k=1)
    has_pos = jnp.any(b.pos, axis=1)
    has_neg = jnp.any(b.neg, axis=1)
    pos = b.pos & upper & (has_neg[:, None] | has_neg[None, :])
    neg = b.neg & upper & (has_pos[:, None] | has_pos[None, :])
    width = 2.0 / num_bins

    def density(mask: jax.Array) -> jax.Array:
        t = (s + 1.0) / width
        # NaN maps to node 0 (the NaN then reaches the histogram through the parts below).
        node = jnp.floor(jnp.nan_to_num(jax.lax.stop_gradient(t)))
        node = jnp.clip(node, 0, num_bins - 1)
        index = node.astype(jnp.int32).ravel()
        upper_part = jnp.where(mask, t - node, jnp.zeros((), e.dtype))
        lower_part = jnp.where(mask, node + 1.0 - t, jnp.zeros((), e.dtype))
        hist = jnp.zeros((num_bins + 1,), e.dtype)
        hist = hist.at[index + 1].add(upper_part.ravel())
        hist = hist.at[index].add(lower_part.ravel())
        return hist / jnp.maximum(jnp.sum(mask), 1).astype(e.dtype)

    p_pos, p_neg = density(pos), density(neg)
    loss = jnp.sum(p_neg * jnp.cumsum(p_pos))
    return reduce(loss, reduction, weights=weights, where=where)
