"""``jaxloss.checked``: value checks (out-of-range labels) that raise under ``jit``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import jax
from jax.experimental import checkify

from .labels import checking
from .numerics import is_traced

P = ParamSpec("P")
R = TypeVar("R")


def checked(fn: Callable[P, R]) -> Callable[P, R]:
    """Wraps a loss so that value errors (out-of-range labels) raise under ``jit``.

    It works in the three ways a loss is called:

    - ``checked(loss)(...)`` on concrete arrays: the loss is compiled with
      :func:`jax.experimental.checkify.checkify` (keyword options are static) and
      raises :class:`ValueError` (``checkify.JaxRuntimeError``) when a check fails;
    - ``jax.jit(checked(loss))(...)``, or a ``checked`` loss called inside a jitted,
      vmapped or ``shard_map``-ped training step: the checks become host callbacks
      that raise at run time; the call then fails with ``jax.errors.JaxRuntimeError``
      whose message holds the jaxloss ``ValueError`` (with the fix, e.g.
      ``ignore_index=``). Nothing else in the step changes.

    Without ``checked``, the same invalid values give NaN under ``jit`` (never a
    finite wrong loss) and raise eagerly.

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
      jax._src.checkify.JaxRuntimeError: softmax_cross_entropy: labels has entries outside [0, 3); ...
    """
    @functools.lru_cache(maxsize=64)
    def compiled(static: tuple) -> Callable[..., Any]:
        kwargs = dict(static)
        return jax.jit(checkify.checkify(lambda *args: fn(*args, **kwargs)))

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if any(is_traced(leaf) for leaf in jax.tree.leaves((args, kwargs))):
            with checking("callback"):  # inside the caller's trace: checkify cannot raise there
                return fn(*args, **kwargs)
        with checking():
            try:
                run = compiled(tuple(sorted(kwargs.items())))
            except TypeError:  # unhashable keyword values: trace without caching
                run = checkify.checkify(lambda *a: fn(*a, **kwargs))
            err, out = run(*args)
        err.throw()
        return out

    return wrapper
