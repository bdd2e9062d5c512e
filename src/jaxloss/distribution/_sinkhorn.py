"""Log-domain entropic optimal transport (ott-jax semantics), balanced and unbalanced.

:func:`sinkhorn_from_cost` solves a problem given by its cost matrix (ott-jax
``Geometry`` + ``LinearProblem`` + ``Sinkhorn``); :func:`sinkhorn` builds the
cost from two point clouds (``PointCloud``); :func:`sinkhorn_divergence` is the
debiased loss over a batch of problems.

The solver iterates scaled potentials ``u = f / eps``, ``v = g / eps`` with
coupling ``P = exp(u_i + v_j - C_ij / eps)``; unbalanced problems damp each
update by ``tau = rho / (rho + eps)`` (ott's ``tau_a``, ``tau_b``). The fixed
point is the stationary point of the concave dual

    D(u, v) = Phi_a(u) + Phi_b(v) - sum_ij P_ij,
    Phi(u) = sum_i a_i u_i (tau = 1) or sum_i a_i (1 - exp(-k u_i)) / k, k = (1 - tau) / tau.

Gradients (``implicit_diff=True``): the potentials are differentiated
implicitly, solving the linear system of the dual's Hessian by conjugate
gradients in a ``custom_vjp`` (memory: one cost matrix, independent of the
number of iterations). ott's ``reg_ot_cost`` of a balanced problem is the dual
at its optimum, so its gradient is the envelope (Danskin) gradient: the dual's
partial gradient at the fixed potentials, with no linear solve.

Speed: the (non-differentiated) solver, balanced or unbalanced, runs each
block of 10 iterations in the kernel domain with the current potentials
absorbed into the kernel (matrix-vector products instead of a log-sum-exp over
the cost matrix per half-step; the same iterates), falling back to the
log-domain block if a scaling under/overflows.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Literal, NamedTuple, TypeAlias

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.contracts import calling
from .._src.numerics import is_traced, param, safe_norm, upcast
from .._src.points import batched, point_clouds
from .._src.reduce import reduce
from .._src.registry import register
from .._src.types import ArrayLike, Reduction
from ._sinkhorn_solver import SinkhornOutput, solve_cost

__all__ = ["sinkhorn", "sinkhorn_divergence", "sinkhorn_from_cost"]

_FAMILY = "distribution"
CostName: TypeAlias = Literal[
    "sqeuclidean", "euclidean", "cosine", "pnorm_p", "euclidean_p", "neg_dot"
]
Cost: TypeAlias = CostName | Callable[[jax.Array, jax.Array], jax.Array]
RelativeEpsilon: TypeAlias = Literal["std", "mean"] | None
COSTS = ("sqeuclidean", "euclidean", "cosine", "pnorm_p", "euclidean_p", "neg_dot")
_P_COSTS = ("pnorm_p", "euclidean_p")
_COSINE_RIDGE = 1e-8  # ott costs.Cosine(ridge=1e-8)
_DEFAULT_EPSILON_SCALE = 0.05  # ott epsilon_scheduler.DEFAULT_EPSILON_SCALE
_WARN_ERROR = 1e-3


def cost_matrix(x: jax.Array, y: jax.Array, cost: Cost, p: float | None = None) -> jax.Array:
    """``[n, m]`` ground cost between the rows of ``x`` and ``y`` (ott-jax cost functions).

    Finite gradients where two points coincide (safe norms, ``|d|^p`` with ``p >= 1``) and at
    zero vectors for ``"cosine"`` (ridge in the denominator, as ott).
    """
    if callable(cost):
        return jax.vmap(lambda xi: jax.vmap(lambda yj: jnp.asarray(cost(xi, yj), x.dtype))(y))(x)
    if cost == "sqeuclidean":
        # The expanded form is a matmul (fast); clamp the rounding negatives.
        sq = jnp.sum(x * x, axis=-1)[:, None] + jnp.sum(y * y, axis=-1)[None, :] - 2.0 * (x @ y.T)
        return jnp.maximum(sq, 0.0)
    if cost == "neg_dot":
        return -(x @ y.T)
    if cost == "cosine":
        nx, ny = safe_norm(x, axis=-1), safe_norm(y, axis=-1)
        return 1.0 - (x @ y.T) / (nx[:, None] * ny[None, :] + _COSINE_RIDGE)
    diff = x[:, None, :] - y[None, :, :]
    if cost == "pnorm_p":
        assert p is not None
        return jnp.sum(jnp.abs(diff) ** p, axis=-1) / p
    dist = safe_norm(diff, axis=-1)
    if cost == "euclidean":
        return dist
    assert p is not None
    return dist**p


def check_cost(cost: Cost, cost_p: float | None) -> None:
    """Trace-time checks of ``cost`` and ``cost_p`` (``p >= 1`` for the p-costs)."""
    if callable(cost):
        return
    contracts.choice(cost, COSTS, "cost")
    if cost in _P_COSTS:
        if cost_p is None:
            raise ValueError(
                f"{contracts.function_name()}: cost={cost!r} needs cost_p (a float >= 1)"
            )
        if is_traced(cost_p):
            raise TypeError(
                f"{contracts.function_name()}: cost_p must be a Python float (it is static)"
            )
        contracts.bounded(cost_p, "cost_p", ge=1)


def check_options(relative_epsilon: object, tau_a: float, tau_b: float) -> None:
    """Trace-time checks of ``relative_epsilon`` and the (static) ``tau_a``, ``tau_b``."""
    if relative_epsilon is not None:
        contracts.choice(relative_epsilon, ("std", "mean"), "relative_epsilon")
    for name, tau in (("tau_a", tau_a), ("tau_b", tau_b)):
        if is_traced(tau):
            raise TypeError(
                f"{contracts.function_name()}: {name} must be a Python float (it is static)"
            )
        contracts.bounded(tau, name, gt=0, le=1)


def resolve_epsilon(
    c: jax.Array, epsilon: jax.Array | None, relative_epsilon: str | None
) -> jax.Array:
    """ott ``Geometry(epsilon, relative_epsilon)``: absolute, or a multiple (default 0.05) of
    the cost matrix's std or mean, the scale under ``stop_gradient``."""
    if relative_epsilon is None and epsilon is not None:
        return epsilon
    mean = jnp.mean(c)
    if relative_epsilon == "mean":
        scale = mean
    else:  # "std", and ott's default epsilon=None
        scale = jnp.sqrt(jax.nn.relu(jnp.mean(c * c) - mean * mean))
    scale = jax.lax.stop_gradient(scale)
    return (_DEFAULT_EPSILON_SCALE if epsilon is None else epsilon) * scale


