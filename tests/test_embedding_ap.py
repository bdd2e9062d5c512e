"""FastAP, Smooth-AP and the histogram loss against pytorch-metric-learning goldens
(values and gradients, default and mapped options), plus the edge cases: queries
without positives, one class, only singletons, masked queries, unbalanced batches
(Smooth-AP against a brute-force enumeration of its definition)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("embedding_ap")
TOL = {"rtol": 1e-6, "atol": 1e-9}
F32 = {"rtol": 2e-4, "atol": 2e-5}
Y = G["labels"].astype(np.int32)

# golden key -> (loss, options, embeddings key, labels key)
CASES = {
    "l_fastap": ("fast_ap_loss", {}, "l_x", "labels"),
    "l_fastap_b5": ("fast_ap_loss", {"num_bins": 5}, "l_x", "labels"),
    "l_fastap_pow1": ("fast_ap_loss", {"num_bins": 8, "power": 1.0}, "l_x", "labels"),
    "l_hist": ("histogram_loss", {}, "l_x", "labels"),
    "l_hist_b10": ("histogram_loss", {"num_bins": 10}, "l_x", "labels"),
    "s3_0.01": ("smooth_ap_loss", {}, "s3_x", "s3_labels"),
    "s3_0.1": ("smooth_ap_loss", {"temperature": 0.1}, "s3_x", "s3_labels"),
    "s4_0.01": ("smooth_ap_loss", {"temperature": 0.01}, "s4_x", "s4_labels"),
    "s4_0.1": ("smooth_ap_loss", {"temperature": 0.1}, "s4_x", "s4_labels"),
}


def _vg(name, kw, y):
    fn = jaxloss.get(name)
    return jax.jit(jax.value_and_grad(lambda e: fn(e, y, **kw)))


@pytest.mark.parametrize("case", list(CASES))
def test_against_pytorch_metric_learning(case, x64):
    name, kw, xk, yk = CASES[case]
    value, grad = _vg(name, kw, G[yk].astype(np.int32))(G[xk])
    np.testing.assert_allclose(value, G[case], **TOL)
    np.testing.assert_allclose(grad, G[f"{case}_g"], **TOL)


@pytest.mark.parametrize("case", ["l_fastap", "s4_0.01"])
def test_against_pytorch_metric_learning_float32(case):
    name, kw, xk, yk = CASES[case]
    value, grad = _vg(name, kw, G[yk].astype(np.int32))(G[xk].astype(np.float32))
    assert value.dtype == jnp.float32
    np.testing.assert_allclose(value, G[case], **F32)
    np.testing.assert_allclose(grad, G[f"{case}_g"], **F32)


@jax.jit
def _all_outputs(x, y, where):
    """Per loss: the masked mean, its gradient and the per-query (``"none"``) values."""
    out = {}
    for name in ("fast_ap_loss", "smooth_ap_loss", "histogram_loss"):
        fn = jaxloss.get(name)
        w = where if name != "histogram_loss" else where[0]
        value, grad = jax.value_and_grad(lambda e, fn=fn, w=w: fn(e, y, where=w))(x)
        out[name] = (value, grad, fn(x, y, reduction="none"))
    return out


def _smooth_ap_brute(x, y, tau):
    """Smooth-AP of Brown et al. by plain loops over queries, items and positives."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    s = x @ x.T
    n = len(y)
    sig = lambda z: 1.0 / (1.0 + np.exp(-z / tau))  # noqa: E731
    out = []
    for i in range(n):
        pos = [j for j in range(n) if y[j] == y[i]]
        total = 0.0
        for j in pos:
            r_all = 1.0 + sum(sig(s[i, k] - s[i, j]) for k in range(n) if k != j)
            r_pos = 1.0 + sum(sig(s[i, k] - s[i, j]) for k in pos if k != j)
            total += r_pos / r_all
        out.append(1.0 - total / len(pos))
    return np.array(out)


def test_smooth_ap_unbalanced_and_unsorted(x64):
    # PML refuses unequal class counts; jaxloss takes any labels, in any order. 37 queries
    # span several query blocks.
    rng = np.random.default_rng(1)
    x = rng.standard_normal((37, 3))
    y = rng.integers(0, 6, 37).astype(np.int32)
    y[5] = 9  # a singleton class
    got = jax.jit(lambda e: jaxloss.smooth_ap_loss(e, y, temperature=0.2, reduction="none"))(x)
    np.testing.assert_allclose(got, _smooth_ap_brute(x, y, 0.2), **TOL)


def test_edge_cases():
    x = G["l_x"].astype(np.float32)
    everywhere = np.ones(12, bool)
    out = _all_outputs(x, Y, everywhere)
    value, _, per = out["fast_ap_loss"]
    assert per[Y == 4] == 0  # the singleton query is not scored
    np.testing.assert_allclose(value, G["l_fastap"], **F32)
    np.testing.assert_allclose(value, per[Y != 4].mean(), rtol=1e-6)
    # Histogram: a batch-level scalar for every reduction.
    value, _, per = out["histogram_loss"]
    assert per.shape == ()
    np.testing.assert_allclose(per, value)
    # Masked queries leave the mean (a masked query still ranks the others).
    where = everywhere.copy()
    where[:3] = False
    masked = _all_outputs(x, Y, where)
    np.testing.assert_allclose(
        masked["fast_ap_loss"][0], per_fast(out)[where & (Y != 4)].mean(), rtol=1e-6
    )
    np.testing.assert_allclose(
        masked["smooth_ap_loss"][0], out["smooth_ap_loss"][2][where].mean(), rtol=1e-6
    )
    # where=False masks the histogram's batch.
    assert _all_outputs(x, Y, ~everywhere)["histogram_loss"][0] == 0
    # Only singletons (no positive pair) and one class (no negative pair): FastAP and the
    # histogram are 0 with zero gradients (PML's zero loss).
    for y in (np.arange(12, dtype=np.int32), np.zeros(12, np.int32)):
        res = _all_outputs(x, y, everywhere)
        for name in ("fast_ap_loss", "histogram_loss"):
            value, grad, _ = res[name]
            if name == "fast_ap_loss" and y[0] == y[1]:
                continue  # one class: every query has positives and AP 1
            assert value == 0 and np.all(grad == 0), name
    # A similarity of exactly 1 (duplicates) lands on the histogram's last node, finite.
    xd = np.repeat(x[:6], 2, axis=0)
    res = _all_outputs(xd, Y, everywhere)
    for value, grad, _ in res.values():
        assert np.isfinite(value) and np.all(np.isfinite(grad))


def per_fast(out):
    return np.asarray(out["fast_ap_loss"][2])


def test_static_options_checked():
    x = G["l_x"].astype(np.float32)
    with pytest.raises(ValueError, match=r"fast_ap_loss.*num_bins"):
        jaxloss.fast_ap_loss(x, Y, num_bins=0)
    with pytest.raises(ValueError, match=r"histogram_loss.*num_bins"):
        jaxloss.histogram_loss(x, Y, num_bins=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"smooth_ap_loss.*temperature"):
        jaxloss.smooth_ap_loss(x, Y, temperature=0.0)
    with pytest.raises(ValueError, match=r"fast_ap_loss.*power"):
        jaxloss.fast_ap_loss(x, Y, power=-1.0)
