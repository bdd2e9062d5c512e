"""Cosine similarity and cosine distance between vectors along an axis (optax parity)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.elementwise import pair
from .._src.numerics import param, safe_sqrt
from .._src.reduce import entry_mask, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["cosine_distance", "cosine_similarity"]

_FAMILY = "regression"


def _cosine(
    predictions: ArrayLike,
    targets: ArrayLike,
    epsilon: float | ArrayLike,
    axis: int,
    axis_where: ArrayLike | None,
    where: ArrayLike | None,
) -> jax.Array:
    """Per-example cosine similarity along ``axis`` (the axis removed)."""
    contracts.bounded(epsilon, "epsilon", ge=0)
    contracts.floating(predictions=predictions, targets=targets)  # optax checks both
    contracts.min_rank(predictions, 1, "predictions")
    (a, b), _ = pair(predictions, targets)
    ax = contracts.axis_index(axis, a.ndim, "predictions")
    zero = jnp.zeros((), a.dtype)
    # masked examples: their entries too are kept out of the formula
    include = entry_mask(a.shape, ax, axis_where, where)
    if include is not None:  # double where: excluded entries reach neither value nor gradient
        a, b = jnp.where(include, a, zero), jnp.where(include, b, zero)
    eps = param(epsilon, a.dtype)
    # sqrt(max(|a|^2, eps)) as optax, with a finite gradient at a zero vector; a zero norm
    # (eps = 0) divides by 1 instead, so a zero vector has cosine 0 and a finite gradient.
    na = safe_sqrt(jnp.maximum(jnp.sum(jnp.square(a), axis=ax, keepdims=True), eps))
    nb = safe_sqrt(jnp.maximum(jnp.sum(jnp.square(b), axis=ax, keepdims=True), eps))
    one = jnp.ones((), a.dtype)
    ua = a / jnp.where(na > 0, na, one)
    ub = b / jnp.where(nb > 0, nb, one)
    return jnp.sum(ua * ub, axis=ax)


@register(_FAMILY, reference="optax.losses.cosine_similarity")
def cosine_similarity(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    epsilon: float | ArrayLike = 0.0,
    axis: int = -1,
    axis_where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Cosine similarity between vectors along ``axis`` (optax ``cosine_similarity``).

    .. math:: s(a, b) = \frac{\langle a, b \rangle}
       {\sqrt{\max(\|a\|^2, \epsilon)}\, \sqrt{\max(\|b\|^2, \epsilon)}}

    A similarity in :math:`[-1, 1]`, not a quantity to minimise: it is kept for
    optax parity; minimise :func:`cosine_distance` (:math:`1 - s`) instead.
    Keras ``CosineSimilarity(axis)`` (a loss) is :math:`-s`, with the norms
    floored at :math:`10^{-7}` (``epsilon=1e-14`` here).

    Difference from optax: with ``epsilon=0`` (optax's default too) a zero
    vector gives :math:`s = 0` with a finite gradient, where optax gives NaN;
    the value is optax's everywhere else.

    Args:
      predictions: ``[..., D, ...]`` floating vectors along ``axis``.
      targets: same shape.
      epsilon: floor :math:`\epsilon \ge 0` of the *squared* norms (optax
        ``epsilon``); float or traced array.
      axis: the vector axis.
      axis_where: optional boolean mask with the shape of ``predictions``: the
        components to include in the dot product and both norms (optax
        ``where``). A row with nothing included gives 0 with zero gradient.
      weights: optional per-example weights (shape without ``axis``).
      where: optional per-example boolean mask (shape without ``axis``).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``predictions.shape`` without ``axis``
      for ``"none"`` (optax's output).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> a = jnp.array([[1.0, 0.0], [1.0, 1.0]])
      >>> b = jnp.array([[1.0, 0.0], [-1.0, 0.0]])
      >>> jaxloss.cosine_similarity(a, b, reduction="none")
      Array([ 1.        , -0.70710677], dtype=float32)

    References:
      optax ``cosine_similarity``; Keras ``keras.losses.CosineSimilarity``.
    """
    loss = _cosine(predictions, targets, epsilon, axis, axis_where, where)
    return reduce(loss, reduction, weights=weights, where=where)


@register(_FAMILY, reference="optax.losses.cosine_distance")
def cosine_distance(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    epsilon: float | ArrayLike = 0.0,
    axis: int = -1,
    axis_where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Cosine distance :math:`1 - s(a, b)` along ``axis`` (optax ``cosine_distance``).

    .. math:: d(a, b) = 1 - \frac{\langle a, b \rangle}
       {\sqrt{\max(\|a\|^2, \epsilon)}\, \sqrt{\max(\|b\|^2, \epsilon)}}

    In :math:`[0, 2]`, 0 for parallel vectors. Keras ``CosineSimilarity(axis)``
    equals ``cosine_distance - 1`` (Keras floors the norms at :math:`10^{-7}`,
    ``epsilon=1e-14`` here). See :func:`cosine_similarity` for the zero-vector
    rule (a zero vector gives distance 1 with a finite gradient; optax gives NaN
    with ``epsilon=0``).

    Args:
      predictions: ``[..., D, ...]`` floating vectors along ``axis``.
      targets: same shape.
      epsilon: floor :math:`\epsilon \ge 0` of the squared norms; float or traced array.
      axis: the vector axis.
      axis_where: optional boolean mask with the shape of ``predictions``: the
        components to include (optax ``where``). A row with nothing included
        gives 1 with zero gradient (optax's value there too).
      weights: optional per-example weights (shape without ``axis``).
      where: optional per-example boolean mask (shape without ``axis``).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``predictions.shape`` without ``axis``
      for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.cosine_distance(jnp.array([[1.0, 0.0]]), jnp.array([[0.0, 2.0]]))
      Array(1., dtype=float32)

    References:
      optax ``cosine_distance``; Keras ``keras.losses.CosineSimilarity``.
    """
    loss = 1 - _cosine(predictions, targets, epsilon, axis, axis_where, where)
    return reduce(loss, reduction, weights=weights, where=where)
