"""Goldens for the cross-entropy part of the classification family, from PyTorch.

- ``torch.nn.functional.cross_entropy`` with every combination of ``weight``,
  ``ignore_index``, ``label_smoothing``, probability targets and the
  ``[N, C, d]`` layout; values and logits gradients.
- ``binary_cross_entropy_with_logits`` with ``pos_weight``.
- torchvision's ``sigmoid_focal_loss`` (torchvision is not installed; its
  formula is reproduced verbatim below), with gradients for logits, alpha, gamma.
- the multiclass focal loss of Lin et al. and Poly-N written in torch (autograd).
- Cui et al.'s class-balanced weights as in their reference code.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def _t(x, grad=False):
    return torch.tensor(np.asarray(x), requires_grad=grad)


def _grads(out, *tensors):
    out.sum().backward()
    return [t.grad.numpy().copy() for t in tensors]


def torchvision_sigmoid_focal_loss(inputs, targets, alpha: float = 0.25, gamma: float = 2,
                                   reduction: str = "none"):
    """torchvision.ops.sigmoid_focal_loss (v0.19), body reproduced verbatim."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:  # torchvision's test; a tensor alpha is always used here
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "mean":
        loss = loss.mean()
    elif reduction == "sum":
        loss = loss.sum()
    return loss


def _cross_entropy(out, rng):
    n, c = 7, 5
    logits = rng.standard_normal((n, c)) * 2
    labels = rng.integers(0, c, n)
    labels[[1, 4]] = 2  # the class that ignore_index=2 removes
    cw = rng.uniform(0.2, 2.0, c)
    probs = rng.dirichlet(np.ones(c), n)
    out.update({"ce/logits": logits, "ce/labels": labels, "ce/cw": cw, "ce/probs": probs})
    for weighted, ignore, smoothing in itertools.product((0, 1), (0, 1), (0.0, 0.2)):
        key = f"ce/w{weighted}_i{ignore}_s{smoothing}"
        kw = {"weight": _t(cw) if weighted else None, "ignore_index": 2 if ignore else -100,
              "label_smoothing": smoothing}
        for reduction in ("mean", "sum", "none"):
            x = _t(logits, True)
            value = F.cross_entropy(x, _t(labels), reduction=reduction, **kw)
            out[f"{key}/{reduction}"] = value.detach().numpy()
            (out[f"{key}/{reduction}/grad"],) = _grads(value, x)
        if not ignore:  # probability targets: ignore_index does not apply
            key = f"ce/probs_w{weighted}_s{smoothing}"
            for reduction in ("mean", "none"):
                x, y = _t(logits, True), _t(probs, True)
                value = F.cross_entropy(x, y, reduction=reduction, weight=kw["weight"],
                                        label_smoothing=smoothing)
                out[f"{key}/{reduction}"] = value.detach().numpy()
                out[f"{key}/{reduction}/grad"], out[f"{key}/{reduction}/grad_labels"] = _grads(value, x, y)

    # [N, C, d] layout (axis=1), integer and probability targets.
    logits3 = rng.standard_normal((3, c, 4)) * 2
    labels3 = rng.integers(0, c, (3, 4))
    labels3[0, 1] = -1
    probs3 = np.moveaxis(rng.dirichlet(np.ones(c), (3, 4)), -1, 1)
    out.update({"ce3/logits": logits3, "ce3/labels": labels3, "ce3/probs": probs3})
    x = _t(logits3, True)
    value = F.cross_entropy(x, _t(labels3), weight=_t(cw), ignore_index=-1, label_smoothing=0.1)
    out["ce3/int"] = value.detach().numpy()
    (out["ce3/int/grad"],) = _grads(value, x)
    x = _t(logits3, True)
    value = F.cross_entropy(x, _t(probs3), weight=_t(cw), label_smoothing=0.1, reduction="none")
    out["ce3/probs_out"] = value.detach().numpy()
    (out["ce3/probs_out/grad"],) = _grads(value, x)


def _bce(out, rng):
    logits = rng.standard_normal((6, 4)) * 3
    logits[0, :2] = [1e4, -1e4]
    labels = (rng.uniform(size=(6, 4)) < 0.4).astype(np.float64)
    labels[1] = rng.uniform(size=4)  # soft targets
    pos_weight = rng.uniform(0.5, 3.0, 4)
    out.update({"bce/logits": logits, "bce/labels": labels, "bce/pos_weight": pos_weight})
    for pw in (0, 1):
        for reduction in ("mean", "none"):
            x = _t(logits, True)
            value = F.binary_cross_entropy_with_logits(
                x, _t(labels), pos_weight=_t(pos_weight) if pw else None, reduction=reduction)
            out[f"bce/pw{pw}/{reduction}"] = value.detach().numpy()
            (out[f"bce/pw{pw}/{reduction}/grad"],) = _grads(value, x)


