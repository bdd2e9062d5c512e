"""C23: class_weights, softcap, z_loss and return_aux on fused_linear_cross_entropy and
softmax_cross_entropy, against torch 2.13 ``F.linear_cross_entropy`` / ``F.cross_entropy`` goldens."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("llm_fused")
TOL64 = {"rtol": 1e-9, "atol": 1e-11}
TOL32 = {"rtol": 2e-5, "atol": 2e-6}
CASES = {  # name: (class_weights, label_smoothing, softcap, z_loss), as gen_llm_fused.FLCE_CASES
    "weighted": (True, 0.1, None, 0.0),
    "weighted_plain": (True, 0.0, None, 0.0),
    "softcap": (False, 0.05, 1.5, 0.0),
    "all": (True, 0.1, 1.5, 0.02),
}
REDUCTIONS = ("mean", "sum", "none")


def _options(case):
    weighted, eps, cap, zl = CASES[case]
    return {
        "class_weights": G["class_weights"] if weighted else None,
        "label_smoothing": eps,
        "softcap": cap,
        "z_loss": zl,
        "ignore_index": -100,
    }


def _all_reductions(loss):
    """Values and (hidden, weight, bias) gradients of ``sum(loss(..., reduction=r))`` for every reduction."""

    def run(h, w, b):
        out = {}
        for r in REDUCTIONS:
            value, vjp = jax.vjp(lambda h, w, b, r=r: loss(h, w, b, r), h, w, b)
            out[r] = (value, vjp(jnp.ones_like(value)))
        return out

    return jax.jit(run)(G["hidden"], G["weight"], G["bias"])


def _check(case, results):
    for r, (value, grads) in results.items():
        key = f"flce/{case}/{r}"
        np.testing.assert_allclose(value, G[key], **TOL64, err_msg=key)
        for name, g in zip(("hidden", "weight", "bias"), grads):
            np.testing.assert_allclose(g, G[f"{key}/grad_{name}"], **TOL64, err_msg=f"{key} {name}")


@pytest.mark.parametrize("case", ["weighted", "softcap", "all"])
def test_fused_against_torch(case, x64):
    kw = _options(case)
    results = _all_reductions(
        lambda h, w, b, r: jaxloss.fused_linear_cross_entropy(
            h, w, G["labels"], bias=b, chunk_size=5, reduction=r, **kw
        )
    )
    _check(case, results)


@pytest.mark.parametrize("case", ["weighted", "all"])
def test_softmax_cross_entropy_against_torch(case, x64):
    kw = _options(case)
    results = _all_reductions(
        lambda h, w, b, r: jaxloss.softmax_cross_entropy(
            h @ w + b[None, :], G["labels"], reduction=r, **kw
        )
    )
    _check(case, results)


def test_aux_against_torch(x64):
    kw = _options("all")

    def both(h, w, b):
        return (
            jaxloss.fused_linear_cross_entropy(
                h, w, G["labels"], bias=b, chunk_size=5, return_aux=True, **kw
            ),
            jaxloss.fused_linear_cross_entropy(
                h, w, G["labels"], bias=b, return_aux=True, reduction="none", **kw
            ),
            jaxloss.softmax_cross_entropy(h @ w + b[None, :], G["labels"], return_aux=True, **kw),
        )

    for loss, aux in jax.jit(both)(G["hidden"], G["weight"], G["bias"]):
        assert loss.shape in ((), G["labels"].shape)
        np.testing.assert_allclose(aux["accuracy"], G["flce/all/accuracy"], **TOL64)
        np.testing.assert_allclose(aux["z_loss"], G["flce/all/z_loss"], **TOL64)


def test_aux_is_stop_gradient_and_all_ignored_is_zero():
    rng = np.random.default_rng(0)
    h, w = (
        rng.standard_normal((6, 4)).astype(np.float32),
        rng.standard_normal((4, 7)).astype(np.float32),
    )
    y = np.full(6, -100, np.int32)
    kw = {
        "class_weights": np.linspace(0.5, 2.0, 7),
        "softcap": 3.0,
        "z_loss": 1e-2,
        "label_smoothing": 0.1,
        "return_aux": True,
    }

    def fn(h, w):
        loss, aux = jaxloss.fused_linear_cross_entropy(h, w, y, chunk_size=4, **kw)
        loss2, aux2 = jaxloss.softmax_cross_entropy(h @ w, y, ignore_index=-100, **kw)
        return loss + loss2 + aux["z_loss"] + aux["accuracy"] + aux2["z_loss"], (
            loss,
            aux,
            loss2,
            aux2,
        )

    (value, (loss, aux, loss2, aux2)), grads = jax.jit(
        jax.value_and_grad(fn, argnums=(0, 1), has_aux=True)
    )(h, w)
    assert float(value) == float(loss) == float(loss2) == 0.0
    assert all(float(v) == 0.0 for v in (*aux.values(), *aux2.values()))
    for g in grads:
        np.testing.assert_array_equal(g, 0.0)


def test_fused_equals_unfused_with_weights_and_where():
    # Every C23 option with jaxloss's own weights=/where= against softmax_cross_entropy on the full logits.
    rng = np.random.default_rng(1)
    n, d, v = 20, 8, 13
    h = rng.standard_normal((n, d)).astype(np.float32)
    w = rng.standard_normal((d, v)).astype(np.float32)
    y = rng.integers(0, v, n).astype(np.int32)
    y[[1, 9]] = -100
    where = np.ones(n, bool)
    where[[4, 15]] = False
    tw = rng.uniform(0.5, 1.5, n).astype(np.float32)
    kw = {
        "class_weights": rng.uniform(0.2, 2.0, v).astype(np.float32),
        "softcap": 2.0,
        "z_loss": 1e-2,
        "label_smoothing": 0.1,
        "ignore_index": -100,
        "weights": tw,
        "where": where,
    }

    def pair(h, w):
        fused = jaxloss.fused_linear_cross_entropy(h, w, y, chunk_size=6, **kw)
        return fused, jaxloss.softmax_cross_entropy(h @ w, y, **kw)

    (got, want), (g_got, g_want) = jax.jit(
        lambda h, w: (
            pair(h, w),
            (
                jax.grad(lambda h, w: pair(h, w)[0], argnums=(0, 1))(h, w),
                jax.grad(lambda h, w: pair(h, w)[1], argnums=(0, 1))(h, w),
            ),
        )
    )(h, w)
    np.testing.assert_allclose(got, want, **TOL32)
    for a, b in zip(g_got, g_want):
        np.testing.assert_allclose(a, b, **TOL32)


def test_softcap_errors():
    h, w, y = np.zeros((4, 3), np.float32), np.zeros((3, 5), np.float32), np.zeros(4, np.int32)
    with pytest.raises(ValueError, match="softcap must be a positive"):
        jaxloss.fused_linear_cross_entropy(h, w, y, softcap=0.0)
    with pytest.raises(ValueError, match="softcap"):
        jaxloss.softmax_cross_entropy(h @ w, y, softcap=-1.0)
    with pytest.raises(ValueError, match="class_weights"):
        jaxloss.fused_linear_cross_entropy(h, w, y, class_weights=np.ones(4, np.float32))
