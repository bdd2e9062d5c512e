"""The point-cloud prologue: two samples ``x``, ``y`` with optional masses ``a``, ``b``.

Point clouds are ``[..., n, d]`` and ``[..., m, d]`` arrays (1-D empirical
distributions: ``[..., n]`` and ``[..., m]``); leading dimensions are a batch of
independent problems, solved one by one under :func:`batched`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, TypeVar

import jax
import jax.numpy as jnp

from . import contracts
from .contracts import function_name
from .numerics import compute_dtype, upcast
from .types import ArrayLike

T = TypeVar("T")


class Points(NamedTuple):
    """Checked point clouds in the compute dtype of ``x`` and ``y`` (from :func:`point_clouds`).

    Attributes:
      x: ``[..., n, d]`` points (``[..., n]`` atoms for 1-D distributions).
      y: ``[..., m, d]`` points (``[..., m]`` atoms), the same batch dimensions.
      a: ``[..., n]`` masses of ``x`` (shape checked), or ``None`` when not given.
      b: ``[..., m]`` masses of ``y``, or ``None``.
    """

    x: jax.Array
    y: jax.Array
    a: jax.Array | None
    b: jax.Array | None

    @property
    def uniform(self) -> bool:
        """Neither mass was given: both distributions are uniform."""
        return self.a is None and self.b is None


def point_clouds(
    x: ArrayLike,
    y: ArrayLike,
    a: ArrayLike | None = None,
    b: ArrayLike | None = None,
    *,
    names: tuple[str, str, str, str] = ("x", "y", "a", "b"),
    hints: tuple[str, str] = ("one weight per point of x", "one weight per point of y"),
    one_dimensional: bool = False,
) -> Points:
    """Checks two samples and their optional masses and upcasts them.

    ``x``, ``y`` are floating ``[..., n, d]``, ``[..., m, d]`` with equal batch
    dimensions and ``d`` (``one_dimensional``: ``[..., n]``, ``[..., m]`` with equal
    batch dimensions). Masses must have the shape of their sample without ``d``
    (``hints`` completes that message); they do not widen the compute dtype.
    ``names`` are the caller's argument names, for the messages.
    """
    nx, ny, na, nb = names
    contracts.floating(**{nx: x, ny: y})
    sx, sy = jnp.shape(x), jnp.shape(y)
    if one_dimensional:
        contracts.min_rank(x, 1, nx)
        contracts.min_rank(y, 1, ny)
        if sx[:-1] != sy[:-1]:
            raise ValueError(
                f"{function_name()}: {nx} has shape {sx} and {ny} has "
                f"shape {sy}; batch dimensions (all but the last) must be equal"
            )
    else:
        contracts.min_rank(x, 2, nx)
        contracts.min_rank(y, 2, ny)
        if sx[:-2] != sy[:-2] or sx[-1] != sy[-1]:
            raise ValueError(
                f"{function_name()}: {nx} has shape {sx} and {ny} has "
                f"shape {sy}; expected [..., n, d] and [..., m, d] with equal batch dims and d"
            )
    xs, ys, wa, wb = upcast(x, y, a, b, dtype=compute_dtype(x, y))
    event = 0 if one_dimensional else 1
    if wa is not None:
        contracts.shape_is(wa, xs.shape[: xs.ndim - event], na, hints[0])
    if wb is not None:
        contracts.shape_is(wb, ys.shape[: ys.ndim - event], nb, hints[1])
    return Points(xs, ys, wa, wb)


def batched(fn: Callable[..., T], *arrays: jax.Array, batch_ndim: int) -> T:
    """Applies ``fn`` to arrays with ``batch_ndim`` leading batch dimensions via ``vmap``."""
    for _ in range(batch_ndim):
        fn = jax.vmap(fn)
    return fn(*arrays)
