"""GAN losses (TF-GAN names and semantics) on discriminator outputs.

GAN losses take discriminator (critic) outputs on real and generated samples,
any shape; discriminator losses reduce each term separately and add them (as
TF-GAN does), so ``reduction="none"`` returns the pair
``(real_term, generated_term)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.discriminator import discriminator_outputs, generator_outputs, two_terms
from .._src.numerics import param
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = [
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "least_squares_discriminator_loss",
    "least_squares_generator_loss",
    "minimax_discriminator_loss",
    "minimax_generator_loss",
    "nonsaturating_generator_loss",
    "relativistic_average_discriminator_loss",
    "relativistic_average_generator_loss",
    "wasserstein_discriminator_loss",
    "wasserstein_generator_loss",
]

_FAMILY = "adversarial"
_TFGAN = "TF-GAN tfgan.losses"


@register(_FAMILY, reference=f"{_TFGAN}.minimax_discriminator_loss (Goodfellow et al. 2014)")
def minimax_discriminator_loss(
    real_outputs: ArrayLike, generated_outputs: ArrayLike, *, label_smoothing: float | ArrayLike = 0.0,
    real_weights: ArrayLike | None = None, generated_weights: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array | tuple[jax.Array, jax.Array]:
    r"""Minimax (original GAN) discriminator loss on logits.

    .. math::
       \mathcal{L}_D = \mathrm{BCE}(D(x), 1 - \tfrac{s}{2}) + \mathrm{BCE}(D(G(z)), 0)

    (one-sided label smoothing ``s`` moves the real target to ``1 - s/2`` as in
    TF-GAN's ``sigmoid_cross_entropy``; default 0, unlike TF-GAN's 0.25).

    Args:
      real_outputs: discriminator logits on real data, any shape.
      generated_outputs: discriminator logits on generated data, any shape.
      label_smoothing: ``s`` in ``[0, 1)``.
      real_weights: optional weights broadcastable to ``real_outputs``.
      generated_weights: optional weights broadcastable to ``generated_outputs``.
      reduction: ``"mean"``, ``"sum"`` (each term reduced, then added) or
        ``"none"`` (the pair of elementwise terms).

    Returns:
      A scalar, or ``(real_term, generated_term)`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.minimax_discriminator_loss(jnp.array([0.0]), jnp.array([0.0]))
      Array(1.3862944, dtype=float32)

    References:
      Goodfellow et al., "Generative Adversarial Nets", 2014,
      https://arxiv.org/abs/1406.2661; TF-GAN ``minimax_discriminator_loss``.
    """
    contracts.bounded(label_smoothing, "label_smoothing", ge=0, le=1)
    outs = discriminator_outputs(real_outputs, generated_outputs, real_weights, generated_weights)
    real, gen = outs.real, outs.generated
    s = param(label_smoothing, real.dtype)
    target = 1 - 0.5 * s
    real_term = target * jax.nn.softplus(-real) + (1 - target) * jax.nn.softplus(real)
    return two_terms(outs, real_term, jax.nn.softplus(gen), reduction)


@register(_FAMILY, reference=f"{_TFGAN}.minimax_generator_loss")
def minimax_generator_loss(
    generated_outputs: ArrayLike, *,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Minimax generator loss (saturating): minimises ``log(1 - D(G(z)))``.

    .. math:: \mathcal{L}_G = \log(1 - \sigma(D(G(z)))) = -\operatorname{softplus}(D(G(z)))

    Args:
      generated_outputs: discriminator outputs on generated data, any shape.
      weights: optional weights broadcastable to ``generated_outputs``.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (elementwise).

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.minimax_generator_loss(jnp.array([0.0]))
      Array(-0.6931472, dtype=float32)

    References:
      Goodfellow et al. 2014, https://arxiv.org/abs/1406.2661; TF-GAN ``minimax_generator_loss``.
    """
    gen = generator_outputs(generated_outputs, where)
    return reduce(-jax.nn.softplus(gen), reduction, weights=weights, where=where)


@register(_FAMILY, reference=f"{_TFGAN}.modified_generator_loss")
def nonsaturating_generator_loss(
    generated_outputs: ArrayLike, *,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Non-saturating generator loss (TF-GAN's ``modified_generator_loss``).

    .. math:: \mathcal{L}_G = -\log \sigma(D(G(z))) = \operatorname{softplus}(-D(G(z)))

    Args:
      generated_outputs: discriminator outputs on generated data, any shape.
      weights: optional weights broadcastable to ``generated_outputs``.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (elementwise).

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.nonsaturating_generator_loss(jnp.array([0.0]))
      Array(0.6931472, dtype=float32)

    References:
      Goodfellow et al. 2014, https://arxiv.org/abs/1406.2661; TF-GAN ``modified_generator_loss``.
    """
    gen = generator_outputs(generated_outputs, where)
    return reduce(jax.nn.softplus(-gen), reduction, weights=weights, where=where)


@register(_FAMILY, reference=f"{_TFGAN}.wasserstein_generator_loss")
def wasserstein_generator_loss(
    generated_outputs: ArrayLike, *,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Wasserstein generator loss.

    .. math:: \mathcal{L}_G = -D(G(z))

    Args:
      generated_outputs: discriminator outputs on generated data, any shape.
      weights: optional weights broadcastable to ``generated_outputs``.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (elementwise).

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.wasserstein_generator_loss(jnp.array([10.0, 4.4, -5.5, 3.6]))
      Array(-3.125, dtype=float32)

    References:
      Arjovsky et al., "Wasserstein GAN", 2017, https://arxiv.org/abs/1701.07875.
    """
    gen = generator_outputs(generated_outputs, where)
    return reduce(-gen, reduction, weights=weights, where=where)


@register(_FAMILY, reference=f"{_TFGAN}.least_squares_generator_loss")
def least_squares_generator_loss(
    generated_outputs: ArrayLike, *,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Least-squares (LSGAN) generator loss.

    .. math:: \mathcal{L}_G = \tfrac12 (D(G(z)) - 1)^2

    Args:
      generated_outputs: discriminator outputs on generated data, any shape.
      weights: optional weights broadcastable to ``generated_outputs``.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (elementwise).

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.least_squares_generator_loss(jnp.array([10.0, 4.4, -5.5, 3.6]))
      Array(17.69625, dtype=float32)

    References:
      Mao et al., "Least Squares Generative Adversarial Networks", 2017,
      https://arxiv.org/abs/1611.04076.
    """
    gen = generator_outputs(generated_outputs, where)
    return reduce(0.5 * jnp.square(gen - 1), reduction, weights=weights, where=where)


@register(_FAMILY, reference=f"{_TFGAN}.wasserstein_hinge_generator_loss (Lim & Ye 2017)")
def hinge_generator_loss(
    generated_outputs: ArrayLike, *,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Hinge generator loss (as used with the hinge discriminator loss).

    .. math:: \mathcal{L}_G = -D(G(z))

    Args:
      generated_outputs: discriminator outputs on generated data, any shape.
      weights: optional weights broadcastable to ``generated_outputs``.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (elementwise).

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.hinge_generator_loss(jnp.array([1.0, 3.0]))
      Array(-2., dtype=float32)

    References:
      Lim & Ye, "Geometric GAN", 2017, https://arxiv.org/abs/1705.02894.
    """
    gen = generator_outputs(generated_outputs, where)
    return reduce(-gen, reduction, weights=weights, where=where)


@register(_FAMILY, reference=f"{_TFGAN}.wasserstein_discriminator_loss")
def wasserstein_discriminator_loss(
    real_outputs: ArrayLike, generated_outputs: ArrayLike, *,
    real_weights: ArrayLike | None = None, generated_weights: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array | tuple[jax.Array, jax.Array]:
    r"""Wasserstein critic loss.

    .. math:: \mathcal{L}_D = D(G(z)) - D(x)

    Args:
      real_outputs: critic outputs on real data, any shape.
      generated_outputs: critic outputs on generated data, any shape.
      real_weights: optional weights broadcastable to ``real_outputs``.
      generated_weights: optional weights broadcastable to ``generated_outputs``.
      reduction: ``"mean"``, ``"sum"`` (each term reduced, then added) or
        ``"none"`` (the pair of elementwise terms).

    Returns:
      A scalar, or ``(real_term, generated_term)`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.wasserstein_discriminator_loss(
      ...     jnp.array([-5.0, 1.4, 12.5, 2.7]), jnp.array([10.0, 4.4, -5.5, 3.6]))
      Array(0.225, dtype=float32)

    References:
      Arjovsky et al., "Wasserstein GAN", 2017, https://arxiv.org/abs/1701.07875.
    """
    outs = discriminator_outputs(real_outputs, generated_outputs, real_weights, generated_weights)
    real, gen = outs.real, outs.generated
    return two_terms(outs, -real, gen, reduction)


@register(_FAMILY, reference=f"{_TFGAN}.least_squares_discriminator_loss")
def least_squares_discriminator_loss(
    real_outputs: ArrayLike, generated_outputs: ArrayLike, *,
    real_weights: ArrayLike | None = None, generated_weights: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array | tuple[jax.Array, jax.Array]:
    r"""Least-squares (LSGAN) discriminator loss.

    .. math:: \mathcal{L}_D = \tfrac12 (D(x) - 1)^2 + \tfrac12 D(G(z))^2

    Args:
      real_outputs: discriminator outputs on real data, any shape.
      generated_outputs: discriminator outputs on generated data, any shape.
      real_weights: optional weights broadcastable to ``real_outputs``.
      generated_weights: optional weights broadcastable to ``generated_outputs``.
      reduction: ``"mean"``, ``"sum"`` (each term reduced, then added) or
        ``"none"`` (the pair of elementwise terms).

    Returns:
      A scalar, or ``(real_term, generated_term)`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.least_squares_discriminator_loss(
      ...     jnp.array([-5.0, 1.4, 12.5, 2.7]), jnp.array([10.0, 4.4, -5.5, 3.6]))
      Array(41.73375, dtype=float32)

    References:
      Mao et al. 2017, https://arxiv.org/abs/1611.04076.
    """
    outs = discriminator_outputs(real_outputs, generated_outputs, real_weights, generated_weights)
    real, gen = outs.real, outs.generated
    return two_terms(outs, 0.5 * jnp.square(real - 1), 0.5 * jnp.square(gen), reduction)


@register(_FAMILY, reference=f"{_TFGAN}.wasserstein_hinge_discriminator_loss (Lim & Ye 2017)")
def hinge_discriminator_loss(
    real_outputs: ArrayLike, generated_outputs: ArrayLike, *,
    real_weights: ArrayLike | None = None, generated_weights: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array | tuple[jax.Array, jax.Array]:
    r"""Hinge discriminator loss.

    .. math:: \mathcal{L}_D = \max(0, 1 - D(x)) + \max(0, 1 + D(G(z)))

    Args:
      real_outputs: discriminator outputs on real data, any shape.
      generated_outputs: discriminator outputs on generated data, any shape.
      real_weights: optional weights broadcastable to ``real_outputs``.
      generated_weights: optional weights broadcastable to ``generated_outputs``.
      reduction: ``"mean"``, ``"sum"`` (each term reduced, then added) or
        ``"none"`` (the pair of elementwise terms).

    Returns:
      A scalar, or ``(real_term, generated_term)`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.hinge_discriminator_loss(
      ...     jnp.array([-5.0, 1.4, 12.5, 2.7]), jnp.array([10.0, 4.4, -5.5, 3.6]))
      Array(6.75, dtype=float32)

    References:
      Lim & Ye, "Geometric GAN", 2017, https://arxiv.org/abs/1705.02894.
    """
    outs = discriminator_outputs(real_outputs, generated_outputs, real_weights, generated_weights)
    real, gen = outs.real, outs.generated
    return two_terms(outs, jax.nn.relu(1 - real), jax.nn.relu(1 + gen), reduction)


def _relativistic(real: jax.Array, gen: jax.Array, real_target: float) -> tuple[jax.Array, jax.Array]:
    """BCE of ``D(x) - mean D(G(z))`` against ``real_target`` and of the other difference
    against ``1 - real_target``, on logits."""
    hint = "each output is compared with the mean of the other set"
    contracts.nonempty(real.reshape(-1), "real_outputs", hint=hint)
    contracts.nonempty(gen.reshape(-1), "generated_outputs", hint=hint)
    real_rel = real - jnp.mean(gen)
    gen_rel = gen - jnp.mean(real)
    def bce(z: jax.Array, y: float) -> jax.Array:
        return y * jax.nn.softplus(-z) + (1 - y) * jax.nn.softplus(z)

    return bce(real_rel, real_target), bce(gen_rel, 1 - real_target)


@register(_FAMILY, reference="Jolicoeur-Martineau 2018, arXiv:1807.00734 (RaGAN)")
def relativistic_average_discriminator_loss(
    real_outputs: ArrayLike, generated_outputs: ArrayLike, *,
    real_weights: ArrayLike | None = None, generated_weights: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array | tuple[jax.Array, jax.Array]:
    r"""Relativistic average (RaGAN) discriminator loss on logits.

    .. math::
       \mathcal{L}_D = \mathrm{BCE}(D(x) - \overline{D(G(z))}, 1)
                     + \mathrm{BCE}(D(G(z)) - \overline{D(x)}, 0)

    where the bars are batch means.

    Args:
      real_outputs: discriminator logits on real data, shape ``[batch, ...]``.
      generated_outputs: discriminator logits on generated data.
      real_weights: optional weights broadcastable to ``real_outputs``.
      generated_weights: optional weights broadcastable to ``generated_outputs``.
      reduction: ``"mean"``, ``"sum"`` (each term reduced, then added) or
        ``"none"`` (the pair of elementwise terms).

    Returns:
      A scalar, or ``(real_term, generated_term)`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.relativistic_average_discriminator_loss(jnp.array([0.0]), jnp.array([0.0]))
      Array(1.3862944, dtype=float32)

    References:
      Jolicoeur-Martineau, "The relativistic discriminator: a key element missing
      from standard GAN", 2018, https://arxiv.org/abs/1807.00734.
    """
    outs = discriminator_outputs(real_outputs, generated_outputs, real_weights, generated_weights)
    real, gen = outs.real, outs.generated
    real_term, gen_term = _relativistic(real, gen, 1.0)
    return two_terms(outs, real_term, gen_term, reduction)


@register(_FAMILY, reference="Jolicoeur-Martineau 2018, arXiv:1807.00734 (RaGAN)")
def relativistic_average_generator_loss(
    real_outputs: ArrayLike, generated_outputs: ArrayLike, *,
    real_weights: ArrayLike | None = None, generated_weights: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array | tuple[jax.Array, jax.Array]:
    r"""Relativistic average (RaGAN) generator loss on logits: the discriminator loss
    with the targets swapped.

    .. math::
       \mathcal{L}_G = \mathrm{BCE}(D(x) - \overline{D(G(z))}, 0)
                     + \mathrm{BCE}(D(G(z)) - \overline{D(x)}, 1)

    Args:
      real_outputs: discriminator logits on real data, shape ``[batch, ...]``.
      generated_outputs: discriminator logits on generated data.
      real_weights: optional weights broadcastable to ``real_outputs``.
      generated_weights: optional weights broadcastable to ``generated_outputs``.
      reduction: ``"mean"``, ``"sum"`` (each term reduced, then added) or
        ``"none"`` (the pair of elementwise terms).

    Returns:
      A scalar, or ``(real_term, generated_term)`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.relativistic_average_generator_loss(jnp.array([2.0]), jnp.array([0.0]))
      Array(4.253856, dtype=float32)

    References:
      Jolicoeur-Martineau 2018, https://arxiv.org/abs/1807.00734.
    """
    outs = discriminator_outputs(real_outputs, generated_outputs, real_weights, generated_weights)
    real, gen = outs.real, outs.generated
    real_term, gen_term = _relativistic(real, gen, 0.0)
    return two_terms(outs, real_term, gen_term, reduction)
