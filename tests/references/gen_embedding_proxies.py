"""Goldens for the proxy / multi-centre heads and losses (values and gradients).

Anchors: pytorch-metric-learning 2.9 ``ProxyAnchorLoss``, ``SoftTripleLoss``,
``MarginLoss(learn_beta=True)`` (scalar and per-class beta), ``NPairsLoss``,
``SubCenterArcFaceLoss`` (and its ``get_outliers``), ``LargeMarginSoftmaxLoss`` and
``SphereFaceLoss``, run in float64 with their parameters replaced by the arrays saved
here. PML stores ``ProxyAnchorLoss.proxies`` as ``[classes, dim]``: the saved ``pa_p`` is
that transpose, ``[dim, classes]``, the jaxloss layout. The heads' ``W`` and SoftTriple's
``fc`` are ``[dim, columns]`` in PML already. TF-Addons ``npairs_loss`` (labels with
repeated classes) needs TensorFlow: its documented formula (soft-label cross-entropy of
``anchors @ positives.T`` against the row-normalised label-equality matrix) is
transcribed with torch's ``F.cross_entropy`` on probability targets (flagged: weaker than
running the anchor).
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


def _per_term(loss_fn, x, labels):
    """The loss dict of a PML loss (its sub-losses before the reducer)."""
    from pytorch_metric_learning import reducers

    reducer = loss_fn.reducer
    loss_fn.reducer = reducers.DoNothingReducer()
    out = loss_fn(_t(x, False), torch.tensor(labels))
    loss_fn.reducer = reducer
    return out


def _proxy_anchor(out, rng):
    from pytorch_metric_learning import losses

    classes, dim = 6, 5
    x = rng.standard_normal((10, dim))
    labels = np.array([0, 1, 0, 2, 1, 3, 0, 1, 2, 2])  # 4, 5 absent; 3 a singleton
    p = rng.standard_normal((dim, classes))
    out.update(pa_x=x, pa_p=p, pa_labels=labels)
    for name, kw in {"default": {}, "m3": {"margin": 0.3, "alpha": 8.0}}.items():
        loss_fn = losses.ProxyAnchorLoss(classes, dim, **kw)
        loss_fn.proxies.data = torch.tensor(p.T.copy())
        tx = _t(x)
        loss = loss_fn(tx, torch.tensor(labels))
        loss.backward()
        out[f"pa_{name}_mean"], out[f"pa_{name}_gx"] = _np(loss), _np(tx.grad)
        out[f"pa_{name}_gp"] = _np(loss_fn.proxies.grad).T
        terms = _per_term(loss_fn, x, labels)
        present = len(np.unique(labels))
        out[f"pa_{name}_none"] = (
            _np(terms["pos_loss"]["losses"]) / present + _np(terms["neg_loss"]["losses"]) / classes
        )


def _soft_triple(out, rng):
    from pytorch_metric_learning import losses

    classes, dim = 4, 5
    x = rng.standard_normal((9, dim))
    labels = np.array([0, 1, 3, 0, 2, 1, 0, 3, 3])
    out.update(st_x=x, st_labels=labels)
    cases = {
        "default": (10, {}),
        "k3": (3, {"la": 10.0, "gamma": 0.5, "margin": 0.2}),
    }
    for name, (k, kw) in cases.items():
        fc = rng.standard_normal((dim, classes * k))
        out[f"st_{name}_w"] = fc
        loss_fn = losses.SoftTripleLoss(classes, dim, centers_per_class=k, **kw)
        loss_fn.fc.data = torch.tensor(fc)
        tx = _t(x)
        loss = loss_fn(tx, torch.tensor(labels))
        loss.backward()
        out[f"st_{name}_mean"], out[f"st_{name}_gx"] = _np(loss), _np(tx.grad)
        out[f"st_{name}_gw"] = _np(loss_fn.fc.grad)
        out[f"st_{name}_none"] = _np(_per_term(loss_fn, x, labels)["loss"]["losses"])


def _margin(out, rng):
    from pytorch_metric_learning import distances, losses

    classes = 4
    x = rng.standard_normal((9, 3))
    labels = np.array([0, 1, 0, 2, 1, 0, 3, 1, 2])  # 3 is a singleton (no positive)
    per_class_beta = rng.uniform(0.8, 1.4, classes)
    out.update(ml_x=x, ml_labels=labels, ml_beta_classes=per_class_beta)
    cases = {
        "default": ({}, 1.2, None),
        "nu": ({"margin": 0.3, "nu": 0.1}, 0.9, None),
        "classes": ({"nu": 0.05}, 1.0, per_class_beta),
        "raw": (
            {"margin": 0.5, "distance": distances.LpDistance(normalize_embeddings=False)},
            2.0,
            None,
        ),
    }
    for name, (kw, beta, per_class) in cases.items():
        num_classes = None if per_class is None else classes
        loss_fn = losses.MarginLoss(beta=beta, learn_beta=True, num_classes=num_classes, **kw)
        if per_class is not None:
            loss_fn.beta.data = torch.tensor(per_class)
        tx = _t(x)
        loss = loss_fn(tx, torch.tensor(labels))
        loss.backward()
        out[f"ml_{name}_mean"], out[f"ml_{name}_gx"] = _np(loss), _np(tx.grad)
        out[f"ml_{name}_gbeta"] = _np(loss_fn.beta.grad)
    # Explicit triplets (PML indices_tuple): one random negative per positive pair, some dropped.
    neg_idx = np.full((9, 9), -1)
    for a in range(9):
        for p in range(9):
            if p != a and labels[p] == labels[a] and rng.uniform() < 0.8:
                neg_idx[a, p] = rng.choice(np.flatnonzero(labels != labels[a]))
    a_idx, p_idx = np.nonzero(neg_idx >= 0)
    triplets = tuple(torch.tensor(v) for v in (a_idx, p_idx, neg_idx[a_idx, p_idx]))
    out["ml_neg_idx"] = neg_idx
    for name, per_class in (("idx", None), ("idx_classes", per_class_beta)):
        num_classes = None if per_class is None else classes
        loss_fn = losses.MarginLoss(beta=1.1, nu=0.1, learn_beta=True, num_classes=num_classes)
        if per_class is not None:
            loss_fn.beta.data = torch.tensor(per_class)
        tx = _t(x)
        loss = loss_fn(tx, torch.tensor(labels), indices_tuple=triplets)
        loss.backward()
        out[f"ml_{name}_mean"], out[f"ml_{name}_gx"] = _np(loss), _np(tx.grad)
        out[f"ml_{name}_gbeta"] = _np(loss_fn.beta.grad)


def _npairs(out, rng):
    from pytorch_metric_learning import losses

    x = rng.standard_normal((8, 4))
    labels = np.array([3, 0, 2, 3, 1, 0, 1, 2])  # each label exactly twice
    out.update(np_x=x, np_labels=labels)
    tx = _t(x)
    loss = losses.NPairsLoss()(tx, torch.tensor(labels))
    loss.backward()
    out["np_pml_mean"], out["np_pml_gx"] = _np(loss), _np(tx.grad)
    # TF-Addons npairs_loss(y_true=labels, y_pred=a @ p.T), transcribed (module docstring).
    a, p = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    pair_labels = np.array([0, 1, 0, 2, 1, 3])
    out.update(np_a=a, np_p=p, np_pair_labels=pair_labels)
    multi_hot = np.array(
        [[1, 0, 1, 0], [0, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 1], [0, 1, 1, 0], [1, 0, 0, 1]]
    )
    out["np_multi_hot"] = multi_hot
    cases = {
        "tfa": (pair_labels[:, None] == pair_labels[None, :]).astype(np.float64),
        "diag": np.eye(6),
        # npairs_multilabel_loss: y_true @ y_true.T (label-intersection counts), row-normalised.
        "multi": (multi_hot @ multi_hot.T).astype(np.float64),
    }
    for name, same_np in cases.items():
        ta, tp = _t(a), _t(p)
        same = torch.tensor(same_np)
        target = same / same.sum(dim=1, keepdim=True)
        logits = (ta @ tp.T) / 0.5
        loss = F.cross_entropy(logits, target, reduction="none")
        loss.mean().backward()
        out[f"np_{name}_none"], out[f"np_{name}_ga"], out[f"np_{name}_gp"] = (
            _np(loss),
            _np(ta.grad),
            _np(tp.grad),
        )


def _head_inputs(rng, classes, columns, dim=4, batch=8):
    """Embeddings with some examples near the opposite of a column of their class."""
    w = rng.standard_normal((dim, columns))
    labels = rng.integers(0, classes, batch)
    labels[:classes] = np.arange(classes)  # every class present
    x = rng.standard_normal((batch, dim))
    k = columns // classes
    x[5] = -w[:, labels[5] * k] + 0.05 * rng.standard_normal(dim)
    x[6] = -w[:, labels[6] * k] + 0.05 * rng.standard_normal(dim)
    return x, w, labels


def _sub_center(out, rng):
    from pytorch_metric_learning import losses

    classes = 4
    cases = {
        "default": (3, {}),  # margin 28.6 degrees, scale 64
        "k2": (2, {"margin": math.degrees(0.3), "scale": 16.0}),
    }
    for name, (k, kw) in cases.items():
        x, w, labels = _head_inputs(rng, classes, classes * k)
        out.update({f"sc_{name}_x": x, f"sc_{name}_w": w, f"sc_{name}_labels": labels})
        loss_fn = losses.SubCenterArcFaceLoss(
            num_classes=classes, embedding_size=4, sub_centers=k, **kw
        )
        loss_fn.W.data = torch.tensor(w)
        tx = _t(x)
        loss = loss_fn(tx, torch.tensor(labels))
        loss.backward()
        out[f"sc_{name}_mean"], out[f"sc_{name}_gx"] = _np(loss), _np(tx.grad)
        out[f"sc_{name}_gw"] = _np(loss_fn.W.grad)
        for threshold in (75, 100):
            idx, dominant = loss_fn.get_outliers(
                _t(x, False), torch.tensor(labels), threshold=threshold
            )
            mask = np.zeros(len(labels), bool)
            mask[idx.numpy().astype(int)] = True
            out[f"sc_{name}_outliers{threshold}"] = mask
            out[f"sc_{name}_dominant{threshold}"] = _np(dominant)


def _multiplicative(out, rng):
    from pytorch_metric_learning import losses

    classes = 5
    x, w, labels = _head_inputs(rng, classes, classes)
    x[7] = 0.8 * w[:, labels[7]] + 0.05 * rng.standard_normal(4)  # a small angle (k = 0)
    out.update(lm_x=x, lm_w=w, lm_labels=labels)
    cases = {
        "lsoftmax_default": (losses.LargeMarginSoftmaxLoss, {}),
        "lsoftmax_m3": (losses.LargeMarginSoftmaxLoss, {"margin": 3, "scale": 0.5}),
        "lsoftmax_m1": (losses.LargeMarginSoftmaxLoss, {"margin": 1}),
        "sphereface_default": (losses.SphereFaceLoss, {}),
        "sphereface_m2": (losses.SphereFaceLoss, {"margin": 2, "scale": 2.0}),
    }
    for name, (cls, kw) in cases.items():
        loss_fn = cls(num_classes=classes, embedding_size=4, **kw)
        loss_fn.W.data = torch.tensor(w)
        tx = _t(x)
        loss = loss_fn(tx, torch.tensor(labels))
        loss.backward()
        out[f"lm_{name}_mean"], out[f"lm_{name}_gx"] = _np(loss), _np(tx.grad)
        out[f"lm_{name}_gw"] = _np(loss_fn.W.grad)
        out[f"lm_{name}_none"] = _np(_per_term(loss_fn, x, labels)["loss"]["losses"])


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20261203)
    out: dict[str, np.ndarray] = {}
    for part in (_proxy_anchor, _soft_triple, _margin, _npairs, _sub_center, _multiplicative):
        part(out, rng)
    return out
