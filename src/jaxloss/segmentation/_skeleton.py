"""Topology-aware losses: soft clDice and its Dice combination (MONAI semantics), channel-last.

The soft skeleton (Shit et al. 2021) is built from soft morphology: erosion is the
minimum of axis-aligned 3-tap min-pools, dilation a 3^d max-pool, both
``lax.reduce_window`` with infinite padding as torch's pooling.
"""

from __future__ import annotations

import functools
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.labels import poison
from .._src.numerics import param
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._distance import _prologue
from ._inputs import Activation

__all__ = ["soft_cldice_loss", "soft_dice_cldice_loss"]

_FAMILY = "segmentation"


def _shift(x: jax.Array, axis: int, by: int, fill: float) -> jax.Array:
    """``y[..., s, ...] = x[..., s + by, ...]`` along ``axis`` (``by`` in -1, 0, 1), ``fill`` outside."""
    if by == 0:
        return x
    edge = jnp.full((*x.shape[:axis], 1, *x.shape[axis + 1 :]), fill, x.dtype)
    n = x.shape[axis]
    if by > 0:
        return jnp.concatenate([jax.lax.slice_in_dim(x, 1, n, axis=axis), edge], axis=axis)
    return jnp.concatenate([edge, jax.lax.slice_in_dim(x, 0, n - 1, axis=axis)], axis=axis)


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2))
def _pool_vjp(x: jax.Array, axis: int, is_max: bool) -> jax.Array:
    """A stride-1 3-tap max (``is_max``) or min pool along ``axis``, 'same' size, padded with
    -inf/inf as torch's pooling: the value of ``lax.reduce_window``. The ``custom_vjp`` routes the
    cotangent to the first extremal element of each window, as the gradient of ``reduce_window``
    (its ``select_and_scatter``) does, whose compilation is many times slower."""
    return _pool_fwd(x, axis, is_max)[0]


def _pool_fwd(x, axis, is_max):
    fill = -jnp.inf if is_max else jnp.inf
    best = value = _shift(x, axis, -1, fill)
    pick = jnp.zeros(x.shape, jnp.int8)
    for m, by in ((1, 0), (2, 1)):
        cand = _shift(x, axis, by, fill)
        take = cand > best if is_max else cand < best
        best = jnp.where(take, cand, best)
        pick = jnp.where(take, jnp.int8(m), pick)
        value = jnp.maximum(value, cand) if is_max else jnp.minimum(value, cand)  # NaN propagates
    return value, pick


def _pool_bwd(axis, is_max, pick, g):
    # Output s took x[s + m - 1]: its cotangent goes back by the opposite shift.
    dx = jnp.where(pick == 1, g, 0)
    dx = dx + _shift(jnp.where(pick == 0, g, 0), axis, 1, 0.0)
    return (dx + _shift(jnp.where(pick == 2, g, 0), axis, -1, 0.0),)


_pool_vjp.defvjp(_pool_fwd, _pool_bwd)


def _pool(x: jax.Array, axis: int, is_max: bool) -> jax.Array:
    return cast(jax.Array, _pool_vjp(x, axis, is_max))


def _erode(x: jax.Array) -> jax.Array:
    """MONAI ``soft_erode``: the minimum over the axis-aligned 3-tap min-pools."""
    pools = [_pool(x, a, False) for a in range(1, x.ndim - 1)]
    out = pools[0]
    for pool in pools[1:]:
        out = jnp.minimum(out, pool)
    return out


def _dilate(x: jax.Array) -> jax.Array:
    """MONAI ``soft_dilate``: a 3^d max-pool, as separable 3-tap max-pools (last spatial axis
    first, so that the cotangent reaches the first maximum of the window in row-major order, as
    ``reduce_window``'s gradient)."""
    for a in range(x.ndim - 2, 0, -1):
        x = _pool(x, a, True)
    return x


def _soft_skeleton(x: jax.Array, iterations: int) -> jax.Array:
    """MONAI ``soft_skel`` of ``[B, *S, C]`` maps: skeleton from iterated erosion and opening.

    One ``lax.scan`` step per erosion level (``iterations + 1`` of them), so the morphology and its
    gradient are compiled once, not once per iteration. Level ``i`` adds
    ``relu(delta - skel * delta)`` with ``delta = relu(x_i - dilate(erode(x_i)))``; from the empty
    skeleton this is ``delta``, MONAI's initial skeleton, exactly.
    """

    def level(
        carry: tuple[jax.Array, jax.Array], _: None
    ) -> tuple[tuple[jax.Array, jax.Array], None]:
        x, skel = carry
        eroded = _erode(x)
        delta = jax.nn.relu(x - _dilate(eroded))
        return (eroded, skel + jax.nn.relu(delta - skel * delta)), None

    (_, skel), _ = jax.lax.scan(level, (x, jnp.zeros_like(x)), None, length=iterations + 1)
    return skel


