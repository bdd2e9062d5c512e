"""Function transforms: ``matryoshka_loss`` against sentence-transformers 6.3
``MatryoshkaLoss`` (stub model returning given embeddings; values and gradients), its
dims draw and label truncation; ``cached_loss``/``cached_embed`` (GradCache) against ST
``Cached{MultipleNegativesRanking,MultipleNegativesSymmetricRanking}Loss`` with a small
MLP encoder (value and parameter gradients), and equal in value and gradients to the
uncached composition (deterministic and stochastic encoders, remainder chunks), with
less compiled temporary memory."""

from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("embedding_sentence_multi")
TOL = {"rtol": 1e-6, "atol": 1e-9}
mnrl = jaxloss.multiple_negatives_ranking_loss


# --------------------------------------------------------------------------- Matryoshka


def test_matryoshka_against_sentence_transformers(x64):
    @jax.jit
    def run(a, p, neg, scores):
        mat = functools.partial(jaxloss.matryoshka_loss, mnrl)
        return {
            "mat": jax.value_and_grad(
                lambda a, p, n: mat((a, p, n), dims=(8, 4, 2)), argnums=(0, 1, 2)
            )(a, p, neg),
            "mat_dot": jax.value_and_grad(
                lambda a, p, n: mat(
                    (a, p, n), dims=(8, 3), weights=(1.0, 0.5), scale=1.0, similarity="dot"
                ),
                argnums=(0, 1, 2),
            )(a, p, neg),
            "mat_cosent": jax.value_and_grad(
                lambda a, p: jaxloss.matryoshka_loss(
                    jaxloss.cosent_loss,
                    (a, p),
                    scores,
                    dims=(2, 6, 5),
                    weights=(0.2, 1.0, 0.7),
                    scale=10.0,
                ),
                argnums=(0, 1),
            )(a, p),
        }

    for key, (value, grads) in run(G["a"], G["p"], G["neg"], G["m_scores"]).items():
        np.testing.assert_allclose(value, G[key], **TOL, err_msg=key)
        for i, g in enumerate(grads):
            np.testing.assert_allclose(g, G[f"{key}_g{i}"], **TOL, err_msg=f"{key} gradient {i}")


def test_matryoshka_draw_and_label_truncation():
    a, p = G["a"].astype(np.float32), G["p"].astype(np.float32)
    dims, w = (8, 6, 4, 2), (1.0, 0.5, 0.25, 2.0)

    @jax.jit
    def run(a, p, key):
        drawn = jaxloss.matryoshka_loss(
            mnrl, (a, p), dims=dims, weights=w, n_dims_per_step=2, key=key
        )
        terms = jnp.stack([wk * mnrl(a[:, :d], p[:, :d]) for d, wk in zip(dims, w)])
        # Rank-2 arrays of the full width (distillation targets) are truncated too.
        distill = jaxloss.matryoshka_loss(jaxloss.squared_error, a, p, dims=(3,), normalize=False)
        return drawn, terms, distill

    drawn, terms, distill = run(a, p, jax.random.key(3))
    sums = [float(terms[i] + terms[j]) for i, j in itertools.combinations(range(4), 2)]
    assert np.isclose(sums, float(drawn), rtol=1e-5).sum() == 1
    np.testing.assert_allclose(distill, np.mean((a[:, :3] - p[:, :3]) ** 2), rtol=1e-6)
    with pytest.raises(ValueError, match="matryoshka_loss: dims"):
        jaxloss.matryoshka_loss(mnrl, (a, p), dims=(9,))
    with pytest.raises(ValueError, match=r"matryoshka_loss: n_dims_per_step.*key"):
        jaxloss.matryoshka_loss(mnrl, (a, p), dims=(8, 4), n_dims_per_step=1)


# --------------------------------------------------------------------------- GradCache


def _mlp(params, x):
    w1, b1, w2, b2 = params
    return jnp.tanh(x @ w1 + b1[None]) @ w2 + b2[None]


def _dropout_mlp(params, x, *, key):
    w1, b1, w2, b2 = params
    h = jnp.tanh(x @ w1 + b1[None])
    keep = jax.random.bernoulli(key, 0.8, h.shape)
    return jnp.where(keep, h / 0.8, 0.0) @ w2 + b2[None]