@functools.partial(
    jax.jit,
    static_argnames=(
        "cost",
        "cost_p",
        "relative_epsilon",
        "taus",
        "max_iterations",
        "tolerance",
        "implicit_diff",
    ),
)
def solve(
    x,
    y,
    a,
    b,
    epsilon,
    *,
    cost,
    cost_p,
    relative_epsilon,
    taus,
    max_iterations,
    tolerance,
    implicit_diff,
):
    """:func:`solve_cost` on the cost matrix of two point clouds."""
    c = cost_matrix(x, y, cost, cost_p)
    eps = resolve_epsilon(c, epsilon, relative_epsilon)
    return solve_cost(
        c,
        a,
        b,
        eps,
        taus=taus,
        max_iterations=max_iterations,
        tolerance=tolerance,
        implicit_diff=implicit_diff,
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
    x: ArrayLike,
    y: ArrayLike,
    a: ArrayLike | None,
    b: ArrayLike | None,
    epsilon: ArrayLike,
    cost: Cost,
    cost_p: float | None,
    relative_epsilon: object,
    tau_a: float,
    tau_b: float,
) -> _Problem:
    """The point-cloud prologue, with uniform masses filled in, for :func:`sinkhorn` and the divergence."""
    check_cost(cost, cost_p)
    check_options(relative_epsilon, tau_a, tau_b)
    contracts.bounded(epsilon, "epsilon", gt=0)
    pts = point_clouds(x, y, a, b)
    xs, ys = pts.x, pts.y
    n, m = xs.shape[-2], ys.shape[-2]
    wa = jnp.full(xs.shape[:-1], 1.0 / n, xs.dtype) if pts.a is None else pts.a
    wb = jnp.full(ys.shape[:-1], 1.0 / m, xs.dtype) if pts.b is None else pts.b
    return _Problem(xs, ys, wa, wb, param(epsilon, xs.dtype))