def _check_iterations(iterations: int) -> None:
    if (
        not isinstance(iterations, (int, np.integer))
        or isinstance(iterations, bool)
        or iterations < 0
    ):
        raise ValueError(
            f"{function_name()}: iterations must be a non-negative integer, got {iterations!r}"
        )


def _cldice(
    predictions: ArrayLike,
    targets: ArrayLike,
    iterations: int,
    smooth_numerator: Any,
    smooth_denominator: Any,
    smooth: Any,
    activation: Activation,
    include_background: bool,
) -> jax.Array:
    """Per-example soft clDice ``[B]`` (NaN for items with out-of-range integer targets)."""
    _check_iterations(iterations)
    contracts.bounded(smooth_numerator, "smooth_numerator", ge=0)
    contracts.bounded(smooth_denominator, "smooth_denominator", ge=0)
    contracts.bounded(smooth, "smooth", gt=0)
    p, t, bad = _prologue(predictions, targets, activation, include_background)
    sn, sd, s = (param(v, p.dtype) for v in (smooth_numerator, smooth_denominator, smooth))
    skel_p = _soft_skeleton(p, int(iterations))
    skel_t = jax.lax.stop_gradient(_soft_skeleton(t, int(iterations)))
    axes = tuple(range(1, p.ndim))
    tprec = (jnp.sum(skel_p * t, axis=axes) + sn) / (jnp.sum(skel_p, axis=axes) + sd)
    tsens = (jnp.sum(skel_t * p, axis=axes) + sn) / (jnp.sum(skel_t, axis=axes) + sd)
    return poison(1 - 2 * tprec * tsens / (tprec + tsens + s), bad)


