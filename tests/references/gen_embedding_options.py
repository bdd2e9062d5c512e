"""Goldens for the pytorch-metric-learning options of the older embedding losses and for
the memory / self-supervised wrappers.

Anchor: pytorch-metric-learning 2.9 (torch, float64), values and gradients w.r.t. the
embeddings (and the reference embeddings where given):

- ``NTXentLoss`` and ``SupConLoss`` with ``CosineSimilarity()`` and ``LpDistance()``
  (the anchor's own tests use ``LpDistance`` for both), with and without
  ``ref_emb``/``ref_labels``;
- ``ContrastiveLoss`` with ``LpDistance()``, ``LpDistance(p=1)``,
  ``LpDistance(p=3, normalize_embeddings=False)`` (the callable-metric case), with
  ``ref_emb``, and fed with ``PairMarginMiner`` pairs (``indices_tuple``);
- ``TripletMarginLoss`` (``margin``, ``swap``, ``smooth_loss``) on all triplets, with
  ``ref_emb``, fed with ``TripletMarginMiner(margin, type_of_triplets)`` for each type
  and with ``BatchEasyHardMiner(pos_strategy, neg_strategy, allowed_*_range)``;
- ``CrossBatchMemory(loss, embedding_size, memory_size)`` over 4 steps (the memory
  wraps around at step 3), with ``ContrastiveLoss``, ``NTXentLoss``,
  ``TripletMarginLoss``, ``SupConLoss``, and one step with ``enqueue_mask``;
- ``SelfSupervisedLoss(loss, symmetric)`` with ``NTXentLoss`` and ``TripletMarginLoss``.
"""

from __future__ import annotations

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

B, D, R = 12, 5, 9
# Class 4 is a singleton: that anchor has no positive in the batch.
LABELS = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4])
REF_LABELS = np.array([0, 1, 1, 2, 3, 3, 4, 5, 0])


def _t(x, grad=True):
    return torch.tensor(np.asarray(x, np.float64), requires_grad=grad)


def _np(x, like=None):
    if x is None:  # the value does not depend on this input (a PML zero loss)
        return np.zeros(like.shape)
    return x.detach().numpy().astype(np.float64)


def _clustered(rng, labels, n):
    centres = 1.2 * rng.standard_normal((6, D))
    return centres[labels] + 0.9 * rng.standard_normal((n, D))


def _run(out, key, loss, x, r=None, **call):
    tx = _t(x)
    if r is None:
        value = loss(tx, torch.tensor(LABELS), **call)
    else:
        tr = _t(r)
        value = loss(
            tx, torch.tensor(LABELS), ref_emb=tr, ref_labels=torch.tensor(REF_LABELS), **call
        )
    value.backward()
    out[key] = _np(value)
    out[f"{key}_g"] = _np(tx.grad, tx)
    if r is not None:
        out[f"{key}_gr"] = _np(tr.grad, tr)


def _losses(out, x, r):
    from pytorch_metric_learning import losses, miners
    from pytorch_metric_learning.distances import LpDistance

    lp3 = LpDistance(p=3, normalize_embeddings=False)
    cases = {
        "ntxent": (losses.NTXentLoss(temperature=0.5), False),
        "ntxent_lp": (losses.NTXentLoss(temperature=0.5, distance=LpDistance()), False),
        "ntxent_ref": (losses.NTXentLoss(temperature=0.5), True),
        "ntxent_lp_ref": (losses.NTXentLoss(temperature=0.5, distance=LpDistance()), True),
        "supcon": (losses.SupConLoss(temperature=0.5), False),
        "supcon_lp": (losses.SupConLoss(temperature=0.5, distance=LpDistance()), False),
        "supcon_ref": (losses.SupConLoss(temperature=0.5), True),
        "supcon_lp_ref": (losses.SupConLoss(temperature=0.5, distance=LpDistance()), True),
        "con": (losses.ContrastiveLoss(pos_margin=0.1, neg_margin=0.8), False),
        "con_l1": (
            losses.ContrastiveLoss(pos_margin=0.2, neg_margin=1.5, distance=LpDistance(p=1)),
            False,
        ),
        "con_lp3": (losses.ContrastiveLoss(pos_margin=0.5, neg_margin=3.0, distance=lp3), False),
        "con_ref": (losses.ContrastiveLoss(pos_margin=0.1, neg_margin=0.8), True),
        "tri": (losses.TripletMarginLoss(margin=0.2), False),
        "tri_swap": (losses.TripletMarginLoss(margin=0.2, swap=True), False),
        "tri_smooth": (losses.TripletMarginLoss(margin=0.2, smooth_loss=True), False),
        "tri_swap_smooth": (
            losses.TripletMarginLoss(margin=0.1, swap=True, smooth_loss=True),
            False,
        ),
        "tri_ref": (losses.TripletMarginLoss(margin=0.2), True),
        "tri_smooth_ref": (losses.TripletMarginLoss(margin=0.2, smooth_loss=True), True),
    }
    for key, (loss, with_ref) in cases.items():
        _run(out, key, loss, x, r if with_ref else None)

    # Miners feeding the losses: the same distance as the loss (LpDistance()).
    y = torch.tensor(LABELS)
    pm = miners.PairMarginMiner(pos_margin=0.4, neg_margin=0.9)
    a1, p, a2, n = pm(_t(x, False), y)
    pos_mask, neg_mask = np.zeros((B, B), bool), np.zeros((B, B), bool)
    pos_mask[a1.numpy(), p.numpy()] = True
    neg_mask[a2.numpy(), n.numpy()] = True
    out["con_miner_pos"], out["con_miner_neg"] = pos_mask, neg_mask
    _run(
        out,
        "con_miner",
        losses.ContrastiveLoss(pos_margin=0.1, neg_margin=0.8),
        x,
        indices_tuple=(a1, p, a2, n),
    )
    for kind in ("easy", "semihard", "hard", "all"):
        miner = miners.TripletMarginMiner(margin=0.3, type_of_triplets=kind)
        idx = miner(_t(x, False), y)
        out[f"tri_type_{kind}_count"] = np.asarray(len(idx[0]))
        _run(out, f"tri_type_{kind}", losses.TripletMarginLoss(margin=0.2), x, indices_tuple=idx)
    easy_hard = {
        "eh": ("easy", "semihard", None, None),
        "eh_hard_hard": ("hard", "hard", None, None),
        "eh_semi_hard": ("semihard", "hard", None, None),
        "eh_easy_easy": ("easy", "easy", None, None),
        "eh_all_hard": ("all", "hard", None, None),
        "eh_hard_all": ("hard", "all", None, None),
        "eh_range": ("hard", "hard", (0.0, 1.0), (0.6, 2.0)),
    }
    for key, (ps, ns, pr, nr) in easy_hard.items():
        miner = miners.BatchEasyHardMiner(
            pos_strategy=ps, neg_strategy=ns, allowed_pos_range=pr, allowed_neg_range=nr
        )
        idx = miner(_t(x, False), y)
        _run(out, key, losses.TripletMarginLoss(margin=0.2), x, indices_tuple=idx)
        _run(
            out,
            f"{key}_swap",
            losses.TripletMarginLoss(margin=0.2, swap=True),
            x,
            indices_tuple=idx,
        )


