"""Multiplicative angular-margin heads: L-Softmax and SphereFace (A-Softmax).

The target logit is ``psi(theta) = (-1)^k cos(m theta) - 2k`` with an integer margin
``m`` and ``k = floor(m theta / pi)``, built on the cosine head of :mod:`._heads` (``centers`` ``[dim, classes]``,
PML's ``W``; label ``-1`` ignores an example). Unlike ArcFace/CosFace the logits keep the
magnitudes: ``||x||`` (SphereFace) or ``||w_c|| ||x||`` (L-Softmax).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.numerics import param
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._heads import angular_head, head_cross_entropy

__all__ = ["large_margin_softmax_loss", "sphereface_loss"]

_FAMILY = "embedding"


# --------------------------------------------------------------------------- L-Softmax / SphereFace


def _multiple_angle_target(cos: jax.Array, margin: int) -> jax.Array:
    r""":math:`\psi(\theta) = (-1)^k \cos(m\theta) - 2k` with :math:`k = \lfloor m\theta/\pi \rfloor`.

    :math:`\cos(m\theta) = \sum_n (-1)^n \binom{m}{2n} \cos^{m-2n}\theta\,(1 - \cos^2\theta)^n`
    is a polynomial in :math:`\cos\theta`, so ``acos`` only enters :math:`k`, under a
    stop-gradient (as PML).
    """
    sin2 = 1.0 - jnp.square(cos)
    cos_m = sum(
        (-1) ** n * math.comb(margin, 2 * n) * cos ** (margin - 2 * n) * sin2**n
        for n in range(margin // 2 + 1)
    )
    theta = jnp.arccos(jax.lax.stop_gradient(jnp.clip(cos, -1.0, 1.0)))
    k = jnp.floor(theta / (math.pi / margin))
    return (1.0 - 2.0 * jnp.mod(k, 2.0)) * cos_m - 2.0 * k


def _check_margin(margin: int) -> None:
    if isinstance(margin, bool) or not isinstance(margin, (int, np.integer)) or margin < 1:
        raise ValueError(
            f"{function_name()}: margin must be a static positive int (the angle multiplier m), "
            f"got {margin!r}"
        )


def _multiplicative_margin(
    embeddings: ArrayLike,
    centers: ArrayLike,
    labels: ArrayLike,
    margin: int,
    scale: ArrayLike,
    weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: Reduction,
    center_norms: bool,
) -> jax.Array:
    _check_margin(margin)
    contracts.bounded(scale, "scale", gt=0)
    h = angular_head(embeddings, centers, labels, where)
    dtype = h.cos.dtype
    magnitude = param(scale, dtype) * h.x_norm[:, None]
    if center_norms:
        magnitude = magnitude * h.w_norm[None, :]
    loss = head_cross_entropy(h, _multiple_angle_target(h.target, int(margin)), magnitude)
    return reduce(loss, reduction, weights=weights, where=where, valid=h.valid)


@register(_FAMILY, reference="Liu et al. 2016 (arXiv:1612.02295); PML LargeMarginSoftmaxLoss")
def large_margin_softmax_loss(
    embeddings: ArrayLike,
    centers: ArrayLike,
    labels: ArrayLike,
    *,
    margin: int = 4,
    scale: ArrayLike = 1.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Large-margin softmax (L-Softmax): a multiplicative angular margin on the target class.

    .. math::
       \ell_i = -\log \frac{e^{s \lVert w_{y_i}\rVert \lVert x_i\rVert \psi(\theta_{y_i})}}
       {e^{s \lVert w_{y_i}\rVert \lVert x_i\rVert \psi(\theta_{y_i})}
       + \sum_{j \ne y_i} e^{s \lVert w_j\rVert \lVert x_i\rVert \cos\theta_j}},
       \qquad \psi(\theta) = (-1)^k \cos(m\theta) - 2k,\ k = \lfloor m\theta/\pi \rfloor

    :math:`\cos(m\theta)` is the multiple-angle polynomial in :math:`\cos\theta`
    (the paper's Eq. 7); :math:`k` comes from ``acos`` under a stop-gradient, as in PML,
    so the gradient never meets ``acos``'s infinite slope at :math:`\pm 1`.

    Args:
      embeddings: ``[batch, dim]`` floating embeddings (not normalised: their norms scale the logits).
      centers: ``[dim, classes]`` class weights (PML's ``W``); their norms scale the logits.
      labels: ``[batch]`` integer classes; ``-1`` ignores the example.
      margin: :math:`m`, a static positive int (1 is the plain softmax).
      scale: :math:`s`; float or traced array.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output's shape; masked
        entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"`` (the mean over non-ignored examples);
      ``[batch]`` per-example losses for ``"none"`` (0 where ignored).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[2.0, 0.5], [0.3, 1.0]])
      >>> jaxloss.large_margin_softmax_loss(x, jnp.eye(2), jnp.array([0, 1]), margin=2)
      Array(0.34230092, dtype=float32)

    References:
      W. Liu, Y. Wen, Z. Yu, M. Yang, "Large-Margin Softmax Loss for Convolutional
      Neural Networks", ICML 2016, https://arxiv.org/abs/1612.02295;
      pytorch-metric-learning ``LargeMarginSoftmaxLoss``. A zero embedding or class
      weight has a finite (zero) norm gradient here (PML's ``torch.norm`` gives NaN there).
    """
    return _multiplicative_margin(
        embeddings, centers, labels, margin, scale, weights, where, reduction, center_norms=True
    )


@register(_FAMILY, reference="Liu et al. 2017 (arXiv:1704.08063); PML SphereFaceLoss")
def sphereface_loss(
    embeddings: ArrayLike,
    centers: ArrayLike,
    labels: ArrayLike,
    *,
    margin: int = 4,
    scale: ArrayLike = 1.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""SphereFace (A-Softmax): L-Softmax with normalised class weights.

    .. math::
       \ell_i = -\log \frac{e^{s \lVert x_i\rVert \psi(\theta_{y_i})}}
       {e^{s \lVert x_i\rVert \psi(\theta_{y_i})}
       + \sum_{j \ne y_i} e^{s \lVert x_i\rVert \cos\theta_j}}

    with :math:`\psi` the multiplicative angular margin of
    :func:`large_margin_softmax_loss` (integer :math:`m`, :math:`k` under a stop-gradient).

    Args:
      embeddings: ``[batch, dim]`` floating embeddings (their norms scale the logits).
      centers: ``[dim, classes]`` class weights (PML's ``W``), normalised inside.
      labels: ``[batch]`` integer classes; ``-1`` ignores the example.
      margin: :math:`m`, a static positive int.
      scale: :math:`s`; float or traced array.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output's shape; masked
        entries contribute nothing.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"`` (the mean over non-ignored examples);
      ``[batch]`` per-example losses for ``"none"`` (0 where ignored).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[2.0, 0.5], [0.3, 1.0]])
      >>> jaxloss.sphereface_loss(x, 3.0 * jnp.eye(2), jnp.array([0, 1]), margin=2)
      Array(0.34230092, dtype=float32)

    References:
      W. Liu et al., "SphereFace: Deep Hypersphere Embedding for Face Recognition",
      CVPR 2017, https://arxiv.org/abs/1704.08063; pytorch-metric-learning
      ``SphereFaceLoss``. A zero embedding has a finite (zero) norm gradient here.
    """
    return _multiplicative_margin(
        embeddings, centers, labels, margin, scale, weights, where, reduction, center_norms=False
    )
