"""Memory-bounded (``chunk_size``) InfoNCE/CLIP and SigLIP on one device.

The chunked forms against the anchors' goldens (torch InfoNCE/CLIP of
``references/gen_embedding_softmax.py``, open_clip ``SigLipLoss`` of
``references/gen_self_supervised.py``), values and gradients (temperature, scale
and bias included), with chunks that do not divide the batch; the chunked forms
equal the dense ones on random inputs with weights and masks; and neither the
forward nor the ``custom_vjp`` backward forms a ``[B, B]`` array (the jaxpr and the
compiled temp memory say so). The 8-device ring/all-gather forms are in
``test_self_supervised_blockwise_distributed.py``.
"""

from __future__ import annotations

import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

TOL = {"rtol": 1e-6, "atol": 1e-9}
F32 = {"rtol": 2e-5, "atol": 2e-6}


# --------------------------------------------------------------------------- anchors' goldens

INFONCE = {"cos": {}, "sym": {"symmetric": True}, "idx": {}}
SIGLIP = {"siglip": "cosine", "siglip_dot_sb": "dot"}


@jax.jit
def _goldens(infonce_args, siglip_args):
    """Every golden case in one compilation: ``(value, grads, "none" rows)`` per case."""
    out = {}
    for case, (q, k, idx) in infonce_args.items():
        # chunk_size=2 divides neither the 5 nor the 7 keys
        kw = dict(INFONCE[case], temperature=0.2, chunk_size=2, positive_indices=idx)
        value, grads = jax.value_and_grad(
            lambda a, b, kw=kw: jaxloss.infonce_loss(a, b, **kw), (0, 1)
        )(q, k)
        out[case] = value, grads, jaxloss.infonce_loss(q, k, reduction="none", **kw)
    for case, args in siglip_args.items():

        def fn(x, y, scale, bias, reduction="mean", case=case):
            return jaxloss.siglip_loss(
                x,
                y,
                scale=scale,
                bias=bias,
                similarity=SIGLIP[case],
                chunk_size=3,
                reduction=reduction,
            )  # 3 does not divide the 8 texts

        value, grads = jax.value_and_grad(fn, (0, 1, 2, 3))(*args)
        out[case] = value, grads, fn(*args, "none")
    return out


def test_chunked_forms_match_the_anchors_goldens(x64):
    g, s = load("embedding_softmax"), load("self_supervised")
    infonce_args = {
        case: (
            g["infonce_q"],
            g["infonce_k7"] if case == "idx" else g["infonce_k"],
            g["infonce_idx"] if case == "idx" else None,
        )
        for case in INFONCE
    }
    siglip_args = {
        case: (s["s_x"], s["s_y"], s[f"{case}_scale"], s[f"{case}_bias"]) for case in SIGLIP
    }
    out = _goldens(infonce_args, siglip_args)
    for case in INFONCE:  # torch InfoNCE / CLIP
        value, (gq, gk), rows = out[case]
        np.testing.assert_allclose(rows, g[f"infonce_{case}_none"], **TOL, err_msg=case)
        np.testing.assert_allclose(value, g[f"infonce_{case}_mean"], **TOL, err_msg=case)
        np.testing.assert_allclose(gq, g[f"infonce_{case}_gq"], **TOL, err_msg=case)
        np.testing.assert_allclose(gk, g[f"infonce_{case}_gk"], **TOL, err_msg=case)
    for case in SIGLIP:  # open_clip SigLipLoss
        value, grads, rows = out[case]
        np.testing.assert_allclose(value, s[case], **TOL, err_msg=case)
        np.testing.assert_allclose(rows, s[f"{case}_rows"], **TOL, err_msg=case)
        for i, grad in enumerate(grads):  # x, y, scale, bias
            np.testing.assert_allclose(grad, s[f"{case}_g{i}"], **TOL, err_msg=f"{case} g{i}")


# --------------------------------------------------------------------------- chunked == dense

B, D = 13, 6


@functools.partial(jax.jit, static_argnames="chunk")
def _both(x, y, w, where, chunk):
    def total(x, y, t, s, b):
        terms = [
            jaxloss.infonce_loss(x, y, temperature=t, weights=w, where=where, chunk_size=chunk),
            jaxloss.infonce_loss(
                x,
                y,
                temperature=t,
                symmetric=True,
                similarity="dot",
                reduction="none",
                chunk_size=chunk,
            ),
            jaxloss.siglip_loss(x, y, scale=s, bias=b, weights=w, where=where, chunk_size=chunk),
        ]
        return sum(jnp.sum(v) for v in terms), terms

    return jax.value_and_grad(total, (0, 1, 2, 3, 4), has_aux=True)(x, y, 0.2, 5.0, -2.0)


def test_chunked_equals_dense_values_and_gradients():
    rng = np.random.default_rng(0)
    x, y = (rng.standard_normal((B, D)).astype(np.float32) for _ in range(2))
    w = rng.uniform(0.5, 2.0, B).astype(np.float32)
    where = rng.uniform(size=B) > 0.3
    (_, got), got_grads = _both(x, y, w, where, 5)  # 5 does not divide 13
    (_, ref), ref_grads = _both(x, y, w, where, None)
    for a, r in zip(got, ref, strict=True):
        np.testing.assert_allclose(a, r, **F32)
    for a, r in zip(got_grads, ref_grads, strict=True):  # x, y, temperature, scale, bias
        np.testing.assert_allclose(a, r, **F32)


