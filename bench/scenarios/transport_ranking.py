"""Transport, soft-sorting, sequence and ranking benchmarks (issue 17): forward + backward.

Every scenario differentiates the same value w.r.t. the same input on both
sides, float32, with the anchor's options spelled out on both sides.

- ``sinkhorn_cost`` / ``sinkhorn_cost_unbalanced``: ``sinkhorn_from_cost``
  vs ott-jax ``Geometry(cost_matrix, epsilon)`` + ``LinearProblem(a, b,
  tau_a, tau_b)`` + ``Sinkhorn``: ``reg_ot_cost`` and its gradient w.r.t. the
  cost matrix (both by implicit differentiation), absolute epsilon, the same
  stopping rule (L1 marginal error, or the unbalanced dual-gradient error as
  ott, checked every 10 iterations, threshold ``SKC_TOL``, at most
  ``SKC_ITERS`` iterations), so both run the same number of iterations.
  jaxloss runs blocks of 10 iterations in the kernel domain, balanced or
  unbalanced (falling back to the log domain when a scaling leaves a safe
  range), ott in the log domain.
- ``sinkhorn_cost_pot`` / ``sinkhorn_cost_unbalanced_pot``: the transport
  cost ``<C, P>`` (``SinkhornOutput.transport_cost``) vs POT's
  ``sinkhorn2`` / ``sinkhorn_unbalanced2(reg_m = eps tau / (1 - tau),
  reg_type="entropy")`` with its torch backend, gradient w.r.t. the cost
  matrix. POT's stopping rules differ from ott's (L2 error of one marginal;
  relative change of the scalings), so both sides run a fixed ``SKP_ITERS``
  iterations (tolerance 0, ``stopThr=0``), at epsilon 0.1 (``SKP_EPS``): POT's
  default iterations work on the kernel ``exp(-C / eps)``, which at the 0.01 of
  the ott scenarios underflows to 0 in float32 for every cost above about 1.04
  (these costs reach about 3). POT runs those scaling-domain iterations and differentiates them
  by torch autograd (a tape of every iteration); jaxloss differentiates
  implicitly at the final potentials (the same gradient at convergence).
  POT's NumPy backend has no gradient, hence torch.
- ``gromov_wasserstein``: entropic GW between two normalised distance
  matrices vs ott ``QuadraticProblem`` + ``GromovWasserstein(Sinkhorn())``:
  ``reg_gw_cost`` and its envelope gradient w.r.t. ``cost_x``; ott's
  thresholds (1e-3 outer and inner), at most 50 outer and 1000 Sinkhorn
  iterations on both sides.
- ``soft_sort`` / ``soft_rank``: ``sum(w * op(x))`` for a fixed random
  read-out ``w``, vs ott ``tools.soft_sort.sort`` / ``ranks`` (epsilon 1e-2,
  threshold 1e-3, at most 2000 iterations; same values). Differentiation
  differs: jaxloss solves the implicit-function system by preconditioned CG;
  ott's default implicit differentiation (lineax ``NormalCG``, rtol = atol =
  1e-6) raises "operator singular" on these float32 problems (also at epsilon
  0.05 and 0.1), so ott runs with ``implicit_diff=None``: reverse mode through
  its Sinkhorn iterations (on the quick shape the rank gradients differ by
  about 0.5 % of their largest entry, both stopped at threshold 1e-3).
  ott's sort is given ``DefaultInitializer()`` (zero potentials, as jaxloss):
  its default sorting initializer cannot be reverse-differentiated.
- ``soft_dtw``: mean soft-DTW (gamma 1, squared Euclidean) over a batch of
  pairs, gradient w.r.t. ``x``, vs ott ``costs.SoftDTW`` (vmapped, autodiff
  through its scan) and tslearn ``SoftDTWLossPyTorch`` (numba kernels for the
  recursion and its E-matrix gradient, torch for the distance matrix).
- ``crf``: mean negative log-likelihood of a linear-chain CRF with start and
  end transitions (no padding), gradients w.r.t. the emissions and the three
  transition parameters, vs pytorch-crf ``CRF(batch_first=True)`` with
  ``reduction="mean"`` (negated).
- ``ranking_*_segments``: ranking losses on lists that each pack
  ``segments`` sub-lists (shuffled ids), vs rax 0.4: ``pairwise_logistic_loss``
  with the DCG lambdaweights (``lambdaweight="dcg"`` vs
  ``lambdaweight_fn=rax.dcg_lambdaweight``), ``softmax_loss`` and
  ``approx_t12n(ndcg_metric)``, default mean reduction, gradient w.r.t. the
  scores. rax 0.4's t12n needs ``jax.util.wraps``, gone from recent JAX: the
  factory restores it (API.md E8) before importing rax.
"""

