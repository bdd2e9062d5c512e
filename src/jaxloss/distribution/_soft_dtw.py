"""Soft dynamic time warping between time series (Cuturi & Blondel 2017), ott-jax/tslearn semantics.

The dynamic programme ``R_ij = C_ij + softmin_gamma(R_{i-1,j}, R_{i-1,j-1}, R_{i,j-1})`` runs
over anti-diagonals ``k = i + j`` in one ``lax.scan`` (each step updates a whole diagonal
vectorised, the batch of pairs on the minor axis); the cost matrices are skewed into diagonals by
padding and reshaping. The gradient is a ``custom_vjp``: Cuturi–Blondel's E-matrix backward as a
reverse loop over the diagonals, from the stored ``R`` and soft-min normalisers (O(T1 (T1 + T2))
memory), including the derivative in ``gamma``.
"""

from __future__ import annotations

import functools
from typing import Literal, TypeAlias

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.numerics import param
from .._src.points import point_clouds
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._sinkhorn import cost_matrix

__all__ = ["soft_dtw"]

_FAMILY = "distribution"
DTWCost: TypeAlias = Literal["sqeuclidean", "euclidean"]
# "Infinite" border/outside value: finite, so that no inf - inf or 0 * inf reaches a gradient;
# exp(-(_BIG - r) / gamma) underflows to exactly 0 next to any real accumulated cost r.
_BIG = 1e20


def _skew(c: jax.Array) -> jax.Array:
    """``[T1, T2, N] -> [T1, T1 + T2 - 1, N]``: anti-diagonal ``k`` at ``[i, k, :] = c[i, k - i, :]``
    (0 outside), by padding and reshaping: no gather (whose gradient is a scatter), no transpose."""
    t1, t2, n = c.shape
    k = t1 + t2 - 1
    flat = jnp.pad(c, ((0, 0), (0, t1), (0, 0))).reshape(t1 * (t1 + t2) * n)
    return flat[: t1 * k * n].reshape(t1, k, n)


