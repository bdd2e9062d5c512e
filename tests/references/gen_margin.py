"""Goldens for the margin part of the classification family and CTC.

- ``torch.nn.functional.multi_margin_loss`` with ``p`` in {1, 2}, a non-default
  ``margin`` and a class ``weight``: values for every reduction and the
  gradients of their sums w.r.t. the scores.
- ``torch.nn.functional.ctc_loss`` (``reduction="none"``, ``"sum"``, ``"mean"``)
  on ``log_softmax`` of the logits in the ``(T, N, C)`` layout, with lengths
  taken from the paddings; gradients w.r.t. the logits.
- ``sklearn.metrics.hinge_loss`` (the mean binary hinge) for ``{-1, 1}`` and
  ``{0, 1}`` labels.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import hinge_loss

torch.set_default_dtype(torch.float64)


def _multi_margin(out, rng):
    n, c = 6, 5
    scores = rng.standard_normal((n, c))
    labels = rng.integers(0, c, n)
    weight = rng.uniform(0.2, 2.0, c)
    out.update({"mm/scores": scores, "mm/labels": labels, "mm/weight": weight})
    for p in (1, 2):
        for margin in (1.0, 0.7):
            for weighted in (0, 1):
                key = f"mm/p{p}_m{margin}_w{weighted}"
                for reduction in ("mean", "sum", "none"):
                    x = torch.tensor(scores, requires_grad=True)
                    loss = F.multi_margin_loss(
                        x, torch.tensor(labels), p=p, margin=margin,
                        weight=torch.tensor(weight) if weighted else None, reduction=reduction)
                    loss.sum().backward()
                    out[f"{key}/{reduction}"] = loss.detach().numpy()
                    out[f"{key}/{reduction}/grad"] = x.grad.numpy().copy()


def _ctc(out, rng):
    b, t, k, n = 4, 12, 6, 5
    logits = rng.standard_normal((b, t, k)) * 2
    frames = np.array([12, 9, 7, 12])
    label_lengths = np.array([5, 3, 0, 4])
    labels = rng.integers(1, k, (b, n))
    labels[0, 2] = labels[0, 1]  # a repeat: needs a blank between
    labels[3, :4] = 2  # all equal: 4 labels + 3 blanks = 7 <= 12 frames
    logit_paddings = (np.arange(t)[None, :] >= frames[:, None]).astype(np.float64)
    label_paddings = (np.arange(n)[None, :] >= label_lengths[:, None]).astype(np.float64)
    labels = np.where(label_paddings > 0, 0, labels)
    out.update({"ctc/logits": logits, "ctc/logit_paddings": logit_paddings, "ctc/labels": labels,
                "ctc/label_paddings": label_paddings})
    for reduction in ("none", "sum", "mean"):
        x = torch.tensor(logits, requires_grad=True)
        log_probs = F.log_softmax(x, dim=-1).transpose(0, 1)  # (T, N, C)
        loss = F.ctc_loss(log_probs, torch.tensor(labels), torch.tensor(frames),
                          torch.tensor(label_lengths), blank=0, reduction=reduction)
        loss.sum().backward()
        out[f"ctc/{reduction}"] = loss.detach().numpy()
        out[f"ctc/{reduction}/grad"] = x.grad.numpy().copy()


def _hinge(out, rng):
    scores = rng.standard_normal(20) * 1.5
    signs = np.where(rng.uniform(size=20) < 0.5, -1, 1)
    out.update({"hinge/scores": scores, "hinge/labels_pm": signs,
                "hinge/labels_01": (signs > 0).astype(np.int64)})
    out["hinge/sklearn_pm"] = np.asarray(hinge_loss(signs, scores))
    out["hinge/sklearn_01"] = np.asarray(hinge_loss((signs > 0).astype(np.int64), scores))


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20240611)
    out: dict[str, np.ndarray] = {}
    _multi_margin(out, rng)
    _ctc(out, rng)
    _hinge(out, rng)
    return out
