"""Regression losses with Keras semantics: percentage and squared-logarithmic errors.

Elementwise, like the rest of the family: ``predictions`` and ``targets`` are
same-shape arrays or matching pytrees. Keras averages over the last axis and
then over the batch, which equals the elementwise ``"mean"`` here.
"""

from __future__ import annotations

import jax.numpy as jnp

from .._src import contracts
from .._src.elementwise import elementwise
from .._src.numerics import abs0
from .._src.registry import register
from .._src.types import ArrayLike, ArrayTree, Reduction

__all__ = ["absolute_percentage_error", "mape", "msle", "squared_logarithmic_error"]

_FAMILY = "regression"
_KERAS_EPSILON = 1e-7  # keras.config.epsilon()


@register(_FAMILY, reference="keras.losses.MeanAbsolutePercentageError", aliases=("mape",))
def absolute_percentage_error(
    predictions: ArrayTree,
    targets: ArrayTree,
    *,
    eps: float | ArrayLike = _KERAS_EPSILON,
    weights: ArrayTree | None = None,
    where: ArrayTree | None = None,
    reduction: Reduction = "mean",
) -> ArrayTree:
    r"""Absolute percentage error (Keras ``MeanAbsolutePercentageError``).

    .. math:: \ell(p, t) = 100\, \frac{|t - p|}{\max(|t|, \epsilon)}

    The gradient of :math:`|\cdot|` at 0 is 0 (as Keras's backends), and the
    ``max`` passes the gradient to the larger side.

    Args:
      predictions: array of any shape, or a pytree of arrays.
      targets: same shape (same pytree) as ``predictions``.
      eps: the floor :math:`\epsilon > 0` of :math:`|t|` (Keras ``backend.epsilon()``).
      weights: optional weights broadcastable to the elementwise loss.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.absolute_percentage_error(jnp.array([1.0, 3.0]), jnp.array([2.0, 4.0]), reduction="none")
      Array([50., 25.], dtype=float32)

    References:
      Keras ``keras.losses.MeanAbsolutePercentageError`` /
      ``keras.losses.mean_absolute_percentage_error``.
    """
    contracts.bounded(eps, "eps", gt=0)
    return elementwise(
        lambda p, t, eps: 100 * abs0(t - p) / jnp.maximum(abs0(t), eps),
        predictions,
        targets,
        eps=eps,
        weights=weights,
        where=where,
        reduction=reduction,
    )


@register(_FAMILY, reference="keras.losses.MeanSquaredLogarithmicError", aliases=("msle",))
def squared_logarithmic_error(
    predictions: ArrayTree,
    targets: ArrayTree,
    *,
    eps: float | ArrayLike = _KERAS_EPSILON,
    weights: ArrayTree | None = None,
    where: ArrayTree | None = None,
    reduction: Reduction = "mean",
) -> ArrayTree:
    r"""Squared logarithmic error (Keras ``MeanSquaredLogarithmicError``).

    .. math:: \ell(p, t) = \bigl(\log(1 + \max(p, \epsilon)) - \log(1 + \max(t, \epsilon))\bigr)^2

    computed with ``log1p``. Values below :math:`\epsilon` (negative ones
    included) are raised to :math:`\epsilon`, with zero gradient there.

    Args:
      predictions: array of any shape, or a pytree of arrays.
      targets: same shape (same pytree) as ``predictions``.
      eps: the floor :math:`\epsilon > 0` (Keras ``backend.epsilon()``).
      weights: optional weights broadcastable to the elementwise loss.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.squared_logarithmic_error(jnp.array([0.0, 3.0]), jnp.array([0.0, 1.0]), reduction="none")
      Array([0.      , 0.480453], dtype=float32)

    References:
      Keras ``keras.losses.MeanSquaredLogarithmicError`` /
      ``keras.losses.mean_squared_logarithmic_error``.
    """
    contracts.bounded(eps, "eps", gt=0)
    return elementwise(
        lambda p, t, eps: jnp.square(
            jnp.log1p(jnp.maximum(p, eps)) - jnp.log1p(jnp.maximum(t, eps))
        ),
        predictions,
        targets,
        eps=eps,
        weights=weights,
        where=where,
        reduction=reduction,
    )


mape = absolute_percentage_error
msle = squared_logarithmic_error
