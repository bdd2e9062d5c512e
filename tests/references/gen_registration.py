"""Goldens for the registration family: MONAI 1.6.1 losses in float64.

Inputs are drawn channel-last (``[batch, *spatial, channels]``), moved to MONAI's
channels-first layout, and the unreduced outputs and input gradients are moved back.
``BendingEnergyLoss`` / ``DiffusionLoss`` (1.6.1 compact stencils),
``LocalNormalizedCrossCorrelationLoss``, ``GlobalMutualInformationLoss``. Values are MONAI's ``reduction="none"`` output
(channel-last) and its ``"mean"``; gradients are of the ``"mean"`` loss.
"""

from __future__ import annotations

import numpy as np
import torch
from monai.losses import (
    BendingEnergyLoss,
    DiffusionLoss,
    GlobalMutualInformationLoss,
    LocalNormalizedCrossCorrelationLoss,
)

torch.set_default_dtype(torch.float64)


def _cf(a: np.ndarray) -> np.ndarray:
    return np.moveaxis(a, -1, 1)


def _cl(a: np.ndarray) -> np.ndarray:
    return a if a.ndim < 3 else np.moveaxis(a, 1, -1)  # per-image outputs [B] stay


def _run(make, *arrays):
    """MONAI on channels-first tensors: (none, mean, grads of the mean), all channel-last."""
    none = make("none")(*(torch.tensor(_cf(a)) for a in arrays))
    tensors = [torch.tensor(_cf(a), requires_grad=True) for a in arrays]
    mean = make("mean")(*tensors)
    mean.backward()
    # No gradient reaches an argument that MONAI only compares (the b-spline box window): 0.
    grads = [np.zeros(t.shape) if t.grad is None else t.grad.numpy() for t in tensors]
    return _cl(none.detach().numpy()), mean.detach().numpy(), [_cl(g) for g in grads]


FIELDS = {"1d": (2, 7, 1), "2d": (2, 6, 5, 2), "3d": (1, 5, 4, 6, 3)}
IMAGES = {"1d": (2, 12, 1), "2d": (2, 9, 8, 2), "3d": (1, 7, 6, 5, 1)}
LNCC = {
    "default_2d": ("2d", {}),
    "default_1d": ("1d", {}),
    "default_3d": ("3d", {}),
    "triangular5_2d": ("2d", {"kernel_type": "triangular", "kernel_size": 5}),
    "triangular7_1d": ("1d", {"kernel_type": "triangular", "kernel_size": 7}),
    "gaussian5_2d": ("2d", {"kernel_type": "gaussian", "kernel_size": 5}),
    "gaussian3_3d": ("3d", {"kernel_type": "gaussian", "kernel_size": 3}),
    "rect1_2d": ("2d", {"kernel_size": 1}),
    "smooth_2d": ("2d", {"smooth_nr": 1e-3, "smooth_dr": 0.5}),
}

MI = {
    "gaussian_2d": ("2d", {}),
    "gaussian_3d": ("3d", {}),
    "gaussian_bins10_sigma1": ("2d", {"num_bins": 10, "sigma_ratio": 1.0}),
    "gaussian_smooth": ("2d", {"smooth_nr": 1e-3, "smooth_dr": 1e-2}),
    "bspline_2d": ("2d", {"kernel_type": "b-spline"}),
    "bspline_bins12_3d": ("3d", {"kernel_type": "b-spline", "num_bins": 12}),
}
MI_IMAGES = {"2d": (2, 8, 7, 1), "3d": (2, 5, 4, 3, 2)}


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out: dict[str, np.ndarray] = {}
    for key, shape in FIELDS.items():
        u = rng.standard_normal(shape)
        out[f"field_{key}"] = u
        for name, cls in (("bending", BendingEnergyLoss), ("diffusion", DiffusionLoss)):
            for normalize in (False, True):
                case = f"{name}_{key}" + ("_normalize" if normalize else "")
                none, mean, (grad,) = _run(
                    lambda r, cls=cls, n=normalize: cls(normalize=n, reduction=r), u
                )
                out.update({f"{case}/none": none, f"{case}/mean": mean, f"{case}/grad": grad})
    for key, shape in IMAGES.items():
        t = rng.uniform(0.0, 1.0, shape)
        p = 0.6 * t + 0.4 * rng.uniform(0.0, 1.0, shape)
        p.reshape(-1)[:3] = 0.5  # a locally constant patch (variance below the floor)
        out.update({f"image_{key}/p": p, f"image_{key}/t": t})
    for case, (key, kwargs) in LNCC.items():
        spatial = len(IMAGES[key]) - 2

        def make(r, spatial=spatial, kwargs=kwargs):
            return LocalNormalizedCrossCorrelationLoss(spatial_dims=spatial, reduction=r, **kwargs)

        none, mean, (gp, gt) = _run(make, out[f"image_{key}/p"], out[f"image_{key}/t"])
        out.update(
            {
                f"lncc_{case}/none": none,
                f"lncc_{case}/mean": mean,
                f"lncc_{case}/gp": gp,
                f"lncc_{case}/gt": gt,
            }
        )
    for key, shape in MI_IMAGES.items():
        t = rng.uniform(0.0, 1.0, shape)
        p = np.clip(0.7 * t**2 + 0.3 * rng.uniform(0.0, 1.0, shape), 0.0, 1.0)
        p.reshape(-1)[:2] = (-0.1, 1.2)  # outside [0, 1]: clamped by the Gaussian window
        out.update({f"mi_image_{key}/p": p, f"mi_image_{key}/t": t})
    for case, (key, kwargs) in MI.items():

        def make_mi(r, kwargs=kwargs):
            return GlobalMutualInformationLoss(reduction=r, **kwargs)

        none, mean, (gp, gt) = _run(make_mi, out[f"mi_image_{key}/p"], out[f"mi_image_{key}/t"])
        out.update(
            {
                f"mi_{case}/none": none,
                f"mi_{case}/mean": mean,
                f"mi_{case}/gp": gp,
                f"mi_{case}/gt": gt,
            }
        )
    return out
