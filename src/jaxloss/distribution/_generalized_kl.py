"""The generalized (unnormalised) Kullback-Leibler divergence of optax."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.numerics import upcast
from .._src.reduce import entry_mask, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["convex_kl_divergence", "generalized_kl_divergence"]

_FAMILY = "distribution"


@register(
    _FAMILY,
    reference="optax.losses.generalized_kl_divergence; scipy.special.kl_div",
    aliases=("convex_kl_divergence",),
)
def generalized_kl_divergence(
    log_predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: int = -1,
    axis_where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Generalized KL divergence between unnormalised non-negative vectors (optax).

    .. math:: D(p \,\|\, q) = \sum_c \bigl(p_c (\log p_c - \log q_c) - p_c + q_c\bigr)

    with ``log q = log_predictions`` and ``p = targets``: the Bregman divergence
    of :math:`x \log x - x`, which is ``scipy.special.kl_div(p, q)`` summed over
    ``axis``, and equals :func:`~jaxloss.kl_divergence` when both sum to 1.
    Entries with :math:`p_c = 0` contribute :math:`q_c`; their ``xlogy`` term has
    zero gradient w.r.t. both arguments, as in :func:`~jaxloss.kl_divergence`.

    Args:
      log_predictions: ``[..., C, ...]`` log-values :math:`\log q`.
      targets: same shape; non-negative values :math:`p`.
      axis: the summed axis.
      axis_where: optional boolean mask with the shape of ``log_predictions``:
        the entries to include in the sum over ``axis`` (optax ``where``). A row
        with nothing included is 0 with zero gradients.
      weights: optional per-example weights (shape without ``axis``).
      where: optional per-example boolean mask (shape without ``axis``).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar, or the per-example divergence (``axis`` removed) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p, q = jnp.array([[1.0, 2.0, 0.0]]), jnp.array([[2.0, 2.0, 1.0]])
      >>> jaxloss.generalized_kl_divergence(jnp.log(q), p)  # log(1/2) - 1 + 2 + 1
      Array(1.3068528, dtype=float32)

    References:
      optax ``generalized_kl_divergence`` (deprecated alias ``convex_kl_divergence``);
      scipy ``scipy.special.kl_div``; Boyd & Vandenberghe, Convex Optimization, p. 90.
    """
    contracts.floating(log_predictions=log_predictions, targets=targets)
    contracts.same_shape(log_predictions=log_predictions, targets=targets)
    ax = contracts.axis_index(axis, jnp.ndim(log_predictions), "log_predictions")
    lq, p = upcast(log_predictions, targets)
    zero = jnp.zeros((), lq.dtype)
    # masked examples: their entries too are kept out of the formula
    include = entry_mask(lq.shape, ax, axis_where, where)
    if include is not None:  # double where: excluded entries reach neither value nor gradient
        lq = jnp.where(include, lq, zero)
        p = jnp.where(include, p, zero)
    support = ~(p <= 0)  # NaN stays in the support (NaN in, NaN out)
    lp = jnp.log(jnp.where(support, p, 1.0))
    xlogx = jnp.where(support, jnp.where(support, p, 0.0) * (lp - jnp.where(support, lq, 0.0)), 0.0)
    terms = xlogx - p + jnp.exp(lq)
    if include is not None:
        terms = jnp.where(include, terms, zero)
    return reduce(jnp.sum(terms, axis=ax), reduction, weights=weights, where=where)


convex_kl_divergence = generalized_kl_divergence
