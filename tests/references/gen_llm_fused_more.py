"""Goldens for the fused KTO, GRPO and distillation losses, from Liger-Kernel 0.8.5
(``liger_kernel.chunked_loss``, ``compiled=False``, CPU).

``<case>/loss`` is the Liger module's loss and ``<case>/hidden``, ``<case>/weight``,
``<case>/bias`` its autograd gradients w.r.t. the (student) hidden states, head and bias:

- ``kto_*``: ``LigerFusedLinearKTOLoss(..., compiled=False)(h, W.T, y, b, desirable[, ref_h,
  ref_W.T, ref_b, kl])[0]``;
- ``grpo_*``: ``LigerFusedLinearGRPOLoss(..., compiled=False)(h, W.T, ids, mask, A, b,
  ref_logps, old_logps, ref_h, ref_W.T, ref_b, vllm_is_ratio, num_items_in_batch)[0]``;
- ``distill_*``: ``LigerFusedLinearJSDLoss`` / ``LigerFusedLinearCosineSimilarityLoss(...,
  compiled=False)(h_s, W_s.T, h_t, W_t.T, y, b_s, b_t)`` on the flattened tokens.

Heads are stored ``[D, V]`` (the transpose of Liger's ``lin_weight``). Inputs are float64;
Liger computes the policy log-softmax in float32 (``.float()``), so the goldens hold to
float32 accuracy. ``V = 11`` is not a multiple of the vocabulary chunk the tests use.
"""

from __future__ import annotations

import numpy as np
import torch
from liger_kernel.chunked_loss import (
    LigerFusedLinearCosineSimilarityLoss,
    LigerFusedLinearGRPOLoss,
    LigerFusedLinearJSDLoss,
    LigerFusedLinearKTOLoss,
)

torch.set_default_dtype(torch.float64)

B, T, D, V = 4, 5, 6, 11
DT, VT = 7, 13  # the distillation teacher: wider hidden state, padded vocabulary

KTO = {
    "kto_ref": ({"use_ref_model": True, "beta": 0.5}, True, 0.3),
    "kto_free": ({"average_log_prob": True, "beta": 0.2}, False, None),
}
# case: (options, reference: None | "model" | "logps", old logps, vllm_is_ratio, num_items)
GRPO = {
    "grpo_default": ({}, "model", True, False, None),
    "grpo_sequence": (
        {
            "loss_type": "grpo",
            "beta": 0.1,
            "epsilon_low": 0.1,
            "epsilon_high": 0.3,
            "importance_sampling_level": "sequence",
            "temperature": 0.7,
            "use_bias_correction_kl": True,
        },
        "logps",
        True,
        False,
        None,
    ),
    "grpo_bnpo_delta": (
        {"loss_type": "bnpo", "beta": 0.0, "delta": 1.2, "use_ref_model": False},
        None,
        True,
        True,
        None,
    ),
    "grpo_cispo": (
        {"loss_type": "cispo", "epsilon_high": 1.1, "beta": 0.0, "use_ref_model": False},
        None,
        True,
        False,
        23.0,
    ),
    "grpo_dr_grpo": (
        {"loss_type": "dr_grpo", "max_completion_length": 8, "beta": 0.04},
        "model",
        True,
        False,
        None,
    ),
    "grpo_sapo": (
        {"loss_type": "sapo", "beta": 0.0, "use_ref_model": False},
        None,
        True,
        False,
        None,
    ),
}
# case: (module, options, teacher vocabulary)
DISTILL = {
    "distill_jsd": (LigerFusedLinearJSDLoss, {}, VT),
    "distill_jsd_options": (
        LigerFusedLinearJSDLoss,
        {
            "beta": 0.3,
            "temperature": 2.0,
            "weight_hard_loss": 0.3,
            "weight_soft_loss": 0.7,
            "chunk_size": 4,
        },
        VT,
    ),
    "distill_forward_kl": (LigerFusedLinearJSDLoss, {"beta": 0.0, "temperature": 1.5}, VT),
    "distill_reverse_kl": (LigerFusedLinearJSDLoss, {"beta": 1.0, "weight_hard_loss": 0.0}, VT),
    "distill_cosine": (LigerFusedLinearCosineSimilarityLoss, {"chunk_size": 4}, VT),
}


def _grads(out, case, loss, **params):
    loss.backward()
    out[f"{case}/loss"] = loss.detach().numpy()
    for name, x in params.items():
        assert x.grad is not None
        out[f"{case}/{name}"] = x.grad.numpy()


