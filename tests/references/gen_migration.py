"""Goldens for the executed migration table (``src/jaxloss/_src/anchor_names.py``).

For every row whose ``check`` is ``"golden"``, ``"optax"`` or ``"scipy"`` this stores the row's
inputs (``<ident>/<arg>``, built per input kind below, float64, small). For the ``"golden"`` rows
it also runs the anchor (float64) and stores ``<ident>/value`` and ``<ident>/grad`` (the gradient
of the summed anchor output w.r.t. the row's first input, in jaxloss's layout). The ``"optax"``
and ``"scipy"`` rows run their anchor inside the test.

Anchors: torch 2.13 CPU (functional API), torchvision 0.28 ops (loaded without torchvision's
compiled operators, as gen_detection.py does), pytorch-metric-learning 2.9, MONAI 1.6.1
(channel-first; inputs transposed), rax 0.4 (with the jax.util shim of API.md E8), POT 0.9,
Keras 3 (``KERAS_BACKEND=torch``, float64), sentence-transformers (``compute_loss_from_embeddings``
with an identity model) and open_clip 3.3 (``loss.py`` loaded on its own, as gen_self_supervised.py
does).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import pathlib
import sys
import types
import warnings
import zlib

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _table():
    """anchor_names.py loaded by path (no jaxloss/jax import needed)."""
    path = ROOT / "src" / "jaxloss" / "_src" / "anchor_names.py"
    spec = importlib.util.spec_from_file_location("_anchor_names", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["_anchor_names"] = module
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- inputs per kind

N, C = 6, 5


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def inputs(kind: str, seed: int) -> dict[str, np.ndarray]:
    """The arrays of one input kind (names as in anchor_names.KINDS, plus extras)."""
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((N, C)) * 1.5
    labels = rng.integers(0, C, N)
    if kind in ("logp_int", "logits_int", "scores_int"):
        first = (
            "log_probs" if kind == "logp_int" else "logits" if kind == "logits_int" else "scores"
        )
        x = logits - np.log(np.exp(logits).sum(-1, keepdims=True)) if kind == "logp_int" else logits
        return {first: x, "labels": labels}
    if kind in ("logits_ign", "logp_ign"):
        labels[[1, 4]] = -100
        x = logits - np.log(np.exp(logits).sum(-1, keepdims=True)) if kind == "logp_ign" else logits
        first = "log_probs" if kind == "logp_ign" else "logits"
        return {first: x, "labels": labels, "weight": rng.uniform(0.3, 2.0, C)}
    if kind == "logits_soft":
        return {"logits": logits, "labels": _softmax(rng.standard_normal((N, C)))}
    if kind == "logits_bin":
        return {
            "logits": rng.standard_normal((N, 4)) * 2.0,
            "labels": (rng.uniform(size=(N, 4)) < 0.4).astype(np.float64),
            "pos_weight": rng.uniform(0.5, 3.0, 4),
            "weight": rng.uniform(0.2, 2.0, (N, 4)),
        }
    if kind == "probs_bin":
        return {
            "probabilities": rng.uniform(0.05, 0.95, (N, 4)),
            "labels": (rng.uniform(size=(N, 4)) < 0.4).astype(np.float64),
        }
    if kind == "probs_cat":
        return {"probabilities": _softmax(logits), "labels": np.eye(C)[labels]}
    if kind == "probs_sparse":
        return {"probabilities": _softmax(logits), "labels": labels}
    if kind == "reg":
        return {"predictions": rng.standard_normal((N, 4)), "targets": rng.standard_normal((N, 4))}
    if kind == "reg_pos":
        return {
            "predictions": rng.uniform(0.2, 3.0, (N, 4)),
            "targets": rng.uniform(0.2, 3.0, (N, 4)),
        }
    if kind == "gauss":
        return {
            "mean": rng.standard_normal((N, 4)),
            "targets": rng.standard_normal((N, 4)),
            "variance": rng.uniform(0.2, 2.0, (N, 4)),
        }
    if kind == "kl":
        return {
            "log_predictions": np.log(_softmax(logits)),
            "targets": _softmax(rng.standard_normal((N, C))),
        }
    if kind == "kl_log":
        return {
            "log_predictions": np.log(_softmax(logits)),
            "targets": np.log(_softmax(rng.standard_normal((N, C)))),
        }
    if kind == "rank_pm1":
        return {
            "x1": rng.standard_normal(8),
            "x2": rng.standard_normal(8),
            "labels": rng.choice([-1.0, 1.0], 8),
        }
    if kind == "dist_pm1":
        return {"predictions": rng.uniform(0.0, 2.0, 8), "labels": rng.choice([-1.0, 1.0], 8)}
    if kind == "scores_01":
        return {"scores": rng.standard_normal(8), "labels": rng.choice([0.0, 1.0], 8)}
    if kind == "scores_pm1":
        return {"scores": rng.standard_normal(8), "labels": rng.choice([-1.0, 1.0], 8)}
    if kind == "multilabel":
        t = np.full((4, C), -1, np.int64)
        t[0, :2] = [3, 0]
        t[1, :1] = [2]
        t[2, :3] = [1, 4, 2]
        return {"scores": rng.standard_normal((4, C)), "targets": t}
    if kind == "cos_pairs":
        return {
            "x1": rng.standard_normal((N, 4)),
            "x2": rng.standard_normal((N, 4)),
            "labels": rng.choice([-1.0, 1.0], N),
        }
    if kind == "triplets":
        return {k: rng.standard_normal((N, 4)) for k in ("anchors", "positives", "negatives")}
    if kind == "boxes":
        lo = rng.uniform(-2.0, 2.0, (2, 5, 2))
        hi = lo + rng.uniform(0.2, 3.0, (2, 5, 2))
        b = np.concatenate([lo, hi], -1)
        return {"boxes1": b[0], "boxes2": b[1]}
    if kind == "ctc":
        t, k = 7, 3
        logit_paddings = np.zeros((2, t))
        logit_paddings[1, 5:] = 1.0
        lab = rng.integers(1, 4, (2, k))
        label_paddings = np.zeros((2, k))
        label_paddings[1, 2:] = 1.0
        return {
            "logits": rng.standard_normal((2, t, 4)),
            "logit_paddings": logit_paddings,
            "labels": lab,
            "label_paddings": label_paddings,
        }
    if kind in ("emb", "emb_pair", "ntxent"):
        y = np.repeat(np.arange(3), 4)
        return {"embeddings": rng.standard_normal((12, 4)), "labels": rng.permutation(y)}
    if kind == "emb_sorted":  # PML's Smooth-AP: 3 classes x 3 items, sorted by label
        return {"embeddings": rng.standard_normal((9, 4)), "labels": np.repeat(np.arange(3), 3)}
    if kind == "emb_only":
        return {"embeddings": rng.standard_normal((N, 4))}
    if kind == "centers":  # jaxloss's [dim, classes]; 4 classes x 3 centres, class-major
        return {"centers": rng.standard_normal((4, 12))}
    if kind == "seg_dist":
        return {
            "predictions": rng.standard_normal((2, 6, 6, 3)),
            "targets": rng.integers(0, 3, (2, 6, 6)),
            "dist_matrix": np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5], [1.0, 0.5, 0.0]]),
        }
    if kind == "seg":
        return {
            "predictions": rng.standard_normal((2, 6, 6, 3)),
            "targets": rng.integers(0, 3, (2, 6, 6)),
        }
    if kind == "img":
        a = rng.uniform(0.0, 1.0, (2, 16, 16, 1))
        return {"predictions": a, "targets": np.clip(a + 0.1 * rng.standard_normal(a.shape), 0, 1)}
    if kind == "disp":
        return {"displacement": rng.standard_normal((2, 7, 7, 2))}
    if kind == "lists":
        return {
            "scores": rng.standard_normal((3, 6)),
            "labels": rng.integers(0, 4, (3, 6)).astype(np.float64),
        }
    if kind == "points_1d":
        return {"x": rng.standard_normal((7, 1)), "y": rng.standard_normal((9, 1)) + 0.5}
    if kind == "samples_1d":
        return {"u_values": rng.standard_normal(7), "v_values": rng.standard_normal(9) + 0.5}
    if kind == "pair_scores":
        return {
            "x1": rng.standard_normal((N, 4)),
            "x2": rng.standard_normal((N, 4)),
            "scores": np.array([0.0, 0.25, 0.5, 1.0, 0.75, 0.1]),
        }
    if kind == "pair_similar":
        x1 = rng.standard_normal((N, 4))
        return {
            "x1": x1,
            "x2": x1 + 0.8 * rng.standard_normal((N, 4)),
            "similar": np.array([1, 0, 1, 1, 0, 0]),
        }
    if kind in ("mnrl", "clip"):
        a, b = rng.standard_normal((N, 4)), rng.standard_normal((N, 4))
        names = (
            ("anchors", "positives") if kind == "mnrl" else ("image_embeddings", "text_embeddings")
        )
        return dict(zip(names, (a, a + 0.7 * b)))
    raise KeyError(kind)


# --------------------------------------------------------------------------- anchors


def _t(x, grad=False):
    x = np.asarray(x)
    t = torch.tensor(x)
    if grad and t.is_floating_point():
        t.requires_grad_(True)
    return t


def _cf(a):
    return np.moveaxis(a, -1, 1)


def _cl(a):
    return np.moveaxis(a, 1, -1)


@functools.cache
def _torchvision_ops():
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    from gen_detection import _torchvision_ops as ops

    return ops()


@functools.cache
def _open_clip():
    spec = importlib.util.find_spec("open_clip")
    assert spec is not None and spec.submodule_search_locations
    path = pathlib.Path(next(iter(spec.submodule_search_locations))) / "loss.py"
    module_spec = importlib.util.spec_from_file_location("open_clip_loss", path)
    assert module_spec and module_spec.loader
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def _torch_rows():
    """ident -> fn(tensors dict) -> anchor output; the first input carries the gradient."""
    from monai import losses as ml
    from pytorch_metric_learning import losses as pl
    from pytorch_metric_learning import regularizers as rg
    from pytorch_metric_learning.distances import LpDistance

    ops = _torchvision_ops()
    raw = LpDistance(normalize_embeddings=False)

    def monai(module, **kw):
        def fn(d):
            return module(**kw)(d["predictions"], d["targets"][:, None])

        return fn

    def st(cls_name, labels_key, **kw):
        _no_torchvision_in_transformers()
        import sentence_transformers.sentence_transformer.losses as stl

        cls = getattr(stl, cls_name)

        def fn(d):
            loss = cls(torch.nn.Identity(), **kw)
            return loss.compute_loss_from_embeddings([d["x1"], d["x2"]], d[labels_key])

        return fn

    def vision(key, **kw):
        return lambda d: ops[key](d["boxes1"], d["boxes2"], **kw)

    rows = {
        "torch/nll_loss/0": lambda d: F.nll_loss(d["log_probs"], d["labels"]),
        "torch/nll_loss/1": lambda d: F.nll_loss(
            d["log_probs"], d["labels"], weight=d["weight"], ignore_index=-100
        ),
        "torch/cross_entropy/0": lambda d: F.cross_entropy(d["logits"], d["labels"]),
        "torch/cross_entropy/1": lambda d: F.cross_entropy(
            d["logits"], d["labels"], label_smoothing=0.1
        ),
        "torch/cross_entropy/2": lambda d: F.cross_entropy(
            d["logits"], d["labels"], weight=d["weight"], ignore_index=-100
        ),
        "torch/cross_entropy/3": lambda d: F.cross_entropy(d["logits"], d["labels"]),
        "torch/binary_cross_entropy/0": lambda d: F.binary_cross_entropy(
            d["probabilities"], d["labels"]
        ),
        "torch/binary_cross_entropy_with_logits/0": lambda d: F.binary_cross_entropy_with_logits(
            d["logits"], d["labels"]
        ),
        "torch/binary_cross_entropy_with_logits/1": lambda d: F.binary_cross_entropy_with_logits(
            d["logits"], d["labels"], pos_weight=d["pos_weight"]
        ),
        "torch/binary_cross_entropy_with_logits/2": lambda d: F.binary_cross_entropy_with_logits(
            d["logits"], d["labels"], weight=d["weight"]
        ),
        "torch/mse_loss/0": lambda d: F.mse_loss(d["predictions"], d["targets"]),
        "torch/l1_loss/0": lambda d: F.l1_loss(d["predictions"], d["targets"]),
        "torch/huber_loss/0": lambda d: F.huber_loss(d["predictions"], d["targets"], delta=0.5),
        "torch/smooth_l1_loss/0": lambda d: F.smooth_l1_loss(
            d["predictions"], d["targets"], beta=0.5
        ),
        "torch/kl_div/0": lambda d: F.kl_div(
            d["log_predictions"], d["targets"], reduction="batchmean"
        ),
        "torch/kl_div/1": lambda d: F.kl_div(
            d["log_predictions"], d["targets"], reduction="batchmean", log_target=True
        ),
        "torch/poisson_nll_loss/0": lambda d: F.poisson_nll_loss(d["predictions"], d["targets"]),
        "torch/poisson_nll_loss/1": lambda d: F.poisson_nll_loss(
            d["predictions"], d["targets"], log_input=False, full=True
        ),
        "torch/gaussian_nll_loss/0": lambda d: F.gaussian_nll_loss(
            d["mean"], d["targets"], d["variance"]
        ),
        "torch/margin_ranking_loss/0": lambda d: F.margin_ranking_loss(
            d["x1"], d["x2"], d["labels"], margin=0.5
        ),
        "torch/hinge_embedding_loss/0": lambda d: F.hinge_embedding_loss(
            d["predictions"], d["labels"]
        ),
        "torch/multi_margin_loss/0": lambda d: F.multi_margin_loss(d["scores"], d["labels"]),
        "torch/multi_margin_loss/1": lambda d: F.multi_margin_loss(
            d["scores"], d["labels"], p=2, margin=0.5
        ),
        "torch/multilabel_margin_loss/0": lambda d: F.multilabel_margin_loss(
            d["scores"], d["targets"]
        ),
        "torch/cosine_embedding_loss/0": lambda d: F.cosine_embedding_loss(
            d["x1"], d["x2"], d["labels"], margin=0.2
        ),
        "torch/triplet_margin_loss/0": lambda d: F.triplet_margin_loss(
            d["anchors"], d["positives"], d["negatives"]
        ),
        "torch/triplet_margin_loss/1": lambda d: F.triplet_margin_loss(
            d["anchors"], d["positives"], d["negatives"], margin=0.5, swap=True
        ),
        "torch/ctc_loss/0": lambda d: F.ctc_loss(
            F.log_softmax(d["logits"], -1).transpose(0, 1),
            d["labels"],
            (1 - d["logit_paddings"]).sum(1).long(),
            (1 - d["label_paddings"]).sum(1).long(),
            reduction="none",
        ),
        "torchvision/sigmoid_focal_loss/0": lambda d: ops_focal(d["logits"], d["labels"]),
        "torchvision/sigmoid_focal_loss/1": lambda d: ops_focal(
            d["logits"], d["labels"], alpha=-1, gamma=1.5, reduction="mean"
        ),
        "torchvision/generalized_box_iou_loss/0": vision("giou"),
        "torchvision/distance_box_iou_loss/0": vision("diou"),
        "torchvision/complete_box_iou_loss/0": vision("ciou"),
        # PML
        "pml/MultiSimilarityLoss/0": lambda d: pl.MultiSimilarityLoss()(
            d["embeddings"], d["labels"]
        ),
        "pml/MultiSimilarityLoss/1": lambda d: pl.MultiSimilarityLoss(
            alpha=1.5, beta=8.0, base=0.3
        )(d["embeddings"], d["labels"]),
        "pml/CircleLoss/0": lambda d: pl.CircleLoss()(d["embeddings"], d["labels"]),
        "pml/CircleLoss/1": lambda d: pl.CircleLoss(m=0.25, gamma=32.0)(
            d["embeddings"], d["labels"]
        ),
        "pml/GeneralizedLiftedStructureLoss/0": lambda d: pl.GeneralizedLiftedStructureLoss()(
            d["embeddings"], d["labels"]
        ),
        "pml/LiftedStructureLoss/0": lambda d: pl.LiftedStructureLoss()(
            d["embeddings"], d["labels"]
        ),
        "pml/NCALoss/0": lambda d: pl.NCALoss()(d["embeddings"], d["labels"]),
        "pml/AngularLoss/0": lambda d: pl.AngularLoss()(d["embeddings"], d["labels"]),
        "pml/TupletMarginLoss/0": lambda d: pl.TupletMarginLoss()(d["embeddings"], d["labels"]),
        "pml/ContrastiveLoss/0": lambda d: pl.ContrastiveLoss(
            pos_margin=0.3, neg_margin=1.2, distance=raw
        )(d["embeddings"], d["labels"]),
        "pml/TripletMarginLoss/0": lambda d: pl.TripletMarginLoss(margin=0.2, distance=raw)(
            d["embeddings"], d["labels"]
        ),
        "pml/SupConLoss/0": lambda d: pl.SupConLoss(temperature=0.1)(d["embeddings"], d["labels"]),
        "pml/FastAPLoss/0": lambda d: pl.FastAPLoss()(d["embeddings"], d["labels"]),
        "pml/SmoothAPLoss/0": lambda d: pl.SmoothAPLoss()(d["embeddings"], d["labels"]),
        "pml/HistogramLoss/0": lambda d: pl.HistogramLoss()(d["embeddings"], d["labels"]),
        "pml/LpRegularizer/0": lambda d: rg.LpRegularizer()(d["embeddings"]),
        "pml/ZeroMeanRegularizer/0": lambda d: rg.ZeroMeanRegularizer()(d["embeddings"]),
        # PML's weights are [classes, dim]: the transpose of the stored (jaxloss) centres
        "pml/CenterInvariantRegularizer/0": lambda d: rg.CenterInvariantRegularizer()(
            d["centers"].t()
        ),
        "pml/RegularFaceRegularizer/0": lambda d: rg.RegularFaceRegularizer()(d["centers"].t()),
        "pml/SparseCentersRegularizer/0": lambda d: rg.SparseCentersRegularizer(
            num_classes=4, centers_per_class=3
        )(d["centers"].t()),
        # MONAI (channel-first inside monai(); predictions transposed by the caller)
        "monai/DiceLoss/0": monai(ml.DiceLoss, softmax=True, to_onehot_y=True),
        "monai/DiceLoss/1": monai(ml.DiceLoss, sigmoid=True, to_onehot_y=True),
        "monai/DiceLoss/2": monai(
            ml.DiceLoss, softmax=True, to_onehot_y=True, include_background=False, squared_pred=True
        ),
        "monai/DiceLoss/3": monai(ml.DiceLoss, softmax=True, to_onehot_y=True, jaccard=True),
        "monai/GeneralizedDiceLoss/0": monai(
            ml.GeneralizedDiceLoss, softmax=True, to_onehot_y=True
        ),
        "monai/TverskyLoss/0": monai(
            ml.TverskyLoss, softmax=True, to_onehot_y=True, alpha=0.3, beta=0.7
        ),
        "monai/DiceCELoss/0": monai(ml.DiceCELoss, softmax=True, to_onehot_y=True),
        "monai/DiceFocalLoss/0": monai(ml.DiceFocalLoss, softmax=True, to_onehot_y=True),
        "monai/FocalLoss/0": monai(ml.FocalLoss, to_onehot_y=True),
        "monai/FocalLoss/1": monai(ml.FocalLoss, to_onehot_y=True, use_softmax=True),
        "monai/GeneralizedDiceFocalLoss/0": monai(
            ml.GeneralizedDiceFocalLoss, softmax=True, to_onehot_y=True
        ),
        "monai/GeneralizedWassersteinDiceLoss/0": lambda d: ml.GeneralizedWassersteinDiceLoss(
            d["dist_matrix"]
        )(d["predictions"], d["targets"][:, None]),
        "monai/SSIMLoss/0": lambda d: ml.SSIMLoss(spatial_dims=2, data_range=1.0)(
            d["predictions"], d["targets"]
        ),
        "monai/BendingEnergyLoss/0": lambda d: ml.BendingEnergyLoss()(d["displacement"]),
        "monai/DiffusionLoss/0": lambda d: ml.DiffusionLoss()(d["displacement"]),
        # sentence-transformers
        "st/CosineSimilarityLoss/0": st("CosineSimilarityLoss", "scores"),
        "st/CoSENTLoss/0": st("CoSENTLoss", "scores"),
        "st/AnglELoss/0": st("AnglELoss", "scores"),
        "st/ContrastiveLoss/0": st("ContrastiveLoss", "similar", margin=0.5),
        "st/OnlineContrastiveLoss/0": st("OnlineContrastiveLoss", "similar"),
        "st/MultipleNegativesRankingLoss/0": lambda d: _mnrl(d),
        "st/MultipleNegativesSymmetricRankingLoss/0": lambda d: _mnrl(d, symmetric=True),
        # open_clip
        "open_clip/SigLipLoss/0": lambda d: _open_clip().SigLipLoss(rank=0, world_size=1)(
            F.normalize(d["image_embeddings"], dim=-1),
            F.normalize(d["text_embeddings"], dim=-1),
            torch.tensor(10.0),
            torch.tensor(-10.0),
        ),
        "open_clip/ClipLoss/0": lambda d: _open_clip().ClipLoss()(
            F.normalize(d["image_embeddings"], dim=-1),
            F.normalize(d["text_embeddings"], dim=-1),
            torch.tensor(1 / 0.07),
        ),
    }
    return rows


def ops_focal(logits, labels, **kw):
    return _torchvision_focal()(logits, labels, **kw)


@functools.cache
def _torchvision_focal():
    spec = importlib.util.find_spec("torchvision")
    assert spec is not None and spec.submodule_search_locations
    root = pathlib.Path(next(iter(spec.submodule_search_locations)))
    saved = {
        k: v for k, v in sys.modules.items() if k == "torchvision" or k.startswith("torchvision.")
    }
    package = types.ModuleType("torchvision")
    package.__path__ = [str(root)]
    utils = types.ModuleType("torchvision.utils")
    utils._log_api_usage_once = lambda obj: None  # type: ignore[attr-defined]
    ops = types.ModuleType("torchvision.ops")
    ops.__path__ = [str(root / "ops")]
    sys.modules.update({"torchvision": package, "torchvision.utils": utils, "torchvision.ops": ops})
    try:
        return importlib.import_module("torchvision.ops.focal_loss").sigmoid_focal_loss
    finally:
        for k in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
            del sys.modules[k]
        sys.modules.update(saved)


def _no_torchvision_in_transformers():
    """transformers imports torchvision when it finds it; its ops do not load beside CPU torch 2.13
    ("operator torchvision::nms does not exist"), so transformers is told torchvision is absent."""
    import transformers.utils as tu
    import transformers.utils.import_utils as iu

    for module in (iu, tu):
        module.is_torchvision_available = lambda: False
        module.is_torchvision_v2_available = lambda: False


def _mnrl(d, symmetric=False):
    from sentence_transformers.sentence_transformer import losses

    cls = (
        losses.MultipleNegativesSymmetricRankingLoss
        if symmetric
        else losses.MultipleNegativesRankingLoss
    )
    loss = cls(torch.nn.Identity())
    return loss.compute_loss_from_embeddings([d["anchors"], d["positives"]], None)


def _keras_rows():
    import keras

    keras.config.set_floatx("float64")
    L = keras.losses

    def k(loss, y_key, p_key, from_logits=None, **kw):
        def fn(d):
            obj = loss(**({"from_logits": from_logits} if from_logits is not None else {}), **kw)
            return obj(d[y_key], d[p_key])

        return fn

    return {
        "keras/BinaryCrossentropy/0": k(L.BinaryCrossentropy, "labels", "probabilities"),
        "keras/BinaryCrossentropy/1": k(L.BinaryCrossentropy, "labels", "logits", from_logits=True),
        "keras/CategoricalCrossentropy/0": k(L.CategoricalCrossentropy, "labels", "probabilities"),
        "keras/CategoricalCrossentropy/1": k(
            L.CategoricalCrossentropy, "labels", "logits", from_logits=True
        ),
        "keras/SparseCategoricalCrossentropy/0": k(
            L.SparseCategoricalCrossentropy, "labels", "probabilities"
        ),
        "keras/MeanSquaredError/0": k(L.MeanSquaredError, "targets", "predictions"),
        "keras/MeanAbsoluteError/0": k(L.MeanAbsoluteError, "targets", "predictions"),
        "keras/MeanAbsolutePercentageError/0": k(
            L.MeanAbsolutePercentageError, "targets", "predictions"
        ),
        "keras/MeanSquaredLogarithmicError/0": k(
            L.MeanSquaredLogarithmicError, "targets", "predictions"
        ),
        "keras/Huber/0": k(L.Huber, "targets", "predictions", delta=0.5),
        "keras/LogCosh/0": k(L.LogCosh, "targets", "predictions"),
        "keras/Hinge/0": k(L.Hinge, "labels", "scores"),
        "keras/SquaredHinge/0": k(L.SquaredHinge, "labels", "scores"),
    }


def _jax_rows():
    """rax and POT (numpy/jax) anchors: ident -> (fn(arrays) -> value, grad arg)."""
    import jax

    jax.util = types.SimpleNamespace(wraps=lambda f, **k: functools.wraps(f))  # API.md E8
    jax.config.update("jax_enable_x64", True)
    import rax

    def r(fn, **kw):
        return lambda d: fn(d["scores"], d["labels"], **kw)

    return {
        "rax/softmax_loss/0": r(rax.softmax_loss),
        "rax/listmle_loss/0": r(rax.listmle_loss),
        "rax/poly1_softmax_loss/0": r(rax.poly1_softmax_loss),
        "rax/unique_softmax_loss/0": r(rax.unique_softmax_loss),
        "rax/pairwise_hinge_loss/0": r(rax.pairwise_hinge_loss),
        "rax/pairwise_logistic_loss/0": r(rax.pairwise_logistic_loss),
        "rax/pairwise_mse_loss/0": r(rax.pairwise_mse_loss),
        "rax/pairwise_soft_zero_one_loss/0": r(rax.pairwise_soft_zero_one_loss),
        "rax/pairwise_qr_loss/0": r(rax.pairwise_qr_loss),
        "rax/approx_t12n(rax.ndcg_metric)/0": r(rax.approx_t12n(rax.ndcg_metric)),
    }


def _pot_rows():
    import ot

    return {
        "ott/ot.wasserstein_1d/0": lambda d: ot.wasserstein_1d(d["u_values"], d["v_values"], p=2.0),
    }


def _torch_run(fn, arrays, first, transpose):
    tensors = {k: _t(_cf(v) if k in transpose else v, grad=(k == first)) for k, v in arrays.items()}
    out = fn(tensors)
    out.sum().backward()
    grad = tensors[first].grad.numpy()
    return out.detach().numpy(), (_cl(grad) if first in transpose else grad)


def generate() -> dict[str, np.ndarray]:
    table = _table()
    torch_rows, keras_rows = _torch_rows(), _keras_rows()
    jax_rows, pot_rows = _jax_rows(), _pot_rows()
    out: dict[str, np.ndarray] = {}
    done = set()
    for row in table.ROWS:
        if row.check not in ("golden", "optax", "scipy"):
            continue
        ident = row.ident
        arrays = inputs(row.inputs, zlib.crc32(ident.encode()))
        for name, value in arrays.items():
            out[f"{ident}/{name}"] = value
        if row.check != "golden":
            continue
        first = table.KINDS[row.inputs][0]
        if ident in torch_rows or ident in keras_rows:
            fn = torch_rows.get(ident) or keras_rows[ident]
            transpose = (
                ("predictions",)
                if row.anchor == "monai" and row.inputs in ("seg", "seg_dist")
                else ("predictions", "targets")
                if row.inputs == "img"
                else ("displacement",)
                if row.inputs == "disp"
                else ()
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value, grad = _torch_run(fn, arrays, first, transpose)
        elif ident in jax_rows:
            import jax
            import jax.numpy as jnp

            fn = jax_rows[ident]

            def f(x, fn=fn, arrays=arrays, first=first):
                return jnp.sum(fn({**arrays, first: x}))

            value = np.asarray(jax_rows[ident]({k: jnp.asarray(v) for k, v in arrays.items()}))
            grad = np.asarray(jax.grad(f)(jnp.asarray(arrays[first])))
        elif ident in pot_rows:
            import ot

            ot.backend.get_backend  # noqa: B018  (numpy backend; torch backend for the gradient)
            ta = {k: _t(v, grad=(k == first)) for k, v in arrays.items()}
            v = pot_rows[ident](ta)
            v.sum().backward()
            value, grad = v.detach().numpy(), ta[first].grad.numpy()
        else:
            raise KeyError(f"no anchor for golden row {ident}")
        out[f"{ident}/value"] = np.asarray(value, np.float64)
        out[f"{ident}/grad"] = np.asarray(grad, np.float64)
        done.add(ident)
    missing = set(torch_rows) | set(keras_rows) | set(jax_rows) | set(pot_rows)
    assert missing <= done, sorted(missing - done)
    return out