def _sigmoid_focal(out, rng):
    logits = rng.standard_normal((6, 4)) * 3
    labels = (rng.uniform(size=(6, 4)) < 0.4).astype(np.float64)
    labels[1] = rng.uniform(size=4)
    out.update({"sfocal/logits": logits, "sfocal/labels": labels})
    for alpha, gamma in ((0.25, 2.0), (0.6, 0.5), (-1.0, 1.5), (0.25, 0.0)):
        key = f"sfocal/a{alpha}_g{gamma}"
        x, a, g = _t(logits, True), _t(alpha, True), _t(gamma, True)
        value = torchvision_sigmoid_focal_loss(x, _t(labels), a, g, reduction="none")
        out[key] = value.detach().numpy()
        grads = _grads(value, x, g, *([a] if alpha >= 0 else []))
        out[f"{key}/grad"], out[f"{key}/grad_gamma"] = grads[0], grads[1]
        if alpha >= 0:
            out[f"{key}/grad_alpha"] = grads[2]
    # Extreme logits with gamma = 2 (torch's autograd is finite there for gamma >= 1).
    ext = np.array([[1e4, -1e4, 1e4, -1e4, 30.0, -30.0]])
    ext_labels = np.array([[1.0, 0.0, 0.0, 1.0, 1.0, 0.0]])
    out.update({"sfocal_ext/logits": ext, "sfocal_ext/labels": ext_labels})
    x = _t(ext, True)
    value = torchvision_sigmoid_focal_loss(x, _t(ext_labels), 0.25, 2.0)
    out["sfocal_ext"] = value.detach().numpy()
    (out["sfocal_ext/grad"],) = _grads(value, x)


def _softmax_focal_torch(x, labels, alpha, gamma, valid):
    logpt = torch.log_softmax(x, -1).gather(-1, labels[:, None])[:, 0]
    pt = logpt.exp()
    at = alpha[labels] if alpha.ndim else alpha
    loss = -at * (1 - pt) ** gamma * logpt
    return (loss * valid).sum() / valid.sum()


def _softmax_focal(out, rng):
    n, c = 8, 5
    logits = rng.standard_normal((n, c)) * 2
    labels = rng.integers(0, c, n)
    labels[3] = -100
    alpha = rng.uniform(0.2, 1.0, c)
    out.update({"mfocal/logits": logits, "mfocal/labels": labels, "mfocal/alpha": alpha})
    valid = _t((labels != -100).astype(np.float64))
    safe = _t(np.where(labels == -100, 0, labels))
    for gamma, vec in ((2.0, 1), (0.5, 0), (0.0, 1), (3.0, 0)):
        key = f"mfocal/g{gamma}_v{vec}"
        x, g = _t(logits, True), _t(gamma, True)
        a = _t(alpha if vec else 0.3, True)
        value = _softmax_focal_torch(x, safe, a, g, valid)
        out[key] = value.detach().numpy()
        out[f"{key}/grad"], out[f"{key}/grad_gamma"], out[f"{key}/grad_alpha"] = _grads(value, x, g, a)


def _poly(out, rng):
    n, c = 6, 4
    logits = rng.standard_normal((n, c)) * 2
    labels = rng.integers(0, c, n)
    out.update({"poly/logits": logits, "poly/labels": labels})
    eps = (1.0, -0.5, 0.25)
    x = _t(logits, True)
    logpt = torch.log_softmax(x, -1).gather(-1, _t(labels)[:, None])[:, 0]
    q = 1 - logpt.exp()
    value = (-logpt + sum(e * q ** (j + 1) for j, e in enumerate(eps))).mean()
    out["poly/n3"] = value.detach().numpy()
    (out["poly/n3/grad"],) = _grads(value, x)


def _class_balanced(out):
    # Cui et al.'s reference code (github.com/vandit15/Class-balanced-loss-pytorch).
    samples_per_cls = np.array([5000.0, 2000.0, 300.0, 20.0, 1.0])
    for beta in (0.9, 0.999, 0.9999):
        effective_num = 1.0 - np.power(beta, samples_per_cls)
        weights = (1.0 - beta) / np.array(effective_num)
        weights = weights / np.sum(weights) * len(samples_per_cls)
        out[f"cb/{beta}"] = weights
    out["cb/counts"] = samples_per_cls


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2024)
    out: dict[str, np.ndarray] = {}
    _cross_entropy(out, rng)
    _bce(out, rng)
    _sigmoid_focal(out, rng)
    _softmax_focal(out, rng)
    _poly(out, rng)
    _class_balanced(out)
    return out
