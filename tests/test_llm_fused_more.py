"""The fused KTO, GRPO and distillation losses against Liger-Kernel goldens (values and
gradients w.r.t. hidden, weight and bias), against the unfused jaxloss losses on materialised
logits, and without any ``[tokens, V]`` intermediate."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss
from jaxloss.llm import (
    fused_linear_distillation_loss,
    fused_linear_grpo_loss,
    fused_linear_kto_loss,
)

G = load("llm_fused_more")
TOL = {"rtol": 2e-5, "atol": 2e-6}
PARAMS = ("hidden", "weight", "bias")


def _f32(*keys):
    return tuple(G[k].astype(np.float32) for k in keys)


def _check_cases(cases, fn):
    """One compiled function for every case: value and gradients w.r.t. hidden, weight, bias."""

    @jax.jit
    def run(h, w, b):
        return {
            case: jax.value_and_grad(lambda h, w, b, o=options: fn(h, w, b, **o), (0, 1, 2))(
                h, w, b
            )
            for case, options in cases.items()
        }

    results = run(*_f32(*PARAMS))
    for case, (value, grads) in results.items():
        np.testing.assert_allclose(value, G[f"{case}/loss"], **TOL, err_msg=case)
        for name, g in zip(PARAMS, grads):
            np.testing.assert_allclose(g, G[f"{case}/{name}"], **TOL, err_msg=f"{case} {name}")


# --------------------------------------------------------------------------- Liger goldens


def test_kto_against_liger():
    ref = dict(
        zip(("ref_hidden", "ref_weight", "ref_bias"), _f32("ref_hidden", "ref_weight", "ref_bias"))
    )
    cases = {
        # Liger use_ref_model=True, kl given; vocabulary tiles that do not divide V = 11.
        "kto_ref": {"beta": 0.5, "kl": 0.3, "vocab_chunk_size": 4, **ref},
        # Liger's default use_ref_model=False (reference-free), length-averaged.
        "kto_free": {"beta": 0.2, "average_log_prob": True},
    }

    def fn(h, w, b, kl=None, **options):
        return fused_linear_kto_loss(
            h, w, G["labels"], G["desirable"], kl, bias=b, chunk_size=6, **options
        )

    _check_cases(cases, fn)


def test_grpo_against_liger():
    ref = dict(
        zip(("ref_hidden", "ref_weight", "ref_bias"), _f32("ref_hidden", "ref_weight", "ref_bias"))
    )
    cases = {
        # Liger's defaults: beta=0.04 with a reference model, dapo, epsilon 0.2.
        "grpo_default": {"beta": 0.04, **ref},
        "grpo_sequence": {
            "loss_type": "grpo",
            "beta": 0.1,
            "epsilon": 0.1,
            "epsilon_high": 0.3,
            "importance_sampling_level": "sequence",
            "temperature": 0.7,
            "use_bias_correction_kl": True,
            "ref_logprobs": G["grpo_sequence/ref_logprobs"].astype(np.float32),
        },
        "grpo_bnpo_delta": {
            "loss_type": "bnpo",
            "delta": 1.2,
            "importance_weights": G["grpo/is_ratio"].astype(np.float32),
            "vocab_chunk_size": 4,
        },
        "grpo_cispo": {"loss_type": "cispo", "epsilon_high": 1.1, "normalizer": 23.0},
        "grpo_dr_grpo": {"loss_type": "dr_grpo", "max_completion_length": 8, "beta": 0.04, **ref},
        "grpo_sapo": {"loss_type": "sapo"},
    }
    cases = {
        k: {**o, "old_logprobs": G[f"{k}/old_logprobs"].astype(np.float32)}
        for k, o in cases.items()
    }

    def fn(h, w, b, **options):
        return fused_linear_grpo_loss(
            h,
            w,
            G["grpo/ids"],
            G["grpo/mask"],
            G["grpo/advantages"].astype(np.float32),
            bias=b,
            chunk_size=6,
            **options,
        )

    _check_cases(cases, fn)


def test_distillation_against_liger():
    """Liger's JSD (its beta = 0 / 1 endpoints are the forward / reverse KL) and cosine losses.

    The hyper-parameters are traced: the three JSD cases on the same shapes share one compiled
    function."""
    th, tw, tb = _f32("teacher_hidden", "teacher_weight", "teacher_bias")  # V_t = 13 > V = 11
    hyper = ("beta", "temperature", "hard_weight", "soft_weight")
    # case: (divergence, (beta, temperature, hard_weight, soft_weight))
    cases = {
        "distill_jsd": ("jsd", (0.5, 1.0, 0.5, 0.5)),
        "distill_forward_kl": ("jsd", (0.0, 1.5, 0.5, 0.5)),
        "distill_reverse_kl": ("jsd", (1.0, 1.0, 0.0, 0.5)),
        "distill_jsd_options": ("jsd", (0.3, 2.0, 0.3, 0.7)),
        "distill_cosine": ("cosine", (0.5, 1.0, 0.5, 0.5)),
    }

    @functools.partial(jax.jit, static_argnums=0)
    def run(divergence, h, w, b, values):
        def fn(h, w, b):  # chunks of 6 of the 20 tokens; the student is padded to V_t
            return fused_linear_distillation_loss(
                h,
                w,
                th,
                tw,
                G["labels"],
                student_bias=b,
                teacher_bias=tb,
                divergence=divergence,
                chunk_size=6,
                **dict(zip(hyper, values)),
            )

        return jax.value_and_grad(fn, (0, 1, 2))(h, w, b)

    for case, (divergence, values) in cases.items():
        value, grads = run(divergence, *_f32(*PARAMS), np.array(values, np.float32))
        np.testing.assert_allclose(value, G[f"{case}/loss"], **TOL, err_msg=case)
        for name, g in zip(PARAMS, grads):
            np.testing.assert_allclose(g, G[f"{case}/{name}"], **TOL, err_msg=f"{case} {name}")


# --------------------------------------------------------------------------- fused == unfused


def _logits(h, w, b):
    return h @ w + b[None, None, :]


def _token_logps(z, y):
    valid = y != -100
    lp = jnp.take_along_axis(jax.nn.log_softmax(z, -1), jnp.where(valid, y, 0)[..., None], -1)[
        ..., 0
    ]
    return jnp.where(valid, lp, 0.0), valid


def _compare(fused, unfused, *xs):
    """Value and gradients w.r.t. every argument (the traced hyper-parameters included)."""
    argnums = tuple(range(len(xs)))
    got, want = jax.jit(
        lambda *xs: (
            jax.value_and_grad(fused, argnums)(*xs),
            jax.value_and_grad(unfused, argnums)(*xs),
        )
    )(*xs)
    for x, r in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(x, r, rtol=1e-5, atol=1e-6)


def test_kto_fused_equals_unfused_with_given_reference_and_masks():
    h, w, b = _f32(*PARAMS)
    y, d = G["labels"], G["desirable"]
    ref = np.array([-20.0, -15.0, -18.0, -9.0], np.float32)
    kw = {
        "weights": np.array([0.5, 2.0, 1.0, 1.5], np.float32),
        "where": np.array([True, True, False, True]),
    }
    options = {"beta": 0.3, "desirable_weight": 1.5, "undesirable_weight": 0.7, **kw}

    def fused(h, w, b):
        return fused_linear_kto_loss(
            h, w, y, d, 0.2, bias=b, ref_logps=ref, chunk_size=7, vocab_chunk_size=5, **options
        )

    def unfused(h, w, b):
        lp, _ = _token_logps(_logits(h, w, b), y)
        return jaxloss.kto_loss(jnp.sum(lp, -1), ref, d, 0.2, **options)

    _compare(fused, unfused, h, w, b)


def test_grpo_fused_equals_unfused_with_ignored_labels_and_token_advantages():
    h, w, b = _f32(*PARAMS)
    ref_h, ref_w = _f32("ref_hidden", "ref_weight")
    y, mask = G["labels"], G["grpo/mask"] != 0  # -100 labels leave the mask too
    adv = G["grpo/noise"].astype(np.float32)  # per-token advantages
    old = G["grpo_default/old_logprobs"].astype(np.float32)
    where = np.ones(y.shape, bool)
    where[0, 2] = False
    options = {
        "beta": 0.2,
        "loss_type": "grpo",
        "kl_estimator": "k2",
        "where": where,
        "return_aux": True,
    }

    def fused(h, w, b):
        loss, aux = fused_linear_grpo_loss(
            h,
            w,
            y,
            mask,
            adv,
            bias=b,
            old_logprobs=old,
            ref_hidden=ref_h,
            ref_weight=ref_w,
            temperature=1.3,
            chunk_size=7,
            **options,
        )
        return loss + aux["kl"]

    def unfused(h, w, b):
        lp, valid = _token_logps(_logits(h, w, b) / 1.3, y)
        ref, _ = _token_logps(jax.lax.stop_gradient(ref_h @ ref_w) / 1.3, y)
        loss, aux = jaxloss.grpo_loss(lp, old, adv, mask & valid, ref_logprobs=ref, **options)
        return loss + aux["kl"]

    _compare(fused, unfused, h, w, b)


def test_distillation_fused_equals_unfused():
    h, w, b = _f32(*PARAMS)
    th, tw = _f32("teacher_hidden", "teacher_weight")
    tw = tw[:, : w.shape[1]]  # the same vocabulary (the padded one is checked against Liger)
    y = G["labels"]
    weights = np.linspace(0.5, 2.0, y.size, dtype=np.float32).reshape(y.shape)
    unfused_terms = {
        "tvd": lambda s, t, a: jaxloss.tvd_loss(s, t, temperature=1.7, reduction="none"),
        "skew_reverse_kl": lambda s, t, a: jaxloss.skew_kl_loss(
            s, t, alpha=a, reverse=True, temperature=1.7, reduction="none"
        ),
    }

    def fused(h, w, b, alpha):  # alpha traced
        return sum(
            fused_linear_distillation_loss(
                h,
                w,
                th,
                tw,
                y,
                student_bias=b,
                divergence=d,
                alpha=alpha,
                temperature=1.7,
                hard_weight=0.4,
                chunk_size=7,
                weights=weights,
            )
            for d in unfused_terms
        )

    def unfused(h, w, b, alpha):
        s = _logits(h, w, b)
        lp, valid = _token_logps(s, y)
        t = jax.lax.stop_gradient(th @ tw)
        total = 0.0
        for terms in unfused_terms.values():
            ell = 0.4 * -lp + 0.5 * terms(s, t, alpha)
            total += jnp.sum(jnp.where(valid, weights * ell, 0)) / jnp.sum(
                jnp.where(valid, weights, 0)
            )
        return total

    _compare(fused, unfused, h, w, b, np.float32(0.3))

    # forward_kl / reverse_kl are kd_loss without T^2 (values only: the gradients are autodiff's).
    def kl_terms(divergence):
        return fused_linear_distillation_loss(
            h,
            w,
            th,
            tw,
            np.maximum(y, 0),
            divergence=divergence,
            temperature=1.7,
            soft_weight=1.0,
            hard_weight=0.0,
            ignore_index=None,
            reduction="none",
        )

    s, t = h @ w, th @ tw
    got = jax.jit(lambda: (kl_terms("forward_kl"), kl_terms("reverse_kl")))()
    for fused_terms, reverse in zip(got, (False, True)):
        np.testing.assert_allclose(
            fused_terms,
            jaxloss.kd_loss(
                s, t, temperature=1.7, temperature_squared=False, reverse=reverse, reduction="none"
            ),
            rtol=1e-5,
            atol=1e-6,
        )


# --------------------------------------------------------------------------- memory


def _largest_intermediate(jaxpr) -> int:
    """The largest number of elements of any value in ``jaxpr`` and its sub-jaxprs."""
    largest = 0
    for eqn in jaxpr.eqns:
        for v in (*eqn.invars, *eqn.outvars):
            shape = getattr(v.aval, "shape", ())
            largest = max(largest, int(np.prod(shape)) if shape else 1)
        for p in eqn.params.values():
            for sub in p if isinstance(p, (tuple, list)) else (p,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    largest = max(largest, _largest_intermediate(inner))
    return largest


def test_no_tokens_by_vocab_intermediate_in_value_or_gradient():
    n_b, n_t, dim, vocab, chunk = 4, 32, 8, 512, 16
    n = n_b * n_t
    h = jax.ShapeDtypeStruct((n_b, n_t, dim), jnp.float32)
    w = jax.ShapeDtypeStruct((dim, vocab), jnp.float32)
    y = jnp.zeros((n_b, n_t), jnp.int32)
    mask = jnp.ones((n_b, n_t), bool)
    adv = jnp.ones((n_b,), jnp.float32)
    losses = {
        "kto": lambda h, w: fused_linear_kto_loss(
            h, w, y, jnp.ones(n_b, bool), ref_hidden=h, ref_weight=w, chunk_size=chunk
        ),
        "grpo": lambda h, w: fused_linear_grpo_loss(
            h, w, y, mask, adv, ref_hidden=h, ref_weight=w, beta=0.1, chunk_size=chunk
        ),
        "distillation": lambda h, w: fused_linear_distillation_loss(
            h, w, h, w, y, chunk_size=chunk
        ),
    }
    for name, f in losses.items():
        jaxpr = jax.make_jaxpr(jax.value_and_grad(f, (0, 1)))(h, w).jaxpr
        largest = _largest_intermediate(jaxpr)
        # One chunk of logits is chunk * V; the [tokens, V] logits would be n * V.
        assert largest <= chunk * vocab, (
            f"{name}: an intermediate of {largest} elements (n*V = {n * vocab})"
        )


# --------------------------------------------------------------------------- edges and errors


def test_all_tokens_ignored_gives_zero_with_zero_gradients():
    h, w = _f32("hidden", "weight")
    th, tw = _f32("teacher_hidden", "teacher_weight")
    y = np.full(G["labels"].shape, -100)
    mask = np.ones(y.shape, bool)

    def losses(h, w):
        return (
            fused_linear_distillation_loss(h, w, th, tw, y, chunk_size=7),
            fused_linear_grpo_loss(h, w, y, mask, np.ones(4, np.float32), chunk_size=7),
        )

    values, grads = jax.jit(
        lambda h, w: (losses(h, w), jax.grad(lambda h, w: sum(losses(h, w)), (0, 1))(h, w))
    )(h, w)
    np.testing.assert_array_equal(values, 0.0)
    for g in grads:
        np.testing.assert_array_equal(g, 0.0)


def test_bad_arguments_raise_clear_errors():
    h, w, y = G["hidden"], G["weight"], G["labels"]
    th, tw = G["teacher_hidden"], G["teacher_weight"]
    with pytest.raises(ValueError, match="fused_linear_kto_loss: give the reference"):
        fused_linear_kto_loss(h, w, y, G["desirable"], ref_hidden=h)
    with pytest.raises(ValueError, match="fused_linear_grpo_loss: give the reference"):
        fused_linear_grpo_loss(
            h, w, y, y != -100, np.ones(4), ref_logprobs=h[..., 0], ref_hidden=h, ref_weight=w
        )
    with pytest.raises(ValueError, match="fused_linear_distillation_loss: teacher_weight"):
        fused_linear_distillation_loss(h, w, th, tw[:, :5], y)
    with pytest.raises(ValueError, match="fused_linear_distillation_loss: divergence"):
        fused_linear_distillation_loss(h, w, th, tw, y, divergence="kl")  # type: ignore[arg-type]
