"""Compound segmentation losses, MONAI's focal loss, MCC and the class ``axis``: MONAI goldens and edge cases."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from references import load

import jaxloss

G = load("segmentation_compound")
gdl_focal = jaxloss.generalized_dice_focal_loss
S = load("segmentation")

focal, dice_ce, dice_focal, mcc = (
    jaxloss.segmentation_focal_loss,
    jaxloss.dice_ce_loss,
    jaxloss.dice_focal_loss,
    jaxloss.mcc_loss,
)

# golden name -> (loss, prediction key, target key, options); the MONAI call is in gen_segmentation_compound.py
CASES = {
    "focal_default": (focal, "x", "labels", {}),
    "focal_gamma05": (focal, "x", "labels", {"gamma": 0.5}),
    "focal_alpha_vec": (focal, "x", "labels", {"alpha": [0.2, 0.5, 0.9]}),
    "focal_weight": (focal, "x", "labels", {"class_weights": [0.3, 1.0, 2.0]}),
    "focal_nobg": (focal, "x", "labels", {"include_background": False, "alpha": 0.25}),
    "focal_soft": (focal, "x", "soft", {"gamma": 1.5}),
    "focal_ignore_none": (focal, "x", "ign", {"ignore_index": 255, "reduction": "none"}),
    "focal_softmax_g05": (focal, "x", "labels", {"activation": "softmax", "gamma": 0.5}),
    "focal_softmax_alpha_vec": (
        focal,
        "x",
        "labels",
        {"activation": "softmax", "alpha": [0.2, 0.5, 0.9], "class_weights": [1.0, 2.0, 0.5]},
    ),
    "focal_softmax_nobg": (
        focal,
        "x",
        "labels",
        {"activation": "softmax", "include_background": False, "alpha": [0.3, 0.7]},
    ),
    "focal_softmax_soft": (focal, "x", "soft", {"activation": "softmax"}),
    "focal_3d": (focal, "x3", "labels3", {"alpha": 0.75}),
    "focal_binary": (focal, "xb", "mask", {"alpha": 0.25}),
    "dice_ce_default": (dice_ce, "x", "labels", {}),
    "dice_ce_weight_onehot": (dice_ce, "x", "onehot", {"class_weights": [0.3, 1.0, 2.0]}),
    "dice_ce_smooth": (
        dice_ce,
        "x",
        "labels",
        {"label_smoothing": 0.1, "class_weights": [0.3, 1.0, 2.0]},
    ),
    "dice_ce_nobg": (
        dice_ce,
        "x",
        "labels",
        {
            "include_background": False,
            "class_weights": [0.5, 1.0, 2.0],
            "lambda_dice": 0.7,
            "lambda_ce": 1.5,
        },
    ),
    "dice_ce_jaccard_squared": (dice_ce, "x", "labels", {"jaccard": True, "squared": True}),
    # MONAI's "sum" (Dice summed over its 3 classes, CE over its 40 pixels) = "mean" with scaled lambdas.
    "dice_ce_batch_sum": (
        dice_ce,
        "x",
        "labels",
        {"batch": True, "lambda_dice": 3.0, "lambda_ce": 40.0},
    ),
    "dice_ce_binary": (dice_ce, "xb", "mask", {"activation": "sigmoid", "class_weights": [0.5]}),
    "dice_ce_3d": (dice_ce, "x3", "labels3", {}),
    "dice_focal_options": (
        dice_focal,
        "x",
        "labels",
        {
            "gamma": 0.5,
            "alpha": 0.25,
            "class_weights": [0.3, 1.0, 2.0],
            "lambda_dice": 0.4,
            "lambda_focal": 2.0,
        },
    ),
    "dice_focal_nobg": (
        dice_focal,
        "x",
        "labels",
        {"include_background": False, "class_weights": [1.0, 3.0]},
    ),
    "dice_focal_sigmoid_batch": (
        dice_focal,
        "x",
        "labels",
        {"activation": "sigmoid", "batch": True, "jaccard": True},
    ),
    # MONAI's "sum" = "mean" with both lambdas times the 2 x 3 (batch, class) pairs.
    "dice_focal_sum": (dice_focal, "x", "onehot", {"lambda_dice": 6.0, "lambda_focal": 6.0}),
    "gdl_focal_default": (gdl_focal, "x", "labels", {}),
    "gdl_focal_options": (
        gdl_focal,
        "x",
        "labels",
        {
            "weight_type": "simple",
            "gamma": 0.5,
            "class_weights": [0.5, 2.0],
            "include_background": False,
            "lambda_gdl": 0.3,
            "lambda_focal": 1.7,
        },
    ),
    "gdl_focal_sigmoid_batch": (
        gdl_focal,
        "x3",
        "labels3",
        {"activation": "sigmoid", "batch": True},
    ),
    "mcc_default": (mcc, "probs", "labels", {}),
    "mcc_softmax_nobg": (
        mcc,
        "x",
        "labels",
        {"activation": "softmax", "include_background": False},
    ),
    "mcc_batch": (mcc, "x", "labels", {"activation": "softmax", "batch": True}),
    "mcc_smooth_none": (
        mcc,
        "x",
        "labels",
        {
            "activation": "sigmoid",
            "smooth_numerator": 0.3,
            "smooth_denominator": 0.1,
            "reduction": "none",
        },
    ),
    "mcc_soft_sum": (mcc, "probs", "soft", {"reduction": "sum"}),
    "mcc_binary": (mcc, "xb", "mask", {"activation": "sigmoid"}),
}
# D1 soft_label on the Dice family (MONAI soft_label=True, soft targets)
SOFT_LABEL = {
    "soft_dice": (jaxloss.dice_loss, "x", "soft", {"soft_label": True}),
    "soft_dice_sigmoid_batch": (
        jaxloss.dice_loss,
        "x",
        "soft",
        {"soft_label": True, "activation": "sigmoid", "batch": True},
    ),
    "soft_jaccard": (jaxloss.jaccard_loss, "x", "soft", {"soft_label": True}),
    "soft_tversky": (
        jaxloss.tversky_loss,
        "x",
        "soft",
        {"soft_label": True, "alpha": 0.3, "beta": 0.7},
    ),
    "soft_gdl": (jaxloss.generalized_dice_loss, "x", "soft", {"soft_label": True}),
}
# MONAI's own test cases (channel-first, through axis=1): name -> (loss, options)
MONAI_CASES = {
    "monai_dice_ce_0": (dice_ce, {"activation": None}),
    "monai_dice_ce_1": (dice_ce, {"activation": None}),
    "monai_dice_ce_4": (
        dice_ce,
        {
            "activation": None,
            "include_background": False,
            "class_weights": [1.0, 1.0],
            "lambda_ce": 2.0,
        },
    ),
    "monai_dice_ce_6": (dice_ce, {"activation": "sigmoid", "class_weights": [0.5]}),
    "monai_mcc_0": (mcc, {"activation": "sigmoid"}),
    "monai_mcc_5": (mcc, {"activation": "sigmoid"}),
    "monai_mcc_9": (mcc, {"activation": "softmax", "reduction": "none"}),
}
# cases also run channels-first (axis=1) against the same goldens
CHANNELS_FIRST = [
    "focal_ignore_none",
    "focal_softmax_nobg",
    "dice_ce_smooth",
    "dice_focal_options",
    "mcc_batch",
]
# Dice family (segmentation.npz goldens) channels-first: the mis-read of channels-first one-hot input
DICE_FAMILY = {
    "dice_ignore_onehot": (jaxloss.dice_loss, {"ignore_index": 1}),
    "tversky_nobg_none": (jaxloss.tversky_loss, {"include_background": False, "reduction": "none"}),
    "focal_tversky_0.75": (jaxloss.focal_tversky_loss, {"alpha": 0.3, "beta": 0.7, "gamma": 0.75}),
    "gdl_default": (jaxloss.generalized_dice_loss, {}),
}


def _tol(case: str) -> dict[str, float]:
    # MONAI's FocalLoss computes in float32 (input.float())
    if "focal" in case and "tversky" not in case:
        return {"rtol": 2e-5, "atol": 1e-6}
    if "gdl" in case:  # MONAI computes the GDL weights in float32
        return {"rtol": 1e-5, "atol": 1e-9}
    return {"rtol": 1e-7, "atol": 1e-9}


def _moved(a: np.ndarray, ndim: int) -> np.ndarray:
    """Channel-last -> channels-first for arrays of the prediction's rank."""
    return np.moveaxis(a, -1, 1) if a.ndim == ndim else a


