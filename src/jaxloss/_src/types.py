"""Type aliases of the public signatures."""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

from jax.typing import ArrayLike

__all__ = ["ArrayLike", "ArrayTree", "Reduction"]

Reduction: TypeAlias = Literal["mean", "sum", "none", "mean_nonzero"]
# A pytree of arrays (nested dict/list/tuple/NamedTuple); an array is a one-leaf pytree.
ArrayTree: TypeAlias = Any
