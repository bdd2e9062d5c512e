"""Pair-structure embedding losses (multi-similarity, circle, lifted structure, NCA,
angular, tuplet margin) against pytorch-metric-learning goldens (values and gradients,
default and mapped options, with PML miners), plus the edge cases: anchors without
positives or negatives, singleton classes, masked anchors, duplicates."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss
from jaxloss import mining

G = load("embedding_structure")
TOL = {"rtol": 1e-6, "atol": 1e-9}
F32 = {"rtol": 2e-4, "atol": 2e-5}
Y = G["labels"].astype(np.int32)

# golden key -> (loss, options); "miner" marks the cases fed with the PML miner's pairs.
CASES = {
    "ms": ("multi_similarity_loss", {}),
    "ms_opts": ("multi_similarity_loss", {"alpha": 1.5, "beta": 8.0, "base": 0.3}),
    "ms_miner": ("multi_similarity_loss", {}),
    "ms_dot": ("multi_similarity_loss", {"beta": 5.0, "similarity": "dot"}),
    "circle": ("circle_loss", {}),
    "circle_opts": ("circle_loss", {"m": 0.25, "gamma": 32.0}),
    "circle_miner": ("circle_loss", {}),
    "glifted": ("generalized_lifted_structure_loss", {"normalize_embeddings": True}),
    "glifted_raw": ("generalized_lifted_structure_loss", {"neg_margin": 2.5, "pos_margin": 0.3}),
    "glifted_miner": ("generalized_lifted_structure_loss", {"normalize_embeddings": True}),
    "lifted": ("lifted_structure_loss", {"normalize_embeddings": True}),
    "lifted_raw": ("lifted_structure_loss", {"neg_margin": 2.0, "pos_margin": 0.2}),
    "lifted_miner": ("lifted_structure_loss", {"normalize_embeddings": True}),
    "nca": ("nca_loss", {"normalize_embeddings": True}),
    "nca_opts": ("nca_loss", {"softmax_scale": 0.3}),
    "angular": ("angular_loss", {}),
    "angular_35": ("angular_loss", {"alpha": math.radians(35.0)}),
    "tuplet": ("tuplet_margin_loss", {}),
    "tuplet_opts": ("tuplet_margin_loss", {"margin": math.radians(10.0), "scale": 16.0}),
}


def _kwargs(case):
    name, kw = CASES[case]
    if case.endswith("_miner"):
        kw = {**kw, "pos_mask": G[f"l_{case}_pos"], "neg_mask": G[f"l_{case}_neg"]}
    return name, kw


def _vg(fn):
    return jax.jit(jax.value_and_grad(fn))


def _finite(*trees):
    for leaf in jax.tree.leaves(trees):
        assert np.all(np.isfinite(np.asarray(leaf))), leaf


@pytest.mark.parametrize("case", list(CASES))
def test_against_pytorch_metric_learning(case, x64):
    name, kw = _kwargs(case)
    fn = jaxloss.get(name)
    value, grad = _vg(lambda e: fn(e, Y, **kw))(G["l_x"])
    np.testing.assert_allclose(value, G[f"l_{case}"], **TOL)
    np.testing.assert_allclose(grad, G[f"l_{case}_g"], **TOL)


@pytest.mark.parametrize("case", ["ms", "circle", "glifted", "lifted", "nca", "angular", "tuplet"])
def test_against_pytorch_metric_learning_float32(case):
    name, kw = _kwargs(case)
    fn = jaxloss.get(name)
    value, grad = _vg(lambda e: fn(e, Y, **kw))(G["l_x"].astype(np.float32))
    assert value.dtype == jnp.float32
    np.testing.assert_allclose(value, G[f"l_{case}"], **F32)
    np.testing.assert_allclose(grad, G[f"l_{case}_g"], **F32)


def test_angular_on_unit_embeddings(x64):
    value, grad = _vg(lambda e: jaxloss.angular_loss(e, Y))(G["l_xn"])
    np.testing.assert_allclose(value, G["l_angular_unit"], **TOL)
    np.testing.assert_allclose(grad, G["l_angular_unit_g"], **TOL)


def test_jaxloss_miners_reproduce_the_pml_pairs(x64):
    x = G["l_x"]
    s = 1.0 - mining.pairwise_distances(x, metric="cosine")
    for case in ("ms_miner", "circle_miner"):
        pos, neg = mining.multi_similarity_pairs(s, Y, epsilon=0.2)
        np.testing.assert_array_equal(pos, G[f"l_{case}_pos"])
        np.testing.assert_array_equal(neg, G[f"l_{case}_neg"])
    d = mining.pairwise_distances(x, normalize_embeddings=True)
    pos, neg = mining.pair_margin_pairs(d, Y, pos_margin=0.5, neg_margin=1.0)
    np.testing.assert_array_equal(pos, G["l_glifted_miner_pos"])
    np.testing.assert_array_equal(neg, G["l_glifted_miner_neg"])


# --------------------------------------------------------------------------- reductions and masks

PER_ANCHOR = (
    "multi_similarity_loss",
    "circle_loss",
    "generalized_lifted_structure_loss",
    "nca_loss",
)
PER_PAIR = ("lifted_structure_loss", "angular_loss", "tuplet_margin_loss")


@pytest.mark.parametrize("name", PER_ANCHOR + PER_PAIR)
def test_mean_is_over_the_counted_terms(name):
    fn = jax.jit(jaxloss.get(name), static_argnames=("reduction",))
    x, y = jnp.asarray(G["l_x"], jnp.float32), jnp.asarray(Y)
    none = np.asarray(fn(x, y, reduction="none"))
    pos = np.asarray(mining.positive_mask(y))
    if name in PER_PAIR:
        assert none.shape == (12, 12)
        np.testing.assert_array_equal(none[~pos], 0.0)
        count = pos.sum()
    elif name in ("circle_loss", "nca_loss"):  # anchors with a positive (and a negative) only
        assert none[-1] == 0.0  # the singleton
        count = 11
    else:  # PML's MeanReducer counts every anchor
        count = 12
    np.testing.assert_allclose(fn(x, y, reduction="sum"), none.sum(), rtol=1e-6)
    np.testing.assert_allclose(fn(x, y), none.sum() / count, rtol=1e-6)


@pytest.mark.parametrize("name", PER_ANCHOR)
def test_where_and_weights_act_on_anchors(name):
    fn = jax.jit(jaxloss.get(name), static_argnames=("reduction",))
    x, y = jnp.asarray(G["l_x"], jnp.float32), jnp.asarray(Y)
    keep = jnp.array([1, 1, 0, 1, 0, 1, 1, 1, 0, 1, 1, 1], bool)
    w = jnp.linspace(0.5, 2.0, 12, dtype=jnp.float32)
    none = np.asarray(fn(x, y, reduction="none"))
    counted = np.asarray(keep) & (
        np.arange(12) < 11 if name in ("circle_loss", "nca_loss") else True
    )
    expected = (np.asarray(w) * none * counted).sum() / (np.asarray(w) * counted).sum()
    np.testing.assert_allclose(fn(x, y, weights=w, where=keep), expected, rtol=1e-5)
    # A masked anchor still serves as a positive / negative of the others.
    np.testing.assert_allclose(
        fn(x, y, where=keep, reduction="none"), none * np.asarray(keep), rtol=1e-6
    )


@pytest.mark.parametrize("name", PER_PAIR)
def test_pair_where_masks_positive_pairs(name):
    fn = jax.jit(jaxloss.get(name), static_argnames=("reduction",))
    x, y = jnp.asarray(G["l_x"], jnp.float32), jnp.asarray(Y)
    none = np.asarray(fn(x, y, reduction="none"))
    keep = np.triu(np.ones((12, 12), bool))
    pos = np.asarray(mining.positive_mask(y))
    np.testing.assert_allclose(
        fn(x, y, where=keep), none[keep & pos].sum() / (keep & pos).sum(), rtol=1e-5
    )


# --------------------------------------------------------------------------- edge cases

ALL = PER_ANCHOR + PER_PAIR


def test_no_positive_pairs_or_no_negative_pairs():
    x = jax.random.normal(jax.random.key(0), (5, 3))
    distinct, same = jnp.arange(5, dtype=jnp.int32), jnp.zeros(5, jnp.int32)

    @jax.jit
    def run(e):
        return {
            (n, k): jax.value_and_grad(lambda v, n=n, y=y: jaxloss.get(n)(v, y))(e)
            for n in ALL
            for k, y in (("distinct", distinct), ("same", same))
        }

    out = run(x)
    _finite(out)
    for (name, kind), (value, grad) in out.items():
        if kind == "distinct" and name == "multi_similarity_loss":
            # Negatives only: (1/beta) log(1 + sum_n e^{beta (s - base)}) per anchor, every anchor counted.
            s = np.asarray(1.0 - mining.pairwise_distances(x, metric="cosine"))
            neg = ~np.eye(5, dtype=bool)
            per = [np.log1p(np.exp(50.0 * (s[i, neg[i]] - 0.5)).sum()) / 50.0 for i in range(5)]
            np.testing.assert_allclose(value, np.mean(per), rtol=1e-5)
        elif kind == "distinct" and name == "generalized_lifted_structure_loss":
            d = np.asarray(mining.pairwise_distances(x))
            per = [max(0.0, np.log(np.exp(1.0 - d[i, np.arange(5) != i]).sum())) for i in range(5)]
            np.testing.assert_allclose(value, np.mean(per), rtol=1e-5)
        elif kind == "same" and name == "multi_similarity_loss":
            assert float(value) > 0.0  # positives only: the positive term
        elif kind == "same" and name == "generalized_lifted_structure_loss":
            assert float(value) >= 0.0
        elif kind == "same" and name == "nca_loss":
            assert float(value) == 0.0  # every candidate is a positive: -log 1
        elif kind == "same" and name == "lifted_structure_loss":
            # No negatives (PML would return 0 here; see the docstring): 1/2 [d_ij]_+^2.
            d = np.asarray(mining.pairwise_distances(x))
            off = ~np.eye(5, dtype=bool)
            np.testing.assert_allclose(value, (0.5 * d[off] ** 2).mean(), rtol=1e-5)
        else:
            assert float(value) == 0.0, (name, kind)
            np.testing.assert_array_equal(grad, 0.0)


def test_everything_masked_gives_zero_with_zero_gradients():
    x = jax.random.normal(jax.random.key(1), (6, 3))
    y = jnp.array([0, 0, 1, 1, 2, 2])

    @jax.jit
    def run(e):
        out = []
        for name in ALL:
            mask = jnp.zeros((6, 6) if name in PER_PAIR else (6,), bool)
            fn = jaxloss.get(name)
            out.append(jax.value_and_grad(lambda v, fn=fn, mask=mask: fn(v, y, where=mask))(e))
        return out

    for value, grad in run(x):
        assert float(value) == 0.0
        np.testing.assert_array_equal(grad, 0.0)


def test_duplicates_and_zero_vectors_have_finite_gradients():
    x = jax.random.normal(jax.random.key(2), (8, 4))
    # A duplicate positive, a duplicate negative, a zero vector.
    x = x.at[1].set(x[0]).at[4].set(x[0]).at[5].set(0.0)
    y = jnp.array([0, 0, 0, 1, 1, 2, 2, 2])

    @jax.jit
    def grads(e):
        out = [jax.grad(lambda v, n=n: jaxloss.get(n)(v, y))(e) for n in ALL]
        for metric in ("euclidean", "squared_euclidean", "cosine", "dot", "lp", "manhattan"):
            for n in ("generalized_lifted_structure_loss", "lifted_structure_loss", "nca_loss"):
                kw = {"metric": metric, "normalize_embeddings": True}
                out.append(jax.grad(lambda v, n=n, kw=kw: jaxloss.get(n)(v, y, **kw))(e))
        out.append(jax.grad(lambda v: jaxloss.circle_loss(v, y, detach_weights=False))(e))
        return out

    _finite(grads(x))


def test_tuplet_is_finite_at_cosine_one():
    # Two identical positives: acos'(1) is infinite in PML (NaN gradient); jaxloss stays finite
    # and its value is the limit.
    x = jnp.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    y = jnp.array([0, 0, 1])
    value, grad = jax.jit(
        jax.value_and_grad(lambda v: jaxloss.tuplet_margin_loss(v, y, margin=0.1, scale=4.0))
    )(x)
    _finite(value, grad)
    expected = np.log1p(np.exp(4.0 * (0.0 - np.cos(-0.1))))
    np.testing.assert_allclose(value, expected, rtol=1e-5)


def test_nca_stays_finite_where_pml_underflows():
    # PML's log(sum(softmax)) is log(0) = -inf here and drops the query; the
    # difference of log-sum-exps gives the exact value.
    x = jnp.array([[0.0], [30.0], [1.0]])
    y = jnp.array([0, 0, 1])
    none = jax.jit(lambda v: jaxloss.nca_loss(v, y, reduction="none"))(x)
    _finite(none)
    np.testing.assert_allclose(none[0], 900.0 - 1.0 + np.log1p(np.exp(1.0 - 900.0)), rtol=1e-6)


def test_circle_detach_weights_changes_gradients_not_values(x64):
    x, kw = G["l_x"], {"gamma": 32.0}
    v1, g1 = _vg(lambda e: jaxloss.circle_loss(e, Y, **kw))(x)
    v2, g2 = _vg(lambda e: jaxloss.circle_loss(e, Y, detach_weights=False, **kw))(x)
    np.testing.assert_allclose(v1, v2, rtol=1e-12)
    assert not np.allclose(g1, g2)
    # Keras' remove_diagonal=False: the anchor's own pair is a positive at s = 1.
    none = jaxloss.circle_loss(x, Y, remove_diagonal=False, reduction="none", **kw)
    assert float(none[-1]) > 0.0  # the singleton now has a positive (itself)


def test_callable_metric_and_hyper_parameters_are_differentiable():
    x, y = jnp.asarray(G["l_x"], jnp.float32), jnp.asarray(Y)

    def sq(a, b):
        return jnp.sum(jnp.square(a[:, None, :] - b[None, :, :]), axis=-1)

    with_sq, plain = jax.jit(lambda v: (jaxloss.nca_loss(v, y, metric=sq), jaxloss.nca_loss(v, y)))(
        x
    )
    np.testing.assert_allclose(with_sq, plain, rtol=1e-5)
    grads = jax.jit(
        jax.grad(
            lambda a, b, m, s: (
                jaxloss.multi_similarity_loss(x, y, alpha=a, beta=b, base=m)
                + jaxloss.circle_loss(x, y, m=m, gamma=b)
                + jaxloss.angular_loss(x, y, alpha=s / 2)
                + jaxloss.tuplet_margin_loss(x, y, margin=s / 8, scale=b)
                + jaxloss.lifted_structure_loss(x, y, neg_margin=a, pos_margin=m)
                + jaxloss.nca_loss(x, y, softmax_scale=s)
            ),
            argnums=(0, 1, 2, 3),
        )
    )(2.0, 10.0, 0.3, 1.0)
    _finite(grads)
    assert all(float(g) != 0.0 for g in grads)


def test_bad_options_raise():
    x, y = jnp.ones((4, 3)), jnp.array([0, 0, 1, 1])
    with pytest.raises(ValueError, match="angular_loss: alpha"):
        jaxloss.angular_loss(x, y, alpha=40.0)  # degrees, not radians
    with pytest.raises(ValueError, match="multi_similarity_loss: beta"):
        jaxloss.multi_similarity_loss(x, y, beta=0.0)
    with pytest.raises(ValueError, match=r"circle_loss.*similarity"):
        jaxloss.circle_loss(x, y, similarity="euclidean")  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match=r"lifted_structure_loss.*metric"):
        jaxloss.lifted_structure_loss(x, y, metric="l2")  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match="generalized_lifted_structure_loss: pos_mask"):
        jaxloss.generalized_lifted_structure_loss(x, y, pos_mask=jnp.ones((4, 3), bool))
    with pytest.raises(ValueError, match="nca_loss: metric returned shape"):
        jaxloss.nca_loss(x, y, metric=lambda a, b: a @ b.T[:, :2])


# --------------------------------------------------------------------------- references

REFS = {
    "ms": ("multi_similarity_loss", {}),
    "circle": ("circle_loss", {}),
    "glifted": ("generalized_lifted_structure_loss", {"normalize_embeddings": True}),
    "nca": ("nca_loss", {"normalize_embeddings": True}),
    "angular": ("angular_loss", {}),
    "tuplet": ("tuplet_margin_loss", {}),
}


@pytest.mark.parametrize("case", list(REFS))
def test_reference_embeddings_against_pytorch_metric_learning(case, x64):
    name, kw = REFS[case]
    fn = jaxloss.get(name)
    y, ry = G["r_labels"].astype(np.int32), G["r_ref_labels"].astype(np.int32)

    def loss(e, r):
        return fn(e, y, ref_embeddings=r, ref_labels=ry, **kw)

    value, (gx, gr) = jax.jit(jax.value_and_grad(loss, (0, 1)))(G["r_x"], G["r_ref"])
    np.testing.assert_allclose(value, G[f"r_{case}"], **TOL)
    np.testing.assert_allclose(gx, G[f"r_{case}_g"], **TOL)
    np.testing.assert_allclose(gr, G[f"r_{case}_gref"], **TOL)


@pytest.mark.parametrize("case", list(REFS))
def test_ref_where_drops_reference_rows_nan_included(case):
    name, kw = REFS[case]
    fn = jaxloss.get(name)
    x, y = jnp.asarray(G["r_x"], jnp.float32), jnp.asarray(G["r_labels"], jnp.int32)
    ref, ry = jnp.asarray(G["r_ref"], jnp.float32), jnp.asarray(G["r_ref_labels"], jnp.int32)
    keep = jnp.array([1, 0, 1, 1, 0, 1, 1, 1, 1], bool)
    poisoned = jnp.where(keep[:, None], ref, jnp.nan)

    def masked(e, r):
        return fn(e, y, ref_embeddings=r, ref_labels=ry, ref_where=keep, **kw)

    def dropped(e, r):
        return fn(e, y, ref_embeddings=r[np.asarray(keep)], ref_labels=ry[np.asarray(keep)], **kw)

    v1, (g1, gr1) = jax.jit(jax.value_and_grad(masked, (0, 1)))(x, poisoned)
    v2, (g2, gr2) = jax.jit(jax.value_and_grad(dropped, (0, 1)))(x, ref)
    np.testing.assert_allclose(v1, v2, rtol=1e-5)
    np.testing.assert_allclose(g1, g2, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(gr1, gr2, rtol=1e-4, atol=1e-6)  # zero on the dropped rows
    np.testing.assert_array_equal(gr1[~np.asarray(keep)], 0.0)


def test_references_equal_to_the_batch_keep_the_self_pairs():
    # With ref_embeddings = embeddings nothing is excluded: each anchor is its own positive.
    x, y = jnp.asarray(G["l_x"], jnp.float32), jnp.asarray(Y)
    pos = jnp.asarray(Y[:, None] == Y[None, :])
    with_refs, with_mask = jax.jit(
        lambda v: (
            jaxloss.multi_similarity_loss(v, y, ref_embeddings=v, ref_labels=y),
            jaxloss.multi_similarity_loss(v, y, pos_mask=pos),
        )
    )(x)
    np.testing.assert_allclose(with_refs, with_mask, rtol=1e-6)
    with pytest.raises(ValueError, match="multi_similarity_loss: ref_embeddings needs ref_labels"):
        jaxloss.multi_similarity_loss(x, y, ref_embeddings=x)
    with pytest.raises(ValueError, match="nca_loss: ref_labels and ref_where need ref_embeddings"):
        jaxloss.nca_loss(x, y, ref_labels=y)
    with pytest.raises(ValueError, match="angular_loss: ref_labels"):
        jaxloss.angular_loss(x, y, ref_embeddings=x, ref_labels=y[:3])
