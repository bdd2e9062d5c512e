"""Pairwise ranking losses with rax semantics.

``scores`` and ``labels`` are ``[..., list_size]``: lists on the last axis, any
batch shape. ``where`` marks the valid items, ``weights`` weights items (the
pair ``(i, j)`` carries the weight of item ``i``), ``segments`` packs several
lists along the list axis (pairs across segments do not count) and
``lambdaweight`` multiplies each pair loss by a LambdaRank/LambdaLoss weight,
all as in rax. ``reduction="none"`` returns the ``[..., n, n]`` pair losses (0
for pairs that do not count; rax flattens them to ``[..., n*n]``) and
``"mean"`` averages over the pairs that count. Nothing valid gives 0 with zero
gradients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.labels import poison
from .._src.lists import ranked_lists
from .._src.numerics import param
from .._src.reduce import reduce, sanitize
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._lambdaweights import LAMBDAWEIGHTS
from ._segments import check_segments, pair_mask

__all__ = [
    "pairwise_hinge_loss",
    "pairwise_logistic_loss",
    "pairwise_mse_loss",
    "pairwise_qr_loss",
    "pairwise_soft_zero_one_loss",
]

_FAMILY = "ranking"

Lambdaweight = Literal["dcg", "dcg2", "labeldiff"] | Callable[..., jax.Array] | None
PairFn = Callable[[jax.Array, jax.Array], jax.Array]


def _pairwise(
    pair_loss: PairFn,
    scores: ArrayLike,
    labels: ArrayLike,
    all_pairs: bool,
    lambdaweight: Lambdaweight,
    segments: ArrayLike | None,
    weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: Reduction,
) -> jax.Array:
    """``pair_loss(s_i - s_j, y_i - y_j)`` over the pairs ``y_i > y_j`` (every pair with ``all_pairs``)."""
    s, y, mask, w = ranked_lists(scores, labels, weights=weights, where=where)
    seg = check_segments(segments, s)
    if isinstance(lambdaweight, str):
        contracts.choice(lambdaweight, tuple(LAMBDAWEIGHTS), "lambdaweight")
    s, y = sanitize(s, mask), sanitize(y, mask)
    nan = jnp.isnan(y)
    nan_pair = nan[..., :, None] | nan[..., None, :]
    dy = y[..., :, None] - y[..., None, :]
    # A NaN label compares False with every label: its pairs count, as NaN (NaN in, NaN out).
    valid = jnp.ones(dy.shape, bool) if all_pairs else (dy > 0) | nan_pair
    valid = valid & pair_mask(mask, seg, s.shape)
    loss = poison(pair_loss(s[..., :, None] - s[..., None, :], dy), nan_pair)
    if w is not None:
        loss = loss * w[..., :, None]
    if lambdaweight is not None:
        fn = LAMBDAWEIGHTS[lambdaweight] if isinstance(lambdaweight, str) else lambdaweight
        lw = fn(scores, labels, segments=segments, weights=weights, where=where)
        loss = loss * jnp.asarray(lw, loss.dtype)
    return reduce(loss, reduction, valid=valid)


@register(_FAMILY, reference="rax.pairwise_hinge_loss")
def pairwise_hinge_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    lambdaweight: Lambdaweight = None,
    segments: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Pairwise hinge loss over the pairs ``y_i > y_j`` of each list.

    .. math:: \ell_{ij} = \mathbb{1}[y_i > y_j] \max(0, 1 - (s_i - s_j))

    Args:
      scores: ``[..., list_size]`` item scores.
      labels: ``[..., list_size]`` relevance labels (graded or binary).
      lambdaweight: ``None`` (default), ``"dcg"``, ``"dcg2"``, ``"labeldiff"``
        (:func:`~jaxloss.dcg_lambdaweight` and siblings with their defaults) or a
        callable ``(scores, labels, *, segments, weights, where) -> [..., n, n]``
        whose result multiplies the pair losses (rax ``lambdaweight_fn``).
      segments: optional ``[..., list_size]`` integer segment ids: several lists
        packed along the list axis; pairs across segments do not count.
      weights: optional ``[..., list_size]`` item weights (pair ``(i, j)`` carries ``w_i``).
      where: optional ``[..., list_size]`` boolean mask of valid items.
      reduction: ``"mean"`` (over the pairs that count, default), ``"sum"`` or
        ``"none"`` (the ``[..., n, n]`` pair losses, 0 for pairs that do not count).

    Returns:
      A scalar, or ``[..., list_size, list_size]`` for ``"none"`` (rax flattens
      the pair axes to ``[..., list_size**2]``).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.pairwise_hinge_loss(jnp.array([2.0, 1.0, 0.5, 3.0]), jnp.array([1.0, 0.0, 2.0, 0.0]))
      Array(1.9, dtype=float32)

    References:
      Herbrich et al., "Large margin rank boundaries for ordinal regression",
      2000; rax ``pairwise_hinge_loss``.
    """
    args = (lambdaweight, segments, weights, where, reduction)
    return _pairwise(lambda d, _: jax.nn.relu(1 - d), scores, labels, False, *args)


