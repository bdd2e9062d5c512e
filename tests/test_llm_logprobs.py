"""fused_linear_logprobs against TRL goldens (selective_log_softmax, entropy_from_logits) and the unfused computation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

from jaxloss.llm import fused_linear_logprobs

G = load("llm_fused")
TOL64 = {"rtol": 1e-9, "atol": 1e-11}
TOL32 = {"rtol": 2e-5, "atol": 2e-5}
T = 0.7


def _with_grads(fn, *arrays):
    """``fn`` (returning ``(lp, ent)``) and the gradients of ``sum(a * lp + c * ent)``, in one jitted call."""
    a, c = jnp.asarray(G["a"]), jnp.asarray(G["c"])

    def scalar(*x):
        lp, ent = fn(*x)
        return jnp.sum(a * lp.reshape(-1)) + jnp.sum(c * ent.reshape(-1)), (lp, ent)

    return jax.jit(jax.value_and_grad(scalar, argnums=tuple(range(len(arrays))), has_aux=True))(
        *arrays
    )


def _unfused(h, w, y, b=None, t=1.0, ignore_index=-100):
    """Full logits, log_softmax and gather (a distinct code path)."""
    z = (h @ w if b is None else h @ w + b) / t
    logp = jax.nn.log_softmax(z, axis=-1)
    valid = y != ignore_index
    lp = jnp.take_along_axis(logp, jnp.where(valid, y, 0)[..., None], axis=-1)[..., 0]
    ent = -jnp.sum(jnp.exp(logp) * logp, axis=-1)
    return jnp.where(valid, lp, 0.0), jnp.where(valid, ent, 0.0)


# --------------------------------------------------------------------------- TRL goldens


@pytest.mark.parametrize(("chunk_size", "vocab_chunk_size"), [(None, None), (5, 4)])
def test_against_trl(chunk_size, vocab_chunk_size, x64):
    def fn(h, w, b, t):
        return fused_linear_logprobs(
            h,
            w,
            G["labels"],
            bias=b,
            temperature=t,
            chunk_size=chunk_size,
            vocab_chunk_size=vocab_chunk_size,
            return_entropy=True,
        )

    (_, (lp, ent)), grads = _with_grads(fn, G["hidden"], G["weight"], G["bias"], T)
    np.testing.assert_allclose(lp, G["logprobs/logprobs"], **TOL64)
    np.testing.assert_allclose(ent, G["logprobs/entropy"], **TOL64)
    for name, g in zip(("hidden", "weight", "bias", "temperature"), grads):
        np.testing.assert_allclose(g, G[f"logprobs/grad_{name}"], **TOL64, err_msg=name)


def test_logprobs_only_against_trl(x64):
    a = jnp.asarray(G["a"])

    def fn(h, w):
        return jnp.sum(
            a
            * fused_linear_logprobs(
                h, w, G["labels"], bias=G["bias"], temperature=T, chunk_size=4, vocab_chunk_size=3
            )
        )

    gh, gw = jax.jit(jax.grad(fn, argnums=(0, 1)))(G["hidden"], G["weight"])
    np.testing.assert_allclose(gh, G["logprobs/lp_only/grad_hidden"], **TOL64)
    np.testing.assert_allclose(gw, G["logprobs/lp_only/grad_weight"], **TOL64)


def test_bfloat16_inputs_against_trl():
    h, w, b = (jnp.asarray(G[f"bf16/{k}"], jnp.bfloat16) for k in ("hidden", "weight", "bias"))

    def fn(h, w, b):
        return fused_linear_logprobs(
            h,
            w,
            G["labels"],
            bias=b,
            temperature=T,
            chunk_size=5,
            vocab_chunk_size=4,
            return_entropy=True,
        )

    (_, (lp, ent)), grads = _with_grads(fn, h, w, b)
    assert lp.dtype == ent.dtype == jnp.float32
    assert all(g.dtype == jnp.bfloat16 for g in grads)
    np.testing.assert_allclose(lp, G["bf16/logprobs"], **TOL32)
    np.testing.assert_allclose(ent, G["bf16/entropy"], **TOL32)
    for name, g in zip(("hidden", "weight", "bias"), grads):
        np.testing.assert_allclose(
            np.asarray(g, np.float32), G[f"bf16/grad_{name}"], rtol=1e-2, atol=1e-2, err_msg=name
        )


# --------------------------------------------------------------------------- fused == unfused


def test_fused_equals_unfused_with_batch_axes():
    rng = np.random.default_rng(0)
    h = rng.standard_normal((3, 9, 16)).astype(np.float32)
    w = (rng.standard_normal((16, 50)) / 2).astype(np.float32)
    y = rng.integers(0, 50, (3, 9)).astype(np.int32)
    y[0, -3:] = -100
    a, c = rng.standard_normal((2, 3, 9)).astype(np.float32)

    def both(fn):
        def scalar(h, w, t):
            lp, ent = fn(h, w, t)
            return jnp.sum(a * lp) + jnp.sum(c * ent), (lp, ent)

        return jax.value_and_grad(scalar, argnums=(0, 1, 2), has_aux=True)

    fused = both(
        lambda h, w, t: fused_linear_logprobs(
            h, w, y, temperature=t, chunk_size=8, vocab_chunk_size=16, return_entropy=True
        )
    )
    ref = both(lambda h, w, t: _unfused(h, w, y, t=t))
    ((_, got), got_g), ((_, want), want_g) = jax.jit(
        lambda h, w: (fused(h, w, 1.3), ref(h, w, 1.3))
    )(h, w)
    assert got[0].shape == (3, 9)
    for x, r in zip((*got, *got_g), (*want, *want_g)):
        np.testing.assert_allclose(x, r, **TOL32)


def test_all_ignored_is_zero_with_zero_gradients():
    rng = np.random.default_rng(1)
    h, w = (
        rng.standard_normal((6, 4)).astype(np.float32),
        rng.standard_normal((4, 7)).astype(np.float32),
    )
    h[2] = np.nan  # an ignored token's hidden state reaches nothing
    y = np.full(6, -100, np.int32)

    def fn(h, w, b):
        lp, ent = fused_linear_logprobs(
            h, w, y, bias=b, chunk_size=4, vocab_chunk_size=3, return_entropy=True
        )
        return jnp.sum(lp) + jnp.sum(ent), (lp, ent)

    (value, (lp, ent)), grads = jax.jit(jax.value_and_grad(fn, argnums=(0, 1, 2), has_aux=True))(
        h, w, np.ones(7)
    )
    assert float(value) == 0.0
    np.testing.assert_array_equal(lp, 0.0)
    np.testing.assert_array_equal(ent, 0.0)
    for g in grads:
        np.testing.assert_array_equal(g, 0.0)


def test_ignore_index_none_and_out_of_range_labels():
    rng = np.random.default_rng(2)
    h, w = (
        rng.standard_normal((5, 4)).astype(np.float32),
        rng.standard_normal((4, 7)).astype(np.float32),
    )
    y = np.array([0, 3, 6, 2, 1], np.int32)
    got = jax.jit(
        lambda h, w: fused_linear_logprobs(h, w, y, ignore_index=None, vocab_chunk_size=2)
    )(h, w)
    np.testing.assert_allclose(got, _unfused(h, w, y, ignore_index=None)[0], **TOL32)
    y[1] = 7
    with pytest.raises(ValueError, match=r"fused_linear_logprobs: labels must lie in \[0, 7\)"):
        fused_linear_logprobs(h, w, y)
    out = jax.jit(lambda h, w, y: fused_linear_logprobs(h, w, y))(h, w, y)
    assert np.isnan(out[1]) and np.all(np.isfinite(np.delete(np.asarray(out), 1)))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"chunk_size": 0}, "chunk_size must be a positive int"),
        ({"vocab_chunk_size": -2}, "vocab_chunk_size must be a positive int"),
        ({"temperature": 0.0}, "temperature"),
    ],
)
def test_option_errors(kwargs, match):
    h, w, y = np.zeros((4, 3), np.float32), np.zeros((3, 5), np.float32), np.zeros(4, np.int32)
    with pytest.raises(ValueError, match=match):
        fused_linear_logprobs(h, w, y, **kwargs)


def test_shape_error_names_the_function():
    with pytest.raises(ValueError, match=r"fused_linear_logprobs: .*weight.shape\[0\] = 5"):
        fused_linear_logprobs(
            np.zeros((6, 4), np.float32), np.zeros((5, 7), np.float32), np.zeros(6, np.int32)
        )


def test_temporary_memory_with_vocab_chunks():
    n, d, v = 1024, 32, 8192
    specs = (
        jax.ShapeDtypeStruct((n, d), jnp.float32),
        jax.ShapeDtypeStruct((d, v), jnp.float32),
        jax.ShapeDtypeStruct((n,), jnp.int32),
    )

    def step(h, w, y):
        lp, ent = fused_linear_logprobs(
            h, w, y, chunk_size=128, vocab_chunk_size=1024, return_entropy=True
        )
        return jnp.sum(lp) + jnp.sum(ent)

    temp = (
        jax.jit(jax.grad(step, argnums=(0, 1)))
        .lower(*specs)
        .compile()
        .memory_analysis()
        .temp_size_in_bytes
    )
    assert temp < n * v * 4 / 8, (
        f"temp {temp / 2**20:.1f} MiB vs logits {n * v * 4 / 2**20:.0f} MiB"
    )
