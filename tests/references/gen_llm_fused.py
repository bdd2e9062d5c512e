"""Goldens for the fused LLM functions, from TRL 1.16 and PyTorch 2.13 (float64).

- ``logprobs/*``: TRL ``trl.trainer.utils.selective_log_softmax(logits, labels,
  temperature=T, row_mask=labels != -100)`` and ``entropy_from_logits(logits / T)``
  (masked with the same row mask) on the explicit logits ``h @ W + b``, with
  autograd gradients of ``sum(a * logprobs + c * entropy)`` (fixed, uneven
  coefficients ``a``, ``c``) w.r.t. ``h``, ``W``, ``b`` and ``T``. ``W`` is
  stored ``[D, V]`` (the transpose of ``nn.Linear.weight``). ``bf16/*``: the same
  on inputs rounded to bfloat16 (stored exactly as float32).
- ``flce/<case>/<reduction>``: ``torch.nn.functional.linear_cross_entropy(h,
  W.T, y, linear_bias=b, weight=w, label_smoothing=eps, reduction=...)`` (torch
  2.13), or ``F.cross_entropy`` of the soft-capped logits ``c * tanh(z / c)``
  (Gemma 2; Liger's FLCE, whose kernel is GPU-only, caps the same way), plus
  Liger's z-loss rule (``lambda * lse^2`` summed over non-ignored tokens and
  divided by their count) written in torch; gradients w.r.t. ``h``, ``W``,
  ``b`` of the summed output. ``.../accuracy`` is torch's
  ``(argmax(z) == y)`` mean over non-ignored tokens.

``trl.trainer.utils`` imports transformers' model classes at import time; when
that import fails (for example a torchvision built for another torch), the two
functions are read from TRL's installed source file and run as they are.
"""

from __future__ import annotations

import ast
import importlib.util
import pathlib
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

N, D, V = 12, 6, 11
IGNORED = (2, 7)
TEMPERATURE = 0.7

FLCE_CASES = {  # name: (class_weights, label_smoothing, softcap, z_loss)
    "weighted": (True, 0.1, None, 0.0),
    "weighted_plain": (True, 0.0, None, 0.0),
    "softcap": (False, 0.05, 1.5, 0.0),
    "all": (True, 0.1, 1.5, 0.02),
}


def _trl_functions() -> tuple[Any, Any]:
    try:
        from trl.trainer.utils import entropy_from_logits, selective_log_softmax

        return selective_log_softmax, entropy_from_logits
    except Exception:
        spec = importlib.util.find_spec("trl")
        assert spec is not None and spec.origin is not None, "trl is not installed"
        path = pathlib.Path(spec.origin).parent / "trainer" / "utils.py"
        tree = ast.parse(path.read_text())
        wanted = {"selective_log_softmax", "entropy_from_logits", "_supports_trl_loss_kernel"}
        module = ast.Module(
            body=[n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in wanted],
            type_ignores=[],
        )
        namespace: dict[str, Any] = {"torch": torch, "F": F, "is_triton_available": lambda: False}
        exec(compile(module, str(path), "exec"), namespace)
        return namespace["selective_log_softmax"], namespace["entropy_from_logits"]


def _logprobs(out: dict[str, np.ndarray], prefix: str, h0, w0, b0, labels, a, c) -> None:
    selective_log_softmax, entropy_from_logits = _trl_functions()
    h = torch.tensor(h0, requires_grad=True)
    w = torch.tensor(w0, requires_grad=True)
    b = torch.tensor(b0, requires_grad=True)
    t = torch.tensor(TEMPERATURE, requires_grad=True)
    y = torch.tensor(labels)
    mask = y != -100
    logits = h @ w + b
    logprobs = selective_log_softmax(logits, torch.where(mask, y, 0), temperature=t, row_mask=mask)
    entropy = entropy_from_logits(logits / t).masked_fill(~mask, 0.0)
    (torch.sum(torch.tensor(a) * logprobs) + torch.sum(torch.tensor(c) * entropy)).backward()
    out[f"{prefix}/logprobs"] = logprobs.detach().numpy()
    out[f"{prefix}/entropy"] = entropy.detach().numpy()
    for name, x in (("hidden", h), ("weight", w), ("bias", b), ("temperature", t)):
        out[f"{prefix}/grad_{name}"] = x.grad.numpy()
    # The log-probabilities alone (no entropy term): the gradient without return_entropy.
    h.grad = w.grad = b.grad = None
    logits = h @ w + b
    lp = selective_log_softmax(
        logits, torch.where(mask, y, 0), temperature=TEMPERATURE, row_mask=mask
    )
    torch.sum(torch.tensor(a) * lp).backward()
    out[f"{prefix}/lp_only/grad_hidden"] = h.grad.numpy()
    out[f"{prefix}/lp_only/grad_weight"] = w.grad.numpy()


