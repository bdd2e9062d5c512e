"""Goldens for the multi-direction sentence-transformers losses and the function transforms.

Anchor: sentence-transformers 6.3 (torch 2.13, float64). No model is loaded:

- ``MultipleNegativesSymmetricRankingLoss`` and the GTE bidirectional loss (in ST 6.x
  ``MultipleNegativesRankingLoss(directions=(all four), partition_mode="joint",
  scale=1/temperature)``) get ``torch.nn.Identity()`` as their model and are called
  through ``compute_loss_from_embeddings`` with given embeddings;
- ``GISTEmbedLoss`` has no ``compute_loss_from_embeddings`` and checks its models'
  tokenizers: it is built without ``__init__`` (its attributes set as ``__init__``
  would) and its own ``forward`` runs with the module's ``embed_columns`` replaced by
  one returning the given model and guide embeddings;
- ``MatryoshkaLoss`` wraps those losses around a stub model whose ``forward`` returns
  the given embeddings (ST truncates and re-normalises the model's outputs: the same
  math as truncating given embeddings);
- ``CachedMultipleNegativesRankingLoss`` (and its symmetric sibling) run a small tanh
  MLP encoder as the stub model (value and the MLP's parameter gradients).

Values and gradients w.r.t. the embeddings (negatives as ST's extra columns, stored
``[batch, k, dim]``). sentence-transformers 6.3 imports transformers, whose
``PreTrainedModel`` fails to import beside the installed torchvision; torchvision is
hidden from ``importlib.util.find_spec`` during the import.
"""

from __future__ import annotations

import importlib
import importlib.util

import numpy as np
import torch
from torch import nn

_find_spec = importlib.util.find_spec


def _no_torchvision(name, *args, **kwargs):
    return None if name.split(".")[0] == "torchvision" else _find_spec(name, *args, **kwargs)


importlib.util.find_spec = _no_torchvision
from sentence_transformers import util  # noqa: E402
from sentence_transformers.sentence_transformer.losses import (  # noqa: E402
    CachedMultipleNegativesRankingLoss,
    CachedMultipleNegativesSymmetricRankingLoss,
    CoSENTLoss,
    GISTEmbedLoss,
    MatryoshkaLoss,
    MultipleNegativesRankingLoss,
    MultipleNegativesSymmetricRankingLoss,
)

_GIST_MODULE = importlib.import_module(
    "sentence_transformers.sentence_transformer.losses.gist_embed"
)
importlib.util.find_spec = _find_spec

torch.set_default_dtype(torch.float64)

B, D, K = 6, 8, 2
_GTE = ("query_to_doc", "query_to_query", "doc_to_query", "doc_to_doc")


def _t(x):
    return torch.tensor(np.asarray(x, np.float64), requires_grad=True)


def _np(x):
    return x.detach().numpy().astype(np.float64)


def _run(out, key, loss_fn, arrays):
    """Stores ``loss_fn(*tensors)`` and its gradients w.r.t. each of ``arrays``."""
    assert key not in out, key
    tensors = [_t(a) for a in arrays]
    value = loss_fn(*tensors)
    value.backward()
    out[key] = _np(value)
    for i, t in enumerate(tensors):
        out[f"{key}_g{i}"] = _np(t.grad)


def _columns(a, p, neg):
    """ST's columns: anchors, positives, then one column per negative slot."""
    return [a, p] + ([] if neg is None else [neg[:, j] for j in range(neg.shape[1])])


def _mnrl_family(out, a, p, neg):
    model = nn.Identity()

    def sym(**kw):
        loss = MultipleNegativesSymmetricRankingLoss(model, **kw)
        return lambda *e: loss.compute_loss_from_embeddings(
            _columns(*e, None) if len(e) == 2 else _columns(*e), None
        )

    def bi(temperature, **kw):
        loss = MultipleNegativesRankingLoss(
            model, scale=1.0 / temperature, directions=_GTE, partition_mode="joint", **kw
        )
        return lambda *e: loss.compute_loss_from_embeddings(
            _columns(*e, None) if len(e) == 2 else _columns(*e), None
        )

    _run(out, "sym", sym(), (a, p))
    _run(out, "sym_neg", sym(scale=5.0), (a, p, neg))
    _run(out, "sym_dot", sym(scale=0.5, similarity_fct=util.dot_score), (a, p, neg))
    _run(out, "bi", bi(0.01), (a, p))
    _run(out, "bi_neg", bi(0.1), (a, p, neg))
    _run(out, "bi_dot", bi(2.0, similarity_fct=util.dot_score), (a, p, neg))


def _gist_loss(
    temperature=0.01,
    margin_strategy="absolute",
    margin=0.0,
    contrast_anchors=True,
    contrast_positives=True,
):
    """``GISTEmbedLoss`` with the attributes its ``__init__`` sets (its tokenizer checks skipped)."""
    loss = GISTEmbedLoss.__new__(GISTEmbedLoss)
    nn.Module.__init__(loss)
    loss.model, loss.guide = "model", "guide"
    loss.temperature = temperature
    loss.similarity_fct = nn.CosineSimilarity(dim=-1)
    loss.must_retokenize = False
    loss.margin_strategy, loss.margin = margin_strategy, margin
    loss.contrast_anchors, loss.contrast_positives = contrast_anchors, contrast_positives
    loss.gather_across_devices = False
    loss.cross_entropy_loss = nn.CrossEntropyLoss()
    return loss


