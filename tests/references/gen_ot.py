"""Goldens for the optimal-transport additions (float64): Sinkhorn from a cost matrix, unbalanced
Sinkhorn, new ground costs, relative epsilon, the transport-cost divergence, soft-DTW.

Anchors: ott-jax 0.6 (``Geometry``/``PointCloud`` + ``LinearProblem`` + ``Sinkhorn``,
``tools.sinkhorn_divergence.sinkdiv``, ``costs.*``, ``costs.SoftDTW``; jax gradients, ott's implicit
differentiation), POT 0.9.7 (``sinkhorn2``, ``sinkhorn_unbalanced``/``sinkhorn_unbalanced2`` with
``reg_type="entropy"``, ``bregman.empirical_sinkhorn_divergence``; torch autograd through the
iterations), tslearn 0.10 (``metrics.soft_dtw``), ott ``tools.soft_sort`` (sort, ranks, topk_mask) and
scipy ``stats.rankdata``/``spearmanr``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import ot
import torch

torch.set_default_dtype(torch.float64)

_TIGHT = {"threshold": 1e-11, "max_iterations": 50000}
_POT = {"stopThr": 1e-13, "numItermax": 200000}


def _ott_solve(c, a, b, eps, rel=None, tau_a=1.0, tau_b=1.0):
    from ott.geometry import geometry
    from ott.problems.linear import linear_problem
    from ott.solvers.linear import sinkhorn

    geom = geometry.Geometry(c, epsilon=eps, relative_epsilon=rel)
    prob = linear_problem.LinearProblem(geom, a, b, tau_a=tau_a, tau_b=tau_b)
    return sinkhorn.Sinkhorn(**_TIGHT)(prob)


def _from_cost(out, rng):
    c = rng.uniform(0.0, 2.0, (5, 4))
    a = rng.uniform(0.2, 1.0, 5)
    a /= a.sum()
    b = rng.uniform(0.2, 1.0, 4)
    b /= b.sum()
    out["fc/c"], out["fc/a"], out["fc/b"] = c, a, b
    # (tag, epsilon, relative_epsilon, tau_a, tau_b)
    cases = [
        ("eps0.1", 0.1, None, 1.0, 1.0),
        ("default", None, None, 1.0, 1.0),
        ("mean0.2", 0.2, "mean", 1.0, 1.0),
        ("std0.3", 0.3, "std", 1.0, 1.0),
        ("unb0.8", 0.1, None, 0.8, 0.8),
        ("unb1_0.6", 0.2, None, 1.0, 0.6),
    ]
    for tag, eps, rel, ta, tb in cases:
        res = _ott_solve(c, a, b, eps, rel, ta, tb)
        key = f"fc/{tag}"
        out[f"{key}/reg_ot_cost"] = np.asarray(res.reg_ot_cost)
        out[f"{key}/coupling"] = np.asarray(res.matrix)
        out[f"{key}/f"], out[f"{key}/g"] = np.asarray(res.f), np.asarray(res.g)
        out[f"{key}/epsilon"] = np.asarray(res.geom.epsilon)

        def fn(c_, a_, b_, eps=eps, rel=rel, ta=ta, tb=tb):
            return _ott_solve(c_, a_, b_, eps, rel, ta, tb).reg_ot_cost

        gc, ga, gb = jax.grad(fn, (0, 1, 2))(c, a, b)
        out[f"{key}/grad_c"], out[f"{key}/grad_a"], out[f"{key}/grad_b"] = map(
            np.asarray, (gc, ga, gb)
        )
        if rel is None and eps is not None:
            g_eps = jax.grad(
                lambda e, ta=ta, tb=tb: _ott_solve(c, a, b, e, None, ta, tb).reg_ot_cost
            )(eps)
            out[f"{key}/grad_eps"] = np.asarray(g_eps)
    # POT: transport cost <C, P> and its autograd gradient (balanced and unbalanced, "entropy").
    for tag, eps, tau in (("eps0.1", 0.1, 1.0), ("unb0.8", 0.1, 0.8)):
        tc, ta_, tb_ = (torch.tensor(v, requires_grad=True) for v in (c, a, b))
        if tau == 1.0:
            value = ot.sinkhorn2(ta_, tb_, tc, eps, **_POT)
            plan = ot.sinkhorn(a, b, c, eps, **_POT)
        else:
            rho = eps * tau / (1.0 - tau)
            value = ot.sinkhorn_unbalanced2(ta_, tb_, tc, eps, rho, reg_type="entropy", **_POT)
            plan = ot.sinkhorn_unbalanced(a, b, c, eps, rho, reg_type="entropy", **_POT)
        value.backward()
        key = f"fc/pot_{tag}"
        out[f"{key}/value"] = value.detach().numpy()
        out[f"{key}/plan"] = np.asarray(plan)
        out[f"{key}/grad_c"], out[f"{key}/grad_a"], out[f"{key}/grad_b"] = (
            t.grad.numpy() for t in (tc, ta_, tb_)
        )


def _costs(out, rng):
    from ott.geometry import costs, pointcloud
    from ott.problems.linear import linear_problem
    from ott.solvers.linear import sinkhorn
    from ott.tools import sinkhorn_divergence as sd

    x = rng.standard_normal((5, 3))
    y = rng.standard_normal((4, 3)) + 0.3
    out["pc/x"], out["pc/y"] = x, y
    fns = {
        "cosine": costs.Cosine(),
        "pnorm_p": costs.PNormP(1.5),
        "euclidean_p": costs.EuclideanP(1.5),
        "neg_dot": costs.NegDotProduct(),
    }
    for name, fn in fns.items():

        def reg(x_, y_, fn=fn):
            geom = pointcloud.PointCloud(x_, y_, cost_fn=fn, epsilon=0.5)
            return sinkhorn.Sinkhorn(**_TIGHT)(linear_problem.LinearProblem(geom))

        res = reg(x, y)
        out[f"pc/{name}/reg_ot_cost"] = np.asarray(res.reg_ot_cost)
        out[f"pc/{name}/coupling"] = np.asarray(res.matrix)
        gx, gy = jax.grad(lambda x_, y_: reg(x_, y_).reg_ot_cost, (0, 1))(x, y)
        out[f"pc/{name}/grad_x"], out[f"pc/{name}/grad_y"] = np.asarray(gx), np.asarray(gy)

    # Divergences: relative epsilon (shared), unbalanced, and a p-cost.
    solve = {"threshold": 1e-11, "max_iterations": 50000}
    div_cases = {
        "std0.1": ({"epsilon": 0.1, "relative_epsilon": "std"}, {}),
        "unb0.9": ({"epsilon": 0.5}, {"tau_a": 0.9, "tau_b": 0.9}),
        "pnorm_p": ({"epsilon": 0.5, "cost_fn": costs.PNormP(1.5)}, {}),
    }
    for tag, (geom_kw, prob_kw) in div_cases.items():

        def div(x_, y_, geom_kw=geom_kw, prob_kw=prob_kw):
            return sd.sinkdiv(x_, y_, solve_kwargs={**solve, **prob_kw}, **geom_kw)[0]

        out[f"div/{tag}"] = np.asarray(div(x, y))
        gx, gy = jax.grad(div, (0, 1))(x, y)
        out[f"div/{tag}/grad_x"], out[f"div/{tag}/grad_y"] = np.asarray(gx), np.asarray(gy)

    # POT empirical_sinkhorn_divergence: debiased transport cost <C, P>.
    tx, ty = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    value = ot.bregman.empirical_sinkhorn_divergence(tx, ty, 0.5, stopThr=1e-13, numIterMax=200000)
    value.backward()
    out["div/pot_transport"] = value.detach().numpy()
    out["div/pot_transport/grad_x"], out["div/pot_transport/grad_y"] = (
        tx.grad.numpy(),
        ty.grad.numpy(),
    )


def _soft_dtw(out, rng):
    from ott.geometry import costs
    from tslearn.metrics import soft_dtw

    x = rng.standard_normal((2, 6, 2))
    y = rng.standard_normal((2, 5, 2)) + 0.2
    out["sdtw/x"], out["sdtw/y"] = x, y
    for gamma in (1.0, 0.1):
        for debiased in (False, True):
            key = f"sdtw/g{gamma}" + ("/debiased" if debiased else "")

            def fn(x_, y_, g, debiased=debiased):
                return costs.SoftDTW(g, debiased=debiased)(x_, y_)

            vals, gxs, gys, ggs = [], [], [], []
            for i in range(2):
                v, (gx, gy, gg) = jax.value_and_grad(fn, (0, 1, 2))(x[i], y[i], gamma)
                vals.append(v), gxs.append(gx), gys.append(gy), ggs.append(gg)
            out[key] = np.asarray(vals)
            out[f"{key}/grad_x"], out[f"{key}/grad_y"] = np.asarray(gxs), np.asarray(gys)
            # Recorded for completeness: ott's SoftDTW holds gamma as static data (gradient 0);
            # the test checks d/dgamma by finite differences instead.
            out[f"{key}/grad_gamma"] = np.asarray(ggs)
            if not debiased:
                out[f"{key}/tslearn"] = np.asarray(
                    [soft_dtw(x[i], y[i], gamma=gamma) for i in range(2)]
                )


def _soft_sort(out, rng):
    import scipy.stats
    from ott.initializers.linear import initializers
    from ott.tools import soft_sort

    x = rng.standard_normal((2, 6))
    w = rng.standard_normal((2, 6))  # a random linear read-out, for the gradients
    out["ss/x"], out["ss/w"] = x, w
    tight = {"threshold": 1e-10, "max_iterations": 20000}
    ops = {
        # ott's SortingInitializer (its full-sort default) cannot be reverse-differentiated: the
        # default initializer reaches the same fixed point.
        "sort": lambda z: soft_sort.sort(
            z, axis=-1, epsilon=0.05, initializer=initializers.DefaultInitializer(), **tight
        ),
        "sort_top3": lambda z: soft_sort.sort(z, axis=-1, topk=3, epsilon=0.05, **tight),
        "sort_t4": lambda z: soft_sort.sort(z, axis=-1, num_targets=4, epsilon=0.05, **tight),
        "ranks": lambda z: soft_sort.ranks(z, axis=-1, epsilon=0.05, **tight),
        "topk2": lambda z: soft_sort.topk_mask(z, axis=-1, k=2, epsilon=0.05, **tight),
    }
    for name, op in ops.items():
        value = op(x)
        out[f"ss/{name}"] = np.asarray(value)
        read = w[:, : value.shape[-1]]
        out[f"ss/{name}/grad"] = np.asarray(
            jax.grad(lambda z, op=op, read=read: jnp.sum(read * op(z)))(x)
        )
    # soft Spearman from ott's ranks and the tie-averaged hard ranks (scipy rankdata - 1)
    t = np.array([[1.0, 3.0, 2.0, 2.0, 5.0, 0.0], [0.5, 0.1, 0.9, 0.3, 0.7, 0.2]])
    out["sp/t"] = t
    hard = scipy.stats.rankdata(t, axis=-1) - 1.0

    def spearman(z):
        r = soft_sort.ranks(z, axis=-1, epsilon=0.05, **tight)
        rc = r - r.mean(-1, keepdims=True)
        hc = hard - hard.mean(-1, keepdims=True)
        return 1.0 - (rc * hc).sum(-1) / jnp.sqrt((rc * rc).sum(-1) * (hc * hc).sum(-1))

    out["sp/loss"] = np.asarray(spearman(x))
    out["sp/grad"] = np.asarray(jax.grad(lambda z: jnp.mean(spearman(z)))(x))
    out["sp/scipy"] = np.asarray([1.0 - scipy.stats.spearmanr(x[i], t[i])[0] for i in range(2)])


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1907)
    out: dict[str, np.ndarray] = {}
    with jax.enable_x64(True):
        _from_cost(out, rng)
        _costs(out, rng)
        _soft_dtw(out, rng)
        _soft_sort(out, rng)
    return {k: np.asarray(v) for k, v in out.items()}
