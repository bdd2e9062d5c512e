"""Gradient penalties of GAN critics: WGAN-GP and R1."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.deprecation import renamed
from .._src.numerics import param, rows, safe_norm, upcast
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["gradient_penalty", "r1_penalty"]

_FAMILY = "adversarial"


def _per_sample_gradients(critic_fn: Callable[[jax.Array], jax.Array], x: jax.Array) -> jax.Array:
    """``d critic(x_i) / d x_i`` for each sample, by vmap of grad over the batch."""
    return jax.vmap(jax.grad(lambda xi: jnp.sum(critic_fn(xi[None]))))(x)


@register(_FAMILY, reference="Gulrajani et al. 2017, arXiv:1704.00028; TF-GAN wasserstein_gradient_penalty")
@renamed(target="target_norm")
def gradient_penalty(
    critic_fn: Callable[[jax.Array], jax.Array], real: ArrayLike, fake: ArrayLike, key: ArrayLike, *,
    target_norm: float | ArrayLike = 1.0,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""WGAN-GP gradient penalty at random interpolates of real and fake samples.

    .. math::
       \hat x = \epsilon x + (1-\epsilon) \tilde x,\ \epsilon \sim U[0, 1]; \quad
       \ell = (\lVert \nabla_{\hat x} D(\hat x) \rVert_2 - t)^2

    The norm is per sample over all non-batch axes, with a zero-safe square root.

    Args:
      critic_fn: maps a batch ``[batch, ...]`` to outputs ``[batch]`` (or
        ``[batch, 1]``); sample ``i``'s output must depend on sample ``i`` only.
      real: real samples ``[batch, ...]``.
      fake: generated samples, same shape (gradients flow to them too).
      key: PRNG key for the interpolation coefficients.
      target_norm: ``t``, the target norm (1 for WGAN-GP; the keyword ``target=``
        is deprecated).
      weights: optional per-sample weights ``[batch]``.
      where: optional per-sample mask ``[batch]``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (per sample).

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` for ``"none"``.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxloss
      >>> critic = lambda x: 2.0 * jnp.sum(x, axis=-1)
      >>> jaxloss.gradient_penalty(critic, jnp.ones((3, 4)), jnp.zeros((3, 4)), jax.random.key(0))
      Array(9., dtype=float32)

    References:
      Gulrajani et al., "Improved Training of Wasserstein GANs", 2017,
      https://arxiv.org/abs/1704.00028.
    """
    contracts.floating(real=real, fake=fake)
    contracts.same_shape(real=real, fake=fake)
    contracts.min_rank(real, 1, "real")
    xr, xf = upcast(real, fake)
    mix_shape = (xr.shape[0],) + (1,) * (xr.ndim - 1)
    contracts.prng_key(key)
    mix = jax.random.uniform(key, mix_shape, xr.dtype)
    interpolates = mix * xr + (1 - mix) * xf
    grads = rows(_per_sample_gradients(critic_fn, interpolates))
    norms = safe_norm(grads, axis=-1)
    loss = jnp.square(norms - param(target_norm, norms.dtype))
    return reduce(loss, reduction, weights=weights, where=where)


@register(_FAMILY, reference="Mescheder et al. 2018, arXiv:1801.04406")
def r1_penalty(
    critic_fn: Callable[[jax.Array], jax.Array], real: ArrayLike, *, gamma: float | ArrayLike = 1.0,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""R1 regulariser: squared gradient norm of the discriminator on real data.

    .. math:: \ell = \tfrac{\gamma}{2} \lVert \nabla_x D(x) \rVert_2^2

    Args:
      critic_fn: maps a batch ``[batch, ...]`` to outputs ``[batch]``.
      real: real samples ``[batch, ...]``.
      gamma: regularisation weight ``gamma``.
      weights: optional per-sample weights ``[batch]``.
      where: optional per-sample mask ``[batch]``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (per sample).

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.r1_penalty(lambda x: 2.0 * jnp.sum(x, axis=-1), jnp.ones((3, 4)))
      Array(8., dtype=float32)

    References:
      Mescheder et al., "Which Training Methods for GANs do actually Converge?",
      ICML 2018, https://arxiv.org/abs/1801.04406.
    """
    contracts.bounded(gamma, "gamma", ge=0)
    contracts.floating(real=real)
    contracts.min_rank(real, 1, "real")
    (x,) = upcast(real)
    grads = rows(_per_sample_gradients(critic_fn, x))
    loss = 0.5 * param(gamma, x.dtype) * jnp.sum(jnp.square(grads), axis=-1)
    return reduce(loss, reduction, weights=weights, where=where)
