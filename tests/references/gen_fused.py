"""Goldens for the fused family, from PyTorch (float64).

``torch.nn.functional.cross_entropy(h @ W + b, y, ignore_index=-100,
label_smoothing=eps)`` on the explicit logits, with autograd gradients for
``h``, ``W`` and ``b``; the z-loss case adds PaLM's ``z * logsumexp(h @ W + b)**2``
per non-ignored token, written in torch. ``W`` is stored ``[D, V]`` (the
transpose of ``nn.Linear.weight``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

CASES = {  # name: (bias, label_smoothing, z_loss)
    "plain": (False, 0.0, 0.0),
    "smooth_bias": (True, 0.15, 0.0),
    "zloss": (True, 0.1, 0.02),
}


def _loss(h, w, b, y, smoothing, z, reduction):
    logits = h @ w if b is None else h @ w + b
    ce = F.cross_entropy(logits, y, ignore_index=-100, label_smoothing=smoothing, reduction="none")
    valid = (y != -100).to(logits.dtype)
    per_token = ce + z * torch.logsumexp(logits, dim=-1) ** 2 * valid
    if z == 0.0:  # torch's own reductions where torch has the whole loss
        if reduction == "none":
            return ce
        return F.cross_entropy(logits, y, ignore_index=-100, label_smoothing=smoothing, reduction=reduction)
    if reduction == "none":
        return per_token
    if reduction == "sum":
        return per_token.sum()
    return per_token.sum() / valid.sum()


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    n, d, v = 10, 6, 7
    out = {
        "hidden": rng.standard_normal((n, d)),
        "weight": rng.standard_normal((d, v)) * 0.8,
        "bias": rng.standard_normal(v),
    }
    labels = rng.integers(0, v, n)
    labels[[2, 7]] = -100
    out["labels"] = labels
    for name, (with_bias, smoothing, z) in CASES.items():
        for reduction in ("mean", "sum", "none"):
            h = torch.tensor(out["hidden"], requires_grad=True)
            w = torch.tensor(out["weight"], requires_grad=True)
            b = torch.tensor(out["bias"], requires_grad=True) if with_bias else None
            loss = _loss(h, w, b, torch.tensor(labels), smoothing, z, reduction)
            loss.sum().backward()
            key = f"{name}/{reduction}"
            out[key] = loss.detach().numpy()
            out[f"{key}/grad_hidden"] = h.grad.numpy()
            out[f"{key}/grad_weight"] = w.grad.numpy()
            if with_bias:
                out[f"{key}/grad_bias"] = b.grad.numpy()
    return out
