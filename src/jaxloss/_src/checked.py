"""``jaxloss.checked``: value checks (out-of-range labels) that raise under ``jit``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import jax
from jax.experimental import checkify

from .labels import checking

P = ParamSpec("P")
R = TypeVar("R")


def checked(fn: Callable[P, R]) -> Callable[P, R]:
    """Wraps a loss so that value errors (out-of-range labels) raise under ``jit``.

    The wrapped function is compiled with :func:`jax.experimental.checkify.checkify`
    (keyword options are static) and raises :class:`ValueError`
    (``checkify.JaxRuntimeError``) when a check fails.

    Args:
      fn: a jaxloss loss (or any function using its label checks).

    Returns:
      A function with the same signature that raises on invalid values.

    Examples:
      >>> import jax.numpy as jnp, jaxloss
      >>> ce = jaxloss.checked(jaxloss.softmax_cross_entropy)
      >>> ce(jnp.zeros((2, 3)), jnp.array([0, 7]))
      Traceback (most recent call last):
      ...
      jax._src.checkify.JaxRuntimeError: softmax_cross_entropy: labels has entries outside [0, 3) ...
    """
    @functools.lru_cache(maxsize=64)
    def compiled(static: tuple) -> Callable[..., Any]:
        kwargs = dict(static)
        return jax.jit(checkify.checkify(lambda *args: fn(*args, **kwargs)))

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with checking():
            try:
                run = compiled(tuple(sorted(kwargs.items())))
            except TypeError:  # unhashable keyword values: trace without caching
                run = checkify.checkify(lambda *a: fn(*a, **kwargs))
            err, out = run(*args)
        err.throw()
        return out

    return wrapper
