"""Contract spec for issue 17's exact Wasserstein distance (``exact_wasserstein``).

``gromov_wasserstein`` and ``exact_ot``/``emd2`` return solver outputs (as ``sinkhorn`` and
``sinkhorn_from_cost``) and are not registered losses. A leading batch axis of 2 problems
gives ``"none"`` something for ``weights``/``where`` to act on.
"""

from . import Spec, args, normal
from .laws import each, same, swap

SPECS = {
    "exact_wasserstein": Spec(
        make=args(normal(2, 4, 3), normal(2, 6, 3)),
        extreme=args(normal(2, 4, 3, scale=1e4), normal(2, 6, 3)),
        bad=args(normal(2, 4, 3), normal(2, 6, 2)),
        diff=(0, 1),
        nonnegative=True,
        zero_at=same,
        symmetric=(swap, 1.0),
        permuted=each(0, 1, axis=1),  # the order of the points of each problem
        numeric=(1,),
    ),
}
