"""Perceptual losses: feature distances, Gram-matrix style loss, total variation.

Images and feature maps are channel-last (``[batch, height, width, channels]``,
the Flax convention). ``feature_fn`` is any function from a batch of images to
a pytree of feature maps (a Flax module's ``apply`` with its parameters bound,
returning e.g. a tuple of intermediate activations); targets' features carry no
gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.contracts import function_name
from .._src.numerics import abs0, rows, upcast
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, ArrayTree, Reduction

__all__ = ["gram_matrix", "perceptual_loss", "style_loss", "total_variation_loss"]

_FAMILY = "perceptual"


def _layer_weights(layer_weights: Any, num_layers: int, dtype: Any) -> list[jax.Array]:
    if layer_weights is None:
        return [jnp.ones((), dtype)] * num_layers
    leaves = jax.tree.leaves(layer_weights)
    if len(leaves) != num_layers:
        raise ValueError(
            f"{function_name()}: layer_weights has {len(leaves)} entries but feature_fn "
            f"returned {num_layers} feature maps"
        )
    return [jnp.asarray(w, dtype) for w in leaves]


def _feature_pairs(
    feature_fn: Callable[[jax.Array], ArrayTree], predictions: Any, targets: Any
) -> tuple[Any, list[tuple[jax.Array, jax.Array]]]:
    contracts.floating(predictions=predictions, targets=targets)
    contracts.same_shape(predictions=predictions, targets=targets)
    contracts.min_rank(predictions, 1, "predictions")
    p, t = upcast(predictions, targets)
    fp = jax.tree.leaves(feature_fn(p))
    ft = jax.tree.leaves(jax.lax.stop_gradient(feature_fn(t)))
    for a in fp:
        contracts.min_rank(a, 2, "feature maps")
        if a.shape[0] != p.shape[0]:
            raise ValueError(
                f"{function_name()}: feature_fn must keep the batch axis first; got a "
                f"feature map of shape {a.shape} for {p.shape[0]} inputs"
            )
    return p.dtype, [(a.astype(p.dtype), b.astype(p.dtype)) for a, b in zip(fp, ft)]


@register(_FAMILY, reference="Johnson et al. 2016 (feature reconstruction loss), arXiv:1603.08155")
def perceptual_loss(
    feature_fn: Callable[[jax.Array], ArrayTree], predictions: ArrayLike, targets: ArrayLike, *,
    layer_weights: ArrayTree | None = None, distance: Literal["l2", "l1"] = "l2",
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Perceptual (feature reconstruction) loss through any feature extractor.

    .. math:: \ell_i = \sum_l w_l \frac{1}{C_l H_l W_l}
       \lVert \phi_l(\hat y_i) - \phi_l(y_i) \rVert_p^p,\quad p \in \{1, 2\}

    Args:
      feature_fn: images ``[batch, ...]`` -> pytree of feature maps ``[batch, ...]``.
      predictions: generated images ``[batch, ...]``.
      targets: reference images, same shape (no gradient through their features).
      layer_weights: optional pytree/sequence with one weight per feature map
        (in ``jax.tree.leaves`` order); default 1 each.
      distance: ``"l2"`` (squared error) or ``"l1"``.
      weights: optional per-example weights ``[batch]``.
      where: optional per-example mask ``[batch]``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (per example).

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> features = lambda x: (x, 2 * x)
      >>> jaxloss.perceptual_loss(features, jnp.ones((2, 3)), jnp.zeros((2, 3)))
      Array(5., dtype=float32)

    References:
      Johnson, Alahi & Fei-Fei, "Perceptual Losses for Real-Time Style Transfer
      and Super-Resolution", ECCV 2016, https://arxiv.org/abs/1603.08155.
    """
    contracts.choice(distance, ("l2", "l1"), "distance")
    dtype, pairs = _feature_pairs(feature_fn, predictions, targets)
    dist = jnp.square if distance == "l2" else abs0
    per_example = sum(
        w * jnp.mean(rows(dist(a - b)), axis=1)
        for w, (a, b) in zip(_layer_weights(layer_weights, len(pairs), dtype), pairs)
    )
    return reduce(per_example, reduction, weights=weights, where=where)


