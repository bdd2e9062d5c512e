"""LPIPS (Zhang et al. 2018): the learned perceptual distance, for any feature extractor.

The pretrained networks and linear heads of the ``lpips`` package cannot be downloaded at
run time (API.md 3.G); this is its ``LPIPS.forward`` math over the caller's
``feature_fn`` (a Flax AlexNet/VGG/SqueezeNet with its weights bound, say) and the
caller's per-channel ``linear_weights``. Images and feature maps are channel-last.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.contracts import function_name
from .._src.numerics import rows, safe_norm
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, ArrayTree, Reduction
from ._perceptual import _feature_pairs

__all__ = ["lpips_loss"]

_FAMILY = "perceptual"
_EPS = 1e-10  # lpips.normalize_tensor's eps


def _unit(x: jax.Array) -> jax.Array:
    """``x / (||x|| + 1e-10)`` along the channel (last) axis, with a zero gradient at ``x = 0``."""
    return x / (safe_norm(x, axis=-1, keepdims=True) + _EPS)


def _channel_weights(
    linear_weights: Sequence[ArrayLike | Sequence[float]] | None, pairs: list, dtype: object
) -> list:
    if linear_weights is None:
        return [None] * len(pairs)
    leaves = list(linear_weights)
    if len(leaves) != len(pairs):
        raise ValueError(
            f"{function_name()}: linear_weights has {len(leaves)} entries but feature_fn returned "
            f"{len(pairs)} feature maps; pass one [channels] vector per feature map"
        )
    out = []
    for i, (w, (a, _)) in enumerate(zip(leaves, pairs)):
        contracts.bounded(w, f"linear_weights[{i}]", ge=0, scalar=False)
        w = jnp.asarray(w, dtype)  # type: ignore[arg-type]
        if w.shape not in ((a.shape[-1],), (1, a.shape[-1])):
            raise ValueError(
                f"{function_name()}: linear_weights[{i}] has shape {w.shape} but feature map {i} has "
                f"{a.shape[-1]} channels (shape {a.shape}); pass a [{a.shape[-1]}] vector"
            )
        out.append(w.reshape(-1))
    return out


def _upsample(x: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """``[B, *s]`` to ``[B, *shape]`` by multilinear interpolation with half-pixel centres
    (torch ``Upsample(mode="bilinear", align_corners=False)``)."""
    if x.shape[1:] == shape:
        return x
    return jax.image.resize(x, (x.shape[0], *shape), method="linear", antialias=False)


@register(
    _FAMILY, reference="lpips LPIPS.forward (Zhang et al. 2018); MONAI PerceptualLoss (LPIPS nets)"
)
def lpips_loss(
    feature_fn: Callable[[jax.Array], ArrayTree],
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    linear_weights: Sequence[ArrayLike | Sequence[float]] | None = None,
    spatial_average: bool = True,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""LPIPS perceptual distance through any feature extractor (the ``lpips`` package's math).

    .. math:: d_i = \sum_l \frac{1}{|S_l|} \sum_{s \in S_l} \sum_c w_{l,c}
       \big(\hat\phi_l(\hat y_i)_{s,c} - \hat\phi_l(y_i)_{s,c}\big)^2,\qquad
       \hat\phi = \frac{\phi}{\lVert \phi \rVert_c + 10^{-10}}

    Each feature map :math:`\phi_l` is unit-normalised along its channels, the squared
    difference is weighted per channel by :math:`w_l` (the ``lpips`` 1x1 convolution
    ``lins[l]``) and averaged over its spatial positions :math:`S_l`; the layers add up.

    Args:
      feature_fn: images ``[batch, *spatial, C]`` -> pytree of channel-last feature maps
        ``[batch, *spatial_l, C_l]`` (in ``jax.tree.leaves`` order). Input scaling
        (``lpips``'s ``ScalingLayer``, or ``normalize=True``'s ``2x - 1``) belongs here.
      predictions: images ``[batch, *spatial, C]``.
      targets: reference images, same shape (no gradient through their features, as
        :func:`perceptual_loss`).
      linear_weights: a sequence with one non-negative ``[C_l]`` vector per feature map, in
        ``jax.tree.leaves`` order of the features (the ``lpips``
        heads' ``lins[l].model[-1].weight``, reshaped), or ``None`` (default): every
        weight 1, i.e. ``lpips``'s ``lpips=False`` (a plain channel sum).
      spatial_average: average each layer over its positions (default; ``lpips``'s
        ``spatial=False``). ``False`` upsamples each layer's map to the images' spatial
        shape (bilinear, half-pixel centres) and returns the summed map, ``lpips``'s
        ``spatial=True``. Static.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (per image ``[batch]``, or
        the ``[batch, *spatial]`` map with ``spatial_average=False``).

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` (or ``[batch, *spatial]``) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> features = lambda x: (x, x[:, ::2, ::2])
      >>> x = jnp.ones((1, 4, 4, 2))
      >>> jaxloss.lpips_loss(features, x, x.at[..., 1].set(-1.0))
      Array(3.9999998, dtype=float32)

    References:
      R. Zhang, P. Isola, A. Efros, E. Shechtman, O. Wang, "The Unreasonable Effectiveness
      of Deep Features as a Perceptual Metric", CVPR 2018, https://arxiv.org/abs/1801.03924;
      the ``lpips`` package (0.1.4) ``LPIPS.forward`` (``normalize_tensor``, squared
      difference, ``lins``, ``spatial_average``/``upsample``, sum over layers), which MONAI
      ``PerceptualLoss(network_type="alex"|"vgg"|"squeeze")`` calls.

      Differences: channel-last layout; the networks, their input scaling and the heads'
      weights are the caller's (pretrained weights are out of scope); targets' features
      carry no gradient (``lpips`` differentiates both images); the norm's gradient at an
      all-zero feature vector is 0 instead of NaN; ``spatial_average=False`` also works for
      1-D and 3-D feature maps (``lpips``: 2-D only).
    """
    dtype, pairs = _feature_pairs(feature_fn, predictions, targets)
    if not pairs:
        raise ValueError(f"{function_name()}: feature_fn returned no feature maps")
    spatial = tuple(jnp.shape(predictions)[1:-1])
    per_layer = []
    for w, (a, b) in zip(_channel_weights(linear_weights, pairs, dtype), pairs):
        contracts.min_rank(a, 3, "feature maps")
        diff = jnp.square(_unit(a) - _unit(b))
        d = jnp.sum(
            diff if w is None else diff * w.reshape((1,) * (diff.ndim - 1) + (-1,)), axis=-1
        )
        if spatial_average:
            per_layer.append(jnp.mean(rows(d), axis=1))
        else:
            if d.ndim - 1 != len(spatial):
                raise ValueError(
                    f"{function_name()}: spatial_average=False needs feature maps with the images' "
                    f"{len(spatial)} spatial axes; got a feature map of shape {a.shape}"
                )
            per_layer.append(_upsample(d, spatial))
    loss = sum(per_layer[1:], per_layer[0])
    return reduce(loss, reduction, weights=weights, where=where)