def _neighbours(
    r1: jax.Array, r2: jax.Array, k: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The predecessors up ``R[i-1, j]``, diagonal ``R[i-1, j-1]`` and left ``R[i, j-1]`` of the cells
    of diagonal ``k`` from diagonals ``k - 1`` (``r1``) and ``k - 2`` (``r2``), ``[T1, N]`` each."""
    big = jnp.full_like(r1[:1], _BIG)
    corner = jnp.where(k == 0, jnp.zeros_like(big), big)  # R[-1, -1] = 0, R[-1, j >= 0] outside
    up = jnp.concatenate([big, r1[:-1]], axis=0)
    diag = jnp.concatenate([corner, r2[:-1]], axis=0)
    return up, diag, r1


def _softmin_z(up, diag, left, gamma):
    """``z = r / -gamma`` of the three predecessors (the soft-min is ``-gamma logsumexp(z)``)."""
    return [r / -gamma for r in (up, diag, left)]


def _valid(k: jax.Array, t1: int, t2: int) -> jax.Array:
    j = k - jnp.arange(t1)
    return ((j >= 0) & (j < t2))[:, None]


def _forward(cs: jax.Array, gamma: jax.Array, t2: int) -> tuple[jax.Array, jax.Array]:
    """The diagonals ``R_k`` ``[K, T1, N]`` of the recursion on skewed costs ``cs`` ``[T1, K, N]``
    and the ``log s`` of their soft-mins (``R = C - gamma (log s + max z)``, as ``jax.nn.logsumexp``)."""
    t1, steps, n = cs.shape
    big = jnp.full((t1, n), _BIG, cs.dtype)

    def step(carry, k):
        r1, r2 = carry
        ck = jax.lax.dynamic_index_in_dim(cs, k, axis=1, keepdims=False)
        z = _softmin_z(*_neighbours(r1, r2, k), gamma)
        zmax = jnp.maximum(jnp.maximum(z[0], z[1]), z[2])
        log_s = jnp.log(jnp.exp(z[0] - zmax) + jnp.exp(z[1] - zmax) + jnp.exp(z[2] - zmax))
        new = jnp.where(
            _valid(k, t1, t2), ck + -gamma * (log_s + zmax), jnp.asarray(_BIG, cs.dtype)
        )
        return (new, r1), (new, log_s)

    _, (rs, lses) = jax.lax.scan(step, (big, big), jnp.arange(steps))
    return rs, lses


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _sdtw_skewed(cs: jax.Array, gamma: jax.Array, t2: int) -> jax.Array:
    """Soft-DTW values ``R[T1-1, T2-1]`` ``[N]`` from skewed costs ``[T1, T1 + T2 - 1, N]``."""
    return _forward(cs, gamma, t2)[0][-1, -1]


def _sdtw_fwd(cs, gamma, t2):
    rs, log_s = _forward(cs, gamma, t2)
    return rs[-1, -1], (rs, log_s, gamma)


def _sdtw_bwd(t2, res, ct):
    """Cuturi-Blondel's backward over anti-diagonals, in push form: the adjoint ``G`` of diagonal
    ``k`` (complete once diagonals ``k + 1`` and ``k + 2`` are done) flows to its predecessors with
    the soft-min weights ``exp(z - max z - log s)`` from the stored ``R`` and ``log s``."""
    rs, log_ss, gamma = res
    steps, t1, n = rs.shape
    big = jnp.full((t1, n), _BIG, rs.dtype)
    zero = jnp.zeros((t1, n), rs.dtype)

    def row(a, k):
        return jax.lax.dynamic_index_in_dim(a, jnp.maximum(k, 0), keepdims=False)

    def step(k, carry):
        k = steps - 1 - k
        g, g1, dgamma, out = carry  # G of diagonal k (complete), of k - 1 (partial), d gamma, dC
        r1 = jnp.where(k >= 1, row(rs, k - 1), big)
        r2 = jnp.where(k >= 2, row(rs, k - 2), big)
        z = _softmin_z(*_neighbours(r1, r2, k), gamma)
        zmax = jnp.maximum(jnp.maximum(z[0], z[1]), z[2])
        d = [zk - zmax for zk in z]
        log_s = row(log_ss, k)
        g = jnp.where(_valid(k, t1, t2), g, 0)
        p = [jnp.exp(dk - log_s) for dk in d]  # the soft-min weights (d R / d predecessor)
        w_up, w_diag, w_left = (g * pk for pk in p)
        # d softmin / d gamma = sum_k p_k (z_k - max z) - log s
        dgamma = dgamma + g * (p[0] * d[0] + p[1] * d[1] + p[2] * d[2] - log_s)
        pad = jnp.zeros_like(g[:1])
        to_up = jnp.concatenate(
            [w_up[1:], pad], axis=0
        )  # cell (i - 1, j): diagonal k - 1, row i - 1
        to_diag = jnp.concatenate([w_diag[1:], pad], axis=0)  # cell (i - 1, j - 1): diagonal k - 2
        out = jax.lax.dynamic_update_index_in_dim(out, g, k, axis=1)
        return g1 + to_up + w_left, to_diag, dgamma, out

    last = zero.at[-1].set(ct)
    init = (last, zero, zero, jnp.zeros((t1, steps, n), rs.dtype))
    _, _, dgamma, gs = jax.lax.fori_loop(0, steps, step, init)
    return gs, jnp.sum(dgamma).astype(jnp.result_type(gamma))


_sdtw_skewed.defvjp(_sdtw_fwd, _sdtw_bwd)


def _sdtw(c: jax.Array, gamma: jax.Array) -> jax.Array:
    """Soft-DTW values ``[N]`` of ``[N, T1, T2]`` cost matrices."""
    return _sdtw_skewed(_skew(jnp.transpose(c, (1, 2, 0))), gamma, c.shape[2])


def _costs(x: jax.Array, y: jax.Array, cost: DTWCost) -> jax.Array:
    return jax.vmap(lambda a, b: cost_matrix(a, b, cost))(x, y)


@functools.partial(jax.jit, static_argnames=("cost", "debiased"))
def _batched(x, y, gamma, *, cost, debiased):
    batch = x.shape[:-2]
    x = x.reshape(-1, *x.shape[-2:])
    y = y.reshape(-1, *y.shape[-2:])
    value = _sdtw(_costs(x, y, cost), gamma)
    if debiased:
        value = value - 0.5 * (_sdtw(_costs(x, x, cost), gamma) + _sdtw(_costs(y, y, cost), gamma))
    return value.reshape(batch)


@register(_FAMILY, reference="ott.geometry.costs.SoftDTW; tslearn.metrics.soft_dtw")
def soft_dtw(
    x: ArrayLike,
    y: ArrayLike,
    *,
    gamma: float | ArrayLike = 1.0,
    cost: DTWCost = "sqeuclidean",
    debiased: bool = False,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    r"""Soft dynamic time warping (soft-DTW) between time series.

    .. math::
       \mathrm{dtw}_\gamma(x, y) = R_{T_1 T_2},\qquad
       R_{ij} = C_{ij} + \mathrm{softmin}_\gamma(R_{i-1,j},\ R_{i-1,j-1},\ R_{i,j-1}),

    with :math:`\mathrm{softmin}_\gamma(r) = -\gamma \log \sum_k e^{-r_k/\gamma}`,
    :math:`R_{00} = 0`, :math:`R_{i0} = R_{0j} = \infty` and the ground cost
    :math:`C_{ij} = \|x_i - y_j\|^2` (``cost="sqeuclidean"``, ott's ``SqEuclidean``,
    tslearn's choice) or :math:`\|x_i - y_j\|`. ``debiased=True`` gives the soft-DTW
    divergence :math:`\mathrm{dtw}_\gamma(x, y) - \tfrac12(\mathrm{dtw}_\gamma(x, x) +
    \mathrm{dtw}_\gamma(y, y))` of Blondel et al. 2021 (0 at ``x = y``).

    The recursion runs over anti-diagonals in one ``lax.scan``, the soft-min as a
    log-sum-exp with a large finite border (so gradients stay finite); the gradient
    is Cuturi–Blondel's E-matrix backward over the same diagonals. ``gamma``
    may be traced and differentiated.

    Args:
      x: ``[..., T1, D]`` time series (leading dims: a batch of pairs, vmapped).
      y: ``[..., T2, D]`` time series, the same batch dims and ``D``.
      gamma: soft-min temperature ``> 0`` (ott ``SoftDTW(gamma)``; tslearn ``gamma``).
      cost: ``"sqeuclidean"`` (the anchors' default) or ``"euclidean"``.
      debiased: the soft-DTW divergence (ott ``SoftDTW(debiased=True)``).
      weights: optional per-pair weights (batch shape).
      where: optional per-pair boolean mask.
      reduction: ``"mean"``, ``"sum"`` or ``"none"`` (one value per pair).

    Returns:
      A scalar, or one value per pair (batch shape) for ``"none"``. Not
      non-negative unless ``debiased`` (the soft-min lies below the min).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.0], [1.0], [2.0]])
      >>> round(float(jaxloss.soft_dtw(x, x, gamma=1e-3)), 4)  # hard DTW of x with itself
      0.0
      >>> round(float(jaxloss.soft_dtw(x, x, debiased=True)), 4)
      0.0

    References:
      Cuturi & Blondel 2017, "Soft-DTW: a Differentiable Loss Function for
      Time-Series" (arXiv 1703.01541); Blondel, Mensch & Vert 2021, "Differentiable
      Divergences Between Time Series" (arXiv 2010.08354); ott-jax
      ``ott.geometry.costs.SoftDTW`` (``ground_cost=SqEuclidean()``) and tslearn
      ``tslearn.metrics.soft_dtw``. Differences: jaxloss takes ``[..., T, D]`` with
      a batch of pairs (ott's cost is one pair; tslearn also accepts ``[T]``
      series: pass ``x[:, None]``).
    """
    contracts.bounded(gamma, "gamma", gt=0)
    contracts.choice(cost, ("sqeuclidean", "euclidean"), "cost")
    pts = point_clouds(x, y, names=("x", "y", "a", "b"))
    contracts.nonempty(pts.x, "x", hint="a series needs at least one time step")
    xs, ys = pts.x, pts.y
    if xs.shape[-2] == 0 or ys.shape[-2] == 0:
        raise ValueError(
            f"{contracts.function_name()}: x and y need at least one time step each, got "
            f"shapes {xs.shape} and {ys.shape}"
        )
    loss = _batched(xs, ys, param(gamma, xs.dtype), cost=cost, debiased=debiased)
    return reduce(loss, reduction, weights=weights, where=where)
