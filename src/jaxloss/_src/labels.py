"""Integer class labels: range checks, ``ignore_index``, NaN for bad labels under ``jit``."""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Iterator
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from .contracts import function_name
from .numerics import is_traced

CheckMode = Literal["checkify", "callback"]
_CHECKING: contextvars.ContextVar[CheckMode | None] = contextvars.ContextVar("jaxloss_checking", default=None)
# PyTorch's default ignore_index: the padding value users most often pass by accident.
_TORCH_PAD = -100


@contextlib.contextmanager
def checking(mode: CheckMode = "checkify") -> Iterator[None]:
    """Within this context, traced value checks are emitted as ``checkify.check``
    (``"checkify"``), or as a host callback that raises at run time (``"callback"``:
    inside a user's own ``jit``/``vmap``/``shard_map``, where checkify cannot raise)."""
    token = _CHECKING.set(mode)
    try:
        yield
    finally:
        _CHECKING.reset(token)


def _raise_if(bad: Any, *, message: str) -> None:
    if np.any(bad):
        raise ValueError(message)


def _fix(ignore_index: int | None, found: np.ndarray | None = None) -> str:
    """The sentence that says how to skip padding labels."""
    if ignore_index is not None:
        return ""
    if found is not None and not np.any(found == _TORCH_PAD):
        return "; to skip padding entries, pass their value as ignore_index="
    return f"; to skip padding entries, pass ignore_index= (PyTorch pads with ignore_index={_TORCH_PAD})"


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
                f"found {found.size} entries outside, e.g. {found[:5].tolist()}{source}{_fix(ignore_index, found)}"
            )
    elif (mode := _CHECKING.get()) is not None:
        ignored = "" if ignore_index is None else f" that are not ignore_index={ignore_index}"
        message = f"{function_name()}: {what} has entries outside [0, {num_classes}){ignored}{_fix(ignore_index)}"
        if mode == "checkify":
            checkify.check(~jnp.any(bad), message)
        else:
            any_bad = jnp.any(bad)
            # Every shard must fail together: one raising alone leaves the others waiting in a collective.
            if axes := tuple(jax.sharding.get_abstract_mesh().manual_axes):
                any_bad = jax.lax.pmax(any_bad.astype(jnp.int32), axes) > 0
            jax.debug.callback(functools.partial(_raise_if, message=message), any_bad)
    safe = jnp.where(in_range, labels, 0).astype(jnp.int32)
    return safe, valid, bad


def poison(loss: jax.Array, bad: jax.Array | None) -> jax.Array:
    """NaN where ``bad`` (out-of-range labels under ``jit``), ``loss`` elsewhere.

    The gradient is NaN there too (forward and reverse mode), so an optimiser step on it
    fails visibly instead of carrying on with a finite gradient.
    """
    if bad is None:
        return loss
    shape = jnp.broadcast_shapes(jnp.shape(loss), jnp.shape(bad))
    return _poison(jnp.broadcast_to(loss, shape), jnp.broadcast_to(bad, shape))


@jax.custom_jvp
def _poison(loss: jax.Array, bad: jax.Array) -> jax.Array:
    return jnp.where(bad, jnp.asarray(jnp.nan, loss.dtype), loss)


@_poison.defjvp
def _poison_jvp(primals: tuple[jax.Array, jax.Array], tangents: tuple[jax.Array, Any]) -> tuple[jax.Array, jax.Array]:
    loss, bad = primals
    # A product (linear in the tangent), not a select: the NaN reaches the inputs' gradient.
    return _poison(loss, bad), tangents[0] * jnp.where(bad, jnp.asarray(jnp.nan, loss.dtype), 1)