def test_half_inputs_give_float32():
    x = jax.ShapeDtypeStruct((B, D), jnp.bfloat16)
    assert (
        jax.eval_shape(lambda a: jaxloss.infonce_loss(a, a, chunk_size=4), x).dtype == jnp.float32
    )
    assert jax.eval_shape(lambda a: jaxloss.siglip_loss(a, a, chunk_size=4), x).dtype == jnp.float32


# --------------------------------------------------------------------------- memory


def _shapes(jaxpr) -> set[tuple[int, ...]]:
    """Every array shape a jaxpr prints (nested scan bodies and custom_vjp rules included)."""
    return {
        tuple(int(d) for d in m.split(",")) for m in re.findall(r"\[(\d+(?:,\d+)*)\]", str(jaxpr))
    }


def _losses(chunk):
    def f(x, y, t, s, b):
        return jaxloss.infonce_loss(
            x, y, temperature=t, symmetric=True, chunk_size=chunk
        ) + jaxloss.siglip_loss(x, y, scale=s, bias=b, chunk_size=chunk)

    return jax.value_and_grad(f, (0, 1, 2, 3, 4))


def test_no_batch_square_intermediate_when_chunked():
    n, dim, chunk = 24, 7, 5
    x = jnp.ones((n, dim), jnp.float32)
    args = (x, x, 0.1, 10.0, -10.0)
    dense = _shapes(jax.make_jaxpr(_losses(None))(*args))
    chunked = _shapes(jax.make_jaxpr(_losses(chunk))(*args))
    assert (n, n) in dense  # the check sees the dense form's logits
    assert not {s for s in chunked if s.count(n) >= 2}, sorted(chunked)
    assert (n, chunk) in chunked


def test_compiled_temp_memory_is_bounded():
    # Symmetric InfoNCE, forward and backward: O(n * chunk) temp memory, a few tiles.
    n, dim, chunk = 1024, 16, 32
    x = jax.ShapeDtypeStruct((n, dim), jnp.float32)
    t = jax.ShapeDtypeStruct((), jnp.float32)

    def f(x, y, t):
        return jaxloss.infonce_loss(x, y, temperature=t, symmetric=True, chunk_size=chunk)

    compiled = jax.jit(jax.value_and_grad(f, (0, 1, 2))).lower(x, x, t).compile()
    temp = compiled.memory_analysis().temp_size_in_bytes
    # A few [n, chunk] tiles (128 KiB each) and [n, dim] arrays; the [n, n] logits alone are 4 MiB.
    assert temp <= n * n * 4 / 4, temp


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    "kw", [{"chunk_size": 0}, {"chunk_size": True}, {"chunk_size": 2.0}, {"cross_device": "gather"}]
)
def test_blockwise_options_are_checked(kw):
    x = jnp.ones((4, 3), jnp.float32)
    with pytest.raises(ValueError, match="infonce_loss"):
        jaxloss.infonce_loss(x, x, **kw)
    with pytest.raises(ValueError, match="siglip_loss"):
        jaxloss.siglip_loss(x, x, **kw)


# --------------------------------------------------------------------------- multiple-negatives ranking


@functools.partial(jax.jit, static_argnums=0)
def _mnrl(chunk, a, p, cols, shared, w):
    """Value, ``"none"`` rows and gradients (anchors, positives, negatives, scale) of the
    sentence-transformers MNRL and its symmetric form with per-anchor negative columns, shared
    negatives, cosine and dot."""
    out = []
    losses = (jaxloss.multiple_negatives_ranking_loss, jaxloss.multiple_negatives_symmetric_ranking_loss)
    cases = ((None, "cosine"), (cols, "cosine"), (shared, "dot"))
    for loss, (negatives, similarity) in ((f, c) for f in losses for c in cases):

        def fn(a, p, n, s, reduction="mean", similarity=similarity, loss=loss):
            return loss(a, p, n, scale=s, similarity=similarity, chunk_size=chunk, weights=w,
                        reduction=reduction)

        argnums = (0, 1, 3) if negatives is None else (0, 1, 2, 3)
        value, grads = jax.value_and_grad(fn, argnums)(a, p, negatives, 7.0)
        out.append((value, fn(a, p, negatives, 7.0, "none"), grads))
    return out


def test_multiple_negatives_ranking_chunked_equals_dense():  # B3 on MNRL and A37
    rng = np.random.default_rng(3)
    a, p = (rng.standard_normal((B, D)).astype(np.float32) for _ in range(2))
    cols = rng.standard_normal((B, 2, D)).astype(np.float32)
    shared = rng.standard_normal((5, D)).astype(np.float32)
    w = rng.uniform(0.5, 2.0, B).astype(np.float32)
    got, ref = _mnrl(4, a, p, cols, shared, w), _mnrl(None, a, p, cols, shared, w)
    for g, r in zip(jax.tree.leaves(got), jax.tree.leaves(ref), strict=True):
        np.testing.assert_allclose(g, r, **F32)
    with pytest.raises(ValueError, match="multiple_negatives_ranking_loss"):
        jaxloss.multiple_negatives_ranking_loss(a, p, chunk_size=0)
    with pytest.raises(ValueError, match="multiple_negatives_symmetric_ranking_loss"):
        jaxloss.multiple_negatives_symmetric_ranking_loss(a, p, cross_device="gather")  # type: ignore[arg-type]