from __future__ import annotations

import numpy as np

from bench.harness import Scenario, jax_fwd_bwd, torch_fwd_bwd

# Sinkhorn on a cost matrix: [n, m] squared-Euclidean costs of 3-D clouds, non-uniform marginals.
SKC_FULL, SKC_QUICK = (1000, 800), (400, 300)
SKC_EPS, SKC_TOL, SKC_ITERS, SKC_TAU = 0.01, 1e-4, 1000, 0.8
# POT's default (scaling-domain) iterations underflow at eps = 0.01 in float32: eps = 0.1 there,
# a fixed iteration count (POT's stopping rules differ from ott's) and smaller full sizes.
SKP_FULL, SKP_QUICK, SKP_EPS, SKP_ITERS = (600, 500), (300, 250), 0.1, 200
GW_FULL, GW_QUICK = (800, 600), (300, 250)
GW_EPS = 0.05
SS_FULL, SS_QUICK = (32, 128), (8, 64)  # [lists, items]
SDTW_FULL, SDTW_QUICK = (64, 256, 4), (16, 128, 4)  # [pairs, length, features]
CRF_FULL, CRF_QUICK = (64, 128, 32), (32, 64, 16)  # [batch, steps, tags]
RK_FULL, RK_QUICK = (128, 256, 8), (64, 128, 8)  # [lists, items, segments per list]


# --------------------------------------------------------------------------- sinkhorn on a cost


def _cost(quick: bool, pot: bool = False):
    n, m = (SKP_QUICK if quick else SKP_FULL) if pot else (SKC_QUICK if quick else SKC_FULL)
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(n, 3))
    y = rng.uniform(size=(m, 3)) * 1.2 + 0.1
    c = ((x[:, None] - y[None]) ** 2).sum(-1).astype(np.float32)
    a, b = rng.uniform(0.5, 1.0, n), rng.uniform(0.5, 1.0, m)
    return c, (a / a.sum()).astype(np.float32), (b / b.sum()).astype(np.float32)


def _sk_jaxloss(tau: float, pot: bool):
    def make(quick: bool):
        import jaxloss

        eps, tol, iters = (SKP_EPS, 0.0, SKP_ITERS) if pot else (SKC_EPS, SKC_TOL, SKC_ITERS)

        def loss(c, a, b):
            out = jaxloss.sinkhorn_from_cost(c, a, b, epsilon=eps, tau_a=tau, tau_b=tau,
                                             tolerance=tol, max_iterations=iters)
            return out.transport_cost if pot else out.reg_ot_cost

        return jax_fwd_bwd(loss, *_cost(quick, pot))

    return make


def _sk_ott(tau: float):
    def make(quick: bool):
        from ott.geometry import geometry
        from ott.problems.linear import linear_problem
        from ott.solvers.linear import sinkhorn

        solver = sinkhorn.Sinkhorn(threshold=SKC_TOL, max_iterations=SKC_ITERS, inner_iterations=10)

        def loss(c, a, b):
            geom = geometry.Geometry(cost_matrix=c, epsilon=SKC_EPS)
            return solver(linear_problem.LinearProblem(geom, a, b, tau_a=tau, tau_b=tau)).reg_ot_cost

        return jax_fwd_bwd(loss, *_cost(quick))

    return make


def _sk_pot(tau: float):
    def make(quick: bool):
        import ot
        import torch

        c, a, b = _cost(quick, pot=True)
        ta, tb = torch.tensor(a), torch.tensor(b)
        if tau == 1.0:
            def loss(tc):
                return ot.sinkhorn2(ta, tb, tc, SKP_EPS, numItermax=SKP_ITERS, stopThr=0.0)
        else:
            rho = SKP_EPS * tau / (1.0 - tau)

            def loss(tc):
                return ot.sinkhorn_unbalanced2(ta, tb, tc, SKP_EPS, rho, reg_type="entropy",
                                               numItermax=SKP_ITERS, stopThr=0.0)

        return torch_fwd_bwd(loss, torch.tensor(c, requires_grad=True))

    return make


