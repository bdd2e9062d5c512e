"""The Sinkhorn solver core (log domain, balanced and unbalanced) and its implicit differentiation.

Used by :mod:`._sinkhorn` (public entry points) and :mod:`._soft_sort`. The solver iterates
scaled potentials ``u = f / eps``, ``v = g / eps`` with coupling ``P = exp(u_i + v_j - C_ij / eps)``;
unbalanced marginals damp each update by ``tau = rho / (rho + eps)`` (ott's ``tau_a``, ``tau_b``).
The fixed point is the stationary point of the concave dual

    D(u, v) = Phi_a(u) + Phi_b(v) - sum_ij P_ij,
    Phi(u) = sum_i a_i u_i (tau = 1) or sum_i a_i (1 - exp(-k u_i)) / k, k = (1 - tau) / tau,

and the potentials are differentiated implicitly: a ``custom_vjp`` solves the linear system of
the dual's Hessian by conjugate gradients (memory: one cost matrix, independent of the number of
iterations).
"""

from __future__ import annotations

import functools
from typing import NamedTuple, cast

import jax
import jax.numpy as jnp

__all__ = ["SinkhornOutput"]

_CHECK_EVERY = (
    10  # the convergence test runs every this many iterations (as ott's inner_iterations)
)
# Marginal error above which an eager call warns (ott-jax's default threshold).


class SinkhornOutput(NamedTuple):
    """Result of :func:`sinkhorn` and :func:`sinkhorn_from_cost` (a pytree).

    Attributes:
      reg_ot_cost: scalar, ott-jax ``reg_ot_cost``: ``<C, P> + eps KL(P | a b^T)``
        for a balanced problem, ott's dual value (``compute_kl_reg_cost``) in general.
      potentials: ``(f, g)`` dual potentials of shapes ``[n]``, ``[m]``
        (``P_ij = exp((f_i + g_j - C_ij) / eps)``, ott-jax's convention).
      coupling: ``[n, m]`` transport plan ``P``.
      iterations: number of Sinkhorn iterations run (a multiple of 10).
      converged: whether the error fell below ``tolerance``.
      error: final error: ``||P^T 1 - b||_1`` (balanced), or the L1 norm of the
        dual's gradient on both marginals (unbalanced, as ott).
      transport_cost: scalar ``<C, P>`` (POT's ``sinkhorn2`` / ``sinkhorn_unbalanced2`` value).
    """

    reg_ot_cost: jax.Array
    potentials: tuple[jax.Array, jax.Array]
    coupling: jax.Array
    iterations: jax.Array
    converged: jax.Array
    error: jax.Array
    transport_cost: jax.Array


def _log_weights(w: jax.Array) -> jax.Array:
    # Zero weights get log 0 = -inf: their potentials are -inf and their coupling rows vanish.
    positive = w > 0
    return jnp.where(positive, jnp.log(jnp.where(positive, w, 1.0)), -jnp.inf)


def _lse(z: jax.Array, axis: int) -> jax.Array:
    return jax.nn.logsumexp(z, axis=axis)


def _k(tau: float) -> float:
    """``eps / rho = (1 - tau) / tau``: 0 for a balanced marginal."""
    return (1.0 - tau) / tau


def _iterate(ce, log_a, log_b, taus, symmetric, state):
    """One Sinkhorn iteration on ``(u, v, col)`` where ``col = lse_i(u_i - ce_ij)``.

    Carrying ``col`` makes the marginal error free: ``P^T 1 = exp(v + col)``. Unbalanced
    marginals damp the update by ``tau`` (ott's ``lse_step``).
    """
    tau_a, tau_b = taus
    u, v, col = state
    if symmetric:
        # Feydy et al. 2019 eq. 25: averaged updates of the single potential of OT(a, a).
        u = 0.5 * (u + tau_a * (log_a - col))
        return u, u, _lse(u[:, None] - ce, axis=0)
    v = tau_b * (log_b - col)
    u = tau_a * (log_a - _lse(v[None, :] - ce, axis=1))
    return u, v, _lse(u[:, None] - ce, axis=0)


def _fit(w: jax.Array, h: jax.Array, tau: float) -> jax.Array:
    """``w * exp(-k h)`` on the support of ``w`` (ott ``grad_of_marginal_fit``; ``w`` when balanced)."""
    s = w > 0
    if tau == 1.0:
        return jnp.where(s, w, 0.0)
    return jnp.where(s, w * jnp.exp(-_k(tau) * jnp.where(s, h, 0.0)), 0.0)


