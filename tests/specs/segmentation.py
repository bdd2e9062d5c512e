"""Contract specs for the segmentation family (channel-last ``[B, H, W, C]``)."""

import numpy as np

from . import Spec, args, integers, normal
from .laws import onehot_logits, replace

B, H, W, C = 2, 4, 3, 3


def _all_classes(rng):
    """Integer targets in which every class occurs in every image (Lovász "present" masks)."""
    labels = np.tile(np.arange(C, dtype=np.int32), B * H * W // C + 1)[: B * H * W]
    return rng.permuted(labels.reshape(B, H * W), axis=1).reshape(B, H, W)


_make = args(normal(B, H, W, C), integers(B, H, W, high=C))
_extreme = args(normal(B, H, W, C, scale=1e4), integers(B, H, W, high=C))
_bad = args(normal(B, H, W, C), integers(B, H, 2, high=C))


def _perfect(a):
    return replace(a, a0=onehot_logits(a[1], a[0].shape[-1]))


def _dice_like(**kwargs):
    return Spec(make=_make, extreme=_extreme, bad=_bad, kwargs=kwargs, nonnegative=True, zero_at=_perfect,
                numeric=(1,))


SPECS = {
    "dice_loss": _dice_like(),
    "jaccard_loss": _dice_like(activation="sigmoid", squared=True),
    "tversky_loss": _dice_like(alpha=0.3, beta=0.7),
    "focal_tversky_loss": _dice_like(alpha=0.3, beta=0.7, gamma=0.75),
    "generalized_dice_loss": _dice_like(),
    "lovasz_softmax_loss": Spec(
        make=args(normal(B, H, W, C), _all_classes),
        extreme=args(normal(B, H, W, C, scale=1e4), _all_classes),
        bad=_bad,
        nonnegative=True, zero_at=_perfect, numeric=(1,),
    ),
    "lovasz_hinge_loss": Spec(
        make=args(normal(B, H, W, scale=2.0), integers(B, H, W, high=2)),
        extreme=args(normal(B, H, W, scale=1e4), integers(B, H, W, high=2)),
        bad=args(normal(B, H, W), integers(B, H, 2, high=2)),
        kwargs={"per_image": True},
        nonnegative=True, zero_at=lambda a: replace(a, a0=(50.0 * (2 * a[1] - 1)).astype(np.float32)), numeric=(1,),
    ),
}
