"""Goldens for the distribution family: torch kl_div, SciPy, POT and ott-jax (float64)."""

from __future__ import annotations

import jax
import numpy as np
import ot
import scipy.spatial.distance
import scipy.stats
import torch
import torch.nn.functional as F
from sklearn.metrics.pairwise import rbf_kernel

torch.set_default_dtype(torch.float64)


def _kl(out, rng):
    logits = rng.standard_normal((4, 5))
    log_q = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    p = rng.dirichlet(np.ones(5), 4)
    p[0, 1] = 0.0  # a zero target (torch's gradient w.r.t. it is NaN there)
    p[0] /= p[0].sum()
    out["kl/log_q"], out["kl/p"] = log_q, p
    for log_target in (False, True):
        tgt = np.log(p) if log_target else p
        lq = torch.tensor(log_q, requires_grad=True)
        t = torch.tensor(tgt, requires_grad=True)
        value = F.kl_div(lq, t, reduction="batchmean", log_target=log_target)
        value.backward()
        key = f"kl/log_target{log_target}"
        out[f"{key}/batchmean"] = value.detach().numpy()
        out[f"{key}/grad_log_q"] = lq.grad.numpy()
        out[f"{key}/grad_target"] = t.grad.numpy()  # NaN at the zero target
        out[f"{key}/none"] = F.kl_div(
            torch.tensor(log_q), torch.tensor(tgt), reduction="none", log_target=log_target
        ).numpy()


def _js(out, rng):
    p = rng.dirichlet(np.ones(6), 3)
    q = rng.dirichlet(np.ones(6), 3)
    p[1, 2] = 0.0
    p[1] /= p[1].sum()
    out["js/p"], out["js/q"] = p, q
    out["js/scipy_distance"] = np.array(
        [scipy.spatial.distance.jensenshannon(p[i], q[i]) for i in range(3)]
    )


def _w1d(out, rng):
    u = rng.standard_normal(7) * 2
    v = rng.standard_normal(5) + 0.5
    wu = rng.uniform(0.1, 1.0, 7)
    wv = rng.uniform(0.1, 1.0, 5)
    # POT expects normalised weights (it does not normalise); SciPy normalises.
    wu, wv = wu / wu.sum(), wv / wv.sum()
    out["w1d/u"], out["w1d/v"], out["w1d/wu"], out["w1d/wv"] = u, v, wu, wv
    out["w1d/scipy"] = np.array(scipy.stats.wasserstein_distance(u, v))
    out["w1d/scipy_weighted"] = np.array(scipy.stats.wasserstein_distance(u, v, wu, wv))
    for p in (1, 2, 3):
        tu, tv = torch.tensor(u, requires_grad=True), torch.tensor(v, requires_grad=True)
        value = ot.wasserstein_1d(tu, tv, torch.tensor(wu), torch.tensor(wv), p=p)
        value.backward()
        out[f"w1d/pot_p{p}"] = value.detach().numpy()
        out[f"w1d/pot_p{p}/grad_u"], out[f"w1d/pot_p{p}/grad_v"] = tu.grad.numpy(), tv.grad.numpy()
    # batched: POT takes [n, batch] columns
    ub, vb = rng.standard_normal((6, 3)), rng.standard_normal((4, 3))
    out["w1d/ub"], out["w1d/vb"] = ub.T, vb.T
    out["w1d/pot_batched_p2"] = ot.wasserstein_1d(ub, vb, p=2)


def _ott(out, rng):
    from ott.geometry import pointcloud
    from ott.problems.linear import linear_problem
    from ott.solvers.linear import sinkhorn
    from ott.tools import sinkhorn_divergence as sd

    x = rng.standard_normal((6, 2))
    y = rng.standard_normal((5, 2)) + 0.5
    a = rng.uniform(0.2, 1.0, 6)
    a /= a.sum()
    b = rng.uniform(0.2, 1.0, 5)
    b /= b.sum()
    out["ott/x"], out["ott/y"], out["ott/a"], out["ott/b"] = x, y, a, b
    solver = sinkhorn.Sinkhorn(threshold=1e-10, max_iterations=20000)
    for eps in (0.5, 0.1):
        def reg(x_, eps=eps):
            geom = pointcloud.PointCloud(x_, y, epsilon=eps)
            return solver(linear_problem.LinearProblem(geom, a, b))

        res = reg(x)
        key = f"ott/eps{eps}"
        out[f"{key}/reg_ot_cost"] = np.asarray(res.reg_ot_cost)
        out[f"{key}/f"], out[f"{key}/g"] = np.asarray(res.f), np.asarray(res.g)
        out[f"{key}/coupling"] = np.asarray(res.matrix)
        out[f"{key}/grad_x"] = np.asarray(jax.grad(lambda x_: reg(x_).reg_ot_cost)(x))
        div_fn = lambda x_, eps=eps: sd.sinkdiv(  # noqa: E731
            x_, y, epsilon=eps, a=a, b=b, solve_kwargs={"threshold": 1e-10, "max_iterations": 20000}
        )[0]
        out[f"{key}/divergence"] = np.asarray(div_fn(x))
        out[f"{key}/divergence_grad_x"] = np.asarray(jax.grad(div_fn)(x))
    # POT on the same problem: sinkhorn2 is <C, P> (transport cost), emd2 the exact OT.
    C = ot.dist(x, y)  # squared Euclidean
    out["pot/sinkhorn2_eps0.5"] = np.asarray(ot.sinkhorn2(a, b, C, 0.5, stopThr=1e-12, numItermax=100000))
    out["pot/emd2"] = np.asarray(ot.emd2(a, b, C))
    out["pot/hand"] = np.asarray(ot.sinkhorn2([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]], 1.0))


def _sliced(out, rng):
    x = rng.standard_normal((8, 3))
    y = rng.standard_normal((6, 3)) * 0.7 + 0.3
    b = rng.uniform(0.2, 1.0, 6)
    b /= b.sum()
    g = rng.standard_normal((3, 16))
    proj = g / np.linalg.norm(g, axis=0, keepdims=True)
    out["sw/x"], out["sw/y"], out["sw/b"], out["sw/proj"] = x, y, b, proj
    for p in (1, 2):
        out[f"sw/p{p}"] = np.asarray(ot.sliced_wasserstein_distance(x, y, projections=proj, p=p))
    a = np.full(8, 1 / 8)
    out["sw/p2_weighted"] = np.asarray(ot.sliced_wasserstein_distance(x, y, a, b, projections=proj, p=2))


def _mmd(out, rng):
    x = rng.standard_normal((7, 3))
    y = rng.standard_normal((5, 3)) + 0.4
    out["mmd/x"], out["mmd/y"] = x, y
    sig = (0.5, 2.0)
    kern = lambda a, b: sum(rbf_kernel(a, b, gamma=1 / (2 * s**2)) for s in sig)  # noqa: E731
    kxx, kyy, kxy = kern(x, x), kern(y, y), kern(x, y)
    n, m = len(x), len(y)
    out["mmd/biased"] = np.asarray(kxx.mean() + kyy.mean() - 2 * kxy.mean())
    out["mmd/unbiased"] = np.asarray(
        (kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        - 2 * kxy.mean()
    )


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2024)
    out: dict[str, np.ndarray] = {}
    _kl(out, rng)
    _js(out, rng)
    _w1d(out, rng)
    _sliced(out, rng)
    _mmd(out, rng)
    with jax.enable_x64(True):
        _ott(out, rng)
    return {k: np.asarray(v) for k, v in out.items()}
