"""Contract specs for issue 17's OT odds and ends: energy, Bures–Wasserstein, max-sliced.

Each gets a leading batch axis of 2 problems, so that ``"none"`` has something
for ``weights``/``where`` to act on.
"""

import numpy as np

from . import Spec, args, normal
from .laws import each, replace, same, swap

_SETS = each(0, 1, axis=1)  # the order of the points of each problem


def _key(rng):
    return np.array([0, 7], np.uint32)  # a raw PRNG key: fixed projections


def _covariances(*batch: int, d: int = 3):
    def make(rng):
        g = rng.standard_normal((*batch, d, d))
        return (g @ np.swapaxes(g, -1, -2) / d + 0.1 * np.eye(d)).astype(np.float32)

    return make


def _same_gaussian(a: tuple) -> tuple:
    return replace(a, a2=a[0], a3=a[1])


def _swap_gaussians(a: tuple) -> tuple:
    return (a[2], a[3], a[0], a[1])


SPECS = {
    "energy_distance": Spec(
        make=args(normal(2, 5, 3), normal(2, 4, 3)),
        extreme=args(normal(2, 5, 3, scale=1e4), normal(2, 4, 3)),
        bad=args(normal(2, 5, 3), normal(2, 4, 2)),
        diff=(0, 1),
        nonnegative=True,
        zero_at=same,
        symmetric=(swap, 1.0),
        permuted=_SETS,
        numeric=(1,),
    ),
    "gaussian_wasserstein": Spec(
        make=args(normal(2, 3), _covariances(2), normal(2, 3), _covariances(2)),
        extreme=args(normal(2, 3, scale=1e4), _covariances(2), normal(2, 3), _covariances(2)),
        bad=args(normal(2, 3), _covariances(2), normal(2, 3), _covariances(2, d=2)),
        diff=(0, 1, 2, 3),
        # Scaling a covariance by a drawn (possibly negative) factor leaves the PSD cone.
        scalable=(0, 2),
        nonnegative=True,
        zero_at=_same_gaussian,
        symmetric=(_swap_gaussians, 1.0),
        numeric=(1, 2, 3),
        # The trace term of equal Gaussians cancels to rounding (f32 eigendecompositions).
        law_tol=1e-4,
    ),
    "empirical_gaussian_wasserstein": Spec(
        make=args(normal(2, 6, 3), normal(2, 5, 3)),
        extreme=args(normal(2, 6, 3, scale=1e3), normal(2, 5, 3)),
        bad=args(normal(2, 6, 3), normal(2, 5, 2)),
        diff=(0, 1),
        nonnegative=True,
        zero_at=same,
        symmetric=(swap, 1.0),
        permuted=_SETS,
        numeric=(1,),
        law_tol=1e-4,
    ),
    "max_sliced_wasserstein": Spec(
        make=args(normal(2, 6, 3), normal(2, 5, 3), _key),
        extreme=args(normal(2, 6, 3, scale=1e4), normal(2, 5, 3), _key),
        bad=args(normal(2, 6, 3), normal(2, 5, 2), _key),
        diff=(0, 1),
        kwargs={"num_projections": 16},
        nonnegative=True,
        zero_at=same,
        symmetric=(swap, 1.0),
        permuted=_SETS,
        numeric=(1,),
        key=2,
    ),
}
