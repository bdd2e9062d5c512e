"""fused_linear_cross_entropy against PyTorch goldens, optax, and the unfused computation."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from references import load

import jaxloss
from jaxloss.fused import default_chunk_size

G = load("fused")
TOL64 = {"rtol": 1e-10, "atol": 1e-12}
TOL32 = {"rtol": 2e-5, "atol": 2e-6}
CASES = {"plain": (False, 0.0, 0.0), "smooth_bias": (True, 0.15, 0.0), "zloss": (True, 0.1, 0.02)}
flce = jaxloss.fused_linear_cross_entropy


@functools.cache
def _jitted_value_and_grads(fn):
    # One jitted function per ``fn``: calls with the same ``fn`` and shapes share one compile.
    def both(*a):
        value, vjp = jax.vjp(fn, *a)
        return value, vjp(jnp.ones_like(value))

    return jax.jit(both)


def _value_and_grads(fn, *arrays):
    """``fn`` and the gradients of ``sum(fn)`` w.r.t. every array argument (one jitted call)."""
    return _jitted_value_and_grads(fn)(*arrays)


def _unfused(h, w, y, *, bias=None, label_smoothing=0.0, z_loss=0.0, ignore_index=-100, reduction="mean"):
    """The unfused computation in plain jnp (a distinct code path: full logits, log_softmax)."""
    z = h @ w if bias is None else h @ w + bias[None, :]
    logp = jax.nn.log_softmax(z, axis=-1)
    valid = y != ignore_index
    nll = -jnp.take_along_axis(logp, jnp.where(valid, y, 0)[:, None], axis=-1)[:, 0]
    per_token = ((1 - label_smoothing) * nll - label_smoothing * jnp.mean(logp, axis=-1)
                 + z_loss * jnp.square(jax.nn.logsumexp(z, axis=-1)))
    per_token = jnp.where(valid, per_token, 0.0)
    if reduction == "none":
        return per_token
    total = jnp.sum(per_token)
    return total if reduction == "sum" else total / jnp.sum(valid).astype(total.dtype)


def _random(rng, n=50, d=16, v=37, ignored=(3, 11, 40)):
    h = rng.standard_normal((n, d)).astype(np.float32)
    w = (rng.standard_normal((d, v)) / 2).astype(np.float32)
    b = rng.standard_normal(v).astype(np.float32)
    y = rng.integers(0, v, n).astype(np.int32)
    y[[i for i in ignored if i < n]] = -100
    return h, w, b, y


# --------------------------------------------------------------------------- PyTorch goldens


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("chunk_size", [3, None])
def test_against_torch(case, reduction, chunk_size, x64):
    with_bias, smoothing, z = CASES[case]
    key = f"{case}/{reduction}"

    def fn(h, w, *b):
        return flce(h, w, G["labels"], bias=b[0] if b else None, chunk_size=chunk_size,
                    label_smoothing=smoothing, z_loss=z, reduction=reduction)

    arrays = (G["hidden"], G["weight"], *((G["bias"],) if with_bias else ()))
    value, grads = _value_and_grads(fn, *arrays)
    np.testing.assert_allclose(value, G[key], **TOL64)
    for name, g in zip(("hidden", "weight", "bias"), grads):
        np.testing.assert_allclose(g, G[f"{key}/grad_{name}"], **TOL64, err_msg=name)


def test_leading_batch_axes_against_torch(x64):
    h = G["hidden"].reshape((2, 5, -1))
    y = G["labels"].reshape((2, 5))
    fn = lambda h, w, b: flce(h, w, y, bias=b, chunk_size=4, label_smoothing=0.15, reduction="none")  # noqa: E731
    value, (gh, gw, gb) = _value_and_grads(fn, h, G["weight"], G["bias"])
    assert value.shape == (2, 5)
    np.testing.assert_allclose(value.reshape(-1), G["smooth_bias/none"], **TOL64)
    np.testing.assert_allclose(gh.reshape((10, -1)), G["smooth_bias/none/grad_hidden"], **TOL64)
    np.testing.assert_allclose(gw, G["smooth_bias/none/grad_weight"], **TOL64)
    np.testing.assert_allclose(gb, G["smooth_bias/none/grad_bias"], **TOL64)
    mean = jax.jit(lambda h, w, b: flce(h, w, y, bias=b, label_smoothing=0.15))(h, G["weight"], G["bias"])
    np.testing.assert_allclose(mean, G["smooth_bias/mean"], **TOL64)


# --------------------------------------------------------------------------- optax / unfused


@pytest.mark.parametrize("chunk_size", [7, 16, 64, None])
def test_against_optax(chunk_size):
    h, w, _, y = _random(np.random.default_rng(0), ignored=())
    value, grads = _value_and_grads(lambda h, w: flce(h, w, y, chunk_size=chunk_size), h, w)
    ref = lambda h, w: jnp.mean(optax.losses.softmax_cross_entropy_with_integer_labels(h @ w, y))  # noqa: E731
    ref_value, ref_grads = _value_and_grads(ref, h, w)
    np.testing.assert_allclose(value, ref_value, **TOL32)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, **TOL32)


def test_label_smoothing_against_optax():
    h, w, b, y = _random(np.random.default_rng(1), ignored=())

    def ref(h, w, b):
        targets = optax.smooth_labels(jax.nn.one_hot(y, w.shape[1]), 0.2)
        return optax.losses.softmax_cross_entropy(h @ w + b[None, :], targets)

    fn = lambda h, w, b: flce(h, w, y, bias=b, label_smoothing=0.2, chunk_size=16, reduction="none")  # noqa: E731
    value, grads = _value_and_grads(fn, h, w, b)
    ref_value, ref_grads = _value_and_grads(ref, h, w, b)
    np.testing.assert_allclose(value, ref_value, **TOL32)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, **TOL32)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_all_options_against_unfused(reduction):
    h, w, b, y = _random(np.random.default_rng(2))
    kw = {"bias": None, "label_smoothing": 0.1, "z_loss": 1e-3, "reduction": reduction}
    fused = jax.jit(lambda h, w, b: flce(h, w, y, chunk_size=16, **{**kw, "bias": b}))
    value, grads = _value_and_grads(fused, h, w, b)
    ref_value, ref_grads = _value_and_grads(lambda h, w, b: _unfused(h, w, y, **{**kw, "bias": b}), h, w, b)
    np.testing.assert_allclose(value, ref_value, **TOL32)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, **TOL32)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_hyperparameters_are_differentiable(reduction):
    h, w, b, y = _random(np.random.default_rng(3))

    def loss(fn, eps, z):
        return jnp.sum(fn(h, w, y, bias=b, label_smoothing=eps, z_loss=z, reduction=reduction))

    fused = jax.grad(lambda e, z: loss(lambda *a, **k: flce(*a, chunk_size=16, **k), e, z), argnums=(0, 1))
    ref = jax.grad(lambda e, z: loss(_unfused, e, z), argnums=(0, 1))
    for got, want in zip(jax.jit(fused)(0.1, 0.01), jax.jit(ref)(0.1, 0.01)):
        np.testing.assert_allclose(got, want, rtol=1e-4)


# --------------------------------------------------------------------------- dtypes, ignore, masks, errors


def test_bfloat16_inputs():
    h, w, b, y = _random(np.random.default_rng(4))
    hb, wb, bb = (jnp.asarray(a, jnp.bfloat16) for a in (h, w, b))
    fn = lambda h, w, b: flce(h, w, y, bias=b, label_smoothing=0.1, chunk_size=16)  # noqa: E731
    value, grads = _value_and_grads(fn, hb, wb, bb)
    assert value.dtype == jnp.float32
    assert all(g.dtype == jnp.bfloat16 for g in grads)
    rounded = tuple(jnp.asarray(a, jnp.float32) for a in (hb, wb, bb))
    ref_value, ref_grads = _value_and_grads(fn, *rounded)
    np.testing.assert_allclose(value, ref_value, rtol=1e-6)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(np.asarray(g, np.float32), r, rtol=1e-2, atol=1e-4)
    np.testing.assert_allclose(value, fn(h, w, b), rtol=2e-2)  # close to the unrounded f32 inputs


def test_ignore_index_options():
    h, w, _, y = _random(np.random.default_rng(5), ignored=())
    y[[0, 5]] = 3
    keep = y != 3
    got, none, unignored = jax.jit(lambda h, w: (
        flce(h, w, y, ignore_index=3, chunk_size=8),
        flce(h, w, y, ignore_index=3, reduction="none"),
        flce(h, w, y, ignore_index=None),
    ))(h, w)
    want = jnp.mean(optax.losses.softmax_cross_entropy_with_integer_labels(h[keep] @ w, y[keep]))
    np.testing.assert_allclose(got, want, **TOL32)
    assert np.all(np.asarray(none)[~keep] == 0)
    full = jnp.mean(optax.losses.softmax_cross_entropy_with_integer_labels(h @ w, y))
    np.testing.assert_allclose(unignored, full, **TOL32)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_all_ignored_is_zero_with_zero_gradients(reduction):
    h, w, b, _ = _random(np.random.default_rng(6), n=10)
    y = np.full(10, -100, np.int32)
    fn = lambda h, w, b: flce(h, w, y, bias=b, z_loss=1e-2, chunk_size=4, reduction=reduction)  # noqa: E731
    value, grads = jax.jit(jax.value_and_grad(fn, argnums=(0, 1, 2)))(h, w, b)
    assert float(value) == 0.0
    for g in grads:
        np.testing.assert_array_equal(g, 0.0)


def test_masked_tokens_with_nan_hidden_states_stay_out():
    h, w, b, y = _random(np.random.default_rng(7), n=12)
    where = np.ones(12, bool)
    where[[1, 6]] = False
    y[9] = -100
    bad = h.copy()
    bad[1] = np.nan
    bad[[6, 9]] = np.inf
    for reduction in ("mean", "none"):
        fn = lambda h, w, b, r=reduction: flce(h, w, y, bias=b, where=where, chunk_size=5, reduction=r)  # noqa: E731
        value, grads = _value_and_grads(fn, bad, w, b)
        ref_value, ref_grads = _value_and_grads(fn, np.where(np.isfinite(bad), bad, 0), w, b)
        np.testing.assert_allclose(value, ref_value, **TOL32)
        for g, r in zip(grads, ref_grads):
            np.testing.assert_allclose(g, r, **TOL32)


def test_out_of_range_labels():
    h, w, _, y = _random(np.random.default_rng(8), n=8)
    y[2] = 37
    with pytest.raises(ValueError, match=r"fused_linear_cross_entropy: labels must lie in \[0, 37\)"):
        flce(h, w, y)
    assert np.isnan(jax.jit(lambda h, w, y: flce(h, w, y))(h, w, y))
    none = jax.jit(lambda h, w, y: flce(h, w, y, reduction="none"))(h, w, y)
    assert np.isnan(none[2]) and np.all(np.isfinite(np.delete(np.asarray(none), 2)))


@pytest.mark.parametrize(("hidden", "weight", "labels", "bias", "match"), [
    ((6, 4), (5, 7), (6,), None, r"hidden has shape \(6, 4\).*weight.shape\[0\] = 5"),
    ((6, 4), (4, 7), (5,), None, r"labels has shape \(5,\)"),
    ((6, 4), (4, 7), (6,), (6,), r"bias has shape \(6,\)"),
    ((6, 4), (4, 7, 1), (6,), None, r"weight must have rank 2"),
])
def test_shape_errors(hidden, weight, labels, bias, match):
    b = None if bias is None else np.zeros(bias, np.float32)
    with pytest.raises(ValueError, match=match):
        flce(np.zeros(hidden, np.float32), np.zeros(weight, np.float32), np.zeros(labels, np.int32), bias=b)


def test_option_errors():
    h, w, y = np.zeros((4, 3), np.float32), np.zeros((3, 5), np.float32), np.zeros(4, np.int32)
    with pytest.raises(ValueError, match="chunk_size"):
        flce(h, w, y, chunk_size=0)
    with pytest.raises(TypeError, match="labels must have an integer dtype"):
        flce(h, w, y.astype(np.float32))


def test_default_chunk_size():
    assert default_chunk_size(8192, 32768) == 256
    assert default_chunk_size(8192, 256_000) == 64  # floor of 64 tokens
    assert default_chunk_size(100, 1000) == 100  # one chunk when tokens are few


def test_temporary_memory_is_a_fraction_of_the_logits():
    n, d, v = 2048, 64, 8192
    specs = (jax.ShapeDtypeStruct((n, d), jnp.float32), jax.ShapeDtypeStruct((d, v), jnp.float32),
             jax.ShapeDtypeStruct((n,), jnp.int32))
    step = jax.value_and_grad(lambda h, w, y: flce(h, w, y, chunk_size=64), argnums=(0, 1))
    temp = jax.jit(step).lower(*specs).compile().memory_analysis().temp_size_in_bytes
    assert temp < n * v * 4 / 8, f"temp {temp / 2**20:.1f} MiB vs logits {n * v * 4 / 2**20:.0f} MiB"
