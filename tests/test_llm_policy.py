"""grpo_loss, kl_penalty, grpo_advantages and ppo_value_loss against Liger/TRL goldens
(tests/references/gen_llm_policy.py), plus masks, reductions and the axis_name path."""

from __future__ import annotations

import functools
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss

REF = np.load(pathlib.Path(__file__).parent / "references" / "llm_policy.npz")
TOL = {"rtol": 2e-5, "atol": 2e-6}

# The golden cases of gen_llm_policy.GRPO_CASES in jaxloss terms: (options, inputs used).
CASES = {
    "dapo": ({}, ("old",)),
    "dapo_none_old_kl": ({"beta": 0.04}, ("ref",)),
    "grpo_kl": ({"loss_type": "grpo", "beta": 0.04, "epsilon_high": 0.28}, ("old", "ref")),
    "bnpo_delta_is": ({"loss_type": "bnpo", "delta": 1.1, "epsilon": 0.1}, ("old", "isw")),
    "dr_grpo": ({"loss_type": "dr_grpo", "max_completion_length": 8, "beta": 0.1}, ("old", "ref")),
    "cispo": ({"loss_type": "cispo", "epsilon_high": 1.05}, ("old",)),
    "sapo": (
        {
            "loss_type": "sapo",
            "beta": 0.04,
            "sapo_temperature_pos": 1.2,
            "sapo_temperature_neg": 0.9,
        },
        ("old", "ref"),
    ),
    "sequence_bias": (
        {
            "loss_type": "grpo",
            "importance_sampling_level": "sequence",
            "beta": 0.04,
            "use_bias_correction_kl": True,
        },
        ("old", "ref"),
    ),
    "dapo_normalizer_bias": (
        {"beta": 0.1, "use_bias_correction_kl": True, "normalizer": 30.0},
        ("old", "ref"),
    ),
}


def _inputs(dtype=np.float32):
    return {
        k: REF[f"grpo/{k}"].astype(dtype)
        if REF[f"grpo/{k}"].dtype.kind == "f"
        else REF[f"grpo/{k}"]
        for k in (
            "logprobs",
            "old_logprobs",
            "ref_logprobs",
            "advantages",
            "mask",
            "importance_weights",
        )
    }


@functools.cache
def _grpo(case: str, reduction: str = "mean"):
    options, uses = CASES[case]

    def f(lp, x):
        return jaxloss.grpo_loss(
            lp,
            x["old_logprobs"] if "old" in uses else None,
            x["advantages"],
            x["mask"],
            ref_logprobs=x["ref_logprobs"] if "ref" in uses else None,
            importance_weights=x["importance_weights"] if "isw" in uses else None,
            return_aux=True,
            reduction=reduction,
            **options,
        )

    return jax.jit(jax.value_and_grad(f, has_aux=True))


@pytest.mark.parametrize("case", sorted(CASES))
def test_grpo_matches_liger_ppo_loss_fn(case):
    x = _inputs()
    (value, aux), grad = _grpo(case)(x["logprobs"], x)
    np.testing.assert_allclose(value, REF[f"grpo/{case}/value"], **TOL)
    np.testing.assert_allclose(grad, REF[f"grpo/{case}/grad"], rtol=2e-5, atol=1e-6)
    assert np.all(np.asarray(grad)[~x["mask"]] == 0.0)  # padding holds INVALID_LOGPROB = 1
    np.testing.assert_allclose(aux["kl"], REF[f"grpo/{case}/kl"], **TOL)
    # TRL counts clipping on the delta-clamped ratio, Liger before delta.
    if case != "bnpo_delta_is":
        np.testing.assert_allclose(aux["clip_region"], REF[f"grpo/{case}/clipped"], **TOL)


