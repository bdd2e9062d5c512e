"""Integer class labels: range checks, ``ignore_index``, NaN for bad labels under ``jit``."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from .contracts import function_name
from .numerics import is_traced

_CHECKING: contextvars.ContextVar[bool] = contextvars.ContextVar("jaxloss_checking", default=False)


@contextlib.contextmanager
def checking() -> Iterator[None]:
    """Within this context, value checks are emitted as ``checkify.check``."""
    token = _CHECKING.set(True)
    try:
        yield
    finally:
        _CHECKING.reset(token)


def class_labels(
    labels: Any,
    num_classes: int,
    *,
    ignore_index: int | None = None,
    what: str = "labels",
    like: dict[str, Any] | None = None,
) -> tuple[jax.Array, jax.Array | None, jax.Array]:
    """Validates integer class labels.

    Returns ``(safe, valid, bad)``: ``safe`` has every invalid entry replaced by
    0 so it can index; ``valid`` is ``labels != ignore_index`` (``None`` without
    ``ignore_index``); ``bad`` marks out-of-range labels that are not ignored.
    Concrete bad labels raise ``ValueError``; traced ones must be turned into
    NaN by the caller with :func:`poison` (never a finite wrong loss). ``like``
    names the arguments ``num_classes`` comes from; the message shows their shapes.
    """
    labels = jnp.asarray(labels)
    valid = None if ignore_index is None else labels != ignore_index
    in_range = (labels >= 0) & (labels < num_classes)
    bad = ~in_range if valid is None else (~in_range & valid)
    if not is_traced(bad):
        found = np.asarray(labels)[np.asarray(bad)]
        if found.size:
            hint = "" if ignore_index is None else f" and not ignore_index={ignore_index}"
            source = "".join(f"; {k} has shape {tuple(np.shape(v))}" for k, v in (like or {}).items())
            raise ValueError(
                f"{function_name()}: {what} must lie in [0, {num_classes}){hint}; "
                f"found {found.size} entries outside, e.g. {found[:5].tolist()}{source}"
            )
    elif _CHECKING.get():
        checkify.check(
            ~jnp.any(bad),
            f"{function_name()}: {what} has entries outside [0, {num_classes}) "
            "that are not ignore_index",
        )
    safe = jnp.where(in_range, labels, 0).astype(jnp.int32)
    return safe, valid, bad


def poison(loss: jax.Array, bad: jax.Array | None) -> jax.Array:
    """NaN where ``bad`` (out-of-range labels under ``jit``), ``loss`` elsewhere."""
    if bad is None:
        return loss
    return jnp.where(bad, jnp.asarray(jnp.nan, loss.dtype), loss)
