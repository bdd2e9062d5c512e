"""GAN losses (TF-GAN names and semantics), gradient penalties, and adversarial training.

GAN losses take discriminator (critic) outputs on real and generated samples,
any shape; discriminator losses reduce each term separately and add them (as
TF-GAN does), so ``reduction="none"`` returns the pair
``(real_term, generated_term)``. Adversarial-training functions take the model
as a function and are pure: the perturbation is computed inside and carries no
gradient (``stop_gradient``), like ``torch.no_grad`` attacks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.contracts import function_name
from .._src.labels import class_labels, poison
from .._src.numerics import param, rows, safe_norm, upcast
from .._src.reduce import check_reduction, reduce, sanitize
from .._src.registry import register

__all__ = [
    "adversarial_loss",
    "fgsm_perturbation",
    "gradient_penalty",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "least_squares_discriminator_loss",
    "least_squares_generator_loss",
    "minimax_discriminator_loss",
    "minimax_generator_loss",
    "nonsaturating_generator_loss",
    "pgd_perturbation",
    "r1_penalty",
    "relativistic_average_discriminator_loss",
    "relativistic_average_generator_loss",
    "trades_loss",
    "wasserstein_discriminator_loss",
    "wasserstein_generator_loss",
]

_FAMILY = "adversarial"
_TFGAN = "TF-GAN tfgan.losses"


def _two_terms(real_term, generated_term, real_weights, generated_weights, reduction):
    """TF-GAN's discriminator reduction: each term reduced on its own, then added."""
    real = reduce(real_term, reduction, weights=real_weights)
    generated = reduce(generated_term, reduction, weights=generated_weights)
    return (real, generated) if reduction == "none" else real + generated


def _outputs(*arrays):
    contracts.floating(**{k: v for k, v in zip(("real_outputs", "generated_outputs"), arrays)})
    return upcast(*arrays)


@register(_FAMILY, reference=f"{_TFGAN}.minimax_discriminator_loss (Goodfellow et al. 2014)")
def minimax_discriminator_loss(
    real_outputs: Any, generated_outputs: Any, *, label_smoothing: Any = 0.0,
    real_weights: Any = None, generated_weights: Any = None, reduction: str = "mean",
) -> Any:
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
    real, gen = _outputs(real_outputs, generated_outputs)
    s = param(label_smoothing, real.dtype)
    target = 1 - 0.5 * s
    real_term = target * jax.nn.softplus(-real) + (1 - target) * jax.nn.softplus(real)
    return _two_terms(real_term, jax.nn.softplus(gen), real_weights, generated_weights, reduction)


def _generator(name: str, reference: str, formula: Callable[[jax.Array], jax.Array], doc: str):
    def loss(
        generated_outputs: Any, *, weights: Any = None, where: Any = None, reduction: str = "mean"
    ) -> Any:
        contracts.floating(generated_outputs=generated_outputs)
        (gen,) = upcast(generated_outputs)
        gen = sanitize(gen, where)
        return reduce(formula(gen), reduction, weights=weights, where=where)

    loss.__name__ = loss.__qualname__ = name
    loss.__doc__ = doc
    return register(_FAMILY, reference=reference)(loss)


_GEN_ARGS = """
    Args:
      generated_outputs: discriminator outputs on generated data, any shape.
      weights: optional weights broadcastable to ``generated_outputs``.
      where: optional boolean mask; masked entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (elementwise).

    Returns:
      A scalar for ``"mean"``/``"sum"``; the elementwise loss for ``"none"``.
"""

