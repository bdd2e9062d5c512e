"""Goldens for the segmentation options: MONAI 1.6.1 ``unified_focal_loss`` (binary).

MONAI ``AsymmetricFocalLoss``, ``AsymmetricFocalTverskyLoss`` and
``AsymmetricUnifiedFocalLoss`` run on channel-first float64 probability tensors: the
inputs are generated channel-last, transposed for MONAI, and the input gradients (of
the summed output) transposed back. Integer targets go to MONAI as ``[B, 1, *S]``
(``to_onehot_y=True`` with two channels; the one-channel label map otherwise).

    /work/main/.venv-bench/bin/python tests/references/generate.py segmentation_options
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from gen_segmentation_compound import _cf, _cl  # channel-last <-> channels-first
from monai.losses.unified_focal_loss import (
    AsymmetricFocalLoss,
    AsymmetricFocalTverskyLoss,
    AsymmetricUnifiedFocalLoss,
)

torch.set_default_dtype(torch.float64)
warnings.filterwarnings("ignore")


def _inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20261204)
    mask = rng.integers(0, 2, (2, 5, 4))
    mask[1] = 0
    mask[1, 2, 1] = 1  # a rare foreground
    return {
        "p2": rng.uniform(0.02, 0.98, (2, 5, 4, 2)),  # channels need not sum to 1
        "p1": rng.uniform(0.02, 0.98, (2, 5, 4, 1)),
        "p3d": rng.uniform(0.02, 0.98, (2, 3, 4, 5, 1)),
        "mask": mask,
        "mask3d": rng.integers(0, 2, (2, 3, 4, 5)),
        "soft2": rng.dirichlet(np.ones(2), (2, 5, 4)),
        "fmask": mask[..., None].astype(np.float64),
    }


def _run(module, x: np.ndarray, t: np.ndarray):
    """Value and d/dx of ``module`` (the output summed); integer ``t`` gets a size-1 class axis."""
    xt = torch.tensor(_cf(x), requires_grad=True)
    tt = (
        torch.tensor(t[:, None]).long()
        if np.issubdtype(t.dtype, np.integer)
        else torch.tensor(_cf(t))
    )
    out = module(xt, tt)
    out.sum().backward()
    value = out.detach().numpy()
    if value.ndim == x.ndim:  # elementwise "none": channel-last
        value = _cl(value)
    return value, _cl(xt.grad.numpy())


AFL, AFTL, UFL = AsymmetricFocalLoss, AsymmetricFocalTverskyLoss, AsymmetricUnifiedFocalLoss

# name -> (MONAI class, options, predictions key, targets key)
CASES = {
    "afl_default": (AFL, {"to_onehot_y": True}, "p2", "mask"),
    "afl_opts_none": (
        AFL,
        {"delta": 0.6, "gamma": 0.5, "epsilon": 1e-4, "reduction": "none"},
        "p2",
        "soft2",
    ),
    "aftl_default": (AFTL, {"to_onehot_y": True}, "p2", "mask"),
    "aftl_opts_none": (
        AFTL,
        {"delta": 0.4, "gamma": 0.5, "epsilon": 1e-4, "reduction": "none"},
        "p2",
        "soft2",
    ),
    "ufl_default": (UFL, {}, "p1", "fmask"),
    "ufl_labels": (UFL, {}, "p1", "mask"),
    "ufl_onehot": (
        UFL,
        {"to_onehot_y": True, "weight": 0.3, "delta": 0.6, "gamma": 0.25},
        "p2",
        "mask",
    ),
    "ufl_3d_sum": (UFL, {"gamma": 0.8, "reduction": "sum"}, "p3d", "mask3d"),
}


def generate() -> dict[str, np.ndarray]:
    inputs = _inputs()
    out = dict(inputs)
    for name, (cls, options, xk, tk) in CASES.items():
        value, grad = _run(cls(**options), inputs[xk], inputs[tk])
        out[f"{name}/value"], out[f"{name}/grad"] = value, grad
    return out
