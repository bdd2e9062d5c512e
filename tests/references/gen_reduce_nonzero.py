"""Goldens for ``reduction="mean_nonzero"``: pytorch-metric-learning's ``AvgNonZeroReducer``.

PML ``TripletMarginLoss`` on explicit triplets (``indices_tuple``) with a plain
Euclidean ``LpDistance`` is torch's ``triplet_margin_loss`` per triplet; with
``AvgNonZeroReducer`` the mean runs over the triplets whose loss is positive. PML
``SupConLoss`` (default ``AvgNonZeroReducer``) drops anchors without a positive.
"""

from __future__ import annotations

import numpy as np
import torch

torch.set_default_dtype(torch.float64)


def generate() -> dict[str, np.ndarray]:
    from pytorch_metric_learning import distances, losses, reducers

    rng = np.random.default_rng(0)
    out: dict[str, np.ndarray] = {}
    a, p, n = (rng.standard_normal((12, 4)) for _ in range(3))
    out.update(a=a, p=p, n=n)
    for margin in (0.3, 1.0):
        emb = torch.tensor(np.concatenate([a, p, n]), requires_grad=True)
        idx = torch.arange(12)
        loss_fn = losses.TripletMarginLoss(
            margin=margin,
            distance=distances.LpDistance(normalize_embeddings=False, p=2),
            reducer=reducers.AvgNonZeroReducer(),
        )
        loss = loss_fn(emb, torch.zeros(36, dtype=torch.long), (idx, idx + 12, idx + 24))
        loss.backward()
        out[f"triplet_{margin}"] = loss.detach().numpy()
        out[f"triplet_{margin}_grad"] = emb.grad.numpy().reshape(3, 12, 4)
    x = rng.standard_normal((8, 5))
    labels = np.array([0, 1, 0, 2, 1, 0, 3, 1])  # 2 and 3 have no positive: loss 0, not counted
    tx = torch.tensor(x, requires_grad=True)
    loss = losses.SupConLoss(temperature=0.5)(tx, torch.tensor(labels))
    loss.backward()
    out.update(supcon_x=x, supcon_labels=labels, supcon=loss.detach().numpy(), supcon_grad=tx.grad.numpy())
    return out
