"""kd_loss, generalized_jsd_loss, tvd_loss and skew_kl_loss against torch/TRL/DistiLLM goldens
(tests/references/gen_llm_policy.py), on [B, T, V] logits with ignored tokens (labels == -100)."""

from __future__ import annotations

import pathlib

import jax
import numpy as np

import jaxloss

REF = np.load(pathlib.Path(__file__).parent / "references" / "llm_policy.npz")
S, T = REF["distill/student"].astype(np.float32), REF["distill/teacher"].astype(np.float32)
KEEP = REF["distill/labels"] != -100
TOL = {"rtol": 2e-5, "atol": 1e-6}


def _vg(fn):
    """Value and gradients w.r.t. both logits of ``fn(s, t, option)``, compiled once per function."""
    return jax.jit(jax.value_and_grad(fn, argnums=(0, 1)))


def _check(value, grads, key, teacher_grad=True):
    np.testing.assert_allclose(value, REF[f"{key}/value"], err_msg=key, **TOL)
    np.testing.assert_allclose(grads[0], REF[f"{key}/gs"], err_msg=key, **TOL)
    if teacher_grad:
        np.testing.assert_allclose(grads[1], REF[f"{key}/gt"], err_msg=key, **TOL)


def test_kd_loss_matches_torch_kl_div_batchmean():
    f = _vg(lambda s, t, temp: jaxloss.kd_loss(s, t, temperature=temp, where=KEEP))
    r = _vg(lambda s, t, temp: jaxloss.kd_loss(s, t, temperature=temp, reverse=True, where=KEEP))
    _check(*f(S, T, 1.0), "kd/t1")
    _check(*f(S, T, 2.0), "kd/t2")  # the temperature is traced: one compilation
    _check(*r(S, T, 2.0), "kd/t2_reverse")
    plain = jax.jit(
        lambda s, t: jaxloss.kd_loss(s, t, temperature=2.0, temperature_squared=False, where=KEEP)
    )(S, T)
    np.testing.assert_allclose(plain * 4.0, REF["kd/t2/value"], **TOL)


def test_generalized_jsd_matches_trl_gkd_including_the_endpoints():
    f = _vg(
        lambda s, t, beta, temp: jaxloss.generalized_jsd_loss(
            s, t, beta=beta, temperature=temp, where=KEEP
        )
    )
    # A traced beta: the where path.
    for beta, temp in ((0.5, 1.0), (0.1, 2.0), (0.0, 1.0), (1.0, 1.5)):
        _check(*f(S, T, beta, temp), f"gjsd/{beta}_{temp}")
    # Concrete beta takes the Python branches; the same values.
    cases = ((0.0, 1.0), (1.0, 1.5), (0.1, 2.0))
    values = jax.jit(
        lambda s, t: [
            jaxloss.generalized_jsd_loss(s, t, beta=b, temperature=c, where=KEEP) for b, c in cases
        ]
    )(S, T)
    for (beta, temp), value in zip(cases, values):
        np.testing.assert_allclose(value, REF[f"gjsd/{beta}_{temp}/value"], **TOL)


def test_js_divergence_beta_is_gkd_and_default_unchanged():
    p = np.array([np.log(0.5), np.log(0.5), -np.inf], np.float32)
    q = np.log(np.array([0.25, 0.25, 0.5], np.float32))

    @jax.jit
    def run(s, t):
        ls, lt = jax.nn.log_softmax(s), jax.nn.log_softmax(t)
        return (
            jaxloss.js_divergence(ls, lt, beta=0.1),
            jaxloss.generalized_jsd_loss(s, t, beta=0.1),
            jaxloss.js_divergence(ls, lt),
            jaxloss.js_divergence(p, q, beta=0.0),
            jaxloss.js_divergence(p, q, beta=1.0),
            jax.grad(lambda b: jaxloss.js_divergence(p, q, beta=b))(0.3),
        )

    skewed, gjsd, default, at0, at1, grad = run(S[KEEP], T[KEEP])
    np.testing.assert_allclose(skewed, gjsd, rtol=1e-6)
    np.testing.assert_allclose(default, REF["gjsd/0.5_1.0/value"], **TOL)
    # Zero-probability entries at an endpoint: KL(q || p) is infinite where q > 0 = p.
    assert np.isinf(at0)
    np.testing.assert_allclose(at1, np.log(2.0), rtol=1e-6)
    assert np.isfinite(grad)


def test_tvd_loss_matches_the_torch_composition():
    f = _vg(lambda s, t, temp: jaxloss.tvd_loss(s, t, temperature=temp, where=KEEP))
    _check(*f(S, T, 1.0), "tvd/1.0")
    _check(*f(S, T, 2.0), "tvd/2.0")
    probs = jax.jit(
        lambda s, t: jaxloss.tvd_loss(
            jax.nn.softmax(s), jax.nn.softmax(t), from_logits=False, where=KEEP
        )
    )(S, T)
    np.testing.assert_allclose(probs, REF["tvd/1.0/value"], **TOL)


def test_skew_kl_matches_distillm():
    f = _vg(lambda s, t, a: jaxloss.skew_kl_loss(s, t, alpha=a, where=KEEP))
    r = _vg(lambda s, t, a: jaxloss.skew_kl_loss(s, t, alpha=a, reverse=True, where=KEEP))
    entropy = float(REF["skew/teacher_entropy"])
    for lam in (0.1, 0.5):
        # DistiLLM's skewed_forward_kl is the cross-entropy: the KL plus the teacher entropy, whose
        # gradient w.r.t. the teacher differs; the student gradient is the same.
        value, grads = f(S, T, lam)
        key = f"skew/forward/{lam}"
        np.testing.assert_allclose(float(value) + entropy, REF[f"{key}/value"], **TOL)
        np.testing.assert_allclose(grads[0], REF[f"{key}/gs"], **TOL)
        _check(*r(S, T, lam), f"skew/reverse/{lam}")
    # alpha = 0 is the plain KL(teacher || student) (kd_loss at T = 1); alpha = 1 gives 0.
    v0, _ = f(S, T, 0.0)
    np.testing.assert_allclose(v0, REF["kd/t1/value"], **TOL)
    v1, g1 = f(S, T, 1.0)
    assert float(v1) == 0.0 and np.all(np.asarray(g1[0]) == 0.0)


def test_all_masked_rows_give_zero_with_zero_gradients_and_no_nan_leak():
    s = S.copy()
    s[~KEEP] = np.nan  # ignored positions may hold anything
    none = np.zeros_like(KEEP)

    @jax.jit
    def run(s, t):
        losses = (
            jaxloss.kd_loss,
            jaxloss.generalized_jsd_loss,
            jaxloss.tvd_loss,
            jaxloss.skew_kl_loss,
        )
        masked = [jax.value_and_grad(lambda s, fn=fn: fn(s, t, where=KEEP))(s) for fn in losses]
        empty = [jax.value_and_grad(lambda s, fn=fn: fn(s, t, where=none))(s) for fn in losses]
        return masked, empty

    masked, empty = run(s, T)
    for value, grad in masked:
        assert np.isfinite(value) and np.all(np.isfinite(grad))
        assert np.all(np.asarray(grad)[~KEEP] == 0.0)
    for value, grad in empty:
        assert float(value) == 0.0 and np.all(np.asarray(grad) == 0.0)