def _error(ce, a, b, taus, state):
    u, v, col = state
    col_marginal = jnp.exp(jnp.where(jnp.isfinite(v), v + col, -jnp.inf))
    if taus == (1.0, 1.0):
        return jnp.sum(jnp.abs(col_marginal - b))
    # Unbalanced: the L1 norm of the dual's gradient on both marginals (as ott).
    row = jnp.where(jnp.isfinite(u), u + _lse(v[None, :] - ce, axis=1), -jnp.inf)
    return jnp.sum(jnp.abs(jnp.exp(row) - _fit(a, u, taus[0]))) + jnp.sum(
        jnp.abs(col_marginal - _fit(b, v, taus[1]))
    )


def _init(ce):
    u = jnp.zeros(ce.shape[0], ce.dtype)
    v = jnp.zeros(ce.shape[1], ce.dtype)
    return u, v, _lse(u[:, None] - ce, axis=0)


def _block(ce, log_a, log_b, taus, symmetric, state):
    step = functools.partial(_iterate, ce, log_a, log_b, taus, symmetric)
    return jax.lax.fori_loop(0, _CHECK_EVERY, lambda _, s: step(s), state)


def _block_scaling(ce, log_a, log_b, a, b, taus, symmetric, state):
    """:func:`_block` in the kernel domain, potentials absorbed into the kernel.

    ``K = exp(u_i + v_j - ce_ij)`` is formed once; the 10 iterations update
    scalings ``alpha = exp(du), beta = exp(dv)`` by matrix-vector products (the
    same iterates as the log domain, Schmitzer 2019 absorption), then fold them
    back into ``u, v``. Falls back to the log-domain block when a scaling leaves
    a safe range (under/overflow of the kernel), so it is never less stable.

    Unbalanced marginals: the log-domain update ``v' = tau (log b - col)`` with
    ``col = log(K^T alpha) - v0`` is, in scaling form,
    ``beta' = exp(tau (log b - log K^T alpha + v0) - v0)`` (a vector operation;
    the matrix-vector product is the only O(nm) work, as balanced).
    """
    u0, v0, _ = state
    kernel = jnp.exp(u0[:, None] + v0[None, :] - ce)

    def ratio(w, denom):  # zero weights keep a zero scaling (their potential stays -inf)
        return jnp.where(w > 0, w / denom, 0.0)

    def damped(w, log_w, tau, base, denom):
        # exp(tau (log w - log denom + base) - base): the damped update minus the absorbed base.
        if tau == 1.0:
            return ratio(w, denom)
        s = w > 0
        z = tau * (log_w - jnp.log(denom) + base) - base
        return jnp.where(s, jnp.exp(jnp.where(s, z, 0.0)), 0.0)

    def step(_, ab):
        alpha, beta = ab
        if symmetric:
            # Feydy's averaged update in scaling form: alpha' = sqrt(alpha * a / K^T alpha).
            alpha = jnp.sqrt(alpha * damped(a, log_a, taus[0], u0, alpha @ kernel))
            return alpha, alpha
        beta = damped(b, log_b, taus[1], v0, alpha @ kernel)
        return damped(a, log_a, taus[0], u0, kernel @ beta), beta

    alpha, beta = jax.lax.fori_loop(0, _CHECK_EVERY, step, (jnp.ones_like(a), jnp.ones_like(b)))
    kta = alpha @ kernel
    la, lb, lk = jnp.log(alpha), jnp.log(beta), jnp.log(kta)

    def safe(logs, w):
        # Scalings beyond e^40 mean the kernel under/overflowed: the log domain is needed.
        return jnp.all(jnp.where(w > 0, jnp.abs(logs) < 40.0, ~jnp.isnan(logs)))

    ok = safe(la, a) & safe(lb, b) & jnp.all(jnp.isfinite(lk) | (b <= 0))
    # col at zero-weight columns (v = -inf) is unused: keep it finite.
    fast = (u0 + la, v0 + lb, jnp.where(b > 0, lk - v0, 0.0))
    return jax.lax.cond(ok, lambda: fast, lambda: _block(ce, log_a, log_b, taus, symmetric, state))


