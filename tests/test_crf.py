"""Linear-chain CRF (``crf_loss``, ``crf_decode``) against pytorch-crf 0.7.2 goldens
(``tests/references/gen_crf.py``: values, gradients w.r.t. the emissions and the three
transition parameters, Viterbi tags), with and without start/end scores (TF-Addons
semantics), with sequence lengths; and against a brute-force enumeration of every tag
sequence for tiny chains (written here from the definition, independently of the scan)."""

from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("crf")
TOL = {"rtol": 1e-6, "atol": 1e-9}
F32 = {"rtol": 2e-4, "atol": 2e-5}
CASES = {"full": (False, True), "lengths": (True, True), "no_ends": (True, False)}


@functools.partial(jax.jit, static_argnames=("ends",))
def _crf(x, tags, trans, start, end, lengths, ends):
    def fn(x, trans, start, end, reduction="sum"):
        kw = {"start_transitions": start, "end_transitions": end} if ends else {}
        return jaxloss.crf_loss(x, tags, trans, lengths=lengths, reduction=reduction, **kw)

    value, grads = jax.value_and_grad(fn, argnums=(0, 1, 2, 3))(x, trans, start, end)
    kw = {"start_transitions": start, "end_transitions": end} if ends else {}
    decoded = jaxloss.crf_decode(x, trans, lengths=lengths, **kw)
    return value, grads, fn(x, trans, start, end, "none"), fn(x, trans, start, end, "mean"), decoded


def _call(case, dtype):
    use_lengths, ends = CASES[case]
    lengths = G["lengths"] if use_lengths else np.full(len(G["x"]), G["x"].shape[1])
    floats = (G[k].astype(dtype) for k in ("x", "trans", "start", "end"))
    x, trans, start, end = floats
    return _crf(x, G["tags"].astype(np.int32), trans, start, end, lengths.astype(np.int32), ends)


@pytest.mark.parametrize("case", list(CASES))
def test_crf_against_pytorch_crf(case, x64):
    value, grads, rows, mean, (tags, _) = _call(case, np.float64)
    np.testing.assert_allclose(rows, G[f"{case}_none"], **TOL)
    np.testing.assert_allclose(value, G[f"{case}_none"].sum(), **TOL)
    np.testing.assert_allclose(mean, G[f"{case}_none"].mean(), **TOL)
    np.testing.assert_allclose(grads[0], G[f"{case}_g_x"], **TOL)
    np.testing.assert_allclose(grads[1], G[f"{case}_g_trans"], **TOL)
    if CASES[case][1]:
        np.testing.assert_allclose(grads[2], G[f"{case}_g_start"], **TOL)
        np.testing.assert_allclose(grads[3], G[f"{case}_g_end"], **TOL)
    else:
        np.testing.assert_array_equal(grads[2], 0.0)
    np.testing.assert_array_equal(tags, G[f"{case}_decode"])


def test_crf_float32():
    value, grads, rows, _, (tags, _) = _call("lengths", np.float32)
    assert value.dtype == jnp.float32 and tags.dtype == jnp.int32
    np.testing.assert_allclose(rows, G["lengths_none"], **F32)
    np.testing.assert_allclose(grads[0], G["lengths_g_x"], **F32)
    np.testing.assert_array_equal(tags, G["lengths_decode"])


def _brute_force(x, tags, trans, start, end, length):
    """-log p(tags) and the best path by enumerating every tag sequence of ``length``."""

    def score(path):
        s = start[path[0]] + end[path[-1]] + sum(x[t, c] for t, c in enumerate(path))
        return s + sum(trans[a, b] for a, b in itertools.pairwise(path))

    paths = list(itertools.product(range(x.shape[1]), repeat=length))
    scores = np.array([score(p) for p in paths])
    log_z = np.log(np.sum(np.exp(scores - scores.max()))) + scores.max()
    best = paths[int(np.argmax(scores))]
    return log_z - score(tuple(tags[:length])), best, scores.max()


def test_crf_brute_force_and_length_zero(x64):
    rng = np.random.default_rng(0)
    b, t, c = 5, 3, 3
    x = rng.standard_normal((b, t, c))
    tags = rng.integers(0, c, (b, t)).astype(np.int32)
    tags[1, 2] = -1  # past the length: ignored
    trans, start, end = rng.standard_normal((c, c)), rng.standard_normal(c), rng.standard_normal(c)
    lengths = np.array([3, 2, 1, 0, 3], np.int32)
    _, grads, rows, _, (best, best_score) = _crf(x, tags, trans, start, end, lengths, ends=True)
    for i in range(b):
        if lengths[i] == 0:
            assert rows[i] == 0.0 and best_score[i] == 0.0
            np.testing.assert_array_equal(grads[0][i], 0.0)
            continue
        nll, path, top = _brute_force(x[i], tags[i], trans, start, end, lengths[i])
        np.testing.assert_allclose(rows[i], nll, rtol=1e-10)
        np.testing.assert_array_equal(best[i, : lengths[i]], path)
        np.testing.assert_allclose(best_score[i], top, rtol=1e-10)
    np.testing.assert_array_equal(best[lengths[:, None] <= np.arange(t)], 0)


def test_crf_checks():
    x, tags, trans = (
        np.zeros((2, 3, 4), np.float32),
        np.zeros((2, 3), np.int32),
        np.zeros((4, 4), np.float32),
    )
    with pytest.raises(ValueError, match="crf_loss: tags must lie in"):
        jaxloss.crf_loss(x, tags + 4, trans)
    with pytest.raises(ValueError, match="transitions"):
        jaxloss.crf_loss(x, tags, trans[:3])
    with pytest.raises(ValueError, match="lengths"):
        jaxloss.crf_loss(x, tags, trans, lengths=np.array([4, 1], np.int32))
    # Traced out-of-range tags inside a sequence give NaN, past its length they are ignored.
    out = jax.jit(functools.partial(jaxloss.crf_loss, reduction="none"))(
        x, np.array([[0, 9, 0], [0, 0, 9]], np.int32), trans, lengths=np.array([3, 2], np.int32)
    )
    assert np.isnan(out[0]) and np.isfinite(out[1])
