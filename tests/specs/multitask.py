"""Contract specs for the multi-task family (task-level losses and regularisers)."""

import numpy as np

from . import Spec, args, normal, uniform


def _probs(rng, tiny=False):
    p = rng.dirichlet(np.ones(3), 5)
    if tiny:
        p[:, 0] = 1e-30
        p /= p.sum(1, keepdims=True)
    return p.astype(np.float32), rng.dirichlet(np.ones(3)).astype(np.float32)


_tasks = args(uniform(3, low=0.5, high=2.0), uniform(3, low=0.5, high=2.0))

SPECS = {
    "weighted_sum": Spec(make=_tasks, bad=args(normal(3), normal(2)), diff=(0, 1), masks=False),
    "uncertainty_weighting": Spec(make=_tasks, bad=args(normal(3), normal(2)), diff=(0, 1), masks=False),
    # The target mean(G) r^alpha is a constant by design (stop_gradient), which
    # finite differences cannot see.
    "gradnorm_loss": Spec(
        make=args(uniform(3, low=0.5, high=2.0), uniform(3, low=0.5, high=2.0), uniform(3, low=0.5, high=2.0)),
        bad=args(normal(3), normal(3), normal(2)), masks=False, grad_check=False,
    ),
    # `mask` (optax-style, per parameter) replaces `where`; tested in test_multitask.py.
    "l1_regularization": Spec(make=args(normal(4, 3)), extreme=args(normal(4, 3, scale=1e4)), masks=False),
    "l2_regularization": Spec(make=args(normal(4, 3)), extreme=args(normal(4, 3, scale=1e4)), masks=False),
    "elastic_net": Spec(make=args(normal(4, 3)), extreme=args(normal(4, 3, scale=1e4)), masks=False,
                        kwargs={"alpha": 0.3, "l1_ratio": 0.7}),
    "prior_matching_loss": Spec(
        make=_probs, extreme=lambda rng: _probs(rng, tiny=True), bad=args(uniform(5, 3), uniform(4)),
        masks=False,
    ),
}
