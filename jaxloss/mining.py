"""Mining utilities for metric learning: distances, label masks, miners.

Pure array code with fixed output shapes (masks and indices), so everything
jits; each function accepts an optional leading episode axis through ``vmap``.
"""

from __future__ import annotations

from typing import Any

import jax

__all__: list[str] = ["gather_batch"]


def gather_batch(x: Any, axis_name: str | None) -> Any:
    """Concatenates ``x`` (a pytree with a leading batch axis) over the devices of
    ``axis_name``, in device order; returns ``x`` unchanged when ``axis_name`` is ``None``.

    Used by the losses that draw negatives from the global batch under
    ``shard_map``/``pmap``.

    Examples:
      >>> import jax.numpy as jnp
      >>> gather_batch(jnp.ones((2, 3)), None).shape
      (2, 3)
    """
    if axis_name is None:
        return x
    return jax.tree.map(lambda a: jax.lax.all_gather(a, axis_name, axis=0, tiled=True), x)
