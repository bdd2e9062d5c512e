"""Goldens for the linear-chain CRF (``crf_loss``, ``crf_decode``), torch 2.13 CPU, float64.

Anchor: pytorch-crf 0.7.2 (``pip install pytorch-crf``), ``torchcrf.CRF(num_tags,
batch_first=True)`` with its ``start_transitions``, ``end_transitions`` and
``transitions`` parameters set to the test values; ``crf(emissions, tags, mask,
reduction="none")`` is the per-sequence log-likelihood (the loss is its negation), with
``mask = arange(T) < lengths``; gradients of the summed log-likelihood w.r.t. the emissions
and the three parameters; ``crf.decode(emissions, mask)`` for the Viterbi tags (padded with
0). The "no start/end" case (TF-Addons ``crf_log_likelihood`` semantics) is the same CRF
with zero start and end scores. pytorch-crf needs the first step of every sequence to be
valid, so lengths are >= 1 here (length 0 is tested against its definition).
"""

from __future__ import annotations

import numpy as np
import torch
from torchcrf import CRF

torch.set_default_dtype(torch.float64)

B, T, C = 4, 5, 3


def _case(out, key, x, tags, lengths, trans, start, end):
    crf = CRF(C, batch_first=True)
    with torch.no_grad():
        crf.transitions.copy_(torch.tensor(trans))
        crf.start_transitions.copy_(torch.tensor(start))
        crf.end_transitions.copy_(torch.tensor(end))
    emissions = torch.tensor(x, requires_grad=True)
    mask = torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]
    llh = crf(emissions, torch.tensor(tags), mask=mask, reduction="none")
    (-llh.sum()).backward()
    out[f"{key}_none"] = -llh.detach().numpy()
    out[f"{key}_g_x"] = emissions.grad.numpy()
    out[f"{key}_g_trans"] = crf.transitions.grad.numpy()
    out[f"{key}_g_start"] = crf.start_transitions.grad.numpy()
    out[f"{key}_g_end"] = crf.end_transitions.grad.numpy()
    decoded = crf.decode(emissions.detach(), mask=mask)
    padded = np.zeros((B, T), np.int64)
    for b, seq in enumerate(decoded):
        padded[b, : len(seq)] = seq
    out[f"{key}_decode"] = padded


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20260313)
    x = rng.standard_normal((B, T, C))
    tags = rng.integers(0, C, (B, T))
    trans = rng.standard_normal((C, C))
    start, end = rng.standard_normal(C), rng.standard_normal(C)
    lengths = np.array([T, 3, 1, 4])
    out = {"x": x, "tags": tags, "trans": trans, "start": start, "end": end, "lengths": lengths}
    _case(out, "full", x, tags, np.full(B, T), trans, start, end)
    _case(out, "lengths", x, tags, lengths, trans, start, end)
    _case(out, "no_ends", x, tags, lengths, trans, np.zeros(C), np.zeros(C))
    return out
