"""Segmentation family: values and gradients against MONAI / Berman goldens, edge cases."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from references import load

import jaxloss

G = load("segmentation")

dice, jaccard, tversky = jaxloss.dice_loss, jaxloss.jaccard_loss, jaxloss.tversky_loss
focal_tversky, gdl = jaxloss.focal_tversky_loss, jaxloss.generalized_dice_loss
lovasz_softmax, lovasz_hinge = jaxloss.lovasz_softmax_loss, jaxloss.lovasz_hinge_loss

# golden name -> (loss, prediction key, target key, options); the reference is in gen_segmentation.py
CASES = {
    "dice_default": (dice, "x", "labels", {}),
    "dice_sigmoid": (dice, "x", "labels", {"activation": "sigmoid"}),
    "dice_nobg": (dice, "x", "labels", {"include_background": False}),
    "dice_squared": (dice, "x", "labels", {"squared": True}),
    "dice_batch": (dice, "x", "labels", {"batch": True}),
    "dice_batch_none": (dice, "x", "labels", {"batch": True, "reduction": "none"}),
    "dice_weight": (dice, "x", "labels", {"class_weights": [0.2, 0.5, 1.3]}),
    "dice_weight_nobg": (dice, "x", "labels", {"include_background": False, "class_weights": [0.4, 1.7]}),
    "dice_ignore_255": (dice, "x", "ign_labels", {"ignore_index": 255}),
    "dice_ignore_class": (dice, "x", "labels", {"ignore_index": 1}),
    "dice_ignore_onehot": (dice, "x", "onehot", {"ignore_index": 1}),
    "dice_nosmooth": (dice, "x", "labels", {"smooth_numerator": 0.0, "smooth_denominator": 0.0}),
    "dice_smooth": (dice, "x", "labels", {"smooth_numerator": 0.3, "smooth_denominator": 0.7}),
    "dice_none": (dice, "x", "labels", {"reduction": "none"}),
    "dice_sum": (dice, "x", "labels", {"activation": "sigmoid", "reduction": "sum"}),
    "dice_probs": (dice, "probs", "labels", {"activation": None}),
    "dice_vol": (dice, "vol", "vol_mask", {"activation": "sigmoid"}),
    "jaccard_default": (jaccard, "x", "labels", {}),
    "jaccard_squared": (jaccard, "x", "labels", {"activation": "sigmoid", "squared": True}),
    "jaccard_none": (jaccard, "x", "labels", {"reduction": "none", "batch": True}),
    "gdl_default": (gdl, "x", "labels", {}),
    "gdl_sigmoid": (gdl, "x", "labels", {"activation": "sigmoid"}),
    "gdl_nobg": (gdl, "x", "labels", {"include_background": False}),
    "gdl_batch": (gdl, "x", "labels", {"batch": True}),
    "gdl_simple": (gdl, "x", "labels", {"weight_type": "simple"}),
    "gdl_uniform": (gdl, "x", "labels", {"weight_type": "uniform"}),
    "gdl_none": (gdl, "x", "labels", {"reduction": "none"}),
    "gdl_soft": (gdl, "x", "soft", {}),
    "tversky_default": (tversky, "x", "labels", {}),
    "tversky_37": (tversky, "x", "labels", {"alpha": 0.3, "beta": 0.7}),
    "tversky_sigmoid_batch": (tversky, "x", "labels", {"activation": "sigmoid", "alpha": 0.8, "beta": 0.2, "batch": True}),
    "tversky_ignore": (tversky, "x", "ign_labels", {"alpha": 0.3, "beta": 0.7, "ignore_index": 255}),
    "tversky_nobg_none": (tversky, "x", "labels", {"include_background": False, "reduction": "none"}),
    "focal_tversky_0.75": (focal_tversky, "x", "labels", {"alpha": 0.3, "beta": 0.7, "gamma": 0.75}),
    "focal_tversky_2.0": (focal_tversky, "x", "labels", {"alpha": 0.3, "beta": 0.7, "gamma": 2.0}),
    "lovasz_softmax": (lovasz_softmax, "x", "labels", {}),
    "lovasz_softmax_all": (lovasz_softmax, "x", "labels", {"classes": "all"}),
    "lovasz_softmax_image": (lovasz_softmax, "x", "labels", {"per_image": True}),
    "lovasz_softmax_image_all": (lovasz_softmax, "x", "labels", {"per_image": True, "classes": "all"}),
    "lovasz_softmax_ignore": (lovasz_softmax, "x", "ign_labels", {"ignore_index": 255}),
    "lovasz_softmax_image_ignore": (lovasz_softmax, "x", "ign_labels", {"per_image": True, "ignore_index": 255}),
    "lovasz_hinge": (lovasz_hinge, "logits", "binary", {}),
    "lovasz_hinge_image": (lovasz_hinge, "logits", "binary", {"per_image": True}),
    "lovasz_hinge_ignore": (lovasz_hinge, "logits", "bin_ign", {"ignore_index": 255}),
    "lovasz_hinge_image_ignore": (lovasz_hinge, "logits", "bin_ign", {"per_image": True, "ignore_index": 255}),
}
SOFT = {  # soft targets: gradients w.r.t. predictions and targets
    "dice_soft": (dice, {}),
    "dice_soft_squared": (dice, {"activation": "sigmoid", "squared": True}),
    "tversky_soft": (tversky, {"alpha": 0.3, "beta": 0.7}),
}


def _value_and_grad(fn, x, t, argnums=0, **kwargs):
    return jax.value_and_grad(lambda a, b: jnp.sum(fn(a, b, **kwargs)), argnums=argnums)(x, t)


def _jitted_value_and_grad(fn, x, t, **kwargs):
    """``fn(x, t)`` and the gradient of its sum, in one compiled call.

    For the Lovasz losses (sorts, cumulative sums, gathers) eager op-by-op dispatch compiles
    every primitive and costs more than one jit; the overlap losses share eagerly compiled
    primitives across cases and stay eager (CI time).
    """
    return jax.jit(lambda a, b: (fn(a, b, **kwargs), _value_and_grad(fn, a, b, **kwargs)[1]))(x, t)


@pytest.mark.parametrize("case", sorted(CASES))
def test_values_and_gradients_match_references(case, x64):
    fn, xk, tk, kwargs = CASES[case]
    x, t = jnp.asarray(G[xk]), jnp.asarray(G[tk])
    if fn in (lovasz_softmax, lovasz_hinge):
        value, grad = _jitted_value_and_grad(fn, x, t, **kwargs)
    else:
        value = fn(x, t, **kwargs)
        _, grad = _value_and_grad(fn, x, t, **kwargs)
    rtol = 1e-5 if fn is gdl else 1e-7  # MONAI computes the GDL weights in float32
    expected = G[f"{case}/value"]
    np.testing.assert_allclose(value, expected.reshape(np.shape(value)), rtol=rtol, atol=1e-10)
    np.testing.assert_allclose(grad, G[f"{case}/grad"], rtol=rtol * 10, atol=1e-9)


@pytest.mark.parametrize("case", sorted(SOFT))
def test_soft_targets_gradients_for_both_arguments(case, x64):
    fn, kwargs = SOFT[case]
    x, t = jnp.asarray(G["x"]), jnp.asarray(G["soft"])
    value, (gx, gt) = _value_and_grad(fn, x, t, argnums=(0, 1), **kwargs)
    np.testing.assert_allclose(value, G[f"{case}/value"], rtol=1e-7)
    np.testing.assert_allclose(gx, G[f"{case}/grad"], rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(gt, G[f"{case}/grad_t"], rtol=1e-6, atol=1e-10)


def test_monai_test_case_value():
    # MONAI tests/losses/test_dice_loss.py: sigmoid, smooth 1e-6 -> 0.307576.
    x = jnp.array([[[1.0, -1.0], [-1.0, 1.0]]])[..., None]
    y = jnp.array([[[1, 0], [1, 1]]])
    kwargs = {"activation": "sigmoid", "smooth_numerator": 1e-6, "smooth_denominator": 1e-6}
    value, grad = jax.jit(jax.value_and_grad(lambda a, b: dice(a, b, **kwargs)))(x, y)
    np.testing.assert_allclose(value, 0.307576, rtol=1e-5)
    np.testing.assert_allclose(grad, G["monai_case/grad"].reshape(x.shape), rtol=1e-5, atol=1e-7)


def test_integer_and_one_hot_targets_agree(x64):
    x, labels = jnp.asarray(G["x"]), jnp.asarray(G["labels"])
    onehot = jnp.asarray(G["onehot"])
    for fn in (dice, jaccard, tversky, gdl, lovasz_softmax):
        np.testing.assert_allclose(fn(x, labels), fn(x, onehot), rtol=1e-12)


# --------------------------------------------------------------------------- custom_vjp vs finite differences


@pytest.mark.parametrize(
    "fn, kwargs",
    [
        (dice, {}),
        (dice, {"activation": "sigmoid", "squared": True, "batch": True}),
        (dice, {"ignore_index": 255, "include_background": False}),
        (jaccard, {"activation": None}),
        (tversky, {"alpha": 0.2, "beta": 0.9}),
        (focal_tversky, {"gamma": 0.6}),
        (gdl, {"activation": "sigmoid"}),
    ],
)
def test_custom_vjp_matches_finite_differences(fn, kwargs, x64):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 3))
    if kwargs.get("activation", "softmax") is None:
        x = rng.uniform(0.05, 1.0, x.shape)
    soft = rng.dirichlet(np.ones(3), (2, 3, 4))
    labels = rng.integers(0, 3, (2, 3, 4))
    labels[0, 0, :2] = 255
    if "ignore_index" in kwargs:
        check_grads(lambda a: fn(a, labels, **kwargs), (x,), order=1, modes=("rev",), eps=1e-6)
        return
    check_grads(lambda a, b: fn(a, b, **kwargs), (x, soft), order=1, modes=("rev",), eps=1e-6)


def test_gradients_wrt_hyperparameters(x64):
    rng = np.random.default_rng(1)
    x, t = rng.standard_normal((2, 3, 4, 3)), rng.integers(0, 3, (2, 3, 4))
    check_grads(lambda sn, sd: dice(x, t, smooth_numerator=sn, smooth_denominator=sd),
                (0.3, 0.7), order=1, modes=("rev",), eps=1e-6)
    check_grads(lambda a, b, g: focal_tversky(x, t, alpha=a, beta=b, gamma=g),
                (0.3, 0.7, 1.5), order=1, modes=("rev",), eps=1e-6)
    check_grads(lambda sn: jaccard(x, t, smooth_numerator=sn), (0.2,), order=1, modes=("rev",), eps=1e-6)


# --------------------------------------------------------------------------- delicate points


def test_empty_prediction_and_target_default_smoothing_is_zero_with_analytic_gradient(x64):
    p = t = jnp.zeros(G["x"].shape)
    value, grad = jax.value_and_grad(dice)(p, t, activation=None)
    assert float(value) == 0.0
    # d/dp of 1 - (2I + s)/(P + T + s) at I = P = T = 0 is s / s^2 = 1 / s per (b, c); mean over 6.
    np.testing.assert_allclose(grad, np.full(p.shape, 1 / 1e-5 / 6), rtol=1e-9)
    value, grad = jax.value_and_grad(jaccard)(p, t, activation=None)
    assert float(value) == 0.0
    np.testing.assert_allclose(grad, np.full(p.shape, 2 / 1e-5 / 6), rtol=1e-9)


ZERO = {"smooth_numerator": 0.0, "smooth_denominator": 0.0}


def test_zero_smoothing_empty_masks_give_finite_gradients_and_limits(x64):
    labels = jnp.asarray(G["labels"])  # class 2 is absent from image 1
    p = t = jnp.zeros(G["x"].shape)
    for fn in (dice, jaccard, tversky, focal_tversky, gdl):
        value, grad = jax.value_and_grad(fn)(p, t, activation=None, **ZERO)
        assert float(value) == 0.0, fn  # empty vs empty is a perfect match
        np.testing.assert_array_equal(grad, 0.0)
    # Empty target, softmax prediction: loss 1 and d r / d p = (2 t - r dD/dp) / D = 0.
    x = jnp.asarray(G["x"])
    jac = jax.jacrev(lambda a: dice(a, labels, reduction="none", **ZERO)[1, 2])(x)
    np.testing.assert_allclose(dice(x, labels, reduction="none", **ZERO)[1, 2], 1.0, rtol=1e-12)
    np.testing.assert_array_equal(jac, 0.0)
    # Empty prediction (probabilities): r = 0 and d r / d p_i = 2 t_i / T; where the target is
    # empty too (image 1, class 2) the denominator is 0: ratio 1 with a zero gradient.
    onehot = jnp.asarray(G["onehot"])
    grad = jax.grad(dice)(p, labels, activation=None, **ZERO)
    expected = -2 * onehot / np.maximum(onehot.sum(axis=(1, 2), keepdims=True), 1) / 6
    np.testing.assert_allclose(grad, expected, rtol=1e-12)
    np.testing.assert_allclose(dice(p, labels, activation=None, **ZERO, reduction="none"),
                               [[1, 1, 1], [1, 1, 0]])


def test_ignore_index_everything_ignored_is_zero_with_zero_gradient(x64):
    x = jnp.asarray(G["x"])
    t = jnp.full(G["labels"].shape, 255)
    for fn in (dice, jaccard, tversky, gdl):
        value, grad = jax.value_and_grad(fn)(x, t, ignore_index=255)
        np.testing.assert_allclose(value, 0.0, atol=1e-12)
        np.testing.assert_array_equal(grad, 0.0)
    value, grad = jax.jit(jax.value_and_grad(lambda a, b: lovasz_softmax(a, b, ignore_index=255)))(x, t)
    assert float(value) == 0.0
    np.testing.assert_array_equal(grad, 0.0)


def test_focal_tversky_at_tversky_index_one(x64):
    labels = jnp.array([[0, 1, 1, 2], [2, 2, 0, 1]])
    p = jax.nn.one_hot(labels, 3, dtype=jnp.float64)  # perfect probabilities: TI = 1
    for gamma in (0.5, 0.75, 2.0):
        value, (gp, gg) = jax.value_and_grad(
            lambda a, g: focal_tversky(a, labels, activation=None, gamma=g), argnums=(0, 1))(p, gamma)
        assert float(value) == 0.0
        # The minimum: the derivative is taken as 0 (its limit for gamma > 1; finite for gamma < 1).
        np.testing.assert_array_equal(gp, 0.0)
        assert float(gg) == 0.0
    # gamma = 1 is the Tversky loss itself, including its gradient at TI = 1.
    g1 = jax.grad(lambda a: focal_tversky(a, labels, activation=None, gamma=1.0, alpha=0.3, beta=0.7))(p)
    gt = jax.grad(lambda a: tversky(a, labels, activation=None, alpha=0.3, beta=0.7))(p)
    np.testing.assert_allclose(g1, gt, rtol=1e-12)
    # Away from TI = 1, gamma < 1: the chain rule of (1 - TI)^gamma, checked by finite differences.
    x = np.random.default_rng(3).standard_normal((2, 4, 3))
    check_grads(lambda a: focal_tversky(a, labels, gamma=0.75), (x,), order=1, modes=("rev",), eps=1e-6)


def test_focal_tversky_hand_example():
    # Two pixels, one channel of probabilities [0.8, 0.4], target [1, 0]: TP = 0.8, FP = 0.4,
    # FN = 0.2; alpha = 0.7 on FP, beta = 0.3 on FN: TI = 0.8 / (0.8 + 0.28 + 0.06) = 0.70175...
    p = jnp.array([[[0.8], [0.4]]])
    value = jax.jit(lambda a, b: focal_tversky(a, b, activation=None, alpha=0.7, beta=0.3, gamma=0.75,
                                               smooth_numerator=0.0, smooth_denominator=0.0))(p, jnp.array([[1, 0]]))
    np.testing.assert_allclose(value, (1 - 0.8 / 1.14) ** 0.75, rtol=1e-6)


# --------------------------------------------------------------------------- options and contracts


def test_none_shapes_and_where_masks(x64):
    x = jnp.asarray(G["x"])
    t = jnp.asarray(G["labels"])
    assert dice(x, t, reduction="none").shape == (2, 3)
    assert dice(x, t, reduction="none", batch=True, include_background=False).shape == (2,)
    assert gdl(x, t, reduction="none").shape == (2,)
    assert gdl(x, t, reduction="none", batch=True).shape == ()
    # The Lovasz losses' shapes without running them (eagerly they compile op by op: CI time).
    assert jax.eval_shape(lambda: lovasz_softmax(x, t, reduction="none")).shape == (3,)
    assert jax.eval_shape(lambda: lovasz_softmax(x, t, reduction="none", per_image=True)).shape == (2,)
    logits, binary = jnp.asarray(G["logits"]), jnp.asarray(G["binary"])
    assert jax.eval_shape(lambda: lovasz_hinge(logits, binary, reduction="none")).shape == ()
    where = jnp.array([[True, False, True], [False, True, True]])
    none = np.asarray(dice(x, t, reduction="none"))
    np.testing.assert_allclose(dice(x, t, where=where), none[np.asarray(where)].mean(), rtol=1e-6)


def test_lovasz_absent_classes_and_void_images_are_skipped_under_jit(x64):
    x = jnp.asarray(G["x"])
    t = jnp.asarray(G["labels"])
    none = jax.jit(lambda a, b: lovasz_softmax(a, b, reduction="none", per_image=True))(x, t)
    np.testing.assert_allclose(none.mean(), G["lovasz_softmax_image/value"], rtol=1e-5)
    # An image whose pixels are all ignored is excluded from the mean over images.
    t_void = t.at[1].set(255)
    full = jax.jit(lambda a, b: lovasz_softmax(a, b, per_image=True, ignore_index=255))(x, t_void)
    first = jax.jit(lambda a, b: lovasz_softmax(a, b, per_image=True))(x[:1], t[:1])
    np.testing.assert_allclose(full, first, rtol=1e-6)
    logits, binary = jnp.asarray(G["logits"]), jnp.asarray(G["binary"])
    b_void = binary.at[0].set(255)
    h = jax.jit(lambda a, b: lovasz_hinge(a, b, per_image=True, ignore_index=255))(logits, b_void)
    h1 = jax.jit(lambda a, b: lovasz_hinge(a, b, per_image=True))(logits[1:], binary[1:])
    np.testing.assert_allclose(h, h1, rtol=1e-6)


def test_bad_labels_raise_eagerly_and_poison_their_item_under_jit():
    x = jnp.zeros((2, 2, 2, 3))
    t = jnp.array([[[0, 1], [2, 1]], [[0, 5], [1, 1]]])
    for fn in (dice, gdl, lovasz_softmax):
        with pytest.raises(ValueError, match="targets"):
            fn(x, t)
    none = jax.jit(lambda a, b: dice(a, b, reduction="none"))(x, t)
    assert np.all(np.isfinite(none[0])) and np.all(np.isnan(none[1]))
    assert np.isnan(jax.jit(lovasz_softmax)(x, t))
    with pytest.raises(ValueError, match="targets"):
        lovasz_hinge(jnp.zeros((1, 3)), jnp.array([[0, 1, 2]]))


def test_contract_errors_and_single_channel_rules():
    x = jnp.zeros((2, 3, 3, 1))
    with pytest.raises(ValueError, match=r"dice_loss.*sigmoid"):
        dice(x, jnp.zeros((2, 3, 3), jnp.int32))  # softmax over one channel
    with pytest.warns(UserWarning, match="include_background=False ignored"):
        jax.eval_shape(lambda a: dice(a, jnp.zeros((2, 3, 3), jnp.int32), activation="sigmoid",
                                      include_background=False), x)
    with pytest.raises(ValueError, match="tversky_loss: targets has shape"):
        tversky(jnp.zeros((2, 3, 3, 2)), jnp.zeros((2, 3, 3, 3)))
    with pytest.raises(ValueError, match="class_weights"):
        dice(jnp.zeros((2, 3, 3, 2)), jnp.zeros((2, 3, 3), jnp.int32), class_weights=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="activation"):
        jaccard(jnp.zeros((2, 3, 3, 2)), jnp.zeros((2, 3, 3), jnp.int32), activation="relu")
    with pytest.raises(TypeError, match="targets"):
        dice(jnp.zeros((2, 3, 3, 2)), jnp.zeros((2, 3, 3), bool))
