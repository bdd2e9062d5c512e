"""Segmentation options: the asymmetric unified focal loss and its parts against MONAI goldens, edge cases."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("segmentation_options")

afl, aftl, ufl = (
    jaxloss.asymmetric_focal_loss,
    jaxloss.asymmetric_focal_tversky_loss,
    jaxloss.asymmetric_unified_focal_loss,
)

# golden name -> (loss, prediction key, target key, options); the MONAI call is in gen_segmentation_options.py
CASES = {
    "afl_default": (afl, "p2", "mask", {}),
    "afl_opts_none": (
        afl,
        "p2",
        "soft2",
        {"delta": 0.6, "gamma": 0.5, "eps": 1e-4, "reduction": "none"},
    ),
    "aftl_default": (aftl, "p2", "mask", {}),
    "aftl_opts_none": (
        aftl,
        "p2",
        "soft2",
        {"delta": 0.4, "gamma": 0.5, "eps": 1e-4, "reduction": "none"},
    ),
    "ufl_default": (ufl, "p1", "fmask", {}),
    "ufl_labels": (ufl, "p1", "mask", {}),
    "ufl_onehot": (ufl, "p2", "mask", {"weight": 0.3, "delta": 0.6, "gamma": 0.25}),
    "ufl_3d_sum": (ufl, "p3d", "mask3d", {"gamma": 0.8, "reduction": "sum"}),
}


def test_unified_focal_values_and_gradients_match_monai(x64):
    def run(data):
        out = {}
        for case, (x, t) in data.items():
            fn, kwargs = CASES[case][0], CASES[case][3]
            value, pullback = jax.vjp(lambda a, t=t, fn=fn, kw=kwargs: fn(a, t, **kw), x)
            out[case] = (value, pullback(jnp.ones_like(value))[0])
        return out

    # One compiled program for all cases (compiling dominates the test time).
    results = jax.jit(run)({case: (G[c[1]], G[c[2]]) for case, c in CASES.items()})
    for case, (value, grad) in results.items():
        # MONAI's unified parts always take their mean, so its "sum" is the mean: ours is per example summed
        scale = G[CASES[case][1]].shape[0] if case == "ufl_3d_sum" else 1
        expected_value, expected_grad = scale * G[f"{case}/value"], scale * G[f"{case}/grad"]
        np.testing.assert_allclose(value, expected_value, rtol=1e-7, atol=1e-9, err_msg=case)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-7, atol=1e-9, err_msg=case)


def test_unified_focal_none_is_per_example_and_channels_first_axis():
    @jax.jit
    def run(x, t):
        parts = 0.5 * afl(x, t, gamma=0.5) + 0.5 * aftl(x, t, gamma=0.5)
        first = ufl(jnp.moveaxis(x, -1, 1), t, axis=1)
        return (
            ufl(x, t, reduction="none"),
            ufl(x, t),
            parts,
            first,
            afl(x, t, reduction="none"),
            aftl(x, t, reduction="none"),
        )

    none, mean, parts, first, afl_none, aftl_none = run(
        jnp.asarray(G["p1"], jnp.float32), jnp.asarray(G["mask"])
    )
    assert none.shape == (2,) and afl_none.shape == (2, 5, 4, 2) and aftl_none.shape == (2, 2)
    np.testing.assert_allclose(jnp.mean(none), G["ufl_default/value"], rtol=1e-5)
    np.testing.assert_allclose(mean, parts, rtol=1e-6)
    np.testing.assert_allclose(first, mean, rtol=1e-6)


def test_perfect_overlap_and_empty_foreground_stay_finite():
    mask = jnp.zeros((1, 4, 4), jnp.int32).at[0, 1, 1].set(1)
    perfect = mask[..., None].astype(jnp.float32)  # clipped to [eps, 1 - eps]: 1 - TI rounds to 0
    empty = jnp.zeros((1, 4, 4), jnp.int32)

    @jax.jit
    def run():
        rounded = jax.value_and_grad(lambda a: aftl(a, mask, eps=1e-9))(
            perfect
        )  # 1 - TI == 0 in f32
        return {("rounded", 0): rounded} | {
            (fn.__name__, i): jax.value_and_grad(lambda a, fn=fn, t=t: fn(a, t))(p)
            for i, (p, t) in enumerate(((perfect, mask), (jnp.full((1, 4, 4, 1), 0.3), empty)))
            for fn in (afl, aftl, ufl)
        }

    for key, (value, grad) in run().items():
        assert np.isfinite(value) and np.all(np.isfinite(grad)), key
    assert run()["rounded", 0][0] == 0


def test_errors():
    x = jnp.full((2, 4, 4, 3), 0.3)
    with pytest.raises(ValueError, match="1 or 2 channels"):
        ufl(x, jnp.zeros((2, 4, 4), jnp.int32))
    with pytest.raises(ValueError, match="gamma"):
        aftl(x[..., :2], jnp.zeros((2, 4, 4), jnp.int32), gamma=1.5)
    with pytest.raises(ValueError, match="eps"):
        afl(x[..., :2], jnp.zeros((2, 4, 4), jnp.int32), eps=0.0)
    with pytest.raises(ValueError, match="weight"):
        ufl(x[..., :1], jnp.zeros((2, 4, 4), jnp.int32), weight=1.5)


def test_lovasz_softmax_channels_first_axis_matches_the_reference(x64):
    s = load("segmentation")
    x, labels = jnp.asarray(np.moveaxis(s["x"], -1, 1)), jnp.asarray(s["labels"])

    @jax.jit
    def run(x, labels):
        value, grad = jax.value_and_grad(lambda a: jaxloss.lovasz_softmax_loss(a, labels, axis=1))(
            x
        )
        return value, grad, jaxloss.lovasz_softmax_loss(x, labels[:, None], axis=1, per_image=True)

    value, grad, per_image = run(x, labels)
    np.testing.assert_allclose(value, s["lovasz_softmax/value"], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(
        np.moveaxis(grad, 1, -1), s["lovasz_softmax/grad"], rtol=1e-7, atol=1e-9
    )
    np.testing.assert_allclose(per_image, s["lovasz_softmax_image/value"], rtol=1e-7, atol=1e-9)
