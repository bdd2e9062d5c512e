"""Contract specs for the distance-transform and skeleton losses (channel-last ``[B, H, W, C]``)."""

from . import Spec, args, integers, normal
from .laws import onehot_logits, replace

B, H, W, C = 2, 5, 4, 3

_make = args(normal(B, H, W, C, scale=2.0), integers(B, H, W, high=C))
_extreme = args(normal(B, H, W, C, scale=1e4), integers(B, H, W, high=C))
_bad = args(normal(B, H, W, C), integers(B, H, 2, high=C))


def _perfect(a):
    return replace(a, a0=onehot_logits(a[1], a[0].shape[-1]))


def _spec(**fields):
    return Spec(make=_make, extreme=_extreme, bad=_bad, numeric=(1,), **fields)


SPECS = {
    "hausdorff_dt_loss": _spec(
        kwargs={"activation": "softmax", "include_background": True},
        nonnegative=True,
        zero_at=_perfect,
    ),
    "boundary_loss": _spec(
        kwargs={"activation": "softmax"},
        nonnegative="the signed distance is negative inside the target: covering it gives a negative loss",
    ),
    # Perfect predictions give 1 - 2 / (2 + smooth) > 0, not 0: no zero_at.
    "soft_cldice_loss": _spec(kwargs={"activation": "softmax", "iterations": 2}, nonnegative=True),
    "soft_dice_cldice_loss": _spec(
        kwargs={"activation": "softmax", "iterations": 2, "alpha": 0.4}, nonnegative=True
    ),
}
