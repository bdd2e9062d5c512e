"""Contract specs for the generalised Wasserstein Dice loss and optax's multiclass generalised Dice loss."""

import numpy as np

from . import Spec, args, integers, normal
from .laws import onehot_logits, replace

B, H, W, C = 2, 4, 3, 3

_DIST = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5], [1.0, 0.5, 0.0]], dtype=np.float32)


def _dist(rng):
    return _DIST.copy()


def _perfect(a):
    return replace(a, a0=onehot_logits(a[1], a[0].shape[-1]))


SPECS = {
    "generalized_wasserstein_dice_loss": Spec(
        make=args(normal(B, H, W, C), integers(B, H, W, high=C), _dist),
        extreme=args(normal(B, H, W, C, scale=1e4), integers(B, H, W, high=C), _dist),
        bad=args(normal(B, H, W, C), integers(B, H, 2, high=C), _dist),
        nonnegative=True,
        zero_at=_perfect,
        numeric=(1,),
        scalable=(0,),
        # a bad value (API section 1): ValueError when concrete, NaN under jit (MONAI: NaN)
        not_finite={(2, "zeros"): "an all-zero dist_matrix has no maximum to normalise by"},
    ),
    "multiclass_generalized_dice_loss": Spec(
        make=args(normal(B, H, W, C), integers(B, H, W, high=C)),
        extreme=args(normal(B, H, W, C, scale=1e4), integers(B, H, W, high=C)),
        bad=args(normal(B, H, W, C), integers(B, H, 2, high=C)),
        nonnegative=True,
        zero_at=_perfect,
        numeric=(1,),
    ),
}
