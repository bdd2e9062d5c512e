"""Log-domain entropic optimal transport between point clouds (ott-jax semantics).

:func:`sinkhorn` returns the solver's output for one problem;
:func:`sinkhorn_divergence` is the debiased loss over a batch of problems.

The solver iterates scaled potentials ``u = f / eps``, ``v = g / eps`` with
coupling ``P = exp(u_i + v_j - C_ij / eps)``. Its value is ott-jax's
``reg_ot_cost`` (``<C, P> + eps KL(P | a x b)``). The gradient of that value is
taken by the envelope theorem in a ``custom_vjp``: at the optimum the
regularised dual objective is stationary in the potentials, so the implicit
term of the adjoint system vanishes and the gradient w.r.t. ``x, y, a, b,
epsilon`` is the partial gradient of the dual at the (fixed) optimal
potentials. Memory is that of one cost matrix, independent of the number of
iterations.

Speed: the (non-differentiated) solver runs each block of 10 iterations in the
kernel domain with the current potentials absorbed into the kernel (matrix-vector
products instead of a log-sum-exp over the cost matrix per half-step; the same
iterates), falling back to the log-domain block if a scaling under/overflows.
"""

from __future__ import annotations

import functools
import warnings
from typing import Literal, NamedTuple, TypeAlias, cast

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.contracts import calling
from .._src.numerics import is_traced, param, safe_norm
from .._src.points import batched, point_clouds
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction

__all__ = ["SinkhornOutput", "sinkhorn", "sinkhorn_divergence"]

_FAMILY = "distribution"
Cost: TypeAlias = Literal["sqeuclidean", "euclidean"]
COSTS = ("sqeuclidean", "euclidean")
_CHECK_EVERY = 10  # the convergence test runs every this many iterations (as ott's inner_iterations)
# Marginal error above which an eager call warns (ott-jax's default threshold).
_WARN_ERROR = 1e-3


class SinkhornOutput(NamedTuple):
    """Result of :func:`sinkhorn` (a pytree).

    Attributes:
      reg_ot_cost: scalar, ott-jax ``reg_ot_cost``
        ``<C, P> + eps KL(P | a b^T)`` (differentiable w.r.t. ``x, y, a, b, epsilon``).
      potentials: ``(f, g)`` dual potentials of shapes ``[n]``, ``[m]``
        (``P_ij = exp((f_i + g_j - C_ij) / eps)``, ott-jax's convention).
      coupling: ``[n, m]`` transport plan ``P``.
      iterations: number of Sinkhorn iterations run (a multiple of 10).
      converged: whether the marginal error fell below ``tolerance``.
      error: final L1 error of the second marginal, ``||P^T 1 - b||_1``.
    """

    reg_ot_cost: jax.Array
    potentials: tuple[jax.Array, jax.Array]
    coupling: jax.Array
    iterations: jax.Array
    converged: jax.Array
    error: jax.Array


def cost_matrix(x: jax.Array, y: jax.Array, cost: str) -> jax.Array:
    """``[n, m]`` ground cost: ``||x_i - y_j||^2`` or ``||x_i - y_j||`` (finite gradient at 0)."""
    if cost == "sqeuclidean":
        # The expanded form is a matmul (fast); clamp the rounding negatives.
        sq = (
            jnp.sum(x * x, axis=-1)[:, None] + jnp.sum(y * y, axis=-1)[None, :] - 2.0 * (x @ y.T)
        )
        return jnp.maximum(sq, 0.0)
    return safe_norm(x[:, None, :] - y[None, :, :], axis=-1)


def _log_weights(w: jax.Array) -> jax.Array:
    # Zero weights get log 0 = -inf: their potentials are -inf and their coupling rows vanish.
    positive = w > 0
    return jnp.where(positive, jnp.log(jnp.where(positive, w, 1.0)), -jnp.inf)


def _lse(z: jax.Array, axis: int) -> jax.Array:
    return jax.nn.logsumexp(z, axis=axis)


def _iterate(ce, log_a, log_b, b, symmetric, state):
    """One Sinkhorn iteration on ``(u, v, col)`` where ``col = lse_i(u_i - ce_ij)``.

    Carrying ``col`` makes the marginal error free: ``P^T 1 = exp(v + col)``.
    """
    u, v, col = state
    if symmetric:
        # Feydy et al. 2019 eq. 25: averaged updates of the single potential of OT(a, a).
        u = 0.5 * (u + (log_a - col))
        return u, u, _lse(u[:, None] - ce, axis=0)
    v = log_b - col
    u = log_a - _lse(v[None, :] - ce, axis=1)
    return u, v, _lse(u[:, None] - ce, axis=0)


