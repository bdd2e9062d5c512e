"""Smoothness regularisers of dense displacement fields: bending energy and diffusion.

A displacement field is channel-last, ``[batch, *spatial, ndim]`` with 1 to 3 spatial
axes and one component per spatial axis (MONAI's ``BCH[WD]`` transposed). Derivatives are
central finite differences on the interior ``[1:-1]`` of every spatial axis (MONAI 1.6.1
stencils), so every spatial size must exceed 2 and the ``"none"`` output is
``[batch, *(spatial - 2), ndim]``: one term per interior voxel and component.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._src.contracts import function_name
from .._src.numerics import upcast
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["bending_energy_loss", "diffusion_loss"]

_FAMILY = "registration"


def _field(displacement: Any) -> jax.Array:
    """Checks a ``[batch, *spatial, ndim]`` displacement field; returns it in the compute dtype."""
    dtype = jnp.asarray(displacement).dtype
    shape = tuple(np.shape(displacement))
    if dtype == jnp.bool_ or not (
        jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer)
    ):
        raise TypeError(
            f"{function_name()}: displacement must have a floating or integer dtype, got {dtype} with shape {shape}"
        )
    if len(shape) not in (3, 4, 5):
        raise ValueError(
            f"{function_name()}: displacement has shape {shape}; expected [batch, *spatial, ndim] "
            "with 1 to 3 spatial axes (channel-last: MONAI's [B, ndim, *spatial] moved with moveaxis(x, 1, -1))"
        )
    ndim = len(shape) - 2
    if shape[-1] != ndim:
        raise ValueError(
            f"{function_name()}: displacement has shape {shape}: {shape[-1]} components on the last axis "
            f"but {ndim} spatial axes; a displacement field has one component per spatial axis"
        )
    if any(s <= 2 for s in shape[1:-1]):
        raise ValueError(
            f"{function_name()}: displacement has shape {shape}; every spatial size must be > 2 "
            "(central differences on the interior [1:-1])"
        )
    (u,) = upcast(displacement)
    return u


def _take(u: jax.Array, shifts: dict[int, int]) -> jax.Array:
    """``u`` on the interior voxels shifted by ``shifts[axis]`` (-1, 0 or +1) along spatial axes."""
    index: list[slice] = [slice(None)]
    for axis in range(1, u.ndim - 1):
        shift = shifts.get(axis, 0)
        index.append(slice(1 + shift, u.shape[axis] - 1 + shift))
    index.append(slice(None))
    return u[tuple(index)]


def _first(u: jax.Array, i: int) -> jax.Array:
    """``(u[i+1] - u[i-1]) / 2`` along spatial axis ``i``."""
    return (_take(u, {i: 1}) - _take(u, {i: -1})) / 2


def _second(u: jax.Array, i: int, j: int) -> jax.Array:
    """``u[i+1] - 2u[i] + u[i-1]`` for ``i == j``; the 4-point mixed stencil otherwise."""
    if i == j:
        return _take(u, {i: 1}) - 2 * _take(u, {}) + _take(u, {i: -1})
    return (
        _take(u, {i: 1, j: 1})
        - _take(u, {i: 1, j: -1})
        - _take(u, {i: -1, j: 1})
        + _take(u, {i: -1, j: -1})
    ) / 4


def _scale(u: jax.Array, normalize: bool, *axes: int) -> Any:
    """``prod(S[axes]) / S[c]`` per component ``c`` (MONAI's ``normalize``), or 1."""
    if not normalize:
        return 1
    sizes = np.asarray(u.shape[1:-1], np.float64)
    scale = np.prod([u.shape[a] for a in axes]) / sizes
    return jnp.asarray(scale.reshape((1,) * (u.ndim - 1) + (-1,)), u.dtype)


@register(_FAMILY, reference="MONAI BendingEnergyLoss (1.6.1 stencils)")
def bending_energy_loss(
    displacement: ArrayLike,
    *,
    normalize: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Bending energy of a dense displacement field (second-derivative smoothness).

    .. math:: \ell_{b,x,c} = \sum_i (\partial_{ii} u_c)^2 + 2 \sum_{i<j} (\partial_{ij} u_c)^2

    with :math:`\partial_{ii} u = u[x+e_i] - 2u[x] + u[x-e_i]` and the mixed derivative
    :math:`\partial_{ij} u = (u[x+e_i+e_j] - u[x+e_i-e_j] - u[x-e_i+e_j] + u[x-e_i-e_j])/4`,
    evaluated on the interior voxels :math:`x` (every spatial axis sliced to ``[1:-1]``).

    Args:
      displacement: ``[batch, *spatial, ndim]``, 1 to 3 spatial axes, ``ndim`` components
        (one per spatial axis); every spatial size must be > 2. Integer fields are cast.
      normalize: multiply each derivative of component :math:`c` by
        :math:`S_i S_j / S_c` (spatial sizes), making the energy roughly invariant to the
        sampling resolution (MONAI's ``normalize``). Static.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional mask broadcastable to the ``"none"`` output.
      reduction: ``"mean"`` (default; MONAI's mean over batch, components and voxels),
        ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch, *(spatial - 2), ndim]`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> u = (jnp.arange(5.0) ** 2)[None, :, None]  # u(x) = x^2: second derivative 2
      >>> jaxloss.bending_energy_loss(u)
      Array(4., dtype=float32)

    References:
      Rueckert et al., "Nonrigid registration using free-form deformations", IEEE TMI
      1999. Follows MONAI 1.6.1 ``BendingEnergyLoss`` (compact 3-voxel stencils).

      Differences: channel-last layout (MONAI is ``[B, ndim, *spatial]``; ``"none"`` is
      MONAI's unreduced output with the component axis moved last).
    """
    u = _field(displacement)
    axes = range(1, u.ndim - 1)
    energy = jnp.zeros((), u.dtype)
    for i in axes:
        energy = energy + jnp.square(_second(u, i, i) * _scale(u, normalize, i, i))
        for j in range(i + 1, u.ndim - 1):
            energy = energy + 2 * jnp.square(_second(u, i, j) * _scale(u, normalize, i, j))
    return reduce(energy, reduction, weights=weights, where=where)


@register(_FAMILY, reference="MONAI DiffusionLoss (VoxelMorph diffusion regulariser)")
def diffusion_loss(
    displacement: ArrayLike,
    *,
    normalize: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Diffusion regulariser of a dense displacement field (squared first derivatives).

    .. math:: \ell_{b,x,c} = \sum_i (\partial_i u_c)^2,\quad
       \partial_i u = \frac{u[x+e_i] - u[x-e_i]}{2}

    evaluated on the interior voxels :math:`x` (every spatial axis sliced to ``[1:-1]``).

    Args:
      displacement: ``[batch, *spatial, ndim]``, 1 to 3 spatial axes, ``ndim`` components
        (one per spatial axis); every spatial size must be > 2. Integer fields are cast.
      normalize: multiply each derivative along axis :math:`i` of component :math:`c` by
        :math:`S_i / S_c` (MONAI's ``normalize``). Static.
      weights: optional weights broadcastable to the ``"none"`` output.
      where: optional mask broadcastable to the ``"none"`` output.
      reduction: ``"mean"`` (default; MONAI's mean), ``"sum"`` or ``"none"``.

    Returns:
      A scalar for ``"mean"``/``"sum"``; ``[batch, *(spatial - 2), ndim]`` for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> u = (jnp.arange(5.0) ** 2)[None, :, None]  # derivatives 2, 4, 6 inside
      >>> jaxloss.diffusion_loss(u)
      Array(18.666666, dtype=float32)

    References:
      Balakrishnan et al., "VoxelMorph: A Learning Framework for Deformable Medical Image
      Registration", IEEE TMI 2019, https://arxiv.org/abs/1809.05231. Follows MONAI 1.6.1
      ``DiffusionLoss``.

      Differences: channel-last layout (MONAI is ``[B, ndim, *spatial]``; ``"none"`` is
      MONAI's unreduced output with the component axis moved last).
    """
    u = _field(displacement)
    diffusion = sum(
        (jnp.square(_first(u, i) * _scale(u, normalize, i)) for i in range(1, u.ndim - 1)),
        jnp.zeros((), u.dtype),
    )
    return reduce(diffusion, reduction, weights=weights, where=where)