@register(_FAMILY, reference="rax.pairwise_logistic_loss (RankNet)")
def pairwise_logistic_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    lambdaweight: Lambdaweight = None,
    segments: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Pairwise logistic (RankNet) loss over the pairs ``y_i > y_j`` of each list.

    .. math:: \ell_{ij} = \mathbb{1}[y_i > y_j] \log(1 + e^{-(s_i - s_j)})

    With ``lambdaweight="dcg"`` this is LambdaRank's loss (rax's
    ``pairwise_logistic_loss(lambdaweight_fn=dcg_lambdaweight)``).

    Args:
      scores: ``[..., list_size]`` item scores.
      labels: ``[..., list_size]`` relevance labels (graded or binary).
      lambdaweight: ``None`` (default), ``"dcg"``, ``"dcg2"``, ``"labeldiff"``
        (:func:`~jaxloss.dcg_lambdaweight` and siblings with their defaults) or a
        callable ``(scores, labels, *, segments, weights, where) -> [..., n, n]``
        whose result multiplies the pair losses (rax ``lambdaweight_fn``).
      segments: optional ``[..., list_size]`` integer segment ids: several lists
        packed along the list axis; pairs across segments do not count.
      weights: optional ``[..., list_size]`` item weights (pair ``(i, j)`` carries ``w_i``).
      where: optional ``[..., list_size]`` boolean mask of valid items.
      reduction: ``"mean"`` (over the pairs that count, default), ``"sum"`` or
        ``"none"`` (the ``[..., n, n]`` pair losses, 0 for pairs that do not count).

    Returns:
      A scalar, or ``[..., list_size, list_size]`` for ``"none"`` (rax flattens
      the pair axes to ``[..., list_size**2]``).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.pairwise_logistic_loss(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]))
      Array(0.6931472, dtype=float32)

    References:
      Burges et al., "Learning to Rank using Gradient Descent", ICML 2005;
      rax ``pairwise_logistic_loss``.
    """
    args = (lambdaweight, segments, weights, where, reduction)
    return _pairwise(lambda d, _: jax.nn.softplus(-d), scores, labels, False, *args)


@register(_FAMILY, reference="rax.pairwise_soft_zero_one_loss")
def pairwise_soft_zero_one_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    lambdaweight: Lambdaweight = None,
    segments: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Pairwise soft zero-one loss: a sigmoid of the misordering, over the pairs ``y_i > y_j``.

    .. math:: \ell_{ij} = \mathbb{1}[y_i > y_j]\, \sigma(-(s_i - s_j))

    Args:
      scores: ``[..., list_size]`` item scores.
      labels: ``[..., list_size]`` relevance labels (graded or binary).
      lambdaweight: ``None`` (default), ``"dcg"``, ``"dcg2"``, ``"labeldiff"``
        (:func:`~jaxloss.dcg_lambdaweight` and siblings with their defaults) or a
        callable ``(scores, labels, *, segments, weights, where) -> [..., n, n]``
        whose result multiplies the pair losses (rax ``lambdaweight_fn``).
      segments: optional ``[..., list_size]`` integer segment ids: several lists
        packed along the list axis; pairs across segments do not count.
      weights: optional ``[..., list_size]`` item weights (pair ``(i, j)`` carries ``w_i``).
      where: optional ``[..., list_size]`` boolean mask of valid items.
      reduction: ``"mean"`` (over the pairs that count, default), ``"sum"`` or
        ``"none"`` (the ``[..., n, n]`` pair losses, 0 for pairs that do not count).

    Returns:
      A scalar, or ``[..., list_size, list_size]`` for ``"none"`` (rax flattens
      the pair axes to ``[..., list_size**2]``).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.pairwise_soft_zero_one_loss(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]))
      Array(0.5, dtype=float32)

    References:
      rax ``pairwise_soft_zero_one_loss``.
    """
    args = (lambdaweight, segments, weights, where, reduction)
    return _pairwise(lambda d, _: jax.nn.sigmoid(-d), scores, labels, False, *args)