def sinkhorn_from_cost(
    cost_matrix: ArrayLike,
    a: ArrayLike | None = None,
    b: ArrayLike | None = None,
    *,
    epsilon: float | ArrayLike | None = None,
    relative_epsilon: RelativeEpsilon = None,
    tau_a: float = 1.0,
    tau_b: float = 1.0,
    max_iterations: int = 1000,
    tolerance: float = 1e-6,
    implicit_diff: bool = True,
) -> SinkhornOutput:
    r"""Entropic optimal transport for a given cost matrix, balanced or unbalanced (log-domain Sinkhorn).

    Solves, as ott-jax's ``Geometry(cost_matrix, epsilon, relative_epsilon)`` with
    ``LinearProblem(geom, a, b, tau_a, tau_b)`` and ``Sinkhorn()``,

    .. math::
       \min_{P \ge 0}\ \langle C, P\rangle - \varepsilon H(P)
       + \rho_a \mathrm{KL}(P 1 \,\|\, a) + \rho_b \mathrm{KL}(P^T 1 \,\|\, b),
       \qquad \rho = \varepsilon \tau / (1 - \tau),

    a balanced problem (``P 1 = a``, ``P^T 1 = b``) when ``tau_a = tau_b = 1``
    (then the entropy term is ott's ``eps KL(P | a b^T)``). Iterations alternate
    the ``g`` then ``f`` updates, each damped by ``tau`` (ott's order); every 10
    iterations the error is compared with ``tolerance``.

    ``epsilon``: ``None`` gives ott's default ``0.05 * std(C)``; a number is absolute;
    with ``relative_epsilon="std"`` or ``"mean"`` it multiplies the std or the mean
    of ``C`` (default 0.05), the scale under ``stop_gradient`` (as ott).

    Outputs: ``reg_ot_cost`` is ott's ``reg_ot_cost`` (its dual formula
    ``compute_kl_reg_cost``); ``transport_cost`` is ``<C, P>``, POT's
    ``ot.sinkhorn2(a, b, C, reg=eps)`` (balanced) and
    ``ot.sinkhorn_unbalanced2(a, b, C, reg=eps, reg_m=rho, reg_type="entropy")``
    (unbalanced, ``rho = eps tau / (1 - tau)``, i.e. ``tau = rho / (rho + eps)``).

    Gradients (``implicit_diff=True``): the potentials, coupling and both costs are
    differentiated w.r.t. ``cost_matrix``, ``a``, ``b`` and ``epsilon`` by implicit
    differentiation at the fixed point (a conjugate-gradient solve with the dual's
    Hessian in a ``custom_vjp``, as ott's ``ImplicitDiff``), memory independent of
    ``max_iterations``. The balanced ``reg_ot_cost`` needs no solve (envelope
    theorem). ``implicit_diff=False`` unrolls the iterations (``lax.scan``) and
    differentiates them by autodiff. The gradient w.r.t. ``a``/``b`` of a balanced
    problem is defined up to an additive constant.

    Differences from the anchors: ``tau_a``, ``tau_b`` are static Python floats
    (``0 < tau <= 1``). POT's default ``sinkhorn_unbalanced`` (``reg_type="kl"``)
    regularises with ``KL(P | a b^T)`` and so has a different unbalanced plan; ott's
    (this one) matches POT's ``reg_type="entropy"``. ott re-centres unbalanced
    potentials (``recenter_potentials``) only as an option off by default, as here.

    Args:
      cost_matrix: ``[n, m]`` ground cost ``C``.
      a: ``[n]`` source weights (default uniform ``1/n``); zero weights allowed.
      b: ``[m]`` target weights (default uniform ``1/m``); ``sum(b) = sum(a)`` when balanced.
      epsilon: entropic regularisation (float or traced array), or ``None``.
      relative_epsilon: ``None``, ``"std"`` or ``"mean"`` (see above).
      tau_a: ``rho_a / (rho_a + eps)`` in ``(0, 1]``; 1 keeps ``P 1 = a``.
      tau_b: the same for the second marginal.
      max_iterations: iteration cap (static; rounded down to a multiple of 10).
      tolerance: stop when the error (see :class:`SinkhornOutput`) is below it.
      implicit_diff: implicit differentiation (True) or unrolled autodiff.

    Returns:
      A :class:`SinkhornOutput` (``reg_ot_cost``, ``potentials``, ``coupling``
      ``[n, m]``, ``iterations``, ``converged``, ``error``, ``transport_cost``).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> C = jnp.array([[0.0, 1.0], [1.0, 0.0]])
      >>> out = jaxloss.sinkhorn_from_cost(C, epsilon=1.0)
      >>> round(float(out.transport_cost), 5)  # 1 / (1 + e), POT sinkhorn2
      0.26894

    References:
      Cuturi 2013 (arXiv 1306.0895); Chizat et al. 2018, "Scaling algorithms for
      unbalanced optimal transport problems" (arXiv 1607.05816); Séjourné et al.
      2019 (arXiv 1910.12958); ott-jax ``Geometry``, ``LinearProblem``,
      ``Sinkhorn``; POT ``sinkhorn2``, ``sinkhorn_unbalanced2``.
    """
    with calling("sinkhorn_from_cost"):
        check_options(relative_epsilon, tau_a, tau_b)
        contracts.bounded(epsilon, "epsilon", gt=0)
        contracts.floating(cost_matrix=cost_matrix)
        contracts.rank(cost_matrix, 2, "cost_matrix", "batch problems with jax.vmap")
        (c,) = upcast(cost_matrix)
        n, m = c.shape
        wa = jnp.full((n,), 1.0 / n, c.dtype) if a is None else upcast(a, dtype=c.dtype)[0]
        wb = jnp.full((m,), 1.0 / m, c.dtype) if b is None else upcast(b, dtype=c.dtype)[0]
        contracts.shape_is(wa, (n,), "a", "one weight per row of cost_matrix")
        contracts.shape_is(wb, (m,), "b", "one weight per column of cost_matrix")
        eps = None if epsilon is None else param(epsilon, c.dtype)
        out = _solve_from_cost(
            c,
            wa,
            wb,
            eps,
            relative_epsilon=relative_epsilon,
            taus=(float(tau_a), float(tau_b)),
            max_iterations=max_iterations,
            tolerance=tolerance,
            implicit_diff=implicit_diff,
        )
        warn_unconverged(out.error, tolerance, max_iterations)
        return out


