"""Goldens for the pair / triplet embedding losses and the mining distances.

Anchors: PyTorch (``torch.cdist``, ``F.triplet_margin_loss``,
``F.margin_ranking_loss``, ``F.cosine_embedding_loss``), pytorch-metric-learning
(``TripletMarginLoss`` with ``LpDistance(normalize_embeddings=False)`` and its
default ``AvgNonZeroReducer`` for batch-all, ``BatchHardMiner`` +
``TripletMarginLoss(reducer=MeanReducer())`` for batch-hard, ``ContrastiveLoss``
with all pairs and with ``BatchHardMiner``), and, where no installable package
implements the loss, the reference algorithm written in torch here: TF-Addons'
``triplet_semihard_loss`` (its tiled ``[B*B, B]`` masked-minimum algorithm,
transcribed) and Hadsell et al.'s contrastive loss equation.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

B, D = 12, 5
# Class 4 is a singleton: that anchor has no positive and must be excluded.
LABELS = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4])


def _t(x, grad=True):
    return torch.tensor(np.asarray(x, np.float64), requires_grad=grad)


def _np(x):
    return x.detach().numpy().astype(np.float64)


def _distances(out, rng):
    x, y = rng.standard_normal((6, D)), rng.standard_normal((4, D))
    w = rng.standard_normal((6, 4))
    out.update(dist_x=x, dist_y=y, dist_w=w)
    metrics = {
        "euclidean": lambda a, b: torch.cdist(a, b),
        "squared_euclidean": lambda a, b: torch.cdist(a, b) ** 2,
        "cosine": lambda a, b: 1 - F.normalize(a, dim=1) @ F.normalize(b, dim=1).T,
        "dot": lambda a, b: -(a @ b.T),
    }
    for name, fn in metrics.items():
        tx, ty = _t(x), _t(y)
        d = fn(tx, ty)
        (d * _t(w, False)).sum().backward()
        out[f"dist_{name}"], out[f"dist_{name}_gx"], out[f"dist_{name}_gy"] = _np(d), _np(tx.grad), _np(ty.grad)


def _tfa_semihard(labels, emb, margin):
    """TF-Addons ``triplet_semihard_loss`` (distance_metric="L2"), transcribed to torch."""
    lab = torch.tensor(labels)[:, None]
    sq = (emb[:, None, :] - emb[None, :, :]).pow(2).sum(-1)
    pd = torch.where(sq > 0, torch.sqrt(torch.where(sq > 0, sq, torch.ones_like(sq))), torch.zeros_like(sq))
    pd = pd * (1 - torch.eye(len(labels)))
    n = len(labels)
    adjacency = lab == lab.T
    adjacency_not = ~adjacency
    pd_tile = pd.repeat(n, 1)
    mask = adjacency_not.repeat(n, 1) & (pd_tile > pd.T.reshape(-1, 1))
    mask_final = (mask.sum(1, keepdim=True) > 0).reshape(n, n).T
    maskf = mask.double()

    def masked_minimum(data, m):
        axis_max = data.max(1, keepdim=True).values
        return ((data - axis_max) * m).min(1, keepdim=True).values + axis_max

    def masked_maximum(data, m):
        axis_min = data.min(1, keepdim=True).values
        return ((data - axis_min) * m).max(1, keepdim=True).values + axis_min

    outside = masked_minimum(pd_tile, maskf).reshape(n, n).T
    inside = masked_maximum(pd, adjacency_not.double()).repeat(1, n)
    semi = torch.where(mask_final, outside, inside)
    loss_mat = margin + pd - semi
    mask_pos = adjacency.double() - torch.eye(n)
    return torch.clamp(loss_mat * mask_pos, min=0).sum() / mask_pos.sum()


def _triplets(out, rng):
    from pytorch_metric_learning import losses, miners, reducers
    from pytorch_metric_learning.distances import LpDistance

    x = rng.standard_normal((B, D))
    out.update(trip_x=x, trip_labels=LABELS)
    y = torch.tensor(LABELS)
    margin = 0.8
    cases = {
        "batch_all": (losses.TripletMarginLoss(margin=margin, distance=LpDistance(normalize_embeddings=False)), None),
        "batch_all_sq": (losses.TripletMarginLoss(
            margin=margin, distance=LpDistance(normalize_embeddings=False, power=2)), None),
        "batch_all_soft": (losses.TripletMarginLoss(
            margin=0.0, smooth_loss=True, distance=LpDistance(normalize_embeddings=False)), None),
        "batch_hard": (losses.TripletMarginLoss(
            margin=margin, distance=LpDistance(normalize_embeddings=False), reducer=reducers.MeanReducer()),
            miners.BatchHardMiner(distance=LpDistance(normalize_embeddings=False))),
        "batch_hard_soft": (losses.TripletMarginLoss(
            margin=0.0, smooth_loss=True, distance=LpDistance(normalize_embeddings=False),
            reducer=reducers.MeanReducer()), miners.BatchHardMiner(distance=LpDistance(normalize_embeddings=False))),
    }
    for name, (loss_fn, miner) in cases.items():
        tx = _t(x)
        idx = miner(tx, y) if miner is not None else None
        value = loss_fn(tx, y, idx)
        value.backward()
        out[f"trip_{name}"], out[f"trip_{name}_g"] = _np(value), _np(tx.grad)
    # TF-Addons semi-hard: every anchor with a positive also has negatives here.
    lab = LABELS[:-1]
    xs = x[:-1]
    tx = _t(xs)
    value = _tfa_semihard(lab, tx, margin)
    value.backward()
    out["trip_semi_hard"], out["trip_semi_hard_g"] = _np(value), _np(tx.grad)
    # A larger batch so that the semi-hard rule and its fallback both occur.
    x2 = rng.standard_normal((24, 3))
    lab2 = rng.integers(0, 4, 24)
    out.update(semi2_x=x2, semi2_labels=lab2)
    tx = _t(x2)
    value = _tfa_semihard(lab2, tx, 0.5)
    value.backward()
    out["semi2"], out["semi2_g"] = _np(value), _np(tx.grad)
    # TF-Addons' docstring example (y = [0, 0], margin 1, "L2"): 2.4142137 = 1 + sqrt(2) - 0,
    # the fallback "farthest negative" of an anchor without negatives being itself (distance 0).
    out["tfa_doc_semi_hard"] = _np(_tfa_semihard(np.array([0, 0]), _t([[0.0, 1.0], [1.0, 0.0]]), 1.0))


def _contrastive(out, rng):
    from pytorch_metric_learning import losses, miners
    from pytorch_metric_learning.distances import LpDistance

    x = 0.5 * rng.standard_normal((B, D))
    out["bc_x"] = x
    y = torch.tensor(LABELS)
    for name, miner in {"all": None, "hard": miners.BatchHardMiner(distance=LpDistance(normalize_embeddings=False))}.items():
        loss_fn = losses.ContrastiveLoss(pos_margin=0.3, neg_margin=1.2, distance=LpDistance(normalize_embeddings=False))
        tx = _t(x)
        value = loss_fn(tx, y, miner(tx, y) if miner is not None else None)
        value.backward()
        out[f"bc_{name}"], out[f"bc_{name}_g"] = _np(value), _np(tx.grad)
    # Hadsell et al. 2006 on labelled pairs: 0.5 * (y d^2 + (1 - y) max(0, m - d)^2).
    x1, x2 = rng.standard_normal((8, D)), rng.standard_normal((8, D))
    x2[0] = x1[0]  # a duplicate pair: zero distance
    sim = rng.integers(0, 2, 8).astype(np.float64)
    out.update(pair_x1=x1, pair_x2=x2, pair_y=sim)
    t1, t2 = _t(x1), _t(x2)
    d = (t1 - t2).pow(2).sum(-1).clamp_min(1e-300).sqrt()
    ys = _t(sim, False)
    loss = 0.5 * (ys * d**2 + (1 - ys) * torch.clamp(2.0 - d, min=0) ** 2)
    loss.mean().backward()
    out["pair_none"], out["pair_g1"], out["pair_g2"] = _np(loss), _np(t1.grad), _np(t2.grad)


def _torch_functionals(out, rng):
    a, p, n = (rng.standard_normal((7, D)) for _ in range(3))
    out.update(tm_a=a, tm_p=p, tm_n=n)
    for name, kw in {"p2": {}, "p1": {"p": 1.0}, "p3": {"p": 3.0}, "swap": {"swap": True, "margin": 2.0}}.items():
        ta, tp, tn = _t(a), _t(p), _t(n)
        none = F.triplet_margin_loss(ta, tp, tn, reduction="none", **kw)
        none.mean().backward()
        out[f"tm_{name}"] = _np(none)
        out[f"tm_{name}_ga"], out[f"tm_{name}_gp"], out[f"tm_{name}_gn"] = _np(ta.grad), _np(tp.grad), _np(tn.grad)
    s1, s2 = rng.standard_normal(9), rng.standard_normal(9)
    sy = np.where(rng.uniform(size=9) < 0.5, -1.0, 1.0)
    out.update(mr_x1=s1, mr_x2=s2, mr_y=sy)
    t1, t2 = _t(s1), _t(s2)
    none = F.margin_ranking_loss(t1, t2, _t(sy, False), margin=0.3, reduction="none")
    none.mean().backward()
    out["mr_none"], out["mr_g1"], out["mr_g2"] = _np(none), _np(t1.grad), _np(t2.grad)
    c1, c2 = rng.standard_normal((6, D)), rng.standard_normal((6, D))
    c1[2] = 0.0  # a zero vector
    cy = np.array([1, -1, 1, -1, 1, -1])
    out.update(ce_x1=c1, ce_x2=c2, ce_y=cy)
    t1, t2 = _t(c1), _t(c2)
    none = F.cosine_embedding_loss(t1, t2, torch.tensor(cy), margin=-0.2, reduction="none")
    none.mean().backward()
    out["ce_none"], out["ce_g1"], out["ce_g2"] = _np(none), _np(t1.grad), _np(t2.grad)


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out: dict[str, np.ndarray] = {}
    _distances(out, rng)
    _triplets(out, rng)
    _contrastive(out, rng)
    _torch_functionals(out, rng)
    return out
