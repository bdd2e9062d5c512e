"""Goldens for the imaging losses: scipy EDT, MONAI 1.6.1 distance, clDice and SSIM losses.

Inputs are drawn channel-last (``[batch, *spatial, classes]``), moved to MONAI's
channels-first layout, and the outputs and input gradients are moved back.

- ``scipy.ndimage.distance_transform_edt`` (scipy 1.17): random masks in 1-D/2-D/3-D,
  with and without ``sampling``, all-zero and all-one masks.
- ``HausdorffDTLoss`` / ``LogHausdorffDTLoss``, ``BoundaryLoss``, ``SoftclDiceLoss``,
  ``SoftDiceclDiceLoss`` in float64 on one-hot targets (MONAI ``to_onehot_y=False``); the
  label maps hold empty and full classes. The clDice inputs are continuous random draws,
  so the pooled windows are tie-free (torch and JAX route tied gradients differently).
- ``SSIMLoss`` and ``monai.metrics.regression.compute_ms_ssim`` (the function behind
  ``MultiScaleSSIMMetric``). MONAI casts the images to float32 inside
  (``convert_data_type(..., dtype=torch.float)``); float32 variances by cancellation leave
  ~1e-5 noise in MS-SSIM, so the generator runs MONAI's own code in float64 by making that
  cast keep float64 (``_float64_ssim``). The images are float32 draws (exact in float64);
  the SSIM gradients are stored in float32 (size). The 176x176 default MS-SSIM case stores
  its inputs' seed (the test redraws them with
  ``numpy.random.default_rng(MS_BIG_SEED).uniform``) and only every 8th gradient entry.

Values are MONAI's ``reduction="none"`` output (channel-last, squeezed) and ``"mean"``;
gradients are of the ``"mean"`` loss.
"""

from __future__ import annotations

import numpy as np

# The case tables below are shared with the tests (which import this module without the
# anchors): torch, scipy and MONAI are imported inside generate().

MS_BIG_SEED = 7
MS_BIG_SHAPE = (1, 176, 176, 1)


def _cf(a: np.ndarray) -> np.ndarray:
    return np.moveaxis(a, -1, 1)


def _cl(a: np.ndarray) -> np.ndarray:
    return np.moveaxis(a, 1, -1)


def _one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    return np.eye(classes)[labels] if classes > 1 else labels[..., None].astype(np.float64)


def _labels(rng: np.random.Generator, shape: tuple[int, ...], classes: int) -> np.ndarray:
    """Item 0 misses the last class, item 1 is all class 1 (a full map, the others empty)."""
    labels = rng.integers(0, classes, shape)
    labels[0] = rng.integers(0, max(classes - 1, 2), shape[1:])
    labels[1] = 1
    return labels


def _run(loss, x: np.ndarray, t: np.ndarray, none=None):
    """(none, mean, grad) channel-last; ``none`` is the per-(b, c) or per-item output squeezed."""
    xt = torch.tensor(_cf(x), requires_grad=True)
    mean = loss("mean")(xt, torch.tensor(_cf(t)))
    mean.backward()
    out = loss("none")(torch.tensor(_cf(x)), torch.tensor(_cf(t))).detach().numpy()
    out = out.reshape(out.shape[: 2 if out.ndim > 2 else out.ndim]) if none is None else none(out)
    return out, mean.detach().numpy(), _cl(xt.grad.numpy())  # type: ignore[union-attr]


