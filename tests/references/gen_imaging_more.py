"""Goldens for issue 16's D13 (kornia check), D18, D20, D21 and D22.

- MONAI 1.6.1 ``AUCMLoss`` (v1 with the batch prior, v1 with ``imratio`` and a margin, v2,
  v2 with one class absent): its parameters ``a``, ``b``, ``alpha`` set to drawn values;
  gradients w.r.t. the input and the three parameters.
- MONAI 1.6.1 ``PatchAdversarialLoss`` on a two-scale discriminator output (a list) and on
  one array: every criterion, discriminator real/fake and generator, ``no_activation_leastsq``;
  ``"mean"`` and ``"sum"`` and (least squares, BCE) ``"none"``; gradients of ``"mean"``
  w.r.t. every scale. The outputs are elementwise, so they are drawn in any layout.
- MONAI 1.6.1 ``DeepSupervisionLoss(DiceLoss(softmax=True))`` on four levels (8x8, 4x4, 3x3,
  2x2; 3x3 exercises the non-dyadic nearest-exact rule) with one-hot targets, for every
  ``weight_mode`` and explicit (longer) ``weights``; gradients w.r.t. every level (``"exp"``). Also
  ``torch.nn.functional.interpolate(mode="nearest-exact")`` source indices for every
  (in, out) size pair in 1..40 and a few large ones.
- The ``lpips`` package's ``LPIPS.forward`` (lpips 0.1.4 from PyPI, github.com/richzhang/
  PerceptualSimilarity; vendored: ``pip download --no-deps lpips`` unpacked outside the
  repository, its path in ``LPIPS_SRC``, default ``/tmp/lpips_vend``; only the values it
  produced are committed). The object is built without ``__init__`` (which loads
  torchvision's pretrained nets) and given a two-layer tanh conv net, its ``ScalingLayer``
  and non-negative ``lins`` drawn here; the test builds the same net in JAX from the stored
  weights. ``lpips=True``/``False`` and ``spatial=False``/``True``; gradients w.r.t. ``in0``.
- kornia 0.9 ``MS_SSIMLoss(sigmas=(s,), alpha=1, compensation=1)``: with one scale and no L1
  term it is one minus the mean SSIM over every pixel with zero padding of ``int(2 s)``,
  which equals ``jaxloss.ms_ssim_loss(scale_weights=(1.0,), win_size=2 int(2 s) + 1,
  kernel_sigma=s)`` on the zero-padded images ('valid' windows). Values and gradients
  w.r.t. ``img1``. kornia's multi-scale form (several sigmas at full resolution, no
  exponents) has no jaxloss equivalent.

torch runs in float64; inputs are float32 draws (exact in float64).

    /work/main/.venv-bench/bin/python tests/references/generate.py imaging_more
"""

from __future__ import annotations

import numpy as np

# Case tables shared with tests/test_imaging_more.py (which imports this module without the
# anchors): torch, MONAI, kornia and lpips are imported inside generate().

AUCM = {
    "v1": {"version": "v1"},
    "v1_imratio": {"version": "v1", "imratio": 0.3, "margin": 0.6},
    "v2": {"version": "v2"},
    "v2_one_class": {"version": "v2", "margin": 0.8},
}
# (criterion, target_is_real, for_discriminator, no_activation_leastsq)
PATCH = {
    "ls_real": ("least_squares", True, True, False),
    "ls_fake": ("least_squares", False, True, False),
    "ls_gen": ("least_squares", True, False, False),
    "ls_noact_real": ("least_squares", True, True, True),
    "ls_noact_fake": ("least_squares", False, True, True),
    "bce_real": ("bce", True, True, False),
    "bce_fake": ("bce", False, True, False),
    "bce_gen": ("bce", True, False, False),
    "hinge_real": ("hinge", True, True, False),
    "hinge_fake": ("hinge", False, True, False),
    "hinge_gen": ("hinge", True, False, False),
}
PATCH_SHAPES = ((2, 4, 4, 1), (2, 2, 2, 1))
DS_SHAPES = ((8, 8), (4, 4), (3, 3), (2, 2))
DS = {
    "exp": {"weight_mode": "exp"},
    "same": {"weight_mode": "same"},
    "two": {"weight_mode": "two"},
    "weights": {"weights": (0.6, 0.3, 0.2, 0.1, 0.05)},
}
INTERP_SIZES = [(i, o) for i in range(1, 41) for o in range(1, 41)] + [
    (1000, 333),
    (97, 1013),
    (255, 7),
    (7, 255),
]
# (linear weights?, spatial map?)
LPIPS = {"lins": (True, False), "plain": (False, False), "lins_spatial": (True, True)}
LPIPS_SHIFT = (-0.030, -0.088, -0.188)  # lpips ScalingLayer
LPIPS_SCALE = (0.458, 0.448, 0.450)
KORNIA_SIGMAS = (1.0, 1.5)
KORNIA_SHAPE = (2, 10, 11, 2)  # channel-last core images


