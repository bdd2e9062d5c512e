"""Goldens for the sentence-transformers losses (CoSENT, AnglE, CosineSimilarity,
OnlineContrastive, Contrastive, MarginMSE, GlobalOrthogonalRegularization).

Anchor: sentence-transformers 6.3 (torch 2.13, float64), installed with
``pip install --no-deps sentence-transformers transformers huggingface_hub tokenizers
safetensors regex httpx2 httpcore2 h11 idna truststore``. No model is loaded: each ST
loss gets ``torch.nn.Identity()`` as its model and is called through
``compute_loss_from_embeddings`` with given embeddings, which is the loss's whole
computation once the model has embedded the texts. Values and gradients w.r.t. the
embeddings (or the scores, where a ``similarity_fct`` that returns a column of its
input makes the ST loss act on given scores).

TF-Addons ``contrastive_loss`` is not run (TF is not installable): the test file checks
it against hand-derived figures of its documented formula (transcribe), and here
against ST ``ContrastiveLoss``, which is half of it.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

B, D = 10, 6


def _t(x, grad=True):
    return torch.tensor(np.asarray(x, np.float64), requires_grad=grad)


def _np(x):
    return x.detach().numpy().astype(np.float64)


def _run(out, key, loss_fn, tensors):
    """Stores ``loss_fn(*tensors)`` (a tensor, or ST's dict of terms, summed) and its gradients."""
    assert key not in out, key
    value = loss_fn(*tensors)
    if isinstance(value, dict):
        value = sum(value.values())
    value.backward()
    out[key] = _np(value)
    for i, t in enumerate(tensors):
        out[f"{key}_g{i}"] = _np(t.grad)


def _cosent_angle(out, rng):
    from sentence_transformers import util
    from sentence_transformers.sentence_transformer.losses import AnglELoss, CoSENTLoss

    model = torch.nn.Identity()
    x1, x2 = rng.standard_normal((B, D)), rng.standard_normal((B, D))
    x1[3] = x2[3] + 0.1 * rng.standard_normal(D)  # one near-duplicate pair
    scores = np.array([0.0, 0.25, 0.5, 1.0, 0.25, 0.75, 0.0, 0.5, 1.0, 0.25])  # with ties
    ints = np.array([0, 3, 1, 5, 2, 2, 4, 0, 5, 1])
    bools = np.array([True, False, False, True, True, False, True, False, False, True])
    out.update(c_x1=x1, c_x2=x2, c_scores=scores, c_ints=ints, c_bools=bools)
    odd1, odd2 = rng.standard_normal((B, D - 1)), rng.standard_normal((B, D - 1))
    zero1 = x1.copy()
    zero1[5] = 0.0  # a zero vector
    out.update(c_odd1=odd1, c_odd2=odd2, c_zero1=zero1)

    def cosent(labels, **kw):
        return lambda a, b: CoSENTLoss(model, **kw).compute_loss_from_embeddings([a, b], labels)

    def angle(labels, **kw):
        return lambda a, b: AnglELoss(model, **kw).compute_loss_from_embeddings([a, b], labels)

    t_scores = torch.tensor(scores)
    _run(out, "cosent", cosent(t_scores), (_t(x1), _t(x2)))
    _run(out, "cosent_s5", cosent(t_scores, scale=5.0), (_t(x1), _t(x2)))
    _run(
        out,
        "cosent_dot",
        cosent(t_scores, scale=2.0, similarity_fct=util.pairwise_dot_score),
        (_t(x1), _t(x2)),
    )
    _run(out, "cosent_ints", cosent(torch.tensor(ints)), (_t(x1), _t(x2)))
    _run(out, "cosent_bools", cosent(torch.tensor(bools)), (_t(x1), _t(x2)))
    _run(out, "cosent_zero", cosent(t_scores), (_t(zero1), _t(x2)))
    _run(
        out,
        "cosent_angle",
        cosent(t_scores, similarity_fct=util.pairwise_angle_sim),
        (_t(x1), _t(x2)),
    )
    _run(out, "angle", angle(t_scores), (_t(x1), _t(x2)))
    _run(out, "angle_s3", angle(t_scores, scale=3.0), (_t(x1), _t(x2)))
    _run(out, "angle_odd", angle(t_scores), (_t(odd1), _t(odd2)))
    _run(out, "angle_zero", angle(t_scores), (_t(zero1), _t(x2)))
    _run(out, "angle_ints", angle(torch.tensor(ints)), (_t(x1), _t(x2)))


def _cosine_similarity(out, rng):
    from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss

    model = torch.nn.Identity()
    x1, x2 = rng.standard_normal((B, D)), rng.standard_normal((B, D))
    targets = rng.uniform(0.0, 1.0, B)
    out.update(s_x1=x1, s_x2=x2, s_targets=targets)
    loss = CosineSimilarityLoss(model)
    _run(
        out,
        "cossim",
        lambda a, b: loss.compute_loss_from_embeddings([a, b], torch.tensor(targets)),
        (_t(x1), _t(x2)),
    )


def _online_contrastive(out, rng):
    from sentence_transformers.sentence_transformer.losses import (
        OnlineContrastiveLoss,
        SiameseDistanceMetric,
    )

    model = torch.nn.Identity()
    x1 = rng.standard_normal((B, D))
    x2 = x1 + 0.9 * rng.standard_normal((B, D))
    x2[[1, 4, 6, 8]] = rng.standard_normal((4, D))  # unrelated pairs
    labels = np.array([1, 0, 1, 1, 0, 1, 0, 1, 0, 1])
    out.update(o_x1=x1, o_x2=x2, o_labels=labels)
    # F.pairwise_distance (ST's EUCLIDEAN/MANHATTAN) adds 1e-6 to the difference; the exact norms
    # keep the comparison at float64 precision (the built-in EUCLIDEAN is stored too).
    metrics = {
        "cosine": SiameseDistanceMetric.COSINE_DISTANCE,
        "euclidean": lambda a, b: torch.linalg.vector_norm(a - b, dim=-1),
        "manhattan": lambda a, b: (a - b).abs().sum(-1),
        "st_euclidean": SiameseDistanceMetric.EUCLIDEAN,
    }
    cases = {
        "online": ("cosine", 0.5, labels),
        "online_m1": ("cosine", 1.0, labels),
        "online_euclidean": ("euclidean", 3.0, labels),
        "online_st_euclidean": ("st_euclidean", 3.0, labels),
        "online_manhattan": ("manhattan", 6.0, labels),
        "online_nopos": ("cosine", 1.5, np.zeros(B, np.int64)),
        "online_noneg": ("cosine", 0.5, np.ones(B, np.int64)),
        "online_onepos": ("cosine", 1.0, np.eye(B, dtype=np.int64)[2]),
        "online_ignored": ("cosine", 0.5, np.where(np.arange(B) == 3, 2, labels)),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ST warns once about the label 2
        for key, (metric, margin, y) in cases.items():
            loss = OnlineContrastiveLoss(model, distance_metric=metrics[metric], margin=margin)
            out[f"{key}_labels"] = y
            _run(
                out,
                key,
                lambda a, b, loss=loss, y=y: loss.compute_loss_from_embeddings(
                    [a, b], torch.tensor(y)
                ),
                (_t(x1), _t(x2)),
            )


def _contrastive(out, rng):
    from sentence_transformers.sentence_transformer.losses import ContrastiveLoss

    model = torch.nn.Identity()
    d = rng.uniform(0.0, 2.0, B)
    y = np.array([1, 0, 1, 0, 0, 1, 1, 0, 0, 1], np.float64)
    soft = rng.uniform(0.0, 1.0, B)
    out.update(k_d=d, k_y=y, k_soft_y=soft)
    for key, margin, labels, size_average in (
        ("k", 1.0, y, True),
        ("k_m05", 0.5, y, True),
        ("k_soft", 1.5, soft, True),
        ("k_sum", 1.0, y, False),
    ):
        # The distance metric returns the given distances (the first embedding's one column).
        loss = ContrastiveLoss(
            model, distance_metric=lambda a, b: a[:, 0], margin=margin, size_average=size_average
        )
        _run(
            out,
            key,
            lambda dd, loss=loss, labels=labels: loss.compute_loss_from_embeddings(
                [dd[:, None], dd[:, None]], torch.tensor(labels)
            ),
            (_t(d),),
        )


def _margin_mse(out, rng):
    from sentence_transformers.sentence_transformer.losses import MarginMSELoss

    model = torch.nn.Identity()
    k = 3
    q, p, n = (
        rng.standard_normal((B, D)),
        rng.standard_normal((B, D)),
        rng.standard_normal((k, B, D)),
    )
    margins = rng.standard_normal((B, k))
    teacher = rng.standard_normal((B, k + 1))
    single = rng.standard_normal(B)
    out.update(mm_q=q, mm_p=p, mm_n=n, mm_margins=margins, mm_teacher_t=teacher, mm_single_t=single)
    loss = MarginMSELoss(model)
    _run(
        out,
        "mm",
        lambda a, b, c: loss.compute_loss_from_embeddings([a, b, *c], torch.tensor(margins)),
        (_t(q), _t(p), _t(n)),
    )
    _run(
        out,
        "mm_teacher",
        lambda a, b, c: loss.compute_loss_from_embeddings([a, b, *c], torch.tensor(teacher)),
        (_t(q), _t(p), _t(n)),
    )
    _run(
        out,
        "mm_single",
        lambda a, b, c: loss.compute_loss_from_embeddings([a, b, c], torch.tensor(single)),
        (_t(q), _t(p), _t(n[0])),
    )
    # On given scores (the cross-encoder form): the similarity returns the second input's column.
    pos, neg = rng.standard_normal(B), rng.standard_normal((B, k))
    out.update(mm_pos=pos, mm_neg=neg)
    scores = MarginMSELoss(model, similarity_fct=lambda a, b: b[:, 0])
    _run(
        out,
        "mm_scores",
        lambda s, t: scores.compute_loss_from_embeddings(
            [s[:, None], s[:, None], *(t[:, j : j + 1] for j in range(k))], torch.tensor(teacher)
        ),
        (_t(pos), _t(neg)),
    )


def _gor(out, rng):
    from sentence_transformers import util
    from sentence_transformers.sentence_transformer.losses import (
        GlobalOrthogonalRegularizationLoss as GOR,
    )

    model = torch.nn.Identity()
    e = rng.standard_normal((8, 5)) + 0.5  # a shared offset: a non-zero mean similarity
    one = rng.standard_normal((1, 5))
    out.update(g_e=e, g_one=one)
    cases = {
        "gor": (e, {}),
        "gor_dot": (
            0.5 * e,
            {"similarity_fct": util.dot_score, "mean_weight": 0.5, "second_moment_weight": 2.0},
        ),
        "gor_spread": (e, {"mean_weight": 0.0}),
        "gor_mean_only": (e, {"second_moment_weight": 0.0}),
        "gor_one": (one, {}),
    }
    for key, (x, kw) in cases.items():
        loss = GOR(model, **kw)
        _run(out, key, lambda a, loss=loss: loss.compute_loss_from_embeddings([a]), (_t(x),))


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2026)
    out: dict[str, np.ndarray] = {}
    for part in (
        _cosent_angle,
        _cosine_similarity,
        _online_contrastive,
        _contrastive,
        _margin_mse,
        _gor,
    ):
        part(out, rng)
    return out
