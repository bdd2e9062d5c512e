"""The asymmetric unified focal loss and its two parts (MONAI ``unified_focal_loss``, binary).

Yeung et al. 2022. The inputs are binary probability maps, channel-last: two channels
``[1 - p, p]`` (background, foreground) or a single foreground channel ``p``, expanded
to ``[1 - p, p]`` as MONAI does. No activation is applied (MONAI applies none).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.contracts import function_name
from .._src.labels import poison
from .._src.numerics import param
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._inputs import class_maps
from ._overlap import _focal_power

__all__ = [
    "asymmetric_focal_loss",
    "asymmetric_focal_tversky_loss",
    "asymmetric_unified_focal_loss",
]

_FAMILY = "segmentation"


def _binary(
    predictions: ArrayLike, targets: ArrayLike, eps: float | ArrayLike, axis: int
) -> tuple[jax.Array, jax.Array, jax.Array | None]:
    """``[B, *S, 2]`` probabilities clipped to ``[eps, 1 - eps]``, ``[B, *S, 2]`` targets and the
    ``[B]`` items with out-of-range labels (or ``None``)."""
    contracts.bounded(eps, "eps", gt=0, lt=0.5)
    prep = class_maps(predictions, targets, None, None, axis=axis)
    x, t = prep.x, prep.t
    assert t is not None
    if x.shape[-1] not in (1, 2):
        raise ValueError(
            f"{function_name()}: binary segmentation only: predictions must have 1 or 2 channels "
            f"(the class axis), got {x.shape[-1]} (MONAI supports two classes only)"
        )
    if x.shape[-1] == 1:
        x = jnp.concatenate([1 - x, x], axis=-1)
        t = jnp.concatenate([1 - t, t], axis=-1)
    e = param(eps, x.dtype)
    return jnp.clip(x, e, 1 - e), t, prep.bad


def _per_item(loss: jax.Array, bad: jax.Array | None) -> jax.Array:
    """NaN for the batch items with out-of-range labels."""
    if bad is None:
        return loss
    return poison(loss, bad.reshape((-1,) + (1,) * (loss.ndim - 1)))


def _focal_terms(p: jax.Array, t: jax.Array, delta: jax.Array, gamma: jax.Array) -> jax.Array:
    """AFL per pixel and channel ``[B, *S, 2]``: the background focal-modulated, the foreground not."""
    ce = -t * jnp.log(p)
    back = (1 - delta) * jnp.power(1 - p[..., 0], gamma) * ce[..., 0]
    fore = delta * ce[..., 1]
    return jnp.stack([back, fore], axis=-1)


def _tversky_terms(
    p: jax.Array, t: jax.Array, delta: jax.Array, gamma: jax.Array, eps: jax.Array
) -> jax.Array:
    """AFTL per item and channel ``[B, 2]``: ``1 - TI`` for the background, ``(1 - TI)^(1 - gamma)``
    for the foreground."""
    spatial = tuple(range(1, p.ndim - 1))
    tp = jnp.sum(t * p, axis=spatial)
    fn = jnp.sum(t * (1 - p), axis=spatial)
    fp = jnp.sum((1 - t) * p, axis=spatial)
    index = (tp + eps) / (tp + delta * fn + (1 - delta) * fp + eps)
    # u^(1 - gamma) has an infinite slope at u = 0 (a rounded-off perfect overlap): 0 there.
    fore = _focal_power(1 - index[:, 1], 1 - gamma)
    return jnp.stack([1 - index[:, 0], fore], axis=-1)


def _hyper(delta, gamma, dtype) -> tuple[jax.Array, jax.Array]:
    return param(delta, dtype), param(gamma, dtype)


@register(_FAMILY, reference="monai.losses.AsymmetricFocalLoss")
def asymmetric_focal_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    delta: float | ArrayLike = 0.7,
    gamma: float | ArrayLike = 2.0,
    eps: float | ArrayLike = 1e-7,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Asymmetric focal loss (MONAI ``AsymmetricFocalLoss`` semantics), binary, channel-last.

    With probabilities clipped to :math:`[\epsilon, 1 - \epsilon]`, per pixel:

    .. math::
       \ell_0 = -(1 - \delta) (1 - p_0)^{\gamma} t_0 \log p_0, \qquad
       \ell_1 = -\delta \, t_1 \log p_1

    the background channel focal-modulated and the foreground (rare) channel not.

    Args:
      predictions: ``[batch, *spatial, 2]`` probabilities ``[1 - p, p]`` or ``[batch,
        *spatial, 1]`` foreground probabilities ``p`` (expanded to ``[1 - p, p]``); no
        activation is applied.
      targets: an integer mask ``[batch, *spatial]`` (values 0 and 1) or a floating map
        with the shape of ``predictions`` (one channel: the foreground, expanded).
      delta: :math:`\delta \in [0, 1]`, the foreground weight (MONAI's "weight of the
        background" is :math:`1 - \delta`); float or traced array.
      gamma: :math:`\gamma \ge 0`, the background's focal exponent; float or traced array.
      eps: :math:`\epsilon \in (0, 0.5)`, the clipping floor (MONAI ``epsilon``).
      axis: the class axis: ``-1`` channel-last (default), ``1`` channels-first (MONAI's).
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output.
      reduction: ``"mean"`` (default, over batch, pixels and both channels), ``"sum"`` or
        ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch, *spatial, 2]`` for ``"none"`` (MONAI's
      ``[B, 2, *S]`` channel-last).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[[0.9], [0.2], [0.8], [0.1]]])  # [1 batch, 4 pixels, 1 channel]
      >>> jaxloss.asymmetric_focal_loss(p, jnp.array([[1, 0, 1, 0]]))
      Array(0.0291, dtype=float32)

    References:
      Yeung et al., `Unified Focal loss <https://arxiv.org/abs/2102.04525>`_, 2022; MONAI
      ``monai.losses.AsymmetricFocalLoss`` (MONAI's defaults ``delta=0.7, gamma=2,
      epsilon=1e-7`` are kept; ``epsilon`` is ``eps`` here). Integer targets are MONAI's
      ``to_onehot_y=True``. Deliberate differences: a single channel is expanded to
      ``[1 - p, p]`` (MONAI does that in ``AsymmetricUnifiedFocalLoss`` only; its
      ``AsymmetricFocalLoss`` fails on one channel); MONAI's ``ignore_index`` is not mapped.
    """
    contracts.bounded(delta, "delta", ge=0, le=1)
    contracts.bounded(gamma, "gamma", ge=0)
    p, t, bad = _binary(predictions, targets, eps, axis)
    d, g = _hyper(delta, gamma, p.dtype)
    loss = _per_item(_focal_terms(p, t, d, g), bad)
    return reduce(loss, reduction, weights=weights, where=where)