def test_grpo_none_sum_mean_weights_where_and_token_advantages():
    x = _inputs()
    lp, old, adv, mask = x["logprobs"], x["old_logprobs"], x["advantages"], x["mask"]
    where = np.ones_like(mask)
    where[0, 0] = False
    w = np.random.default_rng(0).uniform(0.5, 2.0, mask.shape).astype(np.float32)

    @jax.jit
    def run(lp):
        g = functools.partial(
            jaxloss.grpo_loss, lp, old, adv, beta=0.1, ref_logprobs=x["ref_logprobs"]
        )
        return {
            "none": g(mask, loss_type="bnpo", reduction="none"),
            "sum": g(mask, loss_type="bnpo", reduction="sum"),
            "mean": g(mask, loss_type="bnpo"),
            "where": g(mask, where=where, loss_type="grpo"),
            "and": g(mask & where, loss_type="grpo"),
            "weighted": g(mask, weights=w, loss_type="dapo"),
            "weighted_none": g(mask, weights=w, reduction="none"),
            "token_adv": jaxloss.grpo_loss(lp, old, jnp.broadcast_to(adv[:, None], lp.shape), mask),
            "seq_adv": jaxloss.grpo_loss(lp, old, adv, mask),
        }

    out = run(lp)
    assert out["none"].shape == lp.shape
    assert np.all(np.asarray(out["none"])[~mask] == 0.0)
    np.testing.assert_allclose(out["sum"], np.sum(out["none"]), rtol=1e-6)
    np.testing.assert_allclose(out["mean"], float(out["sum"]) / mask.sum(), rtol=1e-6)
    np.testing.assert_allclose(out["where"], out["and"], rtol=1e-6)
    np.testing.assert_allclose(
        out["weighted"], float(np.sum(out["weighted_none"])) / mask.sum(), rtol=1e-6
    )
    np.testing.assert_allclose(out["token_adv"], out["seq_adv"], rtol=1e-6)


def test_grpo_all_masked_is_zero_with_zero_gradients():
    x = _inputs()
    mask = np.zeros_like(x["mask"])

    @jax.jit
    def grads(lp):
        return [
            jax.value_and_grad(
                lambda lp, **o: jaxloss.grpo_loss(
                    lp,
                    x["old_logprobs"],
                    x["advantages"],
                    mask,
                    ref_logprobs=x["ref_logprobs"],
                    beta=0.1,
                    **o,
                )
            )(lp, **o)
            for o in (
                {},
                {"loss_type": "grpo"},
                {"loss_type": "dr_grpo"},
                {"loss_type": "cispo"},
                {"importance_sampling_level": "sequence", "loss_type": "sapo"},
            )
        ]

    for value, grad in grads(x["logprobs"]):
        assert float(value) == 0.0
        np.testing.assert_array_equal(grad, 0.0)


def test_grpo_axis_name_is_the_global_loss():
    x = _inputs()
    keys = ("logprobs", "old_logprobs", "advantages", "mask", "ref_logprobs")
    split = [x[k].reshape((2, 2, *x[k].shape[1:])) for k in keys]
    types = ("dapo", "grpo", "dr_grpo")

    def f(lp, old, adv, mask, ref, axis_name=None):
        return [
            jaxloss.grpo_loss(
                lp,
                old,
                adv,
                mask,
                ref_logprobs=ref,
                beta=0.1,
                loss_type=t,
                axis_name=axis_name,
                return_aux=True,
            )
            for t in types
        ]

    sharded, full = jax.jit(
        lambda split, whole: (
            jax.vmap(functools.partial(f, axis_name="d"), axis_name="d")(*split),
            f(*whole),
        )
    )(split, [x[k] for k in keys])
    for (loss, aux), (value, full_aux), t in zip(sharded, full, types):
        np.testing.assert_allclose(loss, np.full(2, value), rtol=1e-6, err_msg=t)
        np.testing.assert_allclose(aux["kl"], np.full(2, full_aux["kl"]), rtol=1e-6, err_msg=t)