@functools.partial(
    jax.jit,
    static_argnames=("relative_epsilon", "taus", "max_iterations", "tolerance", "implicit_diff"),
)
def _solve_from_cost(
    c, a, b, epsilon, *, relative_epsilon, taus, max_iterations, tolerance, implicit_diff
):
    eps = resolve_epsilon(c, epsilon, relative_epsilon)
    return solve_cost(
        c,
        a,
        b,
        eps,
        taus=taus,
        max_iterations=max_iterations,
        tolerance=tolerance,
        implicit_diff=implicit_diff,
    )


def sinkhorn(
    x: ArrayLike,
    y: ArrayLike,
    a: ArrayLike | None = None,
    b: ArrayLike | None = None,
    *,
    epsilon: float | ArrayLike = 0.05,
    cost: Cost = "sqeuclidean",
    cost_p: float | None = None,
    relative_epsilon: RelativeEpsilon = None,
    tau_a: float = 1.0,
    tau_b: float = 1.0,
    max_iterations: int = 1000,
    tolerance: float = 1e-6,
    implicit_diff: bool = True,
) -> SinkhornOutput:
    r"""Entropic optimal transport between two point clouds (log-domain Sinkhorn).

    Solves, as ott-jax's ``PointCloud(x, y, cost_fn, epsilon=epsilon)`` with
    ``Sinkhorn()``,

    .. math::
       \mathrm{OT}_\varepsilon(a, b) = \min_{P 1 = a,\ P^T 1 = b}
       \langle C, P\rangle + \varepsilon\, \mathrm{KL}(P \,\|\, a b^T)

    (or its unbalanced form with ``tau_a``, ``tau_b``; see
    :func:`sinkhorn_from_cost`, which this calls on ``C``). The ground cost
    ``C_ij = c(x_i, y_j)`` follows ott's cost functions: ``"sqeuclidean"``
    (``SqEuclidean``, ``||x - y||^2``, no 1/2), ``"euclidean"``
    (``Euclidean``), ``"cosine"`` (``Cosine``: ``1 - cos``, ridge 1e-8 in the
    denominator), ``"pnorm_p"`` (``PNormP(cost_p)``: ``||x - y||_p^p / p``),
    ``"euclidean_p"`` (``EuclideanP(cost_p)``: ``||x - y||_2^p``),
    ``"neg_dot"`` (``NegDotProduct``: ``-<x, y>``), or a callable
    ``(x_i, y_j) -> scalar`` (vmapped, like a custom ott ``CostFn``).

    ``epsilon`` is absolute by default, as ott's ``PointCloud(epsilon=float)``
    (ott's *default* ``epsilon=None`` is ``0.05 * std(C)``: pass
    ``relative_epsilon="std"`` with ``epsilon=0.05`` for it); with
    ``relative_epsilon="std"``/``"mean"`` it multiplies the std/mean of ``C``
    (under ``stop_gradient``, as ott). Iterations alternate ``g`` then ``f``
    updates from zero potentials (ott's order); every 10 iterations the error
    is compared with ``tolerance`` (ott's ``threshold``, ``inner_iterations=10``).

    Gradients: with ``implicit_diff=True`` (default), implicit differentiation
    at the fixed point (see :func:`sinkhorn_from_cost`); the balanced
    ``reg_ot_cost`` uses the envelope theorem (Danskin): the dual is stationary
    in the potentials at the optimum, so the gradient w.r.t. ``x, y, a, b,
    epsilon`` is the dual's partial gradient at the optimal potentials. Memory
    is one cost matrix, independent of ``max_iterations``.
    ``implicit_diff=False`` unrolls the iterations (``lax.scan``) and
    differentiates them by autodiff (memory grows with the iterations).

    Args:
      x: ``[n, d]`` source points.
      y: ``[m, d]`` target points.
      a: ``[n]`` source weights (default uniform ``1/n``); ``sum(a) = sum(b)``
        when balanced. Zero weights are allowed.
      b: ``[m]`` target weights (default uniform ``1/m``).
      epsilon: entropic regularisation (float or traced array).
      cost: a cost name (above) or a callable ``(x_i, y_j) -> scalar``.
      cost_p: the ``p >= 1`` of ``"pnorm_p"`` and ``"euclidean_p"`` (static).
      relative_epsilon: ``None`` (absolute), ``"std"`` or ``"mean"``.
      tau_a: ott's ``tau_a`` in ``(0, 1]`` (1: balanced first marginal).
      tau_b: ott's ``tau_b``.
      max_iterations: iteration cap (static; rounded down to a multiple of 10).
      tolerance: stop when ``||P^T 1 - b||_1 < tolerance`` (balanced).
      implicit_diff: implicit differentiation (True) or unrolled autodiff.

    Returns:
      A :class:`SinkhornOutput` with ``reg_ot_cost`` (scalar), ``potentials``
      ``(f, g)``, ``coupling`` ``[n, m]``, ``iterations``, ``converged``,
      ``error`` and ``transport_cost`` (``<C, P>``, POT's ``ot.sinkhorn2``).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[0.0], [1.0]])
      >>> out = jaxloss.sinkhorn(x, x, epsilon=1.0)
      >>> round(float(out.transport_cost), 5)  # 1 / (1 + e), POT sinkhorn2
      0.26894
      >>> bool(out.converged)
      True

    References:
      Cuturi 2013, "Sinkhorn Distances" (arXiv 1306.0895); ott-jax
      ``ott.solvers.linear.sinkhorn.Sinkhorn``, ``compute_kl_reg_cost`` and
      ``ott.geometry.costs``; Feydy et al. 2019 (arXiv 1810.08278).
    """
    with calling("sinkhorn"):
        xs, ys, wa, wb, eps = _problem(
            x, y, a, b, epsilon, cost, cost_p, relative_epsilon, tau_a, tau_b
        )
        contracts.rank(xs, 2, "x", "batch problems with jax.vmap")
        contracts.rank(ys, 2, "y")
        out = solve(
            xs,
            ys,
            wa,
            wb,
            eps,
            cost=cost,
            cost_p=cost_p,
            relative_epsilon=relative_epsilon,
            taus=(float(tau_a), float(tau_b)),
            max_iterations=max_iterations,
            tolerance=tolerance,
            implicit_diff=implicit_diff,
        )
        warn_unconverged(out.error, tolerance, max_iterations)
        return out


