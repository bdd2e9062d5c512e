"""Golden reference values produced by the anchors (see generate.py)."""

from __future__ import annotations

import functools
import pathlib

import numpy as np

HERE = pathlib.Path(__file__).parent


@functools.cache
def load(family: str) -> dict[str, np.ndarray]:
    """The arrays of ``<family>.npz``."""
    with np.load(HERE / f"{family}.npz") as data:
        return {k: data[k] for k in data.files}