XB, XM, STEPS = 6, 16, 4
XBM_LABELS = np.array(
    [[0, 0, 1, 1, 2, 3], [1, 2, 2, 0, 3, 3], [0, 1, 4, 4, 2, 0], [3, 1, 0, 2, 2, 1]]
)


def _memory(out, rng):
    from pytorch_metric_learning import losses
    from pytorch_metric_learning.distances import LpDistance

    xs = rng.standard_normal((STEPS, XB, D))
    out["xbm_x"], out["xbm_labels"] = xs, XBM_LABELS
    makers = {
        "con": lambda: losses.ContrastiveLoss(pos_margin=0.1, neg_margin=0.8),
        "ntxent": lambda: losses.NTXentLoss(temperature=0.5),
        "tri": lambda: losses.TripletMarginLoss(margin=0.2),
        "supcon": lambda: losses.SupConLoss(temperature=0.5, distance=LpDistance()),
    }
    for name, make in makers.items():
        wrapper = losses.CrossBatchMemory(make(), embedding_size=D, memory_size=XM)
        for step in range(STEPS):
            tx = _t(xs[step])
            value = wrapper(tx, torch.tensor(XBM_LABELS[step]))
            value.backward()
            out[f"xbm_{name}_{step}"], out[f"xbm_{name}_{step}_g"] = _np(value), _np(tx.grad, tx)
    # enqueue_mask: at step 2 only the first 3 rows enter the memory, the others query.
    wrapper = losses.CrossBatchMemory(makers["con"](), embedding_size=D, memory_size=XM)
    mask = np.array([True, True, True, False, False, False])
    out["xbm_mask"] = mask
    for step in range(3):
        tx = _t(xs[step])
        call = {"enqueue_mask": torch.tensor(mask)} if step == 2 else {}
        value = wrapper(tx, torch.tensor(XBM_LABELS[step]), **call)
        value.backward()
        out[f"xbm_mask_{step}"], out[f"xbm_mask_{step}_g"] = _np(value), _np(tx.grad, tx)


def _self_supervised(out, rng):
    from pytorch_metric_learning import losses

    x = rng.standard_normal((6, D))
    r = x + 0.8 * rng.standard_normal((6, D))
    out["ss_x"], out["ss_r"] = x, r
    for name, make in {
        "ntxent": lambda: losses.NTXentLoss(temperature=0.5),
        "tri": lambda: losses.TripletMarginLoss(margin=0.5),
    }.items():
        for symmetric in (True, False):
            key = f"ss_{name}_{'sym' if symmetric else 'asym'}"
            tx, tr = _t(x), _t(r)
            value = losses.SelfSupervisedLoss(make(), symmetric=symmetric)(tx, tr)
            value.backward()
            out[key], out[f"{key}_g"], out[f"{key}_gr"] = (
                _np(value),
                _np(tx.grad, tx),
                _np(tr.grad, tr),
            )


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20261203)
    out: dict[str, np.ndarray] = {"labels": LABELS, "ref_labels": REF_LABELS}
    x = _clustered(rng, LABELS, B)
    r = _clustered(rng, REF_LABELS, R)
    out["x"], out["r"] = x, r
    _losses(out, x, r)
    _memory(out, rng)
    _self_supervised(out, rng)
    return out
