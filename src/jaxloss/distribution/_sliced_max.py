"""Max-sliced Wasserstein distance: the largest 1-D Wasserstein cost over random projections."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.contracts import function_name
from .._src.numerics import safe_root
from .._src.points import batched, point_clouds
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._wasserstein import _ones_if_none, _w1d, random_projections

__all__ = ["max_sliced_wasserstein"]

_FAMILY = "distribution"


@functools.partial(jax.jit, static_argnames=("p", "uniform", "batch_ndim"))
def _max_sliced_batched(x, y, wa, wb, proj, *, p, uniform, batch_ndim):
    def one(xi, yi, ai, bi):
        xp, yp = (xi @ proj).T, (yi @ proj).T  # [L, n], [L, m]
        per = jax.vmap(lambda s, t: _w1d(s, t, ai, bi, p, uniform))(xp, yp)
        return safe_root(jnp.max(per), p)  # identical inputs: 0 with a zero gradient

    return batched(one, x, y, wa, wb, batch_ndim=batch_ndim)


@register(_FAMILY, reference="ot.max_sliced_wasserstein_distance")
def max_sliced_wasserstein(
    x: ArrayLike,
    y: ArrayLike,
    key: ArrayLike | None = None,
    *,
    num_projections: int = 50,
    p: float = 2.0,
    a: ArrayLike | None = None,
    b: ArrayLike | None = None,
    projections: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Max-sliced Wasserstein distance (POT ``max_sliced_wasserstein_distance``).

    .. math::
       \max\text{-}SW_p(\mu, \nu) = \Big(\max_{l = 1..L}
       W_p^p(\theta_l^\top \mu, \theta_l^\top \nu)\Big)^{1/p}

    over ``L = num_projections`` random unit directions drawn from ``key``
    (normalised Gaussians, the same directions for every problem of a batch,
    as :func:`sliced_wasserstein`) or given as ``projections``. The
    direction is picked among the ``L``, not optimised (as POT). The 1-D
    terms are :func:`wasserstein_1d`'s quantile integral and its closed-form
    gradient; the gradient flows through the arg-max projection (split
    evenly between exact ties, as ``jnp.max``). At identical inputs the
    value is 0 with zero gradient (the ``(.)^{1/p}`` kink is guarded).

    Args:
      x: ``[..., n, d]`` source points.
      y: ``[..., m, d]`` target points.
      key: PRNG key for the projections (ignored when ``projections`` is given).
      num_projections: number of directions ``L`` (static, ``>= 1``).
      p: order ``>= 1`` (static).
      a: optional ``[..., n]`` weights; b: optional ``[..., m]`` weights.
      projections: optional ``[d, L]`` directions (POT's ``projections``).
      weights: optional per-problem weights (batch shape).
      where: optional per-problem boolean mask.
      reduction: ``"mean"``, ``"sum"`` or ``"none"`` (one value per problem).

    Returns:
      A scalar, or ``max-SW_p`` per problem (batch shape) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.0, 0.0], [1.0, 1.0]])
      >>> proj = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> jaxloss.max_sliced_wasserstein(x, x * 3.0, projections=proj)
      Array(1.4142135, dtype=float32)

    References:
      Deshpande et al. 2019, "Max-Sliced Wasserstein Distance and its use for
      GANs" (CVPR); POT ``ot.max_sliced_wasserstein_distance``.
    """
    if not p >= 1.0:
        raise ValueError(f"{function_name()}: p must be >= 1, got {p!r}")
    contracts.bounded(num_projections, "num_projections", ge=1)
    pts = point_clouds(x, y, a, b)
    xs, ys = pts.x, pts.y
    d = xs.shape[-1]
    if projections is None:
        if key is None:
            raise ValueError(f"{function_name()}: pass a PRNG key or projections")
        contracts.prng_key(key)
        proj = random_projections(key, d, int(num_projections), xs.dtype)
    else:
        contracts.shape_is(projections, (d, None), "projections", "[d, num_projections]")
        proj = jnp.asarray(projections, xs.dtype)
    wa, wb = _ones_if_none(pts.a, xs[..., 0]), _ones_if_none(pts.b, ys[..., 0])
    loss = _max_sliced_batched(
        xs, ys, wa, wb, proj, p=float(p), uniform=pts.uniform, batch_ndim=xs.ndim - 2
    )
    return reduce(loss, reduction, weights=weights, where=where)