ACT = {None: {}, "softmax": {"softmax": True}, "sigmoid": {"sigmoid": True}}
# case -> (data key, options in jaxloss names); MONAI names are mapped in generate()
HAUSDORFF = {
    "default_2d": ("2d", {}),
    "alpha_bg_2d": ("2d", {"alpha": 1.5, "include_background": True}),
    "batch_2d": ("2d", {"batch": True}),
    "sigmoid_2d": ("2d", {"activation": "sigmoid", "include_background": True}),
    "log_batch_sigmoid_2d": ("2d", {"log": True, "batch": True, "activation": "sigmoid"}),
    "default_3d": ("3d", {}),
    "binary_3d": ("3d1", {"activation": "sigmoid", "include_background": True}),
}
BOUNDARY = {
    "default_2d": ("2d", {}),
    "softmax_nobg_2d": ("2d", {"activation": "softmax", "include_background": False}),
    "batch_sigmoid_2d": ("2d", {"activation": "sigmoid", "batch": True}),
    "default_3d": ("3d", {}),
    "binary_3d": ("3d1", {"activation": "sigmoid"}),
}
CLDICE = {
    "default_2d": ("2d", {}),
    "softmax_nobg_2d": ("2d", {"activation": "softmax", "include_background": False}),
    "iter0_2d": ("2d", {"iterations": 0}),
    "iter5_smooth_2d": (
        "2d",
        {"iterations": 5, "smooth_numerator": 0.5, "smooth_denominator": 2.0, "smooth": 1e-2},
    ),
    "default_3d": ("3d", {}),
}
DICE_CLDICE = {
    "default_2d": ("2d", {}),
    "alpha_softmax_2d": ("2d", {"alpha": 0.3, "activation": "softmax"}),
    "sigmoid_nobg_3d": (
        "3d",
        {"activation": "sigmoid", "include_background": False, "iterations": 2},
    ),
}
SSIM = {
    "default_2d": ("2d", {}),
    "uniform7_2d": ("2d", {"kernel": "uniform", "win_size": 7}),
    "options_2d": (
        "2d",
        {"win_size": 9, "kernel_sigma": 2.0, "data_range": 2.0, "k1": 0.02, "k2": 0.05},
    ),
    "gaussian7_3d": ("3d", {"win_size": 7}),
    "identical_2d": ("same", {}),
}
MS_SSIM = {
    "w3_2d": ("2d", {"win_size": 3, "scale_weights": (0.2, 0.3, 0.5)}),
    "uniform_w2_2d": ("2d", {"kernel": "uniform", "win_size": 5, "scale_weights": (0.4, 0.6)}),
    "w3_3d": ("3d", {"win_size": 3, "scale_weights": (0.3, 0.3, 0.4)}),
}


def _monai(options: dict, keep: tuple[str, ...]) -> dict:
    """jaxloss option names -> MONAI's."""
    names = {
        "iterations": "iter_",
        "smooth_numerator": "smooth_nr",
        "smooth_denominator": "smooth_dr",
        "kernel": "kernel_type",
        "scale_weights": "weights",
    }
    out = dict(ACT[options.get("activation")])
    for k, v in options.items():
        if k != "activation" and k in keep:
            out[names.get(k, k)] = v
    return out


def _edt(out: dict, rng: np.random.Generator) -> None:
    cases = {"2d": ((7, 9), None), "3d": ((5, 6, 4), (1.5, 0.7, 2.0)), "1d": ((11,), 2.0)}
    for key, (shape, sampling) in cases.items():
        mask = rng.uniform(size=shape) > 0.3
        out[f"edt_{key}/mask"] = mask
        out[f"edt_{key}/dist"] = ndimage.distance_transform_edt(mask, sampling=sampling)
    out["edt_ones/dist"] = ndimage.distance_transform_edt(
        np.ones((3, 4, 2)), sampling=(1.0, 2.0, 0.5)
    )
    out["edt_zeros/dist"] = ndimage.distance_transform_edt(np.zeros((4, 3)))


def _segmentation_data(out: dict, rng: np.random.Generator) -> None:
    shapes = {"2d": ((3, 8, 7), 3), "3d": ((3, 5, 6, 4), 2), "3d1": ((3, 5, 6, 4), 1)}
    for key, (shape, classes) in shapes.items():
        labels = _labels(rng, shape, classes)
        if classes == 1:
            labels[1] = 0  # an empty binary map
        out[f"seg_{key}/labels"] = labels.astype(np.int32)
        out[f"seg_{key}/onehot"] = _one_hot(labels, classes)
        logits = 2.0 * rng.standard_normal((*shape, classes))
        out[f"seg_{key}/logits"] = logits
        e = np.exp(logits - logits.max(-1, keepdims=True))
        out[f"seg_{key}/probs"] = (
            e / e.sum(-1, keepdims=True) if classes > 1 else 1 / (1 + np.exp(-logits))
        )