def _calls(group: str) -> dict[str, tuple]:
    """case -> (loss, predictions, targets, options, expected value, expected gradient)."""
    if group == "monai":
        return {
            case: (
                fn,
                G[f"{case}/x"],
                G[f"{case}/t"],
                {"axis": 1, **kw},
                G[f"{case}/value"],
                G[f"{case}/grad"],
            )
            for case, (fn, kw) in MONAI_CASES.items()
        }
    if group == "channels_first":
        calls = {}
        for case in CHANNELS_FIRST:
            fn, xk, tk, kw = CASES[case]
            n = G[xk].ndim
            calls[case] = (
                fn,
                _moved(G[xk], n),
                _moved(G[tk], n),
                {"axis": 1, **kw},
                _moved(G[f"{case}/value"], n),
                _moved(G[f"{case}/grad"], n),
            )
        for case, (fn, kw) in DICE_FAMILY.items():
            onehot = np.moveaxis(S["onehot"], -1, 1)
            t = (
                onehot if "onehot" in case else onehot.argmax(1)[:, None]
            )  # MONAI's [B, 1, *S] labels
            calls[case] = (
                fn,
                np.moveaxis(S["x"], -1, 1),
                t,
                {"axis": 1, **kw},
                S[f"{case}/value"],
                np.moveaxis(S[f"{case}/grad"], -1, 1),
            )
        return calls
    table = SOFT_LABEL if group == "soft_label" else CASES
    return {
        case: (fn, G[xk], G[tk], kw, G[f"{case}/value"], G[f"{case}/grad"])
        for case, (fn, xk, tk, kw) in table.items()
        if fn.__name__ == group or table is SOFT_LABEL
    }


