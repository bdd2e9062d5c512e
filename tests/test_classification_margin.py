"""Margin losses and CTC against optax, PyTorch goldens and scikit-learn goldens."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.test_util import check_grads
from references import load

import jaxloss

G = load("margin")
TOL = {"rtol": 1e-6, "atol": 1e-9}
TOL32 = {"rtol": 1e-5, "atol": 1e-6}


def _sum_grad(fn, *args, argnums=0):
    return jax.grad(lambda *a: jnp.sum(fn(*a)), argnums=argnums)(*args)


def _value_and_sum_grad(fn, x):
    """``fn(x)`` and the gradient of its sum, compiled once (the CTC scan is slow eagerly)."""
    return jax.jit(lambda x: (fn(x), jax.grad(lambda y: jnp.sum(fn(y)))(x)))(x)


@pytest.fixture
def binary(rng):
    scores = (1.5 * rng.standard_normal((5, 4))).astype(np.float32)
    signs = np.where(rng.uniform(size=(5, 4)) < 0.5, -1, 1)
    return scores, signs


# --------------------------------------------------------------------------- binary hinge


def test_hinge_against_optax(binary):
    scores, signs = binary
    for labels in (signs, signs.astype(np.float32)):
        np.testing.assert_allclose(jaxloss.hinge_loss(scores, labels, reduction="none"),
                                   optax.losses.hinge_loss(scores, labels.astype(np.float32)),
                                   **TOL32)
    ours = _sum_grad(lambda s: jaxloss.hinge_loss(s, signs, reduction="none"), scores)
    ref = _sum_grad(lambda s: optax.losses.hinge_loss(s, signs.astype(np.float32)), scores)
    np.testing.assert_allclose(ours, ref, **TOL32)


def test_squared_hinge_is_optax_hinge_squared(binary):
    scores, signs = binary
    ref = lambda s: jnp.square(optax.losses.hinge_loss(s, signs.astype(np.float32)))  # noqa: E731
    fn = lambda s: jaxloss.squared_hinge_loss(s, signs, reduction="none")  # noqa: E731
    np.testing.assert_allclose(fn(scores), ref(scores), **TOL32)
    np.testing.assert_allclose(_sum_grad(fn, scores), _sum_grad(ref, scores), **TOL32)


@pytest.mark.parametrize("fn", [jaxloss.hinge_loss, jaxloss.squared_hinge_loss,
                                jaxloss.perceptron_loss, jaxloss.sparsemax_loss])
def test_binary_label_conventions_agree(fn, binary):
    scores, signs = binary
    zero_one = (signs > 0).astype(np.int32)
    expected = fn(scores, signs, reduction="none")
    for labels in (zero_one, zero_one.astype(np.float32), signs.astype(np.float32),
                   signs.astype(np.int8), zero_one.astype(bool)):
        np.testing.assert_array_equal(fn(scores, labels, reduction="none"), expected)


def test_hinge_mean_against_sklearn(x64):
    for key in ("pm", "01"):
        np.testing.assert_allclose(jaxloss.hinge_loss(G["hinge/scores"], G[f"hinge/labels_{key}"]),
                                   G[f"hinge/sklearn_{key}"], **TOL)


def test_binary_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r"hinge_loss: scores has shape \(3,\), labels has shape \(4,\)"):
        jaxloss.hinge_loss(jnp.zeros(3), jnp.ones(4))


# --------------------------------------------------------------------------- multiclass hinge


@pytest.mark.parametrize(("p", "margin", "weighted"),
                         list(itertools.product((1, 2), (1.0, 0.7), (0, 1))))
def test_multiclass_hinge_against_torch(p, margin, weighted, x64):
    key = f"mm/p{p}_m{margin}_w{weighted}"
    cw = G["mm/weight"] if weighted else None
    for reduction in ("mean", "sum", "none"):
        fn = lambda s, r=reduction: jaxloss.multiclass_hinge_loss(  # noqa: E731
            s, G["mm/labels"], p=p, margin=margin, class_weights=cw, reduction=r)
        np.testing.assert_allclose(fn(G["mm/scores"]), G[f"{key}/{reduction}"], **TOL)
        np.testing.assert_allclose(_sum_grad(fn, G["mm/scores"]), G[f"{key}/{reduction}/grad"], **TOL)


def test_multiclass_hinge_margin_is_differentiable():
    scores, labels = jnp.array([[0.1, 0.2, 0.4, 0.8]]), jnp.array([3])
    # d/dm of (max(0, m - .7) + max(0, m - .6) + max(0, m - .4)) / 4 at m = 1 is 3 / 4.
    g = jax.grad(lambda m: jaxloss.multiclass_hinge_loss(scores, labels, margin=m))(1.0)
    np.testing.assert_allclose(g, 0.75, **TOL32)
    jitted = jax.jit(lambda m: jaxloss.multiclass_hinge_loss(scores, labels, margin=m))
    np.testing.assert_allclose(jitted(1.0), 0.325, **TOL32)


def test_multiclass_hinge_options_are_checked():
    with pytest.raises(ValueError, match="multiclass_hinge_loss: p must be one of"):
        jaxloss.multiclass_hinge_loss(jnp.zeros((2, 3)), jnp.array([0, 1]), p=3)
    with pytest.raises(ValueError, match="class_weights"):
        jaxloss.multiclass_hinge_loss(jnp.zeros((2, 3)), jnp.array([0, 1]), class_weights=jnp.ones(2))
    with pytest.raises(TypeError, match="labels must have an integer dtype"):
        jaxloss.multiclass_hinge_loss(jnp.zeros((2, 3)), jnp.array([0.0, 1.0]))


# --------------------------------------------------------------------------- out-of-range labels


MULTICLASS = [jaxloss.multiclass_hinge_loss, jaxloss.perceptron_loss, jaxloss.sparsemax_loss]


@pytest.mark.parametrize("fn", MULTICLASS)
def test_out_of_range_labels(fn):
    scores = jnp.array([[0.3, -0.2, 0.5], [1.0, 0.0, -1.0]])
    for bad in (3, -1):
        labels = jnp.array([0, bad])
        with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
            fn(scores, labels)
        out = jax.jit(lambda s, y: fn(s, y, reduction="none"))(scores, labels)
        assert np.isfinite(out[0]) and np.isnan(out[1])
        assert np.isnan(jax.jit(fn)(scores, labels))


# --------------------------------------------------------------------------- perceptron


def test_perceptron_binary_against_optax(binary):
    scores, signs = binary
    fn = lambda s: jaxloss.perceptron_loss(s, signs, reduction="none")  # noqa: E731
    ref = lambda s: optax.losses.perceptron_loss(s, signs.astype(np.float32))  # noqa: E731
    np.testing.assert_allclose(fn(scores), ref(scores), **TOL32)
    np.testing.assert_allclose(_sum_grad(fn, scores), _sum_grad(ref, scores), **TOL32)


def test_perceptron_multiclass_against_optax(rng):
    scores = rng.standard_normal((7, 5)).astype(np.float32)
    labels = rng.integers(0, 5, 7)
    fn = lambda s: jaxloss.perceptron_loss(s, labels, reduction="none")  # noqa: E731
    ref = lambda s: optax.losses.multiclass_perceptron_loss(s, labels)  # noqa: E731
    np.testing.assert_allclose(fn(scores), ref(scores), **TOL32)
    np.testing.assert_allclose(_sum_grad(fn, scores), _sum_grad(ref, scores), **TOL32)


def test_dispatch_by_shape():
    scores = jnp.array([[1.0, -2.0], [0.5, 0.25]])
    # Same shape: binary even with integer labels; one axis fewer: class indices.
    np.testing.assert_allclose(jaxloss.perceptron_loss(scores, jnp.array([[1, 0], [0, 1]]),
                                                       reduction="none"), [[0.0, 0.0], [0.5, 0.0]])
    np.testing.assert_allclose(jaxloss.perceptron_loss(scores, jnp.array([1, 0]), reduction="none"),
                               [3.0, 0.0])
    with pytest.raises(ValueError, match="perceptron_loss: scores has shape"):
        jaxloss.perceptron_loss(scores, jnp.array([1.0, 0.0]))  # float labels are binary


# --------------------------------------------------------------------------- sparsemax


def test_sparsemax_binary_against_optax(rng):
    logits = (1.5 * rng.standard_normal((6, 3))).astype(np.float32)
    labels = (rng.uniform(size=(6, 3)) < 0.5).astype(np.float32)
    fn = lambda s: jaxloss.sparsemax_loss(s, labels, reduction="none")  # noqa: E731
    ref = lambda s: optax.losses.sparsemax_loss(s, labels)  # noqa: E731
    np.testing.assert_allclose(fn(logits), ref(logits), **TOL32)
    np.testing.assert_allclose(_sum_grad(fn, logits), _sum_grad(ref, logits), **TOL32)


def test_sparsemax_multiclass_against_optax(rng):
    scores = (2 * rng.standard_normal((8, 6))).astype(np.float32)
    scores[0] = [3.0, -1.0, -1.0, -2.0, 0.0, 0.5]  # one class alone in the support
    scores[1] = 0.25  # every class in the support
    labels = rng.integers(0, 6, 8)
    value, grad = _value_and_sum_grad(lambda s: jaxloss.sparsemax_loss(s, labels, reduction="none"),
                                      scores)
    with jax.numpy_dtype_promotion("standard"):  # optax mixes int and float here
        ref_value, ref_grad = _value_and_sum_grad(
            lambda s: optax.losses.multiclass_sparsemax_loss(s, labels), scores)
        proba = jax.vmap(optax.projections.projection_simplex)(scores)
    np.testing.assert_allclose(value, ref_value, **TOL32)
    np.testing.assert_allclose(grad, ref_grad, **TOL32)
    # The Fenchel-Young gradient: sparsemax(s) - onehot(y).
    np.testing.assert_allclose(grad, proba - jax.nn.one_hot(labels, 6), **TOL32)


def test_sparsemax_multiclass_leading_axes_and_grads(rng, x64):
    scores = rng.standard_normal((2, 3, 4))
    labels = rng.integers(0, 4, (2, 3))
    with jax.numpy_dtype_promotion("standard"):
        ref = optax.losses.multiclass_sparsemax_loss(scores.reshape(6, 4), labels.reshape(6))
    np.testing.assert_allclose(jaxloss.sparsemax_loss(scores, labels, reduction="none"),
                               ref.reshape(2, 3), **TOL)
    # Forward mode goes through the projection's custom JVP (reverse mode: test_contract).
    check_grads(jax.jit(lambda s: jaxloss.sparsemax_loss(s, labels)), (scores,), order=1,
                modes=("fwd",))


# --------------------------------------------------------------------------- CTC


def _ctc_batch(rng, dtype=np.float32):
    b, t, k, n = 4, 10, 5, 4
    logits = rng.standard_normal((b, t, k)).astype(dtype)
    logit_paddings = np.zeros((b, t), dtype)
    logit_paddings[1, 7:] = 1
    logit_paddings[2, 3] = 1  # a padded frame in the middle: skipped
    labels = rng.integers(1, k, (b, n))
    labels[0, 1] = labels[0, 0]  # a repeat
    label_paddings = np.zeros((b, n), dtype)
    label_paddings[1, 2:] = 1
    label_paddings[3] = 1  # empty label sequence
    labels[1, 2] = labels[1, 1]  # a padded entry equal to the last label
    return logits, logit_paddings, labels, label_paddings


def test_ctc_against_optax(rng):
    logits, lp, labels, lpad = _ctc_batch(rng)
    means = []
    for blank_id in (0, 2):
        value, grad = _value_and_sum_grad(
            lambda x, b=blank_id: jaxloss.ctc_loss(x, lp, labels, lpad, blank_id=b, reduction="none"),
            logits)
        ref_value, ref_grad = _value_and_sum_grad(
            lambda x, b=blank_id: optax.ctc_loss(x, lp, labels, lpad, blank_id=b), logits)
        np.testing.assert_allclose(value, ref_value, **TOL32)
        np.testing.assert_allclose(grad, ref_grad, **TOL32)
        means.append(ref_value.mean())
    np.testing.assert_allclose(jax.jit(jaxloss.ctc_loss)(logits, lp, labels, lpad), means[0], **TOL32)


def test_ctc_against_torch(x64):
    args = (G["ctc/logits"], G["ctc/logit_paddings"], G["ctc/labels"], G["ctc/label_paddings"])
    value, grad = _value_and_sum_grad(lambda x: jaxloss.ctc_loss(x, *args[1:], reduction="none"),
                                      args[0])
    np.testing.assert_allclose(value, G["ctc/none"], **TOL)
    np.testing.assert_allclose(grad, G["ctc/none/grad"], **TOL)
    np.testing.assert_allclose(grad, G["ctc/sum/grad"], **TOL)
    np.testing.assert_allclose(jax.jit(lambda *a: jaxloss.ctc_loss(*a, reduction="sum"))(*args), G["ctc/sum"], **TOL)
    # torch's "mean" divides each sequence by its target length (at least 1), then averages.
    lengths = np.maximum((G["ctc/label_paddings"] == 0).sum(1), 1)
    batch = lengths.shape[0]
    value, grad = _value_and_sum_grad(
        lambda x: jaxloss.ctc_loss(x, *args[1:], weights=1.0 / lengths, reduction="sum") / batch,
        args[0])
    np.testing.assert_allclose(value, G["ctc/mean"], **TOL)
    np.testing.assert_allclose(grad, G["ctc/mean/grad"], **TOL)


def test_ctc_impossible_alignment_is_large_and_finite(rng):
    logits = rng.standard_normal((2, 3, 4)).astype(np.float32)
    labels = np.array([[1, 2, 3, 1], [1, 1, 2, 0]])  # 4 labels in 3 frames; "1 1 2" needs 4
    label_paddings = np.array([[0, 0, 0, 0], [0, 0, 0, 1]], np.float32)
    logit_paddings = np.zeros((2, 3), np.float32)
    fn = lambda x: jaxloss.ctc_loss(x, logit_paddings, labels, label_paddings, reduction="none")  # noqa: E731
    loss, grad = _value_and_sum_grad(fn, logits)
    ref = jax.jit(optax.ctc_loss)(logits, logit_paddings, labels, label_paddings)
    assert np.all(loss > 0.9e5) and np.all(ref > 0.9e5)
    np.testing.assert_allclose(loss, ref, rtol=1e-4)  # same order: -log_epsilon plus O(1) terms
    assert np.all(np.isfinite(grad))


def test_ctc_labels_checked_only_where_not_padded(rng):
    logits, lp, labels, lpad = _ctc_batch(rng)
    padded = labels.copy()
    padded[1, 2:] = 99  # padded entries may hold anything
    fn = jax.jit(lambda *a: jaxloss.ctc_loss(*a, reduction="none"))
    np.testing.assert_allclose(fn(logits, lp, padded, lpad), fn(logits, lp, labels, lpad), **TOL32)
    bad = labels.copy()
    bad[0, 0] = 5
    with pytest.raises(ValueError, match=r"ctc_loss: labels must lie in \[0, 5\)"):
        jaxloss.ctc_loss(logits, lp, bad, lpad)
    out = fn(logits, lp, bad, lpad)
    assert np.isnan(out[0]) and np.all(np.isfinite(out[1:]))


def test_ctc_where_and_log_epsilon_traced(rng):
    logits, lp, labels, lpad = _ctc_batch(rng)
    ref = jax.jit(optax.ctc_loss)(logits, lp, labels, lpad)
    poisoned = logits.copy()
    poisoned[2] = np.nan
    where = np.array([True, True, False, True])
    value, grad = _value_and_sum_grad(lambda x: jaxloss.ctc_loss(x, lp, labels, lpad, where=where),
                                      poisoned)
    np.testing.assert_allclose(value, ref[where].mean(), **TOL32)
    assert np.all(np.isfinite(grad)) and np.all(grad[2] == 0)
    loss = jax.jit(lambda e: jaxloss.ctc_loss(logits, lp, labels, lpad, log_epsilon=e))(-1e5)
    np.testing.assert_allclose(loss, ref.mean(), **TOL32)


def test_ctc_shape_errors():
    logits = jnp.zeros((2, 5, 4))
    with pytest.raises(ValueError, match=r"ctc_loss: logit_paddings has shape \(2, 4\)"):
        jaxloss.ctc_loss(logits, jnp.zeros((2, 4)), jnp.ones((2, 3), int), jnp.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"ctc_loss: labels has shape \(3, 3\)"):
        jaxloss.ctc_loss(logits, jnp.zeros((2, 5)), jnp.ones((3, 3), int), jnp.zeros((3, 3)))
    with pytest.raises(ValueError, match="blank_id=4"):
        jaxloss.ctc_loss(logits, jnp.zeros((2, 5)), jnp.ones((2, 3), int), jnp.zeros((2, 3)),
                         blank_id=4)


def test_ctc_padding_dtypes(rng):
    logits, lp, labels, lpad = _ctc_batch(rng)
    fn = jax.jit(lambda *a: jaxloss.ctc_loss(*a, reduction="none"))
    expected = fn(logits, lp, labels, lpad)
    for dtype in (bool, np.int32):
        np.testing.assert_allclose(fn(logits, lp.astype(dtype), labels, lpad.astype(dtype)),
                                   expected, **TOL32)
