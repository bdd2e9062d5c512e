"""Contract specs for the SSIM losses (channel-last images ``[B, *S, C]``)."""

from . import Spec, args, normal, uniform
from .laws import rows, same, swap

SPECS = {
    "ssim_loss": Spec(
        make=args(uniform(2, 7, 6, 2), uniform(2, 7, 6, 2)),
        extreme=args(normal(2, 7, 6, 2, scale=1e3), uniform(2, 7, 6, 2)),
        bad=args(uniform(2, 7, 6, 2), uniform(2, 7, 5, 2)),
        diff=(0, 1),
        kwargs={"win_size": 5},
        nonnegative=True,
        zero_at=same,
        symmetric=(swap, 1.0),
        permuted=rows(0, 1),
    ),
    "ms_ssim_loss": Spec(
        make=args(uniform(2, 8, 8, 1), uniform(2, 8, 8, 1)),
        extreme=args(normal(2, 8, 8, 1, scale=1e3), uniform(2, 8, 8, 1)),
        bad=args(uniform(2, 8, 8, 1), uniform(2, 8, 7, 1)),
        diff=(0, 1),
        kwargs={"win_size": 3, "scale_weights": (0.4, 0.6)},
        nonnegative=True,
        zero_at=same,
        symmetric=(swap, 1.0),
        permuted=rows(0, 1),
    ),
}
