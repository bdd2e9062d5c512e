"""Goldens for the detection family (box-regression IoU losses).

2-D: ``torchvision.ops`` 0.28.0 (the release paired with torch 2.13)
``generalized_box_iou_loss`` / ``distance_box_iou_loss`` / ``complete_box_iou_loss``,
installed with ``pip install --no-deps torchvision==0.28.0``. That wheel's compiled
operators do not load beside the CPU build of torch 2.13 (``import torchvision`` fails
with "operator torchvision::nms does not exist"), so the three pure-torch loss modules
are imported from the installed package under a stub ``torchvision`` parent package
(only ``torchvision.utils._log_api_usage_once``, a logging hook, is replaced by a no-op).
3-D: MONAI 1.6.1 ``BoxGIoULoss`` on ``[N, 6]`` boxes (MONAI computes in float32).
Values are per pair (``reduction="none"``) and gradients are of their sum, w.r.t. both
arguments.
"""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import sys
import types

import numpy as np
import torch
from monai.losses import BoxGIoULoss

torch.set_default_dtype(torch.float64)


def _torchvision_ops():
    """The three loss modules of the installed torchvision, without torchvision/__init__."""
    spec = importlib.util.find_spec("torchvision")
    assert spec is not None and spec.submodule_search_locations
    root = pathlib.Path(next(iter(spec.submodule_search_locations)))
    saved = {
        k: v for k, v in sys.modules.items() if k == "torchvision" or k.startswith("torchvision.")
    }
    package = types.ModuleType("torchvision")
    package.__path__ = [str(root)]
    utils = types.ModuleType("torchvision.utils")
    utils._log_api_usage_once = lambda obj: None  # type: ignore[attr-defined]
    ops = types.ModuleType("torchvision.ops")
    ops.__path__ = [str(root / "ops")]
    sys.modules.update({"torchvision": package, "torchvision.utils": utils, "torchvision.ops": ops})
    try:
        giou = importlib.import_module("torchvision.ops.giou_loss").generalized_box_iou_loss
        diou = importlib.import_module("torchvision.ops.diou_loss").distance_box_iou_loss
        ciou = importlib.import_module("torchvision.ops.ciou_loss").complete_box_iou_loss
    finally:
        for k in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
            del sys.modules[k]
        sys.modules.update(saved)
    return {"giou": giou, "diou": diou, "ciou": ciou}


def _boxes(rng, shape, dims=2):
    lo = rng.uniform(-2.0, 2.0, (*shape, dims))
    size = rng.uniform(0.2, 3.0, (*shape, dims))
    return np.concatenate([lo, lo + size], axis=-1)


def _edge_pairs():
    """Disjoint, touching, nested, identical, zero-width and partly overlapping pairs."""
    b1 = [
        [0, 0, 1, 1],
        [0, 0, 1, 1],
        [0, 0, 4, 4],
        [1, 2, 3, 5],
        [0, 0, 0, 2],
        [0, 0, 0, 2],
        [0, 0, 2, 2],
        [-1, -1, 1, 1],
        [0, 0, 1, 3],
    ]
    b2 = [
        [3, 4, 5, 6],
        [1, 0, 2, 1],
        [1, 1, 2, 2],
        [1, 2, 3, 5],
        [0, 0, 0, 3],
        [1, 1, 3, 2],
        [2, 2, 4, 4],
        [0, 0, 2, 3],
        [0.5, -1, 2, 1],
    ]
    return np.asarray(b1, np.float64), np.asarray(b2, np.float64)


def _torch_case(fn, b1, b2, **kwargs):
    t1 = torch.tensor(b1, requires_grad=True)
    t2 = torch.tensor(b2, requires_grad=True)
    out = fn(t1, t2, reduction="none", **kwargs)
    out.sum().backward()
    mean = fn(torch.tensor(b1), torch.tensor(b2), reduction="mean", **kwargs)
    return out.detach().numpy(), mean.detach().numpy(), t1.grad.numpy(), t2.grad.numpy()


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out: dict[str, np.ndarray] = {}
    b1, b2 = _boxes(rng, (16,)), _boxes(rng, (16,))
    e1, e2 = _edge_pairs()
    n1, n2 = _boxes(rng, (2, 3)), _boxes(rng, (2, 3))
    out.update(
        {
            "random/b1": b1,
            "random/b2": b2,
            "edge/b1": e1,
            "edge/b2": e2,
            "nested/b1": n1,
            "nested/b2": n2,
        }
    )
    cases = {
        "random": ("random", {}),
        "eps": ("random", {"eps": 1e-2}),
        "edge": ("edge", {}),
        "nested": ("nested", {}),
    }
    for loss, fn in _torchvision_ops().items():
        for case, (data, kwargs) in cases.items():
            if loss == "ciou" and kwargs:
                continue  # torchvision's CIoU applies eps to alpha only (documented difference)
            value, mean, g1, g2 = _torch_case(fn, out[f"{data}/b1"], out[f"{data}/b2"], **kwargs)
            key = f"{loss}_{case}"
            out.update(
                {f"{key}/none": value, f"{key}/mean": mean, f"{key}/grad1": g1, f"{key}/grad2": g2}
            )

    # 3-D: MONAI BoxGIoULoss (input, target) on [N, 6] xyzxyz boxes.
    v1, v2 = _boxes(rng, (12,), dims=3), _boxes(rng, (12,), dims=3)
    v2[0] = v1[0]  # identical pair
    v2[1] = v1[1] + np.array([10.0, 0, 0, 10.0, 0, 0])  # disjoint pair
    t1, t2 = torch.tensor(v1, requires_grad=True), torch.tensor(v2, requires_grad=True)
    value = BoxGIoULoss(reduction="none")(t1, t2)
    value.sum().backward()
    mean = BoxGIoULoss()(torch.tensor(v1), torch.tensor(v2))
    out.update(
        {
            "monai3d/b1": v1,
            "monai3d/b2": v2,
            "monai3d/none": value.detach().numpy(),
            "monai3d/mean": mean.detach().numpy(),
            "monai3d/grad1": t1.grad.numpy(),
            "monai3d/grad2": t2.grad.numpy(),
        }
    )
    return out
