"""Numerics: the compute-dtype policy and the guarded pieces formulas are built from.

``mul0`` (``0 * inf = 0``), ``safe_sqrt``/``safe_norm``/``safe_root`` (finite gradients at 0,
NaN kept), ``l2_normalize`` and ``abs0`` (zero derivative at 0, as PyTorch).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.core
import jax.numpy as jnp
import numpy as np


def is_traced(x: Any) -> bool:
    return isinstance(x, jax.core.Tracer)


def _is_array(x: Any) -> bool:
    return hasattr(x, "dtype") and hasattr(x, "shape")


def compute_dtype(*arrays: Any) -> jnp.dtype:
    """The dtype arithmetic is done in: the widest floating input, at least float32.

    Integer arrays and Python scalars do not widen it (they are cast to it).
    """
    widest = 4
    for a in arrays:
        if _is_array(a) and jnp.issubdtype(a.dtype, jnp.floating):
            widest = max(widest, np.dtype(a.dtype).itemsize)
    return jax.dtypes.canonicalize_dtype(jnp.float64 if widest > 4 else jnp.float32)


def upcast(*arrays: Any, dtype: Any = None) -> tuple[Any, ...]:
    """Converts ``arrays`` to the compute dtype (``None`` entries pass through)."""
    dtype = compute_dtype(*arrays) if dtype is None else dtype
    return tuple(None if a is None else jnp.asarray(a, dtype=dtype) for a in arrays)


def param(value: Any, dtype: Any) -> jax.Array:
    """A numeric hyper-parameter (Python number or traced array) in the compute dtype."""
    return jnp.asarray(value, dtype=dtype)


def mul0(a: jax.Array, b: jax.Array) -> jax.Array:
    """``a * b`` with ``0 * inf = 0`` (as in ``xlogy``); elsewhere exactly ``a * b`` and its gradients.

    For a weight ``a`` of a term ``b`` that is infinite only where it has no weight: a
    label-0 class at a ``-inf`` (masked) logit, the wrong class of a saturated sigmoid.
    """
    skip = (a == 0) & jnp.isinf(b)
    # Double where: the unweighted inf must not reach either gradient (0 * inf = NaN).
    return jnp.where(skip, jnp.zeros((), b.dtype), a * jnp.where(skip, jnp.zeros((), b.dtype), b))


def abs0(x: jax.Array) -> jax.Array:
    """``|x|`` whose derivative at 0 is 0 (``jnp.abs`` gives 1 there), as in PyTorch."""
    return x * jnp.sign(x)


def rows(x: jax.Array) -> jax.Array:
    """``x`` as ``[x.shape[0], -1]``; also for an empty batch, where ``reshape(0, -1)`` fails."""
    return jnp.reshape(x, (x.shape[0], math.prod(x.shape[1:])))


def safe_norm(x: jax.Array, axis: Any = -1, keepdims: bool = False, eps: float = 0.0) -> jax.Array:
    """Euclidean norm with a finite (zero) gradient at ``x = 0``.

    Returns ``sqrt(max(sum x^2, eps^2))``-style values: exactly the norm when
    ``eps = 0``.
    """
    sq = jnp.sum(jnp.square(x), axis=axis, keepdims=keepdims)
    return safe_sqrt(sq, floor=eps)


def safe_root(x: jax.Array, p: Any) -> jax.Array:
    """``x ** (1 / p)`` for ``x > 0``, 0 below, with a finite (zero) gradient at 0; NaN stays NaN."""
    # ~(x <= 0) keeps NaN on the root branch; the double where keeps the infinite slope at 0 out.
    positive = ~(x <= 0)
    return jnp.where(positive, jnp.where(positive, x, 1) ** (1.0 / p), jnp.zeros((), x.dtype))


def safe_sqrt(x: jax.Array, floor: float = 0.0) -> jax.Array:
    """``sqrt(x)`` for ``x > floor**2``, ``floor`` below, with a finite gradient at the kink.

    A NaN in ``x`` stays NaN (it is never replaced by ``floor``).
    """
    # ~(x <= f^2) keeps NaN on the sqrt branch; the double where keeps sqrt'(0) = inf out of the gradient.
    positive = ~(x <= floor**2)
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, x, 1)), jnp.asarray(floor, x.dtype))


def l2_normalize(x: jax.Array, axis: int = -1, eps: float = 1e-12) -> jax.Array:
    """``x / max(||x||, eps)`` (torch ``F.normalize``); zero vectors stay zero, finite gradient."""
    return x / safe_norm(x, axis=axis, keepdims=True, eps=eps)
