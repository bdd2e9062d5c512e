"""Contract specs for the asymmetric unified focal loss and its parts (binary probabilities, channel-last)."""

import numpy as np

from . import Spec, args, integers, uniform

B, H, W = 2, 4, 3


def _hard(channels):
    """0/1 probability maps: the clipping floor is the only guard."""
    return lambda rng: rng.integers(0, 2, (B, H, W, channels)).astype(np.float32)


def _spec(channels, **kwargs):
    return Spec(
        make=args(uniform(B, H, W, channels, low=0.05, high=0.95), integers(B, H, W, high=2)),
        extreme=args(_hard(channels), integers(B, H, W, high=2)),
        bad=args(uniform(B, H, W, channels), integers(B, H, 2, high=2)),
        kwargs=kwargs,
        nonnegative=True,
        numeric=(1,),
        scalable=(),
    )


SPECS = {
    "asymmetric_focal_loss": _spec(2),
    "asymmetric_focal_tversky_loss": _spec(2, gamma=0.5),
    "asymmetric_unified_focal_loss": _spec(1),
}
