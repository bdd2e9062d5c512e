"""Distances and divergences between distributions.

Discrete distributions over a class axis (:func:`kl_divergence`,
:func:`js_divergence`), 1-D empirical distributions (:func:`wasserstein_1d`),
and point clouds (:func:`sinkhorn`, :func:`sinkhorn_divergence`,
:func:`sliced_wasserstein`, :func:`mmd_loss`). Point-cloud losses take
``[..., n, d]`` arrays: leading dimensions are a batch of independent
problems, and ``reduction="none"`` returns one value per problem.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._src import contracts
from .._src.contracts import function_name
from .._src.numerics import compute_dtype, param, safe_root, upcast
from .._src.reduce import reduce
from .._src.registry import register
from ._sinkhorn import (
    SinkhornOutput,
    batched,
    batched_divergence,
    check_point_clouds,
    prepare,
    sinkhorn,
)

__all__ = [
    "SinkhornOutput",
    "js_divergence",
    "kl_divergence",
    "mmd_loss",
    "sinkhorn",
    "sinkhorn_divergence",
    "sliced_wasserstein",
    "wasserstein_1d",
]

_FAMILY = "distribution"


# --------------------------------------------------------------------------- KL / JS


def _xlogy_over(p: jax.Array, log_p: jax.Array, log_q: jax.Array, support: jax.Array) -> jax.Array:
    """``p (log p - log q)`` where ``support``, 0 elsewhere, with zero gradients off-support."""
    # Double where: log 0 = -inf (and log q = -inf) off the support must not reach the gradient.
    lp = jnp.where(support, log_p, 0.0)
    lq = jnp.where(support, log_q, 0.0)
    return jnp.where(support, jnp.where(support, p, 0.0) * (lp - lq), 0.0)


@register(_FAMILY, reference="torch.nn.functional.kl_div / optax.losses.kl_divergence", aliases=("kl_div",))
def kl_divergence(
    log_predictions: Any, targets: Any, *, log_targets: bool = False, axis: int = -1,
    weights: Any = None, where: Any = None, reduction: str = "mean",
) -> Any:
    r"""Kullback-Leibler divergence ``KL(targets || predictions)``.

    .. math:: \mathrm{KL}(p \,\|\, q) = \sum_c p_c (\log p_c - \log q_c)

    with ``log q = log_predictions`` and ``p = targets`` (torch ``kl_div``'s
    ``input``/``target`` order, optax ``kl_divergence``). Entries with
    ``p_c = 0`` contribute 0; their gradient w.r.t. both arguments is 0 (the
    one-sided derivative w.r.t. ``p_c`` is ``-inf``: such entries are treated
    as outside the support, which is also what keeps ``log q_c = -inf`` there
    harmless). torch returns NaN gradients at those points.

    Reductions: ``"none"`` is per example, ``axis`` summed (optax's output,
    torch's ``reduction="none"`` summed over ``axis``); ``"mean"`` averages
    over examples, torch's ``"batchmean"`` for 2-D inputs (torch's ``"mean"``
    additionally divides by the number of classes).

    Args:
      log_predictions: ``[..., C, ...]`` log-probabilities ``log q``.
      targets: same shape; probabilities ``p`` (or ``log p`` with
        ``log_targets=True``, where ``-inf`` marks zero probability).
      log_targets: whether ``targets`` are log-probabilities (torch ``log_target``).
      axis: the class axis.
      weights: optional per-example weights (shape without ``axis``).
      where: optional per-example boolean mask.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
      A scalar, or the per-example divergence (``axis`` removed) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[0.5, 0.5, 0.0]])
      >>> jaxloss.kl_divergence(jnp.log(jnp.array([[0.25, 0.25, 0.5]])), p)
      Array(0.6931472, dtype=float32)

    References:
      Kullback & Leibler 1951; PyTorch ``torch.nn.functional.kl_div``;
      optax ``kl_divergence`` / ``kl_divergence_with_log_targets``.
    """
    contracts.floating(log_predictions=log_predictions, targets=targets)
    contracts.same_shape(log_predictions=log_predictions, targets=targets)
    ax = contracts.axis_index(axis, jnp.ndim(log_predictions), "log_predictions")
    lq, t = upcast(log_predictions, targets)
    if log_targets:
        support = t != -jnp.inf  # NaN stays in the support (NaN in, NaN out)
        lp = jnp.where(support, t, 0.0)
        p = jnp.exp(lp)
    else:
        support = ~(t <= 0)  # NaN stays in the support (NaN in, NaN out)
        p = t
        lp = jnp.log(jnp.where(support, t, 1.0))
    loss = jnp.sum(_xlogy_over(p, lp, lq, support), axis=ax)
    return reduce(loss, reduction, weights=weights, where=where)


@register(_FAMILY, reference="scipy.spatial.distance.jensenshannon (squared, natural log)")
def js_divergence(
    log_p: Any, log_q: Any, *, axis: int = -1,
    weights: Any = None, where: Any = None, reduction: str = "mean",
) -> Any:
    r"""Jensen-Shannon divergence (natural log) between two categorical distributions.

    .. math::
       \mathrm{JS}(p, q) = \tfrac12 \mathrm{KL}(p \,\|\, m) + \tfrac12 \mathrm{KL}(q \,\|\, m),
       \qquad m = \tfrac12 (p + q)

    computed from log-probabilities (``log m = logaddexp(log p, log q) - log 2``).
    Symmetric, in ``[0, log 2]``; zero-probability entries (``-inf``)
    contribute 0 with finite gradients. SciPy's ``jensenshannon`` returns the
    square root of this value.

    Args:
      log_p: ``[..., C, ...]`` log-probabilities (normalised over ``axis``).
      log_q: same shape.
      axis: the class axis.
      weights: optional per-example weights (shape without ``axis``).
      where: optional per-example boolean mask.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
      A scalar, or the per-example divergence (``axis`` removed) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.js_divergence(jnp.log(jnp.array([1.0, 0.0])), jnp.log(jnp.array([0.0, 1.0])))
      Array(0.6931472, dtype=float32)

    References:
      Lin 1991, "Divergence measures based on the Shannon entropy";
      SciPy ``scipy.spatial.distance.jensenshannon`` (its square).
    """
    contracts.floating(log_p=log_p, log_q=log_q)
    contracts.same_shape(log_p=log_p, log_q=log_q)
    ax = contracts.axis_index(axis, jnp.ndim(log_p), "log_p")
    lp, lq = upcast(log_p, log_q)
    sp, sq = lp > -jnp.inf, lq > -jnp.inf
    either = sp | sq
    # Both -inf: logaddexp(-inf, -inf) has a NaN gradient; that entry is off both supports.
    lm = jnp.logaddexp(jnp.where(either, lp, 0.0), jnp.where(either, lq, 0.0)) - math.log(2.0)
    pterm = _xlogy_over(jnp.exp(jnp.where(sp, lp, 0.0)), lp, lm, sp)
    qterm = _xlogy_over(jnp.exp(jnp.where(sq, lq, 0.0)), lq, lm, sq)
    loss = 0.5 * jnp.sum(pterm + qterm, axis=ax)
    return reduce(loss, reduction, weights=weights, where=where)


# --------------------------------------------------------------------------- 1-D Wasserstein


_INT_OF = {4: jnp.int32, 8: jnp.int64}


def _float_key(x: jax.Array) -> jax.Array:
    """Order-preserving integer key of a float array (an involution: it is its own inverse).

    XLA's CPU sort is several times faster on integers than through the float
    total-order comparator. Negative floats have their magnitude bits flipped so
    that the signed-integer order is the float order (NaN last, as ``jnp.sort``).
    """
    if jnp.issubdtype(x.dtype, jnp.signedinteger):
        i = x
    else:
        # Canonical NaN (positive): every NaN sorts last, as in jnp.sort.
        x = jnp.where(jnp.isnan(x), jnp.nan, x)
        i = jax.lax.bitcast_convert_type(x, _INT_OF[x.dtype.itemsize])
    return i ^ ((i >> (8 * i.dtype.itemsize - 1)) & jnp.iinfo(i.dtype).max)


def _sort(values, *operands):
    """``jax.lax.sort`` of ``(values, *operands)`` by ``values`` through its integer key."""
    if values.dtype.itemsize not in _INT_OF:
        return jax.lax.sort((values, *operands), num_keys=1)
    # Stable: measured faster than the unstable sort on XLA CPU, and deterministic at ties.
    out = jax.lax.sort((_float_key(values), *operands), num_keys=1, is_stable=True)
    keys = _float_key(out[0])
    return (jax.lax.bitcast_convert_type(keys, values.dtype), *out[1:])


def _sorted_with(values, weights):
    """``values`` sorted, with their weights and original positions (one multi-operand sort)."""
    order = jnp.arange(values.shape[0], dtype=jnp.int32)
    return _sort(values, weights, order)


def _uniform_grid(n: int, m: int, dtype) -> dict:
    """The quantile grid of two uniform distributions: data-independent, built once in NumPy."""
    cu = np.arange(1, n + 1, dtype=np.float64) / n
    cv = np.arange(1, m + 1, dtype=np.float64) / m
    qs = np.sort(np.concatenate([cu, cv]))
    grid = dict(
        cu=cu, cv=cv, dq=np.diff(qs, prepend=0.0),
        ku=np.clip(np.searchsorted(cu, qs, side="left"), 0, n - 1),
        kv=np.clip(np.searchsorted(cv, qs, side="left"), 0, m - 1),
    )
    return {k: jnp.asarray(a, dtype if a.dtype.kind == "f" else jnp.int32) for k, a in grid.items()}


def _quantile_grid(u, v, wu, wv, uniform, value_only=False):
    """Sorted atoms, cumulative weights and the merged quantile grid (POT ``wasserstein_1d``)."""
    tu, tv = jnp.sum(wu), jnp.sum(wv)
    if uniform:  # no weights: the grid is data-independent; the value needs only sorted atoms
        grid = _uniform_grid(u.shape[0], v.shape[0], u.dtype)
        if value_only:  # a one-operand sort is much cheaper on CPU
            return dict(us=_sort(u)[0], vs=_sort(v)[0], **grid)
        (us, _, iu), (vs, _, iv) = _sorted_with(u, wu), _sorted_with(v, wv)
        return dict(iu=iu, iv=iv, us=us, vs=vs, tu=tu, tv=tv, **grid)
    (us, wus, iu), (vs, wvs, iv) = _sorted_with(u, wu), _sorted_with(v, wv)
    cu, cv = jnp.cumsum(wus) / tu, jnp.cumsum(wvs) / tv
    n, m = u.shape[0], v.shape[0]
    qs = jnp.sort(jnp.concatenate([cu, cv]))
    dq = jnp.diff(qs, prepend=jnp.zeros((1,), qs.dtype))
    ku = jnp.clip(jnp.searchsorted(cu, qs, side="left"), 0, n - 1)
    kv = jnp.clip(jnp.searchsorted(cv, qs, side="left"), 0, m - 1)
    return dict(iu=iu, iv=iv, us=us, vs=vs, tu=tu, tv=tv, cu=cu, cv=cv, dq=dq, ku=ku, kv=kv)


def _pow(d: jax.Array, p: float) -> jax.Array:
    return jnp.abs(d) if p == 1.0 else jnp.abs(d) ** p


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5))
def _w1d(u, v, wu, wv, p, uniform=False):
    if uniform and u.shape[0] == v.shape[0]:
        # Equal uniform weights: the quantile pieces are the n sorted pairs, each of mass 1/n.
        return jnp.mean(_pow(_sort(u)[0] - _sort(v)[0], p))
    grid = _quantile_grid(u, v, wu, wv, uniform, value_only=True)
    d = grid["us"][grid["ku"]] - grid["vs"][grid["kv"]]
    return jnp.sum(grid["dq"] * _pow(d, p))


def _w1d_fwd(u, v, wu, wv, p, uniform=False):
    grid = _quantile_grid(u, v, wu, wv, uniform)
    d = grid["us"][grid["ku"]] - grid["vs"][grid["kv"]]
    return jnp.sum(grid["dq"] * _pow(d, p)), (grid, d)


def _cdf_weight_grad(own_sorted, own_cdf, other_sorted, other_cdf, order, total, p):
    """Gradient w.r.t. raw weights of the quantile integral through the CDF knots ``own_cdf``.

    Moving knot ``c_k`` up reassigns ``(c_k, c_k + dc)`` from atom ``k + 1`` to atom
    ``k``: ``dW/dc_k = |s_k - Q(c_k+)|^p - |s_{k+1} - Q(c_k+)|^p`` with ``Q`` the other
    quantile function; the last knot is pinned to 1 by the normalisation.
    """
    n = own_sorted.shape[0]
    j = jnp.clip(jnp.searchsorted(other_cdf, own_cdf, side="right"), 0, other_sorted.shape[0] - 1)
    q = other_sorted[j]
    nxt = jnp.concatenate([own_sorted[1:], own_sorted[-1:]])
    gc = jnp.where(jnp.arange(n) < n - 1, _pow(own_sorted - q, p) - _pow(nxt - q, p), 0.0)
    # c = S / T: dW/dw_i = (sum_{k >= i} gc_k - sum_k gc_k c_k) / T.
    g_sorted = (jnp.cumsum(gc[::-1])[::-1] - jnp.sum(gc * own_cdf)) / total
    return jnp.zeros_like(g_sorted).at[order].set(g_sorted)


def _w1d_bwd(p, uniform, residuals, ct):
    grid, d = residuals
    ad = jnp.abs(d)
    if p == 1.0:
        slope = jnp.sign(d)  # subgradient 0 at ties (and identical inputs)
    else:
        # Double where: |d|^(p-1) at d = 0 is 0 for p > 1, but its own gradient is not finite.
        slope = p * jnp.where(ad > 0, jnp.where(ad > 0, ad, 1.0) ** (p - 1.0), 0.0) * jnp.sign(d)
    gd = ct * grid["dq"] * slope
    n, m = grid["us"].shape[0], grid["vs"].shape[0]
    g_us = jax.ops.segment_sum(gd, grid["ku"], n)
    g_vs = -jax.ops.segment_sum(gd, grid["kv"], m)
    g_u = jnp.zeros_like(g_us).at[grid["iu"]].set(g_us)
    g_v = jnp.zeros_like(g_vs).at[grid["iv"]].set(g_vs)
    g_wu = ct * _cdf_weight_grad(grid["us"], grid["cu"], grid["vs"], grid["cv"], grid["iu"], grid["tu"], p)
    g_wv = ct * _cdf_weight_grad(grid["vs"], grid["cv"], grid["us"], grid["cu"], grid["iv"], grid["tv"], p)
    return g_u, g_v, g_wu, g_wv


_w1d.defvjp(_w1d_fwd, _w1d_bwd)


@functools.partial(jax.jit, static_argnames=("p", "uniform", "batch_ndim"))
def _w1d_batched(u, v, wu, wv, *, p, uniform, batch_ndim):
    return batched(lambda *a: _w1d(*a, p, uniform), u, v, wu, wv, batch_ndim=batch_ndim)


def _weights_or_uniform(w, values, name):
    if w is None:
        return jnp.ones_like(values)
    contracts.shape_is(w, values.shape, name, "one weight per value")
    return jnp.asarray(w, values.dtype)


@register(_FAMILY, reference="scipy.stats.wasserstein_distance (p=1), ot.wasserstein_1d (p)")
def wasserstein_1d(
    u_values: Any, v_values: Any, u_weights: Any = None, v_weights: Any = None, *,
    p: float = 1.0, weights: Any = None, where: Any = None, reduction: str = "mean",
) -> Any:
    r"""Wasserstein distance between 1-D empirical distributions (``W_p^p``).

    .. math:: W_p^p(\mu, \nu) = \int_0^1 |F_\mu^{-1}(t) - F_\nu^{-1}(t)|^p \, dt

    through the quantile functions, as POT's ``ot.wasserstein_1d`` (which
    returns ``W_p^p``, not ``W_p``); for ``p = 1`` it equals SciPy's
    ``scipy.stats.wasserstein_distance``. Weights are normalised per
    distribution. A ``custom_vjp`` gives the closed-form gradient w.r.t. the
    values (``p |d|^{p-1} sign(d)`` spread over the quantile pieces) and the
    weights (through the CDF knots); at ties and identical inputs the
    gradient is the finite subgradient 0 (``p = 1``) or the exact 0 (``p > 1``).

    Args:
      u_values: ``[..., n]`` atoms of the first distribution; leading
        dimensions are a batch of independent distributions.
      v_values: ``[..., m]`` atoms of the second (same batch dimensions).
      u_weights: optional ``[..., n]`` non-negative weights (default uniform).
      v_weights: optional ``[..., m]`` non-negative weights.
      p: order ``>= 1`` (static Python float).
      weights: optional per-distribution weights (batch shape).
      where: optional per-distribution boolean mask (batch shape).
      reduction: ``"mean"``, ``"sum"`` or ``"none"`` (one value per distribution).

    Returns:
      A scalar, or ``W_p^p`` per distribution (batch shape) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.wasserstein_1d(jnp.array([0.0, 1.0, 3.0]), jnp.array([5.0, 6.0, 8.0]))
      Array(5., dtype=float32)

    References:
      SciPy ``scipy.stats.wasserstein_distance``; POT ``ot.wasserstein_1d``;
      Peyré & Cuturi 2019, "Computational Optimal Transport", §2.6.
    """
    if not p >= 1.0:
        raise ValueError(f"{function_name()}: p must be >= 1, got {p!r}")
    contracts.floating(u_values=u_values, v_values=v_values)
    contracts.min_rank(u_values, 1, "u_values")
    contracts.min_rank(v_values, 1, "v_values")
    if jnp.shape(u_values)[:-1] != jnp.shape(v_values)[:-1]:
        raise ValueError(
            f"{function_name()}: u_values has shape {jnp.shape(u_values)} and v_values has "
            f"shape {jnp.shape(v_values)}; batch dimensions (all but the last) must be equal"
        )
    u, v, wu, wv = upcast(u_values, v_values, u_weights, v_weights,
                                dtype=compute_dtype(u_values, v_values))
    uniform = wu is None and wv is None
    wu = _weights_or_uniform(wu, u, "u_weights")
    wv = _weights_or_uniform(wv, v, "v_weights")
    loss = _w1d_batched(u, v, wu, wv, p=float(p), uniform=uniform, batch_ndim=u.ndim - 1)
    return reduce(loss, reduction, weights=weights, where=where)


# --------------------------------------------------------------------------- point clouds


@register(_FAMILY, reference="ott.tools.sinkhorn_divergence.sinkdiv (PointCloud)")
def sinkhorn_divergence(
    x: Any, y: Any, a: Any = None, b: Any = None, *, epsilon: Any = 0.05,
    cost: str = "sqeuclidean", max_iterations: int = 1000, tolerance: float = 1e-6,
    implicit_diff: bool = True, weights: Any = None, where: Any = None, reduction: str = "mean",
) -> Any:
    r"""Debiased Sinkhorn divergence between point clouds (ott-jax ``sinkdiv``).

    .. math::
       S_\varepsilon(a, b) = \mathrm{OT}_\varepsilon(a, b)
       - \tfrac12 \mathrm{OT}_\varepsilon(a, a) - \tfrac12 \mathrm{OT}_\varepsilon(b, b)
       + \tfrac{\varepsilon}{2} (\textstyle\sum a - \sum b)^2

    with :math:`\mathrm{OT}_\varepsilon` the ``reg_ot_cost`` of
    :func:`sinkhorn` (the last term is ott's mass correction, zero for
    balanced inputs; ``epsilon`` is stop-gradient there as in ott). The
    symmetric terms use the averaged updates of Feydy et al. 2019. Zero (to
    solver tolerance) for identical inputs, non-negative, symmetric.
    Gradients by the envelope theorem (see :func:`sinkhorn`).

    Args:
      x: ``[..., n, d]`` source points (leading dims: a batch of problems).
      y: ``[..., m, d]`` target points.
      a: optional ``[..., n]`` weights (default uniform).
      b: optional ``[..., m]`` weights, ``sum(b) = sum(a)``.
      epsilon: absolute entropic regularisation (ott ``PointCloud(epsilon=...)``).
      cost: ``"sqeuclidean"`` (ott's default ``SqEuclidean``) or ``"euclidean"``.
      max_iterations: static iteration cap.
      tolerance: L1 marginal error threshold.
      implicit_diff: envelope-theorem gradient (True) or unrolled autodiff.
      weights: optional per-problem weights (batch shape).
      where: optional per-problem boolean mask.
      reduction: ``"mean"``, ``"sum"`` or ``"none"`` (one value per problem).

    Returns:
      A scalar, or the divergence per problem (batch shape) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.0, 0.0], [1.0, 0.0]])
      >>> float(jaxloss.sinkhorn_divergence(x, x)) < 1e-5
      True

    References:
      Genevay et al. 2018 (arXiv 1706.00292); Feydy et al. 2019
      (arXiv 1810.08278); ott-jax ``ott.tools.sinkhorn_divergence``.
    """
    x, y, a, b, eps = prepare(x, y, a, b, epsilon, cost)
    loss = batched_divergence(
        x, y, a, b, eps, cost=cost, max_iterations=max_iterations, tolerance=tolerance,
        implicit_diff=implicit_diff, batch_ndim=x.ndim - 2,
    )
    return reduce(loss, reduction, weights=weights, where=where)


def random_projections(key: Any, dim: int, num: int, dtype: Any = jnp.float32) -> jax.Array:
    """``[dim, num]`` directions uniform on the sphere (normalised Gaussians), as POT."""
    g = jax.random.normal(key, (dim, num), dtype)
    return g / jnp.linalg.norm(g, axis=0, keepdims=True)


@functools.partial(jax.jit, static_argnames=("p", "uniform", "batch_ndim"))
def _sliced_batched(x, y, wa, wb, proj, *, p, uniform, batch_ndim):
    def one(xi, yi, ai, bi):
        xp, yp = (xi @ proj).T, (yi @ proj).T  # [L, n], [L, m]
        per = jax.vmap(lambda s, t: _w1d(s, t, ai, bi, p, uniform))(xp, yp)
        mean = jnp.mean(per)
        return safe_root(mean, p)  # identical inputs: 0 with a zero gradient

    return batched(one, x, y, wa, wb, batch_ndim=batch_ndim)


@register(_FAMILY, reference="ot.sliced_wasserstein_distance")
def sliced_wasserstein(
    x: Any, y: Any, key: Any = None, *, num_projections: int = 128, p: float = 2.0,
    a: Any = None, b: Any = None, projections: Any = None,
    weights: Any = None, where: Any = None, reduction: str = "mean",
) -> Any:
    r"""Sliced Wasserstein distance (POT ``sliced_wasserstein_distance``).

    .. math::
       SW_p(\mu, \nu) = \Big(\frac1L \sum_{l=1}^{L}
       W_p^p(\theta_l^\top \mu, \theta_l^\top \nu)\Big)^{1/p}

    with ``L = num_projections`` directions drawn from ``key`` (normalised
    Gaussians; the same directions for every problem in a batch) or given as
    ``projections``. The 1-D terms are :func:`wasserstein_1d`. At identical
    inputs the gradient is 0 (the ``(.)^{1/p}`` kink is guarded).

    Args:
      x: ``[..., n, d]`` source points.
      y: ``[..., m, d]`` target points.
      key: PRNG key for the projections (ignored when ``projections`` is given).
      num_projections: number of directions ``L`` (static).
      p: order ``>= 1`` (static).
      a: optional ``[..., n]`` weights; b: optional ``[..., m]`` weights.
      projections: optional ``[d, L]`` directions (POT's ``projections``).
      weights: optional per-problem weights (batch shape).
      where: optional per-problem boolean mask.
      reduction: ``"mean"``, ``"sum"`` or ``"none"`` (one value per problem).

    Returns:
      A scalar, or ``SW_p`` per problem (batch shape) for ``"none"``.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.0, 0.0], [1.0, 1.0]])
      >>> jaxloss.sliced_wasserstein(x, x + 2.0, projections=jnp.array([[1.0], [0.0]]))
      Array(2., dtype=float32)

    References:
      Bonneel et al. 2015, "Sliced and Radon Wasserstein barycenters of
      measures"; POT ``ot.sliced_wasserstein_distance``.
    """
    if not p >= 1.0:
        raise ValueError(f"{function_name()}: p must be >= 1, got {p!r}")
    check_point_clouds(x, y)
    x, y, a, b = upcast(x, y, a, b, dtype=compute_dtype(x, y))
    d = x.shape[-1]
    if projections is None:
        if key is None:
            raise ValueError(f"{function_name()}: pass a PRNG key or projections")
        contracts.prng_key(key)
        proj = random_projections(key, d, num_projections, x.dtype)
    else:
        contracts.shape_is(projections, (d, None), "projections", "[d, num_projections]")
        proj = jnp.asarray(projections, x.dtype)
    uniform = a is None and b is None
    wa = _weights_or_uniform(a, x[..., 0], "a")
    wb = _weights_or_uniform(b, y[..., 0], "b")

    loss = _sliced_batched(x, y, wa, wb, proj, p=float(p), uniform=uniform, batch_ndim=x.ndim - 2)
    return reduce(loss, reduction, weights=weights, where=where)


@functools.partial(jax.jit, static_argnames=("unbiased", "batch_ndim"))
def _mmd_batched(x, y, s, *, unbiased, batch_ndim):
    scale = 1.0 / (2.0 * jnp.square(s))

    def kernel_mean(a, b, drop_diagonal):
        sq = jnp.sum(jnp.square(a[:, None, :] - b[None, :, :]), axis=-1)
        k = jnp.sum(jnp.exp(-sq[..., None] * scale[None, None, :]), axis=-1)
        if not drop_diagonal:
            return jnp.mean(k)
        off = ~jnp.eye(a.shape[0], dtype=bool)
        return jnp.sum(jnp.where(off, k, 0.0)) / (a.shape[0] * (a.shape[0] - 1))

    def one(xi, yi):
        return (kernel_mean(xi, xi, unbiased) + kernel_mean(yi, yi, unbiased)
                - 2.0 * kernel_mean(xi, yi, False))

    return batched(one, x, y, batch_ndim=batch_ndim)


@register(_FAMILY, reference="Gretton et al. 2012 (MMD^2 with Gaussian kernels)", aliases=("mmd",))
def mmd_loss(
    x: Any, y: Any, *, bandwidths: Any = (1.0,), unbiased: bool = True,
    weights: Any = None, where: Any = None, reduction: str = "mean",
) -> Any:
    r"""Squared maximum mean discrepancy with a sum of Gaussian kernels.

    .. math::
       k(s, t) = \sum_{\sigma} \exp\!\big(-\|s - t\|^2 / (2\sigma^2)\big), \quad
       \mathrm{MMD}^2 = \overline{k(x, x')} + \overline{k(y, y')} - 2\,\overline{k(x, y)}

    The unbiased estimator (default) averages ``k(x_i, x_j)`` over ``i != j``
    (``n (n - 1)`` pairs; it can be slightly negative); ``unbiased=False``
    includes the diagonals (V-statistic, non-negative).

    Args:
      x: ``[..., n, d]`` samples (``n >= 2`` when unbiased).
      y: ``[..., m, d]`` samples.
      bandwidths: kernel widths ``sigma`` (floats or a traced array; differentiable).
      unbiased: exclude the diagonals of the within-sample kernel sums.
      weights: optional per-problem weights (batch shape).
      where: optional per-problem boolean mask.
      reduction: ``"mean"``, ``"sum"`` or ``"none"`` (one value per problem).

    Returns:
      A scalar, or ``MMD^2`` per problem (batch shape) for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.0], [1.0]])
      >>> jaxloss.mmd_loss(x, x + 1.0, unbiased=False)  # (1 - e^-2) / 2
      Array(0.4323324, dtype=float32)

    References:
      Gretton et al. 2012, "A Kernel Two-Sample Test" (JMLR 13); Li et al.
      2015, "Generative Moment Matching Networks" (multi-bandwidth kernel).
    """
    check_point_clouds(x, y)
    x, y = upcast(x, y)
    n, m = x.shape[-2], y.shape[-2]
    if unbiased and min(n, m) < 2:
        raise ValueError(
            f"{function_name()}: the unbiased estimator needs >= 2 points per sample, "
            f"got x shape {x.shape}, y shape {y.shape}"
        )
    s = jnp.reshape(param(bandwidths, x.dtype), (-1,))
    loss = _mmd_batched(x, y, s, unbiased=unbiased, batch_ndim=x.ndim - 2)
    return reduce(loss, reduction, weights=weights, where=where)

