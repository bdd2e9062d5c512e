"""Contract specs for the new names of issue 17 E32 (optax ``cosine_similarity`` /
``cosine_distance``); the E29-E31 options live on losses whose specs exist already."""

from . import Spec, args, normal
from .laws import rows, same, swap

N, D = 4, 3

SPECS = {
    "cosine_similarity": Spec(
        make=args(normal(N, D), normal(N, D)),
        extreme=args(normal(N, D, scale=1e4), normal(N, D, scale=1e-4)),
        bad=args(normal(N, D), normal(N, D + 1)),
        diff=(0, 1),
        nonnegative="a similarity in [-1, 1] (optax parity), not a loss bounded below by 0",
        symmetric=(swap, 1.0),
        permuted=rows(0, 1),
    ),
    "cosine_distance": Spec(
        make=args(normal(N, D), normal(N, D)),
        extreme=args(normal(N, D, scale=1e4), normal(N, D, scale=1e-4)),
        bad=args(normal(N, D), normal(N, D + 1)),
        diff=(0, 1),
        nonnegative=True,
        zero_at=same,
        symmetric=(swap, 1.0),
        permuted=rows(0, 1),
    ),
}
