"""Goldens for the soft quantile operators (float64): ott-jax 0.6 ``tools.soft_sort.quantile``,
``quantize`` and ``quantile_normalization``, values and jax gradients (ott's implicit
differentiation through Sinkhorn) of a random linear read-out ``w``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

_TIGHT = {"epsilon": 0.05, "threshold": 1e-10, "max_iterations": 20000}


def _ops(v):
    from ott.tools import soft_sort

    # name -> op(x, q, y); the gradients in x, q and y are stored where not all zero
    return {
        "quantile": lambda x, q, y: soft_sort.quantile(x, q, axis=-1, **_TIGHT),
        "quantile_w": lambda x, q, y: soft_sort.quantile(x, q, axis=-1, weight=0.06, **_TIGHT),
        "qz": lambda x, q, y: soft_sort.quantize(x, axis=-1, **_TIGHT),
        "qn": lambda x, q, y: soft_sort.quantile_normalization(x, y, axis=-1, **_TIGHT),
        "qn_w": lambda x, q, y: soft_sort.quantile_normalization(
            x, y, weights=v, axis=-1, **_TIGHT
        ),
    }


def generate() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1914)
    out: dict[str, np.ndarray] = {}
    with jax.enable_x64(True):
        x = jnp.asarray(rng.standard_normal((2, 12)))
        w = jnp.asarray(rng.standard_normal((2, 12)))
        q = jnp.array([0.2, 0.5, 0.8])
        # 10 sorted targets and their masses: the coupling has the shape of quantize's 10 levels
        y = jnp.asarray(np.sort(rng.standard_normal(10) * 2.0))
        v = jnp.asarray(rng.dirichlet(np.full(10, 2.0)))
        for key, value in {"x": x, "w": w, "q": q, "y": y, "v": v}.items():
            out[key] = np.asarray(value)
        for name, op in _ops(v).items():
            value, vjp = jax.vjp(op, x, q, y)
            gx, gq, gy = vjp(w[:, : value.shape[-1]])
            out[name] = np.asarray(value)
            for tag, g in (("gx", gx), ("gq", gq), ("gy", gy)):
                if np.any(np.asarray(g) != 0):  # the gradients of the arguments the op uses
                    out[f"{name}/{tag}"] = np.asarray(g)
    return out