def _marginal_error(state, b):
    _, v, col = state
    marginal = jnp.exp(jnp.where(jnp.isfinite(v), v + col, -jnp.inf))
    return jnp.sum(jnp.abs(marginal - b))


def _init(ce, log_a):
    u = jnp.zeros(ce.shape[0], ce.dtype)
    v = jnp.zeros(ce.shape[1], ce.dtype)
    return u, v, _lse(u[:, None] - ce, axis=0)


def _block(ce, log_a, log_b, b, symmetric, state):
    step = functools.partial(_iterate, ce, log_a, log_b, b, symmetric)
    return jax.lax.fori_loop(0, _CHECK_EVERY, lambda _, s: step(s), state)


def _block_scaling(ce, log_a, log_b, a, b, symmetric, state):
    """:func:`_block` in the kernel domain, with the potentials absorbed into the kernel.

    ``K = exp(u_i + v_j - ce_ij)`` is formed once; the 10 iterations update
    scalings ``alpha = exp(du), beta = exp(dv)`` by matrix-vector products (the
    same iterates as the log domain, Schmitzer 2019 absorption), then fold them
    back into ``u, v``. Falls back to the log-domain block when a scaling leaves
    a safe range (under/overflow of the kernel), so it is never less stable.
    """
    u0, v0, _ = state
    kernel = jnp.exp(u0[:, None] + v0[None, :] - ce)

    def ratio(w, denom):  # zero weights keep a zero scaling (their potential stays -inf)
        return jnp.where(w > 0, w / denom, 0.0)

    def step(_, ab):
        alpha, beta = ab
        if symmetric:
            # Feydy's averaged update in scaling form: alpha' = sqrt(alpha * a / K^T alpha).
            alpha = jnp.sqrt(alpha * ratio(a, alpha @ kernel))
            return alpha, alpha
        beta = ratio(b, alpha @ kernel)
        return ratio(a, kernel @ beta), beta

    alpha, beta = jax.lax.fori_loop(0, _CHECK_EVERY, step, (jnp.ones_like(a), jnp.ones_like(b)))
    kta = alpha @ kernel
    la, lb, lk = jnp.log(alpha), jnp.log(beta), jnp.log(kta)

    def safe(logs, w):
        # Scalings beyond e^40 mean the kernel under/overflowed: the log domain is needed.
        return jnp.all(jnp.where(w > 0, jnp.abs(logs) < 40.0, ~jnp.isnan(logs)))

    ok = safe(la, a) & safe(lb, b) & jnp.all(jnp.isfinite(lk) | (b <= 0))
    # col at zero-weight columns (v = -inf) is unused: keep it finite.
    fast = (u0 + la, v0 + lb, jnp.where(b > 0, lk - v0, 0.0))
    return jax.lax.cond(
        ok, lambda: fast, lambda: _block(ce, log_a, log_b, b, symmetric, state)
    )