# --------------------------------------------------------------------------- gromov-wasserstein


def _gw_costs(quick: bool):
    n, m = GW_QUICK if quick else GW_FULL
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(n, 2)), rng.normal(size=(m, 3))
    cx = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    cy = np.sqrt(((y[:, None] - y[None]) ** 2).sum(-1))
    return (cx / cx.max()).astype(np.float32), (cy / cy.max()).astype(np.float32)


def gw_jaxloss(quick: bool):
    import jaxloss

    def loss(cx, cy):
        return jaxloss.gromov_wasserstein(cx, cy, epsilon=GW_EPS, max_iterations=50, tolerance=1e-3,
                                          sinkhorn_max_iterations=1000, sinkhorn_tolerance=1e-3).reg_gw_cost

    return jax_fwd_bwd(loss, *_gw_costs(quick))


def gw_ott(quick: bool):
    from ott.geometry import geometry
    from ott.problems.quadratic import quadratic_problem
    from ott.solvers.linear import sinkhorn
    from ott.solvers.quadratic import gromov_wasserstein

    solver = gromov_wasserstein.GromovWasserstein(
        sinkhorn.Sinkhorn(threshold=1e-3, max_iterations=1000), epsilon=GW_EPS, threshold=1e-3, max_iterations=50
    )

    def loss(cx, cy):
        return solver(quadratic_problem.QuadraticProblem(geometry.Geometry(cx), geometry.Geometry(cy))).reg_gw_cost

    return jax_fwd_bwd(loss, *_gw_costs(quick))


# --------------------------------------------------------------------------- soft sort / rank


def _lists(quick: bool):
    shape = SS_QUICK if quick else SS_FULL
    rng = np.random.default_rng(0)
    return rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32)


def _soft_jaxloss(op_name: str):
    def make(quick: bool):
        import jax.numpy as jnp

        import jaxloss

        op = getattr(jaxloss, op_name)
        return jax_fwd_bwd(lambda x, w: jnp.sum(w * op(x, epsilon=1e-2, tolerance=1e-3, max_iterations=2000)),
                           *_lists(quick))

    return make


def _soft_ott(op_name: str):
    def make(quick: bool):
        import jax.numpy as jnp
        from ott.initializers.linear import initializers
        from ott.tools import soft_sort

        # implicit_diff=None: ott's default implicit differentiation raises on these float32 problems.
        kw = {"epsilon": 1e-2, "threshold": 1e-3, "max_iterations": 2000, "implicit_diff": None}
        if op_name == "soft_sort":
            def op(x):
                return soft_sort.sort(x, axis=-1, initializer=initializers.DefaultInitializer(), **kw)
        else:
            def op(x):
                return soft_sort.ranks(x, axis=-1, **kw)

        return jax_fwd_bwd(lambda x, w: jnp.sum(w * op(x)), *_lists(quick))

    return make


# --------------------------------------------------------------------------- soft-DTW


def _series(quick: bool):
    b, t, d = SDTW_QUICK if quick else SDTW_FULL
    rng = np.random.default_rng(0)
    x = rng.standard_normal((b, t, d)).astype(np.float32)
    y = (np.cumsum(rng.standard_normal((b, t, d)), axis=1) / np.sqrt(t)).astype(np.float32)
    return x, y


def sdtw_jaxloss(quick: bool):
    import jaxloss

    return jax_fwd_bwd(lambda x, y: jaxloss.soft_dtw(x, y, gamma=1.0), *_series(quick))


def sdtw_ott(quick: bool):
    import jax
    import jax.numpy as jnp
    from ott.geometry import costs

    sdtw = costs.SoftDTW(gamma=1.0)
    return jax_fwd_bwd(lambda x, y: jnp.mean(jax.vmap(sdtw)(x, y)), *_series(quick))


def sdtw_tslearn(quick: bool):
    import torch
    from tslearn.metrics import SoftDTWLossPyTorch

    x, y = _series(quick)
    loss = SoftDTWLossPyTorch(gamma=1.0)
    ty = torch.tensor(y)
    return torch_fwd_bwd(lambda tx: loss(tx, ty).mean(), torch.tensor(x, requires_grad=True))