@register(_FAMILY, reference="monai.losses.AsymmetricFocalTverskyLoss")
def asymmetric_focal_tversky_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    delta: float | ArrayLike = 0.7,
    gamma: float | ArrayLike = 0.75,
    eps: float | ArrayLike = 1e-7,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Asymmetric focal Tversky loss (MONAI ``AsymmetricFocalTverskyLoss`` semantics), binary.

    With probabilities clipped to :math:`[\epsilon, 1 - \epsilon]` and, per example and
    channel, :math:`TP = \sum p t`, :math:`FN = \sum (1 - p) t`, :math:`FP = \sum p (1 - t)`
    over the spatial positions:

    .. math::
       TI_c = \frac{TP + \epsilon}{TP + \delta FN + (1 - \delta) FP + \epsilon}, \qquad
       \ell_0 = 1 - TI_0, \qquad \ell_1 = (1 - TI_1)^{1 - \gamma}

    the foreground (rare) channel focal-enhanced, the background not.

    Args:
      predictions: ``[batch, *spatial, 2]`` probabilities ``[1 - p, p]`` or ``[batch,
        *spatial, 1]`` foreground probabilities ``p`` (expanded to ``[1 - p, p]``); no
        activation is applied.
      targets: an integer mask ``[batch, *spatial]`` (values 0 and 1) or a floating map
        with the shape of ``predictions`` (one channel: the foreground, expanded).
      delta: :math:`\delta \in [0, 1]`, the false-negative weight; float or traced array.
      gamma: :math:`\gamma \in [0, 1]`, the foreground's focal parameter; float or traced.
      eps: :math:`\epsilon \in (0, 0.5)`, the clipping floor and the smoothing (MONAI
        ``epsilon``).
      axis: the class axis: ``-1`` channel-last (default), ``1`` channels-first (MONAI's).
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional boolean mask of the ``"none"`` output.
      reduction: ``"mean"`` (default, over batch and both channels), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch, 2]`` for ``"none"`` (MONAI's).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[[0.9], [0.2], [0.8], [0.1]]])  # [1 batch, 4 pixels, 1 channel]
      >>> jaxloss.asymmetric_focal_tversky_loss(p, jnp.array([[1, 0, 1, 0]]))
      Array(0.3862, dtype=float32)

    References:
      Yeung et al., `Unified Focal loss <https://arxiv.org/abs/2102.04525>`_, 2022; MONAI
      ``monai.losses.AsymmetricFocalTverskyLoss`` (MONAI's defaults ``delta=0.7,
      gamma=0.75, epsilon=1e-7`` are kept; ``epsilon`` is ``eps`` here). Integer targets
      are MONAI's ``to_onehot_y=True``. Deliberate differences: a single channel is
      expanded to ``[1 - p, p]`` (MONAI's ``AsymmetricFocalTverskyLoss`` fails on one
      channel); where :math:`1 - TI_1` rounds to 0 the foreground term's gradient is 0
      (torch: an infinite one; the focal Tversky rule of :func:`focal_tversky_loss`);
      MONAI's ``ignore_index`` is not mapped.
    """
    contracts.bounded(delta, "delta", ge=0, le=1)
    contracts.bounded(gamma, "gamma", ge=0, le=1)
    p, t, bad = _binary(predictions, targets, eps, axis)
    d, g = _hyper(delta, gamma, p.dtype)
    loss = _per_item(_tversky_terms(p, t, d, g, param(eps, p.dtype)), bad)
    return reduce(loss, reduction, weights=weights, where=where)


@register(
    _FAMILY, reference="monai.losses.AsymmetricUnifiedFocalLoss", aliases=("unified_focal_loss",)
)
def asymmetric_unified_focal_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weight: float | ArrayLike = 0.5,
    delta: float | ArrayLike = 0.7,
    gamma: float | ArrayLike = 0.5,
    axis: int = -1,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Asymmetric unified focal loss (MONAI ``AsymmetricUnifiedFocalLoss`` semantics), binary.

    .. math:: \mathcal{L} = w \, \mathcal{L}_{\mathrm{AF}} + (1 - w) \, \mathcal{L}_{\mathrm{AFT}}

    :math:`\mathcal{L}_{\mathrm{AF}}` is :func:`asymmetric_focal_loss` and
    :math:`\mathcal{L}_{\mathrm{AFT}}` :func:`asymmetric_focal_tversky_loss`, both with
    the same ``delta`` and ``gamma`` (as MONAI) and :math:`\epsilon = 10^{-7}`.

    Args:
      predictions: ``[batch, *spatial, 2]`` probabilities ``[1 - p, p]`` or ``[batch,
        *spatial, 1]`` foreground probabilities ``p`` (expanded to ``[1 - p, p]``, as
        MONAI); no activation is applied (MONAI applies none either, although its
        docstring speaks of logits).
      targets: an integer mask ``[batch, *spatial]`` (values 0 and 1) or a floating map
        with the shape of ``predictions`` (one channel: the foreground, expanded).
      weight: :math:`w \in [0, 1]`; float or traced array.
      delta: :math:`\delta \in [0, 1]` of both parts; float or traced array.
      gamma: :math:`\gamma \in [0, 1]` of both parts; float or traced array.
      axis: the class axis: ``-1`` channel-last (default), ``1`` channels-first (MONAI's).
      weights: optional per-example weights broadcastable to ``[batch]``.
      where: optional boolean per-example mask broadcastable to ``[batch]``.
      reduction: ``"mean"`` (default, MONAI's), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` for ``"none"``: per example, the
      focal part's mean over pixels and channels and the Tversky part's mean over the
      two channels, combined (their mean over the batch is MONAI's value).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[[0.9], [0.2], [0.8], [0.1]]])  # [1 batch, 4 pixels, 1 channel]
      >>> jaxloss.asymmetric_unified_focal_loss(p, jnp.array([[1, 0, 1, 0]]))
      Array(0.1512, dtype=float32)

    References:
      Yeung et al., `Unified Focal loss <https://arxiv.org/abs/2102.04525>`_, 2022; MONAI
      ``monai.losses.AsymmetricUnifiedFocalLoss`` (defaults ``weight=0.5, delta=0.7,
      gamma=0.5`` kept). Integer targets are MONAI's ``to_onehot_y=True`` (two channels)
      or its one-channel label map (one channel). Deliberate differences: ``"none"`` is
      per example ``[batch]`` and ``"sum"`` its sum (MONAI's ``"none"`` and ``"sum"`` both
      return the mean, as its parts are always mean-reduced); MONAI's
      ``ignore_index`` and ``num_classes`` (only 2 supported) are not mapped.
    """
    contracts.bounded(weight, "weight", ge=0, le=1)
    contracts.bounded(delta, "delta", ge=0, le=1)
    contracts.bounded(gamma, "gamma", ge=0, le=1)
    p, t, bad = _binary(predictions, targets, 1e-7, axis)
    d, g = _hyper(delta, gamma, p.dtype)
    w = param(weight, p.dtype)
    focal = _focal_terms(p, t, d, g)
    focal = jnp.mean(focal, axis=tuple(range(1, focal.ndim)))
    tversky = jnp.mean(_tversky_terms(p, t, d, g, param(1e-7, p.dtype)), axis=1)
    loss = _per_item(w * focal + (1 - w) * tversky, bad)
    return reduce(loss, reduction, weights=weights, where=where)