minimax_generator_loss = _generator(
    "minimax_generator_loss", f"{_TFGAN}.minimax_generator_loss", lambda g: -jax.nn.softplus(g),
    r"""Minimax generator loss (saturating): minimises ``log(1 - D(G(z)))``.

    .. math:: \mathcal{L}_G = \log(1 - \sigma(D(G(z)))) = -\operatorname{softplus}(D(G(z)))
""" + _GEN_ARGS + """
    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.minimax_generator_loss(jnp.array([0.0]))
      Array(-0.6931472, dtype=float32)

    References:
      Goodfellow et al. 2014, https://arxiv.org/abs/1406.2661; TF-GAN ``minimax_generator_loss``.
    """,
)

nonsaturating_generator_loss = _generator(
    "nonsaturating_generator_loss", f"{_TFGAN}.modified_generator_loss",
    lambda g: jax.nn.softplus(-g),
    r"""Non-saturating generator loss (TF-GAN's ``modified_generator_loss``).

    .. math:: \mathcal{L}_G = -\log \sigma(D(G(z))) = \operatorname{softplus}(-D(G(z)))
""" + _GEN_ARGS + """
    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.nonsaturating_generator_loss(jnp.array([0.0]))
      Array(0.6931472, dtype=float32)

    References:
      Goodfellow et al. 2014, https://arxiv.org/abs/1406.2661; TF-GAN ``modified_generator_loss``.
    """,
)

wasserstein_generator_loss = _generator(
    "wasserstein_generator_loss", f"{_TFGAN}.wasserstein_generator_loss", lambda g: -g,
    r"""Wasserstein generator loss.

    .. math:: \mathcal{L}_G = -D(G(z))
""" + _GEN_ARGS + """
    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.wasserstein_generator_loss(jnp.array([10.0, 4.4, -5.5, 3.6]))
      Array(-3.125, dtype=float32)

    References:
      Arjovsky et al., "Wasserstein GAN", 2017, https://arxiv.org/abs/1701.07875.
    """,
)

least_squares_generator_loss = _generator(
    "least_squares_generator_loss", f"{_TFGAN}.least_squares_generator_loss",
    lambda g: 0.5 * jnp.square(g - 1),
    r"""Least-squares (LSGAN) generator loss.

    .. math:: \mathcal{L}_G = \tfrac12 (D(G(z)) - 1)^2
""" + _GEN_ARGS + """
    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.least_squares_generator_loss(jnp.array([10.0, 4.4, -5.5, 3.6]))
      Array(17.69625, dtype=float32)

    References:
      Mao et al., "Least Squares Generative Adversarial Networks", 2017,
      https://arxiv.org/abs/1611.04076.
    """,
)

hinge_generator_loss = _generator(
    "hinge_generator_loss", f"{_TFGAN}.wasserstein_hinge_generator_loss (Lim & Ye 2017)", lambda g: -g,
    r"""Hinge generator loss (as used with the hinge discriminator loss).

    .. math:: \mathcal{L}_G = -D(G(z))
""" + _GEN_ARGS + """
    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.hinge_generator_loss(jnp.array([1.0, 3.0]))
      Array(-2., dtype=float32)

    References:
      Lim & Ye, "Geometric GAN", 2017, https://arxiv.org/abs/1705.02894.
    """,
)


@register(_FAMILY, reference=f"{_TFGAN}.wasserstein_discriminator_loss")
def wasserstein_discriminator_loss(
    real_outputs: Any, generated_outputs: Any, *,
    real_weights: Any = None, generated_weights: Any = None, reduction: str = "mean",
) -> Any:
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
    real, gen = _outputs(real_outputs, generated_outputs)
    return _two_terms(-real, gen, real_weights, generated_weights, reduction)


@register(_FAMILY, reference=f"{_TFGAN}.least_squares_discriminator_loss")
def least_squares_discriminator_loss(
    real_outputs: Any, generated_outputs: Any, *,
    real_weights: Any = None, generated_weights: Any = None, reduction: str = "mean",
) -> Any:
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
    real, gen = _outputs(real_outputs, generated_outputs)
    return _two_terms(
        0.5 * jnp.square(real - 1), 0.5 * jnp.square(gen), real_weights, generated_weights, reduction
    )


