"""Goldens for the ranking family from rax (values and score gradients)."""

from __future__ import annotations

import types

import jax
import numpy as np

# rax 0.4's approx_t12n uses jax.util.wraps, which newer JAX removed; a no-op stands in.
if not hasattr(jax, "util") or not hasattr(jax.util, "wraps"):
    jax.util = types.SimpleNamespace(wraps=lambda *a, **k: (lambda f: f))

import jax.numpy as jnp
import rax

jax.config.update("jax_enable_x64", True)


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    scores = rng.standard_normal((3, 5))
    labels = rng.integers(0, 3, (3, 5)).astype(np.float64)
    labels[2] = 0.0  # a list without relevant items
    where = rng.uniform(size=(3, 5)) < 0.8
    where[1] = False  # a list with no valid item
    weights = rng.uniform(0.5, 2.0, (3, 5))
    out = {"scores": scores, "labels": labels, "where": where, "weights": weights}
    approx_ndcg = rax.approx_t12n(rax.ndcg_metric)
    approx_ndcg_t = rax.approx_t12n(rax.ndcg_metric, temperature=0.5)
    losses = {
        "pairwise_hinge": rax.pairwise_hinge_loss,
        "pairwise_logistic": rax.pairwise_logistic_loss,
        "softmax": rax.softmax_loss,
        "listmle": rax.listmle_loss,
        "approx_ndcg": approx_ndcg,
        "approx_ndcg_t0.5": approx_ndcg_t,
    }
    for name, fn in losses.items():
        for variant, kwargs in {
            "plain": {},
            "where": {"where": jnp.asarray(where)},
            "weights": {"weights": jnp.asarray(weights)},
        }.items():
            if name == "listmle" and variant == "weights":
                continue
            f = lambda s, fn=fn, kwargs=kwargs: fn(s, jnp.asarray(labels), **kwargs)  # noqa: E731
            value, grad = jax.value_and_grad(f)(jnp.asarray(scores))
            out[f"{name}/{variant}/value"] = np.asarray(value)
            out[f"{name}/{variant}/grad"] = np.asarray(grad)
            none = fn(jnp.asarray(scores), jnp.asarray(labels), reduce_fn=None, **kwargs)
            out[f"{name}/{variant}/none"] = np.asarray(none)
    return out
