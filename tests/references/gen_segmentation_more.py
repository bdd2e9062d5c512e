"""Goldens for the Dice-family options (D1), the generalised Wasserstein Dice loss (D6) and optax's
multiclass generalised Dice loss (D23).

- segmentation-models-pytorch 0.6 ``DiceLoss``/``JaccardLoss``/``TverskyLoss``
  (``pip install --no-deps segmentation-models-pytorch``). ``import segmentation_models_pytorch``
  pulls timm and torchvision (whose compiled operators do not load beside the CPU build of torch
  2.13), so its ``losses`` subpackage, which needs torch only, is imported under a stub parent
  package (an empty module whose ``__path__`` is the installed package folder).
- Keras 3 ``keras.losses.dice``/``tversky`` with ``KERAS_BACKEND=torch`` (gradients by torch).
- MONAI 1.6.1 ``GeneralizedWassersteinDiceLoss`` (both ``weighting_mode`` values).
- optax 0.2.8 ``multiclass_generalized_dice_loss`` (gradients by ``jax.grad``, float64).

The torch anchors run on channel-first float64 tensors: the inputs are generated channel-last,
transposed for the anchor, and the input gradients (of the summed output) transposed back.

    /work/main/.venv-bench/bin/python tests/references/generate.py segmentation_more
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types
import warnings

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import jax
import keras
import optax
import torch
from gen_segmentation_compound import _cf, _cl
from monai.losses import GeneralizedWassersteinDiceLoss

jax.config.update("jax_enable_x64", True)
torch.set_default_dtype(torch.float64)
warnings.filterwarnings("ignore")


def _smp_losses() -> types.ModuleType:
    """``segmentation_models_pytorch.losses`` without the package's ``__init__`` (timm, torchvision)."""
    spec = importlib.util.find_spec("segmentation_models_pytorch")
    assert spec is not None and spec.submodule_search_locations is not None
    if "segmentation_models_pytorch" not in sys.modules:
        package = types.ModuleType("segmentation_models_pytorch")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["segmentation_models_pytorch"] = package
    import segmentation_models_pytorch.losses as losses

    return losses


def _inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20261216)
    labels = rng.integers(0, 3, (2, 5, 4))  # four classes, class 3 absent from the batch
    ign = labels.copy()
    ign[0, 0, :3] = 255
    ign[1, 4, 1] = 255
    mask = rng.integers(0, 2, (2, 5, 4))
    mask_ign = mask.copy()
    mask_ign[0, 1, :2] = 255
    glabels = rng.integers(0, 3, (2, 5, 4))
    glabels[1] = 0
    glabels[1, 2, 1:3] = 1  # image 1: background and two pixels of class 1
    x3 = rng.standard_normal((2, 5, 4, 3)) * 2
    return {
        "x": rng.standard_normal((2, 5, 4, 4)) * 2,
        "labels": labels,
        "ign": ign,
        "probs": np.asarray(torch.softmax(torch.tensor(rng.standard_normal((2, 5, 4, 4))), -1)),
        "multilabel": rng.integers(0, 2, (2, 5, 4, 4)).astype(np.float64),
        "soft": rng.uniform(0, 1, (2, 5, 4, 4)),
        "xb": rng.standard_normal((2, 5, 4, 1)) * 2,
        "mask": mask,
        "mask_ign": mask_ign,
        "sig": rng.uniform(0.02, 0.98, (2, 5, 4, 3)),
        "sig_t": rng.integers(0, 2, (2, 5, 4, 3)).astype(np.float64),
        # generalised Wasserstein Dice
        "x3": x3,
        "glabels": glabels,
        "x3d": rng.standard_normal((2, 3, 4, 5, 3)),
        "glabels3d": rng.integers(0, 3, (2, 3, 4, 5)),
        "m_unit": np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5], [1.0, 0.5, 0.0]]),
        "m_scaled": np.array([[0.0, 2.0, 1.5], [2.0, 0.0, 0.5], [1.5, 0.5, 0.0]]),
        # optax
        "onehot3": np.eye(3)[glabels],
        "probs3": np.asarray(torch.softmax(torch.tensor(x3), -1)),
    }


def _run(module, x: np.ndarray, t: np.ndarray):
    """Value and d/dx of ``module`` (the output summed), channel-last; integer ``t`` is ``[B, *S]``."""
    xt = torch.tensor(_cf(x), requires_grad=True)
    tt = torch.tensor(t).long() if np.issubdtype(t.dtype, np.integer) else torch.tensor(_cf(t))
    out = module(xt, tt)
    out.sum().backward()
    return out.detach().numpy(), _cl(xt.grad.numpy())


