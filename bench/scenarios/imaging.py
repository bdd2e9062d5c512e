"""Imaging benchmarks against MONAI (issue 16): compound 3-D segmentation losses and 3-D box GIoU.

Forward + backward w.r.t. the logits (the predicted boxes), float32, the same
values on both sides:

- ``dice_ce_3d``: ``dice_ce_loss`` vs MONAI ``DiceCELoss(softmax=True,
  to_onehot_y=True)`` (softmax Dice + cross-entropy, integer targets);
- ``dice_focal_3d``: ``dice_focal_loss`` vs ``DiceFocalLoss(softmax=True,
  to_onehot_y=True)`` (softmax Dice + MONAI's sigmoid focal term on one-hot
  targets, gamma 2);
- ``generalized_wasserstein_dice_3d``: ``generalized_wasserstein_dice_loss``
  vs ``GeneralizedWassersteinDiceLoss(dist_matrix, weighting_mode="default")``
  with a fixed 4-class distance matrix.

MONAI is channels-first (``[B, C, D, H, W]`` logits, ``[B, 1, D, H, W]``
labels); jaxloss gets the same values channels-last (``[B, D, H, W, C]``,
``[B, D, H, W]``, its default ``axis=-1``), as in ``segmentation.dice_3d``.
``dice_ce_3d_channels_first`` gives jaxloss MONAI's own arrays with
``axis=1`` (it moves the class axis last inside the jitted function).

``box_giou_3d``: ``generalized_box_iou_loss`` on ``[N, 6]`` xyzxyz boxes vs
MONAI ``BoxGIoULoss`` (mean of 1 - GIoU; MONAI computes in float32 and
validates the boxes on every call). The distance / complete IoU losses have
no MONAI counterpart and torchvision (their anchor) does not import in the
benchmark environment, so they are not benchmarked here.
"""

from __future__ import annotations

import numpy as np

from bench.harness import Scenario, jax_fwd_bwd, torch_fwd_bwd

VOL_FULL, VOL_QUICK = (2, 4, 64, 64, 64), (2, 4, 32, 32, 32)  # [B, C, D, H, W] (MONAI's layout)
BOX_FULL, BOX_QUICK = 1_000_000, 100_000
# Class distances for the generalised Wasserstein Dice loss (background row first, max 1).
DIST = np.array(
    [[0.0, 1.0, 1.0, 1.0], [1.0, 0.0, 0.5, 0.7], [1.0, 0.5, 0.0, 0.6], [1.0, 0.7, 0.6, 0.0]], np.float32
)


def _volume(quick: bool):
    """Channels-first logits [B, C, D, H, W] and labels [B, 1, D, H, W]."""
    shape = VOL_QUICK if quick else VOL_FULL
    rng = np.random.default_rng(0)
    logits = rng.standard_normal(shape).astype(np.float32)
    labels = rng.integers(0, shape[1], (shape[0], 1, *shape[2:])).astype(np.int32)
    return logits, labels


def _channels_last(quick: bool):
    logits, labels = _volume(quick)
    return np.ascontiguousarray(np.moveaxis(logits, 1, -1)), labels[:, 0]


def _seg_jaxloss(name: str, channels_first: bool = False):
    def make(quick: bool):
        import jaxloss

        fn = getattr(jaxloss, name)
        if name == "generalized_wasserstein_dice_loss":
            return jax_fwd_bwd(lambda x, y, m: fn(x, y, m), *_channels_last(quick), DIST)
        if channels_first:
            return jax_fwd_bwd(lambda x, y: fn(x, y, axis=1), *_volume(quick))
        return jax_fwd_bwd(lambda x, y: fn(x, y), *_channels_last(quick))

    return make


def _seg_monai(name: str):
    def make(quick: bool):
        import torch
        from monai import losses

        loss = {
            "dice_ce": lambda: losses.DiceCELoss(softmax=True, to_onehot_y=True),
            "dice_focal": lambda: losses.DiceFocalLoss(softmax=True, to_onehot_y=True),
            "gwdl": lambda: losses.GeneralizedWassersteinDiceLoss(dist_matrix=DIST, weighting_mode="default"),
        }[name]()
        logits, labels = _volume(quick)
        y = torch.tensor(labels).long()
        return torch_fwd_bwd(lambda x: loss(x, y), torch.tensor(logits, requires_grad=True))

    return make


def _boxes(quick: bool):
    n = BOX_QUICK if quick else BOX_FULL
    rng = np.random.default_rng(0)
    lo = rng.uniform(0.0, 100.0, (n, 3))
    size = rng.uniform(1.0, 20.0, (n, 3))
    lo2 = lo + rng.normal(0.0, 4.0, (n, 3))
    size2 = size * rng.uniform(0.5, 1.5, (n, 3))
    pred = np.concatenate([lo2, lo2 + size2], 1).astype(np.float32)
    target = np.concatenate([lo, lo + size], 1).astype(np.float32)
    return pred, target


def giou_jaxloss(quick: bool):
    import jaxloss

    return jax_fwd_bwd(lambda p, t: jaxloss.generalized_box_iou_loss(p, t), *_boxes(quick))


def giou_monai(quick: bool):
    import torch
    from monai.losses import BoxGIoULoss

    pred, target = _boxes(quick)
    loss, t = BoxGIoULoss(), torch.tensor(target)
    return torch_fwd_bwd(lambda p: loss(p, t), torch.tensor(pred, requires_grad=True))


def _vol(shape) -> str:
    b, c, *s = shape
    return f"[{b}, {c}, {', '.join(map(str, s))}]"


def _seg_scenario(name: str, loss: str, monai: str, what: str, channels_first: bool = False) -> Scenario:
    layout = "jaxloss channels-first (axis=1)" if channels_first else "jaxloss channels-last"
    return Scenario(
        name=name,
        family="segmentation",
        shape=f"{_vol(VOL_FULL)} f32 logits (MONAI layout; {layout}), integer targets, {what}",
        quick_shape=f"{_vol(VOL_QUICK)} f32",
        impls={"jaxloss": _seg_jaxloss(loss, channels_first), "monai": _seg_monai(monai)},
        target="<= 0.7x monai",
    )


SCENARIOS = [
    _seg_scenario("dice_ce_3d", "dice_ce_loss", "dice_ce", "softmax Dice + CE"),
    _seg_scenario("dice_ce_3d_channels_first", "dice_ce_loss", "dice_ce", "softmax Dice + CE", True),
    _seg_scenario("dice_focal_3d", "dice_focal_loss", "dice_focal", "softmax Dice + sigmoid focal"),
    _seg_scenario("generalized_wasserstein_dice_3d", "generalized_wasserstein_dice_loss", "gwdl",
                  "4-class distance matrix"),
    Scenario(
        name="box_giou_3d",
        family="detection",
        shape=f"{BOX_FULL:_} pairs of xyzxyz boxes f32: mean 1 - GIoU + grad pred",
        quick_shape=f"{BOX_QUICK:_} pairs",
        impls={"jaxloss": giou_jaxloss, "monai": giou_monai},
        target="<= 0.7x monai",
    ),
]