@functools.partial(
    jax.jit,
    static_argnames=(
        "cost",
        "cost_p",
        "relative_epsilon",
        "taus",
        "max_iterations",
        "tolerance",
        "implicit_diff",
        "value",
        "batch_ndim",
    ),
)
def batched_divergence(
    x,
    y,
    a,
    b,
    eps,
    *,
    cost,
    cost_p,
    relative_epsilon,
    taus,
    max_iterations,
    tolerance,
    implicit_diff,
    value,
    batch_ndim,
):
    """:func:`divergence` (value, error) over ``batch_ndim`` leading dimensions (compiled once per shape)."""
    fn = functools.partial(
        divergence,
        eps=eps,
        cost=cost,
        cost_p=cost_p,
        relative_epsilon=relative_epsilon,
        taus=taus,
        max_iterations=max_iterations,
        tolerance=tolerance,
        implicit_diff=implicit_diff,
        value=value,
    )
    return batched(fn, x, y, a, b, batch_ndim=batch_ndim)


def divergence(
    x,
    y,
    a,
    b,
    eps,
    *,
    cost,
    cost_p=None,
    relative_epsilon=None,
    taus=(1.0, 1.0),
    max_iterations,
    tolerance,
    implicit_diff,
    value="reg_ot_cost",
):
    """``(OT(a, b) - OT(a, a) / 2 - OT(b, b) / 2, the largest error of the three solves)``
    for one problem (symmetric solver for the last two; epsilon of the ``x, y`` cost, as
    ott's ``share_epsilon=True``)."""
    cxy = cost_matrix(x, y, cost, cost_p)
    eps = resolve_epsilon(cxy, eps, relative_epsilon)
    kw = dict(
        taus=taus, max_iterations=max_iterations, tolerance=tolerance, implicit_diff=implicit_diff
    )
    sym = taus[0] == taus[1]
    xy = solve_cost(cxy, a, b, eps, **kw)
    xx = solve_cost(cost_matrix(x, x, cost, cost_p), a, a, eps, symmetric=sym, **kw)
    yy = solve_cost(cost_matrix(y, y, cost, cost_p), b, b, eps, symmetric=sym, **kw)
    error = jax.lax.stop_gradient(jnp.maximum(jnp.maximum(xy.error, xx.error), yy.error))
    if value == "transport_cost":  # POT empirical_sinkhorn_divergence
        return xy.transport_cost - 0.5 * (xx.transport_cost + yy.transport_cost), error
    # ott adds eps/2 (sum a - sum b)^2, zero for balanced problems (kept for parity).
    mass = 0.5 * jax.lax.stop_gradient(eps) * jnp.square(jnp.sum(a) - jnp.sum(b))
    return xy.reg_ot_cost - 0.5 * (xx.reg_ot_cost + yy.reg_ot_cost) + mass, error