def _solve_while(ce, a, b, taus, max_iterations, tolerance, symmetric):
    """``lax.while_loop`` solver (not reverse-differentiable; used under the custom_vjp)."""
    log_a, log_b = _log_weights(a), _log_weights(b)
    blocks = max(1, max_iterations // _CHECK_EVERY)

    def cond(carry):
        _, it, err = carry
        return (it < blocks) & (err >= tolerance)

    def body(carry):
        state, it, _ = carry
        state = _block_scaling(ce, log_a, log_b, a, b, taus, symmetric, state)
        return state, it + 1, _error(ce, a, b, taus, state)

    start = (_init(ce), jnp.zeros((), jnp.int32), jnp.asarray(jnp.inf, ce.dtype))
    state, it, err = jax.lax.while_loop(cond, body, start)
    return state[0], state[1], it * _CHECK_EVERY, err


def _solve_unrolled(ce, a, b, taus, max_iterations, tolerance, symmetric):
    """``lax.scan`` solver differentiated by plain autodiff (memory grows with iterations)."""
    log_a, log_b = _log_weights(a), _log_weights(b)
    blocks = max(1, max_iterations // _CHECK_EVERY)

    def body(carry, _):
        state, it, err = carry
        done = err < tolerance
        new = jax.lax.cond(
            done, lambda s: s, lambda s: _block(ce, log_a, log_b, taus, symmetric, s), state
        )
        new_err = jnp.where(done, err, _error(ce, a, b, taus, new))
        return (new, it + jnp.where(done, 0, 1), new_err), None

    start = (_init(ce), jnp.zeros((), jnp.int32), jnp.asarray(jnp.inf, ce.dtype))
    (state, it, err), _ = jax.lax.scan(body, start, None, length=blocks)
    return state[0], state[1], it * _CHECK_EVERY, err


def _masked_coupling(u, v, ce, a, b):
    """``P = exp(u_i + v_j - ce_ij)`` on the support, 0 (with zero gradients) off it."""
    sa, sb = a > 0, b > 0
    u0, v0 = jnp.where(sa, u, 0.0), jnp.where(sb, v, 0.0)
    mask = sa[:, None] & sb[None, :]
    z = jnp.where(mask, u0[:, None] + v0[None, :] - ce, -jnp.inf)
    return jnp.where(mask, jnp.exp(z), 0.0), u0, v0


def dual_objective(u, v, ce, a, b, eps, taus=(1.0, 1.0)):
    """ott-jax's ``reg_ot_cost`` at scaled potentials ``u, v`` (``compute_kl_reg_cost``).

    ``eps * (div_a + div_b + sum(a) sum(b) - sum(P))`` with ``div = <a, u - log a>``
    (balanced) or ``-<a, exp(-k (u - log a)) - 1> / k``, ``k = (1 - tau) / tau``
    (ott's ``-<a, phi*(-(f - eps log a))>``), zero weights excluded.
    """
    p, u0, v0 = _masked_coupling(u, v, ce, a, b)

    def div(w, h, tau):
        s = w > 0
        lw = jnp.log(jnp.where(s, w, 1.0))
        if tau == 1.0:
            return jnp.sum(jnp.where(s, w * (h - lw), 0.0))
        k = _k(tau)
        return -jnp.sum(jnp.where(s, w * jnp.expm1(-k * (h - lw)), 0.0)) / k

    linear = div(a, u0, taus[0]) + div(b, v0, taus[1])
    return eps * (linear + jnp.sum(a) * jnp.sum(b) - jnp.sum(p))


def _stationarity(ce, a, b, u, v, taus):
    """The gradient of the solver's dual in ``(u, v)``; zero at the Sinkhorn fixed point."""
    p, u0, v0 = _masked_coupling(u, v, ce, a, b)
    return _fit(a, u0, taus[0]) - jnp.sum(p, axis=1), _fit(b, v0, taus[1]) - jnp.sum(p, axis=0)


def _adjoint(ce, a, b, u, v, taus, ct_u, ct_v):
    """Solves ``-H mu = ct`` for the dual's Hessian ``H`` by Jacobi-preconditioned conjugate gradients.

    ``-H = [[diag(k_a fit_a + P 1), P], [P^T, diag(k_b fit_b + P^T 1)]]`` is positive
    semi-definite (its null vector ``(1, -1)`` in the balanced case is orthogonal to the
    cotangent of any gauge-invariant output). Zero-weight entries are pinned to 0.
    """
    sa, sb = a > 0, b > 0
    p, u0, v0 = _masked_coupling(u, v, ce, a, b)
    du = jnp.where(sa, _k(taus[0]) * _fit(a, u0, taus[0]) + jnp.sum(p, axis=1), 1.0)
    dv = jnp.where(sb, _k(taus[1]) * _fit(b, v0, taus[1]) + jnp.sum(p, axis=0), 1.0)
    # Diagonal entries of a vanishing coupling row: keep the preconditioner invertible.
    tiny = jnp.finfo(ce.dtype).tiny
    du, dv = jnp.maximum(du, tiny), jnp.maximum(dv, tiny)

    def op(mu):
        mu_u, mu_v = mu
        return (
            jnp.where(sa, du * mu_u + p @ mu_v, mu_u),
            jnp.where(sb, p.T @ mu_u + dv * mu_v, mu_v),
        )

    def dot(x, y):
        return jnp.sum(x[0] * y[0]) + jnp.sum(x[1] * y[1])

    rhs = (jnp.where(sa, ct_u, 0.0), jnp.where(sb, ct_v, 0.0))
    tol = (1e-6 if ce.dtype == jnp.float32 else 1e-12) ** 2 * dot(rhs, rhs)
    steps = 2 * (ce.shape[0] + ce.shape[1]) + 10

    def precondition(r):
        return (r[0] / du, r[1] / dv)

    def body(carry):
        x, r, d, rz, k = carry
        ad = op(d)
        dad = dot(d, ad)
        alpha = jnp.where(dad > 0, rz / jnp.where(dad > 0, dad, 1.0), 0.0)
        x = (x[0] + alpha * d[0], x[1] + alpha * d[1])
        r = (r[0] - alpha * ad[0], r[1] - alpha * ad[1])
        z = precondition(r)
        rz_new = dot(r, z)
        beta = jnp.where(rz > 0, rz_new / jnp.where(rz > 0, rz, 1.0), 0.0)
        return x, r, (z[0] + beta * d[0], z[1] + beta * d[1]), rz_new, k + 1

    def cond(carry):
        _, r, _, _, k = carry
        return (k < steps) & (dot(r, r) > tol)

    z0 = precondition(rhs)
    zero = (jnp.zeros_like(rhs[0]), jnp.zeros_like(rhs[1]))
    mu, *_ = jax.lax.while_loop(cond, body, (zero, rhs, z0, dot(rhs, z0), jnp.zeros((), jnp.int32)))
    return mu


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5, 6))
def _potentials(ce, a, b, taus, max_iterations, tolerance, symmetric):
    return _solve_while(ce, a, b, taus, max_iterations, tolerance, symmetric)