def _smp_cases() -> dict[str, tuple]:
    L = _smp_losses()
    return {
        "smp_dice": (L.DiceLoss("multiclass"), "x", "labels"),
        "smp_dice_opts": (
            L.DiceLoss(
                "multiclass", classes=[3, 1], log_loss=True, smooth=0.5, ignore_index=255, eps=1e-4
            ),
            "x",
            "ign",
        ),
        "smp_dice_binary": (L.DiceLoss("binary", ignore_index=255, smooth=0.25), "xb", "mask_ign"),
        "smp_dice_soft": (L.DiceLoss("multilabel", log_loss=True), "x", "soft"),
        "smp_dice_weights": (
            L.DiceLoss(
                "multiclass",
                from_logits=False,
                classes=[0, 2, 3],
                class_weights=[1.0, 2.0, 0.5, 3.0],
            ),
            "probs",
            "labels",
        ),
        "smp_jaccard": (L.JaccardLoss("multiclass"), "x", "labels"),
        "smp_jaccard_opts": (
            L.JaccardLoss("multilabel", smooth=1.0, log_loss=True),
            "x",
            "multilabel",
        ),
        "smp_tversky_opts": (
            L.TverskyLoss(
                "multiclass",
                classes=[1, 2, 3],
                log_loss=True,
                smooth=0.1,
                ignore_index=255,
                alpha=0.7,
                beta=0.3,
                eps=1e-3,
            ),
            "x",
            "ign",
        ),
    }


def _keras(fn, x: np.ndarray, t: np.ndarray, **options):
    xt = torch.tensor(x, requires_grad=True)
    out = fn(torch.tensor(t), xt, **options)
    out.sum().backward()
    return out.detach().numpy(), xt.grad.numpy()


def _gwdl(x: np.ndarray, t: np.ndarray, m: np.ndarray, **options):
    """Value, d/dx (channel-last) and d/d(dist_matrix) of MONAI's loss."""
    mt = torch.tensor(m, requires_grad=True)
    xt = torch.tensor(_cf(x), requires_grad=True)
    out = GeneralizedWassersteinDiceLoss(mt, **options)(xt, torch.tensor(t[:, None]).long())
    out.sum().backward()
    return out.detach().numpy(), _cl(xt.grad.numpy()), mt.grad.numpy()


# name -> (predictions key, targets key, dist_matrix key, MONAI options)
GWDL_CASES = {
    "gwdl_default": ("x3", "glabels", "m_unit", {}),
    "gwdl_scaled_none": (
        "x3",
        "glabels",
        "m_scaled",
        {"reduction": "none", "smooth_nr": 0.1, "smooth_dr": 0.2},
    ),
    "gwdl_3d_gdl_sum": (
        "x3d",
        "glabels3d",
        "m_scaled",
        {"weighting_mode": "GDL", "reduction": "sum"},
    ),
}

# name -> (predictions key, targets key, optax options)
OPTAX_CASES = {
    "optax_mgdl": ("x3", "onehot3", {}),
    "optax_mgdl_opts": (
        "probs3",
        "onehot3",
        {"smooth": 0.1, "ignore_background": True, "apply_softmax": False},
    ),
}


def generate() -> dict[str, np.ndarray]:
    inputs = _inputs()
    out = dict(inputs)
    for name, (module, xk, tk) in _smp_cases().items():
        out[f"{name}/value"], out[f"{name}/grad"] = _run(module, inputs[xk], inputs[tk])
    out["keras_dice/value"], out["keras_dice/grad"] = _keras(
        keras.losses.dice, inputs["sig"], inputs["sig_t"]
    )
    out["keras_tversky_axis/value"], out["keras_tversky_axis/grad"] = _keras(
        keras.losses.tversky, inputs["sig"], inputs["sig_t"], alpha=0.3, beta=0.7, axis=(1, 2, 3)
    )
    for name, (xk, tk, mk, options) in GWDL_CASES.items():
        value, grad, mgrad = _gwdl(inputs[xk], inputs[tk], inputs[mk], **options)
        out[f"{name}/value"], out[f"{name}/grad"], out[f"{name}/mgrad"] = value, grad, mgrad
    # MONAI's docstring example: a confident, correct prediction has loss 0
    out["gwdl_example/value"] = _gwdl(
        np.array([[1000.0, 0, 0], [0, 1000, 0], [0, 0, 1000]])[None],
        np.array([[0, 1, 2]]),
        inputs["m_unit"],
    )[0]
    for name, (xk, tk, options) in OPTAX_CASES.items():
        fn = lambda x, t, o=options: optax.losses.multiclass_generalized_dice_loss(x, t, **o)  # noqa: E731
        value, grad = jax.value_and_grad(fn)(inputs[xk], inputs[tk])
        out[f"{name}/value"], out[f"{name}/grad"] = np.asarray(value), np.asarray(grad)
    return {k: np.asarray(v) for k, v in out.items()}