# --------------------------------------------------------------------------- CRF


def _crf_inputs(quick: bool):
    b, t, c = CRF_QUICK if quick else CRF_FULL
    rng = np.random.default_rng(0)
    x = rng.standard_normal((b, t, c)).astype(np.float32)
    tags = rng.integers(0, c, (b, t)).astype(np.int32)
    trans = (0.5 * rng.standard_normal((c, c))).astype(np.float32)
    start, end = (0.5 * rng.standard_normal((2, c))).astype(np.float32)
    return x, tags, trans, start, end


def crf_jaxloss(quick: bool):
    import jaxloss

    x, tags, trans, start, end = _crf_inputs(quick)

    def loss(x, trans, start, end, tags):
        return jaxloss.crf_loss(x, tags, trans, start_transitions=start, end_transitions=end)

    return jax_fwd_bwd(loss, x, trans, start, end, tags, argnums=(0, 1, 2, 3))


def crf_torchcrf(quick: bool):
    import torch
    from torchcrf import CRF

    x, tags, trans, start, end = _crf_inputs(quick)
    crf = CRF(x.shape[-1], batch_first=True)
    with torch.no_grad():
        crf.transitions.copy_(torch.tensor(trans))
        crf.start_transitions.copy_(torch.tensor(start))
        crf.end_transitions.copy_(torch.tensor(end))
    tt = torch.tensor(tags).long()
    mask = torch.ones(tags.shape, dtype=torch.bool)  # pytorch-crf's default is a (deprecated) uint8 mask
    params = (crf.transitions, crf.start_transitions, crf.end_transitions)
    emissions = torch.tensor(x, requires_grad=True)
    return torch_fwd_bwd(lambda em, *_: -crf(em, tt, mask=mask, reduction="mean"), emissions, *params)


# --------------------------------------------------------------------------- ranking (rax)