@register(_FAMILY, reference="rax.pairwise_mse_loss")
def pairwise_mse_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    lambdaweight: Lambdaweight = None,
    segments: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Pairwise squared error between score differences and label differences, over all pairs.

    .. math:: \ell_{ij} = \bigl((s_i - s_j) - (y_i - y_j)\bigr)^2

    Every pair of valid items in the same list counts, the diagonal ``i = j``
    included (it is 0 but enters the mean's count), as in rax.

    Args:
      scores: ``[..., list_size]`` item scores.
      labels: ``[..., list_size]`` relevance labels (graded or binary).
      lambdaweight: ``None`` (default), ``"dcg"``, ``"dcg2"``, ``"labeldiff"``
        (:func:`~jaxloss.dcg_lambdaweight` and siblings with their defaults) or a
        callable ``(scores, labels, *, segments, weights, where) -> [..., n, n]``
        whose result multiplies the pair losses (rax ``lambdaweight_fn``).
      segments: optional ``[..., list_size]`` integer segment ids: several lists
        packed along the list axis; pairs across segments do not count.
      weights: optional ``[..., list_size]`` item weights (pair ``(i, j)`` carries ``w_i``).
      where: optional ``[..., list_size]`` boolean mask of valid items.
      reduction: ``"mean"`` (over the pairs that count, default), ``"sum"`` or
        ``"none"`` (the ``[..., n, n]`` pair losses, 0 for pairs that do not count).

    Returns:
      A scalar, or ``[..., list_size, list_size]`` for ``"none"`` (rax flattens
      the pair axes to ``[..., list_size**2]``).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.pairwise_mse_loss(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]))
      Array(0.5, dtype=float32)

    References:
      rax ``pairwise_mse_loss``.
    """
    args = (lambdaweight, segments, weights, where, reduction)
    return _pairwise(lambda d, dy: jnp.square(d - dy), scores, labels, True, *args)


@register(_FAMILY, reference="rax.pairwise_qr_loss")
def pairwise_qr_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    tau: ArrayLike = 0.5,
    squared: bool = False,
    lambdaweight: Lambdaweight = None,
    segments: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Pairwise quantile regression of score differences on label differences, over the pairs ``y_i > y_j``.

    .. math::
       \ell_{ij} = \mathbb{1}[y_i > y_j]\bigl(\tau\,[\Delta y - \Delta s]_+
                   + (1 - \tau)\,[\Delta s - \Delta y]_+\bigr),\quad
       \Delta s = s_i - s_j,\ \Delta y = y_i - y_j

    With ``squared=True`` each hinge is squared; ``tau=0.5`` is median regression.

    Args:
      scores: ``[..., list_size]`` item scores.
      labels: ``[..., list_size]`` relevance labels (graded or binary).
      tau: the quantile, in ``(0, 1]`` (checked when concrete; may be traced).
      squared: square each hinge (static).
      lambdaweight: ``None`` (default), ``"dcg"``, ``"dcg2"``, ``"labeldiff"``
        (:func:`~jaxloss.dcg_lambdaweight` and siblings with their defaults) or a
        callable ``(scores, labels, *, segments, weights, where) -> [..., n, n]``
        whose result multiplies the pair losses (rax ``lambdaweight_fn``).
      segments: optional ``[..., list_size]`` integer segment ids: several lists
        packed along the list axis; pairs across segments do not count.
      weights: optional ``[..., list_size]`` item weights (pair ``(i, j)`` carries ``w_i``).
      where: optional ``[..., list_size]`` boolean mask of valid items.
      reduction: ``"mean"`` (over the pairs that count, default), ``"sum"`` or
        ``"none"`` (the ``[..., n, n]`` pair losses, 0 for pairs that do not count).

    Returns:
      A scalar, or ``[..., list_size, list_size]`` for ``"none"`` (rax flattens
      the pair axes to ``[..., list_size**2]``).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.pairwise_qr_loss(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]))
      Array(0.5, dtype=float32)

    References:
      Koenker & Bassett, "Regression Quantiles", 1978; rax ``pairwise_qr_loss``
      (same defaults ``tau=0.5``, ``squared=False``).
    """
    contracts.bounded(tau, "tau", gt=0, le=1)

    def qr(d: jax.Array, dy: jax.Array) -> jax.Array:
        under, over = jax.nn.relu(dy - d), jax.nn.relu(d - dy)
        if squared:
            under, over = jnp.square(under), jnp.square(over)
        t = param(tau, d.dtype)
        return t * under + (1 - t) * over

    args = (lambdaweight, segments, weights, where, reduction)
    return _pairwise(qr, scores, labels, False, *args)
