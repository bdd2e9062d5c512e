"""Preference losses (DPO and TRL's variants, SimPO, ORPO, CPO, KTO, BCO) against the
goldens of Liger-Kernel 0.8.5's ``preference_loss_fn`` and of TRL's branches (1.16; BCO from
trl 1.13), values and gradients w.r.t. the policy log-probabilities at float32 tolerance;
and the edge cases: ORPO at a log-probability of 0, masked pairs of the sorted AOT losses,
BCO's state under masks and across devices, the errors for bad inputs."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("llm_preference")
F32 = {"rtol": 2e-4, "atol": 2e-5}

# golden name -> dpo_loss options (gen_llm_preference.LIGER_DPO and TRL_DPO)
DPO = {
    "sigmoid": {},
    "sigmoid_b05": {"beta": 0.5},
    "hinge": {"loss_type": "hinge"},
    "exo_pair": {"loss_type": "exo_pair", "label_smoothing": 1e-3},
    "nca_pair": {"loss_type": "nca_pair"},
    "robust": {"loss_type": "robust", "label_smoothing": 0.2},
    "bco_pair": {"loss_type": "bco_pair"},
    "sppo_hard": {"loss_type": "sppo_hard"},
    "apo_zero": {"loss_type": "apo_zero"},
    "apo_down": {"loss_type": "apo_down"},
    "discopop": {"loss_type": "discopop"},
    "discopop_t2": {"loss_type": "discopop", "discopop_tau": 2.0, "beta": 0.3},
    "cdpo": {"label_smoothing": 0.1},
    "ipo": {"loss_type": "ipo"},
    "ipo_len": {"loss_type": "ipo", "lengths": True},
    "sigmoid_norm": {"loss_type": "sigmoid_norm", "beta": 0.5, "lengths": True},
    "aot": {"loss_type": "aot"},
    "aot_ls": {"loss_type": "aot", "label_smoothing": 0.1},
    "aot_unpaired": {"loss_type": "aot_unpaired", "label_smoothing": 0.05},
    "forward_kl": {"f_divergence": "forward_kl"},
    "js": {"f_divergence": "js_divergence"},
    "alpha05": {"f_divergence": "alpha_divergence", "f_alpha": 0.5},
    "alpha5_hinge": {"loss_type": "hinge", "f_divergence": "alpha_divergence", "f_alpha": 5.0},
    "alpha1": {"f_divergence": "alpha_divergence", "f_alpha": 1.0},
}


def _f32(*keys):
    return tuple(jnp.asarray(G[k], jnp.float32) for k in keys)


def _check(out, key, n_grads):
    value, grads, terms = out
    np.testing.assert_allclose(value, G[key], **F32, err_msg=key)
    for i in range(n_grads):
        np.testing.assert_allclose(grads[i], G[f"{key}/g{i}"], **F32, err_msg=f"{key} g{i}")
    np.testing.assert_allclose(terms, G[f"{key}/none"], **F32, err_msg=f"{key} none")


def _value_grads_terms(fn, policy, **kw):
    """(mean, its gradients w.r.t. the policy arguments, the "none" terms), from one trace of
    the "none" terms (``"mean"`` is their plain mean: test_contract checks that relation)."""
    terms, pullback = jax.vjp(lambda *p: fn(*p, reduction="none", **kw), *policy)
    return jnp.mean(terms), pullback(jnp.full_like(terms, 1 / terms.size)), terms


@jax.jit
def _all_dpo(pc, pr, rc, rr, lc, lr):
    out = {}
    for name, options in DPO.items():
        options = dict(options)
        if options.pop("lengths", False):
            options.update(chosen_lengths=lc, rejected_lengths=lr)

        def fn(c, r, options=options, **kw):
            return jaxloss.dpo_loss(c, r, rc, rr, **options, **kw)

        out[name] = _value_grads_terms(fn, (pc, pr))
    return out


def test_dpo_against_liger_and_trl():
    out = _all_dpo(*_f32("dpo/pc", "dpo/pr", "dpo/rc", "dpo/rr", "dpo/lc", "dpo/lr"))
    for name in DPO:
        _check(out[name], f"dpo/{name}", 2)


def test_dpo_aux_rewards_follow_liger():
    pc, pr, rc, rr = _f32("dpo/pc", "dpo/pr", "dpo/rc", "dpo/rr")

    @jax.jit
    def run(pc):
        def margins(c):
            return jaxloss.dpo_loss(c, pr, rc, rr, return_aux=True)[1]["margins"].sum()

        return jaxloss.dpo_loss(pc, pr, rc, rr, return_aux=True), jax.grad(margins)(pc)

    (loss, aux), grad = run(pc)
    np.testing.assert_allclose(loss, G["dpo/sigmoid"], **F32)
    np.testing.assert_allclose(aux["chosen_rewards"], G["dpo/sigmoid/chosen_rewards"], **F32)
    np.testing.assert_allclose(aux["rejected_rewards"], G["dpo/sigmoid/rejected_rewards"], **F32)
    margins = G["dpo/sigmoid/chosen_rewards"] - G["dpo/sigmoid/rejected_rewards"]
    np.testing.assert_allclose(aux["margins"], margins, **F32)
    np.testing.assert_array_equal(aux["accuracies"], (margins > 0).astype(np.float32))
    np.testing.assert_array_equal(grad, 0.0)  # the metrics carry no gradient


def test_dpo_aot_where_leaves_masked_pairs_out_of_the_sort():
    pc, pr, rc, rr = _f32("dpo/pc", "dpo/pr", "dpo/rc", "dpo/rr")
    keep = np.array([True, False, True, True, False, True])
    nan = jnp.where(jnp.asarray(keep), pc, jnp.nan)  # masked entries may hold anything

    @jax.jit
    def run(pc):
        out = {}
        for t in ("aot", "aot_unpaired"):

            def f(c, t=t):
                return jaxloss.dpo_loss(c, pr, rc, rr, loss_type=t, where=keep)

            def sub(c, t=t):
                return jaxloss.dpo_loss(c[keep], pr[keep], rc[keep], rr[keep], loss_type=t)

            out[t] = (jax.value_and_grad(f)(pc), jax.value_and_grad(sub)(pc), f(nan))
        return out

    for (v, g), (v_sub, g_sub), v_nan in run(pc).values():
        np.testing.assert_allclose(v, v_sub, rtol=1e-6)
        np.testing.assert_allclose(g, g_sub, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(v_nan, v_sub, rtol=1e-6)


@jax.jit
def _all_pairs(c, r):
    options = {
        "simpo": (jaxloss.simpo_loss, {}),
        "simpo_b2": (jaxloss.simpo_loss, {"beta": 2.0, "gamma": 1.0, "label_smoothing": 0.1}),
        "cpo": (jaxloss.cpo_loss, {}),
        "cpo_ls": (jaxloss.cpo_loss, {"beta": 0.5, "label_smoothing": 0.1}),
        "cpo_hinge": (jaxloss.cpo_loss, {"loss_type": "hinge"}),
        "cpo_ipo": (jaxloss.cpo_loss, {"loss_type": "ipo"}),
        "orpo": (jaxloss.orpo_loss, {}),
        "orpo_b05": (jaxloss.orpo_loss, {"beta": 0.5}),
    }
    return {name: _value_grads_terms(fn, (c, r), **kw) for name, (fn, kw) in options.items()}


def test_simpo_cpo_orpo_against_liger_and_trl():
    out = _all_pairs(*_f32("pair/c", "pair/r"))
    for name, result in out.items():
        _check(result, f"pair/{name}", 2)


def test_orpo_near_and_at_zero_log_probability():
    c, r = _f32("orpo0/c", "orpo0/r")
    orpo = jax.jit(jax.value_and_grad(jaxloss.orpo_loss, argnums=(0, 1)))
    value, grads = orpo(c, r)
    np.testing.assert_allclose(value, G["orpo0"], **F32)
    for i in range(2):
        np.testing.assert_allclose(grads[i], G[f"orpo0/g{i}"], rtol=2e-3, atol=2e-5)
    # Exactly 0: the odds are infinite, the term is 0 and its gradient the one-sided limit
    # -beta / expm1(-r) (from log(1 + expm1(-c) / expm1(-r))), divided by the batch size.
    r = np.array([-0.3, -2.0, -0.7, -1.5], np.float32)
    value, grads = orpo(jnp.zeros(4), r)
    assert float(value) == 0.0
    np.testing.assert_allclose(grads[0], -0.1 / np.expm1(-r.astype(np.float64)) / 4, rtol=1e-5)
    np.testing.assert_allclose(grads[1], 0.0, atol=1e-6)
    # A rejected log-probability of 0: infinite odds on the wrong side, an infinite loss.
    assert np.isposinf(orpo(r, jnp.zeros(4))[0])


@jax.jit
def _all_kto(p, q, label, kl):
    cases = {
        "liger": {},
        "weighted": {"desirable_weight": 1.5, "undesirable_weight": 0.7},
        "apo": {"loss_type": "apo_zero_unpaired", "undesirable_weight": 2.0},
    }
    out = {
        name: _value_grads_terms(lambda x, **k: jaxloss.kto_loss(x, q, label, kl, **k), (p,), **kw)
        for name, kw in cases.items()
    }
    return out, jax.grad(lambda k: jaxloss.kto_loss(p, q, label, k))(kl)


def test_kto_against_liger_and_trl():
    (p, q, kl), label = _f32("kto/p", "kto/q", "kto/kl"), G["kto/label"]
    out, kl_grad = _all_kto(p, q, label, kl)
    for name, result in out.items():
        _check(result, f"kto/{name}", 1)
    assert kl_grad == 0.0  # kl never carries gradient (TRL detaches it)


@jax.jit
def _kl_estimates(a, b):
    split = jax.vmap(functools.partial(jaxloss.kto_kl_estimate, axis_name="d"), axis_name="d")
    nothing = jaxloss.kto_kl_estimate(a, b, where=jnp.zeros(a.shape, bool))
    return jaxloss.kto_kl_estimate(a, b), split(a.reshape(2, 3), b.reshape(2, 3)), nothing


def test_kto_kl_estimate_against_trl_and_across_devices():
    for name in ("kl_pos", "kl_neg"):
        whole, split, nothing = _kl_estimates(*_f32(f"kto/{name}/a", f"kto/{name}/b"))
        np.testing.assert_allclose(whole, G[f"kto/{name}"], **F32)
        np.testing.assert_allclose(split, [G[f"kto/{name}"]] * 2, **F32)
        assert nothing == 0.0  # nothing valid


@jax.jit
def _bco_step(p, q, label, state, where=None):
    def f(x):
        return jaxloss.bco_loss(x, q, label, state, where=where)

    (value, new_state), grad = jax.value_and_grad(f, has_aux=True)(p)
    return (
        value,
        grad,
        jaxloss.bco_loss(p, q, label, state, reduction="none", where=where)[0],
        new_state,
    )


def test_bco_two_steps_against_trl():
    state, label = jaxloss.bco_init(), G["bco/label"]
    for step in range(2):
        p, q = _f32(f"bco/{step}/p", f"bco/{step}/q")
        value, grad, terms, state = _bco_step(p, q, label, state)
        _check((value, (grad,), terms), f"bco/{step}", 1)
        np.testing.assert_allclose(np.array(state), G[f"bco/{step}/state"], **F32)


def test_bco_where_keeps_masked_examples_out_of_the_moments():
    p, q = _f32("bco/0/p", "bco/0/q")
    label, state = G["bco/label"], jaxloss.bco_init()
    keep = np.array([True, True, False, True, False, True])
    value, grad, terms, new = _bco_step(p, q, label, state, keep)
    v_sub, g_sub, t_sub, n_sub = _bco_step(p[keep], q[keep], label[keep], state)
    np.testing.assert_allclose(value, v_sub, rtol=1e-6)
    np.testing.assert_allclose(grad[keep], g_sub, rtol=1e-5, atol=1e-9)
    np.testing.assert_array_equal(grad[~keep], 0.0)
    np.testing.assert_allclose(terms[keep], t_sub, rtol=1e-6)
    np.testing.assert_allclose(np.array(new), np.array(n_sub), rtol=1e-6)
    # All masked: 0 with zero gradients, the state unchanged.
    value, grad, _, new = _bco_step(p, q, label, state, np.zeros(6, bool))
    assert float(value) == 0.0
    np.testing.assert_array_equal(grad, 0.0)
    np.testing.assert_array_equal(np.array(new), np.array(state))
    # Across devices: the moments of the whole batch.
    split = jax.vmap(
        lambda a, b, c: jaxloss.bco_loss(a, b, c, state, axis_name="d", reduction="sum"),
        axis_name="d",
    )
    totals, states = split(p.reshape(2, 3), q.reshape(2, 3), label.reshape(2, 3))
    mean, _, _, whole = _bco_step(p, q, label, state)
    np.testing.assert_allclose(totals.sum(), 6 * mean, rtol=1e-6)
    np.testing.assert_allclose(np.array(states)[:, 0], np.array(whole), rtol=1e-6)


def test_bad_inputs_raise_named_errors():
    c = np.array([-1.0, -2.0, -3.0], np.float32)
    label = np.array([True, False, True])
    cases = [
        (
            lambda: jaxloss.dpo_loss(c, c[:2], c, c),
            "dpo_loss: .*policy_rejected_logps has shape \\(2,\\)",
        ),
        (lambda: jaxloss.simpo_loss(c, -c), "simpo_loss: policy_rejected_logps .*positive entries"),
        (
            lambda: jaxloss.kto_loss(c, c, label, np.zeros(2, np.float32)),
            "kto_loss: kl has shape \\(2,\\)",
        ),
        (lambda: jaxloss.dpo_loss(c, c, c, c, loss_type="exo_pair"), "label_smoothing \\(exo_pair"),
        (lambda: jaxloss.dpo_loss(c, c, c, c, loss_type="robust", label_smoothing=0.5), "robust"),
        (
            lambda: jaxloss.dpo_loss(
                c, c, c, c, loss_type="nca_pair", f_divergence="js_divergence"
            ),
            "f_divergence='js_divergence' is only defined",
        ),
        (
            lambda: jaxloss.dpo_loss(c, c, c, c, loss_type="sigmoid_norm"),
            "pass both chosen_lengths",
        ),
        (lambda: jaxloss.dpo_loss(c, c, c, c, chosen_lengths=c, rejected_lengths=c), "'ipo' and"),
        (
            lambda: jaxloss.dpo_loss(c, c, c, c, loss_type="aot", weights=c),
            "weights= is not defined",
        ),
        (lambda: jaxloss.dpo_loss(c, c, c, c, beta=0.0), "beta must be > 0"),
        (lambda: jaxloss.cpo_loss(c, c, loss_type="simpo"), "use|loss_type must be one of"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()
    with pytest.raises(TypeError, match="bco_loss: desirable must be a boolean"):
        jaxloss.bco_loss(c, c, label.astype(np.int32), jaxloss.bco_init())
    # Under jit the values are not checked (as the library's other value checks).
    assert np.isfinite(jax.jit(jaxloss.simpo_loss)(c, -c))
