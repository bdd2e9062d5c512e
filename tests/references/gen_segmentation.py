"""Goldens for the segmentation family.

Dice family: MONAI ``DiceLoss`` / ``GeneralizedDiceLoss`` / ``TverskyLoss`` on
channel-first tensors (inputs are generated channel-last, transposed for MONAI,
and the input gradients transposed back). Focal Tversky: MONAI's per-class
Tversky loss raised to ``gamma`` in torch. Lovász: Berman et al.'s published
algorithm (the segmentation_models_pytorch ``LovaszLoss`` semantics) written in
torch here, since segmentation_models_pytorch would pull another torch.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from monai.losses import DiceLoss, GeneralizedDiceLoss, TverskyLoss

torch.set_default_dtype(torch.float64)
warnings.filterwarnings("ignore", message="single channel prediction")


def _cf(a: np.ndarray) -> np.ndarray:
    """channel-last -> channel-first."""
    return np.moveaxis(a, -1, 1)


def _cl(a: np.ndarray) -> np.ndarray:
    return np.moveaxis(a, 1, -1)


def _monai(module, x: np.ndarray, target: np.ndarray, *, integer: bool, target_grad: bool = False):
    """Value, d/dx (channel-last) and optionally d/dtarget of ``module`` (the value summed)."""
    xt = torch.tensor(_cf(x), requires_grad=True)
    if integer:
        tt = torch.tensor(target[:, None]).long()
    else:
        tt = torch.tensor(_cf(target), requires_grad=target_grad)
    out = module(xt, tt)
    out.sum().backward()
    value = out.detach().numpy()
    grads = [_cl(xt.grad.numpy())]
    if target_grad:
        grads.append(_cl(tt.grad.numpy()))
    return value, grads


# --------------------------------------------------------------------------- Lovász (Berman et al.)


def _lovasz_grad(gt_sorted: torch.Tensor) -> torch.Tensor:
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.cumsum(0)
    union = gts + (1 - gt_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    return torch.cat([jaccard[:1], jaccard[1:] - jaccard[:-1]])


def _lovasz_softmax_flat(probas, labels, classes):
    losses = []
    for c in range(probas.shape[1]):
        fg = (labels == c).to(probas.dtype)
        if classes == "present" and fg.sum() == 0:
            continue
        errors = (fg - probas[:, c]).abs()
        errors_sorted, perm = torch.sort(errors, 0, descending=True)
        losses.append(torch.dot(errors_sorted, _lovasz_grad(fg[perm])))
    return sum(losses) / len(losses)


def lovasz_softmax_ref(probas, labels, classes="present", per_image=False, ignore=None):
    """probas ``[B, C, *S]``, labels ``[B, *S]``."""

    def flat(p, lab):
        p = torch.movedim(p, 1, -1).reshape(-1, p.shape[1])
        lab = lab.reshape(-1)
        if ignore is not None:
            keep = lab != ignore
            p, lab = p[keep], lab[keep]
        return p, lab

    if per_image:
        values = [_lovasz_softmax_flat(*flat(p[None], lab[None]), classes) for p, lab in zip(probas, labels)]
        return sum(values) / len(values)
    return _lovasz_softmax_flat(*flat(probas, labels), classes)


def _lovasz_hinge_flat(logits, labels):
    signs = 2.0 * labels.to(logits.dtype) - 1.0
    errors = 1.0 - logits * signs
    errors_sorted, perm = torch.sort(errors, 0, descending=True)
    return torch.dot(torch.relu(errors_sorted), _lovasz_grad(labels[perm].to(logits.dtype)))


def lovasz_hinge_ref(logits, labels, per_image=False, ignore=None):
    def flat(x, lab):
        x, lab = x.reshape(-1), lab.reshape(-1)
        if ignore is not None:
            keep = lab != ignore
            x, lab = x[keep], lab[keep]
        return x, lab

    if per_image:
        values = [_lovasz_hinge_flat(*flat(x, lab)) for x, lab in zip(logits, labels)]
        return sum(values) / len(values)
    return _lovasz_hinge_flat(*flat(logits, labels))


def _torch_grad(fn, x: np.ndarray):
    xt = torch.tensor(x, requires_grad=True)
    out = fn(xt)
    out.backward()
    return out.detach().numpy(), xt.grad.numpy()


# --------------------------------------------------------------------------- generate


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2024)
    out: dict[str, np.ndarray] = {}
    B, H, W, C = 2, 4, 5, 3
    x = 1.5 * rng.standard_normal((B, H, W, C))
    labels = rng.integers(0, C, (B, H, W))
    labels[1][labels[1] == 2] = 1  # class 2 absent from image 1: GDL's infinite weight
    labels[0, 0, :3] = [0, 1, 2]
    soft = rng.dirichlet(np.ones(C), (B, H, W))
    probs = rng.dirichlet(np.ones(C), (B, H, W))
    ign_labels = labels.copy()
    ign_labels[0, 1, :2] = 255
    ign_labels[1, 3, 1:4] = 255
    onehot = np.eye(C)[labels]
    out.update(x=x, labels=labels.astype(np.int32), soft=soft, probs=probs,
               ign_labels=ign_labels.astype(np.int32), onehot=onehot)

    # name -> (module, input, target, integer, jaxloss kwargs as a text note)
    dice_cases = {
        "dice_default": (DiceLoss(to_onehot_y=True, softmax=True), x, labels, True),
        "dice_sigmoid": (DiceLoss(to_onehot_y=True, sigmoid=True), x, labels, True),
        "dice_nobg": (DiceLoss(to_onehot_y=True, softmax=True, include_background=False), x, labels, True),
        "dice_squared": (DiceLoss(to_onehot_y=True, softmax=True, squared_pred=True), x, labels, True),
        "dice_batch": (DiceLoss(to_onehot_y=True, softmax=True, batch=True), x, labels, True),
        "dice_batch_none": (DiceLoss(to_onehot_y=True, softmax=True, batch=True, reduction="none"), x, labels, True),
        "dice_weight": (DiceLoss(to_onehot_y=True, softmax=True, weight=[0.2, 0.5, 1.3]), x, labels, True),
        "dice_weight_nobg": (DiceLoss(to_onehot_y=True, softmax=True, include_background=False, weight=[0.4, 1.7]), x, labels, True),
        "dice_ignore_255": (DiceLoss(to_onehot_y=True, softmax=True, ignore_index=255), x, ign_labels, True),
        "dice_ignore_class": (DiceLoss(to_onehot_y=True, softmax=True, ignore_index=1), x, labels, True),
        "dice_ignore_onehot": (DiceLoss(softmax=True, ignore_index=1), x, onehot, False),
        "dice_nosmooth": (DiceLoss(to_onehot_y=True, softmax=True, smooth_nr=0.0, smooth_dr=0.0), x, labels, True),
        "dice_smooth": (DiceLoss(to_onehot_y=True, softmax=True, smooth_nr=0.3, smooth_dr=0.7), x, labels, True),
        "dice_none": (DiceLoss(to_onehot_y=True, softmax=True, reduction="none"), x, labels, True),
        "dice_sum": (DiceLoss(to_onehot_y=True, sigmoid=True, reduction="sum"), x, labels, True),
        "dice_probs": (DiceLoss(), probs, labels[..., None] == np.arange(C), False),
        "jaccard_default": (DiceLoss(to_onehot_y=True, softmax=True, jaccard=True), x, labels, True),
        "jaccard_squared": (DiceLoss(to_onehot_y=True, sigmoid=True, jaccard=True, squared_pred=True), x, labels, True),
        "jaccard_none": (DiceLoss(to_onehot_y=True, softmax=True, jaccard=True, reduction="none", batch=True), x, labels, True),
        "gdl_default": (GeneralizedDiceLoss(to_onehot_y=True, softmax=True), x, labels, True),
        "gdl_sigmoid": (GeneralizedDiceLoss(to_onehot_y=True, sigmoid=True), x, labels, True),
        "gdl_nobg": (GeneralizedDiceLoss(to_onehot_y=True, softmax=True, include_background=False), x, labels, True),
        "gdl_batch": (GeneralizedDiceLoss(to_onehot_y=True, softmax=True, batch=True), x, labels, True),
        "gdl_simple": (GeneralizedDiceLoss(to_onehot_y=True, softmax=True, w_type="simple"), x, labels, True),
        "gdl_uniform": (GeneralizedDiceLoss(to_onehot_y=True, softmax=True, w_type="uniform"), x, labels, True),
        "gdl_none": (GeneralizedDiceLoss(to_onehot_y=True, softmax=True, reduction="none"), x, labels, True),
        "tversky_default": (TverskyLoss(to_onehot_y=True, softmax=True), x, labels, True),
        "tversky_37": (TverskyLoss(to_onehot_y=True, softmax=True, alpha=0.3, beta=0.7), x, labels, True),
        "tversky_sigmoid_batch": (TverskyLoss(to_onehot_y=True, sigmoid=True, alpha=0.8, beta=0.2, batch=True), x, labels, True),
        "tversky_ignore": (TverskyLoss(to_onehot_y=True, softmax=True, alpha=0.3, beta=0.7, ignore_index=255), x, ign_labels, True),
        "tversky_nobg_none": (TverskyLoss(to_onehot_y=True, softmax=True, include_background=False, reduction="none"), x, labels, True),
    }
    for name, (module, inp, target, integer) in dice_cases.items():
        value, (grad,) = _monai(module, inp, target.astype(np.float64) if not integer else target, integer=integer)
        out[f"{name}/value"], out[f"{name}/grad"] = value, grad

    # Soft targets: gradients w.r.t. both predictions and targets.
    for name, module in {
        "dice_soft": DiceLoss(softmax=True),
        "dice_soft_squared": DiceLoss(sigmoid=True, squared_pred=True),
        "tversky_soft": TverskyLoss(softmax=True, alpha=0.3, beta=0.7),
    }.items():
        value, (gx, gt) = _monai(module, x, soft, integer=False, target_grad=True)
        out[f"{name}/value"], out[f"{name}/grad"], out[f"{name}/grad_t"] = value, gx, gt
    # (MONAI's GeneralizedDiceLoss edits its weights in place: no target gradient there.)
    value, (grad,) = _monai(GeneralizedDiceLoss(softmax=True), x, soft, integer=False)
    out["gdl_soft/value"], out["gdl_soft/grad"] = value, grad

    # 3-D volumes, one channel with a sigmoid (binary segmentation).
    vol = rng.standard_normal((2, 3, 4, 2, 1))
    mask = (rng.uniform(size=(2, 3, 4, 2)) < 0.4).astype(np.int64)
    out["vol"], out["vol_mask"] = vol, mask.astype(np.int32)
    value, (grad,) = _monai(DiceLoss(sigmoid=True), vol, mask[..., None].astype(np.float64), integer=False)
    out["dice_vol/value"], out["dice_vol/grad"] = value, grad

    # MONAI's own test case (tests/losses/test_dice_loss.py): 0.307576.
    case = np.array([[[[1.0, -1.0], [-1.0, 1.0]]]])[..., None]  # [1, 2, 2, 1]
    case_t = np.array([[[[1.0, 0.0], [1.0, 1.0]]]])[..., None]
    value, (grad,) = _monai(DiceLoss(sigmoid=True, smooth_nr=1e-6, smooth_dr=1e-6), case, case_t, integer=False)
    out["monai_case/value"], out["monai_case/grad"] = value, grad

    # Focal Tversky: MONAI's per-(batch, class) Tversky loss to the power gamma, then mean.
    for gamma in (0.75, 2.0):
        tv = TverskyLoss(to_onehot_y=True, softmax=True, alpha=0.3, beta=0.7, reduction="none")
        xt = torch.tensor(_cf(x), requires_grad=True)
        loss = (tv(xt, torch.tensor(labels[:, None]).long()) ** gamma).mean()
        loss.backward()
        out[f"focal_tversky_{gamma}/value"] = loss.detach().numpy()
        out[f"focal_tversky_{gamma}/grad"] = _cl(xt.grad.numpy())

    # Lovász-Softmax on softmax probabilities, Lovász hinge on logits.
    lab_t = torch.tensor(labels)
    ign_t = torch.tensor(ign_labels)
    for name, kwargs, lab in (
        ("lovasz_softmax", {}, lab_t),
        ("lovasz_softmax_all", {"classes": "all"}, lab_t),
        ("lovasz_softmax_image", {"per_image": True}, lab_t),
        ("lovasz_softmax_image_all", {"per_image": True, "classes": "all"}, lab_t),
        ("lovasz_softmax_ignore", {"ignore": 255}, ign_t),
        ("lovasz_softmax_image_ignore", {"per_image": True, "ignore": 255}, ign_t),
    ):
        value, grad = _torch_grad(
            lambda a, kw=kwargs, lab=lab: lovasz_softmax_ref(torch.softmax(torch.movedim(a, -1, 1), 1), lab, **kw), x
        )
        out[f"{name}/value"], out[f"{name}/grad"] = value, grad

    logits = 2.0 * rng.standard_normal((3, 4, 5))
    binary = (rng.uniform(size=(3, 4, 5)) < 0.5).astype(np.int64)
    binary[2] = 0  # an image without foreground
    bin_ign = binary.copy()
    bin_ign[0, 0, :3] = 255
    bin_ign[1, 2, 2:] = 255
    out.update(logits=logits, binary=binary.astype(np.int32), bin_ign=bin_ign.astype(np.int32))
    for name, kwargs, lab in (
        ("lovasz_hinge", {}, binary),
        ("lovasz_hinge_image", {"per_image": True}, binary),
        ("lovasz_hinge_ignore", {"ignore": 255}, bin_ign),
        ("lovasz_hinge_image_ignore", {"per_image": True, "ignore": 255}, bin_ign),
    ):
        value, grad = _torch_grad(lambda a, kw=kwargs, lab=lab: lovasz_hinge_ref(a, torch.tensor(lab), **kw), logits)
        out[f"{name}/value"], out[f"{name}/grad"] = value, grad
    return out
