"""Entropic Gromov-Wasserstein and fused Gromov-Wasserstein (ott-jax semantics).

The solver is ott's mirror descent (Peyré et al. 2016): starting from ``T = a b^T``, each
outer iteration linearises the quadratic objective at the current coupling,

    C(T) = f1(Cx) p 1^T + 1 (f2(Cy) q)^T - h1(Cx) T h2(Cy)^T + fused_penalty * M,
    p = T 1, q = T^T 1,

and solves the entropic linear problem on ``C(T)`` with the shared Sinkhorn solver. For
``loss="sqeucl"``: ``f1(x) = x^2, f2(y) = y^2, h1(x) = x, h2(y) = 2 y``; for ``loss="kl"``:
``f1(x) = x log x - x, f2(y) = y, h1(x) = x, h2(y) = log(max(y, 1e-8))`` (ott
``quadratic_costs``). The outer loop is a ``lax.while_loop`` that does not carry
gradients; the value is ott's ``reg_gw_cost``: the Sinkhorn dual objective of the last
potentials on the cost re-linearised at the final coupling, with coupling and potentials
under ``stop_gradient`` (envelope theorem, ott's default).
"""

from __future__ import annotations

import functools
from typing import Literal, NamedTuple

import jax
import jax.numpy as jnp

from .._src import contracts
from .._src.contracts import calling, function_name
from .._src.numerics import is_traced, param, upcast
from .._src.types import ArrayLike
from ._sinkhorn import RelativeEpsilon, check_options, resolve_epsilon
from ._sinkhorn_solver import dual_objective, solve_cost

__all__ = ["GWOutput", "gromov_wasserstein"]

GWLoss = Literal["sqeucl", "kl"]
_MIN_ITERATIONS = 5  # ott WassersteinSolver(min_iterations=5)
_KL_CLIP = 1e-8  # ott make_kl_loss(clipping_value=1e-8)


class GWOutput(NamedTuple):
    """Result of :func:`gromov_wasserstein` (a pytree).

    Attributes:
      reg_gw_cost: scalar, ott-jax's ``GWOutput.reg_gw_cost``: the regularised cost
        (Sinkhorn dual objective) of the linearisation at the final coupling.
      coupling: ``[n, m]`` coupling ``T`` of the last linear solve.
      converged: the outer loop stopped before ``max_iterations`` and every linear
        solve converged (ott's ``converged``).
      errors: ``[max_iterations]`` final Sinkhorn error of each outer iteration
        (``-1`` for iterations not run; ott stores every inner error instead).
      primal_cost: scalar ``<C(T), T>`` at the final coupling (ott's ``primal_cost``):
        the (fused) GW objective without entropy, ``sum L(Cx_ik, Cy_jl) T_ij T_kl
        + fused_penalty <M, T>``, POT's ``entropic_gromov_wasserstein2`` value.
      iterations: number of outer iterations run.
    """

    reg_gw_cost: jax.Array
    coupling: jax.Array
    converged: jax.Array
    errors: jax.Array
    primal_cost: jax.Array
    iterations: jax.Array


def _linearize(cx, cy, m, fused_penalty, t, loss):
    """ott ``QuadraticProblem.update_linearization`` of a balanced problem at coupling ``t``."""
    p, q = jnp.sum(t, axis=1), jnp.sum(t, axis=0)
    if loss == "sqeucl":
        f1x, f2y, h1x, h2y = cx * cx, cy * cy, cx, 2.0 * cy
    else:
        f1x = jax.scipy.special.xlogy(cx, cx) - cx
        f2y, h1x, h2y = cy, cx, jnp.log(jnp.maximum(cy, _KL_CLIP))
    c = (f1x @ p)[:, None] + (f2y @ q)[None, :] - h1x @ t @ h2y.T
    if m is not None:
        c = c + fused_penalty * m
    return c


