"""Goldens for the preference losses (DPO and variants, SimPO, ORPO, CPO, KTO, BCO).

Values (``"mean"`` and the per-pair / per-example terms) and gradients of the mean w.r.t.
the policy log-probabilities, torch 2.13 CPU in float64:

- Liger-Kernel 0.8.5 (``liger_kernel.chunked_loss``), the static, plain-torch
  ``preference_loss_fn`` of ``LigerFusedLinearDPOFunction`` (sigmoid, hinge, exo_pair,
  nca_pair, robust, bco_pair, sppo_hard, apo_zero, apo_down, discopop), ``...SimPOFunction``,
  ``...ORPOFunction``, ``...CPOFunction`` (sigmoid) and ``...KTOFunction``. Liger returns
  the mean over pairs (``sum / (len(full_target) // 2)``); the per-pair terms are calls on
  one pair at a time (``full_target`` of length 2).
- TRL 1.16.0 (installed): no standalone functions, so the branches are TRANSCRIBED here in
  torch from the installed source (flag: transcribe):
  ``trl/trainer/dpo_trainer.py`` ``DPOTrainer._compute_loss`` (ipo, with and without the
  length normalisation, aot, aot_unpaired, sigmoid_norm, and the f-divergence scores:
  forward_kl, js_divergence, alpha_divergence with its clamp at 80);
  ``trl/experimental/cpo/cpo_trainer.py`` ``CPOTrainer.cpo_loss`` (hinge, ipo);
  ``trl/experimental/orpo/orpo_trainer.py`` ``log1mexp`` / ``odds_ratio_loss`` (near 0);
  ``trl/trainer/kto_trainer.py`` ``KTOTrainer._compute_loss`` (``desirable_weight``,
  ``undesirable_weight``, ``apo_zero_unpaired``, the KL estimate
  ``(KL_logps - ref_KL_logps).mean().clamp(min=0)``).
  cDPO (``"sigmoid"`` with ``label_smoothing > 0``) is TRL <= 0.28's sigmoid branch,
  ``-logsigmoid(b*d)*(1-ls) - logsigmoid(-b*d)*ls``.
- BCO: TRL 1.16 no longer ships it (``trl.experimental.bco`` was removed in 1.14). The
  ``BCOTrainer.bco_loss`` lines and ``RunningMoments.update`` of trl 1.13.0
  ``trl/experimental/bco/bco_trainer.py`` are TRANSCRIBED here (flag: transcribe); the
  transcription was checked once against trl 1.13.0's own ``RunningMoments`` class (run
  from the unpacked wheel in a scratch folder outside the repository, nothing of it
  committed): identical values, gradients and states over the two steps below.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from liger_kernel.chunked_loss.cpo_loss import LigerFusedLinearCPOFunction
from liger_kernel.chunked_loss.dpo_loss import LigerFusedLinearDPOFunction
from liger_kernel.chunked_loss.kto_loss import LigerFusedLinearKTOFunction
from liger_kernel.chunked_loss.orpo_loss import LigerFusedLinearORPOFunction
from liger_kernel.chunked_loss.simpo_loss import LigerFusedLinearSimPOFunction

torch.set_default_dtype(torch.float64)

B = 6

# name: (loss_type, options of jaxloss.dpo_loss) for Liger's DPO.
LIGER_DPO = {
    "sigmoid": ("sigmoid", {}),
    "sigmoid_b05": ("sigmoid", {"beta": 0.5}),
    "hinge": ("hinge", {}),
    "exo_pair": ("exo_pair", {"label_smoothing": 1e-3}),
    "nca_pair": ("nca_pair", {}),
    "robust": ("robust", {"label_smoothing": 0.2}),
    "bco_pair": ("bco_pair", {}),
    "sppo_hard": ("sppo_hard", {}),
    "apo_zero": ("apo_zero", {}),
    "apo_down": ("apo_down", {}),
    "discopop": ("discopop", {"discopop_tau": 0.05}),
    "discopop_t2": ("discopop", {"discopop_tau": 2.0, "beta": 0.3}),
}
# name: (loss_type, label_smoothing, beta, f_divergence, f_alpha, lengths) for TRL's DPO.
TRL_DPO = {
    "cdpo": ("sigmoid", 0.1, 0.1, "reverse_kl", 1.0, False),
    "ipo": ("ipo", 0.0, 0.1, "reverse_kl", 1.0, False),
    "ipo_len": ("ipo", 0.0, 0.1, "reverse_kl", 1.0, True),
    "sigmoid_norm": ("sigmoid_norm", 0.0, 0.5, "reverse_kl", 1.0, True),
    "aot": ("aot", 0.0, 0.1, "reverse_kl", 1.0, False),
    "aot_ls": ("aot", 0.1, 0.1, "reverse_kl", 1.0, False),
    "aot_unpaired": ("aot_unpaired", 0.05, 0.1, "reverse_kl", 1.0, False),
    "forward_kl": ("sigmoid", 0.0, 0.1, "forward_kl", 1.0, False),
    "js": ("sigmoid", 0.0, 0.1, "js_divergence", 1.0, False),
    "alpha05": ("sigmoid", 0.0, 0.1, "alpha_divergence", 0.5, False),
    "alpha5_hinge": ("hinge", 0.0, 0.1, "alpha_divergence", 5.0, False),
    "alpha1": ("sigmoid", 0.0, 0.1, "alpha_divergence", 1.0, False),
}


def _t(x, grad=False):
    return torch.tensor(np.asarray(x, np.float64), requires_grad=grad)


def _store(out, key, loss_fn, policy, terms):
    """``loss_fn(*policy) -> mean``; stores the value, the gradients and the terms."""
    xs = [_t(p, grad=True) for p in policy]
    loss = loss_fn(*xs)
    loss.backward()
    out[key] = loss.detach().numpy()
    for i, x in enumerate(xs):
        out[f"{key}/g{i}"] = x.grad.numpy()
    out[f"{key}/none"] = np.asarray(terms, np.float64)


# --------------------------------------------------------------------------- DPO (TRL transcription)


def _trl_scores(logratios, f_divergence, alpha):
    if f_divergence == "reverse_kl":
        return logratios
    if f_divergence == "forward_kl":
        return 1 - torch.exp(-logratios)
    if f_divergence == "js_divergence":
        return math.log(2) + F.logsigmoid(logratios)
    if abs(alpha - 1.0) < 1e-6:
        return logratios
    coef = 1.0 / (alpha - 1.0)
    t = torch.clamp((alpha - 1.0) * logratios, max=80.0)
    return (torch.exp(t) - 1.0) * coef


def _trl_dpo(pc, pr, rc, rr, lc, lr, loss_type, ls, beta, f_divergence, alpha, lengths):
    chosen_logratios, rejected_logratios = pc - rc, pr - rr
    chosen_scores = _trl_scores(chosen_logratios, f_divergence, alpha)
    rejected_scores = _trl_scores(rejected_logratios, f_divergence, alpha)
    delta_score = chosen_scores - rejected_scores
    if loss_type == "sigmoid":  # TRL 0.28's branch: with label smoothing (cDPO)
        losses = (
            -F.logsigmoid(beta * delta_score) * (1 - ls) - F.logsigmoid(-beta * delta_score) * ls
        )
    elif loss_type == "hinge":
        losses = torch.relu(1 - beta * delta_score)
    elif loss_type in ("ipo", "sigmoid_norm"):
        if lengths:
            delta = chosen_scores / lc.clamp(min=1.0) - rejected_scores / lr.clamp(min=1.0)
        else:  # the paper's and Liger's (unnormalised) IPO
            delta = delta_score
        if loss_type == "ipo":
            losses = (delta - 1 / (2 * beta)) ** 2
        else:
            losses = -F.logsigmoid(beta * delta)
    elif loss_type == "aot":
        logratios_sorted, _ = torch.sort(pc - pr, dim=0)
        ref_logratios_sorted, _ = torch.sort(rc - rr, dim=0)
        delta = logratios_sorted - ref_logratios_sorted
        losses = -F.logsigmoid(beta * delta) * (1 - ls) - F.logsigmoid(-beta * delta) * ls
    elif loss_type == "aot_unpaired":
        chosen_sorted, _ = torch.sort(chosen_logratios, dim=0)
        rejected_sorted, _ = torch.sort(rejected_logratios, dim=0)
        delta = chosen_sorted - rejected_sorted
        losses = -F.logsigmoid(beta * delta) * (1 - ls) - F.logsigmoid(-beta * delta) * ls
    else:
        raise ValueError(loss_type)
    return losses


def _dpo(out, rng):
    pc, pr, rc, rr = (rng.uniform(-30.0, -2.0, B) for _ in range(4))
    # Pairs where the chosen completion gained a lot: the alpha=5 clamp (4 * logratio > 80) is hit.
    pc[0], rc[0] = -2.0, -28.0
    lc, lr = rng.integers(3, 20, B).astype(np.float64), rng.integers(3, 20, B).astype(np.float64)
    lr[1] = 0.0  # clamped to one token
    out.update({"dpo/pc": pc, "dpo/pr": pr, "dpo/rc": rc, "dpo/rr": rr, "dpo/lc": lc, "dpo/lr": lr})
    fn = LigerFusedLinearDPOFunction.preference_loss_fn
    for name, (loss_type, options) in LIGER_DPO.items():
        kw = {"beta": 0.1, "label_smoothing": 0.0, "discopop_tau": 0.05, **options}

        def liger(c, r, i=slice(None), loss_type=loss_type, kw=kw):
            ref = (_t(rc[i]), _t(rr[i]))
            target = torch.zeros(2 * len(np.atleast_1d(rc[i])))
            return fn(c, r, target, *ref, loss_type=loss_type, **kw)

        terms = [liger(_t(pc[[i]]), _t(pr[[i]]), [i])[0].item() for i in range(B)]
        _store(out, f"dpo/{name}", lambda c, r, liger=liger: liger(c, r)[0], (pc, pr), terms)
        if name == "sigmoid":
            _, chosen_rewards, rejected_rewards = liger(_t(pc), _t(pr))
            out["dpo/sigmoid/chosen_rewards"] = chosen_rewards.numpy()
            out["dpo/sigmoid/rejected_rewards"] = rejected_rewards.numpy()
    for name, case in TRL_DPO.items():

        def trl(c, r, case=case):
            return _trl_dpo(c, r, _t(rc), _t(rr), _t(lc), _t(lr), *case)

        terms = trl(_t(pc), _t(pr)).numpy()
        _store(out, f"dpo/{name}", lambda c, r, trl=trl: trl(c, r).mean(), (pc, pr), terms)


# --------------------------------------------------------------------------- SimPO, CPO, ORPO


def _pairwise(out, rng):
    c, r = rng.uniform(-3.0, -0.05, B), rng.uniform(-3.0, -0.05, B)
    out.update({"pair/c": c, "pair/r": r})
    target2 = torch.zeros(2)
    target = torch.zeros(2 * B)
    liger = {
        "simpo": (LigerFusedLinearSimPOFunction.preference_loss_fn, {}),
        "simpo_b2": (
            LigerFusedLinearSimPOFunction.preference_loss_fn,
            {"beta": 2.0, "gamma": 1.0, "label_smoothing": 0.1},
        ),
        "cpo": (LigerFusedLinearCPOFunction.preference_loss_fn, {}),
        "cpo_ls": (
            LigerFusedLinearCPOFunction.preference_loss_fn,
            {"beta": 0.5, "label_smoothing": 0.1},
        ),
        "orpo": (LigerFusedLinearORPOFunction.preference_loss_fn, {}),
        "orpo_b05": (LigerFusedLinearORPOFunction.preference_loss_fn, {"beta": 0.5}),
    }
    for name, (fn, kw) in liger.items():
        terms = [fn(_t(c[[i]]), _t(r[[i]]), target2, **kw)[0].item() for i in range(B)]
        _store(
            out, f"pair/{name}", lambda x, y, fn=fn, kw=kw: fn(x, y, target, **kw)[0], (c, r), terms
        )

    def trl_cpo(x, y, loss_type, beta=0.1):
        logits = x - y
        if loss_type == "hinge":
            return torch.relu(1 - beta * logits)
        return (logits - 1 / (2 * beta)) ** 2

    for loss_type in ("hinge", "ipo"):
        terms = trl_cpo(_t(c), _t(r), loss_type).numpy()
        _store(
            out,
            f"pair/cpo_{loss_type}",
            lambda x, y, t=loss_type: trl_cpo(x, y, t).mean(),
            (c, r),
            terms,
        )

    # ORPO near a log-probability of 0 (TRL's log1mexp, the expm1 branch).
    c0 = np.array([-1e-3, -1e-6, -0.5, -2.0])
    r0 = np.array([-0.3, -1e-4, -1e-5, -4.0])
    out.update({"orpo0/c": c0, "orpo0/r": r0})

    def log1mexp(x):
        return torch.where(
            x < -0.6931471805599453, torch.log1p(-torch.exp(x)), torch.log(-torch.expm1(x))
        )

    def trl_orpo(x, y, beta=0.1):
        log_odds = (x - y) - (log1mexp(x) - log1mexp(y))
        return -beta * F.logsigmoid(log_odds)  # TRL: loss = nll - (beta * ratio).mean()

    _store(
        out, "orpo0", lambda x, y: trl_orpo(x, y).mean(), (c0, r0), trl_orpo(_t(c0), _t(r0)).numpy()
    )


# --------------------------------------------------------------------------- KTO


def _kto(out, rng):
    p, q = rng.uniform(-30.0, -2.0, B), rng.uniform(-30.0, -2.0, B)
    label = np.array([True, False, True, True, False, False])
    kl = 0.7
    out.update({"kto/p": p, "kto/q": q, "kto/label": label, "kto/kl": np.float64(kl)})
    fn = LigerFusedLinearKTOFunction.preference_loss_fn

    def liger(x, i=slice(None)):
        lab = torch.tensor(np.atleast_1d(label[i]))
        return fn(
            x, lab, torch.zeros(len(lab)), _t(np.atleast_1d(q[i])), beta=0.1, kl=torch.tensor(kl)
        )[0]

    terms = [liger(_t(p[[i]]), [i]).item() for i in range(B)]
    _store(out, "kto/liger", lambda x: liger(x), (p,), terms)

    def trl(x, loss_type, dw, uw, beta=0.1):
        lab = torch.tensor(label)
        logratios = x - _t(q)
        if loss_type == "kto":
            chosen = 1 - F.sigmoid(beta * (logratios[lab] - kl))
            rejected = 1 - F.sigmoid(beta * (kl - logratios[~lab]))
        else:
            chosen = 1 - F.sigmoid(beta * logratios[lab])
            rejected = F.sigmoid(beta * logratios[~lab])
        losses = torch.cat((dw * chosen, uw * rejected), 0)
        terms = torch.empty(B)
        terms[lab], terms[~lab] = losses[: int(lab.sum())], losses[int(lab.sum()) :]
        return losses.nanmean(), terms

    for name, case in {
        "weighted": ("kto", 1.5, 0.7),
        "apo": ("apo_zero_unpaired", 1.0, 2.0),
    }.items():
        terms = trl(_t(p), *case)[1].detach().numpy()
        _store(out, f"kto/{name}", lambda x, case=case: trl(x, *case)[0], (p,), terms)

    for name, shift in {"kl_pos": 1.0, "kl_neg": -1.0}.items():
        a = rng.uniform(-20.0, -5.0, B)
        b = a - shift + rng.uniform(-0.5, 0.5, B)
        out[f"kto/{name}/a"], out[f"kto/{name}/b"] = a, b
        out[f"kto/{name}"] = (_t(a) - _t(b)).mean().clamp(min=0).numpy()


# --------------------------------------------------------------------------- BCO


class _RunningMoments:
    """trl 1.13.0 ``RunningMoments`` (mean 0, std 1, var 1, count 1e-24), single process."""

    def __init__(self):
        self.mean, self.std, self.var, self.count = 0.0, 1.0, 1.0, 1e-24

    @torch.no_grad()
    def update(self, xs):
        xs_count = xs.numel()
        xs_var, xs_mean = torch.var_mean(xs, unbiased=False)
        xs_mean, xs_var = xs_mean.float(), xs_var.float()
        delta = xs_mean - self.mean
        tot_count = self.count + xs_count
        new_sum = xs_var * xs_count
        old_sum = self.var * self.count + delta**2 * self.count * xs_count / tot_count
        tot_sum = old_sum + new_sum
        self.mean += (delta * xs_count / tot_count).item()
        new_var = tot_sum / tot_count
        self.std = (new_var * tot_count / (tot_count - 1)).float().sqrt().item()
        self.var = new_var.item()
        self.count = tot_count


def _bco(out, rng, running=None):
    running = running or _RunningMoments()
    beta = 0.1
    label = np.array([True, False, False, True, True, False])
    out["bco/label"] = label
    for step in range(2):
        p, q = rng.uniform(-30.0, -2.0, B), rng.uniform(-30.0, -2.0, B)
        out[f"bco/{step}/p"], out[f"bco/{step}/q"] = p, q
        x = _t(p, grad=True)
        lab = torch.tensor(label)
        rewards = beta * (x - _t(q))
        chosen_rewards, rejected_rewards = rewards[lab], rewards[~lab]
        running.update(torch.cat((chosen_rewards, rejected_rewards), 0).detach())
        delta = torch.as_tensor(running.mean)
        chosen_losses = -F.logsigmoid(chosen_rewards - delta)
        rejected_losses = -F.logsigmoid(-(rejected_rewards - delta))
        losses = torch.cat((chosen_losses, rejected_losses), dim=0)
        loss = losses.nanmean()
        loss.backward()
        terms = torch.empty(B)
        terms[lab], terms[~lab] = chosen_losses.detach(), rejected_losses.detach()
        out[f"bco/{step}"], out[f"bco/{step}/g0"] = loss.detach().numpy(), x.grad.numpy()
        out[f"bco/{step}/none"] = terms.numpy()
        out[f"bco/{step}/state"] = np.array([running.mean, running.var, running.count])
    return running


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out: dict[str, np.ndarray] = {}
    _dpo(out, rng)
    _pairwise(out, rng)
    _kto(out, rng)
    _bco(out, rng)
    return {k: np.asarray(v) for k, v in out.items()}
