"""Contract specs for the optimal-transport additions of the distribution family (soft-DTW, soft Spearman)."""

from . import Spec, args, normal
from .laws import rows, same, swap

SPECS = {
    "soft_dtw": Spec(
        make=args(normal(2, 5, 2), normal(2, 4, 2)),
        extreme=args(normal(2, 5, 2, scale=1e4), normal(2, 4, 2)),
        bad=args(normal(2, 5, 2), normal(2, 4, 3)),
        diff=(0, 1),
        kwargs={"gamma": 0.5},
        nonnegative="the soft-min lies below the min: soft-DTW is negative near x = y (debiased is not)",
        zero_at=same,
        zero_at_kwargs={"debiased": True},
        symmetric=(swap, 1.0),
        permuted=rows(0, 1, axis=0),
    ),
    "spearman_loss": Spec(
        shard=False,  # odd leading dimension
        make=args(normal(3, 5), normal(3, 5)),
        extreme=args(normal(3, 5, scale=1e4), normal(3, 5)),
        bad=args(normal(3, 5), normal(3, 4)),
        diff=(0,),
        kwargs={"epsilon": 0.05},
        # The soft ranks come from a Sinkhorn solve stopped at ott's threshold 1e-3: finite
        # differences see the stopping rule; the gradients are checked against ott's instead.
        grad_check=False,
        nonnegative=True,
        permuted=rows(0, 1, axis=0),
        numeric=(1,),
    ),
}