@functools.partial(
    jax.jit,
    static_argnames=(
        "loss",
        "relative_epsilon",
        "max_iterations",
        "sinkhorn_max_iterations",
        "tolerance",
        "sinkhorn_tolerance",
    ),
)
def _solve(
    cx,
    cy,
    m,
    a,
    b,
    epsilon,
    fused_penalty,
    *,
    loss,
    relative_epsilon,
    max_iterations,
    sinkhorn_max_iterations,
    tolerance,
    sinkhorn_tolerance,
):
    kw = dict(
        taus=(1.0, 1.0),
        max_iterations=sinkhorn_max_iterations,
        tolerance=sinkhorn_tolerance,
        implicit_diff=True,
    )
    sg = jax.lax.stop_gradient
    cx0, cy0, a0, b0, eps0, fp0 = sg(cx), sg(cy), sg(a), sg(b), sg(epsilon), sg(fused_penalty)
    m0 = None if m is None else sg(m)

    def linear(t):
        c = _linearize(cx0, cy0, m0, fp0, t, loss)
        eps = resolve_epsilon(c, eps0, relative_epsilon)
        return solve_cost(c, a0, b0, eps, **kw)

    # Slot 0 is ott's initial solve on the linearisation at T = a b^T (QuadraticInitializer);
    # slots 1.. are ott's outer iterations 0.. (one Sinkhorn in the compiled loop, not two).
    dtype = cx.dtype
    costs0 = -jnp.ones((max_iterations + 1,), dtype)
    conv0 = jnp.ones((max_iterations + 1,), bool)
    n, m_ = a.shape[0], b.shape[0]

    def keep_going(carry):
        j, _, _, _, costs, _, _ = carry
        i = j - 1  # ott's iteration counter
        prev2 = costs[jnp.maximum(i - 1, 0)]
        prev1 = costs[jnp.maximum(i, 0)]
        close = jnp.abs(prev2 - prev1) <= 1e-8 + tolerance * jnp.abs(prev1)
        go_on = (i <= 2) | (jnp.isfinite(prev1) & ~close)
        return (j == 0) | ((i < max_iterations) & ((i < _MIN_ITERATIONS) | go_on))

    def step(carry):
        j, t, _, _, costs, errors, conv = carry
        out = linear(t)
        return (
            j + 1,
            out.coupling,
            out.potentials[0],
            out.potentials[1],
            costs.at[j].set(out.reg_ot_cost),
            errors.at[j].set(out.error),
            conv.at[j].set(out.converged),
        )

    start = (
        jnp.zeros((), jnp.int32),
        a0[:, None] * b0[None, :],
        jnp.zeros((n,), dtype),
        jnp.zeros((m_,), dtype),
        costs0,
        costs0,
        conv0,
    )
    j, t, f, g, _, errors, conv = jax.lax.while_loop(keep_going, step, start)
    it = j - 1
    errors, conv = errors[1:], conv[1:]
    # The value: the dual at the last potentials on the cost re-linearised at the final
    # coupling, gradients through the cost only (ott's set_cost with use_danskin=True).
    c = _linearize(cx, cy, m, fused_penalty, t, loss)
    eps = resolve_epsilon(c, epsilon, relative_epsilon)
    value = dual_objective(f / eps, g / eps, c / eps, a, b, eps)
    return GWOutput(
        reg_gw_cost=value,
        coupling=t,
        converged=(it < max_iterations) & jnp.all(conv),
        errors=errors,
        primal_cost=jnp.sum(c * t),
        iterations=it,
    )


