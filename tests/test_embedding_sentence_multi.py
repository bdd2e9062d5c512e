"""Symmetric and bidirectional (GTE) multiple-negatives ranking losses and GISTEmbed
against sentence-transformers 6.3 goldens (values and gradients of the embeddings; ST
defaults and mapped options, hard-negative columns, dot similarity, guide masks), plus
edge cases: a guide that drops every in-batch candidate, masked anchors, shared
``[m, dim]`` negatives, and agreement with ``multiple_negatives_ranking_loss``."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("embedding_sentence_multi")
TOL = {"rtol": 1e-6, "atol": 1e-9}
F32 = {"rtol": 2e-4, "atol": 2e-5}

sym = jaxloss.multiple_negatives_symmetric_ranking_loss
bi = jaxloss.multiple_negatives_bidirectional_ranking_loss
gist = jaxloss.gist_embed_loss
_GUIDES = {"guide_anchors": G["g_ga"], "guide_positives": G["g_gp"]}

# golden key -> (loss, with negatives, options); the negatives of GIST are ST's one column.
CASES = {
    "sym": (sym, None, {}),
    "sym_neg": (sym, "neg", {"scale": 5.0}),
    "sym_dot": (sym, "neg", {"scale": 0.5, "similarity": "dot"}),
    "bi": (bi, None, {}),
    "bi_neg": (bi, "neg", {"temperature": 0.1}),
    "bi_dot": (bi, "neg", {"temperature": 2.0, "similarity": "dot"}),
    "gist": (gist, None, _GUIDES),
    "gist_neg": (
        gist,
        "neg1",
        {
            **_GUIDES,
            "guide_negatives": G["g_gn"],
            "temperature": 0.05,
            "margin_strategy": "relative",
            "margin": 0.1,
        },
    ),
    "gist_abs": (
        gist,
        None,
        {**_GUIDES, "temperature": 0.05, "margin": 0.1, "contrast_anchors": False},
    ),
    "gist_nopp": (
        gist,
        "neg1",
        {**_GUIDES, "guide_negatives": G["g_gn"], "temperature": 0.1, "contrast_positives": False},
    ),
}


def _all(cases, dtype):
    """Values and gradients of ``cases`` (plus the duplicate-anchor GIST case), in one jit."""

    def run(a, p, neg, dup):
        out = {}
        for case in cases:
            fn, which, kw = CASES[case]
            if which is None:
                out[case] = jax.value_and_grad(
                    lambda a, p, fn=fn, kw=kw: fn(a, p, **kw), argnums=(0, 1)
                )(a, p)
            else:
                n = neg[:, :1] if which == "neg1" else neg
                out[case] = jax.value_and_grad(
                    lambda a, p, n, fn=fn, kw=kw: fn(a, p, n, **kw), argnums=(0, 1, 2)
                )(a, p, n)

        # Anchor 1 duplicates anchor 0 and the guide sees the model's embeddings: in the
        # anchor -> anchor block each is the other's false negative (ST drops it too).
        def dup_loss(a, p):
            return gist(a, p, guide_anchors=dup, guide_positives=p, temperature=0.5)

        out["gist_dup"] = jax.value_and_grad(dup_loss, argnums=(0, 1))(dup, p)
        return out

    arrays = (G[k].astype(dtype) for k in ("a", "p", "neg", "g_dup"))
    return jax.jit(run)(*arrays)


def _check(value, grads, key, tol):
    np.testing.assert_allclose(value, G[key], **tol, err_msg=key)
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g, G[f"{key}_g{i}"], **tol, err_msg=f"{key} gradient {i}")


def test_against_sentence_transformers(x64):
    for key, (value, grads) in _all(list(CASES), np.float64).items():
        _check(value, grads, key, TOL)


def test_float32():
    for key, (value, grads) in _all(["sym_neg", "bi", "gist_neg"], np.float32).items():
        assert value.dtype == jnp.float32
        _check(value, grads, key, F32)


def test_edge_cases(x64):
    where = np.array([True, False, True, True, False, True])

    @jax.jit
    def run(a, p, neg):
        mnrl = jaxloss.multiple_negatives_ranking_loss
        out = {
            "sym": sym(a, p, reduction="none"),
            "both": 0.5 * (mnrl(a, p, reduction="none") + mnrl(p, a, reduction="none")),
            # Shared [m, dim] negatives are candidates of every query, never a query's own
            # documents: with one column they differ from [batch, 1, dim] only in d -> d.
            "sym_shared": sym(a, p, neg[:, 0]),
            "sym_column": sym(a, p, neg[:, :1]),
            "bi_shared": bi(a, p, neg[:, 0], temperature=0.1),
            "bi_column": bi(a, p, neg[:, :1], temperature=0.1),
            # A guide that ranks every candidate above the pair: only the positive is left
            # in each row, so the loss is 0 with zero gradients.
            "keep": jax.value_and_grad(
                functools.partial(gist, guide_anchors=a, guide_positives=p, margin=10.0),
                argnums=(0, 1),
            )(a, p),
        }
        # where masks anchors' terms; the masked rows still serve as candidates.
        for name, fn, kw in (
            ("sym", sym, {}),
            ("bi", bi, {}),
            ("gist", gist, {"guide_anchors": a, "guide_positives": p}),
        ):
            out[f"{name}_none"] = fn(a, p, **kw, reduction="none")
            out[f"{name}_where"] = fn(a, p, **kw, where=where)
            out[f"{name}_empty"] = fn(a, p, **kw, where=np.zeros(6, bool))
        return out

    out = run(G["a"], G["p"], G["neg"])
    np.testing.assert_allclose(out["sym"], out["both"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out["sym_shared"], out["sym_column"], rtol=1e-12)
    assert not np.isclose(out["bi_shared"], out["bi_column"])
    value, grads = out["keep"]
    assert value == 0.0 and all(np.all(g == 0) for g in grads)
    for name in ("sym", "bi", "gist"):
        np.testing.assert_allclose(
            out[f"{name}_where"], np.mean(out[f"{name}_none"][where]), rtol=1e-12
        )
        assert out[f"{name}_empty"] == 0.0


def test_errors():
    a = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match=r"gist_embed_loss.*guide_negatives"):
        gist(a, a, np.ones((4, 1, 3), np.float32), guide_anchors=a, guide_positives=a)
    with pytest.raises(ValueError, match=r"gist_embed_loss.*guide_anchors"):
        gist(a, a, guide_anchors=a[:3], guide_positives=a[:3])
    with pytest.raises(
        ValueError, match=r"multiple_negatives_bidirectional_ranking_loss.*temperature"
    ):
        bi(a, a, temperature=0.0)
    with pytest.raises(ValueError, match=r"multiple_negatives_symmetric_ranking_loss.*negatives"):
        sym(a, a, np.ones((3, 2, 3), np.float32))