@register(_FAMILY, reference=f"{_TFGAN}.wasserstein_hinge_discriminator_loss (Lim & Ye 2017)")
def hinge_discriminator_loss(
    real_outputs: Any, generated_outputs: Any, *,
    real_weights: Any = None, generated_weights: Any = None, reduction: str = "mean",
) -> Any:
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
    real, gen = _outputs(real_outputs, generated_outputs)
    return _two_terms(
        jax.nn.relu(1 - real), jax.nn.relu(1 + gen), real_weights, generated_weights, reduction
    )


def _relativistic(real, gen, real_target):
    """BCE of ``D(x) - mean D(G(z))`` against ``real_target`` and of the other difference
    against ``1 - real_target``, on logits."""
    hint = "each output is compared with the mean of the other set"
    contracts.nonempty(real.reshape(-1), "real_outputs", hint=hint)
    contracts.nonempty(gen.reshape(-1), "generated_outputs", hint=hint)
    real_rel = real - jnp.mean(gen)
    gen_rel = gen - jnp.mean(real)
    bce = lambda z, y: y * jax.nn.softplus(-z) + (1 - y) * jax.nn.softplus(z)  # noqa: E731
    return bce(real_rel, real_target), bce(gen_rel, 1 - real_target)


@register(_FAMILY, reference="Jolicoeur-Martineau 2018, arXiv:1807.00734 (RaGAN)")
def relativistic_average_discriminator_loss(
    real_outputs: Any, generated_outputs: Any, *,
    real_weights: Any = None, generated_weights: Any = None, reduction: str = "mean",
) -> Any:
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
    real, gen = _outputs(real_outputs, generated_outputs)
    real_term, gen_term = _relativistic(real, gen, 1.0)
    return _two_terms(real_term, gen_term, real_weights, generated_weights, reduction)


@register(_FAMILY, reference="Jolicoeur-Martineau 2018, arXiv:1807.00734 (RaGAN)")
def relativistic_average_generator_loss(
    real_outputs: Any, generated_outputs: Any, *,
    real_weights: Any = None, generated_weights: Any = None, reduction: str = "mean",
) -> Any:
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
    real, gen = _outputs(real_outputs, generated_outputs)
    real_term, gen_term = _relativistic(real, gen, 0.0)
    return _two_terms(real_term, gen_term, real_weights, generated_weights, reduction)


def _per_sample_gradients(critic_fn: Callable[[jax.Array], jax.Array], x: jax.Array) -> jax.Array:
    """``d critic(x_i) / d x_i`` for each sample, by vmap of grad over the batch."""
    return jax.vmap(jax.grad(lambda xi: jnp.sum(critic_fn(xi[None]))))(x)


@register(_FAMILY, reference="Gulrajani et al. 2017, arXiv:1704.00028; TF-GAN wasserstein_gradient_penalty")
def gradient_penalty(
    critic_fn: Callable[[jax.Array], jax.Array], real: Any, fake: Any, key: Any, *,
    target: Any = 1.0, weights: Any = None, where: Any = None, reduction: str = "mean",
) -> Any:
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
      target: ``t``, the target norm (1 for WGAN-GP).
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
    real, fake = upcast(real, fake)
    eps_shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    contracts.prng_key(key)
    eps = jax.random.uniform(key, eps_shape, real.dtype)
    interpolates = eps * real + (1 - eps) * fake
    grads = rows(_per_sample_gradients(critic_fn, interpolates))
    norms = safe_norm(grads, axis=-1)
    loss = jnp.square(norms - param(target, norms.dtype))
    return reduce(loss, reduction, weights=weights, where=where)


