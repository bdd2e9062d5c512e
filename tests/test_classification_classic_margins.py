"""Classic margin losses (API.md E24, E33, E34) against the anchors' goldens: optax
``multiclass_hinge_loss`` (Crammer-Singer), Keras ``CategoricalHinge`` (documented, not an
alias), torch ``hinge_embedding_loss`` and ``multilabel_margin_loss``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("classics")
TOL = {"rtol": 1e-6, "atol": 1e-9}


def _sum_grad(fn, x):
    return jax.grad(lambda v: jnp.sum(fn(v)))(x)


# --------------------------------------------------------------------------- Crammer-Singer


@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_crammer_singer_against_optax(margin, x64):
    def fn(s):
        return jaxloss.crammer_singer_hinge_loss(s, G["cs/labels"], margin=margin, reduction="none")

    np.testing.assert_allclose(fn(G["cs/scores"]), G[f"cs/m{margin}"], **TOL)
    np.testing.assert_allclose(_sum_grad(fn, G["cs/scores"]), G[f"cs/m{margin}/grad"], **TOL)
    # One-hot labels give the same loss and gradient.
    onehot = np.eye(G["cs/scores"].shape[-1])[G["cs/labels"]]
    one = lambda s: jaxloss.crammer_singer_hinge_loss(s, onehot, margin=margin, reduction="none")  # noqa: E731
    np.testing.assert_allclose(one(G["cs/scores"]), G[f"cs/m{margin}"], **TOL)
    np.testing.assert_allclose(_sum_grad(one, G["cs/scores"]), G[f"cs/m{margin}/grad"], **TOL)


def test_crammer_singer_against_keras_categorical_hinge(x64):
    # Keras max(0, 1 + max(0, max_{j != y} s_j) - s_y): equal where some wrong-class score is >= 0,
    # larger where every wrong-class score is negative (row 0 here).
    s, labels = G["cs/keras_scores"], G["cs/labels"]
    ours = np.asarray(jaxloss.crammer_singer_hinge_loss(s, labels, reduction="none"))
    wrong = np.where(np.eye(s.shape[-1], dtype=bool)[labels], -np.inf, s).max(-1)
    agree = wrong >= 0
    assert not agree[0] and agree[1:].any()
    np.testing.assert_allclose(ours[agree], G["cs/keras"][agree], **TOL)
    assert np.all(ours[~agree] < G["cs/keras"][~agree])


def test_crammer_singer_optax_own_cases():
    # optax/losses/_classification_test.py test_multi_class / test_batched_multi_class:
    # max(s + 1 - one_hot) - s_y by hand: max(11, 3) - 3 = 8; max(11, -1) - 11 = 0.
    np.testing.assert_allclose(
        jaxloss.crammer_singer_hinge_loss(jnp.array([10.0, 3.0]), jnp.array(1), reduction="none"),
        8.0,
    )
    scores = jnp.array([[10.0, 3.0], [11.0, -2.0]])
    np.testing.assert_allclose(
        jaxloss.crammer_singer_hinge_loss(scores, jnp.array([1, 0]), reduction="none"), [8.0, 0.0]
    )


def test_crammer_singer_is_not_weston_watkins():
    s = jnp.array([[0.1, 0.2, 0.4, 0.8]])
    y = jnp.array([0])
    # Crammer-Singer: the largest violation; Weston-Watkins: the sum over wrong classes / C.
    np.testing.assert_allclose(jaxloss.crammer_singer_hinge_loss(s, y), 1.7, rtol=1e-6)
    np.testing.assert_allclose(
        jaxloss.multiclass_hinge_loss(s, y), (1.1 + 1.3 + 1.7) / 4, rtol=1e-6
    )


# --------------------------------------------------------------------------- hinge embedding


@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_hinge_embedding_loss_against_torch(margin, x64):
    for reduction in ("mean", "none"):

        def fn(x, r=reduction):
            return jaxloss.hinge_embedding_loss(x, G["he/y"], margin=margin, reduction=r)

        key = f"he/m{margin}/{reduction}"
        np.testing.assert_allclose(fn(G["he/x"]), G[key], **TOL)
        np.testing.assert_allclose(_sum_grad(fn, G["he/x"]), G[f"{key}/grad"], **TOL)


def test_hinge_embedding_loss_integer_labels():
    x = jnp.array([0.3, 0.3, 2.0])
    np.testing.assert_allclose(
        jaxloss.hinge_embedding_loss(x, jnp.array([1, -1, -1]), reduction="none"),
        [0.3, 0.7, 0.0],
        rtol=1e-6,
    )


# --------------------------------------------------------------------------- multilabel margin


def test_multilabel_margin_loss_against_torch(x64):
    for reduction in ("mean", "none"):

        def fn(x, r=reduction):
            return jaxloss.multilabel_margin_loss(x, G["mlm/targets"], reduction=r)

        np.testing.assert_allclose(fn(G["mlm/x"]), G[f"mlm/{reduction}"], **TOL)
        np.testing.assert_allclose(_sum_grad(fn, G["mlm/x"]), G[f"mlm/{reduction}/grad"], **TOL)


def test_multilabel_margin_loss_torch_docs_example_and_errors():
    x = jnp.array([[0.1, 0.2, 0.4, 0.8]])
    np.testing.assert_allclose(
        jaxloss.multilabel_margin_loss(x, jnp.array([[3, 0, -1, 1]])), 0.85, rtol=1e-6
    )
    with pytest.raises(ValueError, match=r"multilabel_margin_loss.*targets"):
        jaxloss.multilabel_margin_loss(x, jnp.array([[4, 0, -1, 1]]))
    with pytest.raises(TypeError, match="multilabel_margin_loss"):
        jaxloss.multilabel_margin_loss(x, jnp.array([[3.0, 0.0, -1.0, 1.0]]))
    # torch checks every entry, the ignored tail too.
    with pytest.raises(ValueError, match=r"multilabel_margin_loss.*targets"):
        jaxloss.multilabel_margin_loss(x, jnp.array([[3, 0, -1, 9]]))
    with pytest.raises(ValueError, match=r"multilabel_margin_loss.*targets"):
        jaxloss.multilabel_margin_loss(x, jnp.array([[3, 0, -7, 1]]))
    # Under jit an out-of-range index is NaN (never a finite wrong value); so is a NaN score.
    f = jax.jit(lambda a, t: jaxloss.multilabel_margin_loss(a, t, reduction="none"))
    assert np.isnan(f(x, jnp.array([[3, 0, -1, 9]]))[0])
    assert np.isnan(f(x.at[0, 0].set(jnp.nan), jnp.array([[3, -1, -1, -1]]))[0])
    np.testing.assert_allclose(f(x, jnp.array([[3, 0, -1, 1]])), [0.85], rtol=1e-6)
