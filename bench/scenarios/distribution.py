"""Distribution benchmarks: Sinkhorn (value + grad w.r.t. x) vs ott-jax; 1-D Wasserstein vs SciPy/POT.

Sinkhorn: both libraries solve the same problem (absolute epsilon, squared
Euclidean cost, threshold 1e-4 on the L1 marginal error checked every 10
iterations, at most 1000 iterations) and differentiate ``reg_ot_cost`` w.r.t.
``x``: jaxloss by its envelope-theorem custom_vjp, ott-jax by its default
implicit differentiation.

wasserstein_1d: SciPy is value-only, so ``wasserstein_1d`` compares value-only
(jaxloss jitted forward vs ``scipy.stats.wasserstein_distance`` vs POT's NumPy
backend); ``wasserstein_1d_grad`` compares forward + backward with POT's torch
backend (SciPy has no gradient).

sinkhorn_memory_<iterations> (memory scenarios): compiled temporary memory of
value + grad of ``reg_ot_cost`` w.r.t. ``x`` with tolerance 0 (every iteration
runs), for the envelope-theorem custom_vjp (``implicit_diff=True``, jaxloss)
and for unrolled autodiff through the iterations (``implicit_diff=False``).
"""

from __future__ import annotations

import numpy as np

from bench.harness import Scenario, jax_fwd, jax_fwd_bwd, torch_fwd_bwd

SK_FULL, SK_QUICK = 1000, 200
SK_EPS, SK_TOL, SK_ITERS = 0.1, 1e-4, 1000
W_FULL, W_QUICK = 200_000, 20_000
SKM_FULL, SKM_QUICK, SKM_ITERATIONS = 256, 16, (10, 100, 1000)


def _clouds(quick: bool):
    n = SK_QUICK if quick else SK_FULL
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(n, 3)).astype(np.float32)
    y = (rng.uniform(size=(n, 3)) * 1.2 + 0.1).astype(np.float32)
    return x, y


def _samples(quick: bool):
    n = W_QUICK if quick else W_FULL
    rng = np.random.default_rng(0)
    return rng.standard_normal(n).astype(np.float32), (1.3 * rng.standard_normal(n) + 0.2).astype(np.float32)


# --------------------------------------------------------------------------- sinkhorn


def sinkhorn_jaxloss(quick: bool):
    import jax.numpy as jnp

    import jaxloss

    x, y = _clouds(quick)
    yj = jnp.asarray(y)

    def cost(z):
        return jaxloss.sinkhorn(
            z, yj, epsilon=SK_EPS, tolerance=SK_TOL, max_iterations=SK_ITERS
        ).reg_ot_cost

    return jax_fwd_bwd(cost, x)


def sinkhorn_ott(quick: bool):
    import jax.numpy as jnp
    from ott.geometry import pointcloud
    from ott.problems.linear import linear_problem
    from ott.solvers.linear import sinkhorn

    x, y = _clouds(quick)
    yj = jnp.asarray(y)
    solver = sinkhorn.Sinkhorn(threshold=SK_TOL, max_iterations=SK_ITERS, inner_iterations=10)

    def cost(z):
        geom = pointcloud.PointCloud(z, yj, epsilon=SK_EPS)
        return solver(linear_problem.LinearProblem(geom)).reg_ot_cost

    return jax_fwd_bwd(cost, x)


# --------------------------------------------------------------------------- wasserstein_1d


def w1d_jaxloss_value(quick: bool):
    import jaxloss

    return jax_fwd(jaxloss.wasserstein_1d, *_samples(quick))


def w1d_scipy(quick: bool):
    import scipy.stats

    u, v = _samples(quick)
    return lambda: scipy.stats.wasserstein_distance(u, v)


def w1d_pot_numpy(quick: bool):
    import ot

    u, v = _samples(quick)
    return lambda: ot.wasserstein_1d(u, v, p=1)


def w1d_jaxloss_grad(quick: bool):
    import jaxloss

    u, v = _samples(quick)
    return jax_fwd_bwd(lambda a, b: jaxloss.wasserstein_1d(a, b), u, v)


def w1d_pot_torch(quick: bool):
    import ot
    import torch

    u, v = _samples(quick)
    tv = torch.tensor(v)
    return torch_fwd_bwd(lambda tu: ot.wasserstein_1d(tu, tv, p=1), torch.tensor(u, requires_grad=True))


# --------------------------------------------------------------------------- sinkhorn memory


def _sinkhorn_memory(iterations: int, implicit: bool):
    def make(quick: bool):
        import jax.numpy as jnp

        import jaxloss

        n = SKM_QUICK if quick else SKM_FULL
        x = np.random.default_rng(0).uniform(size=(n, 3)).astype(np.float32)
        y = jnp.zeros((n, 3), jnp.float32)

        def cost(z):
            return jaxloss.sinkhorn(z, y, epsilon=0.1, max_iterations=iterations, tolerance=0.0,
                                    implicit_diff=implicit).reg_ot_cost

        return jax_fwd_bwd(cost, x)

    return make


def _sinkhorn_memory_scenario(iterations: int) -> Scenario:
    what = f"{{n}} x {{n}} points in 3-D f32, eps=0.1, tolerance 0: {iterations} iterations, value + grad x"
    return Scenario(
        name=f"sinkhorn_memory_{iterations}",
        family="distribution",
        shape=what.format(n=SKM_FULL),
        quick_shape=what.format(n=SKM_QUICK),
        impls={"jaxloss": _sinkhorn_memory(iterations, True), "unrolled": _sinkhorn_memory(iterations, False)},
        memory=True,
    )


SCENARIOS = [
    Scenario(
        name="sinkhorn",
        family="distribution",
        shape=f"{SK_FULL} x {SK_FULL} points in 3-D f32, eps={SK_EPS}, tol={SK_TOL}, value + grad x",
        quick_shape=f"{SK_QUICK} x {SK_QUICK}",
        impls={"jaxloss": sinkhorn_jaxloss, "ott-jax": sinkhorn_ott},
        target="<= 1.0x ott-jax",
    ),
    Scenario(
        name="wasserstein_1d",
        family="distribution",
        shape=f"{W_FULL} vs {W_FULL} samples f32, p=1, value only",
        quick_shape=f"{W_QUICK} vs {W_QUICK}",
        impls={"jaxloss": w1d_jaxloss_value, "scipy": w1d_scipy, "pot": w1d_pot_numpy},
        target="<= 1.0x scipy",
    ),
    Scenario(
        name="wasserstein_1d_grad",
        family="distribution",
        shape=f"{W_FULL} vs {W_FULL} samples f32, p=1, value + grad u",
        quick_shape=f"{W_QUICK} vs {W_QUICK}",
        impls={"jaxloss": w1d_jaxloss_grad, "pot-torch": w1d_pot_torch},
    ),
    *(_sinkhorn_memory_scenario(i) for i in SKM_ITERATIONS),
]
