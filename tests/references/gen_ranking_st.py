"""Goldens for the ranking options mapped to sentence-transformers 6.3 CrossEncoder losses.

``ListNetLoss`` (``softmax_ranking_loss(label_fn=...)``, API.md E4), ``ListMLELoss`` and
``PListMLELoss`` (``listmle_loss(position_weights=...)``, E3), each run with a stub
CrossEncoder whose scores are fixed logits (a parameter, so the gradient w.r.t. the
scores is the parameter's gradient). Ragged lists are padded at the end: ``where``
is a prefix mask. Labels are distinct within a list, so the order is unambiguous.

sentence-transformers 6.3 imports transformers, whose ``PreTrainedModel`` fails to
import beside the installed torchvision (``operator torchvision::nms does not
exist``); torchvision is hidden from ``importlib.util.find_spec`` before the import.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import torch
from torch import nn

_find_spec = importlib.util.find_spec


def _no_torchvision(name, *args, **kwargs):
    return None if name.split(".")[0] == "torchvision" else _find_spec(name, *args, **kwargs)


importlib.util.find_spec = _no_torchvision
from sentence_transformers.cross_encoder import losses  # noqa: E402

importlib.util.find_spec = _find_spec


class StubCrossEncoder(nn.Module):
    """Returns the next ``len(pairs)`` fixed logits for each call, in the order of the pairs."""

    num_labels = 1

    def __init__(self, logits: np.ndarray) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.tensor(logits, dtype=torch.float32))
        self.offset = 0

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def preprocess(self, pairs, prompt=None, task=None):
        return {"n": torch.tensor(len(pairs))}

    def forward(self, tokens):
        n = int(tokens["n"])
        out = self.logits[self.offset : self.offset + n]
        self.offset += n
        return {"scores": out[:, None]}


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    sizes = [4, 3, 5, 1]
    width = max(sizes)
    scores = rng.standard_normal((len(sizes), width)).astype(np.float32)
    labels = np.zeros((len(sizes), width), np.float32)
    where = np.zeros((len(sizes), width), bool)
    for i, n in enumerate(sizes):
        labels[i, :n] = rng.permutation(n).astype(np.float32) + rng.uniform(0, 0.5, n).astype(
            np.float32
        )
        where[i, :n] = True
    out = {"scores": scores, "labels": labels, "where": where}
    queries = [f"q{i}" for i in range(len(sizes))]
    docs = [[f"d{i}{j}" for j in range(n)] for i, n in enumerate(sizes)]
    label_lists = [torch.tensor(labels[i, :n]) for i, n in enumerate(sizes)]
    flat = np.concatenate([scores[i, :n] for i, n in enumerate(sizes)])
    cases = {
        "listnet": lambda m: losses.ListNetLoss(m),
        "listmle": lambda m: losses.ListMLELoss(m, respect_input_order=False),
        "plistmle": lambda m: losses.PListMLELoss(m, respect_input_order=False),
    }
    for name, make in cases.items():
        model = StubCrossEncoder(flat)
        loss = make(model)([queries, docs], label_lists)
        loss.backward()
        grad = np.zeros_like(scores)
        grad[where] = model.logits.grad.numpy()
        out[f"{name}/value"] = np.asarray(loss.item(), np.float32)
        out[f"{name}/grad"] = grad
    return out