@register(_FAMILY, reference="Mescheder et al. 2018, arXiv:1801.04406")
def r1_penalty(
    critic_fn: Callable[[jax.Array], jax.Array], real: Any, *, gamma: Any = 1.0,
    weights: Any = None, where: Any = None, reduction: str = "mean",
) -> Any:
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
    contracts.floating(real=real)
    contracts.min_rank(real, 1, "real")
    (real,) = upcast(real)
    grads = rows(_per_sample_gradients(critic_fn, real))
    loss = 0.5 * param(gamma, real.dtype) * jnp.sum(jnp.square(grads), axis=-1)
    return reduce(loss, reduction, weights=weights, where=where)


# --------------------------------------------------------------------------- adversarial training


def _clip(x: jax.Array, clip_min: Any, clip_max: Any) -> jax.Array:
    if clip_min is None and clip_max is None:
        return x
    return jnp.clip(x, clip_min, clip_max)


def fgsm_perturbation(
    loss_fn: Callable[[jax.Array], jax.Array], inputs: Any, *, epsilon: Any,
    clip_min: Any = None, clip_max: Any = None,
) -> jax.Array:
    r"""Fast gradient sign method: one signed gradient step of size ``epsilon``.

    .. math:: x' = \operatorname{clip}(x + \epsilon\,\operatorname{sign}(\nabla_x L(x)))

    Args:
      loss_fn: maps ``inputs`` to a scalar loss (close over params and labels).
      inputs: the clean inputs, any shape.
      epsilon: L-infinity radius.
      clip_min: optional lower bound of the valid input range.
      clip_max: optional upper bound of the valid input range.

    Returns:
      The adversarial inputs (same shape as ``inputs``), without gradient.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.fgsm_perturbation(lambda x: jnp.sum(x**2), jnp.array([1.0, -2.0]), epsilon=0.1)
      Array([ 1.1, -2.1], dtype=float32)

    References:
      Goodfellow et al., "Explaining and Harnessing Adversarial Examples", 2015,
      https://arxiv.org/abs/1412.6572.
    """
    x = jax.lax.stop_gradient(jnp.asarray(inputs))
    step = param(epsilon, x.dtype) * jnp.sign(jax.grad(lambda z: jnp.sum(loss_fn(z)))(x))
    return jax.lax.stop_gradient(_clip(x + step, clip_min, clip_max))


def pgd_perturbation(
    loss_fn: Callable[[jax.Array], jax.Array], inputs: Any, key: Any, *, epsilon: Any,
    step_size: Any, steps: int = 10, random_start: bool = True,
    clip_min: Any = None, clip_max: Any = None,
) -> jax.Array:
    r"""Projected gradient descent (Madry et al.) in the L-infinity ball.

    .. math::
       x^{k+1} = \Pi_{\lVert x' - x \rVert_\infty \le \epsilon}
       \left(x^k + \alpha\,\operatorname{sign}(\nabla L(x^k))\right)

    starting from ``x + U(-epsilon, epsilon)`` when ``random_start``.

    Args:
      loss_fn: maps inputs to a scalar loss to maximise.
      inputs: the clean inputs, any shape.
      key: PRNG key for the random start.
      epsilon: L-infinity radius.
      step_size: ``alpha``, the step of each signed-gradient ascent step.
      steps: number of steps (static).
      random_start: start from a uniform point in the ball.
      clip_min: optional lower bound of the valid input range.
      clip_max: optional upper bound of the valid input range.

    Returns:
      The adversarial inputs (same shape as ``inputs``), without gradient.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxloss
      >>> x = jnp.array([1.0, -2.0])
      >>> jaxloss.pgd_perturbation(lambda z: jnp.sum(z**2), x, jax.random.key(0),
      ...                          epsilon=0.1, step_size=0.05, steps=5)
      Array([ 1.1, -2.1], dtype=float32)

    References:
      Madry et al., "Towards Deep Learning Models Resistant to Adversarial
      Attacks", 2018, https://arxiv.org/abs/1706.06083.
    """
    x = jax.lax.stop_gradient(jnp.asarray(inputs))
    eps = param(epsilon, x.dtype)
    alpha = param(step_size, x.dtype)
    if random_start:
        contracts.prng_key(key)
    start = x + jax.random.uniform(key, x.shape, x.dtype, -1, 1) * eps if random_start else x
    grad = jax.grad(lambda z: jnp.sum(loss_fn(z)))

    def body(_, z):
        z = z + alpha * jnp.sign(grad(z))
        return _clip(jnp.clip(z, x - eps, x + eps), clip_min, clip_max)

    return jax.lax.stop_gradient(jax.lax.fori_loop(0, steps, body, _clip(start, clip_min, clip_max)))