def _cf(a: np.ndarray) -> np.ndarray:
    return np.moveaxis(a, -1, 1)


def _cl(a: np.ndarray) -> np.ndarray:
    return np.moveaxis(a, 1, -1)


def _f32(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    return (scale * rng.standard_normal(shape)).astype(np.float32).astype(np.float64)


def _aucm(out: dict) -> None:
    import torch
    from monai.losses import AUCMLoss

    rng = np.random.default_rng(1618)
    scores = _f32(rng, 6, 1, 4)
    labels = (rng.uniform(size=(6, 1, 4)) < 0.35).astype(np.float64)
    out["aucm/scores"], out["aucm/labels"] = scores, labels
    out["aucm/abc"] = _f32(rng, 3, scale=0.5)
    for case, options in AUCM.items():
        y = np.ones_like(labels) if case == "v2_one_class" else labels
        loss = AUCMLoss(**options).double()
        with torch.no_grad():
            loss.a.fill_(float(out["aucm/abc"][0]))
            loss.b.fill_(float(out["aucm/abc"][1]))
            loss.alpha.fill_(float(out["aucm/abc"][2]))
        s = torch.tensor(scores, requires_grad=True)
        value = loss(s, torch.tensor(y))
        value.backward()
        out[f"aucm_{case}/value"] = value.detach().numpy()
        out[f"aucm_{case}/g_scores"] = s.grad.numpy()
        # A parameter that an absent class cuts out of the graph has no .grad: its gradient is 0.
        grads = [0.0 if v.grad is None else v.grad.item() for v in (loss.a, loss.b, loss.alpha)]
        out[f"aucm_{case}/g_abc"] = np.array(grads)


def _patch(out: dict) -> None:
    import warnings

    import torch
    from monai.losses import PatchAdversarialLoss

    rng = np.random.default_rng(2718)
    xs = [_f32(rng, *shape, scale=1.5) for shape in PATCH_SHAPES]
    for i, x in enumerate(xs):
        out[f"patch/x{i}"] = x
    for case, (criterion, real, disc, noact) in PATCH.items():
        for reduction in ("mean", "sum", "none"):
            if reduction == "none" and criterion == "hinge":
                continue  # MONAI's hinge "none" is per-scale means (a documented difference)
            loss = PatchAdversarialLoss(
                reduction=reduction, criterion=criterion, no_activation_leastsq=noact
            )
            ts = [torch.tensor(x, requires_grad=True) for x in xs]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = loss(ts, target_is_real=real, for_discriminator=disc)
                single = loss(torch.tensor(xs[0]), target_is_real=real, for_discriminator=disc)
            if reduction == "none":
                for i, v in enumerate(value):
                    out[f"patch_{case}/none{i}"] = v.detach().numpy()
                continue
            out[f"patch_{case}/{reduction}"] = value.detach().numpy()
            out[f"patch_{case}/{reduction}_single"] = np.asarray(single.detach().numpy())
            if reduction == "mean":
                value.backward()
                for i, t in enumerate(ts):
                    out[f"patch_{case}/g{i}"] = t.grad.numpy()


def _deep_supervision(out: dict) -> None:
    import torch
    import torch.nn.functional as F
    from monai.losses import DeepSupervisionLoss, DiceLoss

    rng = np.random.default_rng(3141)
    labels = rng.integers(0, 3, (2, *DS_SHAPES[0]))
    out["ds/labels"] = labels.astype(np.int32)
    preds = [_f32(rng, 2, *shape, 3, scale=2.0) for shape in DS_SHAPES]
    for i, p in enumerate(preds):
        out[f"ds/p{i}"] = p
    target = torch.tensor(_cf(np.eye(3)[labels]))
    for case, options in DS.items():
        loss = DeepSupervisionLoss(DiceLoss(softmax=True), **options)
        ps = [torch.tensor(_cf(p), requires_grad=True) for p in preds]
        value = loss(ps, target)
        value.backward()
        out[f"ds_{case}/value"] = value.detach().numpy()
        if case == "exp":  # the weightings differ only in the scalar level weights
            for i, p in enumerate(ps):
                out[f"ds_{case}/g{i}"] = _cl(p.grad.numpy())
    indices = []
    for n_in, n_out in INTERP_SIZES:
        src = torch.arange(n_in, dtype=torch.float32).view(1, 1, n_in)
        indices.append(
            F.interpolate(src, size=n_out, mode="nearest-exact").view(-1).numpy().astype(np.int32)
        )
    out["ds/interp_indices"] = np.concatenate(indices)


def _lpips_module():
    import os
    import sys
    import types

    if "torchvision" not in sys.modules:  # lpips imports torchvision's models at import time only
        tv = types.ModuleType("torchvision")
        tv.models = types.ModuleType("torchvision.models")  # type: ignore[attr-defined]
        sys.modules["torchvision"], sys.modules["torchvision.models"] = tv, tv.models  # type: ignore[attr-defined]
    sys.path.insert(0, os.environ.get("LPIPS_SRC", "/tmp/lpips_vend"))
    import lpips

    return lpips


def _lpips(out: dict) -> None:
    import torch
    from torch import nn

    lpips = _lpips_module()
    rng = np.random.default_rng(4669)
    w1, w2 = _f32(rng, 4, 3, 3, 3, scale=0.5), _f32(rng, 5, 4, 3, 3, scale=0.4)
    lins = [np.abs(_f32(rng, 4)), np.abs(_f32(rng, 5))]
    out["lpips/w1"], out["lpips/w2"], out["lpips/lin0"], out["lpips/lin1"] = w1, w2, *lins

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1 = nn.Conv2d(3, 4, 3, padding=1, bias=False)
            self.c2 = nn.Conv2d(4, 5, 3, stride=2, padding=1, bias=False)
            self.c1.weight.data, self.c2.weight.data = torch.tensor(w1), torch.tensor(w2)

        def forward(self, x):
            h1 = torch.tanh(self.c1(x))
            return [h1, torch.tanh(self.c2(h1))]

    p, t = _f32(rng, 2, 8, 8, 3, scale=0.5), _f32(rng, 2, 8, 8, 3, scale=0.5)
    out["lpips/p"], out["lpips/t"] = p, t
    for case, (use_lins, spatial) in LPIPS.items():
        model = lpips.LPIPS.__new__(lpips.LPIPS)
        nn.Module.__init__(model)
        model.version, model.lpips, model.spatial, model.L = "0.1", use_lins, spatial, 2
        model.scaling_layer = lpips.ScalingLayer()
        model.net = Net()
        heads = [lpips.NetLinLayer(4, use_dropout=True), lpips.NetLinLayer(5, use_dropout=True)]
        for head, w in zip(heads, lins):
            head.model[-1].weight.data = torch.tensor(w).view(1, -1, 1, 1)
        model.lins = nn.ModuleList(heads)
        model = model.double().eval()
        x = torch.tensor(_cf(p), requires_grad=True)
        value = model.forward(x, torch.tensor(_cf(t)))
        value.sum().backward()
        out[f"lpips_{case}/value"] = (
            value.detach().numpy()[:, 0] if spatial else value.detach().numpy().reshape(-1)
        )
        out[f"lpips_{case}/gp"] = _cl(x.grad.numpy())


def _kornia(out: dict) -> None:
    import torch
    from kornia.losses import MS_SSIMLoss

    rng = np.random.default_rng(5772)
    t = rng.uniform(size=KORNIA_SHAPE).astype(np.float32).astype(np.float64)
    p = (0.7 * t + 0.3 * rng.uniform(size=KORNIA_SHAPE)).astype(np.float32).astype(np.float64)
    out["kornia/p"], out["kornia/t"] = p, t
    for sigma in KORNIA_SIGMAS:
        loss = MS_SSIMLoss(sigmas=(sigma,), alpha=1.0, compensation=1.0).double()
        x = torch.tensor(_cf(p), requires_grad=True)
        value = loss(x, torch.tensor(_cf(t)))
        value.backward()
        out[f"kornia_{sigma}/value"] = value.detach().numpy()
        out[f"kornia_{sigma}/gp"] = _cl(x.grad.numpy())


def generate() -> dict[str, np.ndarray]:
    import torch

    torch.set_default_dtype(torch.float64)
    out: dict[str, np.ndarray] = {}
    _aucm(out)
    _patch(out)
    _deep_supervision(out)
    _lpips(out)
    _kornia(out)
    return {k: np.asarray(v) for k, v in out.items()}
