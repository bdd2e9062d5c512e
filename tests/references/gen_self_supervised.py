"""Goldens for the self-supervised losses (SigLIP, VICReg, Barlow Twins, KoLeo).

Anchors (torch 2.13 CPU, float64), values and gradients:

- SigLIP: open_clip 3.3.0 ``SigLipLoss(rank=0, world_size=1)`` (``pip install --no-deps
  open-clip-torch``). ``open_clip/__init__`` needs torchvision's compiled ops, so its
  ``loss.py`` (torch only) is loaded on its own from the installed package. open_clip takes
  the features as given (its models normalise): the ``"cosine"`` cases normalise with
  ``F.normalize`` before the call. Gradients also w.r.t. ``logit_scale`` and ``logit_bias``.
  The per-image terms (``"none"``) are the row sums of ``-logsigmoid(labels * logits)`` with
  open_clip's own ``get_logits`` and ``get_ground_truth``.
- VICReg: pytorch-metric-learning 2.9 ``VICRegLoss`` called as ``loss(z1, ref_emb=z2)``; its
  three weighted terms by calls with the other two weights set to 0.
- Barlow Twins: MONAI ``BarlowTwinsLoss`` (installed); and the facebookresearch/barlowtwins
  ``main.py`` ``BarlowTwins.forward`` formula (main branch; no commit pinned) TRANSCRIBED here in torch with
  the real ``nn.BatchNorm1d(affine=False)`` in training mode (flag: transcribe; the repository
  is not installable and nothing of it is committed).
- KoLeo: dinov2 ``dinov2/loss/koleo_loss.py`` ``KoLeoLoss.forward`` (main branch; no
  commit pinned) TRANSCRIBED here in torch: ``F.normalize(eps=eps)``, the diagonal of the dot products
  filled with -1, ``torch.max`` for the neighbour, ``nn.PairwiseDistance(2, eps=1e-8)`` and
  ``-log(d + eps).mean()`` (flag: transcribe).
"""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

N, D = 8, 5


def _t(x, grad=True):
    return torch.tensor(np.asarray(x, np.float64), requires_grad=grad)


def _np(x):
    return x.detach().numpy().astype(np.float64)


def _run(out, key, loss_fn, tensors):
    assert key not in out, key
    value = loss_fn(*tensors)
    value.backward()
    out[key] = _np(value)
    for i, t in enumerate(tensors):
        out[f"{key}_g{i}"] = _np(t.grad)