def _potentials_fwd(ce, a, b, taus, max_iterations, tolerance, symmetric):
    out = _solve_while(ce, a, b, taus, max_iterations, tolerance, symmetric)
    return out, (ce, a, b, out[0], out[1])


def _potentials_bwd(taus, max_iterations, tolerance, symmetric, residuals, cotangents):
    """Implicit function theorem at the fixed point ``G(u, v; ce, a, b) = 0``:
    ``d(u, v)^T ct = (dG/d(ce, a, b))^T mu`` with ``-H mu = ct``."""
    ce, a, b, u, v = residuals
    mu = _adjoint(ce, a, b, u, v, taus, cotangents[0], cotangents[1])
    _, vjp = jax.vjp(lambda ce, a, b: _stationarity(ce, a, b, u, v, taus), ce, a, b)
    return vjp(mu)


_potentials.defvjp(_potentials_fwd, _potentials_bwd)


@functools.partial(
    jax.jit, static_argnames=("taus", "max_iterations", "tolerance", "implicit_diff", "symmetric")
)
def solve_cost(c, a, b, eps, *, taus, max_iterations, tolerance, implicit_diff, symmetric=False):
    """Runs Sinkhorn on a prepared cost matrix ``c`` and absolute ``eps``; a :class:`SinkhornOutput`."""
    ce = c / eps
    if implicit_diff:
        u, v, it, err = cast(
            "tuple[jax.Array, ...]",
            _potentials(ce, a, b, taus, max_iterations, tolerance, symmetric),
        )
    else:
        u, v, it, err = _solve_unrolled(ce, a, b, taus, max_iterations, tolerance, symmetric)
    if implicit_diff:
        # Envelope theorem (ott's use_danskin=True default): the dual at the fixed potentials
        # f = eps u, g = eps v (not u, v: that matters for d/d eps of an unbalanced problem).
        f, g = jax.lax.stop_gradient(eps * u), jax.lax.stop_gradient(eps * v)
        value = dual_objective(f / eps, g / eps, ce, a, b, eps, taus)
    else:
        value = dual_objective(u, v, ce, a, b, eps, taus)
    coupling, _, _ = _masked_coupling(u, v, ce, a, b)
    return SinkhornOutput(
        reg_ot_cost=value,
        potentials=(eps * u, eps * v),
        coupling=coupling,
        iterations=it,
        converged=err < tolerance,
        error=err,
        transport_cost=jnp.sum(coupling * c),
    )