@pytest.mark.parametrize(
    "group",
    [
        "segmentation_focal_loss",
        "dice_ce_loss",
        "dice_focal_loss",
        "generalized_dice_focal_loss",
        "mcc_loss",
        "monai",
        "channels_first",
        "soft_label",
    ],
)
def test_values_and_gradients_match_monai(group, x64):
    calls = _calls(group)

    def run(data):
        out = {}
        for case, (x, t) in data.items():
            fn, kwargs = calls[case][0], calls[case][3]
            value, pullback = jax.vjp(lambda a, t=t, fn=fn, kw=kwargs: fn(a, t, **kw), x)
            out[case] = (value, pullback(jnp.ones_like(value))[0])
        return out

    # One compiled program per group (compiling dominates the test time).
    results = jax.jit(run)({case: (c[1], c[2]) for case, c in calls.items()})
    for case, (value, grad) in results.items():
        expected_value, expected_grad = calls[case][4], calls[case][5]
        tol = _tol(case)
        np.testing.assert_allclose(
            value, np.reshape(expected_value, np.shape(value)), err_msg=case, **tol
        )
        np.testing.assert_allclose(grad, expected_grad, err_msg=case, **tol)


def test_axis_errors_and_hint():
    x = jnp.zeros((2, 3, 4, 5))
    with pytest.raises(ValueError, match="pass axis=1"):
        jaxloss.dice_loss(x, jnp.zeros((2, 4, 5), jnp.int32))
    with pytest.raises(ValueError, match="batch axis"):
        dice_ce(x, jnp.zeros((3, 4, 5), jnp.int32), axis=0)
    with pytest.raises(ValueError, match="out of range"):
        mcc(x, jnp.zeros((2, 3, 4), jnp.int32), axis=4)


# --------------------------------------------------------------------------- aux, reductions, masks


def test_return_aux_terms_sum_to_the_loss_for_every_reduction(x64):
    @jax.jit
    def run(x, t):
        out = {}
        for fn in (dice_ce, dice_focal):
            for reduction in ("mean", "sum", "none"):
                out[fn.__name__, reduction] = fn(
                    x, t, lambda_dice=0.3, reduction=reduction, return_aux=True
                )
        return out, 0.3 * jaxloss.dice_loss(x, t)

    out, dice = run(jnp.asarray(G["x"]), jnp.asarray(G["labels"]))
    for (name, reduction), (loss, aux) in out.items():
        assert set(aux) == {"dice", "ce" if name == "dice_ce_loss" else "focal"}
        np.testing.assert_allclose(
            aux["dice"] + aux["ce" if name == "dice_ce_loss" else "focal"], loss, rtol=1e-12
        )
        assert loss.shape == ((2,) if reduction == "none" else ())
        if reduction == "mean":  # the Dice term is the family's dice_loss
            np.testing.assert_allclose(aux["dice"], dice, rtol=1e-12)
        if reduction == "sum":
            np.testing.assert_allclose(loss, out[name, "none"][0].sum(), rtol=1e-12)
    x, t = (
        jax.ShapeDtypeStruct((2, 5, 4, 3), jnp.float32),
        jax.ShapeDtypeStruct((2, 5, 4), jnp.int32),
    )
    assert jax.eval_shape(
        lambda a, b: focal(a, b, reduction="none", include_background=False), x, t
    ).shape == (2, 5, 4, 2)
    assert jax.eval_shape(lambda a, b: mcc(a, b, reduction="none", batch=True), x, t).shape == (3,)


# --------------------------------------------------------------------------- delicate points

IGNORING = {
    "focal": (focal, {}),
    "focal_softmax": (focal, {"activation": "softmax"}),
    "dice_ce": (dice_ce, {}),
    "dice_focal": (dice_focal, {}),
}


