"""Dice-family options (smp, Keras), the generalised Wasserstein Dice loss (MONAI) and optax's multiclass
generalised Dice loss against the anchors' goldens (tests/references/gen_segmentation_more.py), edge cases."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("segmentation_more")

dice, jaccard, tversky, ftversky = (
    jaxloss.dice_loss,
    jaxloss.jaccard_loss,
    jaxloss.tversky_loss,
    jaxloss.focal_tversky_loss,
)
gwdl, mgdl = jaxloss.generalized_wasserstein_dice_loss, jaxloss.multiclass_generalized_dice_loss

# smp 0.6 DiceLoss/JaccardLoss/TverskyLoss(mode, ...) -> jaxloss options (see the docstrings)
SMP = {
    "batch": True,
    "absent_classes": "zero",
    "soft_label": True,
    "min_denominator": 1e-7,
    "smooth_numerator": 0.0,
    "smooth_denominator": 0.0,
}
KERAS = {
    "activation": None,
    "per_class": False,
    "batch": True,
    "smooth_numerator": 0.0,
    "smooth_denominator": 1e-7,
}


def _smp(**options):
    return {**SMP, **options}


# golden name -> (loss, predictions key, targets key, options, extra positional keys)
CASES = {
    "smp_dice": (dice, "x", "labels", _smp()),
    "smp_dice_opts": (
        dice,
        "x",
        "ign",
        _smp(
            classes=(3, 1),
            log_loss=True,
            smooth_numerator=1.0,
            smooth_denominator=1.0,
            ignore_index=255,
            min_denominator=1e-4,
        ),
    ),
    "smp_dice_binary": (
        dice,
        "xb",
        "mask_ign",
        _smp(activation="sigmoid", ignore_index=255, smooth_numerator=0.5, smooth_denominator=0.5),
    ),
    "smp_dice_soft": (dice, "x", "soft", _smp(activation="sigmoid", log_loss=True)),
    "smp_dice_weights": (
        dice,
        "probs",
        "labels",
        _smp(activation=None, classes=(0, 2, 3), weights=np.array([1.0, 0.5, 3.0])),
    ),
    "smp_jaccard": (jaccard, "x", "labels", _smp()),
    "smp_jaccard_opts": (
        jaccard,
        "x",
        "multilabel",
        _smp(activation="sigmoid", log_loss=True, smooth_numerator=2.0, smooth_denominator=2.0),
    ),
    "smp_tversky_opts": (
        tversky,
        "x",
        "ign",
        _smp(
            classes=(1, 2, 3),
            log_loss=True,
            smooth_numerator=0.1,
            smooth_denominator=0.1,
            ignore_index=255,
            alpha=0.7,
            beta=0.3,
            min_denominator=1e-3,
        ),
    ),
    "keras_dice": (dice, "sig", "sig_t", KERAS),
    # Keras swaps the names alpha/beta; axis=(1, 2, 3) is per example
    "keras_tversky_axis": (
        tversky,
        "sig",
        "sig_t",
        {**KERAS, "alpha": 0.7, "beta": 0.3, "batch": False, "reduction": "none"},
    ),
    "gwdl_default": (gwdl, "x3", "glabels", {}, "m_unit"),
    "gwdl_scaled_none": (
        gwdl,
        "x3",
        "glabels",
        {"reduction": "none", "smooth_numerator": 0.1, "smooth_denominator": 0.2},
        "m_scaled",
    ),
    "gwdl_3d_gdl_sum": (
        gwdl,
        "x3d",
        "glabels3d",
        {"weighting_mode": "GDL", "reduction": "sum"},
        "m_scaled",
    ),
    "optax_mgdl": (mgdl, "x3", "glabels", {}),  # integer targets: optax's one-hot value
    "optax_mgdl_opts": (
        mgdl,
        "probs3",
        "onehot3",
        {"smooth": 0.1, "ignore_background": True, "apply_softmax": False},
    ),
}
# more jaxloss calls against the same goldens: name -> (golden, loss, targets key, options override)
ALSO = {
    # focal Tversky with gamma = 1 is Tversky: the D1 options through the focal path
    "ftversky_opts": ("smp_tversky_opts", ftversky, "ign", {"gamma": 1.0}),
}
STATIC = (
    "activation",
    "classes",
    "reduction",
    "ignore_index",
    "weighting_mode",
    "per_class",
    "batch",
    "log_loss",
    "absent_classes",
    "soft_label",
    "apply_softmax",
    "ignore_background",
)


def _calls():
    calls = {
        name: (c[0], c[1], c[2], c[3], c[4] if len(c) > 4 else None, name)
        for name, c in CASES.items()
    }
    for name, (golden, fn, tk, override) in ALSO.items():
        c = CASES[golden]
        calls[name] = (fn, c[1], tk, {**c[3], **override}, c[4] if len(c) > 4 else None, golden)
    return calls


def test_values_and_gradients_match_smp_keras_monai_optax(x64):
    calls = _calls()
    statics = {name: {k: v for k, v in c[3].items() if k in STATIC} for name, c in calls.items()}

    def run(data):
        out = {}
        for name, (x, t, m, traced) in data.items():
            fn, kwargs = calls[name][0], {**statics[name], **traced}
            extra = () if m is None else (m,)
            value, pullback = jax.vjp(
                lambda a, m, fn=fn, t=t, e=bool(extra), kw=kwargs: fn(
                    a, t, *((m,) if e else ()), **kw
                ),
                x,
                m if extra else jnp.zeros(()),
            )
            out[name] = (value, *pullback(jnp.ones_like(value)))
        return out

    data = {
        name: (
            G[c[1]],
            G[c[2]],
            None if c[4] is None else G[c[4]],
            {k: v for k, v in c[3].items() if k not in STATIC},
        )
        for name, c in calls.items()
    }
    # One compiled program for every case (compiling dominates the test time).
    results = jax.jit(run)(data)
    for name, (value, grad, mgrad) in results.items():
        golden = calls[name][5]
        # MONAI computes the GDL weights 1 / (V + 1) in float32
        tol = {"rtol": 1e-6, "atol": 1e-9} if "_gdl" in name else {"rtol": 1e-7, "atol": 1e-10}
        np.testing.assert_allclose(value, G[f"{golden}/value"], err_msg=name, **tol)
        np.testing.assert_allclose(grad, G[f"{golden}/grad"], err_msg=name, **tol)
        if f"{golden}/mgrad" in G:
            np.testing.assert_allclose(mgrad, G[f"{golden}/mgrad"], err_msg=name, **tol)


def test_gwdl_channels_first_and_monai_example():
    x, t, m = (jnp.asarray(G[k], jnp.float32) for k in ("x3", "glabels", "m_unit"))
    t = t.astype(jnp.int32)
    # MONAI's docstring example: confident and right is 0; an all-background image stays finite
    confident = jnp.array([[[1000.0, 0, 0], [0, 1000, 0], [0, 0, 1000]]])

    @jax.jit
    def run(x, t, m):
        first = gwdl(jnp.moveaxis(x, -1, 1), t[:, None], m, axis=1)
        example = gwdl(confident, jnp.array([[0, 1, 2]]), m)
        background = jax.value_and_grad(gwdl)(confident[..., ::-1], jnp.zeros((1, 3), jnp.int32), m)
        return first, example, background

    first, example, (value, grad) = run(x, t, m)
    np.testing.assert_allclose(first, G["gwdl_default/value"], rtol=2e-6)
    assert float(example) == float(G["gwdl_example/value"]) == 0.0
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    with pytest.raises(TypeError, match="generalized_wasserstein_dice_loss"):
        jax.eval_shape(lambda: gwdl(x, jax.nn.one_hot(t, 3), m))
    with pytest.raises(ValueError, match=r"dist_matrix.*\(3, 3\)"):
        jax.eval_shape(lambda: gwdl(x, t, m[:2]))


def test_d1_edges_absent_log_classes_per_class():
    rng = np.random.default_rng(3)
    x = jnp.asarray(rng.standard_normal((2, 4, 3, 3)), jnp.float32)
    t = jnp.asarray(rng.integers(0, 2, (2, 4, 3)))  # class 2 absent everywhere

    @jax.jit
    def run(x):
        def zero(a):
            return dice(a, t, absent_classes="zero", reduction="none")

        none, pullback = jax.vjp(zero, x)
        g_absent = pullback(jnp.zeros_like(none).at[:, 2].set(1.0))[0]
        # a prediction with no overlap at all: log_loss stays finite with zero smoothing
        wrong = jnp.where(jax.nn.one_hot(t, 3) > 0, -30.0, 30.0)
        logs = jax.value_and_grad(
            lambda a: tversky(
                a,
                t,
                activation="sigmoid",
                log_loss=True,
                smooth_numerator=0.0,
                smooth_denominator=0.0,
            )
        )(wrong)
        pooled = dice(x, t, per_class=False, reduction="none")
        picked = dice(x, t, classes=(2, 1), include_background=False, reduction="none")
        full = dice(x, t, reduction="none")
        md = jax.grad(lambda m: jaccard(x, t, min_denominator=m, log_loss=True))(0.5)
        return none, g_absent, logs, pooled, picked, full, md

    none, g_absent, (lv, lg), pooled, picked, full, md = run(x)
    assert np.all(np.asarray(none[:, 2]) == 0) and np.all(np.asarray(g_absent) == 0)
    assert np.isfinite(lv) and lv > 10 and np.all(np.isfinite(lg))
    assert pooled.shape == (2,)
    np.testing.assert_array_equal(picked, full[:, [2, 1]])
    assert np.isfinite(md)
    with pytest.raises(ValueError, match="include_background=False"):
        jax.eval_shape(lambda: dice(x, t, classes=(0, 1), include_background=False))
    with pytest.raises(ValueError, match=r"classes=\[3\]"):
        jax.eval_shape(lambda: jaccard(x, t, classes=(3,)))
    with pytest.raises(ValueError, match="per_class=True"):
        jax.eval_shape(lambda: tversky(x, t, per_class=False, class_weights=jnp.ones(3)))
    with pytest.raises(ValueError, match="absent_classes"):
        jax.eval_shape(lambda: ftversky(x, t, absent_classes="skip"))  # type: ignore[arg-type]


def test_multiclass_generalized_dice_probability_check():
    p = np.full((1, 2, 2, 3), 0.5, np.float32)  # rows sum to 1.5
    t = np.zeros((1, 2, 2), np.int32)
    with pytest.raises(ValueError, match="sum to 1"):
        mgdl(p, t, apply_softmax=False)  # concrete inputs: raised eagerly
    under_jit, one_channel = jax.jit(
        lambda p: (mgdl(p, t, apply_softmax=False), mgdl(p[..., :1], t, apply_softmax=False))
    )(p)
    assert np.isnan(under_jit) and np.isfinite(one_channel)  # one channel: not checked
