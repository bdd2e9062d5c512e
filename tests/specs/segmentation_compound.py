"""Contract specs for the compound segmentation losses, MONAI's focal loss and MCC (channel-last)."""

import numpy as np

from . import Spec, args, integers, normal, uniform
from .laws import onehot_logits, replace

B, H, W, C = 2, 4, 3, 3

_make = args(normal(B, H, W, C), integers(B, H, W, high=C))
_extreme = args(normal(B, H, W, C, scale=1e4), integers(B, H, W, high=C))
_bad = args(normal(B, H, W, C), integers(B, H, 2, high=C))


def _perfect(a):
    return replace(a, a0=onehot_logits(a[1], a[0].shape[-1]))


def _perfect_probabilities(a):
    return replace(a, a0=np.eye(a[0].shape[-1], dtype=np.float32)[a[1]])


def _hard_probabilities(rng):
    """0/1 maps: MCC's delicate corner (empty or full confusion factors)."""
    return np.eye(C, dtype=np.float32)[rng.integers(0, C, (B, H, W))]


def _spec(**kwargs):
    return Spec(
        make=_make,
        extreme=_extreme,
        bad=_bad,
        kwargs=kwargs,
        nonnegative=True,
        zero_at=_perfect,
        numeric=(1,),
    )


SPECS = {
    "segmentation_focal_loss": _spec(),
    "dice_ce_loss": _spec(),
    "dice_focal_loss": _spec(gamma=0.5, alpha=0.25),
    "generalized_dice_focal_loss": _spec(),
    "mcc_loss": Spec(
        make=args(uniform(B, H, W, C, low=0.05, high=0.95), integers(B, H, W, high=C)),
        extreme=args(_hard_probabilities, integers(B, H, W, high=C)),
        bad=args(uniform(B, H, W, C), integers(B, H, 2, high=C)),
        nonnegative=True,
        zero_at=_perfect_probabilities,
        numeric=(1,),
        scalable=(),
    ),
}
