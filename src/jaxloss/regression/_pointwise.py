"""Regression losses.

All are elementwise: ``predictions`` and ``targets`` are arrays of the same
shape, or matching pytrees of them. ``reduction="none"`` returns the
elementwise loss (a tree of them for pytrees); ``"mean"`` averages over every
element of every leaf.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.elementwise import elementwise
from .._src.numerics import abs0
from .._src.registry import register
from .._src.types import ArrayLike, ArrayTree, Reduction

__all__ = [
    "absolute_error",
    "huber_loss",
    "log_cosh",
    "mae",
    "mean_bias_error",
    "mse",
    "quantile_loss",
    "robust_loss",
    "smooth_l1_loss",
    "squared_error",
    "wing_loss",
]

_FAMILY = "regression"


@register(_FAMILY, reference="torch.nn.functional.mse_loss", aliases=("mse",))
def squared_error(
    predictions: ArrayTree, targets: ArrayTree, *,
    weights: ArrayTree | None = None, where: ArrayTree | None = None, reduction: Reduction = "mean",
) -> ArrayTree:
    r"""Squared error.

    .. math:: \ell(p, t) = (p - t)^2

    Args:
      predictions: array of any shape, or a pytree of arrays.
      targets: same shape (same pytree) as ``predictions``.
      weights: optional weights broadcastable to the elementwise loss.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss (same shape or
      pytree as ``predictions``) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.squared_error(jnp.array([1.0, 2.0]), jnp.array([1.0, 4.0]))
      Array(2., dtype=float32)

    References:
      PyTorch ``torch.nn.functional.mse_loss``.
    """
    return elementwise(
        lambda p, t: jnp.square(p - t), predictions, targets,
        weights=weights, where=where, reduction=reduction,
    )


@register(_FAMILY, reference="torch.nn.functional.l1_loss", aliases=("mae",))
def absolute_error(
    predictions: ArrayTree, targets: ArrayTree, *,
    weights: ArrayTree | None = None, where: ArrayTree | None = None, reduction: Reduction = "mean",
) -> ArrayTree:
    r"""Absolute error; its gradient at zero residual is 0.

    .. math:: \ell(p, t) = |p - t|

    Args:
      predictions: array of any shape, or a pytree of arrays.
      targets: same shape (same pytree) as ``predictions``.
      weights: optional weights broadcastable to the elementwise loss.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.absolute_error(jnp.array([1.0, 2.0]), jnp.array([0.0, 4.0]))
      Array(1.5, dtype=float32)

    References:
      PyTorch ``torch.nn.functional.l1_loss``.
    """
    return elementwise(
        lambda p, t: abs0(p - t), predictions, targets,
        weights=weights, where=where, reduction=reduction,
    )


mse = squared_error
mae = absolute_error


@register(_FAMILY, reference="definition (signed residual)")
def mean_bias_error(
    predictions: ArrayTree, targets: ArrayTree, *,
    weights: ArrayTree | None = None, where: ArrayTree | None = None, reduction: Reduction = "mean",
) -> ArrayTree:
    r"""Mean bias error, the signed residual: a diagnostic, not bounded below.

    .. math:: \ell(p, t) = t - p

    Args:
      predictions: array of any shape, or a pytree of arrays.
      targets: same shape (same pytree) as ``predictions``.
      weights: optional weights broadcastable to the elementwise loss.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise residual for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.mean_bias_error(jnp.array([1.0, 2.0]), jnp.array([2.0, 4.0]))
      Array(1.5, dtype=float32)

    References:
      The mean of the signed error ``t - p`` (positive: under-prediction).
    """
    return elementwise(
        lambda p, t: t - p, predictions, targets,
        weights=weights, where=where, reduction=reduction,
    )


@register(_FAMILY, reference="torch.nn.functional.huber_loss", aliases=("huber",))
def huber_loss(
    predictions: ArrayTree, targets: ArrayTree, *, delta: float | ArrayLike = 1.0,
    weights: ArrayTree | None = None, where: ArrayTree | None = None, reduction: Reduction = "mean",
) -> ArrayTree:
    r"""Huber loss.

    .. math::
       \ell(p, t) = \begin{cases} \tfrac12 (p-t)^2 & |p-t| \le \delta \\
       \delta (|p-t| - \tfrac12 \delta) & \text{otherwise} \end{cases}

    Args:
      predictions: array of any shape, or a pytree of arrays.
      targets: same shape (same pytree) as ``predictions``.
      delta: transition point (``> 0``); float or traced array.
      weights: optional weights broadcastable to the elementwise loss.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.huber_loss(jnp.array([0.5, 3.0]), jnp.zeros(2), reduction="none")
      Array([0.125, 2.5  ], dtype=float32)

    References:
      Huber 1964; PyTorch ``torch.nn.functional.huber_loss``.
    """
    contracts.bounded(delta, "delta", gt=0, scalar=False)

    def formula(p, t, delta):
        err = abs0(p - t)
        return jnp.where(err <= delta, 0.5 * err**2, delta * (err - 0.5 * delta))

    return elementwise(
        formula, predictions, targets, delta=delta,
        weights=weights, where=where, reduction=reduction,
    )


@register(_FAMILY, reference="torch.nn.functional.smooth_l1_loss", aliases=("smooth_l1",))
def smooth_l1_loss(
    predictions: ArrayTree, targets: ArrayTree, *, beta: float | ArrayLike = 1.0,
    weights: ArrayTree | None = None, where: ArrayTree | None = None, reduction: Reduction = "mean",
) -> ArrayTree:
    r"""Smooth L1 loss (Huber divided by ``beta``; ``beta = 0`` is the L1 loss).

    .. math::
       \ell(p, t) = \begin{cases} \tfrac{1}{2\beta} (p-t)^2 & |p-t| < \beta \\
       |p-t| - \tfrac12 \beta & \text{otherwise} \end{cases}

    Args:
      predictions: array of any shape, or a pytree of arrays.
      targets: same shape (same pytree) as ``predictions``.
      beta: transition point (``>= 0``); float or traced array.
      weights: optional weights broadcastable to the elementwise loss.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.smooth_l1_loss(jnp.array([0.5, 3.0]), jnp.zeros(2), beta=1.0, reduction="none")
      Array([0.125, 2.5  ], dtype=float32)

    References:
      Girshick 2015 (Fast R-CNN); PyTorch ``torch.nn.functional.smooth_l1_loss``.
    """
    contracts.bounded(beta, "beta", ge=0, scalar=False)

    def formula(p, t, beta):
        err = abs0(p - t)
        quadratic = err < beta
        # Double where: beta = 0 must not put 0/0 into the untaken branch's gradient.
        safe_beta = jnp.where(quadratic, beta, 1)
        return jnp.where(quadratic, 0.5 * err**2 / safe_beta, err - 0.5 * beta)

    return elementwise(
        formula, predictions, targets, beta=beta,
        weights=weights, where=where, reduction=reduction,
    )


@register(_FAMILY, reference="optax.losses.log_cosh")
def log_cosh(
    predictions: ArrayTree, targets: ArrayTree, *,
    weights: ArrayTree | None = None, where: ArrayTree | None = None, reduction: Reduction = "mean",
) -> ArrayTree:
    r"""Log-cosh loss: quadratic near zero, linear far away.

    .. math:: \ell(p, t) = \log\cosh(p - t)

    Computed as ``log1p(2 sinh^2(x/2))`` for ``|x| < 1`` (no cancellation for small
    residuals) and ``logaddexp(x, -x) - log 2`` beyond (no overflow).

    Args:
      predictions: array of any shape, or a pytree of arrays.
      targets: same shape (same pytree) as ``predictions``.
      weights: optional weights broadcastable to the elementwise loss.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.log_cosh(jnp.array([0.0, 1000.0]), jnp.zeros(2), reduction="none")
      Array([  0.    , 999.3068], dtype=float32)

    References:
      optax ``optax.losses.log_cosh``.
    """

    def formula(p, t):
        err = p - t
        small = jnp.abs(err) < 1
        # cosh x - 1 = 2 sinh^2(x/2) keeps the relative precision that logaddexp(x, -x) - log 2
        # loses to cancellation near 0; the double where keeps sinh's overflow out of the far branch.
        near = jnp.log1p(2 * jnp.square(jnp.sinh(jnp.where(small, err, 0) / 2)))
        far = jnp.logaddexp(err, -err) - jnp.log(jnp.asarray(2.0, err.dtype))
        return jnp.where(small, near, far)

    return elementwise(
        formula, predictions, targets, weights=weights, where=where, reduction=reduction
    )


@register(_FAMILY, reference="Feng et al. 2018, arXiv:1711.06753", aliases=("wing",))
def wing_loss(
    predictions: ArrayTree, targets: ArrayTree, *,
    width: float | ArrayLike = 10.0, curvature: float | ArrayLike = 2.0,
    weights: ArrayTree | None = None, where: ArrayTree | None = None, reduction: Reduction = "mean",
) -> ArrayTree:
    r"""Wing loss for landmark regression.

    .. math::
       \ell(x) = \begin{cases} w \log(1 + |x| / \epsilon) & |x| < w \\
       |x| - C & \text{otherwise} \end{cases},\quad C = w - w\log(1 + w/\epsilon)

    with ``x = p - t``, ``w = width`` and ``epsilon = curvature``.

    Args:
      predictions: array of any shape, or a pytree of arrays.
      targets: same shape (same pytree) as ``predictions``.
      width: ``w`` (``> 0``), the range of the non-linear part.
      curvature: ``epsilon`` (``> 0``), the curvature of the non-linear part.
      weights: optional weights broadcastable to the elementwise loss.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.wing_loss(jnp.array([2.0, 20.0]), jnp.zeros(2), reduction="none")
      Array([ 6.931472, 27.917595], dtype=float32)

    References:
      Feng et al., "Wing Loss for Robust Facial Landmark Localisation with
      Convolutional Neural Networks", CVPR 2018, https://arxiv.org/abs/1711.06753
    """

    def formula(p, t, width, curvature):
        err = abs0(p - t)
        c = width - width * jnp.log1p(width / curvature)
        return jnp.where(err < width, width * jnp.log1p(err / curvature), err - c)

    return elementwise(
        formula, predictions, targets, width=width, curvature=curvature,
        weights=weights, where=where, reduction=reduction,
    )


@register(_FAMILY, reference="pinball loss (Koenker & Bassett 1978)", aliases=("pinball_loss",))
def quantile_loss(
    predictions: ArrayTree, targets: ArrayTree, *, quantile: float | ArrayLike = 0.5,
    weights: ArrayTree | None = None, where: ArrayTree | None = None, reduction: Reduction = "mean",
) -> ArrayTree:
    r"""Quantile (pinball) loss; its minimiser is the ``quantile`` of the targets.

    .. math:: \ell(p, t) = \max(q (t - p), (q - 1)(t - p))

    Args:
      predictions: array of any shape, or a pytree of arrays.
      targets: same shape (same pytree) as ``predictions``.
      quantile: ``q`` in ``(0, 1)``; ``0.5`` is half the absolute error.
      weights: optional weights broadcastable to the elementwise loss.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.quantile_loss(jnp.array([0.0, 0.0]), jnp.array([1.0, -1.0]),
      ...                       quantile=0.9, reduction="none")
      Array([0.9       , 0.10000002], dtype=float32)

    References:
      Koenker & Bassett, "Regression Quantiles", Econometrica 1978.
    """
    contracts.bounded(quantile, "quantile", ge=0, le=1, scalar=False)

    def formula(p, t, quantile):
        err = t - p
        return jnp.maximum(quantile * err, (quantile - 1) * err)

    return elementwise(
        formula, predictions, targets, quantile=quantile,
        weights=weights, where=where, reduction=reduction,
    )


def _expm1_over(a: jax.Array, k: jax.Array) -> jax.Array:
    """``expm1(a * k) / a``, smooth through ``a = 0`` (where it equals ``k``)."""
    small = jnp.abs(a) < 1e-4
    safe_a = jnp.where(small, 1, a)
    # Taylor series near a = 0 keeps value and d/da exact there (no 0/0).
    series = k + 0.5 * a * k**2 + a**2 * k**3 / 6
    return jnp.where(small, series, jnp.expm1(safe_a * k) / safe_a)


@register(_FAMILY, reference="Barron 2019, arXiv:1701.03077", aliases=("barron_loss", "adaptive_robust_loss"))
def robust_loss(
    predictions: ArrayTree, targets: ArrayTree, *,
    alpha: float | ArrayLike = 1.0, scale: float | ArrayLike = 1.0,
    weights: ArrayTree | None = None, where: ArrayTree | None = None, reduction: Reduction = "mean",
) -> ArrayTree:
    r"""Barron's general and adaptive robust loss.

    .. math::
       \rho(x, \alpha, c) = \frac{|\alpha-2|}{\alpha}
       \left(\left(\frac{(x/c)^2}{|\alpha-2|} + 1\right)^{\alpha/2} - 1\right)

    with the limits ``alpha = 2``: ``(x/c)^2 / 2`` (L2), ``alpha = 0``:
    ``log(1 + (x/c)^2 / 2)`` (Cauchy), ``alpha = -inf``:
    ``1 - exp(-(x/c)^2 / 2)`` (Welsch), and ``alpha = 1`` gives
    ``sqrt((x/c)^2 + 1) - 1`` (pseudo-Huber). ``alpha`` and ``scale`` are
    differentiable, so they can be learnt (``alpha`` through ``alpha = 0``).

    Args:
      predictions: array of any shape, or a pytree of arrays.
      targets: same shape (same pytree) as ``predictions``.
      alpha: shape parameter, float or array broadcastable to the loss (may be
        ``-inf``).
      scale: ``c > 0``, float or array broadcastable to the loss.
      weights: optional weights broadcastable to the elementwise loss.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([0.0, 1.0, 3.0])
      >>> jaxloss.robust_loss(x, jnp.zeros(3), alpha=2.0, reduction="none")
      Array([0. , 0.5, 4.5], dtype=float32)
      >>> jaxloss.robust_loss(x, jnp.zeros(3), alpha=0.0, reduction="none")
      Array([0.       , 0.4054651, 1.7047482], dtype=float32)

    References:
      Barron, "A General and Adaptive Robust Loss Function", CVPR 2019,
      https://arxiv.org/abs/1701.03077
    """

    def formula(p, t, alpha, scale):
        z = (p - t) / scale
        z2 = jnp.square(z)
        alpha = jnp.broadcast_to(alpha, z2.shape)
        is_l2 = alpha == 2
        is_welsch = jnp.isneginf(alpha)
        is_inf = jnp.isposinf(alpha)
        general = ~(is_l2 | is_welsch | is_inf)
        # Double where: keep the singular points alpha in {2, +-inf} out of the general branch.
        a = jnp.where(general, alpha, 1)
        b = jnp.abs(a - 2)
        # z^2 overflows float32 beyond |z| ~ 1.8e19: there log1p(z^2 / b) / 2 = log|z| - log(b) / 2.
        big = jnp.abs(z) > 1e15
        log_z = jnp.log(jnp.where(big, jnp.abs(z), 1))
        k = jnp.where(big, log_z - 0.5 * jnp.log(b), 0.5 * jnp.log1p(jnp.where(big, 0, z2) / b))
        rho = b * _expm1_over(a, k)
        z2_inf = jnp.where(is_inf, z2, 0)  # exp(z2 / 2) overflows: only where it is taken
        return jnp.select(
            [is_l2, is_welsch, is_inf],
            [0.5 * z2, -jnp.expm1(-0.5 * z2), jnp.expm1(0.5 * z2_inf)],
            rho,
        )

    return elementwise(
        formula, predictions, targets, alpha=alpha, scale=scale,
        weights=weights, where=where, reduction=reduction,
    )