@register(_FAMILY, reference="ott.tools.sinkhorn_divergence.sinkdiv (PointCloud)")
def sinkhorn_divergence(
    x: ArrayLike,
    y: ArrayLike,
    a: ArrayLike | None = None,
    b: ArrayLike | None = None,
    *,
    epsilon: float | ArrayLike = 0.05,
    cost: Cost = "sqeuclidean",
    cost_p: float | None = None,
    relative_epsilon: RelativeEpsilon = None,
    tau_a: float = 1.0,
    tau_b: float = 1.0,
    value: Literal["reg_ot_cost", "transport_cost"] = "reg_ot_cost",
    max_iterations: int = 1000,
    tolerance: float = 1e-6,
    implicit_diff: bool = True,
    weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: Reduction = "mean",
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
    ``value="transport_cost"`` debiases ``<C, P>`` instead (no mass term): POT's
    ``ot.bregman.empirical_sinkhorn_divergence(x, y, reg=epsilon, a, b)``.
    The three problems share the epsilon of the ``x, y`` cost (ott's
    ``share_epsilon=True``, which matters with ``relative_epsilon``).
    Gradients by implicit differentiation (envelope theorem for the balanced
    ``reg_ot_cost``; see :func:`sinkhorn`).

    Args:
      x: ``[..., n, d]`` source points (leading dims: a batch of problems).
      y: ``[..., m, d]`` target points.
      a: optional ``[..., n]`` weights (default uniform).
      b: optional ``[..., m]`` weights, ``sum(b) = sum(a)`` when balanced.
      epsilon: entropic regularisation (ott ``PointCloud(epsilon=...)``).
      cost: a cost name or callable, as :func:`sinkhorn`.
      cost_p: the ``p >= 1`` of ``"pnorm_p"`` and ``"euclidean_p"``.
      relative_epsilon: ``None`` (absolute), ``"std"`` or ``"mean"``.
      tau_a: ott's ``tau_a`` in ``(0, 1]`` (static).
      tau_b: ott's ``tau_b`` in ``(0, 1]`` (static).
      value: ``"reg_ot_cost"`` (ott) or ``"transport_cost"`` (POT).
      max_iterations: static iteration cap.
      tolerance: L1 marginal error threshold.
      implicit_diff: implicit differentiation (True) or unrolled autodiff.
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
      (arXiv 1810.08278); ott-jax ``ott.tools.sinkhorn_divergence``; POT
      ``ot.bregman.empirical_sinkhorn_divergence``.
    """
    contracts.choice(value, ("reg_ot_cost", "transport_cost"), "value")
    xs, ys, wa, wb, eps = _problem(
        x, y, a, b, epsilon, cost, cost_p, relative_epsilon, tau_a, tau_b
    )
    loss, error = batched_divergence(
        xs,
        ys,
        wa,
        wb,
        eps,
        cost=cost,
        cost_p=cost_p,
        relative_epsilon=relative_epsilon,
        taus=(float(tau_a), float(tau_b)),
        max_iterations=max_iterations,
        tolerance=tolerance,
        implicit_diff=implicit_diff,
        value=value,
        batch_ndim=xs.ndim - 2,
    )
    warn_unconverged(error, tolerance, max_iterations)
    return reduce(loss, reduction, weights=weights, where=where)
