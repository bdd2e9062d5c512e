"""Contract specs for the distribution family.

Point-cloud and 1-D losses get a leading batch axis so that ``"none"`` (one
value per problem) has something for ``weights``/``where`` to act on.
"""

import numpy as np

from . import Spec, args, normal, uniform


def _log_probs(*shape, scale=1.0):
    def make(rng):
        z = scale * rng.standard_normal(shape)
        z = z - z.max(-1, keepdims=True)
        return (z - np.log(np.exp(z).sum(-1, keepdims=True))).astype(np.float32)

    return make


def _key(rng):
    return np.array([0, 7], np.uint32)  # a raw PRNG key: fixed projections


SPECS = {
    "kl_divergence": Spec(
        make=args(_log_probs(4, 5), uniform(4, 5, low=0.05, high=1.0)),
        extreme=args(_log_probs(4, 5, scale=1e2), uniform(4, 5, low=0.0, high=1.0)),
        bad=args(normal(4, 5), uniform(4, 3)),
        diff=(0, 1),
    ),
    "js_divergence": Spec(
        make=args(_log_probs(4, 5), _log_probs(4, 5)),
        extreme=args(_log_probs(4, 5, scale=1e2), _log_probs(4, 5)),
        bad=args(normal(4, 5), normal(4, 3)),
        diff=(0, 1),
    ),
    "wasserstein_1d": Spec(
        make=args(normal(3, 6), normal(3, 5)),
        extreme=args(normal(3, 6, scale=1e4), normal(3, 5)),
        bad=args(normal(3, 6), normal(2, 5)),
        diff=(0, 1),
        kwargs={"p": 2.0},
    ),
    "sinkhorn_divergence": Spec(
        make=args(normal(2, 5, 2), normal(2, 4, 2)),
        extreme=args(normal(2, 5, 2, scale=30.0), normal(2, 4, 2)),
        bad=args(normal(2, 5, 2), normal(2, 4, 3)),
        diff=(0, 1),
        kwargs={"epsilon": 0.5},
    ),
    "sliced_wasserstein": Spec(
        make=args(normal(2, 6, 3), normal(2, 5, 3), _key),
        extreme=args(normal(2, 6, 3, scale=1e4), normal(2, 5, 3), _key),
        bad=args(normal(2, 6, 3), normal(2, 5, 2), _key),
        diff=(0, 1),
        kwargs={"num_projections": 16},
    ),
    "mmd_loss": Spec(
        make=args(normal(2, 5, 3), normal(2, 4, 3)),
        extreme=args(normal(2, 5, 3, scale=1e4), normal(2, 4, 3)),
        bad=args(normal(2, 5, 3), normal(2, 4, 2)),
        diff=(0, 1),
        kwargs={"bandwidths": (0.5, 2.0)},
    ),
}
