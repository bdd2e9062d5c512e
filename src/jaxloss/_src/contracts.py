"""Trace-time shape and dtype contracts with messages that name the function.

Each check is static (shapes and dtypes are known while tracing), built on
``chex`` assertions where chex has one, and re-raised as ``ValueError`` /
``TypeError`` whose message names the public function (see
:func:`function_name`), the arguments and their shapes.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence
from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np

from .numerics import is_traced

_FUNCTION: contextvars.ContextVar[str] = contextvars.ContextVar("jaxloss_function", default="")


def function_name() -> str:
    """Name of the public loss being called (set by the registry), for error messages."""
    return _FUNCTION.get() or "jaxloss"


@contextlib.contextmanager
def calling(name: str) -> Iterator[None]:
    """Marks ``name`` as the public function being called; the outermost call wins."""
    if _FUNCTION.get():
        yield
        return
    token = _FUNCTION.set(name)
    try:
        yield
    finally:
        _FUNCTION.reset(token)



def _shape(x: Any) -> tuple[int, ...]:
    return tuple(np.shape(x))


def _dtype(x: Any):
    return x.dtype if hasattr(x, "dtype") else jnp.asarray(x).dtype


def _describe(arrays: dict[str, Any]) -> str:
    return ", ".join(f"{k} has shape {_shape(v)}" for k, v in arrays.items())


def same_shape(hint: str = "", **arrays: Any) -> None:
    """All ``arrays`` have the same shape."""
    arrays = {k: v for k, v in arrays.items() if v is not None}
    try:
        chex.assert_equal_shape(list(arrays.values()))
    except AssertionError:
        raise ValueError(
            f"{function_name()}: {_describe(arrays)}; expected equal shapes"
            + (f" ({hint})" if hint else "")
        ) from None


def rank(x: Any, expected: int | Sequence[int] | set[int], what: str, hint: str = "") -> None:
    """``x`` has one of the ``expected`` ranks."""
    try:
        chex.assert_rank(x, expected)
    except AssertionError:
        want = expected if isinstance(expected, int) else sorted(expected)
        raise ValueError(
            f"{function_name()}: {what} must have rank {want}, got shape {_shape(x)}"
            + (f" ({hint})" if hint else "")
        ) from None


def min_rank(x: Any, minimum: int, what: str) -> None:
    if np.ndim(x) < minimum:
        raise ValueError(
            f"{function_name()}: {what} must have at least {minimum} dimension(s), "
            f"got shape {_shape(x)}"
        )


def nonempty(x: Any, what: str, minimum: int = 1, hint: str = "") -> None:
    """``x`` has at least ``minimum`` entries along axis 0 (a batch-level loss needs a batch)."""
    if np.shape(x)[0] < minimum:
        raise ValueError(
            f"{function_name()}: {what} has shape {_shape(x)}; at least {minimum} item(s) along "
            "axis 0 are needed" + (f" ({hint})" if hint else "")
        )


def shape_is(
    x: Any, expected: Sequence[int | None], what: str, hint: str = "", like: dict[str, Any] | None = None
) -> None:
    """``x`` has shape ``expected`` (``None`` entries match any size).

    ``like`` names the arguments ``expected`` was derived from; the message shows their shapes.
    """
    got = _shape(x)
    ok = len(got) == len(expected) and all(e is None or e == g for e, g in zip(expected, got))
    if not ok:
        want = tuple("*" if e is None else e for e in expected)
        related = f" (from {_describe(like)})" if like else ""
        raise ValueError(
            f"{function_name()}: {what} has shape {got} but shape {want} is expected{related}"
            + (f"; {hint}" if hint else "")
        )


def _of_kind(kind: Any, expected: str, arrays: dict[str, Any]) -> None:
    for k, v in arrays.items():
        if v is None:
            continue
        dt = _dtype(v)
        if not jnp.issubdtype(dt, kind):
            raise TypeError(f"{function_name()}: {k} must have {expected}, got {dt} with shape {_shape(v)}")


def floating(**arrays: Any) -> None:
    """``arrays`` have a floating dtype (``TypeError`` otherwise)."""
    _of_kind(jnp.floating, "a floating dtype", arrays)


def integer(**arrays: Any) -> None:
    """``arrays`` have an integer dtype (``TypeError`` otherwise)."""
    _of_kind(jnp.integer, "an integer dtype (class indices)", arrays)


def axis_index(axis: int, ndim: int, what: str) -> int:
    """Normalises ``axis`` for an array of rank ``ndim``."""
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"{function_name()}: axis={axis} is out of range for {what} of rank {ndim}"
        )
    return axis % ndim


def prng_key(key: Any, what: str = "key") -> None:
    """``key`` is a PRNG key: typed (``jax.random.key``) or raw ``uint32`` (``jax.random.PRNGKey``)."""
    dt = _dtype(key)
    typed = jnp.issubdtype(dt, jax.dtypes.prng_key)
    if not (typed and np.ndim(key) == 0) and not (dt == jnp.uint32 and _shape(key) == (2,)):
        raise TypeError(
            f"{function_name()}: {what} must be one PRNG key (jax.random.key(0) or "
            f"jax.random.PRNGKey(0)), got dtype {dt} with shape {_shape(key)}"
        )


def choice(value: Any, options: Sequence[Any], what: str) -> None:
    if value not in options:
        raise ValueError(
            f"{function_name()}: {what} must be one of {tuple(options)}, got {value!r}"
        )



def bounded(
    value: Any, what: str, *, gt: float | None = None, ge: float | None = None,
    lt: float | None = None, le: float | None = None, scalar: bool = True,
) -> None:
    """A concrete hyper-parameter lies in the given bounds; traced values are not checked.

    ``bounded(gamma, "gamma", ge=0)``, ``bounded(alpha, "alpha", ge=0, le=1)``,
    ``bounded(temperature, "temperature", gt=0)``. With ``scalar=False`` every entry of
    an array (per-class alphas, ...) is checked. NaN fails every bound.
    """
    if value is None or is_traced(value):
        return
    v = np.asarray(value, dtype=np.float64)
    if scalar and v.ndim != 0:
        raise ValueError(f"{function_name()}: {what} must be a scalar, got shape {v.shape}")
    tests = [(gt, "> ", lambda b: v > b), (ge, ">= ", lambda b: v >= b),
             (lt, "< ", lambda b: v < b), (le, "<= ", lambda b: v <= b)]
    bounds = [(b, sign, ok) for b, sign, ok in tests if b is not None]
    if not all(np.all(ok(b)) for b, _, ok in bounds):
        expected = " and ".join(f"{sign}{b:g}" for b, sign, _ in bounds)
        shown = v.item() if v.ndim == 0 else v.tolist()
        raise ValueError(f"{function_name()}: {what} must be {expected}, got {shown!r}")