def test_cached_loss_against_sentence_transformers(x64):
    params = tuple(G[k] for k in ("c_w1", "c_b1", "c_w2", "c_b2"))
    xa, xp, xn = G["c_xa"], G["c_xp"], G["c_xn"]

    @jax.jit
    def run(params):
        sym = jaxloss.multiple_negatives_symmetric_ranking_loss
        return {
            # ST's third column is one negative per anchor: shared [m, dim] candidates here.
            "cmnrl": jax.value_and_grad(
                lambda q: jaxloss.cached_loss(mnrl, _mlp, q, xa, xp, xn, chunk_size=4)
            )(params),
            "cmnsrl": jax.value_and_grad(
                lambda q: jaxloss.cached_loss(sym, _mlp, q, xa, xp, chunk_size=3, scale=10.0)
            )(params),
        }

    for key, (value, grads) in run(params).items():
        np.testing.assert_allclose(value, G[key], **TOL, err_msg=key)
        for name, g in zip(("gw1", "gb1", "gw2", "gb2"), grads):
            np.testing.assert_allclose(g, G[f"{key}_{name}"], **TOL, err_msg=f"{key} {name}")


def test_cached_loss_equals_the_uncached_composition():
    rng = np.random.default_rng(0)
    n, width = 10, 512
    params = (
        jnp.asarray(0.5 * rng.standard_normal((5, width)), jnp.float32),
        jnp.asarray(0.1 * rng.standard_normal(width), jnp.float32),
        jnp.asarray(0.05 * rng.standard_normal((width, 8)), jnp.float32),
        jnp.zeros(8, jnp.float32),
    )
    xa, xp = (jnp.asarray(rng.standard_normal((n, 5)), jnp.float32) for _ in range(2))
    key = jax.random.key(7)

    def plain(q):
        return mnrl(_mlp(q, xa), _mlp(q, xp), scale=5.0)

    def cached(q):
        return jaxloss.cached_loss(mnrl, _mlp, q, xa, xp, chunk_size=4, scale=5.0)

    def plain_dropout(q):
        # Column j, chunk c (4 rows; the last has 2) uses fold_in(fold_in(key, j), c).
        def embed(x, j):
            kj = jax.random.fold_in(key, j)
            return jnp.concatenate(
                [
                    _dropout_mlp(q, x[s : s + 4], key=jax.random.fold_in(kj, c))
                    for c, s in enumerate(range(0, n, 4))
                ]
            )

        return mnrl(embed(xa, 0), embed(xp, 1), scale=5.0)

    def cached_dropout(q):
        return jaxloss.cached_loss(mnrl, _dropout_mlp, q, xa, xp, chunk_size=4, key=key, scale=5.0)

    @jax.jit
    def run(q):
        return [jax.value_and_grad(f)(q) for f in (plain, cached, plain_dropout, cached_dropout)]

    (v0, g0), (v1, g1), (v2, g2), (v3, g3) = run(params)
    np.testing.assert_allclose(v1, v0, rtol=1e-6)
    np.testing.assert_allclose(v3, v2, rtol=1e-6)
    assert not np.isclose(v2, v0)  # the dropout is on
    for a, b, c, d in zip(g0, g1, g2, g3):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(d, c, rtol=1e-5, atol=1e-7)

    # The backward pass re-embeds chunk by chunk: the [batch, width] activations are
    # never all held at once, so the compiled gradient needs less temporary memory.
    big_a, big_p = (jnp.asarray(rng.standard_normal((256, 5)), jnp.float32) for _ in range(2))

    def temp(chunk):
        f = jax.grad(
            lambda q: (
                jaxloss.cached_loss(mnrl, _mlp, q, big_a, big_p, chunk_size=chunk)
                if chunk
                else mnrl(_mlp(q, big_a), _mlp(q, big_p))
            )
        )
        stats = jax.jit(f).lower(params).compile().memory_analysis()
        return None if stats is None else stats.temp_size_in_bytes

    full, chunked = temp(None), temp(32)
    if full is not None and chunked is not None:
        assert chunked < full / 2, (chunked, full)


def test_cached_embed_pytrees_and_errors():
    embed = jaxloss.cached_embed(lambda w, x: {"e": x["a"] @ w + x["b"]}, chunk_size=3)
    x = {"a": jnp.ones((7, 2)), "b": jnp.arange(7.0)[:, None]}
    np.testing.assert_allclose(embed(jnp.eye(2), x)["e"], x["a"] + x["b"])
    with pytest.raises(ValueError, match="chunk_size"):
        jaxloss.cached_embed(_mlp, chunk_size=0)
    with pytest.raises(ValueError, match="same leading batch"):
        embed(jnp.eye(2), {"a": jnp.ones((7, 2)), "b": jnp.ones((6, 1))})