def _inputs(out: dict, key: str, options: dict) -> np.ndarray:
    return out[f"seg_{key}/logits" if options.get("activation") else f"seg_{key}/probs"]


def generate() -> dict[str, np.ndarray]:
    global BoundaryLoss, HausdorffDTLoss, LogHausdorffDTLoss, SoftclDiceLoss, SoftDiceclDiceLoss
    global SSIMLoss, compute_ms_ssim, ndimage, torch
    import scipy.ndimage as ndimage
    import torch
    from monai.losses import (
        BoundaryLoss,
        HausdorffDTLoss,
        LogHausdorffDTLoss,
        SoftclDiceLoss,
        SoftDiceclDiceLoss,
        SSIMLoss,
    )
    from monai.metrics.regression import compute_ms_ssim

    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(0)
    out: dict[str, np.ndarray] = {}
    _edt(out, rng)
    _segmentation_data(out, rng)
    for case, (key, options) in HAUSDORFF.items():
        cls = LogHausdorffDTLoss if options.get("log") else HausdorffDTLoss
        kw = _monai(options, ("alpha", "include_background", "batch"))
        none, mean, grad = _run(
            lambda r, cls=cls, kw=kw: cls(reduction=r, **kw),
            _inputs(out, key, options),
            out[f"seg_{key}/onehot"],
        )
        if options.get("batch"):
            none = none[0]
        out.update({f"hd_{case}/none": none, f"hd_{case}/mean": mean, f"hd_{case}/grad": grad})
    for case, (key, options) in BOUNDARY.items():
        kw = _monai(options, ("include_background", "batch"))
        none, mean, grad = _run(
            lambda r, kw=kw: BoundaryLoss(reduction=r, **kw),
            _inputs(out, key, options),
            out[f"seg_{key}/onehot"],
            none=lambda a: a,
        )
        out.update({f"bd_{case}/none": none, f"bd_{case}/mean": mean, f"bd_{case}/grad": grad})
    for case, (key, options) in CLDICE.items():
        kw = _monai(
            options,
            (
                "iterations",
                "smooth_numerator",
                "smooth_denominator",
                "smooth",
                "include_background",
            ),
        )
        none, mean, grad = _run(
            lambda r, kw=kw: SoftclDiceLoss(reduction=r, **kw),
            _inputs(out, key, options),
            out[f"seg_{key}/onehot"],
            none=lambda a: a,
        )
        out.update({f"cl_{case}/none": none, f"cl_{case}/mean": mean, f"cl_{case}/grad": grad})
    for case, (key, options) in DICE_CLDICE.items():
        kw = _monai(options, ("alpha", "iterations", "include_background"))
        x, t = _inputs(out, key, options), out[f"seg_{key}/onehot"]
        xt = torch.tensor(_cf(x), requires_grad=True)
        mean = SoftDiceclDiceLoss(reduction="mean", **kw)(xt, torch.tensor(_cf(t)))
        mean.backward()
        out.update(
            {f"dcl_{case}/mean": mean.detach().numpy(), f"dcl_{case}/grad": _cl(xt.grad.numpy())}
        )  # type: ignore[union-attr]
    _ssim(out, rng)
    return out


def _float64_ssim() -> None:
    """MONAI's SSIM code in float64: its float32 cast becomes a float64 one."""
    import monai.metrics.regression as regression

    cast = regression.convert_data_type

    def keep64(data, output_type=None, device=None, dtype=None, **kwargs):
        return cast(
            data,
            output_type=output_type,
            device=device,
            dtype=torch.float64 if dtype is torch.float else dtype,
            **kwargs,
        )

    regression.convert_data_type = keep64  # type: ignore[assignment]


