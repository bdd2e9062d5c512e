"""Cross-batch memory (``xbm_init``/``cross_batch_memory_loss``) and
``self_supervised_loss`` against pytorch-metric-learning ``CrossBatchMemory`` (4 steps,
the memory wrapping around at step 3, and ``enqueue_mask``) and ``SelfSupervisedLoss``
goldens, values and gradients."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import load

import jaxloss

G = load("embedding_options")
TOL = {"rtol": 1e-6, "atol": 1e-9}
PML = {"normalize_embeddings": True}
LOSSES = {
    "con": functools.partial(jaxloss.batch_contrastive_loss, pos_margin=0.1, neg_margin=0.8, **PML),
    "ntxent": functools.partial(jaxloss.ntxent, temperature=0.5),
    "tri": functools.partial(jaxloss.triplet_loss, margin=0.2, mining="batch_all", **PML),
    "supcon": functools.partial(
        jaxloss.supervised_contrastive_loss, temperature=0.5, metric="euclidean", **PML
    ),
}


def _step(loss_fn, x, y, state, mask=None):
    return jax.value_and_grad(
        lambda e: jaxloss.cross_batch_memory_loss(loss_fn, e, y, state, enqueue_mask=mask),
        has_aux=True,
    )(x)


@pytest.mark.parametrize("name", list(LOSSES))
def test_cross_batch_memory_against_pml(name, x64):
    xs, ys = G["xbm_x"], G["xbm_labels"].astype(np.int32)
    state = jaxloss.xbm_init(16, xs.shape[-1], dtype=jnp.float64)
    step = jax.jit(functools.partial(_step, LOSSES[name]))
    for t in range(len(xs)):
        (value, state), grad = step(xs[t], ys[t], state)
        np.testing.assert_allclose(value, G[f"xbm_{name}_{t}"], **TOL, err_msg=f"step {t}")
        np.testing.assert_allclose(grad, G[f"xbm_{name}_{t}_g"], **TOL, err_msg=f"step {t}")
    # 24 rows written into 16 slots: full, and the write index wrapped around.
    assert bool(state.valid.all()) and int(state.index) == 24 % 16


def test_cross_batch_memory_enqueue_mask(x64):
    xs, ys = G["xbm_x"], G["xbm_labels"].astype(np.int32)
    state = jaxloss.xbm_init(16, xs.shape[-1], dtype=jnp.float64)
    mask = G["xbm_mask"]
    for t in range(3):
        step = jax.jit(functools.partial(_step, LOSSES["con"], mask=mask if t == 2 else None))
        (value, state), grad = step(xs[t], ys[t], state)
        np.testing.assert_allclose(value, G[f"xbm_mask_{t}"], **TOL, err_msg=f"step {t}")
        np.testing.assert_allclose(grad, G[f"xbm_mask_{t}_g"], **TOL, err_msg=f"step {t}")
    assert int(state.index) == 12 + int(mask.sum())
    np.testing.assert_array_equal(state.labels[12:15], ys[2][mask])


def test_memory_state_carries_no_gradient():
    x = jnp.asarray(G["xbm_x"][0], jnp.float32)
    y = jnp.asarray(G["xbm_labels"][0], jnp.int32)
    state = jaxloss.xbm_init(8, x.shape[-1])
    grad = jax.jit(
        jax.grad(
            lambda e: jaxloss.cross_batch_memory_loss(jaxloss.ntxent, e, y, state)[
                1
            ].embeddings.sum()
        )
    )(x)
    np.testing.assert_array_equal(grad, 0.0)
    with pytest.raises(ValueError, match="memory_size"):
        jaxloss.cross_batch_memory_loss(
            jaxloss.ntxent, jnp.zeros((9, x.shape[-1])), jnp.zeros(9, jnp.int32), state
        )
    with pytest.raises(ValueError, match="ref_embeddings"):
        jaxloss.cross_batch_memory_loss(jaxloss.ntxent, x, y, state, ref_embeddings=x)


@pytest.mark.parametrize("symmetric", [True, False])
def test_self_supervised_against_pml(symmetric, x64):
    x, r = G["ss_x"], G["ss_r"]
    kind = "sym" if symmetric else "asym"
    for name, fn in {
        "ntxent": functools.partial(jaxloss.ntxent, temperature=0.5),
        "tri": functools.partial(jaxloss.triplet_loss, margin=0.5, mining="batch_all", **PML),
    }.items():
        value, (gx, gr) = jax.jit(
            jax.value_and_grad(
                lambda a, b, fn=fn: jaxloss.self_supervised_loss(fn, a, b, symmetric=symmetric),
                argnums=(0, 1),
            )
        )(x, r)
        np.testing.assert_allclose(value, G[f"ss_{name}_{kind}"], **TOL, err_msg=name)
        np.testing.assert_allclose(gx, G[f"ss_{name}_{kind}_g"], **TOL, err_msg=name)
        np.testing.assert_allclose(gr, G[f"ss_{name}_{kind}_gr"], **TOL, err_msg=name)
