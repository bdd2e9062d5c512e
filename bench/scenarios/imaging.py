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
    [[0.0, 1.0, 1.0, 1.0], [1.0, 0.0, 0.5, 0.7], [1.0, 0.5, 0.0, 0.6], [1.0, 0.7, 0.6, 0.0]],
    np.float32,
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
            "gwdl": lambda: losses.GeneralizedWassersteinDiceLoss(
                dist_matrix=DIST, weighting_mode="default"
            ),
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


def _seg_scenario(
    name: str, loss: str, monai: str, what: str, channels_first: bool = False
) -> Scenario:
    layout = "jaxloss channels-first (axis=1)" if channels_first else "jaxloss channels-last"
    return Scenario(
        name=name,
        family="segmentation",
        shape=f"{_vol(VOL_FULL)} f32 logits (MONAI layout; {layout}), integer targets, {what}",
        quick_shape=f"{_vol(VOL_QUICK)} f32",
        impls={"jaxloss": _seg_jaxloss(loss, channels_first), "monai": _seg_monai(monai)},
        target="<= 0.7x monai",
    )


# Issue 16's two sizes: a 3-D volume and a batch of 2-D slices ([B, C, *S], MONAI's layout).
ISSUE_SHAPES = {
    "3d_48": ((2, 4, 48, 48, 48), (2, 4, 16, 16, 16)),
    "2d_128": ((8, 4, 128, 128), (2, 4, 32, 32)),
}