def _gist(out, rng, a, p, neg):
    # The guide sees noisy copies; some in-batch pairs are near-duplicates so that its
    # similarities rank a few candidates above the positive (masked false negatives).
    ga = a + 0.3 * rng.standard_normal(a.shape)
    gp = p + 0.3 * rng.standard_normal(p.shape)
    gn = neg[:, :1] + 0.3 * rng.standard_normal(neg[:, :1].shape)
    out.update(g_ga=ga, g_gp=gp, g_gn=gn)
    original = _GIST_MODULE.embed_columns

    def call(loss, tensors, guides):
        def embed(model, features):
            return list(tensors) if model == "model" else [torch.tensor(g) for g in guides]

        _GIST_MODULE.embed_columns = embed
        try:
            return loss([{}] * len(tensors), None)
        finally:
            _GIST_MODULE.embed_columns = original

    cases = (
        ("gist", {}, False),
        ("gist_neg", {"temperature": 0.05, "margin_strategy": "relative", "margin": 0.1}, True),
        ("gist_abs", {"temperature": 0.05, "margin": 0.1, "contrast_anchors": False}, False),
        ("gist_nopp", {"temperature": 0.1, "contrast_positives": False}, True),
    )
    for key, kw, with_neg in cases:
        loss = _gist_loss(**kw)
        if with_neg:
            _run(
                out,
                key,
                lambda x, y, z, loss=loss: call(loss, (x, y, z[:, 0]), (ga, gp, gn[:, 0])),
                (a, p, neg[:, :1]),
            )
        else:
            _run(out, key, lambda x, y, loss=loss: call(loss, (x, y), (ga, gp)), (a, p))
    # Both masks strict (absolute, margin 0): for a guide equal to the model, the
    # positive's own duplicates are dropped, the rest kept.
    dup = a.copy()
    dup[1] = dup[0]
    out["g_dup"] = dup
    loss = _gist_loss(temperature=0.5)
    _run(out, "gist_dup", lambda x, y: call(loss, (x, y), (dup, p)), (dup, p))


class _Given(nn.Module):
    """A stub model: each column's features carry its embeddings (``{"e": tensor}``)."""

    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, features):
        return {"sentence_embedding": features["e"]}

    def _get_untruncated_embedding_dimension(self):
        return self.dim

    def get_embedding_dimension(self):
        return self.dim


def _matryoshka(out, rng, a, p, neg):
    model = _Given(D)
    scores = rng.uniform(0.0, 1.0, B)
    out["m_scores"] = scores

    def wrap(inner, dims, weights=None, labels=None):
        loss = MatryoshkaLoss(model, inner, dims, matryoshka_weights=weights)
        return lambda *e: loss([{"e": x} for x in _columns(*e) if x is not None], labels)

    mnrl = MultipleNegativesRankingLoss(model)
    dot = MultipleNegativesRankingLoss(model, scale=1.0, similarity_fct=util.dot_score)
    cosent = CoSENTLoss(model, scale=10.0)
    _run(out, "mat", wrap(mnrl, [8, 4, 2]), (a, p, neg))
    _run(out, "mat_dot", wrap(dot, [8, 3], [1.0, 0.5]), (a, p, neg))
    _run(
        out,
        "mat_cosent",
        lambda x, y: wrap(cosent, [2, 6, 5], [0.2, 1.0, 0.7], torch.tensor(scores))(x, y, None),
        (a, p),
    )


class _Mlp(nn.Module):
    """A tanh MLP encoder over float features ``{"x": [batch, 5]}``; ``model[0]`` is a Linear."""

    def __init__(self, w1, b1, w2, b2):
        super().__init__()
        self.l1, self.l2 = nn.Linear(5, 16), nn.Linear(16, D)
        with torch.no_grad():
            self.l1.weight.copy_(torch.tensor(w1.T))
            self.l1.bias.copy_(torch.tensor(b1))
            self.l2.weight.copy_(torch.tensor(w2.T))
            self.l2.bias.copy_(torch.tensor(b2))

    def __getitem__(self, i):
        return [self.l1, self.l2][i]

    def forward(self, features):
        return {"sentence_embedding": self.l2(torch.tanh(self.l1(features["x"])))}


def _cached(out, rng):
    n = 10
    w1, b1 = 0.5 * rng.standard_normal((5, 16)), 0.1 * rng.standard_normal(16)
    w2, b2 = 0.5 * rng.standard_normal((16, D)), 0.1 * rng.standard_normal(D)
    xa, xp, xn = (rng.standard_normal((n, 5)) for _ in range(3))
    out.update(c_w1=w1, c_b1=b1, c_w2=w2, c_b2=b2, c_xa=xa, c_xp=xp, c_xn=xn)
    for key, cls, kw, cols in (
        ("cmnrl", CachedMultipleNegativesRankingLoss, {"mini_batch_size": 4}, (xa, xp, xn)),
        (
            "cmnsrl",
            CachedMultipleNegativesSymmetricRankingLoss,
            {"mini_batch_size": 3, "scale": 10.0},
            (xa, xp),
        ),
    ):
        model = _Mlp(w1, b1, w2, b2)
        loss = cls(model, **kw)
        value = loss([{"x": torch.tensor(x)} for x in cols], None)
        value.backward()
        out[key] = _np(value)
        out[f"{key}_gw1"] = _np(model.l1.weight.grad).T
        out[f"{key}_gb1"] = _np(model.l1.bias.grad)
        out[f"{key}_gw2"] = _np(model.l2.weight.grad).T
        out[f"{key}_gb2"] = _np(model.l2.bias.grad)


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(13)
    a = rng.standard_normal((B, D))
    p = a + 0.8 * rng.standard_normal((B, D))
    neg = rng.standard_normal((B, K, D))
    neg[2, 0] = p[2] + 0.05 * rng.standard_normal(D)  # a hard negative
    out: dict[str, np.ndarray] = {"a": a, "p": p, "neg": neg}
    _mnrl_family(out, a, p, neg)
    _gist(out, rng, a, p, neg)
    _matryoshka(out, rng, a, p, neg)
    _cached(out, rng)
    return out