def _flce(out: dict[str, np.ndarray], h0, w0, b0, cw0, labels) -> None:
    y = torch.tensor(labels)
    valid = (y != -100).to(torch.float64)
    for case, (weighted, eps, cap, zl) in FLCE_CASES.items():
        cw = torch.tensor(cw0) if weighted else None
        for reduction in ("mean", "sum", "none"):
            h = torch.tensor(h0, requires_grad=True)
            w = torch.tensor(w0, requires_grad=True)
            b = torch.tensor(b0, requires_grad=True)
            if cap is None and zl == 0.0:
                loss = F.linear_cross_entropy(
                    h,
                    w.T,
                    y,
                    linear_bias=b,
                    weight=cw,
                    ignore_index=-100,
                    label_smoothing=eps,
                    reduction=reduction,
                )
                logits = (h @ w + b).detach()
            else:
                z = h @ w + b
                logits = cap * torch.tanh(z / cap) if cap is not None else z
                loss = F.cross_entropy(
                    logits,
                    y,
                    weight=cw,
                    ignore_index=-100,
                    label_smoothing=eps,
                    reduction=reduction,
                )
                zterm = zl * torch.logsumexp(logits, dim=-1) ** 2 * valid
                if reduction == "none":
                    loss = loss + zterm
                elif reduction == "sum":
                    loss = loss + zterm.sum()
                else:  # Liger: the z-loss over the count of non-ignored tokens
                    loss = loss + zterm.sum() / valid.sum()
                logits = logits.detach()
            loss.sum().backward()
            key = f"flce/{case}/{reduction}"
            out[key] = loss.detach().numpy()
            out[f"{key}/grad_hidden"] = h.grad.numpy()
            out[f"{key}/grad_weight"] = w.grad.numpy()
            out[f"{key}/grad_bias"] = b.grad.numpy()
        hits = (logits.argmax(dim=-1) == y).to(torch.float64)
        out[f"flce/{case}/accuracy"] = np.asarray((hits * valid).sum() / valid.sum())
        out[f"flce/{case}/z_loss"] = np.asarray(
            (zl * torch.logsumexp(logits, dim=-1) ** 2 * valid).sum() / valid.sum()
        )


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out: dict[str, np.ndarray] = {
        "hidden": rng.standard_normal((N, D)),
        "weight": rng.standard_normal((D, V)) * 0.8,
        "bias": rng.standard_normal(V),
        "class_weights": rng.uniform(0.2, 2.0, V),
        "a": rng.standard_normal(N),
        "c": rng.standard_normal(N),
    }
    labels = rng.integers(0, V, N)
    labels[list(IGNORED)] = -100
    out["labels"] = labels
    _logprobs(
        out, "logprobs", out["hidden"], out["weight"], out["bias"], labels, out["a"], out["c"]
    )
    rounded = {
        k: torch.tensor(out[k]).to(torch.bfloat16).double().numpy()
        for k in ("hidden", "weight", "bias")
    }
    for k, x in rounded.items():
        out[f"bf16/{k}"] = x.astype(np.float32)
    _logprobs(
        out,
        "bf16",
        rounded["hidden"],
        rounded["weight"],
        rounded["bias"],
        labels,
        out["a"],
        out["c"],
    )
    _flce(out, out["hidden"], out["weight"], out["bias"], out["class_weights"], labels)
    return out
