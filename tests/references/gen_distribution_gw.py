"""Goldens for Gromov-Wasserstein and exact OT (float64).

Anchors: ott-jax 0.6 (``QuadraticProblem`` + ``GromovWasserstein(Sinkhorn(...))``: ``reg_gw_cost``,
``matrix``, ``primal_cost``, jax gradients of ``reg_gw_cost``; ``tools.unreg.hungarian`` and
``wassdis_p`` with jax gradients), POT 0.9.7 (``gromov.entropic_gromov_wasserstein2``,
``gromov.entropic_fused_gromov_wasserstein2``, ``emd2`` with torch gradients; POT's GW gradients are torch autodiff through its iterations, not
the envelope gradient, so only its values and couplings are stored).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import ot
import torch

torch.set_default_dtype(torch.float64)

_INNER = {"threshold": 1e-9, "max_iterations": 5000}
_OUTER = {"threshold": 1e-7, "max_iterations": 100}
_POT = {"stopThr": 1e-13, "numItermax": 100000}

# Cases for ott: tag -> (loss, epsilon, relative_epsilon, fused_penalty or None).
GW_CASES = {
    "sq": ("sqeucl", 0.1, None, None),
    "kl": ("kl", 0.1, None, None),
    "fused": ("sqeucl", 0.1, None, 0.5),
    "std": ("sqeucl", 0.5, "std", None),
}


def _dist(x):
    return np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))


def _data(rng):
    x, y = rng.normal(size=(5, 2)), rng.normal(size=(4, 3))
    cx, cy = _dist(x), _dist(y)
    cx, cy = cx / cx.max(), cy / cy.max()
    a = rng.uniform(0.3, 1.0, 5)
    b = rng.uniform(0.3, 1.0, 4)
    m = rng.uniform(0.0, 1.0, (5, 4))
    return cx, cy, a / a.sum(), b / b.sum(), m


def _ott_gw(out, cx, cy, a, b, m):
    from ott.geometry import geometry
    from ott.problems.quadratic import quadratic_problem
    from ott.solvers.linear import sinkhorn
    from ott.solvers.quadratic import gromov_wasserstein

    for tag, (loss, eps, rel, fp) in GW_CASES.items():
        # The kl loss needs positive costs (log of cost_y): shift them.
        cxx, cyy = (cx + 0.1, cy + 0.1) if loss == "kl" else (cx, cy)

        def run(cx_, cy_, m_, loss=loss, eps=eps, rel=rel, fp=fp):
            kw = {} if fp is None else {"geom_xy": geometry.Geometry(m_), "fused_penalty": fp}
            prob = quadratic_problem.QuadraticProblem(
                geometry.Geometry(cx_),
                geometry.Geometry(cy_),
                a=jnp.asarray(a),
                b=jnp.asarray(b),
                loss=loss,
                **kw,
            )
            solver = gromov_wasserstein.GromovWasserstein(
                sinkhorn.Sinkhorn(**_INNER), epsilon=eps, relative_epsilon=rel, **_OUTER
            )
            return solver(prob)

        def value(cx_, cy_, m_):
            o = run(cx_, cy_, m_)
            return o.reg_gw_cost, o

        (val, o), grads = jax.value_and_grad(value, (0, 1, 2), has_aux=True)(
            jnp.asarray(cxx), jnp.asarray(cyy), jnp.asarray(m)
        )
        assert bool(o.converged), tag
        out[f"gw/{tag}/reg_gw_cost"] = np.asarray(val)
        out[f"gw/{tag}/coupling"] = np.asarray(o.matrix)
        out[f"gw/{tag}/primal_cost"] = np.asarray(o.primal_cost)
        out[f"gw/{tag}/grad_cx"] = np.asarray(grads[0])
        out[f"gw/{tag}/grad_cy"] = np.asarray(grads[1])
        if fp is not None:
            out[f"gw/{tag}/grad_m"] = np.asarray(grads[2])


def _pot_gw(out, cx, cy, a, b, m):
    val, log = ot.gromov.entropic_gromov_wasserstein2(
        cx, cy, a, b, "square_loss", epsilon=0.2, max_iter=5000, tol=1e-13, log=True, **_POT
    )
    out["pot/gw/value"], out["pot/gw/coupling"] = np.asarray(val), log["T"]
    val, log = ot.gromov.entropic_fused_gromov_wasserstein2(
        m,
        cx,
        cy,
        a,
        b,
        "square_loss",
        epsilon=0.2,
        alpha=0.5,
        max_iter=5000,
        tol=1e-13,
        log=True,
        **_POT,
    )
    out["pot/fgw/value"], out["pot/fgw/coupling"] = np.asarray(val), log["T"]
    out["pot/fgw/linear"] = np.sum(m * log["T"])


def _exact(out, rng):
    from ott.geometry import geometry
    from ott.tools import unreg

    for tag, shape in (("sq", (6, 6)), ("rect", (4, 6))):
        c = rng.uniform(0.0, 1.0, shape)
        out[f"emd/{tag}/c"] = c
        ct = torch.tensor(c, requires_grad=True)
        val = ot.emd2(
            torch.full((shape[0],), 1.0 / shape[0]), torch.full((shape[1],), 1.0 / shape[1]), ct
        )
        val.backward()
        out[f"emd/{tag}/value"] = val.detach().numpy()
        out[f"emd/{tag}/grad_c"] = ct.grad.numpy()
        if shape[0] == shape[1]:
            out[f"emd/{tag}/ott_value"] = np.asarray(
                unreg.hungarian(geometry.Geometry(jnp.asarray(c)))[0]
            )
    x, y, y2 = rng.normal(size=(6, 2)), rng.normal(size=(6, 2)), rng.normal(size=(4, 2))
    out["ew/x"], out["ew/y"], out["ew/y2"] = x, y, y2
    for p in (1.0, 2.0, 3.0):
        fn = jax.value_and_grad(lambda x_, y_, p=p: unreg.wassdis_p(x_, y_, p=p), (0, 1))
        val, (gx, gy) = fn(jnp.asarray(x), jnp.asarray(y))
        out[f"ew/p{p:g}/value"] = np.asarray(val)
        out[f"ew/p{p:g}/grad_x"] = np.asarray(gx)
        out[f"ew/p{p:g}/grad_y"] = np.asarray(gy)
        # n != m: POT emd2 on the EuclideanP cost, torch gradients.
        xt, yt = torch.tensor(x, requires_grad=True), torch.tensor(y2, requires_grad=True)
        cost = ot.dist(xt, yt, metric="euclidean") ** p
        val = ot.emd2(torch.full((6,), 1 / 6), torch.full((4,), 1 / 4), cost) ** (1.0 / p)
        val.backward()
        out[f"ew/rect_p{p:g}/value"] = val.detach().numpy()
        out[f"ew/rect_p{p:g}/grad_x"] = xt.grad.numpy()
        out[f"ew/rect_p{p:g}/grad_y"] = yt.grad.numpy()


def generate() -> dict[str, np.ndarray]:
    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(17)
    out: dict[str, np.ndarray] = {}
    cx, cy, a, b, m = _data(rng)
    out.update({"gw/cx": cx, "gw/cy": cy, "gw/a": a, "gw/b": b, "gw/m": m})
    _ott_gw(out, cx, cy, a, b, m)
    _pot_gw(out, cx, cy, a, b, m)
    _exact(out, rng)
    return out
