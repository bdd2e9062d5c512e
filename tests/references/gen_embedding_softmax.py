"""Goldens for the softmax / contrastive embedding losses and the angular-margin heads.

Anchors: PyTorch (``F.cross_entropy`` for InfoNCE/CLIP), pytorch-metric-learning
(``SupConLoss``, ``ArcFaceLoss``, ``CosFaceLoss``), sentence-transformers
(``MultipleNegativesRankingLoss.compute_loss_from_embeddings`` called on given
embeddings; no model needed), and, where no installable package implements the
loss, the paper's / official repository's equations written in torch here:
insightface ``arcface_torch`` ArcFace (easy margin), the official CurricularFace
head, GE2E (Wan et al. 2018, as resemblyzer's ``similarity_matrix``) and the
center loss update (Wen et al. 2016, Eq. 4, as a loop over classes).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def _t(x, grad=True):
    return torch.tensor(np.asarray(x, np.float64), requires_grad=grad)


def _np(x):
    return x.detach().numpy().astype(np.float64)


def _infonce(out, rng):
    q, k = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    k7 = rng.standard_normal((7, 4))
    idx = np.array([3, 0, 6, 1, 1])
    out.update(infonce_q=q, infonce_k=k, infonce_k7=k7, infonce_idx=idx)
    temp = 0.2
    cases = {
        "cos": (k, lambda a, b: F.normalize(a, dim=1) @ F.normalize(b, dim=1).T, None, False),
        "dot": (k, lambda a, b: a @ b.T, None, False),
        "sym": (k, lambda a, b: F.normalize(a, dim=1) @ F.normalize(b, dim=1).T, None, True),
        "idx": (k7, lambda a, b: F.normalize(a, dim=1) @ F.normalize(b, dim=1).T, idx, False),
    }
    for name, (keys, sim, labels, sym) in cases.items():
        tq, tk = _t(q), _t(keys)
        logits = sim(tq, tk) / temp
        target = torch.arange(5) if labels is None else torch.tensor(labels)
        loss = F.cross_entropy(logits, target, reduction="none")
        if sym:  # CLIP: (CE(logits) + CE(logits.T)) / 2
            loss = 0.5 * (loss + F.cross_entropy(logits.T, target, reduction="none"))
        mean = loss.mean()
        mean.backward()
        out[f"infonce_{name}_none"] = _np(loss)
        out[f"infonce_{name}_mean"] = _np(mean)
        out[f"infonce_{name}_gq"], out[f"infonce_{name}_gk"] = _np(tq.grad), _np(tk.grad)


def _supcon(out, rng):
    from pytorch_metric_learning import losses, reducers

    x = rng.standard_normal((8, 5))
    labels = np.array([0, 1, 0, 2, 1, 0, 3, 1])  # 2 and 3 have no positive
    out.update(supcon_x=x, supcon_labels=labels)
    for temp in (0.1, 0.5):
        tx = _t(x)
        loss = losses.SupConLoss(temperature=temp)(tx, torch.tensor(labels))
        loss.backward()
        out[f"supcon_{temp}_mean"], out[f"supcon_{temp}_g"] = _np(loss), _np(tx.grad)
        per = losses.SupConLoss(temperature=temp, reducer=reducers.DoNothingReducer())(
            _t(x, False), torch.tensor(labels))
        out[f"supcon_{temp}_none"] = _np(per["loss"]["losses"])


def _mnrl(out, rng):
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.util import cos_sim, dot_score

    a, p, n = (rng.standard_normal((6, 4)) for _ in range(3))
    n2 = rng.standard_normal((6, 2, 4))
    out.update(mnrl_a=a, mnrl_p=p, mnrl_n=n, mnrl_n2=n2)
    cases = {
        "pair": (cos_sim, 20.0, []),
        "triplet": (cos_sim, 20.0, [n]),
        "two_neg": (cos_sim, 7.0, [n2[:, 0], n2[:, 1]]),
        "dot": (dot_score, 1.0, [n]),
    }
    for name, (sim, scale, negs) in cases.items():
        loss_fn = MultipleNegativesRankingLoss(model=None, scale=scale, similarity_fct=sim)
        ta, tp = _t(a), _t(p)
        tn = [_t(x) for x in negs]
        loss = loss_fn.compute_loss_from_embeddings([ta, tp, *tn], None)
        loss.backward()
        out[f"mnrl_{name}_mean"], out[f"mnrl_{name}_ga"] = _np(loss), _np(ta.grad)
        out[f"mnrl_{name}_gp"] = _np(tp.grad)
        if tn:
            out[f"mnrl_{name}_gn"] = np.stack([_np(x.grad) for x in tn], axis=1)


def _ge2e_torch(e, w, b, method):
    """Wan et al. 2018 Eqs. (5)-(10) on L2-normalised d-vectors."""
    speakers, utts, _ = e.shape
    e = F.normalize(e, dim=2)
    cent_incl = F.normalize(e.mean(dim=1), dim=1)
    cent_excl = F.normalize((e.sum(dim=1, keepdim=True) - e) / (utts - 1), dim=2)
    rows = []
    for j in range(speakers):
        per_utt = []
        for i in range(utts):
            sims = []
            for k in range(speakers):
                c = cent_excl[j, i] if k == j else cent_incl[k]
                sims.append(w * torch.dot(e[j, i], c) / (e[j, i].norm() * c.norm()) + b)
            s = torch.stack(sims)
            if method == "softmax":
                per_utt.append(-s[j] + torch.log(torch.exp(s).sum()))
            else:
                others = torch.stack([torch.sigmoid(s[k]) for k in range(speakers) if k != j])
                per_utt.append(1 - torch.sigmoid(s[j]) + others.max())
        rows.append(torch.stack(per_utt))
    return torch.stack(rows)


def _ge2e(out, rng):
    x = rng.standard_normal((3, 4, 5))
    out["ge2e_x"] = x
    for method in ("softmax", "contrast"):
        tx, tw, tb = _t(x), _t(7.0), _t(-3.0)
        loss = _ge2e_torch(tx, tw, tb, method)
        mean = loss.mean()
        mean.backward()
        out[f"ge2e_{method}_none"], out[f"ge2e_{method}_mean"] = _np(loss), _np(mean)
        out[f"ge2e_{method}_gx"] = _np(tx.grad)
        out[f"ge2e_{method}_gw"], out[f"ge2e_{method}_gb"] = _np(tw.grad), _np(tb.grad)


def _margin_inputs(rng):
    """Embeddings with some examples near the opposite of their class (theta + m > pi)."""
    w = rng.standard_normal((4, 5))
    labels = np.array([0, 1, 2, 3, 4, 0, 2, 1])
    x = rng.standard_normal((8, 4))
    x[5] = -w[:, 0] + 0.05 * rng.standard_normal(4)
    x[6] = -w[:, 2] + 0.05 * rng.standard_normal(4)
    return x, w, labels


def _pml_heads(out, rng):
    from pytorch_metric_learning import losses

    x, w, labels = _margin_inputs(rng)
    out.update(head_x=x, head_w=w, head_labels=labels)
    cases = {
        "arcface": lambda: losses.ArcFaceLoss(5, 4, margin=math.degrees(0.5), scale=16.0),
        "arcface_m": lambda: losses.ArcFaceLoss(5, 4, margin=math.degrees(0.3), scale=64.0),
        "cosface": lambda: losses.CosFaceLoss(5, 4, margin=0.35, scale=16.0),
    }
    for name, make in cases.items():
        loss_fn = make()
        loss_fn.W.data = torch.tensor(w)
        tx = _t(x)
        loss = loss_fn(tx, torch.tensor(labels))
        loss.backward()
        out[f"{name}_mean"], out[f"{name}_gx"], out[f"{name}_gw"] = _np(loss), _np(tx.grad), _np(loss_fn.W.grad)


def _insightface_logits(x, w, labels, scale, margin, easy_margin, t=None):
    """insightface arcface_torch ArcFace (sqrt form) / official CurricularFace head."""
    cos = (F.normalize(x, dim=1) @ F.normalize(w, dim=0)).clamp(-1, 1)
    index = torch.where(labels != -1)[0]
    target = cos[index, labels[index]].view(-1, 1)
    sin = torch.sqrt(1.0 - target**2)
    cos_m = target * math.cos(margin) - sin * math.sin(margin)
    if easy_margin:
        final = torch.where(target > 0, cos_m, target)
    else:
        final = torch.where(target > math.cos(math.pi - margin), cos_m,
                            target - math.sin(math.pi - margin) * margin)
    new_t = None
    if t is not None:  # CurricularFace: t updated first, then hard negatives re-weighted
        with torch.no_grad():
            new_t = target.mean() * 0.01 + (1 - 0.01) * t
        cos = cos.clone()
        rows = cos[index]
        mask = rows > cos_m
        rows = torch.where(mask, rows * (new_t + rows), rows)
        cos = cos.index_put((index,), rows)
    cos = cos.index_put((index, labels[index]), final.view(-1))
    return cos * scale, new_t


def _insightface(out, rng):
    x, w, labels = _margin_inputs(rng)
    labels = labels.copy()
    labels[3] = -1
    out.update(if_x=x, if_w=w, if_labels=labels)
    for name, easy, t in (("easy", True, None), ("curricular", False, 0.3)):
        tx, tw = _t(x), _t(w)
        tl = torch.tensor(labels)
        logits, new_t = _insightface_logits(tx, tw, tl, 16.0, 0.5, easy, t)
        loss = F.cross_entropy(logits, tl, ignore_index=-1, reduction="none")
        mean = loss[tl != -1].mean()
        mean.backward()
        out[f"if_{name}_none"], out[f"if_{name}_mean"] = _np(loss), _np(mean)
        out[f"if_{name}_gx"], out[f"if_{name}_gw"] = _np(tx.grad), _np(tw.grad)
        if new_t is not None:
            out[f"if_{name}_t"] = _np(new_t)


def _center(out, rng):
    x = rng.standard_normal((7, 3))
    c = rng.standard_normal((4, 3))
    labels = np.array([0, 2, 0, 1, 2, 0, 2])  # class 3 absent
    out.update(center_x=x, center_c=c, center_labels=labels)
    tx, tc = _t(x), _t(c)
    loss = 0.5 * ((tx - tc[torch.tensor(labels)]) ** 2).sum(dim=1)
    loss.mean().backward()
    out["center_none"], out["center_gx"], out["center_gc"] = _np(loss), _np(tx.grad), _np(tc.grad)
    alpha = 0.3
    new = c.copy()
    for j in range(4):  # Eq. (4): delta c_j = sum_i 1(y_i=j)(c_j - x_i) / (1 + sum_i 1(y_i=j))
        members = labels == j
        delta = (c[j] - x[members]).sum(axis=0) / (1 + members.sum())
        new[j] = c[j] - alpha * delta
    out["center_new"] = new


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20240611)
    out: dict[str, np.ndarray] = {}
    for part in (_infonce, _supcon, _mnrl, _ge2e, _pml_heads, _insightface, _center):
        part(out, rng)
    return out
