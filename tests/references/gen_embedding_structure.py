"""Goldens for the pair-structure embedding losses, the wave-2 distances and miners.

Anchor: pytorch-metric-learning 2.9 (torch, float64): ``LpDistance``,
``CosineSimilarity``, ``DotProductSimilarity``; ``MultiSimilarityMiner``,
``PairMarginMiner``, ``TripletMarginMiner`` (index lists turned into dense
masks here); ``MultiSimilarityLoss``, ``CircleLoss``,
``GeneralizedLiftedStructureLoss``, ``LiftedStructureLoss``, ``NCALoss``,
``AngularLoss``, ``TupletMarginLoss`` with their default reducers, values and
gradients w.r.t. the embeddings; the same losses with ``ref_emb``/``ref_labels``
(gradients w.r.t. both sets).
"""

from __future__ import annotations

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

B, D = 12, 5
# Class 4 is a singleton: that anchor has no positive.
LABELS = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4])


def _t(x, grad=True):
    return torch.tensor(np.asarray(x, np.float64), requires_grad=grad)


def _np(x):
    return x.detach().numpy().astype(np.float64)


def _distances(out, rng):
    from pytorch_metric_learning.distances import CosineSimilarity, DotProductSimilarity, LpDistance

    x, y = rng.standard_normal((6, D)), rng.standard_normal((4, D))
    x[1] = y[2]  # a zero distance
    w = rng.standard_normal((6, 4))
    out.update(d_x=x, d_y=y, d_w=w)
    cases = {
        "lp1": LpDistance(p=1, normalize_embeddings=False),
        "lp3_pow2_norm": LpDistance(p=3, power=2),
        "lp2_norm": LpDistance(),
        "lp2_pow2": LpDistance(power=2, normalize_embeddings=False),
        "lp1_norm": LpDistance(p=1),
        "cos": CosineSimilarity(),
        "dot": DotProductSimilarity(normalize_embeddings=False),
        "dot_pow2": DotProductSimilarity(power=2, normalize_embeddings=False),
    }
    for name, dist in cases.items():
        tx, ty = _t(x), _t(y)
        d = dist(tx, ty)
        (d * _t(w, False)).sum().backward()
        out[f"d_{name}"], out[f"d_{name}_gx"], out[f"d_{name}_gy"] = (
            _np(d),
            _np(tx.grad),
            _np(ty.grad),
        )


def _dense_pairs(idx, n):
    a1, p, a2, neg = (i.numpy() for i in idx)
    pos_mask, neg_mask = np.zeros((n, n), bool), np.zeros((n, n), bool)
    pos_mask[a1, p] = True
    neg_mask[a2, neg] = True
    return pos_mask, neg_mask


def _clustered(rng):
    """Embeddings around one centre per class, so that the miners keep some pairs and drop others."""
    centres = 1.5 * rng.standard_normal((LABELS.max() + 1, D))
    return centres[LABELS] + 0.8 * rng.standard_normal((B, D))


def _miners(out, rng):
    from pytorch_metric_learning import miners
    from pytorch_metric_learning.distances import LpDistance

    x = _clustered(rng)
    out["m_x"] = x
    y = torch.tensor(LABELS)
    tx = _t(x, False)
    for eps in (0.1, 0.3):
        out[f"m_ms_{eps}_pos"], out[f"m_ms_{eps}_neg"] = _dense_pairs(
            miners.MultiSimilarityMiner(epsilon=eps)(tx, y), B
        )
    out["m_pm_pos"], out["m_pm_neg"] = _dense_pairs(
        miners.PairMarginMiner(pos_margin=0.5, neg_margin=1.0)(tx, y), B
    )
    for kind in ("all", "hard", "semihard", "easy"):
        miner = miners.TripletMarginMiner(
            margin=0.3, type_of_triplets=kind, distance=LpDistance(normalize_embeddings=False)
        )
        a, p, n = (i.numpy() for i in miner(tx, y))
        mask = np.zeros((B, B, B), bool)
        mask[a, p, n] = True
        out[f"m_tm_{kind}"] = mask


def _run(out, key, loss_fn, x, y, miner=None):
    tx = _t(x)
    idx = miner(tx, y) if miner is not None else None
    value = loss_fn(tx, y, idx)
    value.backward()
    out[key], out[f"{key}_g"] = _np(value), _np(tx.grad)
    if idx is not None:
        out[f"{key}_pos"], out[f"{key}_neg"] = _dense_pairs(idx, len(x))


