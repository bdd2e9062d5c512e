"""Losses that score each positive against the anchor's whole neighbourhood,
pytorch-metric-learning semantics: NCA (a softmax over the neighbours), angular
and tuplet margin (each positive pair against all of the anchor's negatives).

The prologue, pair masks and masked log-sum-exps are those of the
pair-structure losses (:mod:`jaxloss.embedding._structure`); empty sums are
exactly 0 with zero gradients.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.numerics import l2_normalize, param, safe_sqrt
from .._src.reduce import check_reduction, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._structure import (
    MetricArg,
    masked_lse,
    pair_batch,
    pair_distances,
    similarity_matrix,
)

__all__ = [
    "angular_loss",
    "nca_loss",
    "tuplet_margin_loss",
]

_FAMILY = "embedding"


# --------------------------------------------------------------------------- NCA


@register(_FAMILY, reference="pytorch-metric-learning NCALoss (Goldberger et al. 2004)")
def nca_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    softmax_scale: ArrayLike = 1.0,
    metric: MetricArg = "squared_euclidean",
    normalize_embeddings: bool = False,
    ref_embeddings: ArrayLike | None = None,
    ref_labels: ArrayLike | None = None,
    ref_where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Neighbourhood components analysis loss (Goldberger et al. 2004), PML semantics.

    .. math::
       \ell_i = -\log \sum_{j \in P(i)} \operatorname{softmax}_{j \ne i}(-\sigma d_{ij})
              = \operatorname{lse}_{j \ne i}(-\sigma d_{ij}) - \operatorname{lse}_{j \in P(i)}(-\sigma d_{ij})

    with :math:`\sigma` = ``softmax_scale`` and the anchor itself excluded from
    the softmax. Queries without a positive are excluded; the mean runs over
    the rest. The difference of log-sum-exps stays finite where PML's
    ``log(sum(softmax))`` underflows to ``-inf`` (PML then drops the query:
    the one deliberate difference). PML ``NCALoss(softmax_scale)`` (default
    ``LpDistance(power=2)``) is this with ``normalize_embeddings=True``; a
    similarity (``"cosine"``, ``"dot"``) gives logits :math:`\sigma s` up to a
    per-row constant, as PML.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      labels: ``[batch]`` integer labels.
      softmax_scale: :math:`\sigma`; float or traced array.
      metric: ``"euclidean"`` (default), ``"squared_euclidean"``, ``"cosine"``,
        ``"dot"``, ``"lp"`` (``p=2``), ``"manhattan"``, or a callable
        ``(x, y) -> [n, m]`` distance matrix (see
        :func:`jaxloss.mining.pairwise_distances`).
      normalize_embeddings: L2-normalise the rows first (``True`` is PML's
        default ``LpDistance()``).
      ref_embeddings: optional ``[m, dim]`` reference (candidate) embeddings
        (PML ``ref_emb``): anchors come from ``embeddings``, their positives
        and negatives from the references, with no self-exclusion.
      ref_labels: ``[m]`` integer labels of ``ref_embeddings`` (required with them).
      ref_where: optional boolean ``[m]`` mask of the valid reference rows (a
        partly filled memory); masked rows contribute nothing, NaN included.
      weights: optional ``[batch]`` query weights.
      where: optional boolean ``[batch]`` query mask.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the ``[batch]`` per-query losses
      for ``"none"`` (0 for queries without a positive).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.0], [1.0], [3.0]])
      >>> jaxloss.nca_loss(x, jnp.array([0, 0, 1]))
      Array(0.02446136, dtype=float32)

    References:
      J. Goldberger, S. Roweis, G. Hinton, R. Salakhutdinov, "Neighbourhood
      Components Analysis", NeurIPS 2004; pytorch-metric-learning ``NCALoss``.
    """
    check_reduction(reduction)
    d, pos, neg = pair_distances(
        embeddings,
        labels,
        metric,
        normalize_embeddings,
        None,
        None,
        ref_embeddings,
        ref_labels,
        ref_where,
    )
    logits = -param(softmax_scale, d.dtype) * d
    others = pos | neg
    has_pos = jnp.any(pos, axis=1)
    loss = jnp.where(
        has_pos, masked_lse(logits, others) - masked_lse(logits, pos), jnp.zeros((), d.dtype)
    )
    return reduce(loss, reduction, weights=weights, where=where, valid=has_pos)