def gram_matrix(features: ArrayLike) -> jax.Array:
    r"""Gram matrices of channel-last feature maps, normalised by ``C H W``.

    .. math:: G_{cd} = \frac{1}{C H W} \sum_{hw} F_{hwc} F_{hwd}

    Args:
      features: ``[batch, *spatial, channels]``.

    Returns:
      ``[batch, channels, channels]``.

    Examples:
      >>> import jax.numpy as jnp
      >>> gram_matrix(jnp.ones((1, 2, 2, 3))).shape
      (1, 3, 3)

    References:
      Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural
      Networks", CVPR 2016.
    """
    features = jnp.asarray(features)
    b, c = features.shape[0], features.shape[-1]
    flat = features.reshape(b, math.prod(features.shape[1:-1]), c)
    return jnp.einsum("bnc,bnd->bcd", flat, flat) / (flat.shape[1] * c)


@register(_FAMILY, reference="Gatys et al. 2016 / Johnson et al. 2016 (Gram-matrix style loss)")
def style_loss(
    feature_fn: Callable[[jax.Array], ArrayTree], predictions: ArrayLike, targets: ArrayLike, *,
    layer_weights: ArrayTree | None = None,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Style loss: squared Frobenius distance between Gram matrices of feature maps.

    .. math:: \ell_i = \sum_l w_l \lVert G_l(\hat y_i) - G_l(y_i) \rVert_F^2,\quad
       G_l = \frac{F_l^\top F_l}{C_l H_l W_l}

    Args:
      feature_fn: images -> pytree of channel-last feature maps ``[batch, *spatial, C]``.
      predictions: generated images ``[batch, ...]``.
      targets: style images, same shape (no gradient through their features).
      layer_weights: optional pytree/sequence, one weight per feature map.
      weights: optional per-example weights ``[batch]``.
      where: optional per-example mask ``[batch]``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (per example).

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.ones((1, 2, 2, 1))
      >>> jaxloss.style_loss(lambda x: x, 2 * x, x)
      Array(9., dtype=float32)

    References:
      Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural
      Networks", CVPR 2016; Johnson et al. 2016, https://arxiv.org/abs/1603.08155.
    """
    dtype, pairs = _feature_pairs(feature_fn, predictions, targets)
    per_example = sum(
        w * jnp.sum(jnp.square(gram_matrix(a) - gram_matrix(b)), axis=(1, 2))
        for w, (a, b) in zip(_layer_weights(layer_weights, len(pairs), dtype), pairs)
    )
    return reduce(per_example, reduction, weights=weights, where=where)


@register(_FAMILY, reference="tf.image.total_variation (anisotropic, sum of absolute differences)",
          aliases=("tv_loss",))
def total_variation_loss(
    images: ArrayLike, *,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
    r"""Anisotropic total variation of channel-last images.

    .. math:: \ell_i = \sum_{h,w,c} |x_{h+1,w,c} - x_{h,w,c}| + |x_{h,w+1,c} - x_{h,w,c}|

    Args:
      images: ``[batch, height, width, channels]``.
      weights: optional per-image weights ``[batch]``.
      where: optional per-image mask ``[batch]``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (per image, as
        ``tf.image.total_variation``).

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.total_variation_loss(jnp.arange(4.0).reshape(1, 2, 2, 1))
      Array(6., dtype=float32)

    References:
      Rudin, Osher & Fatemi 1992; TensorFlow ``tf.image.total_variation``.
    """
    contracts.rank(images, 4, "images", "expected [batch, height, width, channels]")
    contracts.floating(images=images)
    (x,) = upcast(images)
    dh = abs0(x[:, 1:] - x[:, :-1])
    dw = abs0(x[:, :, 1:] - x[:, :, :-1])
    loss = jnp.sum(dh, axis=(1, 2, 3)) + jnp.sum(dw, axis=(1, 2, 3))
    return reduce(loss, reduction, weights=weights, where=where)