def _issue_volume(
    size: str, quick: bool, channels: int | None = None, labels: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Channels-first [B, C, *S] f32 logits (or images in [0, 1] with ``labels=False``, then a
    correlated target image) and [B, 1, *S] labels; ``channels`` overrides C."""
    full, small = ISSUE_SHAPES[size]
    b, c, *spatial = small if quick else full
    c = c if channels is None else channels
    rng = np.random.default_rng(0)
    if labels:
        x = rng.standard_normal((b, c, *spatial)).astype(np.float32)
        return x, rng.integers(0, c, (b, 1, *spatial)).astype(np.int32)
    x = rng.uniform(0.0, 1.0, (b, c, *spatial)).astype(np.float32)
    t = np.clip(x + rng.normal(0.0, 0.1, x.shape), 0.0, 1.0).astype(np.float32)
    return x, t


def _last(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(a, 1, -1))


# name: (jaxloss call on channels-last arrays, MONAI factory, inputs: "labels" | "images" | "field")
_ISSUE_LOSSES = {
    "dice_ce": (
        "labels",
        lambda j, x, y: j.dice_ce_loss(x, y),
        lambda L: L.DiceCELoss(softmax=True, to_onehot_y=True),
    ),
    "dice_focal": (
        "labels",
        lambda j, x, y: j.dice_focal_loss(x, y),
        lambda L: L.DiceFocalLoss(softmax=True, to_onehot_y=True),
    ),
    "hausdorff_dt": (
        "labels",
        lambda j, x, y: j.hausdorff_dt_loss(x, y, activation="softmax"),
        lambda L: L.HausdorffDTLoss(softmax=True, to_onehot_y=True),
    ),
    "ssim": ("images", lambda j, x, y: j.ssim_loss(x, y), None),
    "lncc": ("images", lambda j, x, y: j.local_normalized_cross_correlation_loss(x, y), None),
    "global_mi": (
        "images",
        lambda j, x, y: j.global_mutual_information_loss(x, y),
        lambda L: L.GlobalMutualInformationLoss(),
    ),
    "bending_energy": (
        "field",
        lambda j, u: j.bending_energy_loss(u),
        lambda L: L.BendingEnergyLoss(),
    ),
}


def _issue_inputs(loss: str, size: str, quick: bool) -> tuple[np.ndarray, ...]:
    """Channels-first inputs of ``loss`` at ``size`` (a displacement field has one component per
    spatial axis)."""
    kind = _ISSUE_LOSSES[loss][0]
    if kind == "field":
        spatial = len(ISSUE_SHAPES[size][0]) - 2
        return (_issue_volume(size, quick, channels=spatial, labels=False)[0],)
    return _issue_volume(size, quick, labels=kind == "labels")


def _issue_jaxloss(loss: str, size: str):
    def make(quick: bool):
        import jaxloss

        kind, call, _ = _ISSUE_LOSSES[loss]
        arrays = _issue_inputs(loss, size, quick)
        if kind == "field":
            return jax_fwd_bwd(lambda u: call(jaxloss, u), _last(arrays[0]))
        x, y = arrays
        y = y[:, 0] if kind == "labels" else _last(y)
        return jax_fwd_bwd(lambda x, y: call(jaxloss, x, y), _last(x), y)

    return make


def _issue_monai_loss(loss: str, spatial: int):
    from monai import losses

    if loss == "ssim":
        return losses.SSIMLoss(spatial_dims=spatial, data_range=1.0)
    if loss == "lncc":
        return losses.LocalNormalizedCrossCorrelationLoss(spatial_dims=spatial)
    return _ISSUE_LOSSES[loss][2](losses)


def _issue_monai(loss: str, size: str):
    def make(quick: bool):
        import torch

        kind = _ISSUE_LOSSES[loss][0]
        arrays = _issue_inputs(loss, size, quick)
        fn = _issue_monai_loss(loss, arrays[0].ndim - 2)
        x = torch.tensor(arrays[0], requires_grad=True)
        if kind == "field":
            return torch_fwd_bwd(fn, x)
        y = torch.tensor(arrays[1])
        y = y.long() if kind == "labels" else y
        return torch_fwd_bwd(lambda x: fn(x, y), x)

    return make


def _issue_scenario(loss: str, size: str) -> Scenario:
    kind = _ISSUE_LOSSES[loss][0]
    full, small = ISSUE_SHAPES[size]
    if kind == "field":
        full = (full[0], len(full) - 2, *full[2:])
        small = (small[0], len(small) - 2, *small[2:])
    what = {
        "labels": "f32 logits, integer targets (jaxloss channels-last)",
        "images": "f32 images in [0, 1] vs a noisy copy (jaxloss channels-last)",
        "field": "f32 displacement field (jaxloss channels-last)",
    }[kind]
    return Scenario(
        name=f"{loss}_{size}",
        family="segmentation" if kind == "labels" else "registration",
        shape=f"{_vol(full)} (MONAI layout) {what}",
        quick_shape=f"{_vol(small)} f32",
        impls={"jaxloss": _issue_jaxloss(loss, size), "monai": _issue_monai(loss, size)},
        target="<= 0.5x monai",
    )


SCENARIOS = [
    _seg_scenario("dice_ce_3d", "dice_ce_loss", "dice_ce", "softmax Dice + CE"),
    _seg_scenario(
        "dice_ce_3d_channels_first", "dice_ce_loss", "dice_ce", "softmax Dice + CE", True
    ),
    _seg_scenario("dice_focal_3d", "dice_focal_loss", "dice_focal", "softmax Dice + sigmoid focal"),
    _seg_scenario(
        "generalized_wasserstein_dice_3d",
        "generalized_wasserstein_dice_loss",
        "gwdl",
        "4-class distance matrix",
    ),
    Scenario(
        name="box_giou_3d",
        family="detection",
        shape=f"{BOX_FULL:_} pairs of xyzxyz boxes f32: mean 1 - GIoU + grad pred",
        quick_shape=f"{BOX_QUICK:_} pairs",
        impls={"jaxloss": giou_jaxloss, "monai": giou_monai},
        target="<= 0.7x monai",
    ),
    *(_issue_scenario(loss, size) for loss in _ISSUE_LOSSES for size in ISSUE_SHAPES),
]
