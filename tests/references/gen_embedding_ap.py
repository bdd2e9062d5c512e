"""Goldens for FastAP, Smooth-AP, the histogram loss, the PML regularisers and the
easy/hard and distance-weighted miners.

Anchor: pytorch-metric-learning 2.9 (torch, float64): ``FastAPLoss``,
``SmoothAPLoss``, ``HistogramLoss`` with their default reducers (values and
gradients w.r.t. the embeddings); ``LpRegularizer``, ``ZeroMeanRegularizer``,
``CenterInvariantRegularizer``, ``RegularFaceRegularizer``,
``SparseCentersRegularizer`` called on embeddings or on ``W.t()`` (values and
gradients); ``BatchEasyHardMiner`` (its ``(a, p, a, n)`` lists turned into one
index per anchor, -1 where the anchor is not kept) and ``DistanceWeightedMiner``
(the sampling weights it passes to ``lmu.get_random_triplet_indices``, captured by
wrapping that function: the probabilities, not the draws).

torch is imported lazily: the tests import the option tables (``EASY_HARD``,
``DISTANCE_WEIGHTED``) from here without the anchor.
"""

from __future__ import annotations

import numpy as np

B, D = 12, 5
# Class 4 is a singleton: that query has no positive.
LABELS = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4])


def _torch():
    import torch

    torch.set_default_dtype(torch.float64)
    return torch


def _t(x, grad=True):
    return _torch().tensor(np.asarray(x, np.float64), requires_grad=grad)


def _np(x):
    return x.detach().numpy().astype(np.float64)


def _clustered(rng, labels=LABELS, dim=D, spread=0.8):
    centres = 1.5 * rng.standard_normal((labels.max() + 1, dim))
    return centres[labels] + spread * rng.standard_normal((len(labels), dim))


def _run(out, key, fn, x, *args):
    tx = _t(x)
    value = fn(tx, *args)
    value.backward()
    out[key], out[f"{key}_g"] = _np(value), _np(tx.grad)


def _losses(out, rng):
    from pytorch_metric_learning import losses
    from pytorch_metric_learning.distances import LpDistance

    x = _clustered(rng)
    out["l_x"], out["labels"] = x, LABELS
    y = _torch().tensor(LABELS)
    cases = {
        "fastap": losses.FastAPLoss(),
        "fastap_b5": losses.FastAPLoss(num_bins=5),
        "fastap_pow1": losses.FastAPLoss(num_bins=8, distance=LpDistance(power=1)),
        "hist": losses.HistogramLoss(),
        "hist_b10": losses.HistogramLoss(n_bins=10),
    }
    for name, loss_fn in cases.items():
        _run(out, f"l_{name}", loss_fn, x, y)
    # Smooth-AP needs balanced batches; PML groups consecutive blocks of `classes` items,
    # which are the classes for a sorted batch with as many classes as items per class.
    for k in (3, 4):
        labels = np.repeat(np.arange(k), k)
        xs = _clustered(rng, labels, spread=1.0)
        out[f"s{k}_x"], out[f"s{k}_labels"] = xs, labels
        for tau in (0.01, 0.1):
            _run(
                out,
                f"s{k}_{tau}",
                losses.SmoothAPLoss(temperature=tau),
                xs,
                _torch().tensor(labels),
            )


def _regularizers(out, rng):
    from pytorch_metric_learning import regularizers as r

    x = rng.standard_normal((6, D))
    x[2] = 0.0  # a zero row: the norm's gradient is 0 there
    x[4] = [1.0, -1.0, 0.5, -0.5, 0.0]  # a zero sum
    out["g_x"] = x
    for name, reg in {
        "lp": r.LpRegularizer(),
        "lp_p1_pow2": r.LpRegularizer(p=1, power=2),
        "lp_p3_pow15": r.LpRegularizer(p=3, power=1.5),
        "zero_mean": r.ZeroMeanRegularizer(),
    }.items():
        _run(out, f"g_{name}", reg, x)
    w = rng.standard_normal((5, 4))  # PML's [classes, dim]: ours is the transpose
    out["g_w"] = w
    _run(out, "g_center_invariant", r.CenterInvariantRegularizer(), w)
    _run(out, "g_regular_face", r.RegularFaceRegularizer(), w)
    fc = rng.standard_normal((4 * 3, 4))  # 4 classes x 3 centres, class-major rows
    out["g_fc"] = fc
    _run(out, "g_sparse", r.SparseCentersRegularizer(num_classes=4, centers_per_class=3), fc)


EASY_HARD = {
    "default": {},
    "hard_hard": {"pos_strategy": "hard", "neg_strategy": "hard"},
    "semi_easy": {"pos_strategy": "semihard", "neg_strategy": "easy"},
    "semi_hard": {"pos_strategy": "semihard", "neg_strategy": "hard"},
    "easy_easy": {"pos_strategy": "easy", "neg_strategy": "easy"},
    "hard_semi": {"pos_strategy": "hard", "neg_strategy": "semihard"},
    "ranges": {
        "pos_strategy": "hard",
        "neg_strategy": "hard",
        "allowed_pos_range": (0.2, 0.9),
        "allowed_neg_range": (0.6, 1.6),
    },
    "ranges_semi": {"allowed_pos_range": (0.3, 2.0), "allowed_neg_range": (0.0, 1.2)},
}

DISTANCE_WEIGHTED = {
    "dw": (5, {}),
    "dw_cut": (5, {"cutoff": 0.8, "nonzero_loss_cutoff": 1.2}),
    "dw_dim16": (16, {}),
}


def _miners(out, rng):
    from pytorch_metric_learning import miners
    from pytorch_metric_learning.distances import LpDistance
    from pytorch_metric_learning.miners import distance_weighted_miner as dwm

    x = _clustered(rng)
    y = _torch().tensor(LABELS)
    out["m_x"] = x
    out["m_d"] = _np(LpDistance()(_t(x, False)))
    for name, kw in EASY_HARD.items():
        a, p, a2, n = (i.numpy() for i in miners.BatchEasyHardMiner(**kw)(_t(x, False), y))
        assert np.array_equal(a, a2)
        pos, neg = np.full(B, -1), np.full(B, -1)
        pos[a], neg[a] = p, n
        out[f"m_{name}_pos"], out[f"m_{name}_neg"] = pos, neg

    captured = {}
    original = dwm.lmu.get_random_triplet_indices

    def capture(labels, ref_labels=None, t_per_anchor=None, weights=None):
        captured["w"] = weights.detach().numpy().copy()
        return original(labels, ref_labels=ref_labels, t_per_anchor=t_per_anchor, weights=weights)

    dwm.lmu.get_random_triplet_indices = capture
    try:
        for name, (dim, kw) in DISTANCE_WEIGHTED.items():
            xd = _clustered(rng, dim=dim, spread=1.5)
            out[f"m_{name}_x"] = xd
            out[f"m_{name}_d"] = _np(LpDistance()(_t(xd, False)))
            miners.DistanceWeightedMiner(**kw)(_t(xd, False), y)
            out[f"m_{name}_w"] = captured.pop("w")
    finally:
        dwm.lmu.get_random_triplet_indices = original


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out: dict[str, np.ndarray] = {}
    _losses(out, rng)
    _regularizers(out, rng)
    _miners(out, rng)
    return out
