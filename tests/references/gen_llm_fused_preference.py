"""Goldens for the fused preference losses, from Liger-Kernel 0.8.5 (``compiled=False``, CPU).

``<case>/loss`` is ``liger_kernel.chunked_loss.LigerFusedLinear{DPO,ORPO,SimPO,CPO}Loss(...,
compiled=False)(W.T, h, y, b[, ref_h, ref_W.T, ref_b])[0]`` and ``<case>/hidden``,
``<case>/weight``, ``<case>/bias`` its autograd gradients. ``W`` is stored ``[D, V]`` (the
transpose of Liger's ``lin_weight``). Inputs are float64; Liger computes the log-softmax in
float32 (``logits.float()``), so the goldens hold to float32 accuracy. The labels ignore the
prompt tokens and one rejected completion's padding; ``V = 11`` is not a multiple of the
vocabulary chunk the tests use.
"""

from __future__ import annotations

import numpy as np
import torch
from liger_kernel.chunked_loss import (
    LigerFusedLinearCPOLoss,
    LigerFusedLinearDPOLoss,
    LigerFusedLinearORPOLoss,
    LigerFusedLinearSimPOLoss,
)

torch.set_default_dtype(torch.float64)

B, T, D, V = 2, 5, 6, 11

# case: (module, options, uses the reference model)
CASES = {
    "dpo_ref": (LigerFusedLinearDPOLoss, {}, True),
    "dpo_options": (
        LigerFusedLinearDPOLoss,
        {
            "use_ref_model": False,
            "loss_type": "robust",
            "label_smoothing": 0.1,
            "beta": 0.5,
            "compute_nll_loss": True,
            "alpha": 0.5,
            "average_log_prob": True,
        },
        False,
    ),
    "orpo": (LigerFusedLinearORPOLoss, {"beta": 0.3}, False),
    "simpo": (
        LigerFusedLinearSimPOLoss,
        {"beta": 2.0, "gamma": 0.7, "label_smoothing": 0.1, "alpha": 0.5},
        False,
    ),
    "cpo": (LigerFusedLinearCPOLoss, {"beta": 0.5, "label_smoothing": 0.1}, False),
}


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out: dict[str, np.ndarray] = {
        "hidden": rng.standard_normal((2 * B, T, D)),
        "weight": rng.standard_normal((D, V)) * 0.8,
        "bias": rng.standard_normal(V),
        "ref_hidden": rng.standard_normal((2 * B, T, D)),
        "ref_weight": rng.standard_normal((D, V)) * 0.8,
        "ref_bias": rng.standard_normal(V),
    }
    labels = rng.integers(0, V, (2 * B, T))
    labels[:, 0] = -100  # prompt
    labels[1, :2] = -100
    labels[3, 3:] = -100  # padding of a rejected completion
    out["labels"] = labels
    for case, (cls, options, use_ref) in CASES.items():
        module = cls(compiled=False, **options)
        h = torch.tensor(out["hidden"], requires_grad=True)
        w = torch.tensor(out["weight"], requires_grad=True)
        b = torch.tensor(out["bias"], requires_grad=True)
        extra = (
            (
                torch.tensor(out["ref_hidden"]),
                torch.tensor(out["ref_weight"]).T.contiguous(),
                torch.tensor(out["ref_bias"]),
            )
            if use_ref
            else ()
        )
        loss = module(w.T, h, torch.tensor(labels), b, *extra)[0]
        loss.backward()
        out[f"{case}/loss"] = loss.detach().numpy()
        for name, x in (("hidden", h), ("weight", w), ("bias", b)):
            assert x.grad is not None
            out[f"{case}/{name}"] = x.grad.numpy()
    return out