def _rankings(quick: bool):
    b, n, s = RK_QUICK if quick else RK_FULL
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((b, n)).astype(np.float32)
    labels = rng.integers(0, 5, (b, n)).astype(np.float32)
    segments = rng.permuted(np.tile(np.repeat(np.arange(s), n // s), (b, 1)), axis=1).astype(np.int32)
    return scores, labels, segments


def _rax():
    import functools
    import types

    import jax

    if not hasattr(getattr(jax, "util", None), "wraps"):
        # rax 0.4's t12n uses jax.util.wraps, which newer JAX removed (API.md E8).
        jax.util = types.SimpleNamespace(wraps=lambda f, **k: functools.wraps(f))
    import rax

    return rax


def _rank_jaxloss(case: str):
    def make(quick: bool):
        import jaxloss

        fn = {
            "logistic_dcg": lambda s, y, g: jaxloss.pairwise_logistic_loss(s, y, lambdaweight="dcg", segments=g),
            "softmax": lambda s, y, g: jaxloss.softmax_ranking_loss(s, y, segments=g),
            "approx_ndcg": lambda s, y, g: jaxloss.approx_ndcg_loss(s, y, segments=g),
        }[case]
        return jax_fwd_bwd(fn, *_rankings(quick))

    return make


def _rank_rax(case: str):
    def make(quick: bool):
        rax = _rax()
        fn = {
            "logistic_dcg": lambda s, y, g: rax.pairwise_logistic_loss(
                s, y, segments=g, lambdaweight_fn=rax.dcg_lambdaweight
            ),
            "softmax": lambda s, y, g: rax.softmax_loss(s, y, segments=g),
            "approx_ndcg": lambda s, y, g: rax.approx_t12n(rax.ndcg_metric)(s, y, segments=g),
        }[case]
        return jax_fwd_bwd(fn, *_rankings(quick))

    return make


# --------------------------------------------------------------------------- scenarios


def _dims(shape) -> str:
    return " x ".join(map(str, shape))


def _sinkhorn_scenarios() -> list[Scenario]:
    out = []
    for tau, suffix in ((1.0, ""), (SKC_TAU, "_unbalanced")):
        what = "" if tau == 1.0 else f", tau_a = tau_b = {tau}"
        out.append(Scenario(
            name=f"sinkhorn_cost{suffix}",
            family="distribution",
            shape=f"[{_dims(SKC_FULL)}] f32 cost, eps={SKC_EPS}{what}, tol={SKC_TOL}: reg_ot_cost + grad C",
            quick_shape=f"[{_dims(SKC_QUICK)}]",
            impls={"jaxloss": _sk_jaxloss(tau, pot=False), "ott-jax": _sk_ott(tau)},
            target="<= 0.5x ott-jax",
        ))
        pot_what = f"reg_m={SKP_EPS * tau / (1 - tau):g} (entropy)" if tau != 1.0 else "balanced"
        out.append(Scenario(
            name=f"sinkhorn_cost{suffix}_pot",
            family="distribution",
            shape=f"[{_dims(SKP_FULL)}] f32 cost, eps={SKP_EPS}, {pot_what}, {SKP_ITERS} iterations: "
                  "<C, P> + grad C",
            quick_shape=f"[{_dims(SKP_QUICK)}]",
            impls={"jaxloss": _sk_jaxloss(tau, pot=True), "pot-torch": _sk_pot(tau)},
            target="<= 0.5x pot-torch",
        ))
    return out


SCENARIOS = [
    *_sinkhorn_scenarios(),
    Scenario(
        name="gromov_wasserstein",
        family="distribution",
        shape=f"[{GW_FULL[0]}]^2 vs [{GW_FULL[1]}]^2 f32 distance matrices, eps={GW_EPS}: reg_gw_cost + grad",
        quick_shape=f"[{GW_QUICK[0]}]^2 vs [{GW_QUICK[1]}]^2",
        impls={"jaxloss": gw_jaxloss, "ott-jax": gw_ott},
        target="<= 1.0x ott-jax",
    ),
    Scenario(
        name="soft_sort",
        family="distribution",
        shape=f"[{_dims(SS_FULL)}] f32, eps=1e-2: sum(w * sort) + grad",
        quick_shape=f"[{_dims(SS_QUICK)}]",
        impls={"jaxloss": _soft_jaxloss("soft_sort"), "ott-jax": _soft_ott("soft_sort")},
        target="<= 1.0x ott-jax",
    ),
    Scenario(
        name="soft_rank",
        family="distribution",
        shape=f"[{_dims(SS_FULL)}] f32, eps=1e-2: sum(w * ranks) + grad",
        quick_shape=f"[{_dims(SS_QUICK)}]",
        impls={"jaxloss": _soft_jaxloss("soft_rank"), "ott-jax": _soft_ott("soft_rank")},
        target="<= 1.0x ott-jax",
    ),
    Scenario(
        name="soft_dtw",
        family="distribution",
        shape=f"{SDTW_FULL[0]} pairs of [{SDTW_FULL[1]}, {SDTW_FULL[2]}] f32 series, gamma=1: mean + grad x",
        quick_shape=f"{SDTW_QUICK[0]} pairs of [{SDTW_QUICK[1]}, {SDTW_QUICK[2]}]",
        impls={"jaxloss": sdtw_jaxloss, "ott-jax": sdtw_ott, "tslearn": sdtw_tslearn},
        target="<= 0.5x ott-jax, <= 0.5x tslearn",
    ),
    Scenario(
        name="crf",
        family="classification",
        shape=f"[{_dims(CRF_FULL)}] f32 emissions (batch, steps, tags), start/end transitions: "
              "mean NLL + grads",
        quick_shape=f"[{_dims(CRF_QUICK)}]",
        impls={"jaxloss": crf_jaxloss, "pytorch-crf": crf_torchcrf},
        target="<= 0.5x pytorch-crf",
    ),
    *(
        Scenario(
            name=f"ranking_{case}_segments",
            family="ranking",
            shape=f"[{RK_FULL[0]}, {RK_FULL[1]}] f32 scores, {RK_FULL[2]} segments per list, "
                  f"graded labels 0-4{extra}: mean + grad scores",
            quick_shape=f"[{RK_QUICK[0]}, {RK_QUICK[1]}], {RK_QUICK[2]} segments",
            impls={"jaxloss": _rank_jaxloss(case), "rax": _rank_rax(case)},
            target="<= 0.7x rax",
        )
        for case, extra in (("logistic_dcg", ", DCG lambdaweights"), ("softmax", ""), ("approx_ndcg", ""))
    ),
]