@register(_FAMILY, reference="monai.losses.SoftclDiceLoss")
def soft_cldice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    iterations: int = 3,
    smooth_numerator: float | ArrayLike = 1.0,
    smooth_denominator: float | ArrayLike = 1.0,
    smooth: float | ArrayLike = 1e-4,
    activation: Activation = None,
    include_background: bool = True,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Soft clDice loss (Shit et al. 2021), MONAI ``SoftclDiceLoss``.

    .. math:: \ell_b = 1 - \frac{2\, T_{prec} T_{sens}}{T_{prec} + T_{sens} + s},\quad
       T_{prec} = \frac{\sum S(p)\, t + s_{nr}}{\sum S(p) + s_{dr}},\quad
       T_{sens} = \frac{\sum S(t)\, p + s_{nr}}{\sum S(t) + s_{dr}}

    with sums over every non-batch axis (spatial and class, as MONAI) and :math:`S` the
    soft skeleton: :math:`S_0 = \mathrm{relu}(x - \mathrm{open}(x))`, then ``iterations``
    times :math:`x \leftarrow \mathrm{erode}(x)`,
    :math:`\delta = \mathrm{relu}(x - \mathrm{open}(x))`,
    :math:`S \leftarrow S + \mathrm{relu}(\delta - S\delta)`, where erosion is the minimum
    of axis-aligned 3-tap min-pools, dilation a :math:`3^d` max-pool and
    :math:`\mathrm{open} = \mathrm{dilate} \circ \mathrm{erode}`. The target skeleton is a
    constant.

    Gradients through tied values differ from torch's (``reduce_window`` and
    ``jnp.minimum`` route or share them differently from torch's first-index rule); the
    two agree wherever the values within a window are distinct.

    Args:
      predictions: ``[batch, *spatial, classes]`` floating logits (``activation``
        ``"softmax"``/``"sigmoid"``) or probabilities (``activation=None``, MONAI's default).
      targets: integer class indices ``[batch, *spatial]`` or floating one-hot maps with the
        shape of ``predictions``.
      iterations: skeletonisation iterations (MONAI ``iter_``; ``>= 0``). Static.
      smooth_numerator: :math:`s_{nr}` (``>= 0``).
      smooth_denominator: :math:`s_{dr}` (``>= 0``).
      smooth: :math:`s` in the harmonic mean (``> 0``, as MONAI).
      activation: ``"softmax"``, ``"sigmoid"`` or ``None``.
      include_background: if ``False`` class 0 is dropped (ignored with a warning for a
        single channel, as MONAI).
      weights: optional per-example weights ``[batch]``.
      where: optional per-example mask ``[batch]``.
      reduction: ``"mean"`` (default; MONAI's batch mean), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> t = jnp.zeros((1, 5, 5), jnp.int32).at[0, 2, :].set(1)  # a horizontal line
      >>> p = jnp.where(t == 1, 0.9, 0.1)[..., None]
      >>> jaxloss.soft_cldice_loss(p, t)
      Array(0.0435, dtype=float32)

    References:
      Shit et al., `clDice - a novel topology-preserving loss function for tubular structure
      segmentation <https://arxiv.org/abs/2003.07311>`_, CVPR 2021. Follows MONAI
      ``SoftclDiceLoss`` (1.6.1).

      Differences: channel-last layout; 1-D images are accepted (MONAI's soft morphology is
      2-D/3-D only); no ``other_act``; ``activation="softmax"`` over one channel raises
      (MONAI warns and ignores it); ties in the pools share the gradient (see above).
    """
    loss = _cldice(
        predictions,
        targets,
        iterations,
        smooth_numerator,
        smooth_denominator,
        smooth,
        activation,
        include_background,
    )
    return reduce(loss, reduction, weights=weights, where=where)


@register(_FAMILY, reference="monai.losses.SoftDiceclDiceLoss")
def soft_dice_cldice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    alpha: float | ArrayLike = 0.5,
    iterations: int = 3,
    smooth_numerator: float | ArrayLike = 1.0,
    smooth_denominator: float | ArrayLike = 1.0,
    smooth: float | ArrayLike = 1e-4,
    activation: Activation = None,
    include_background: bool = True,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Dice plus soft clDice, MONAI ``SoftDiceclDiceLoss``.

    .. math:: \ell_b = (1 - \alpha) \frac{1}{C} \sum_c \mathrm{Dice}_{bc} + \alpha\, \mathrm{clDice}_b

    with :math:`\mathrm{Dice}_{bc}` from :func:`jaxloss.segmentation.dice_loss` (smoothing
    ``smooth_numerator``/``smooth_denominator``, not squared, per example) and
    :math:`\mathrm{clDice}_b` from :func:`soft_cldice_loss`. The mean over the batch equals
    MONAI's (its Dice mean runs over batch and classes).

    Args:
      predictions: ``[batch, *spatial, classes]`` floating logits (``activation``
        ``"softmax"``/``"sigmoid"``) or probabilities (``activation=None``).
      targets: integer class indices ``[batch, *spatial]`` or floating one-hot maps with the
        shape of ``predictions``.
      alpha: :math:`\alpha` in ``[0, 1]``, the weight of clDice (float or traced).
      iterations: skeletonisation iterations (``>= 0``). Static.
      smooth_numerator: :math:`s_{nr}` of both terms (``>= 0``).
      smooth_denominator: :math:`s_{dr}` of both terms (``>= 0``).
      smooth: the harmonic-mean constant of clDice (``> 0``).
      activation: ``"softmax"``, ``"sigmoid"`` or ``None`` (both terms).
      include_background: if ``False`` class 0 is dropped from both terms.
      weights: optional per-example weights ``[batch]``.
      where: optional per-example mask ``[batch]``.
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch]`` for ``"none"`` (the per-example
      combination; MONAI's ``"none"`` broadcasts a ``[B, C, 1, ...]`` Dice against a ``[B]``
      clDice).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> t = jnp.zeros((1, 5, 5), jnp.int32).at[0, 2, :].set(1)
      >>> p = jnp.where(t == 1, 0.9, 0.1)[..., None]
      >>> jaxloss.soft_dice_cldice_loss(p, t)
      Array(0.1218, dtype=float32)

    References:
      Shit et al., `clDice <https://arxiv.org/abs/2003.07311>`_, CVPR 2021. Follows MONAI
      ``SoftDiceclDiceLoss`` (1.6.1).

      Differences: as :func:`soft_cldice_loss`; ``"none"`` is per example.
    """
    # The public Dice loss (imported at call time: the family package is then complete).
    from jaxloss.segmentation import dice_loss

    contracts.bounded(alpha, "alpha", ge=0, le=1)
    cl = _cldice(
        predictions,
        targets,
        iterations,
        smooth_numerator,
        smooth_denominator,
        smooth,
        activation,
        include_background,
    )
    dice = dice_loss(
        predictions,
        targets,
        activation=activation,
        include_background=include_background,
        smooth_numerator=smooth_numerator,
        smooth_denominator=smooth_denominator,
        reduction="none",
    )
    a = param(alpha, cl.dtype)
    loss = (1 - a) * jnp.mean(dice, axis=-1) + a * cl
    return reduce(loss, reduction, weights=weights, where=where)
