"""The elementwise-pairs prologue: same-shape arrays (or matching pytrees of them).

:func:`pair` prepares one leaf (checks, upcast, ``where`` applied);
:func:`elementwise` runs a formula leaf by leaf over pytrees and reduces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax

from . import contracts
from .contracts import function_name
from .numerics import param, upcast
from .reduce import broadcast, check_reduction, leaves_like, reduce, sanitize

__all__ = ["Pair", "elementwise", "pair"]


class Pair(NamedTuple):
    """Same-shape arrays ready for an elementwise formula.

    Attributes:
      arrays: the inputs in their compute dtype (the widest floating input, at
        least float32), in the order given; entries masked out by ``where`` are 0,
        so NaN/inf there reach neither value nor gradient.
      where: the user mask broadcast to the common shape (``None`` when not given);
        pass it on to :func:`~jaxloss._src.reduce.reduce`.
    """

    arrays: tuple[jax.Array, ...]
    where: jax.Array | None


def pair(
    *arrays: Any,
    where: Any = None,
    names: Sequence[str] = ("predictions", "targets"),
    hint: str = "",
    dtype: Any = None,
) -> Pair:
    """Checks that ``arrays`` share one shape and the first is floating; upcasts; applies ``where``.

    ``names`` name the arrays in error messages; ``hint`` is added to a shape
    mismatch message; ``dtype`` overrides the compute dtype.
    """
    contracts.floating(**{names[0]: arrays[0]})
    contracts.same_shape(hint, **dict(zip(names, arrays)))
    out = upcast(*arrays, dtype=dtype)
    mask = None if where is None else broadcast(where, out[0].shape, "where", dtype=bool)
    return Pair(tuple(sanitize(a, mask) for a in out), mask)


def elementwise(
    formula: Callable[..., jax.Array],
    *data: Any,
    weights: Any = None,
    where: Any = None,
    reduction: str = "mean",
    names: Sequence[str] = ("predictions", "targets"),
    **params: Any,
) -> Any:
    """Applies ``formula(*leaves, **params)`` leaf by leaf and reduces.

    ``data`` are matching pytrees of same-shape arrays; each leaf tuple goes
    through :func:`pair` and ``params`` are cast to its compute dtype (``None``
    and ``bool`` pass through). ``"mean"`` over a pytree is the mean over all
    elements of all leaves.
    """
    check_reduction(reduction)
    structure = jax.tree.structure(data[0])
    for name, tree in zip(names[1:], data[1:]):
        if jax.tree.structure(tree) != structure:
            raise ValueError(
                f"{function_name()}: {name} has pytree structure {jax.tree.structure(tree)} "
                f"but {names[0]} has structure {structure}"
            )
    columns = [jax.tree.leaves(tree) for tree in data]
    masks = leaves_like(where, data[0], "where")
    out = []
    for leaf_args, mask in zip(zip(*columns), masks):
        arrays = pair(*leaf_args, where=mask, names=names).arrays
        dtype = arrays[0].dtype
        cast = {k: (v if v is None or isinstance(v, bool) else param(v, dtype)) for k, v in params.items()}
        out.append(formula(*arrays, **cast))
    loss = structure.unflatten(out)
    return reduce(loss, reduction, weights=weights, where=where)
