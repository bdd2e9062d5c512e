"""Contract specs for the multi-task family (task-level losses and regularisers)."""

import numpy as np

from . import ANY_SHAPE, Spec, accepting, args, normal, uniform
from .laws import replace, rows


def _probs(rng, tiny=False):
    p = rng.dirichlet(np.ones(3), 5)
    if tiny:
        p[:, 0] = 1e-30
        p /= p.sum(1, keepdims=True)
    return p.astype(np.float32), rng.dirichlet(np.ones(3)).astype(np.float32)


_tasks = args(uniform(3, low=0.5, high=2.0), uniform(3, low=0.5, high=2.0))


def _regularizer(**kwargs):
    return Spec(make=args(normal(4, 3)), extreme=args(normal(4, 3, scale=1e4)), masks=False, kwargs=kwargs,
                nonnegative=True, zero_at=lambda a: replace(a, a0=np.zeros_like(a[0])),
                accepts=accepting(ANY_SHAPE, (0,)), pytree=True)

SPECS = {
    "weighted_sum": Spec(make=_tasks, bad=args(normal(3), normal(2)), diff=(0, 1), masks=False,
                         nonnegative="linear in losses and weights of any sign", permuted=rows(0, 1), numeric=(0, 1),
                         shard=False, reductions=("sum", "none")),
    "uncertainty_weighting": Spec(make=_tasks, bad=args(normal(3), normal(2)), diff=(0, 1), masks=False,
                                  nonnegative="exp(-s) L + s is negative for L < 1/e at s = log L",
                                  permuted=rows(0, 1), numeric=(0, 1), shard=False, reductions=("sum", "none")),
    # The target mean(G) r^alpha is a constant by design (stop_gradient), which
    # finite differences cannot see.
    "gradnorm_loss": Spec(
        make=args(uniform(3, low=0.5, high=2.0), uniform(3, low=0.5, high=2.0), uniform(3, low=0.5, high=2.0)),
        bad=args(normal(3), normal(3), normal(2)), masks=False, grad_check=False,
        nonnegative=True,
        # Equal loss ratios give equal targets mean(G) r^alpha = mean(G): zero when all G are equal.
        zero_at=lambda a: replace(a, a0=np.full_like(a[0], a[0].mean()), a1=1.3 * a[2]),
        numeric=(0, 1, 2),
        not_finite={(1, "zeros"): "r_i = (L_i/L_i0) / mean_j(L_j/L_j0) is 0/0 when every L_i = 0",
                    (2, "zeros"): "L_i / L_i0 divides by the initial losses"},
        shard=False, reductions=("sum", "none"),
    ),
    # `mask` (optax-style, per parameter) replaces `where`; tested in test_multitask.py.
    "l1_regularization": _regularizer(),
    "l2_regularization": _regularizer(),
    "elastic_net": _regularizer(alpha=0.3, l1_ratio=0.7),
    "prior_matching_loss": Spec(
        make=_probs, extreme=lambda rng: _probs(rng, tiny=True), bad=args(uniform(5, 3), uniform(4)),
        masks=False,
        nonnegative=True, signed_terms="per-class terms pi_c log(pi_c / p_c) of one KL",
        zero_at=lambda a: replace(a, a0=np.tile(a[1], (len(a[0]), 1))), permuted=rows(0), scalable=(),
        accepts={(0, "batch_short"): "fewer examples is a valid [batch, classes] batch"}, numeric=(1,),
        not_finite={(0, "zeros"): "KL(prior || mean prediction) is +inf when a class is never predicted"},
        shard=False,
    ),
}
