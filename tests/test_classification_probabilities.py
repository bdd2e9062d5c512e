"""Losses on probabilities / log-probabilities (API.md E26, E27, E28, E37) against the anchors'
goldens: torch ``nll_loss`` and ``binary_cross_entropy``; Keras ``BinaryCrossentropy``,
``(Sparse)CategoricalCrossentropy`` and ``CategoricalGeneralizedCrossEntropy`` (torch backend)."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from references import load

import jaxloss

G = load("classics")
TOL = {"rtol": 1e-6, "atol": 1e-9}


def _sum_grad(fn, *args, argnums=0):
    return jax.grad(lambda *a: jnp.sum(fn(*a)), argnums=argnums)(*args)


# --------------------------------------------------------------------------- nll_loss (torch)


@pytest.mark.parametrize(("weighted", "ignore"), list(itertools.product((0, 1), (0, 1))))
def test_nll_loss_against_torch(weighted, ignore, x64):
    kw = {"class_weights": G["nll/cw"] if weighted else None, "ignore_index": 2 if ignore else None}
    for reduction in ("mean", "sum", "none"):
        key = f"nll/w{weighted}_i{ignore}/{reduction}"

        def fn(x, r=reduction):
            return jaxloss.nll_loss(x, G["nll/labels"], reduction=r, **kw)

        np.testing.assert_allclose(fn(G["nll/logp"]), G[key], **TOL)
        np.testing.assert_allclose(_sum_grad(fn, G["nll/logp"]), G[f"{key}/grad"], **TOL)


def test_nll_loss_channel_axis_and_torch_padding_against_torch(x64):
    def fn(x):
        return jaxloss.nll_loss(
            x, G["nll3/labels"], axis=1, class_weights=G["nll/cw"], ignore_index=-100
        )

    np.testing.assert_allclose(fn(G["nll3/logp"]), G["nll3/value"], **TOL)
    np.testing.assert_allclose(jax.grad(fn)(G["nll3/logp"]), G["nll3/grad"], **TOL)


def test_nll_loss_has_no_softmax_inside():
    # d/dx of -x_y is -one_hot: unlike softmax_cross_entropy on the same array.
    x = jnp.log(jnp.array([[0.2, 0.3, 0.5]]))
    g = jax.grad(lambda v: jaxloss.nll_loss(v, jnp.array([1])))(x)
    np.testing.assert_array_equal(g, [[0.0, -1.0, 0.0]])


def test_nll_loss_all_ignored_is_zero_with_zero_gradients():
    # torch returns NaN (0 / 0); the library rule is 0 with zero gradients.
    x = jnp.log(jnp.full((3, 4), 0.25))

    def fn(v):
        return jaxloss.nll_loss(
            v, jnp.full((3,), -100), ignore_index=-100, class_weights=jnp.ones(4)
        )

    value, g = jax.value_and_grad(fn)(x)
    assert value == 0.0
    np.testing.assert_array_equal(g, np.zeros((3, 4)))


def test_nll_loss_rejects_bad_labels_and_probability_labels():
    x = jnp.log(jnp.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"nll_loss.*ignore_index"):
        jaxloss.nll_loss(x, jnp.array([0, -100]))
    with pytest.raises(TypeError, match="nll_loss"):
        jaxloss.nll_loss(x, jnp.full((2, 3), 1 / 3))
    assert np.isnan(jax.jit(lambda v, y: jaxloss.nll_loss(v, y))(x, jnp.array([0, 5])))


# --------------------------------------------------------------------------- binary_cross_entropy


def test_binary_cross_entropy_against_torch(x64):
    for reduction in ("mean", "sum", "none"):

        def fn(p, y, r=reduction):
            return jaxloss.binary_cross_entropy(p, y, reduction=r)

        np.testing.assert_allclose(fn(G["bce/p"], G["bce/y"]), G[f"bce/{reduction}"], **TOL)
        gp, gy = _sum_grad(fn, G["bce/p"], G["bce/y"], argnums=(0, 1))
        np.testing.assert_allclose(gp, G[f"bce/{reduction}/grad_p"], **TOL)
        np.testing.assert_allclose(gy, G[f"bce/{reduction}/grad_y"], **TOL)
    # torch's weight= is weights= with "sum" (its "mean" is mean(w * l), here sum(w l) / sum(w)).
    fn = lambda p: jaxloss.binary_cross_entropy(p, G["bce/y"], weights=G["bce/w"], reduction="sum")  # noqa: E731
    np.testing.assert_allclose(fn(G["bce/p"]), G["bce/weighted_sum"], **TOL)
    np.testing.assert_allclose(jax.grad(fn)(G["bce/p"]), G["bce/weighted_sum/grad_p"], **TOL)


def test_binary_cross_entropy_clamp_and_backward_at_0_and_1_against_torch(x64):
    fn = lambda p: jaxloss.binary_cross_entropy(p, G["bce01/y"], reduction="none")  # noqa: E731
    np.testing.assert_allclose(fn(G["bce01/p"]), G["bce01/none"], **TOL)
    np.testing.assert_allclose(_sum_grad(fn, G["bce01/p"]), G["bce01/grad_p"], **TOL)


def test_binary_cross_entropy_custom_vjp_matches_autodiff_inside(x64):
    # Away from p in {0, 1} and from the -100 clamp, torch's backward is the exact derivative.
    p = np.array([0.1, 0.4, 0.9, 0.7])
    y = np.array([0.0, 0.3, 1.0, 0.5])
    check_grads(
        lambda a, b: jaxloss.binary_cross_entropy(a, b, label_smoothing=0.1),
        (p, y),
        order=1,
        modes=("rev",),
    )


def test_binary_cross_entropy_target_gradient_is_finite_at_0_and_1():
    # torch's target gradient is -logit(p) = +-inf there; the clamped logs give +-100.
    p, y = jnp.array([0.0, 1.0]), jnp.array([0.5, 0.5])
    gp, gy = jax.grad(
        lambda a, b: jaxloss.binary_cross_entropy(a, b, reduction="sum"), argnums=(0, 1)
    )(p, y)
    assert np.all(np.isfinite(gp)) and np.all(np.isfinite(gy))
    np.testing.assert_allclose(gy, [100.0, -100.0])


@pytest.mark.parametrize("ls", [0.0, 0.2])
def test_binary_cross_entropy_keras_form_against_keras(ls, x64):
    def fn(p, y):
        none = jaxloss.binary_cross_entropy(p, y, eps=1e-7, label_smoothing=ls, reduction="none")
        return jnp.mean(none, axis=-1)  # Keras's per-sample value

    key = f"kbce/ls{ls}"
    np.testing.assert_allclose(fn(G["kbce/p"], G["kbce/y"]), G[key], **TOL)
    mean = lambda p, y: jaxloss.binary_cross_entropy(p, y, eps=1e-7, label_smoothing=ls)  # noqa: E731
    gp, gy = jax.grad(mean, argnums=(0, 1))(G["kbce/p"], G["kbce/y"])
    np.testing.assert_allclose(gp, G[f"{key}/grad_p"], **TOL)
    np.testing.assert_allclose(gy, G[f"{key}/grad_y"], **TOL)


def test_binary_cross_entropy_rejects_bad_options():
    p = jnp.array([0.5])
    with pytest.raises(ValueError, match="eps"):
        jaxloss.binary_cross_entropy(p, p, eps=0.0)
    with pytest.raises(ValueError, match="label_smoothing"):
        jaxloss.binary_cross_entropy(p, p, label_smoothing=1.5)
    with pytest.raises(TypeError, match="eps="):
        jaxloss.binary_cross_entropy(p, p, epsilon=1e-7)  # type: ignore[call-arg]


# --------------------------------------------------------------------------- categorical_cross_entropy


@pytest.mark.parametrize(("kind", "ls"), list(itertools.product(("onehot", "soft"), (0.0, 0.1))))
def test_categorical_cross_entropy_against_keras(kind, ls, x64):
    key = f"cce/{kind}_ls{ls}"

    def fn(p, y, r="none"):
        return jaxloss.categorical_cross_entropy(p, y, label_smoothing=ls, reduction=r)

    np.testing.assert_allclose(fn(G["cce/p"], G[f"cce/{kind}"]), G[key], **TOL)
    gp, gy = jax.grad(lambda p, y: fn(p, y, "mean"), argnums=(0, 1))(G["cce/p"], G[f"cce/{kind}"])
    np.testing.assert_allclose(gp, G[f"{key}/grad_p"], **TOL)
    np.testing.assert_allclose(gy, G[f"{key}/grad_y"], **TOL)


def test_categorical_cross_entropy_integer_labels_against_keras_sparse(x64):
    fn = lambda p, r="none": jaxloss.categorical_cross_entropy(p, G["cce/labels"], reduction=r)  # noqa: E731
    np.testing.assert_allclose(fn(G["cce/p"]), G["cce/sparse"], **TOL)
    np.testing.assert_allclose(
        jax.grad(lambda p: fn(p, "mean"))(G["cce/p"]), G["cce/sparse/grad_p"], **TOL
    )
    # Integer labels equal their one-hot form, with smoothing too.
    onehot = np.eye(G["cce/p"].shape[-1])[G["cce/labels"]]
    for ls in (0.0, 0.3):
        np.testing.assert_allclose(
            jaxloss.categorical_cross_entropy(
                G["cce/p"], G["cce/labels"], label_smoothing=ls, reduction="none"
            ),
            jaxloss.categorical_cross_entropy(
                G["cce/p"], onehot, label_smoothing=ls, reduction="none"
            ),
            **TOL,
        )


def test_categorical_cross_entropy_channel_axis_against_keras(x64):
    fn = lambda p, r="none": jaxloss.categorical_cross_entropy(p, G["cce3/y"], axis=1, reduction=r)  # noqa: E731
    np.testing.assert_allclose(fn(G["cce3/p"]), G["cce3/value"], **TOL)
    np.testing.assert_allclose(
        jax.grad(lambda p: fn(p, "mean"))(G["cce3/p"]), G["cce3/grad_p"], **TOL
    )


def test_categorical_cross_entropy_masked_rows_stay_finite():
    p = jnp.array([[0.0, 0.0, 0.0], [0.2, 0.3, 0.5]])  # the masked row cannot be normalised

    def fn(v):
        return jaxloss.categorical_cross_entropy(
            v, jnp.array([0, 2]), where=jnp.array([False, True])
        )

    value, g = jax.value_and_grad(fn)(p)
    np.testing.assert_allclose(value, -np.log(0.5), rtol=1e-6)
    assert np.all(np.isfinite(g)) and np.all(g[0] == 0)


# --------------------------------------------------------------------------- generalized_cross_entropy


@pytest.mark.parametrize("q", [0.5, 0.3])
def test_generalized_cross_entropy_probabilities_against_keras(q, x64):
    def fn(p, r="none"):
        return jaxloss.generalized_cross_entropy(
            p, G["gce/labels"], q=q, from_logits=False, reduction=r
        )

    np.testing.assert_allclose(fn(G["gce/p"]), G[f"gce/q{q}"], **TOL)
    np.testing.assert_allclose(
        jax.grad(lambda p: fn(p, "mean"))(G["gce/p"]), G[f"gce/q{q}/grad_p"], **TOL
    )


@pytest.mark.parametrize("q", [0.5, 0.3])
def test_generalized_cross_entropy_logits_against_keras_on_softmax(q, x64):
    def fn(z, r="none"):
        return jaxloss.generalized_cross_entropy(z, G["gce/labels"], q=q, reduction=r)

    np.testing.assert_allclose(fn(G["gce/z"]), G[f"gce/q{q}/logits"], **TOL)
    np.testing.assert_allclose(
        jax.grad(lambda z: fn(z, "mean"))(G["gce/z"]), G[f"gce/q{q}/logits/grad_z"], **TOL
    )


def test_generalized_cross_entropy_limits():
    z = jnp.array([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]])
    y = jnp.array([0, 2])
    # q -> 0: cross-entropy; q = 1: 1 - p_y (MAE on the probabilities).
    np.testing.assert_allclose(
        jaxloss.generalized_cross_entropy(z, y, q=1e-5, reduction="none"),
        jaxloss.softmax_cross_entropy(z, y, reduction="none"),
        rtol=1e-3,
    )
    p = jax.nn.softmax(z)
    np.testing.assert_allclose(
        jaxloss.generalized_cross_entropy(z, y, q=1.0, reduction="none"),
        1 - p[jnp.arange(2), y],
        rtol=1e-6,
    )
    # Soft labels: one-hot equals integer labels.
    np.testing.assert_allclose(
        jaxloss.generalized_cross_entropy(z, jax.nn.one_hot(y, 3), q=0.4),
        jaxloss.generalized_cross_entropy(z, y, q=0.4),
        rtol=1e-6,
    )


def test_generalized_cross_entropy_is_finite_when_p_vanishes():
    z = jnp.array([[1e4, -1e4, 0.0]])
    g = jax.grad(lambda v: jaxloss.generalized_cross_entropy(v, jnp.array([1])))(z)
    assert np.all(np.isfinite(g))
    p = jnp.array([[1.0, 0.0, 0.0]])
    g = jax.grad(lambda v: jaxloss.generalized_cross_entropy(v, jnp.array([1]), from_logits=False))(
        p
    )
    assert np.all(np.isfinite(g))
    with pytest.raises(ValueError, match="q"):
        jaxloss.generalized_cross_entropy(z, jnp.array([1]), q=0.0)
