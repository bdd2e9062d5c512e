"""Goldens for the llm policy and distillation losses (float64 torch, values and gradients).

Anchors:

- ``grpo_loss``: Liger-Kernel 0.8.5 ``LigerFusedLinearGRPOFunction.ppo_loss_fn`` (a plain-torch
  staticmethod on per-token log-probabilities) for every loss type, ``delta``, bias-corrected KL,
  ``vllm_is_ratio`` (our ``importance_weights``) and ``num_items_in_batch`` (our ``normalizer``);
  gradients w.r.t. ``per_token_logps`` by autograd; its metrics give the KL and clip fractions.
- ``kl_penalty``: Liger ``k3_loss_fn(ref, logp)`` for k3; k1/k2/abs/low_var_kl are transcribed from
  verl ``core_algos.kl_penalty`` (not installable here) as torch expressions.
- ``grpo_advantages``: TRL 1.16 ``GRPOTrainer`` advantage lines with TRL's own ``nanstd``
  (``trl/trainer/utils.py``, loaded from the installed source by ``ast``: importing ``trl.trainer``
  needs a torchvision that matches torch, which the bench environment lacks).
- ``ppo_value_loss``: transcription of TRL ``PPOTrainer`` (``vpredclipped``, ``0.5 * masked_mean``);
  TRL 1.16 ships no PPO trainer.
- ``kd_loss``: torch ``F.kl_div(log_softmax(s/T), log_softmax(t/T), log_target=True,
  reduction="batchmean") * T**2`` on the non-ignored rows.
- ``generalized_jsd_loss``: TRL 1.16 ``GKDTrainer.generalized_jsd_loss`` (the staticmethod, loaded by
  ``ast`` from the installed ``trl/experimental/gkd/gkd_trainer.py`` for the same reason), with labels.
- ``tvd_loss``: the torch composition ``0.5 * (p - q).abs().sum(-1)`` (Liger's TVD is Triton-only).
- ``skew_kl_loss``: DistiLLM ``distillm/losses.py`` ``skewed_forward_kl``/``skewed_reverse_kl``
  (github.com/jongwooko/distillm at d47e77ff9d27721783b32213be38c1204230cc0a), not on PyPI: write it
  outside the repository first, ``git show <commit>:distillm/losses.py > /tmp/distillm_losses.py``
  (or set ``DISTILLM_LOSSES``); only the values it produced are committed.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import pathlib

import numpy as np
import torch
import torch.nn.functional as F
from liger_kernel.chunked_loss.grpo_loss import LigerFusedLinearGRPOFunction, k3_loss_fn

torch.set_default_dtype(torch.float64)

B, T, V = 4, 6, 7
INVALID = 1.0  # TRL's INVALID_LOGPROB at padding


def _trl_function(relative: str, name: str, cls: str | None = None):
    """A function of the installed TRL, compiled from its source without importing its package."""
    spec = importlib.util.find_spec("trl")
    assert spec is not None and spec.origin is not None
    path = pathlib.Path(spec.origin).parent / relative
    tree = ast.parse(path.read_text())
    body = tree.body
    if cls is not None:
        body = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls).body
    fn = next(n for n in body if isinstance(n, ast.FunctionDef) and n.name == name)
    fn.decorator_list = []
    namespace = {"torch": torch, "F": F}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), str(path), "exec"), namespace)
    return namespace[name]


def _policy_inputs(rng):
    mask = np.ones((B, T), bool)
    mask[0, 4:] = False
    mask[1, 2:] = False
    mask[3, :] = False  # a sequence with no completion tokens
    lp = -rng.uniform(0.1, 3.0, (B, T))
    old = lp + 0.3 * rng.standard_normal((B, T))
    ref = lp + 0.5 * rng.standard_normal((B, T))
    adv = rng.standard_normal(B)
    isw = rng.uniform(0.5, 1.5, (B, T))
    for a in (lp, old, ref):
        a[~mask] = INVALID
    return {
        "mask": mask,
        "logprobs": lp,
        "old_logprobs": old,
        "ref_logprobs": ref,
        "advantages": adv,
        "importance_weights": isw,
    }


# name: ppo_loss_fn options (beyond the inputs), and which optional inputs the case uses
GRPO_CASES = {
    "dapo": ({}, ("old",)),
    "dapo_none_old_kl": ({"beta": 0.04}, ("ref",)),
    "grpo_kl": ({"loss_type": "grpo", "beta": 0.04, "epsilon_high": 0.28}, ("old", "ref")),
    "bnpo_delta_is": (
        {"loss_type": "bnpo", "delta": 1.1, "epsilon_low": 0.1, "epsilon_high": 0.1},
        ("old", "isw"),
    ),
    "dr_grpo": ({"loss_type": "dr_grpo", "max_completion_length": 8, "beta": 0.1}, ("old", "ref")),
    "cispo": ({"loss_type": "cispo", "epsilon_high": 1.05}, ("old",)),
    "sapo": (
        {
            "loss_type": "sapo",
            "beta": 0.04,
            "sapo_temperature_pos": 1.2,
            "sapo_temperature_neg": 0.9,
        },
        ("old", "ref"),
    ),
    "sequence_bias": (
        {
            "loss_type": "grpo",
            "importance_sampling_level": "sequence",
            "beta": 0.04,
            "use_bias_correction_kl": True,
        },
        ("old", "ref"),
    ),
    "dapo_normalizer_bias": (
        {"beta": 0.1, "use_bias_correction_kl": True, "num_items_in_batch": 30.0},
        ("old", "ref"),
    ),
}


def _grpo(inputs, options, uses):
    mask = torch.tensor(inputs["mask"], dtype=torch.float64)
    lp = torch.tensor(inputs["logprobs"], requires_grad=True)
    kwargs = {"epsilon_low": 0.2, "epsilon_high": 0.2, "beta": 0.0, "loss_type": "dapo", **options}
    out, metrics = LigerFusedLinearGRPOFunction.ppo_loss_fn(
        lp,
        mask,
        torch.tensor(inputs["advantages"]),
        mask,
        ref_per_token_logps=torch.tensor(inputs["ref_logprobs"]) if "ref" in uses else None,
        old_per_token_logps=torch.tensor(inputs["old_logprobs"]) if "old" in uses else None,
        vllm_is_ratio=torch.tensor(inputs["importance_weights"]) if "isw" in uses else None,
        **kwargs,
    )
    out.backward()
    kl = metrics[0].item() if kwargs["beta"] != 0.0 else 0.0
    return out.item(), lp.grad.numpy(), kl, metrics[-1].item()


def _kl_penalty(lp, ref):
    """k3 from Liger; the others transcribed from verl ``kl_penalty``."""
    x = ref - lp
    clamped = torch.clamp(x, min=-20, max=20)
    return {
        "k1": lp - ref,
        "k2": 0.5 * (lp - ref).square(),
        "k3": k3_loss_fn(ref, lp),
        "abs": (lp - ref).abs(),
        "low_var_kl": torch.clamp(clamped.exp() - clamped - 1, min=-10, max=10),
    }


def _advantages(rewards, group_size, scale):
    nanstd = _trl_function("trainer/utils.py", "nanstd")
    rewards = torch.tensor(rewards)
    mean = torch.nanmean(rewards.view(-1, group_size), dim=1).repeat_interleave(group_size, dim=0)
    if scale in ("group", "none"):
        std = nanstd(rewards.view(-1, group_size), dim=1).repeat_interleave(group_size, dim=0)
    else:
        std = nanstd(rewards).expand_as(rewards)
    adv = rewards - mean
    if scale != "none":
        adv = adv / (std + 1e-4)
    return adv.numpy()


def _value_loss(v, old, ret, mask, clip):
    v = torch.tensor(v, requires_grad=True)
    old, ret, m = torch.tensor(old), torch.tensor(ret), torch.tensor(mask)
    vpredclipped = torch.clamp(v, old - clip, old + clip)
    vf_loss_max = torch.max(torch.square(v - ret), torch.square(vpredclipped - ret))
    loss = 0.5 * (vf_loss_max * m).sum() / m.sum()
    loss.backward()
    return loss.item(), v.grad.numpy()


def _distillm():
    path = os.environ.get("DISTILLM_LOSSES", "/tmp/distillm_losses.py")
    spec = importlib.util.spec_from_file_location("distillm_losses", path)
    assert spec is not None and spec.loader is not None, (
        f"write DistiLLM's losses.py to {path} first"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _grad(fn, s, t):
    s = torch.tensor(s, requires_grad=True)
    t = torch.tensor(t, requires_grad=True)
    out = fn(s, t)
    out.backward()
    return out.item(), s.grad.numpy(), t.grad.numpy()


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out: dict[str, np.ndarray] = {}
    inputs = _policy_inputs(rng)
    out.update({f"grpo/{k}": np.asarray(v) for k, v in inputs.items()})
    for case, (options, uses) in GRPO_CASES.items():
        value, grad, kl, clipped = _grpo(inputs, options, uses)
        out[f"grpo/{case}/value"] = np.asarray(value)
        out[f"grpo/{case}/grad"] = grad
        out[f"grpo/{case}/kl"] = np.asarray(kl)
        out[f"grpo/{case}/clipped"] = np.asarray(clipped)

    lp = torch.tensor(-rng.uniform(0.05, 4.0, (3, 5)))
    ref = lp - torch.tensor(rng.standard_normal((3, 5)))
    ref[0, 0] = lp[0, 0] + 30.0  # beyond verl's +-20 clamp
    out["kl/logprobs"], out["kl/ref_logprobs"] = lp.numpy(), ref.numpy()
    lp.requires_grad_(True)
    for name, value in _kl_penalty(lp, ref).items():
        (grad,) = torch.autograd.grad(value.mean(), lp)
        out[f"kl/{name}"], out[f"kl/{name}/grad"] = value.detach().numpy(), grad.numpy()

    rewards = rng.standard_normal(8)
    rewards[4:6] = 1.5  # a group with constant rewards
    out["adv/rewards"] = rewards
    for scale in ("group", "batch", "none"):
        out[f"adv/{scale}"] = _advantages(rewards, 2, scale)
    out["adv/group4"] = _advantages(rewards, 4, "group")

    v = rng.standard_normal((B, T))
    old_v = v + 0.4 * rng.standard_normal((B, T))
    ret = v + rng.standard_normal((B, T))
    vmask = inputs["mask"].copy()
    out.update(
        {"value/values": v, "value/old_values": old_v, "value/returns": ret, "value/mask": vmask}
    )
    for clip in (0.2, 0.05):
        value, grad = _value_loss(v, old_v, ret, vmask.astype(np.float64), clip)
        out[f"value/{clip}/value"], out[f"value/{clip}/grad"] = np.asarray(value), grad

    # Distillation: [B, T, V] logits with ignored positions (labels == -100).
    s = 2.0 * rng.standard_normal((B, T, V))
    t = 2.0 * rng.standard_normal((B, T, V))
    labels = rng.integers(0, V, (B, T))
    labels[0, 3:] = -100
    labels[2, :] = -100
    keep = labels != -100
    out.update({"distill/student": s, "distill/teacher": t, "distill/labels": labels})

    def kd(temperature, reverse):
        def f(s, t):
            ls, lt = (
                F.log_softmax(s[keep] / temperature, -1),
                F.log_softmax(t[keep] / temperature, -1),
            )
            a, b = (lt, ls) if reverse else (ls, lt)
            return F.kl_div(a, b, log_target=True, reduction="batchmean") * temperature**2

        return f

    for name, (temperature, reverse) in {
        "t1": (1.0, False),
        "t2": (2.0, False),
        "t2_reverse": (2.0, True),
    }.items():
        value, gs, gt = _grad(kd(temperature, reverse), s, t)
        out[f"kd/{name}/value"], out[f"kd/{name}/gs"], out[f"kd/{name}/gt"] = (
            np.asarray(value),
            gs,
            gt,
        )

    gjsd = _trl_function(
        "experimental/gkd/gkd_trainer.py", "generalized_jsd_loss", cls="GKDTrainer"
    )
    lab = torch.tensor(labels)
    for beta, temperature in ((0.5, 1.0), (0.1, 2.0), (0.0, 1.0), (1.0, 1.5)):
        value, gs, gt = _grad(
            lambda a, b, beta=beta, temperature=temperature: gjsd(
                a, b, labels=lab, beta=beta, temperature=temperature
            ),
            s,
            t,
        )
        key = f"gjsd/{beta}_{temperature}"
        out[f"{key}/value"], out[f"{key}/gs"], out[f"{key}/gt"] = np.asarray(value), gs, gt

    def tvd(temperature):
        def f(a, b):
            p, q = F.softmax(a / temperature, -1), F.softmax(b / temperature, -1)
            return 0.5 * (p - q).abs().sum(-1)[keep].mean()

        return f

    for temperature in (1.0, 2.0):
        value, gs, gt = _grad(tvd(temperature), s, t)
        key = f"tvd/{temperature}"
        out[f"{key}/value"], out[f"{key}/gs"], out[f"{key}/gt"] = np.asarray(value), gs, gt

    distillm = _distillm()
    batch = {"label": lab}
    entropy = (
        -(F.softmax(torch.tensor(t), -1) * F.log_softmax(torch.tensor(t), -1)).sum(-1)[keep].mean()
    )
    out["skew/teacher_entropy"] = np.asarray(entropy.item())
    for lam in (0.1, 0.5):
        for name, fn in (
            ("forward", distillm.skewed_forward_kl),
            ("reverse", distillm.skewed_reverse_kl),
        ):
            value, gs, gt = _grad(lambda a, b, fn=fn, lam=lam: fn(a, b, batch, lam=lam), s, t)
            key = f"skew/{name}/{lam}"
            out[f"{key}/value"], out[f"{key}/gs"], out[f"{key}/gt"] = np.asarray(value), gs, gt
    return out