def _log_softmax_at(h, w, b, ids, temperature=1.0):
    z = (h @ w + b) / temperature
    z = z - z.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return np.take_along_axis(logp, ids[..., None], -1)[..., 0]


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out: dict[str, np.ndarray] = {
        "hidden": rng.standard_normal((B, T, D)),
        "weight": rng.standard_normal((D, V)) * 0.8,
        "bias": rng.standard_normal(V),
        "ref_hidden": rng.standard_normal((B, T, D)),
        "ref_weight": rng.standard_normal((D, V)) * 0.8,
        "ref_bias": rng.standard_normal(V),
        "teacher_hidden": rng.standard_normal((B, T, DT)),
        "teacher_weight": rng.standard_normal((DT, VT)) * 0.8,
        "teacher_bias": rng.standard_normal(VT),
    }
    labels = rng.integers(0, V, (B, T))
    labels[:, 0] = -100  # prompt
    labels[1, :2] = -100
    labels[3, 3:] = -100  # padding
    out["labels"] = labels
    out["desirable"] = np.array([True, False, False, True])

    def params():
        return (
            torch.tensor(out["hidden"], requires_grad=True),
            torch.tensor(out["weight"], requires_grad=True),
            torch.tensor(out["bias"], requires_grad=True),
        )

    def reference(vocab=V):
        return (
            torch.tensor(out["ref_hidden"]),
            torch.tensor(out["ref_weight"][:, :vocab]).T.contiguous(),
            torch.tensor(out["ref_bias"][:vocab]),
        )

    # ---------------------------------------------------------------- KTO
    for case, (options, use_ref, kl) in KTO.items():
        module = LigerFusedLinearKTOLoss(compiled=False, **options)
        h, w, b = params()
        extra = (*reference(), None if kl is None else torch.tensor(kl)) if use_ref else ()
        loss = module(h, w.T, torch.tensor(labels), b, torch.tensor(out["desirable"]), *extra)[0]
        _grads(out, case, loss, hidden=h, weight=w, bias=b)

    # ---------------------------------------------------------------- GRPO
    ids = rng.integers(0, V, (B, T))
    mask = np.ones((B, T))
    mask[1, 3:] = 0
    mask[2, 4:] = 0
    out["grpo/ids"], out["grpo/mask"] = ids, mask
    out["grpo/advantages"] = rng.standard_normal(B)
    out["grpo/noise"] = rng.standard_normal((B, T))
    out["grpo/ref_noise"] = rng.standard_normal((B, T))
    out["grpo/is_ratio"] = rng.uniform(0.5, 1.5, (B, T))
    for case, (options, ref, old, is_ratio, num_items) in GRPO.items():
        temperature = options.get("temperature", 1.0)
        logp = _log_softmax_at(out["hidden"], out["weight"], out["bias"], ids, temperature)
        old_logps = logp + 0.3 * out["grpo/noise"]
        ref_logps = logp + 0.5 * out["grpo/ref_noise"]
        out[f"{case}/old_logprobs"] = old_logps
        out[f"{case}/ref_logprobs"] = ref_logps
        module = LigerFusedLinearGRPOLoss(compiled=False, **options)
        h, w, b = params()
        ref_model = reference() if ref == "model" else (None, None, None)
        loss = module(
            h,
            w.T,
            torch.tensor(ids),
            torch.tensor(mask),
            torch.tensor(out["grpo/advantages"]),
            b,
            torch.tensor(ref_logps) if ref == "logps" else None,
            torch.tensor(old_logps) if old else None,
            *ref_model,
            torch.tensor(out["grpo/is_ratio"]) if is_ratio else None,
            num_items,
        )[0]
        _grads(out, case, loss, hidden=h, weight=w, bias=b)

    # ---------------------------------------------------------------- distillation
    flat = labels.reshape(-1)
    for case, (cls, options, vocab_t) in DISTILL.items():
        module = cls(compiled=False, **options)
        h, w, b = params()
        loss = module(
            h.reshape(B * T, D),
            w.T,
            torch.tensor(out["teacher_hidden"].reshape(B * T, DT)),
            torch.tensor(out["teacher_weight"][:, :vocab_t]).T.contiguous(),
            torch.tensor(flat),
            b,
            torch.tensor(out["teacher_bias"][:vocab_t]),
        )
        _grads(out, case, loss, hidden=h, weight=w, bias=b)
    return out