def test_ignored_pixels_get_zero_gradient_and_all_ignored_is_zero(x64):
    @jax.jit
    def run(x, ign):
        out = {}
        for name, (fn, kw) in IGNORING.items():
            out[name] = (
                jax.grad(lambda a, fn=fn, kw=kw: fn(a, ign, ignore_index=255, **kw))(x),
                jax.value_and_grad(
                    lambda a, fn=fn, kw=kw: fn(a, jnp.full_like(ign, 255), ignore_index=255, **kw)
                )(x),
            )
        return out, dice_ce(x, ign, ignore_index=255, return_aux=True)[1]["ce"]

    x, ign = jnp.asarray(G["x"]), jnp.asarray(G["ign"])
    ignored = np.asarray(ign == 255)
    out, ce = run(x, ign)
    for name, (grad, (value_all, grad_all)) in out.items():
        assert np.all(np.isfinite(grad)), name
        np.testing.assert_array_equal(np.asarray(grad)[ignored], 0.0, err_msg=name)
        assert float(value_all) == 0.0, name
        np.testing.assert_array_equal(grad_all, 0.0, err_msg=name)
    # dice_ce's CE term follows torch's ignore_index: the mean over the kept pixels.
    logp = np.asarray(jax.nn.log_softmax(x))
    nll = -np.take_along_axis(logp, np.where(ignored, 0, G["ign"])[..., None], -1)[..., 0]
    np.testing.assert_allclose(ce, nll[~ignored].mean(), rtol=1e-12)


def test_focal_gradients_finite_at_confident_logits_and_match_finite_differences(x64):
    labels = jnp.array([[0, 1, 2, 1]])
    x = 300.0 * jax.nn.one_hot(labels, 3) - 100.0  # p_t = 1 to double precision
    grads = jax.jit(
        jax.value_and_grad(
            lambda a, g: focal(a, labels, activation="softmax", gamma=g), argnums=(0, 1)
        )
    )
    for gamma in (0.0, 0.5, 2.0):
        value, (gx, gg) = grads(x, gamma)
        assert np.isfinite(value) and np.all(np.isfinite(gx)) and np.isfinite(gg)
    # gamma < 1: the softmax custom_vjp (and the log-space sigmoid form) against finite differences,
    # w.r.t. the logits and gamma.
    y = np.random.default_rng(0).standard_normal((2, 3, 4)) * 3
    t = np.array([[0, 1, 3], [2, 2, 0]])
    check_grads(
        jax.jit(
            lambda a, g: (
                focal(a, t, activation="softmax", gamma=g) + focal(a, t, gamma=g, alpha=0.3)
            )
        ),
        (y, 0.6),
        order=1,
        modes=("rev",),
        eps=1e-6,
    )


def test_mcc_perfect_predictions_are_zero_with_zero_gradient(x64):
    labels = jnp.asarray(G["labels"])
    grad = jax.jit(jax.value_and_grad(mcc))
    cases = [(jax.nn.one_hot(labels, 3, dtype=jnp.float64), labels)]
    cases += [
        (full, full) for full in (jnp.ones((1, 3, 3, 1)), jnp.zeros((1, 3, 3, 1)))
    ]  # MONAI's cases
    for p, t in cases:
        value, g = grad(p, t)
        assert float(value) == 0.0
        np.testing.assert_array_equal(g, 0.0)
    with pytest.raises(ValueError, match="smooth_denominator"):
        mcc(cases[0][0], labels, smooth_denominator=0.0)


def test_monai_keywords_get_hints():
    x, t = jnp.zeros((1, 2, 2, 3)), jnp.zeros((1, 2, 2), jnp.int32)
    with pytest.raises(TypeError, match="activation="):
        dice_ce(x, t, softmax=True)
    with pytest.raises(TypeError, match="smooth_numerator="):
        dice_focal(x, t, smooth_nr=0.0)
    with pytest.raises(TypeError, match="activation="):
        focal(x, t, use_softmax=True)


def test_soft_label_equals_default_on_one_hot_and_matches_finite_differences(x64):
    x, onehot, soft = G["x"], G["onehot"], G["soft"]

    @jax.jit
    def run(a, t):
        return [
            fn(a, t, soft_label=flag)
            for fn in (jaxloss.dice_loss, jaxloss.tversky_loss)
            for flag in (False, True)
        ]

    d0, d1, t0, t1 = run(x, onehot)
    np.testing.assert_allclose(d1, d0, rtol=1e-12)
    np.testing.assert_allclose(t1, t0, rtol=1e-12)
    # The extended custom_vjp (min(p, t) overlap) against finite differences, w.r.t. both arguments.
    check_grads(
        jax.jit(
            lambda a, t: (
                jaxloss.dice_loss(a, t, soft_label=True)
                + jaxloss.jaccard_loss(a, t, soft_label=True)
            )
        ),
        (x, soft),
        order=1,
        modes=("rev",),
        eps=1e-6,
    )