def _losses(out, rng):
    from pytorch_metric_learning import losses, miners
    from pytorch_metric_learning.distances import DotProductSimilarity, LpDistance

    x = _clustered(rng)
    out["l_x"], out["labels"] = x, LABELS
    y = torch.tensor(LABELS)
    raw = LpDistance(normalize_embeddings=False)
    cases = {
        "ms": (losses.MultiSimilarityLoss(), None),
        "ms_opts": (losses.MultiSimilarityLoss(alpha=1.5, beta=8.0, base=0.3), None),
        "ms_miner": (losses.MultiSimilarityLoss(), miners.MultiSimilarityMiner(epsilon=0.2)),
        "ms_dot": (
            losses.MultiSimilarityLoss(
                beta=5.0, distance=DotProductSimilarity(normalize_embeddings=False)
            ),
            None,
        ),
        "circle": (losses.CircleLoss(), None),
        "circle_opts": (losses.CircleLoss(m=0.25, gamma=32.0), None),
        "circle_miner": (losses.CircleLoss(), miners.MultiSimilarityMiner(epsilon=0.2)),
        "glifted": (losses.GeneralizedLiftedStructureLoss(), None),
        "glifted_raw": (
            losses.GeneralizedLiftedStructureLoss(neg_margin=2.5, pos_margin=0.3, distance=raw),
            None,
        ),
        "glifted_miner": (
            losses.GeneralizedLiftedStructureLoss(),
            miners.PairMarginMiner(pos_margin=0.5, neg_margin=1.0),
        ),
        "lifted": (losses.LiftedStructureLoss(), None),
        "lifted_raw": (
            losses.LiftedStructureLoss(neg_margin=2.0, pos_margin=0.2, distance=raw),
            None,
        ),
        "lifted_miner": (
            losses.LiftedStructureLoss(),
            miners.PairMarginMiner(pos_margin=0.5, neg_margin=1.0),
        ),
        "nca": (losses.NCALoss(), None),
        "nca_opts": (
            losses.NCALoss(
                softmax_scale=0.3, distance=LpDistance(power=2, normalize_embeddings=False)
            ),
            None,
        ),
        "angular": (losses.AngularLoss(), None),
        "angular_35": (losses.AngularLoss(alpha=35), None),
        "tuplet": (losses.TupletMarginLoss(), None),
        "tuplet_opts": (losses.TupletMarginLoss(margin=10.0, scale=16.0), None),
    }
    for name, (loss_fn, miner) in cases.items():
        _run(out, f"l_{name}", loss_fn, x, y, miner)
    # Unit-norm embeddings (the paper's angular loss).
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    out["l_xn"] = xn
    _run(out, "l_angular_unit", losses.AngularLoss(), xn, y)


def _refs(out, rng):
    """``loss(embeddings, labels, ref_emb=..., ref_labels=...)``: gradients w.r.t. both."""
    from pytorch_metric_learning import losses

    x = _clustered(rng)[:7]
    ref = _clustered(rng)[3:]  # classes 1..4 (the query's class 0 has no positive reference)
    ry = LABELS[3:]
    out.update(r_x=x, r_labels=LABELS[:7], r_ref=ref, r_ref_labels=ry)
    cases = {
        "ms": losses.MultiSimilarityLoss(),
        "circle": losses.CircleLoss(),
        "glifted": losses.GeneralizedLiftedStructureLoss(),
        "nca": losses.NCALoss(),
        "angular": losses.AngularLoss(),
        "tuplet": losses.TupletMarginLoss(),
    }
    for name, loss_fn in cases.items():
        tx, tr = _t(x), _t(ref)
        value = loss_fn(tx, torch.tensor(LABELS[:7]), ref_emb=tr, ref_labels=torch.tensor(ry))
        value.backward()
        out[f"r_{name}"], out[f"r_{name}_g"], out[f"r_{name}_gref"] = (
            _np(value),
            _np(tx.grad),
            _np(tr.grad),
        )


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out: dict[str, np.ndarray] = {}
    _distances(out, rng)
    _miners(out, rng)
    _losses(out, rng)
    _refs(out, rng)
    return out