def gromov_wasserstein(
    cost_x: ArrayLike,
    cost_y: ArrayLike,
    a: ArrayLike | None = None,
    b: ArrayLike | None = None,
    *,
    epsilon: float | ArrayLike = 1.0,
    relative_epsilon: RelativeEpsilon = None,
    fused_cost: ArrayLike | None = None,
    fused_penalty: float | ArrayLike = 1.0,
    loss: GWLoss = "sqeucl",
    tau_a: float = 1.0,
    tau_b: float = 1.0,
    max_iterations: int = 50,
    sinkhorn_max_iterations: int = 1000,
    tolerance: float = 1e-3,
    sinkhorn_tolerance: float = 1e-3,
) -> GWOutput:
    r"""Entropic Gromov-Wasserstein and fused Gromov-Wasserstein (ott-jax ``GromovWasserstein``).

    Approximately solves, as ott's ``QuadraticProblem(Geometry(cost_x),
    Geometry(cost_y), geom_xy=Geometry(fused_cost), fused_penalty=..., loss=...)``
    with ``GromovWasserstein(Sinkhorn(), epsilon=...)``,

    .. math::
       \min_{T 1 = a,\ T^T 1 = b}\ \sum_{ijkl} L(C^x_{ik}, C^y_{jl})\, T_{ij} T_{kl}
       + \lambda \langle M, T\rangle + \varepsilon\, \mathrm{KL}(T \,\|\, a b^T)

    with ``L(x, y) = (x - y)^2`` (``loss="sqeucl"``) or ``x log(x / y) - x + y``
    (``loss="kl"``), ``M = fused_cost`` and ``lambda = fused_penalty`` (fused GW
    when ``fused_cost`` is given). Mirror descent from ``T = a b^T``: each outer
    iteration solves the entropic linear problem (log-domain Sinkhorn) on the
    objective linearised at the current coupling,
    ``C(T) = f1(C^x) p 1^T + 1 (f2(C^y) q)^T - h1(C^x) T h2(C^y)^T + lambda M``
    (``p, q`` the marginals of ``T``), until the regularised cost changes by less
    than ``tolerance`` (relative, after at least 5 iterations) or
    ``max_iterations`` (a ``lax.while_loop``; each Sinkhorn solve runs to
    ``sinkhorn_tolerance`` or ``sinkhorn_max_iterations``; the defaults are ott's
    ``threshold=1e-3`` for both). ``relative_epsilon`` rescales ``epsilon`` by the
    std or mean of each linearised cost (as ott passes it to every linearisation).

    ``reg_gw_cost`` is ott's: the Sinkhorn dual objective of the final potentials
    on the cost re-linearised at the final coupling. Its gradient w.r.t.
    ``cost_x``, ``cost_y``, ``fused_cost``, ``fused_penalty`` and ``epsilon``
    takes the coupling and the potentials as constants (envelope theorem, ott's
    default); so does ``primal_cost``'s.

    POT mapping: ``ot.gromov.entropic_gromov_wasserstein2(C1, C2, p, q,
    "square_loss", epsilon=e)`` runs the same iteration on twice this
    linearisation (POT's gradient ``2 C(T)``), so its coupling is this one at
    ``epsilon = e / 2``, and its value is ``primal_cost``.
    ``entropic_fused_gromov_wasserstein2(M, C1, C2, p, q, alpha=al, epsilon=e)``
    iterates on ``2 al C_GW(T) + (1 - al) M``: its coupling is this one at
    ``fused_penalty = (1 - al) / (2 al)``, ``epsilon = e / (2 al)``, and its value
    ``(1 - al) <M, T> + al GW(T)`` is ``al * primal_cost + (1 - al) / 2 * <M, T>``.
    (ott's iteration is stationary for ``GW / 2 + fused_penalty <M, T>``, so API.md's
    ``fused_penalty = (1 - al) / al`` describes the objective, not the same coupling.)

    Differences from ott: only balanced problems (``tau_a = tau_b = 1``; the
    unbalanced GW of Séjourné et al. 2021 raises ``NotImplementedError``); the
    Sinkhorn solves start from zero potentials (ott's ``warm_start=False``
    default); ``errors`` keeps the final Sinkhorn error per outer iteration;
    ``primal_cost`` and ``iterations`` are extra outputs. No ``scale_cost``.

    Args:
      cost_x: ``[n, n]`` cost (e.g. distance) matrix within the first space.
      cost_y: ``[m, m]`` cost matrix within the second space.
      a: ``[n]`` weights (default uniform ``1/n``).
      b: ``[m]`` weights (default uniform ``1/m``); ``sum(b) = sum(a)``.
      epsilon: entropic regularisation (float or traced array).
      relative_epsilon: ``None`` (absolute), ``"std"`` or ``"mean"``.
      fused_cost: optional ``[n, m]`` cost between the spaces (fused GW).
      fused_penalty: the weight ``lambda`` of ``fused_cost``.
      loss: ``"sqeucl"`` or ``"kl"`` (static).
      tau_a: must be 1.0 (balanced); kept for ott's signature.
      tau_b: must be 1.0.
      max_iterations: outer iteration cap (static).
      sinkhorn_max_iterations: iteration cap of each Sinkhorn solve (static).
      tolerance: relative change of the regularised cost that stops the outer loop.
      sinkhorn_tolerance: marginal error that stops each Sinkhorn solve.

    Returns:
      A :class:`GWOutput` (``reg_gw_cost``, ``coupling`` ``[n, m]``,
      ``converged``, ``errors`` ``[max_iterations]``, ``primal_cost``,
      ``iterations``).

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> D = jnp.array([[0.0, 1.0, 3.0], [1.0, 0.0, 2.0], [3.0, 2.0, 0.0]])
      >>> out = jaxloss.gromov_wasserstein(D, D, epsilon=0.05)
      >>> out.coupling.shape
      (3, 3)
      >>> round(float(out.primal_cost), 4)  # isometric spaces: GW ~ 0
      0.0
      >>> bool(out.converged)
      True

    References:
      Mémoli 2011, "Gromov-Wasserstein distances and the metric approach to
      object matching"; Peyré, Cuturi & Solomon 2016, "Gromov-Wasserstein
      averaging of kernel and distance matrices" (ICML); Vayer et al. 2019,
      "Optimal transport for structured data with application on graphs"
      (arXiv 1805.09114); ott-jax ``QuadraticProblem``, ``GromovWasserstein``;
      POT ``ot.gromov.entropic_gromov_wasserstein2``,
      ``entropic_fused_gromov_wasserstein2``.
    """
    with calling("gromov_wasserstein"):
        check_options(relative_epsilon, tau_a, tau_b)
        if (tau_a, tau_b) != (1.0, 1.0):
            raise NotImplementedError(
                f"{function_name()}: unbalanced Gromov-Wasserstein (tau_a, tau_b < 1) is not "
                "implemented; use tau_a = tau_b = 1.0"
            )
        contracts.choice(loss, ("sqeucl", "kl"), "loss")
        contracts.bounded(epsilon, "epsilon", gt=0)
        contracts.bounded(fused_penalty, "fused_penalty", ge=0)
        for name, value in (
            ("max_iterations", max_iterations),
            ("sinkhorn_max_iterations", sinkhorn_max_iterations),
        ):
            if is_traced(value) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"{function_name()}: {name} must be a Python int >= 1, got {value!r}"
                )
        contracts.floating(cost_x=cost_x, cost_y=cost_y)
        contracts.rank(cost_x, 2, "cost_x", "batch problems with jax.vmap")
        contracts.rank(cost_y, 2, "cost_y", "batch problems with jax.vmap")
        cx, cy = upcast(cost_x, cost_y)
        n, m = cx.shape[0], cy.shape[0]
        contracts.shape_is(cx, (n, n), "cost_x", "a square [n, n] cost matrix")
        contracts.shape_is(cy, (m, m), "cost_y", "a square [m, m] cost matrix")
        wa = jnp.full((n,), 1.0 / n, cx.dtype) if a is None else upcast(a, dtype=cx.dtype)[0]
        wb = jnp.full((m,), 1.0 / m, cx.dtype) if b is None else upcast(b, dtype=cx.dtype)[0]
        contracts.shape_is(wa, (n,), "a", "one weight per row of cost_x")
        contracts.shape_is(wb, (m,), "b", "one weight per row of cost_y")
        fc = None
        if fused_cost is not None:
            contracts.floating(fused_cost=fused_cost)
            (fc,) = upcast(fused_cost, dtype=cx.dtype)
            contracts.shape_is(fc, (n, m), "fused_cost", "cost_x rows by cost_y rows")
        return _solve(
            cx,
            cy,
            fc,
            wa,
            wb,
            param(epsilon, cx.dtype),
            param(fused_penalty, cx.dtype),
            loss=loss,
            relative_epsilon=relative_epsilon,
            max_iterations=max_iterations,
            sinkhorn_max_iterations=sinkhorn_max_iterations,
            tolerance=float(tolerance),
            sinkhorn_tolerance=float(sinkhorn_tolerance),
        )