# --------------------------------------------------------------------------- angular


@register(_FAMILY, reference="pytorch-metric-learning AngularLoss (Wang et al. 2017)")
def angular_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: ArrayLike = math.radians(40.0),
    ref_embeddings: ArrayLike | None = None,
    ref_labels: ArrayLike | None = None,
    ref_where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Angular loss, N-pair form (Wang et al. 2017), pytorch-metric-learning semantics.

    For every ordered positive pair :math:`(a, p)` with :math:`\hat x` the
    L2-normalised rows and :math:`t = \tan^2\alpha`,

    .. math::
       \ell_{ap} = \log\Big(1 + \sum_{n:\, y_n \ne y_a}
          e^{4 t (\hat x_a + \hat x_p) \cdot x_n - 2 (1 + t)\, \hat x_a \cdot \hat x_p}\Big)

    and the mean runs over the positive pairs. As in PML, the anchors and
    positives are L2-normalised but the negatives :math:`x_n` enter as given
    (PML multiplies by the raw ``ref_emb``); pass normalised embeddings for the
    paper's form. Computed one anchor at a time (``lax.map`` under
    ``jax.checkpoint``), so memory is ``O(batch^2)``, not ``batch^3``.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      labels: ``[batch]`` integer labels.
      alpha: :math:`\alpha` in radians, :math:`0 < \alpha < \pi/2`; PML's default
        40 degrees is 0.6981 rad. Float or traced array.
      ref_embeddings: optional ``[m, dim]`` reference (candidate) embeddings
        (PML ``ref_emb``): anchors come from ``embeddings``, their positives
        and negatives from the references, with no self-exclusion.
      ref_labels: ``[m]`` integer labels of ``ref_embeddings`` (required with them).
      ref_where: optional boolean ``[m]`` mask of the valid reference rows (a
        partly filled memory); masked rows contribute nothing, NaN included.
      weights: optional ``[batch, batch]``-broadcastable pair weights.
      where: optional boolean ``[batch, batch]`` pair mask.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; for ``"none"`` the ``[batch, batch]``
      (``[batch, m]`` with references) pair losses (0 off the positive pairs).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
      >>> jaxloss.angular_loss(x, jnp.array([0, 0, 1]))
      Array(0.30351552, dtype=float32)

    References:
      J. Wang, F. Zhou, S. Wen, X. Liu, Y. Lin, "Deep Metric Learning with
      Angular Loss", ICCV 2017, https://arxiv.org/abs/1708.01682;
      pytorch-metric-learning ``AngularLoss``.
    """
    contracts.bounded(alpha, "alpha (radians)", gt=0, lt=math.pi / 2)
    check_reduction(reduction)
    b = pair_batch(
        embeddings,
        labels,
        ref_embeddings=ref_embeddings,
        ref_labels=ref_labels,
        ref_where=ref_where,
    )
    e, refs, pos, neg = b.embeddings, b.refs, b.pos, b.neg
    t = jnp.square(jnp.tan(param(alpha, e.dtype)))
    unit, ref_unit = l2_normalize(e), l2_normalize(refs)
    to_raw = jnp.matmul(unit, refs.T, precision="highest")  # [a, n] = x^_a . r_n
    ref_to_raw = jnp.matmul(ref_unit, refs.T, precision="highest")  # [p, n] = r^_p . r_n
    ap = jnp.matmul(unit, ref_unit.T, precision="highest")  # [a, p] = x^_a . r^_p

    @jax.checkpoint
    def anchor(args: tuple[jax.Array, jax.Array, jax.Array]) -> jax.Array:
        raw_a, ap_a, neg_a = args  # [n], [p], [n]
        f = 4.0 * t * (raw_a[None, :] + ref_to_raw) - (2.0 * (1.0 + t) * ap_a)[:, None]  # [p, n]
        return masked_lse(f, jnp.broadcast_to(neg_a[None, :], f.shape), add_one=True)

    per_pair = jax.lax.map(anchor, (to_raw, ap, neg))
    loss = jnp.where(pos, per_pair, jnp.zeros((), e.dtype))
    return reduce(loss, reduction, weights=weights, where=where, valid=pos)


# --------------------------------------------------------------------------- tuplet margin


@register(_FAMILY, reference="pytorch-metric-learning TupletMarginLoss (Yu & Tao 2019)")
def tuplet_margin_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    margin: ArrayLike = math.radians(5.73),
    scale: ArrayLike = 64.0,
    ref_embeddings: ArrayLike | None = None,
    ref_labels: ArrayLike | None = None,
    ref_where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Tuplet margin loss (Yu & Tao 2019), pytorch-metric-learning semantics.

    With cosines :math:`c`, :math:`\theta_{ap} = \arccos c_{ap}` and :math:`s` = ``scale``,
    for every ordered positive pair :math:`(a, p)`

    .. math::
       \ell_{ap} = \log\Big(1 + \sum_{n:\, y_n \ne y_a} e^{s (c_{an} - \cos(\theta_{ap} - m))}\Big)
                 = \operatorname{softplus}\big(\operatorname{lse}_n(s\, c_{an}) - s \cos(\theta_{ap} - m)\big)

    and the mean runs over the positive pairs. :math:`\cos(\theta - m)` is
    computed as :math:`c \cos m + \sqrt{1 - c^2} \sin m` (``c`` clipped to
    :math:`[-1, 1]`, safe square root): the same value as PML's
    ``cos(acos(c) - m)``, but with a finite gradient at :math:`c = \pm 1`
    (duplicate positives), where PML's ``acos`` gives NaN.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings.
      labels: ``[batch]`` integer labels.
      margin: :math:`m` in radians; the default is PML's 5.73 degrees
        (0.100007 rad, kept exact so that the defaults agree). Float or traced array.
      scale: :math:`s`; float or traced array.
      ref_embeddings: optional ``[m, dim]`` reference (candidate) embeddings
        (PML ``ref_emb``): anchors come from ``embeddings``, their positives
        and negatives from the references, with no self-exclusion.
      ref_labels: ``[m]`` integer labels of ``ref_embeddings`` (required with them).
      ref_where: optional boolean ``[m]`` mask of the valid reference rows (a
        partly filled memory); masked rows contribute nothing, NaN included.
      weights: optional ``[batch, batch]``-broadcastable pair weights.
      where: optional boolean ``[batch, batch]`` pair mask.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; for ``"none"`` the ``[batch, batch]``
      (``[batch, m]`` with references) pair losses (0 off the positive pairs).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
      >>> jaxloss.tuplet_margin_loss(x, jnp.array([0, 0, 1]), scale=4.0)
      Array(0.16951783, dtype=float32)

    References:
      B. Yu, D. Tao, "Deep Metric Learning with Tuplet Margin Loss", ICCV 2019;
      pytorch-metric-learning ``TupletMarginLoss``.
    """
    check_reduction(reduction)
    b = pair_batch(
        embeddings,
        labels,
        ref_embeddings=ref_embeddings,
        ref_labels=ref_labels,
        ref_where=ref_where,
    )
    e, pos, neg = b.embeddings, b.pos, b.neg
    c = similarity_matrix(e, b.refs, "cosine")
    mm, s = param(margin, e.dtype), param(scale, e.dtype)
    clipped = jnp.clip(c, -1.0, 1.0)
    shifted = clipped * jnp.cos(mm) + safe_sqrt(1.0 - jnp.square(clipped)) * jnp.sin(mm)
    has_neg = jnp.any(neg, axis=1)
    lse_neg = masked_lse(s * c, neg)
    per_pair = jax.nn.softplus(lse_neg[:, None] - s * shifted)
    loss = jnp.where(pos & has_neg[:, None], per_pair, jnp.zeros((), e.dtype))
    return reduce(loss, reduction, weights=weights, where=where, valid=pos)