def _siglip_class():
    spec = importlib.util.find_spec("open_clip")
    assert spec is not None and spec.submodule_search_locations
    path = pathlib.Path(next(iter(spec.submodule_search_locations))) / "loss.py"
    module_spec = importlib.util.spec_from_file_location("open_clip_loss", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.SigLipLoss


def _siglip(out, rng):
    SigLipLoss = _siglip_class()
    x, y = rng.standard_normal((N, D)), rng.standard_normal((N, D))
    y[2] = x[2] + 0.05 * rng.standard_normal(D)  # one well-aligned pair
    out.update(s_x=x, s_y=y)
    loss = SigLipLoss(rank=0, world_size=1)
    # key -> (scale, bias, normalise)
    cases = {
        "siglip": (10.0, -10.0, True),
        "siglip_dot": (10.0, -10.0, False),
        "siglip_sb": (float(np.exp(1.3)), -2.5, True),
        "siglip_dot_sb": (0.7, 0.4, False),
    }
    for key, (scale, bias, normalise) in cases.items():
        out[f"{key}_scale"], out[f"{key}_bias"] = np.float64(scale), np.float64(bias)

        def fn(a, b, s, c, normalise=normalise):
            if normalise:
                a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
            return loss(a, b, s, c)

        _run(out, key, fn, (_t(x), _t(y), _t(scale), _t(bias)))
        a, b = _t(x, False), _t(y, False)
        if normalise:
            a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
        logits = loss.get_logits(a, b, torch.tensor(scale), torch.tensor(bias))
        labels = loss.get_ground_truth(a.device, a.dtype, N)
        out[f"{key}_rows"] = _np(-F.logsigmoid(labels * logits).sum(dim=1))


def _vicreg(out, rng):
    from pytorch_metric_learning.losses import VICRegLoss

    z1, z2 = rng.standard_normal((N, D)), 0.5 * rng.standard_normal((N, D))
    z2[:, 1] = 3.0 * rng.standard_normal(N)  # one feature with std > 1 (no variance hinge)
    const = z1.copy()
    const[:, 0] = 0.7  # a constant feature: std = sqrt(eps)
    out.update(v_z1=z1, v_z2=z2, v_const=const)
    cases = {
        "vicreg": ("v_z1", "v_z2", {}),
        "vicreg_opts": (
            "v_z1",
            "v_z2",
            {"invariance_lambda": 5.0, "variance_mu": 10.0, "covariance_v": 2.0, "eps": 1e-3},
        ),
        "vicreg_const": ("v_const", "v_z2", {}),
        "vicreg_inv": ("v_z1", "v_z2", {"variance_mu": 0.0, "covariance_v": 0.0}),
        "vicreg_var": ("v_z1", "v_z2", {"invariance_lambda": 0.0, "covariance_v": 0.0}),
        "vicreg_cov": ("v_z1", "v_z2", {"invariance_lambda": 0.0, "variance_mu": 0.0}),
    }
    for key, (k1, k2, kw) in cases.items():
        loss = VICRegLoss(**kw)
        _run(out, key, lambda a, b, loss=loss: loss(a, ref_emb=b), (_t(out[k1]), _t(out[k2])))


def _barlow_transcribed(z1, z2, lambd):
    # facebookresearch/barlowtwins main.py BarlowTwins.forward (single process: no all_reduce).
    bn = torch.nn.BatchNorm1d(z1.shape[1], affine=False)
    bn.train()
    c = bn(z1).T @ bn(z2)
    c = c / z1.shape[0]
    on_diag = (torch.diagonal(c) - 1).pow(2).sum()
    n = c.shape[0]
    off = c.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()  # off_diagonal()
    return on_diag + lambd * off.pow(2).sum()


def _barlow(out, rng):
    from monai.losses import BarlowTwinsLoss

    z1 = rng.standard_normal((N, D))
    z2 = z1 + 0.5 * rng.standard_normal((N, D))
    out.update(b_z1=z1, b_z2=z2)
    _run(out, "barlow", lambda a, b: _barlow_transcribed(a, b, 0.0051), (_t(z1), _t(z2)))
    _run(out, "barlow_l02", lambda a, b: _barlow_transcribed(a, b, 0.2), (_t(z1), _t(z2)))
    _run(out, "barlow_monai", BarlowTwinsLoss(lambd=0.005), (_t(z1), _t(z2)))
    _run(out, "barlow_monai_l02", BarlowTwinsLoss(lambd=0.2), (_t(z1), _t(z2)))


def _koleo_transcribed(x, eps=1e-8, reduce=True):
    # dinov2/loss/koleo_loss.py KoLeoLoss (pairwise_NNs_inner + forward).
    x = F.normalize(x, eps=eps, p=2, dim=-1)
    with torch.no_grad():
        dots = torch.mm(x, x.t())
        n = x.shape[0]
        dots.view(-1)[:: (n + 1)].fill_(-1)
        _, index = torch.max(dots, dim=1)
    distances = torch.nn.PairwiseDistance(2, eps=1e-8)(x, x[index])
    terms = -torch.log(distances + eps)
    return terms.mean() if reduce else terms


def _koleo(out, rng):
    x = rng.standard_normal((N, D))
    dup = x.copy()
    dup[5] = dup[1]  # an exact duplicate: distance eps * sqrt(D)
    scaled = x * np.array([1e-3, 1.0, 10.0, 1.0, 1.0, 0.1, 1.0, 5.0])[:, None]
    out.update(k_x=x, k_dup=dup, k_scaled=scaled)
    for key, src, eps in (
        ("koleo", "k_x", 1e-8),
        ("koleo_dup", "k_dup", 1e-8),
        ("koleo_scaled", "k_scaled", 1e-8),
        ("koleo_eps", "k_x", 1e-2),
    ):
        _run(out, key, lambda a, eps=eps: _koleo_transcribed(a, eps), (_t(out[src]),))
        out[f"{key}_rows"] = _np(_koleo_transcribed(_t(out[src], False), eps, reduce=False))


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1414)
    out: dict[str, np.ndarray] = {}
    _siglip(out, rng)
    _vicreg(out, rng)
    _barlow(out, rng)
    _koleo(out, rng)
    return out
