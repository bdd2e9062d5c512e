"""Contract specs for the self-supervised and multimodal losses (SigLIP, VICReg,
Barlow Twins, KoLeo)."""

import numpy as np

from . import Spec, accepting, args, normal
from .laws import rows, swap

B, D = 6, 3

# Unit-variance, uncorrelated, centred features: both views equal. VICReg and Barlow Twins
# are 0 there (Barlow Twins up to its batch-norm eps: C_ii = var / (var + 1e-5)).
_SPREAD = np.concatenate([2 * np.eye(D), -2 * np.eye(D)]).astype(np.float32)


def _two_views(**kwargs):
    return Spec(
        make=args(normal(B, D), normal(B, D)),
        extreme=args(normal(B, D, scale=1e4), normal(B, D, scale=1e-4)),
        bad=args(normal(B, D), normal(B, D + 1)),
        diff=(0, 1),
        kwargs=kwargs,
        nonnegative=True,
        zero_at=lambda a: (_SPREAD, _SPREAD.copy()),
        symmetric=(swap, 1.0),
        permuted=rows(0, 1),
    )


SPECS = {
    # Per image; not symmetric entry by entry (the swap gives per-text sums).
    "siglip_loss": Spec(
        make=args(normal(B, D), normal(B, D)),
        extreme=args(normal(B, D, scale=1e4), normal(B, D, scale=1e-4)),
        bad=args(normal(B, D), normal(B, D + 1)),
        diff=(0, 1),
        nonnegative=True,
        permuted=rows(0, 1),
    ),
    "vicreg_loss": _two_views(),
    "barlow_twins_loss": _two_views(),
    "koleo_loss": Spec(
        make=args(normal(B, D)),
        extreme=args(normal(B, D, scale=1e4)),
        bad=args(normal(B)),
        nonnegative="-log of a nearest-neighbour distance up to 2: negative for spread-out rows",
        permuted=rows(0),
        accepts=accepting(
            "one batch of any size >= 2: the regulariser of fewer rows", (0,), ("batch_short",)
        ),
    ),
}
