"""Regularisers: L1 / L2 / elastic-net penalties over parameter pytrees, and prior matching.

Parameters are any pytree; ``mask`` (optax-style, per parameter) selects the
entries a penalty covers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.contracts import function_name
from .._src.numerics import abs0, compute_dtype, param, upcast
from .._src.reduce import broadcast, check_reduction, combine_masks, reduce
from .._src.registry import register
from .._src.types import ArrayLike, ArrayTree, Reduction

__all__ = ["elastic_net", "l1_regularization", "l2_regularization", "prior_matching_loss"]

_FAMILY = "multitask"
# A pytree of booleans matching the parameters, or a callable building it from them (optax).
Mask: TypeAlias = "ArrayTree | Callable[[ArrayTree], ArrayTree] | None"


def _mask_tree(mask: Mask, params: ArrayTree) -> ArrayTree:
    """``mask`` (a pytree of booleans, or a callable on ``params``) as per-leaf arrays."""
    if mask is None:
        return None
    tree = mask(params) if callable(mask) else mask
    leaves = jax.tree.leaves(params)
    masks = jax.tree.leaves(tree)
    if len(masks) != len(leaves):
        raise ValueError(
            f"{function_name()}: mask has {len(masks)} leaves but params has {len(leaves)}"
        )
    arrays = [broadcast(m, jnp.shape(p), "mask", dtype=bool) for m, p in zip(masks, leaves)]
    return jax.tree.unflatten(jax.tree.structure(params), arrays)


def _penalty(
    formula: Callable[[jax.Array], jax.Array], params: ArrayTree, mask: Mask, weights: ArrayTree | None,
    reduction: Reduction,
) -> ArrayTree:
    leaves = jax.tree.leaves(params)
    for leaf in leaves:
        contracts.floating(params=leaf)
    masks = _mask_tree(mask, params)
    dtype = compute_dtype(*leaves)
    terms = jax.tree.map(lambda p: formula(jnp.asarray(p, dtype)), params)
    return reduce(terms, reduction, weights=weights, where=masks)


@register(_FAMILY, reference="definition: sum |w| (Lasso penalty)")
def l1_regularization(
    params: ArrayTree, *, weights: ArrayTree | None = None, mask: Mask = None, reduction: Reduction = "sum"
) -> ArrayTree:
    r"""L1 penalty over a parameter pytree; its gradient at 0 is 0.

    .. math:: \mathcal{R}(w) = \sum |w|

    Args:
      params: any pytree of float arrays.
      weights: optional pytree of weights matching ``params``.
      mask: optional pytree of booleans (a bool per leaf, or arrays broadcastable
        to the leaves), or a callable ``params -> mask``, as optax's masks; ``False``
        excludes the entry (e.g. biases and norms).
      reduction: ``"sum"`` (default), ``"mean"`` (over every included entry) or
        ``"none"`` (the pytree of elementwise penalties).

    Returns:
      A scalar, or the pytree of ``|w|`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.l1_regularization({"w": jnp.array([1.0, -2.0]), "b": jnp.array([3.0])},
      ...                           mask={"w": True, "b": False})
      Array(3., dtype=float32)

    References:
      Tibshirani, "Regression Shrinkage and Selection via the Lasso", 1996.
    """
    return _penalty(abs0, params, mask, weights, reduction)


@register(_FAMILY, reference="definition: 0.5 sum w^2 (optax.l2_loss convention)")
def l2_regularization(
    params: ArrayTree, *, weights: ArrayTree | None = None, mask: Mask = None, reduction: Reduction = "sum"
) -> ArrayTree:
    r"""L2 penalty (weight decay) over a parameter pytree.

    .. math:: \mathcal{R}(w) = \tfrac12 \sum w^2

    Args:
      params: any pytree of float arrays.
      weights: optional pytree of weights matching ``params``.
      mask: optional pytree of booleans (a bool per leaf, or arrays broadcastable
        to the leaves), or a callable ``params -> mask``, as optax's masks; ``False``
        excludes the entry (e.g. biases and norms).
      reduction: ``"sum"`` (default), ``"mean"`` (over every included entry) or
        ``"none"`` (the pytree of elementwise penalties).

    Returns:
      A scalar, or the pytree of ``w^2 / 2`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.l2_regularization({"w": jnp.array([1.0, -2.0])})
      Array(2.5, dtype=float32)

    References:
      Tikhonov regularisation; the gradient is ``w`` (decoupled weight decay).
    """
    return _penalty(lambda w: 0.5 * jnp.square(w), params, mask, weights, reduction)


@register(_FAMILY, reference="scikit-learn ElasticNet penalty (Zou & Hastie 2005)")
def elastic_net(
    params: ArrayTree, *, alpha: float | ArrayLike = 1.0, l1_ratio: float | ArrayLike = 0.5,
    weights: ArrayTree | None = None, mask: Mask = None, reduction: Reduction = "sum",
) -> ArrayTree:
    r"""Elastic-net penalty in scikit-learn's parameterisation.

    .. math:: \mathcal{R}(w) = \alpha \left(\rho \sum |w| + \tfrac{1-\rho}{2} \sum w^2\right)

    Args:
      params: any pytree of float arrays.
      alpha: overall strength ``alpha``.
      l1_ratio: ``rho`` in ``[0, 1]``; 1 is the L1 penalty, 0 the L2 penalty.
      weights: optional pytree of weights matching ``params``.
      mask: optional pytree of booleans (a bool per leaf, or arrays broadcastable
        to the leaves), or a callable ``params -> mask``, as optax's masks; ``False``
        excludes the entry (e.g. biases and norms).
      reduction: ``"sum"`` (default), ``"mean"`` (over every included entry) or
        ``"none"`` (the pytree of elementwise penalties).

    Returns:
      A scalar, or the elementwise pytree for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.elastic_net({"w": jnp.array([1.0, -2.0])}, alpha=2.0, l1_ratio=0.5)
      Array(5.5, dtype=float32)

    References:
      Zou & Hastie, "Regularization and variable selection via the elastic net",
      2005; scikit-learn ``ElasticNet``.
    """

    def formula(w: jax.Array) -> jax.Array:
        a, rho = param(alpha, w.dtype), param(l1_ratio, w.dtype)
        return a * (rho * abs0(w) + 0.5 * (1 - rho) * jnp.square(w))

    return _penalty(formula, params, mask, weights, reduction)



@register(_FAMILY, reference="KL(prior || batch-mean prediction), cf. Tanaka et al. 2018")
def prior_matching_loss(
    probs: ArrayLike, prior: ArrayLike, *,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "sum",
) -> jax.Array:
    r"""Distribution calibration: KL between a class prior and the batch-mean prediction.

    .. math:: \mathcal{L} = \sum_c \pi_c \log \frac{\pi_c}{\bar p_c},\quad
       \bar p_c = \frac{\sum_i w_i p_{ic}}{\sum_i w_i}

    Classes with zero prior contribute 0 (with finite gradients).

    Args:
      probs: predicted probabilities ``[batch, classes]``.
      prior: target class distribution ``[classes]``.
      weights: optional per-example weights ``[batch]`` for the batch mean.
      where: optional per-example mask ``[batch]`` for the batch mean.
      reduction: ``"sum"`` (default; the KL) or ``"none"`` (per-class terms);
        ``"mean"`` also returns the KL (it is one divergence).

    Returns:
      A scalar, or ``[classes]`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> probs = jnp.array([[0.9, 0.1], [0.7, 0.3]])
      >>> jaxloss.prior_matching_loss(probs, jnp.array([0.5, 0.5]))
      Array(0.2231435, dtype=float32)

    References:
      Tanaka et al., "Joint Optimization Framework for Learning with Noisy Labels",
      CVPR 2018, https://arxiv.org/abs/1803.11364 (the prior term).
    """
    check_reduction(reduction, own_rule=True)
    contracts.rank(probs, 2, "probs", "expected [batch, classes]")
    contracts.shape_is(prior, (jnp.shape(probs)[1],), "prior", "one probability per class", like={"probs": probs})
    contracts.floating(probs=probs)
    p, pi = upcast(probs, prior)
    mask = combine_masks((p.shape[0],), where)
    w = jnp.ones(p.shape[0], p.dtype) if weights is None else broadcast(weights, (p.shape[0],), "weights", p.dtype)
    if mask is not None:
        w = jnp.where(mask, w, 0)
    total = jnp.sum(w)
    nonempty = total > 0
    mean = jnp.sum(w[:, None] * p, axis=0) / jnp.where(nonempty, total, 1)
    # xlogy-style double where: zero-prior classes and an empty (all-masked) batch give 0 with zero
    # gradients; a class with prior > 0 and mean 0 gives +inf, as KL does; NaN stays NaN.
    live = ~(pi <= 0) & nonempty
    safe_mean = jnp.where(live, mean, 1)
    terms = jnp.where(live, pi * (jnp.log(jnp.where(live, pi, 1)) - jnp.log(safe_mean)), 0)
    return reduce(terms, "none" if reduction == "none" else "sum")