@register(_FAMILY, reference="Goodfellow et al. 2015 (FGSM training), Madry et al. 2018 (PGD)")
def adversarial_loss(
    loss_fn: Callable[[jax.Array], jax.Array], inputs: Any, *, epsilon: Any,
    method: str = "fgsm", key: Any = None, step_size: Any = None, steps: int = 10,
    adversarial_weight: Any = 0.5, clip_min: Any = None, clip_max: Any = None,
    reduction: str = "mean",
) -> Any:
    r"""Adversarial training objective: a mix of the clean and the adversarial loss.

    .. math:: \mathcal{L} = (1 - w)\, L(x) + w\, L(x'),\quad x' = \text{attack}(x)

    Args:
      loss_fn: maps inputs to a scalar loss (close over params and labels).
      inputs: the clean inputs, any shape.
      epsilon: L-infinity radius of the attack.
      method: ``"fgsm"`` or ``"pgd"``.
      key: PRNG key (``"pgd"`` only).
      step_size: PGD step (default ``epsilon / 4``).
      steps: PGD steps (static).
      adversarial_weight: ``w``; 0.5 is Goodfellow et al.'s mix, 1.0 is Madry's.
      clip_min: optional lower bound of the valid input range.
      clip_max: optional upper bound of the valid input range.
      reduction: accepted for uniformity; ``loss_fn`` already returns a scalar,
        so every reduction returns it.

    Returns:
      A scalar.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.adversarial_loss(lambda x: jnp.sum(x**2), jnp.array([1.0, -2.0]), epsilon=0.1)
      Array(5.31, dtype=float32)

    References:
      Goodfellow et al. 2015, https://arxiv.org/abs/1412.6572; Madry et al. 2018,
      https://arxiv.org/abs/1706.06083.
    """
    check_reduction(reduction)
    contracts.choice(method, ("fgsm", "pgd"), "method")
    contracts.floating(inputs=inputs)
    (x,) = upcast(inputs)
    if method == "fgsm":
        adv = fgsm_perturbation(loss_fn, x, epsilon=epsilon, clip_min=clip_min, clip_max=clip_max)
    else:
        if key is None:
            raise ValueError(f"{function_name()}: method='pgd' needs a PRNG key (key=...)")
        step = epsilon / 4 if step_size is None else step_size
        adv = pgd_perturbation(
            loss_fn, x, key, epsilon=epsilon, step_size=step, steps=steps,
            clip_min=clip_min, clip_max=clip_max,
        )
    w = param(adversarial_weight, x.dtype)
    return (1 - w) * loss_fn(x) + w * loss_fn(adv)


def _kl_rows(clean_logits: jax.Array, adv_logits: jax.Array) -> jax.Array:
    """``KL(softmax(clean) || softmax(adv))`` per row; zero-probability classes give 0."""
    log_p = jax.nn.log_softmax(clean_logits, axis=-1)
    log_q = jax.nn.log_softmax(adv_logits, axis=-1)
    return jnp.sum(jnp.exp(log_p) * (log_p - log_q), axis=-1)


