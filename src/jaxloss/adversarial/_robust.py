"""Adversarial robustness: FGSM and PGD attacks, adversarial training and TRADES.

Adversarial-training functions take the model as a function and are pure: the
perturbation is computed inside and carries no gradient (``stop_gradient``),
like ``torch.no_grad`` attacks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.contracts import function_name
from .._src.labels import class_labels, poison
from .._src.numerics import param, upcast
from .._src.reduce import check_reduction, reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["adversarial_loss", "fgsm_perturbation", "pgd_perturbation", "trades_loss"]

_FAMILY = "adversarial"


def _clip(x: jax.Array, clip_min: ArrayLike | None, clip_max: ArrayLike | None) -> jax.Array:
    if clip_min is None and clip_max is None:
        return x
    return jnp.clip(x, clip_min, clip_max)


def fgsm_perturbation(
    loss_fn: Callable[[jax.Array], jax.Array], inputs: ArrayLike, *, epsilon: float | ArrayLike,
    clip_min: float | ArrayLike | None = None, clip_max: float | ArrayLike | None = None,
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
    loss_fn: Callable[[jax.Array], jax.Array], inputs: ArrayLike, key: ArrayLike, *,
    epsilon: float | ArrayLike, step_size: float | ArrayLike, steps: int = 10, random_start: bool = True,
    clip_min: float | ArrayLike | None = None, clip_max: float | ArrayLike | None = None,
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
    loss_fn: Callable[[jax.Array], jax.Array], inputs: ArrayLike, *, epsilon: float | ArrayLike,
    method: Literal["fgsm", "pgd"] = "fgsm", key: ArrayLike | None = None,
    step_size: float | ArrayLike | None = None, steps: int = 10,
    adversarial_weight: float | ArrayLike = 0.5,
    clip_min: float | ArrayLike | None = None, clip_max: float | ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
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
    contracts.bounded(epsilon, "epsilon", ge=0)
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
    logits_fn: Callable[[jax.Array], jax.Array], inputs: ArrayLike, labels: ArrayLike, key: ArrayLike, *,
    epsilon: float | ArrayLike, beta: float | ArrayLike = 6.0, steps: int = 10,
    step_size: float | ArrayLike | None = None,
    clip_min: float | ArrayLike | None = None, clip_max: float | ArrayLike | None = None,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
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
    contracts.bounded(epsilon, "epsilon", ge=0)
    contracts.bounded(beta, "beta", ge=0)
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
