"""Goldens for ``approx_metric_loss`` from rax 0.4.0 (values, score gradients, unreduced).

``rax.approx_t12n(<metric>, temperature)`` and ``rax.bound_t12n(<metric>)`` of the
NDCG, DCG, MRR, AP, recall and precision metrics, with ``where``, ``topn``,
``segments`` and ``weights``. Keys: ``<case>/{value,grad,none}``, the inputs and ``cases`` (the option table as JSON).
For AP the masked items' labels are zeroed before the call: rax 0.4's ``ap_metric``
counts a masked relevant item in the precision of the valid items (see the
docstring of ``approx_metric_loss``).

``lambda_loss`` against sentence-transformers 6.3's CrossEncoder ``LambdaLoss``
(``lambda/<case>/{value,grad}`` and ``lambda/{scores,labels,where}``), run with the
stub CrossEncoder of gen_ranking_st.py on ragged lists padded at the end;
``lambda_cases`` is its option table as JSON.
"""

from __future__ import annotations

import functools
import json
import types

import jax

# rax 0.4's t12n uses jax.util.wraps, which newer JAX removed; this restores it (API.md E8).
jax.util = types.SimpleNamespace(wraps=lambda f, **k: functools.wraps(f))

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import rax  # noqa: E402

jax.config.update("jax_enable_x64", True)

METRICS = {
    "ndcg": rax.ndcg_metric,
    "dcg": rax.dcg_metric,
    "mrr": rax.mrr_metric,
    "ap": rax.ap_metric,
    "recall": rax.recall_metric,
    "precision": rax.precision_metric,
}


def data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    scores = rng.standard_normal((3, 7))
    labels = rng.integers(0, 4, (3, 7)).astype(np.float64)
    labels[2, :] = np.minimum(labels[2, :], 0.0)  # a list with no relevant item
    where = rng.uniform(size=(3, 7)) < 0.75
    where[0] = True
    where[1, :2] = False  # masked items, one of them relevant
    labels[1, 0] = 3.0
    weights = rng.uniform(0.5, 2.0, (3, 7))
    segments = np.array([[0, 0, 1, 1, 1, 2, 2], [0, 1, 0, 1, 2, 2, 1], [3, 3, 1, 3, 1, 3, 3]])
    return {
        "scores": scores,
        "labels": labels,
        "where": where,
        "weights": weights,
        "segments": segments,
    }


def cases() -> dict[str, dict]:
    """case -> options of jaxloss.approx_metric_loss; ``True`` marks an input array."""
    out: dict[str, dict] = {}
    for m in METRICS:
        out[f"{m}/plain"] = {"metric": m}
        out[f"{m}/where_top3_t0.5"] = {"metric": m, "where": True, "topn": 3, "temperature": 0.5}
        out[f"{m}/bound_where_top3"] = {
            "metric": m,
            "where": True,
            "topn": 3,
            "rank_approx": "bound",
        }
        out[f"{m}/segments_where_top2"] = {"metric": m, "where": True, "segments": True, "topn": 2}
    for m in ("ndcg", "dcg"):
        out[f"{m}/weights_top4"] = {"metric": m, "weights": True, "topn": 4}
    return out


def rax_call(d: dict[str, np.ndarray], options: dict):
    """(loss_fn(scores), labels) for the rax transform of ``options``."""
    options = dict(options)
    metric = METRICS[options.pop("metric")]
    if options.pop("rank_approx", "approx") == "bound":
        fn = rax.bound_t12n(metric)
    else:
        fn = rax.approx_t12n(metric, temperature=options.pop("temperature", 1.0))
    kw = {}
    labels = d["labels"]
    for name in ("where", "segments", "weights"):
        if options.pop(name, False):
            kw[name] = jnp.asarray(d[name])
    if metric is rax.ap_metric and "where" in kw:
        labels = np.where(d["where"], labels, 0.0)
    kw.update(options)  # topn
    return functools.partial(fn, labels=jnp.asarray(labels), **kw)


def lambda_cases() -> dict[str, dict]:
    """case -> options of jaxloss.lambda_loss."""
    return {
        "default": {},
        "ndcg_loss2": {"weighting": "ndcg_loss2"},
        "lambdarank": {"weighting": "lambdarank"},
        "ndcg_loss1": {"weighting": "ndcg_loss1"},
        "none": {"weighting": None},
        "k2_mu3": {"k": 2, "mu": 3.0},
        "sigma0.5_natural": {"sigma": 0.5, "log_base": float(np.e)},
    }


def lambda_goldens() -> dict[str, np.ndarray]:
    import torch
    from gen_ranking_st import StubCrossEncoder, losses

    schemes = {
        "ndcg_loss2pp": losses.NDCGLoss2PPScheme,
        "ndcg_loss2": losses.NDCGLoss2Scheme,
        "lambdarank": losses.LambdaRankScheme,
        "ndcg_loss1": losses.NDCGLoss1Scheme,
    }
    rng = np.random.default_rng(7)
    sizes = [4, 3, 6, 1, 5]
    width = max(sizes)
    scores = rng.standard_normal((len(sizes), width)).astype(np.float32)
    labels = np.zeros((len(sizes), width), np.float32)
    where = np.zeros((len(sizes), width), bool)
    for i, n in enumerate(sizes):
        labels[i, :n] = rng.integers(0, 4, n)
        where[i, :n] = True
    labels[4, :5] = 0.0  # a list with no relevant item
    out = {"lambda/scores": scores, "lambda/labels": labels, "lambda/where": where}
    out["lambda_cases"] = np.asarray(json.dumps(lambda_cases()))
    queries = [f"q{i}" for i in range(len(sizes))]
    docs = [[f"d{i}{j}" for j in range(n)] for i, n in enumerate(sizes)]
    label_lists = [torch.tensor(labels[i, :n]) for i, n in enumerate(sizes)]
    flat = np.concatenate([scores[i, :n] for i, n in enumerate(sizes)])
    for case, options in lambda_cases().items():
        weighting = options.get("weighting", "ndcg_loss2pp")
        if weighting is None:
            scheme = None
        elif weighting == "ndcg_loss2pp":
            scheme = schemes[weighting](mu=options.get("mu", 10.0))
        else:
            scheme = schemes[weighting]()
        model = StubCrossEncoder(flat)
        loss = losses.LambdaLoss(
            model,
            weighting_scheme=scheme,
            k=options.get("k"),
            sigma=options.get("sigma", 1.0),
            reduction_log="natural" if "log_base" in options else "binary",
        )([queries, docs], label_lists)
        loss.backward()
        grad = np.zeros_like(scores)
        grad[where] = model.logits.grad.numpy()
        out[f"lambda/{case}/value"] = np.asarray(loss.item(), np.float32)
        out[f"lambda/{case}/grad"] = grad
    return out


def generate() -> dict[str, np.ndarray]:
    d = data()
    out = dict(d)
    out["cases"] = np.asarray(json.dumps(cases()))  # the table the test runs
    scores = jnp.asarray(d["scores"])
    for case, options in cases().items():
        f = rax_call(d, options)
        value, grad = jax.value_and_grad(lambda s, f=f: f(s))(scores)
        out[f"{case}/value"] = np.asarray(value)
        out[f"{case}/grad"] = np.asarray(grad)
        out[f"{case}/none"] = np.asarray(f(scores, reduce_fn=None))
    out.update(lambda_goldens())
    return out