@register(_FAMILY, reference="Zhang et al. 2019, arXiv:1901.08573 (TRADES reference code)")
def trades_loss(
    logits_fn: Callable[[jax.Array], jax.Array], inputs: Any, labels: Any, key: Any, *,
    epsilon: Any, beta: Any = 6.0, steps: int = 10, step_size: Any = None,
    clip_min: Any = None, clip_max: Any = None,
    weights: Any = None, where: Any = None, reduction: str = "mean",
) -> Any:
    r"""TRADES: clean cross-entropy plus ``beta`` times the KL between clean and
    adversarial predictions.

    .. math::
       \ell_i = \mathrm{CE}(f(x_i), y_i) + \beta\,
       \mathrm{KL}(\mathrm{softmax} f(x_i) \,\Vert\, \mathrm{softmax} f(x'_i))

    where ``x'`` maximises the KL by ``steps`` signed-gradient steps from
    ``x + 0.001 N(0, 1)``, projected on the L-infinity ball of radius
    ``epsilon``. ``epsilon = 0`` gives the clean cross-entropy.

    Args:
      logits_fn: maps inputs ``[batch, ...]`` to logits ``[batch, classes]``.
      inputs: clean inputs ``[batch, ...]``.
      labels: integer labels ``[batch]``.
      key: PRNG key for the initial noise.
      epsilon: L-infinity radius.
      beta: weight of the robustness (KL) term.
      steps: attack steps (static).
      step_size: attack step (default ``epsilon / 4``, TRADES' 0.007 for 0.031).
      clip_min: optional lower bound of the valid input range.
      clip_max: optional upper bound of the valid input range.
      weights: optional per-example weights ``[batch]``.
      where: optional per-example mask ``[batch]``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (per example).

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` for ``"none"``.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxloss
      >>> w = jnp.array([[1.0, -1.0], [0.5, 0.5]])
      >>> logits_fn = lambda x: x @ w
      >>> x, y = jnp.array([[1.0, 0.0], [0.0, 1.0]]), jnp.array([0, 1])
      >>> jaxloss.trades_loss(logits_fn, x, y, jax.random.key(0), epsilon=0.0)
      Array(0.4100376, dtype=float32)

    References:
      Zhang et al., "Theoretically Principled Trade-off between Robustness and
      Accuracy", ICML 2019, https://arxiv.org/abs/1901.08573.
    """
    contracts.floating(inputs=inputs)
    contracts.integer(labels=labels)
    (x,) = upcast(inputs)
    eps = param(epsilon, x.dtype)
    alpha = eps / 4 if step_size is None else param(step_size, x.dtype)
    clean_logits = logits_fn(x)
    contracts.shape_is(
        clean_logits, (x.shape[0], None), "logits_fn(inputs)", "logits_fn must return [batch, classes]",
        like={"inputs": inputs},
    )
    contracts.shape_is(labels, (x.shape[0],), "labels", like={"inputs": inputs})
    target = jax.lax.stop_gradient(clean_logits)
    kl_grad = jax.grad(lambda z: jnp.sum(_kl_rows(target, logits_fn(z))))
    x0 = jax.lax.stop_gradient(x)

    def body(_, z):
        z = z + alpha * jnp.sign(kl_grad(z))
        return _clip(jnp.clip(z, x0 - eps, x0 + eps), clip_min, clip_max)

    contracts.prng_key(key)
    start = x0 + 0.001 * jax.random.normal(key, x.shape, x.dtype)
    start = _clip(jnp.clip(start, x0 - eps, x0 + eps), clip_min, clip_max)
    adv = jax.lax.stop_gradient(jax.lax.fori_loop(0, steps, body, start))

    logits = clean_logits.astype(x.dtype)
    safe, _, bad = class_labels(labels, logits.shape[-1])
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    ce = -jnp.take_along_axis(log_probs, safe[:, None], axis=-1)[:, 0]
    loss = ce + param(beta, x.dtype) * _kl_rows(logits, logits_fn(adv).astype(x.dtype))
    return reduce(poison(loss, bad), reduction, weights=weights, where=where)
