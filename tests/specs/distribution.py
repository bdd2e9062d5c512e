"""Contract specs for the distribution family.

Point-cloud and 1-D losses get a leading batch axis so that ``"none"`` (one
value per problem) has something for ``weights``/``where`` to act on.
"""

import numpy as np

from . import Spec, args, normal, uniform
from .laws import each, replace, same, swap

_SETS = each(0, 1, axis=1)  # the order of the points / samples of each problem


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
        nonnegative=True, zero_at=lambda a: replace(a, a0=np.log(a[1])), scalable=(), numeric=(1,),
    ),
    "js_divergence": Spec(
        make=args(_log_probs(4, 5), _log_probs(4, 5)),
        extreme=args(_log_probs(4, 5, scale=1e2), _log_probs(4, 5)),
        bad=args(normal(4, 5), normal(4, 3)),
        diff=(0, 1),
        nonnegative=True, zero_at=same, symmetric=(swap, 1.0), scalable=(),
    ),
    "wasserstein_1d": Spec(
        make=args(normal(3, 6), normal(3, 5)),
        extreme=args(normal(3, 6, scale=1e4), normal(3, 5)),
        bad=args(normal(3, 6), normal(2, 5)),
        diff=(0, 1),
        kwargs={"p": 2.0},
        nonnegative=True, zero_at=same, symmetric=(swap, 1.0), permuted=_SETS, shard=False,
    ),
    "sinkhorn_divergence": Spec(
        make=args(normal(2, 5, 2), normal(2, 4, 2)),
        extreme=args(normal(2, 5, 2, scale=30.0), normal(2, 4, 2)),
        bad=args(normal(2, 5, 2), normal(2, 4, 3)),
        diff=(0, 1),
        kwargs={"epsilon": 0.5},
        nonnegative=True,
        # The Sinkhorn *distance* (entropic cost) is not 0 at x = y: the debiased divergence is.
        zero_at=lambda a: replace(a, a1=a[0][:, ::-1]),  # a reordered copy
        symmetric=(swap, 1.0), permuted=_SETS, numeric=(1,),
        # At a fixed epsilon = 0.5 it needs O(cost / epsilon) iterations: beyond scale ~10 the
        # 1000-iteration solve stops unconverged (ott-jax does too), and the laws hold only at the
        # fixed point; below 5 the tolerance-1e-6 solve is within 1e-4 (relative) of it.
        max_scale=5.0, law_tol=1e-4,
    ),
    "sliced_wasserstein": Spec(
        make=args(normal(2, 6, 3), normal(2, 5, 3), _key),
        extreme=args(normal(2, 6, 3, scale=1e4), normal(2, 5, 3), _key),
        bad=args(normal(2, 6, 3), normal(2, 5, 2), _key),
        diff=(0, 1),
        kwargs={"num_projections": 16},
        nonnegative=True, zero_at=same, symmetric=(swap, 1.0), permuted=_SETS, numeric=(1,), key=2,
    ),
    "mmd_loss": Spec(
        make=args(normal(2, 5, 3), normal(2, 4, 3)),
        extreme=args(normal(2, 5, 3, scale=1e4), normal(2, 4, 3)),
        bad=args(normal(2, 5, 3), normal(2, 4, 2)),
        diff=(0, 1),
        kwargs={"bandwidths": (0.5, 2.0)},
        nonnegative="the unbiased estimator (the default) drops the diagonal and can go below 0",
        # Biased only: the unbiased estimate at x = y is mean_offdiag(K) - mean(K) < 0.
        zero_at=same, zero_at_kwargs={"unbiased": False},
        symmetric=(swap, 1.0), permuted=_SETS, numeric=(1,),
    ),
}