def test_grpo_rejects_bad_options():
    x = _inputs()
    args = (x["logprobs"], None, x["advantages"], x["mask"])
    with pytest.raises(ValueError, match=r"grpo_loss.*loss_type"):
        jaxloss.grpo_loss(*args, loss_type="vespo")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"grpo_loss.*advantages"):
        jaxloss.grpo_loss(x["logprobs"], None, x["advantages"][:2], x["mask"])
    with pytest.raises(ValueError, match=r"grpo_loss.*epsilon"):
        jaxloss.grpo_loss(*args, epsilon=-0.1)
    assert jaxloss.get("ppo_clip_loss") is jaxloss.grpo_loss


def test_kl_penalty_estimators_match_trl_liger_verl():
    lp, ref = REF["kl/logprobs"].astype(np.float32), REF["kl/ref_logprobs"].astype(np.float32)
    names = ("k1", "k2", "k3", "abs", "low_var_kl")

    @jax.jit
    def run(lp):
        return {
            n: jax.value_and_grad(lambda lp, n=n: jaxloss.kl_penalty(lp, ref, estimator=n))(lp)[1]
            for n in names
        }, {n: jaxloss.kl_penalty(lp, ref, estimator=n, reduction="none") for n in names}

    grads, values = run(lp)
    for n in names:
        np.testing.assert_allclose(values[n], REF[f"kl/{n}"], rtol=1e-5, atol=1e-6, err_msg=n)
        np.testing.assert_allclose(grads[n], REF[f"kl/{n}/grad"], rtol=1e-5, atol=1e-6, err_msg=n)
    # k3 via expm1 is exact near lp == ref, where exp(x) - x - 1 cancels.
    a, b = np.float32(-1.0), np.float32(-1.0 + 1e-4)
    x = float(b) - float(a)
    tiny = jaxloss.kl_penalty(a, b, reduction="none")
    np.testing.assert_allclose(tiny, x * x / 2 + x**3 / 6, rtol=2e-3)
    naive = jnp.exp(b - a) - (b - a) - 1  # float32 cancellation: off by far more
    assert abs(float(naive) - x * x / 2) > 10 * abs(float(tiny) - x * x / 2)


def test_grpo_advantages_match_trl():
    r = REF["adv/rewards"].astype(np.float32)

    @jax.jit
    def run(r):
        out = {
            s: jaxloss.grpo_advantages(r, group_size=2, scale_rewards=s)
            for s in ("group", "batch", "none")
        }
        out["group4"] = jaxloss.grpo_advantages(r, group_size=4)
        out["single"] = jaxloss.grpo_advantages(r, group_size=1)
        out["grad"] = jax.grad(lambda r: jnp.sum(jaxloss.grpo_advantages(r, group_size=2) ** 2))(r)
        return out

    out = run(r)
    for key in ("group", "batch", "none", "group4"):
        np.testing.assert_allclose(out[key], REF[f"adv/{key}"], rtol=2e-5, atol=1e-6, err_msg=key)
    grad = np.asarray(out["grad"])
    assert np.all(np.isfinite(grad)) and np.all(grad[4:6] == 0.0)  # the constant group
    np.testing.assert_array_equal(out["single"], 0.0)
    with pytest.raises(ValueError, match=r"grpo_advantages.*group_size"):
        jaxloss.grpo_advantages(r, group_size=3)


def test_ppo_value_loss_matches_trl():
    v, old, ret, mask = (REF[f"value/{k}"] for k in ("values", "old_values", "returns", "mask"))
    v, old, ret = (a.astype(np.float32) for a in (v, old, ret))
    f = jax.jit(
        jax.value_and_grad(lambda v, c: jaxloss.ppo_value_loss(v, old, ret, mask, clip_range=c))
    )
    for clip in (0.2, 0.05):
        value, grad = f(v, clip)
        np.testing.assert_allclose(value, REF[f"value/{clip}/value"], **TOL)
        np.testing.assert_allclose(grad, REF[f"value/{clip}/grad"], rtol=2e-5, atol=1e-6)
    value, grad = f(v, 0.2)
    none = jaxloss.ppo_value_loss(v, old, ret, np.zeros_like(mask))
    assert float(none) == 0.0
