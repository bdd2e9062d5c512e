"""Likelihood losses: Gaussian and Poisson negative log-likelihood.

Elementwise like the other regression losses: arrays of one shape, or
matching pytrees of them.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.deprecation import renamed
from .._src.elementwise import elementwise
from .._src.numerics import mul0
from .._src.registry import register
from .._src.types import ArrayLike, ArrayTree, Reduction

__all__ = ["gaussian_nll_loss", "poisson_nll_loss"]

_FAMILY = "regression"


def _variance_like(var: Any, mean_shape: tuple[int, ...]) -> Any:
    """torch's rule: ``variance`` may lack the last dimension or have it equal to 1."""
    var_shape = tuple(np.shape(var))
    if var_shape == mean_shape:
        return var
    if var_shape == mean_shape[:-1]:
        var = jnp.expand_dims(var, -1)
        var_shape = (*var_shape, 1)
    if var_shape == (*mean_shape[:-1], 1) and len(mean_shape) >= 1:
        return jnp.broadcast_to(var, mean_shape)
    raise ValueError(
        f"{function_name()}: variance has shape {tuple(np.shape(var))} but mean has "
        f"shape {mean_shape}; variance must have the shape of mean, or mean.shape[:-1] "
        "(optionally with a trailing 1) for a shared variance"
    )


@register(_FAMILY, reference="torch.nn.functional.gaussian_nll_loss", aliases=("gaussian_nll",))
def gaussian_nll_loss(
    mean: ArrayTree, targets: ArrayTree, variance: ArrayTree, *, eps: float | ArrayLike = 1e-6,
    full: bool = False,
    weights: ArrayTree | None = None, where: ArrayTree | None = None, reduction: Reduction = "mean",
) -> ArrayTree:
    r"""Gaussian negative log-likelihood with predicted variance.

    .. math::
       \ell = \tfrac12 \left(\log\max(\sigma^2, \varepsilon)
       + \frac{(\mu - t)^2}{\max(\sigma^2, \varepsilon)}\right)
       \; [+ \tfrac12 \log 2\pi \text{ if full}]

    As in PyTorch, the clamp of the variance at ``eps`` is invisible to the
    gradient (the gradient w.r.t. ``variance`` is taken as if unclamped).

    Args:
      mean: predicted means, any shape, or a pytree.
      targets: same shape as ``mean``.
      variance: predicted variances (``>= 0``), same shape as ``mean``, or
        ``mean.shape[:-1]`` (optionally ``+ (1,)``) for one variance per row.
      eps: clamp for the variance.
      full: add the constant ``0.5 log(2 pi)``.
      weights: optional weights broadcastable to the elementwise loss.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss (shape of
      ``mean``) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.gaussian_nll_loss(jnp.array([0.0]), jnp.array([2.0]), jnp.array([4.0]))
      Array(1.1931472, dtype=float32)

    References:
      Nix & Weigend 1994; PyTorch ``torch.nn.functional.gaussian_nll_loss``.
    """
    variance = jax.tree.map(
        lambda v, m: _variance_like(v, tuple(np.shape(m))), variance, mean
    )

    def formula(mu, t, var, eps):
        # torch clamps under no_grad: value uses max(var, eps), gradient flows as through var.
        var = var + jax.lax.stop_gradient(jnp.maximum(var, eps) - var)
        loss = 0.5 * (jnp.log(var) + jnp.square(mu - t) / var)
        if full:
            loss = loss + 0.5 * jnp.log(2 * jnp.asarray(np.pi, loss.dtype))
        return loss

    contracts.floating(variance=jax.tree.leaves(variance)[0])
    return elementwise(
        formula, mean, targets, variance, eps=eps,
        weights=weights, where=where, reduction=reduction,
        names=("mean", "targets", "variance"),
    )


@register(_FAMILY, reference="torch.nn.functional.poisson_nll_loss", aliases=("poisson_nll",))
@renamed(inputs="predictions")
def poisson_nll_loss(
    predictions: ArrayTree, targets: ArrayTree, *, log_input: bool = True, full: bool = False,
    eps: float | ArrayLike = 1e-8,
    weights: ArrayTree | None = None, where: ArrayTree | None = None, reduction: Reduction = "mean",
) -> ArrayTree:
    r"""Poisson negative log-likelihood.

    .. math::
       \ell = \begin{cases} e^{x} - t x & \text{log\_input} \\
       x - t \log(x + \varepsilon) & \text{otherwise} \end{cases}
       \; [+\, t\log t - t + \tfrac12\log(2\pi t) \text{ for } t > 1 \text{ if full}]

    Args:
      predictions: predicted log-rates (``log_input=True``) or rates, any shape
        (PyTorch's ``input``; the keyword ``inputs=`` is deprecated).
      targets: observed counts, same shape.
      log_input: whether ``predictions`` are log-rates.
      full: add the Stirling approximation of ``log(t!)``.
      eps: added to the rate inside the log when ``log_input=False``.
      weights: optional weights broadcastable to the elementwise loss.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.poisson_nll_loss(jnp.array([0.0, 1.0]), jnp.array([1.0, 2.0]), reduction="none")
      Array([1.       , 0.7182817], dtype=float32)

    References:
      PyTorch ``torch.nn.functional.poisson_nll_loss``.
    """

    def formula(x, t, eps):
        if log_input:
            loss = jnp.exp(x) - mul0(t, x)
        else:
            loss = x - t * jnp.log(x + eps)
        if full:
            # Double where: t log t and log(2 pi t) are only taken (and differentiated) for t > 1.
            big = t > 1
            safe_t = jnp.where(big, t, 2)
            stirling = safe_t * jnp.log(safe_t) - safe_t + 0.5 * jnp.log(2 * np.pi * safe_t)
            loss = loss + jnp.where(big, stirling, 0)
        return loss

    return elementwise(
        formula, predictions, targets, eps=eps,
        weights=weights, where=where, reduction=reduction, names=("predictions", "targets"),
    )