def _solve_while(ce, a, b, max_iterations, tolerance, symmetric):
    """``lax.while_loop`` solver (not reverse-differentiable; used under the custom_vjp)."""
    log_a, log_b = _log_weights(a), _log_weights(b)
    blocks = max(1, max_iterations // _CHECK_EVERY)

    def cond(carry):
        _, it, err = carry
        return (it < blocks) & (err >= tolerance)

    def body(carry):
        state, it, _ = carry
        state = _block_scaling(ce, log_a, log_b, a, b, symmetric, state)
        return state, it + 1, _marginal_error(state, b)

    start = (_init(ce, log_a), jnp.zeros((), jnp.int32), jnp.asarray(jnp.inf, ce.dtype))
    state, it, err = jax.lax.while_loop(cond, body, start)
    return state[0], state[1], it * _CHECK_EVERY, err


def _solve_unrolled(ce, a, b, max_iterations, tolerance, symmetric):
    """``lax.scan`` solver differentiated by plain autodiff (memory grows with iterations)."""
    log_a, log_b = _log_weights(a), _log_weights(b)
    blocks = max(1, max_iterations // _CHECK_EVERY)

    def body(carry, _):
        state, it, err = carry
        done = err < tolerance
        new = jax.lax.cond(
            done, lambda s: s, lambda s: _block(ce, log_a, log_b, b, symmetric, s), state
        )
        new_err = jnp.where(done, err, _marginal_error(new, b))
        return (new, it + jnp.where(done, 0, 1), new_err), None

    start = (_init(ce, log_a), jnp.zeros((), jnp.int32), jnp.asarray(jnp.inf, ce.dtype))
    (state, it, err), _ = jax.lax.scan(body, start, None, length=blocks)
    return state[0], state[1], it * _CHECK_EVERY, err


def dual_objective(u, v, ce, a, b, eps):
    """ott-jax's ``reg_ot_cost`` at scaled potentials ``u, v`` (``compute_kl_reg_cost``).

    ``eps * (<a, u - log a> + <b, v - log b> + sum(a) sum(b) - sum(P))``, zero
    weights excluded from the first two sums.
    """
    sa, sb = a > 0, b > 0
    # Double where: -inf potentials / log 0 at zero weights must not reach values or gradients.
    u0 = jnp.where(sa, u, 0.0)
    v0 = jnp.where(sb, v, 0.0)
    la = jnp.log(jnp.where(sa, a, 1.0))
    lb = jnp.log(jnp.where(sb, b, 1.0))
    z = u0[:, None] + v0[None, :] - ce
    mask = sa[:, None] & sb[None, :]
    mass = jnp.sum(jnp.where(mask, jnp.exp(jnp.where(mask, z, -jnp.inf)), 0.0))
    linear = jnp.sum(jnp.where(sa, a * (u0 - la), 0.0)) + jnp.sum(jnp.where(sb, b * (v0 - lb), 0.0))
    return eps * (linear + jnp.sum(a) * jnp.sum(b) - mass)


def _value(x, y, a, b, eps, u, v, cost):
    return dual_objective(u, v, cost_matrix(x, y, cost) / eps, a, b, eps)


@functools.partial(jax.custom_vjp, nondiff_argnums=(5, 6, 7, 8))
def _implicit(x, y, a, b, eps, cost, max_iterations, tolerance, symmetric):
    out, _ = _implicit_fwd(x, y, a, b, eps, cost, max_iterations, tolerance, symmetric)
    return out


def _implicit_fwd(x, y, a, b, eps, cost, max_iterations, tolerance, symmetric):
    ce = cost_matrix(x, y, cost) / eps
    u, v, it, err = _solve_while(ce, a, b, max_iterations, tolerance, symmetric)
    value = dual_objective(u, v, ce, a, b, eps)
    return (value, u, v, it, err), (x, y, a, b, eps, u, v)


def _implicit_bwd(cost, max_iterations, tolerance, symmetric, residuals, cotangents):
    x, y, a, b, eps, u, v = residuals
    ct_value = cotangents[0]  # potentials and counters are outputs without gradient
    _, vjp = jax.vjp(lambda x, y, a, b, eps: _value(x, y, a, b, eps, u, v, cost), x, y, a, b, eps)
    return vjp(ct_value)


_implicit.defvjp(_implicit_fwd, _implicit_bwd)


@functools.partial(
    jax.jit, static_argnames=("cost", "max_iterations", "tolerance", "implicit_diff", "symmetric")
)
def solve(x, y, a, b, eps, *, cost, max_iterations, tolerance, implicit_diff, symmetric=False):
    """Runs Sinkhorn on prepared arrays; returns a :class:`SinkhornOutput`."""
    if implicit_diff:
        value, u, v, it, err = cast(
            "tuple[jax.Array, ...]", _implicit(x, y, a, b, eps, cost, max_iterations, tolerance, symmetric)
        )
        u, v = jax.lax.stop_gradient(u), jax.lax.stop_gradient(v)
        ce = jax.lax.stop_gradient(cost_matrix(x, y, cost) / eps)
    else:
        ce = cost_matrix(x, y, cost) / eps
        u, v, it, err = _solve_unrolled(ce, a, b, max_iterations, tolerance, symmetric)
        value = dual_objective(u, v, ce, a, b, eps)
    coupling = jnp.exp(u[:, None] + v[None, :] - ce)
    return SinkhornOutput(
        reg_ot_cost=value,
        potentials=(eps * u, eps * v),
        coupling=coupling,
        iterations=it,
        converged=err < tolerance,
        error=err,
    )


def warn_unconverged(error: jax.Array, tolerance: float, max_iterations: int) -> None:
    """Eagerly, a ``RuntimeWarning`` when a solve stopped at ``max_iterations`` with a marginal
    error above both ``tolerance`` and ott-jax's default threshold 1e-3 (the default tolerance
    1e-6 is at float32's rounding floor). Under ``jit`` nothing can be said: use
    :func:`sinkhorn`'s ``converged`` and ``error``."""
    if is_traced(error):
        return
    worst = float(jnp.max(error)) if error.size else 0.0
    if not worst < max(tolerance, _WARN_ERROR):
        warnings.warn(
            f"{contracts.function_name()}: Sinkhorn did not converge in max_iterations={max_iterations} "
            f"(marginal L1 error {worst:.3g}); the value is not the optimal-transport one. "
            "Increase max_iterations or epsilon",
            RuntimeWarning,
            stacklevel=3,
        )


class _Problem(NamedTuple):
    x: jax.Array  # [..., n, d]
    y: jax.Array  # [..., m, d]
    a: jax.Array  # [..., n] masses (uniform 1/n when not given)
    b: jax.Array  # [..., m]
    eps: jax.Array  # epsilon in the compute dtype


def _problem(
    x: ArrayLike, y: ArrayLike, a: ArrayLike | None, b: ArrayLike | None, epsilon: ArrayLike, cost: str
) -> _Problem:
    """The point-cloud prologue, with uniform masses filled in, for :func:`sinkhorn` and the divergence."""
    contracts.choice(cost, COSTS, "cost")
    pts = point_clouds(x, y, a, b)
    xs, ys = pts.x, pts.y
    n, m = xs.shape[-2], ys.shape[-2]
    wa = jnp.full(xs.shape[:-1], 1.0 / n, xs.dtype) if pts.a is None else pts.a
    wb = jnp.full(ys.shape[:-1], 1.0 / m, xs.dtype) if pts.b is None else pts.b
    return _Problem(xs, ys, wa, wb, param(epsilon, xs.dtype))


def sinkhorn(
    x: ArrayLike,
    y: ArrayLike,
    a: ArrayLike | None = None,
    b: ArrayLike | None = None,
    *,
    epsilon: float | ArrayLike = 0.05,
    cost: Cost = "sqeuclidean",
    max_iterations: int = 1000,
    tolerance: float = 1e-6,
    implicit_diff: bool = True,
) -> SinkhornOutput:
    r"""Entropic optimal transport between two point clouds (log-domain Sinkhorn).

    Solves, as ott-jax's ``PointCloud(x, y, epsilon=epsilon)`` with
    ``Sinkhorn()``,

    .. math::
       \mathrm{OT}_\varepsilon(a, b) = \min_{P 1 = a,\ P^T 1 = b}
       \langle C, P\rangle + \varepsilon\, \mathrm{KL}(P \,\|\, a b^T)

    with ``C_ij = ||x_i - y_j||^2`` (``cost="sqeuclidean"``, ott's
    ``SqEuclidean``, no 1/2) or ``||x_i - y_j||``. ``epsilon`` is absolute, as
    ott's ``PointCloud(epsilon=float)`` with ``relative_epsilon=None`` (ott's
    *default* ``epsilon=None`` is ``0.05 * std(C)``; pass
    ``0.05 * mean(C)`` yourself for a relative value). Iterations alternate
    ``g`` then ``f`` updates from zero potentials (ott's order); every 10
    iterations the L1 error of the second marginal is compared with
    ``tolerance`` (ott's ``threshold``, ``inner_iterations=10``).

    Gradients: with ``implicit_diff=True`` (default) the gradient of
    ``reg_ot_cost`` w.r.t. ``x, y, a, b, epsilon`` comes from a ``custom_vjp``
    using the envelope theorem (Danskin): the dual objective is stationary in
    the potentials at the optimum, so the implicit-function adjoint term is
    zero and the gradient is the partial gradient of the dual at the optimal
    potentials (``dC`` is weighted by the coupling). It is exact at
    convergence, and its memory is one cost matrix, independent of
    ``max_iterations``. ``potentials``, ``coupling`` carry no gradient in this
    mode. ``implicit_diff=False`` unrolls the iterations (``lax.scan``) and
    differentiates them by autodiff: every output is differentiable, memory
    grows with the number of iterations. The gradient w.r.t. ``a``/``b`` is
    defined up to an additive constant (the balanced problem fixes the mass).

    Args:
      x: ``[n, d]`` source points.
      y: ``[m, d]`` target points.
      a: ``[n]`` source weights (default uniform ``1/n``); ``sum(a) = sum(b)``.
        Zero weights are allowed.
      b: ``[m]`` target weights (default uniform ``1/m``).
      epsilon: entropic regularisation (absolute; float or traced array).
      cost: ``"sqeuclidean"`` or ``"euclidean"``.
      max_iterations: iteration cap (static; rounded down to a multiple of 10).
      tolerance: stop when ``||P^T 1 - b||_1 < tolerance``.
      implicit_diff: envelope-theorem ``custom_vjp`` (True) or unrolled autodiff.

    Returns:
      A :class:`SinkhornOutput` with ``reg_ot_cost`` (scalar), ``potentials``
      ``(f, g)``, ``coupling`` ``[n, m]``, ``iterations``, ``converged``, ``error``.
      POT's ``ot.sinkhorn2`` value is ``jnp.sum(out.coupling * C)``.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.0], [1.0]])
      >>> out = jaxloss.sinkhorn(x, x, epsilon=1.0)
      >>> C = jnp.array([[0.0, 1.0], [1.0, 0.0]])
      >>> round(float(jnp.sum(out.coupling * C)), 5)  # 1 / (1 + e), POT sinkhorn2
      0.26894
      >>> bool(out.converged)
      True

    References:
      Cuturi 2013, "Sinkhorn Distances" (arXiv 1306.0895); ott-jax
      ``ott.solvers.linear.sinkhorn.Sinkhorn`` and ``compute_kl_reg_cost``;
      Feydy et al. 2019 (arXiv 1810.08278).
    """
    with calling("sinkhorn"):
        xs, ys, wa, wb, eps = _problem(x, y, a, b, epsilon, cost)
        contracts.rank(xs, 2, "x", "batch problems with jax.vmap")
        contracts.rank(ys, 2, "y")
        out = solve(
            xs, ys, wa, wb, eps, cost=cost, max_iterations=max_iterations,
            tolerance=tolerance, implicit_diff=implicit_diff,
        )
        warn_unconverged(out.error, tolerance, max_iterations)
        return out


@functools.partial(
    jax.jit, static_argnames=("cost", "max_iterations", "tolerance", "implicit_diff", "batch_ndim")
)
def batched_divergence(x, y, a, b, eps, *, cost, max_iterations, tolerance, implicit_diff, batch_ndim):
    """:func:`divergence` (value, error) over ``batch_ndim`` leading dimensions (compiled once per shape)."""
    fn = functools.partial(
        divergence, eps=eps, cost=cost, max_iterations=max_iterations,
        tolerance=tolerance, implicit_diff=implicit_diff,
    )
    return batched(fn, x, y, a, b, batch_ndim=batch_ndim)


def divergence(x, y, a, b, eps, *, cost, max_iterations, tolerance, implicit_diff):
    """``(OT(a, b) - OT(a, a) / 2 - OT(b, b) / 2, the largest marginal error of the three solves)``
    for one problem (symmetric solver for the last two)."""
    kw = dict(
        cost=cost, max_iterations=max_iterations, tolerance=tolerance, implicit_diff=implicit_diff
    )
    xy = solve(x, y, a, b, eps, **kw)
    xx = solve(x, x, a, a, eps, symmetric=True, **kw)
    yy = solve(y, y, b, b, eps, symmetric=True, **kw)
    # ott adds eps/2 (sum a - sum b)^2, zero for balanced problems (kept for parity).
    mass = 0.5 * jax.lax.stop_gradient(eps) * jnp.square(jnp.sum(a) - jnp.sum(b))
    error = jax.lax.stop_gradient(jnp.maximum(jnp.maximum(xy.error, xx.error), yy.error))
    return xy.reg_ot_cost - 0.5 * (xx.reg_ot_cost + yy.reg_ot_cost) + mass, error


@register(_FAMILY, reference="ott.tools.sinkhorn_divergence.sinkdiv (PointCloud)")
def sinkhorn_divergence(
    x: ArrayLike, y: ArrayLike, a: ArrayLike | None = None, b: ArrayLike | None = None, *,
    epsilon: float | ArrayLike = 0.05, cost: Cost = "sqeuclidean", max_iterations: int = 1000,
    tolerance: float = 1e-6, implicit_diff: bool = True,
    weights: ArrayLike | None = None, where: ArrayLike | None = None, reduction: Reduction = "mean",
) -> jax.Array:
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
    contracts.bounded(epsilon, "epsilon", gt=0)
    xs, ys, wa, wb, eps = _problem(x, y, a, b, epsilon, cost)
    loss, error = batched_divergence(
        xs, ys, wa, wb, eps, cost=cost, max_iterations=max_iterations, tolerance=tolerance,
        implicit_diff=implicit_diff, batch_ndim=xs.ndim - 2,
    )
    warn_unconverged(error, tolerance, max_iterations)
    return reduce(loss, reduction, weights=weights, where=where)
