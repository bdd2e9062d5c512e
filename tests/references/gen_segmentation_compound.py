"""Goldens for the compound segmentation losses, MONAI's focal loss and MCC (MONAI 1.6.1).

MONAI ``DiceCELoss``, ``DiceFocalLoss``, ``FocalLoss`` and ``MCCLoss`` run on
channel-first float64 tensors: the inputs are generated channel-last, transposed
for MONAI, and the input gradients (of the summed output) transposed back.
Integer targets go to MONAI as ``[B, 1, *S]`` with ``to_onehot_y=True``. Some
cases are MONAI's own test cases (``tests/losses/test_dice_ce_loss.py``,
``test_mcc_loss.py``), stored as given (channel-first) under ``monai_*`` keys.

    /work/main/.venv-bench/bin/python tests/references/generate.py segmentation_compound
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from monai.losses import (
    DiceCELoss,
    DiceFocalLoss,
    DiceLoss,
    FocalLoss,
    GeneralizedDiceFocalLoss,
    GeneralizedDiceLoss,
    MCCLoss,
    TverskyLoss,
)

torch.set_default_dtype(torch.float64)
warnings.filterwarnings("ignore")


def _cf(a: np.ndarray) -> np.ndarray:
    return np.moveaxis(a, -1, 1)


def _cl(a: np.ndarray) -> np.ndarray:
    return np.moveaxis(a, 1, -1)


def _inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20261203)
    labels = rng.integers(0, 3, (2, 5, 4))
    labels[1][labels[1] == 2] = 0  # class 2 absent from image 1
    ign = labels.copy()
    ign[0, 0, :3] = 255
    ign[1, 4, 1] = 255
    labels3 = rng.integers(0, 3, (2, 3, 4, 5))
    return {
        "x": rng.standard_normal((2, 5, 4, 3)) * 2,
        "labels": labels,
        "onehot": np.eye(3)[labels],
        "soft": rng.dirichlet(np.ones(3), (2, 5, 4)),
        "ign": ign,
        "probs": rng.uniform(0.02, 0.98, (2, 5, 4, 3)),
        "x3": rng.standard_normal((2, 3, 4, 5, 3)),
        "labels3": labels3,
        "xb": rng.standard_normal((2, 5, 4, 1)) * 2,
        "mask": rng.integers(0, 2, (2, 5, 4)),
    }


def _run(module, x: np.ndarray, t: np.ndarray, *, channels_first: bool = False):
    """Value and d/dx of ``module`` (the output summed); integer ``t`` gets a size-1 class axis."""
    xt = torch.tensor(x if channels_first else _cf(x), requires_grad=True)
    if np.issubdtype(t.dtype, np.integer):
        tt = torch.tensor(t if channels_first else t[:, None]).long()
    else:
        tt = torch.tensor(t if channels_first else _cf(t))
    out = module(xt, tt)
    out.sum().backward()
    value = out.detach().numpy()
    grad = xt.grad.numpy()
    if not channels_first:
        grad = _cl(grad)
        if value.ndim == x.ndim:  # elementwise "none": channel-last
            value = _cl(value)
    return value, grad


def _binary_target(inputs: dict[str, np.ndarray]) -> np.ndarray:
    """The single-channel mask as a float one-channel map (MONAI's binary target)."""
    return inputs["mask"][..., None].astype(np.float64)


# name -> (MONAI class, options, predictions key, targets key)
CASES = {
    # FocalLoss (sigmoid unless use_softmax)
    "focal_default": (FocalLoss, {"to_onehot_y": True}, "x", "labels"),
    "focal_gamma05": (FocalLoss, {"to_onehot_y": True, "gamma": 0.5}, "x", "labels"),
    "focal_alpha_vec": (FocalLoss, {"to_onehot_y": True, "alpha": [0.2, 0.5, 0.9]}, "x", "labels"),
    "focal_weight": (FocalLoss, {"to_onehot_y": True, "weight": [0.3, 1.0, 2.0]}, "x", "labels"),
    "focal_nobg": (
        FocalLoss,
        {"to_onehot_y": True, "include_background": False, "alpha": 0.25},
        "x",
        "labels",
    ),
    "focal_soft": (FocalLoss, {"gamma": 1.5}, "x", "soft"),
    "focal_onehot_sum": (FocalLoss, {"reduction": "sum"}, "x", "onehot"),
    "focal_ignore_none": (
        FocalLoss,
        {"to_onehot_y": True, "ignore_index": 255, "reduction": "none"},
        "x",
        "ign",
    ),
    "focal_softmax_g05": (
        FocalLoss,
        {"to_onehot_y": True, "use_softmax": True, "gamma": 0.5},
        "x",
        "labels",
    ),
    "focal_softmax_alpha_vec": (
        FocalLoss,
        {
            "to_onehot_y": True,
            "use_softmax": True,
            "alpha": [0.2, 0.5, 0.9],
            "weight": [1.0, 2.0, 0.5],
        },
        "x",
        "labels",
    ),
    "focal_softmax_nobg": (
        FocalLoss,
        {
            "to_onehot_y": True,
            "use_softmax": True,
            "include_background": False,
            "alpha": [0.3, 0.7],
        },
        "x",
        "labels",
    ),
    "focal_softmax_soft": (FocalLoss, {"use_softmax": True, "gamma": 2.0}, "x", "soft"),
    "focal_3d": (FocalLoss, {"to_onehot_y": True, "gamma": 2.0, "alpha": 0.75}, "x3", "labels3"),
    "focal_binary": (FocalLoss, {"alpha": 0.25}, "xb", "binary"),
    # DiceCELoss
    "dice_ce_default": (DiceCELoss, {"to_onehot_y": True, "softmax": True}, "x", "labels"),
    "dice_ce_weight_onehot": (
        DiceCELoss,
        {"softmax": True, "weight": [0.3, 1.0, 2.0]},
        "x",
        "onehot",
    ),
    "dice_ce_smooth": (
        DiceCELoss,
        {"to_onehot_y": True, "softmax": True, "label_smoothing": 0.1, "weight": [0.3, 1.0, 2.0]},
        "x",
        "labels",
    ),
    "dice_ce_nobg": (
        DiceCELoss,
        {
            "to_onehot_y": True,
            "softmax": True,
            "include_background": False,
            "weight": [0.5, 1.0, 2.0],
            "lambda_dice": 0.7,
            "lambda_ce": 1.5,
        },
        "x",
        "labels",
    ),
    "dice_ce_jaccard_squared": (
        DiceCELoss,
        {"to_onehot_y": True, "softmax": True, "jaccard": True, "squared_pred": True},
        "x",
        "labels",
    ),
    "dice_ce_batch_sum": (
        DiceCELoss,
        {"to_onehot_y": True, "softmax": True, "batch": True, "reduction": "sum"},
        "x",
        "labels",
    ),
    "dice_ce_binary": (DiceCELoss, {"sigmoid": True, "weight": [0.5]}, "xb", "binary"),
    "dice_ce_3d": (DiceCELoss, {"to_onehot_y": True, "softmax": True}, "x3", "labels3"),
    # DiceFocalLoss
    "dice_focal_options": (
        DiceFocalLoss,
        {
            "to_onehot_y": True,
            "softmax": True,
            "gamma": 0.5,
            "alpha": 0.25,
            "weight": [0.3, 1.0, 2.0],
            "lambda_dice": 0.4,
            "lambda_focal": 2.0,
        },
        "x",
        "labels",
    ),
    "dice_focal_nobg": (
        DiceFocalLoss,
        {"to_onehot_y": True, "softmax": True, "include_background": False, "weight": [1.0, 3.0]},
        "x",
        "labels",
    ),
    "dice_focal_sigmoid_batch": (
        DiceFocalLoss,
        {"to_onehot_y": True, "sigmoid": True, "batch": True, "jaccard": True},
        "x",
        "labels",
    ),
    "dice_focal_sum": (DiceFocalLoss, {"softmax": True, "reduction": "sum"}, "x", "onehot"),
    # MCCLoss
    "mcc_default": (MCCLoss, {"to_onehot_y": True}, "probs", "labels"),
    "mcc_softmax_nobg": (
        MCCLoss,
        {"to_onehot_y": True, "softmax": True, "include_background": False},
        "x",
        "labels",
    ),
    "mcc_batch": (MCCLoss, {"to_onehot_y": True, "softmax": True, "batch": True}, "x", "labels"),
    "mcc_smooth_none": (
        MCCLoss,
        {
            "to_onehot_y": True,
            "sigmoid": True,
            "smooth_nr": 0.3,
            "smooth_dr": 0.1,
            "reduction": "none",
        },
        "x",
        "labels",
    ),
    "mcc_soft_sum": (MCCLoss, {"reduction": "sum"}, "probs", "soft"),
    "mcc_binary": (MCCLoss, {"sigmoid": True}, "xb", "binary"),
}

SOFT_LABEL = {  # D1 soft_label on the Dice family, soft targets (gradients w.r.t. predictions)
    "soft_dice": (DiceLoss, {"softmax": True, "soft_label": True}, "x", "soft"),
    "soft_dice_sigmoid_batch": (
        DiceLoss,
        {"sigmoid": True, "soft_label": True, "batch": True},
        "x",
        "soft",
    ),
    "soft_jaccard": (DiceLoss, {"softmax": True, "soft_label": True, "jaccard": True}, "x", "soft"),
    "soft_tversky": (
        TverskyLoss,
        {"softmax": True, "soft_label": True, "alpha": 0.3, "beta": 0.7},
        "x",
        "soft",
    ),
    "soft_gdl": (GeneralizedDiceLoss, {"softmax": True, "soft_label": True}, "x", "soft"),
}
GDL_FOCAL = {  # D4
    "gdl_focal_default": (
        GeneralizedDiceFocalLoss,
        {"to_onehot_y": True, "softmax": True},
        "x",
        "labels",
    ),
    "gdl_focal_options": (
        GeneralizedDiceFocalLoss,
        {
            "to_onehot_y": True,
            "softmax": True,
            "w_type": "simple",
            "gamma": 0.5,
            "weight": [0.5, 2.0],
            "include_background": False,
            "lambda_gdl": 0.3,
            "lambda_focal": 1.7,
        },
        "x",
        "labels",
    ),
    "gdl_focal_sigmoid_batch": (
        GeneralizedDiceFocalLoss,
        {"to_onehot_y": True, "sigmoid": True, "batch": True},
        "x3",
        "labels3",
    ),
}
CASES.update(GDL_FOCAL)
CASES.update(SOFT_LABEL)

# MONAI's own test cases, channel-first: name -> (MONAI class, options, input, target)
_DCE_X = [[[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]], [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]]
_DCE_X100 = [[[100.0, 100.0, 0.0], [0.0, 0.0, 1.0]], [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]]
_DCE_T = [[[0.0, 0.0, 1.0]], [[0.0, 1.0, 0.0]]]
_MCC_X = [[[-1.0, 0.0, 1.0], [1.0, 0.0, -1.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]
_MCC_T = [[[1.0, 0.0, 0.0]], [[1.0, 1.0, 0.0]]]
MONAI_CASES = {
    "monai_dice_ce_0": (DiceCELoss, {"to_onehot_y": True}, _DCE_X, _DCE_T),
    "monai_dice_ce_1": (DiceCELoss, {}, _DCE_X, _DCE_X),
    "monai_dice_ce_4": (
        DiceCELoss,
        {"include_background": False, "to_onehot_y": True, "weight": [1.0, 1.0], "lambda_ce": 2.0},
        _DCE_X100,
        _DCE_T,
    ),
    "monai_dice_ce_6": (
        DiceCELoss,
        {"weight": [0.5], "sigmoid": True},
        [[[0.8, 0.6, 0.0]], [[0.0, 0.0, 0.9]]],
        _DCE_T,
    ),
    "monai_mcc_0": (
        MCCLoss,
        {"sigmoid": True},
        [[[[1.0, -1.0], [-1.0, 1.0]]]],
        [[[[1.0, 0.0], [1.0, 1.0]]]],
    ),
    "monai_mcc_5": (MCCLoss, {"to_onehot_y": True, "sigmoid": True}, _MCC_X, _MCC_T),
    "monai_mcc_9": (
        MCCLoss,
        {"to_onehot_y": True, "softmax": True, "reduction": "none"},
        _MCC_X,
        _MCC_T,
    ),
}


def _tensor_options(options: dict) -> dict:
    return {
        k: torch.tensor(v) if k == "weight" and isinstance(v, list) and v else v
        for k, v in options.items()
    }


def generate() -> dict[str, np.ndarray]:
    inputs = _inputs()
    inputs["binary"] = _binary_target(inputs)
    out = dict(inputs)
    for name, (cls, options, xk, tk) in CASES.items():
        value, grad = _run(cls(**_tensor_options(options)), inputs[xk], inputs[tk])
        out[f"{name}/value"], out[f"{name}/grad"] = value, grad
    for name, (cls, options, x, t) in MONAI_CASES.items():
        xa, ta = np.asarray(x, np.float64), np.asarray(t, np.float64)
        if options.get("to_onehot_y"):
            ta = ta.astype(np.int64)
        value, grad = _run(cls(**_tensor_options(options)), xa, ta, channels_first=True)
        out[f"{name}/x"], out[f"{name}/t"] = xa, ta
        out[f"{name}/value"], out[f"{name}/grad"] = value, grad
    return out