def _ssim(out: dict, rng: np.random.Generator) -> None:
    _float64_ssim()
    shapes = {"2d": (2, 16, 14, 2), "3d": (1, 14, 13, 12, 1)}
    for key, shape in shapes.items():
        t = rng.uniform(size=shape)
        p = 0.7 * t + 0.3 * rng.uniform(size=shape)
        out[f"img_{key}/p"], out[f"img_{key}/t"] = p.astype(np.float32), t.astype(np.float32)
    out["img_same/p"] = out["img_same/t"] = out["img_2d/t"]
    for case, (key, options) in SSIM.items():
        p, t = out[f"img_{key}/p"], out[f"img_{key}/t"]
        kw = _monai(options, ("kernel", "win_size", "kernel_sigma", "data_range", "k1", "k2"))
        spatial = p.ndim - 2
        pt = torch.tensor(_cf(p), dtype=torch.float64, requires_grad=True)
        tt = torch.tensor(_cf(t), dtype=torch.float64, requires_grad=True)
        mean = SSIMLoss(spatial_dims=spatial, reduction="mean", **kw)(pt, tt)
        mean.backward()
        none = SSIMLoss(spatial_dims=spatial, reduction="none", **kw)(pt.detach(), tt.detach())
        out.update(
            {
                f"ssim_{case}/none": none.detach().numpy().reshape(-1),
                f"ssim_{case}/mean": mean.detach().numpy(),
                f"ssim_{case}/gp": _cl(pt.grad.numpy()).astype(np.float32),
                f"ssim_{case}/gt": _cl(tt.grad.numpy()).astype(np.float32),  # type: ignore[union-attr]
            }
        )
    for case, (key, options) in MS_SSIM.items():
        _ms(out, f"ms_{case}", out[f"img_{key}/p"], out[f"img_{key}/t"], options)
    big = np.random.default_rng(MS_BIG_SEED).uniform(size=(2, *MS_BIG_SHAPE))
    t_big = big[0].astype(np.float32)
    p_big = (0.8 * big[0] + 0.2 * big[1]).astype(np.float32)
    _ms(out, "ms_default_big", p_big, t_big, {}, stride=8)
    # Anti-correlated images: a clamped (relu) contrast term; MONAI's value only (its gradient is NaN).
    t = out["img_2d/t"]
    value = compute_ms_ssim(
        torch.tensor(_cf(1 - t), dtype=torch.float64),
        torch.tensor(_cf(t), dtype=torch.float64),
        spatial_dims=2,
        kernel_size=3,
        weights=(0.2, 0.3, 0.5),
    )
    out["ms_anti/none"] = value.numpy().reshape(-1)


def _ms(out: dict, name: str, p: np.ndarray, t: np.ndarray, options: dict, stride: int = 1) -> None:
    kw = _monai(
        options, ("kernel", "win_size", "kernel_sigma", "data_range", "k1", "k2", "scale_weights")
    )
    if "win_size" in kw:
        kw["kernel_size"] = kw.pop("win_size")
    pt = torch.tensor(_cf(p), dtype=torch.float64, requires_grad=True)
    tt = torch.tensor(_cf(t), dtype=torch.float64, requires_grad=True)
    value = compute_ms_ssim(pt, tt, spatial_dims=p.ndim - 2, **kw).reshape(-1)
    loss = torch.mean(1 - value)
    loss.backward()
    index = (slice(None), *(slice(None, None, stride),) * (p.ndim - 2), slice(None))
    out.update(
        {
            f"{name}/none": 1 - value.detach().numpy(),
            f"{name}/mean": loss.detach().numpy(),
            f"{name}/gp": _cl(pt.grad.numpy()).astype(np.float32)[index],
            f"{name}/gt": _cl(tt.grad.numpy()).astype(np.float32)[index],  # type: ignore[union-attr]
        }
    )
