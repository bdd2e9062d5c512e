"""Unregularised (exact) optimal transport with uniform marginals, by optimal assignment.

With uniform marginals of equal size ``n`` the optimal plan of the linear programme is a
permutation (Birkhoff), found by the Hungarian algorithm (``optax.assignment``, as ott's
``unreg.hungarian``). Sizes ``n != m`` replicate each row ``L / n`` and each column
``L / m`` times, ``L = lcm(n, m)``, and solve the ``[L, L]`` assignment: the block counts
divided by ``L`` are an optimal plan of the original problem. The value is
``<C, P>`` with ``P`` under ``stop_gradient``, so its gradient w.r.t. ``C`` is the plan
(envelope theorem; a subgradient where the optimal plan is not unique).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from optax import assignment

from .._src import contracts
from .._src.contracts import calling, function_name
from .._src.numerics import is_traced, safe_norm, safe_root, upcast
from .._src.points import batched, point_clouds
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["ExactOTOutput", "emd2", "exact_ot", "exact_wasserstein"]

_FAMILY = "distribution"
_MAX_REPLICATED = 4096  # the largest lcm(n, m) solved by replication


class ExactOTOutput(NamedTuple):
    """Result of :func:`exact_ot` (a pytree).

    Attributes:
      cost: scalar ``<C, P>``, POT's ``ot.emd2(a, b, C)`` with uniform ``a``, ``b``.
      coupling: ``[n, m]`` optimal plan ``P`` (rows sum to ``1/n``, columns to ``1/m``).
    """

    cost: jax.Array
    coupling: jax.Array


def _plan(c: jax.Array) -> jax.Array:
    """An optimal plan of the uniform problem on ``c`` (``[n, m]``, no gradient)."""
    n, m = c.shape
    c = jax.lax.stop_gradient(c)
    c = jnp.where(jnp.isfinite(c), c, 0.0)  # NaN/inf costs: any plan; the value carries them
    size = math.lcm(n, m)
    rep_r, rep_c = size // n, size // m
    big = jnp.repeat(jnp.repeat(c, rep_r, axis=0), rep_c, axis=1)
    rows, cols = assignment.hungarian_algorithm(big)
    hits = jnp.zeros((n, m), c.dtype).at[rows // rep_r, cols // rep_c].add(1.0)
    return hits / size


def _uniform_check(w: ArrayLike | None, size: int, name: str, dtype) -> jax.Array | None:
    """``None`` for uniform (or absent) weights, else raises (eagerly) or returns a NaN flag."""
    if w is None:
        return None
    (arr,) = upcast(w, dtype=dtype)
    contracts.shape_is(arr, (size,), name, "one weight per point")
    uniform = jnp.all(jnp.abs(arr - 1.0 / size) <= 1e-6 + 1e-5 / size)
    if not is_traced(arr):
        if not bool(uniform):
            raise NotImplementedError(
                f"{function_name()}: exact OT supports uniform {name} only (1/{size} each); "
                "for arbitrary marginals use jaxloss.sinkhorn_from_cost(cost_matrix, a, b, "
                "epsilon=...) with a small epsilon (an entropic approximation)"
            )
        return None
    return uniform


@jax.jit
def _exact(c):
    plan = _plan(c)
    return ExactOTOutput(cost=jnp.sum(c * plan), coupling=plan)


def _check_size(n: int, m: int) -> None:
    if n == 0 or m == 0:
        raise ValueError(
            f"{function_name()}: exact OT needs at least one point on each side (n={n}, m={m})"
        )
    if math.lcm(n, m) > _MAX_REPLICATED:
        raise ValueError(
            f"{function_name()}: n={n} and m={m} need an assignment of size lcm(n, m) = "
            f"{math.lcm(n, m)} > {_MAX_REPLICATED}; exact OT with n != m is for small sizes: "
            "use equal sizes, or jaxloss.sinkhorn_from_cost with a small epsilon"
        )


def exact_ot(
    cost_matrix: ArrayLike, a: ArrayLike | None = None, b: ArrayLike | None = None
) -> ExactOTOutput:
    r"""Unregularised optimal transport with uniform marginals (POT ``ot.emd2``, ott ``unreg.hungarian``).

    .. math::
       \mathrm{OT}(C) = \min_{P 1 = \frac1n 1,\ P^T 1 = \frac1m 1,\ P \ge 0}
       \langle C, P \rangle

    For ``n = m`` the optimum is a permutation divided by ``n``, found by
    ``optax.assignment.hungarian_algorithm`` (as ott's ``unreg.hungarian``): the
    cost is the mean matched cost. For ``n != m`` each row is replicated
    ``L / n`` times and each column ``L / m`` times (``L = lcm(n, m)``, at
    most 4096) and the ``[L, L]`` assignment is solved; its block counts over
    ``L`` are an optimal plan.

    Gradient: ``d cost / d C = P`` (envelope theorem; the plan is under
    ``stop_gradient``). Where several plans are optimal (ties), any one is
    returned and its gradient is a subgradient.

    Differences from the anchors: only uniform marginals. ``a`` and ``b`` are
    accepted for POT's signature and must be uniform: other weights raise
    ``NotImplementedError`` eagerly (under ``jit`` the cost is NaN); for them use
    :func:`sinkhorn_from_cost` with a small ``epsilon``. Non-finite costs give
    a non-finite ``cost`` (the plan is then arbitrary).

    Args:
      cost_matrix: ``[n, m]`` ground cost ``C``.
      a: optional ``[n]`` weights; must be ``1/n`` each.
      b: optional ``[m]`` weights; must be ``1/m`` each.

    Returns:
      An :class:`ExactOTOutput` with ``cost`` (scalar) and ``coupling`` ``[n, m]``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> C = jnp.array([[0.0, 1.0], [1.0, 0.0]])
      >>> float(jaxloss.exact_ot(C).cost)  # POT ot.emd2(unif, unif, C)
      0.0
      >>> jaxloss.emd2 is jaxloss.exact_ot
      True

    References:
      Kuhn 1955 (the Hungarian method); Peyré & Cuturi 2019, "Computational
      Optimal Transport" (arXiv 1803.00567), ch. 3; POT ``ot.emd2``; ott-jax
      ``ott.tools.unreg.hungarian``; ``optax.assignment.hungarian_algorithm``.
    """
    with calling("exact_ot"):
        contracts.floating(cost_matrix=cost_matrix)
        contracts.rank(cost_matrix, 2, "cost_matrix", "batch problems with jax.vmap")
        (c,) = upcast(cost_matrix)
        n, m = c.shape
        _check_size(n, m)
        checks = (_uniform_check(a, n, "a", c.dtype), _uniform_check(b, m, "b", c.dtype))
        flags = [f for f in checks if f is not None]
        out = _exact(c)
        for flag in flags:
            out = out._replace(cost=jnp.where(flag, out.cost, jnp.nan))
        return out


emd2 = exact_ot


@functools.partial(jax.jit, static_argnames=("p", "batch_ndim"))
def _exact_wasserstein_batched(x, y, *, p, batch_ndim):
    def one(xi, yi):
        c = safe_norm(xi[:, None, :] - yi[None, :, :], axis=-1)
        c = c if p == 1.0 else c**p
        return safe_root(jnp.sum(c * _plan(c)), p)

    return batched(one, x, y, batch_ndim=batch_ndim)


@register(_FAMILY, reference="ott.tools.unreg.wassdis_p; ot.emd2")
def exact_wasserstein(
    x: ArrayLike,
    y: ArrayLike,
    *,
    p: float = 2.0,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Exact p-Wasserstein distance between two uniform point clouds (ott ``unreg.wassdis_p``).

    .. math::
       W_p(x, y) = \Big(\min_{P \in U(\frac1n 1, \frac1m 1)}
       \sum_{ij} P_{ij} \|x_i - y_j\|_2^p\Big)^{1/p}

    the :func:`exact_ot` cost of the ``EuclideanP(p)`` cost matrix raised to
    ``1/p``: ott's ``unreg.wassdis_p(x, y, p=p)`` for ``n = m``, and
    ``ot.emd2(unif, unif, ot.dist(x, y, "euclidean") ** p) ** (1 / p)`` of POT
    for any sizes.

    Gradient: through the cost matrix at the optimal plan (envelope theorem),
    with a safe norm at coincident points and a safe root at zero distance
    (identical clouds: 0 with a zero gradient).

    Differences from the anchor: ott asserts ``n = m``; ``n != m`` is solved by
    replication (``lcm(n, m) <= 4096``; see :func:`exact_ot`). Leading batch
    dimensions are a batch of problems (ott takes one).

    Args:
      x: ``[..., n, d]`` points, uniform weights.
      y: ``[..., m, d]`` points, the same batch dimensions.
      p: the order ``p >= 1`` (static).
      weights: optional per-problem weights (batch shape).
      where: optional per-problem boolean mask.
      reduction: ``"mean"``, ``"sum"`` or ``"none"`` (one value per problem).

    Returns:
      A scalar, or the distance per problem (batch shape) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.0], [1.0]])
      >>> float(jaxloss.exact_wasserstein(x, x[::-1] + 1.0))  # matched shift of 1
      1.0

    References:
      Peyré & Cuturi 2019, "Computational Optimal Transport" (arXiv 1803.00567);
      ott-jax ``ott.tools.unreg.wassdis_p``; POT ``ot.emd2``.
    """
    if is_traced(p):
        raise TypeError(f"{function_name()}: p must be a Python float (it is static)")
    contracts.bounded(p, "p", ge=1)
    pts = point_clouds(x, y)
    _check_size(pts.x.shape[-2], pts.y.shape[-2])
    loss = _exact_wasserstein_batched(pts.x, pts.y, p=float(p), batch_ndim=pts.x.ndim - 2)
    return reduce(loss, reduction, weights=weights, where=where)
