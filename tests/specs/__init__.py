"""How to call each registered loss in the shared contract tests.

Each family has a module here defining ``SPECS = {name: Spec(...)}``;
``tests/test_contract.py`` runs the shared invariants over every registered
loss and fails when one has no spec.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class Spec:
    """How the contract tests call one loss.

    make: ``rng -> tuple`` of positional data arguments (NumPy arrays), small.
    kwargs: keyword options used in every call.
    diff: indices of the positional arguments to differentiate.
    extreme: ``rng -> tuple`` of arguments at extreme magnitudes (value and
      gradient must stay finite), or ``None`` to skip.
    bad: ``rng -> tuple`` of arguments with a shape error (must raise
      ``ValueError``/``TypeError`` naming the function), or ``None``.
    masks: whether ``weights``/``where`` follow the generic contract
      (``mean == sum(w * none) / sum(w)`` over the ``"none"`` output).
    half: whether float16/bfloat16 inputs are tested.
    vmap: whether vmap over a leading axis is tested.
    grad_check: whether ``jax.test_util.check_grads`` runs (in float64).
    output: extracts the loss from the return value (for ``(loss, state)``).
    reductions: the reductions the loss supports.
    """

    make: Callable[[np.random.Generator], tuple]
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    diff: tuple[int, ...] = (0,)
    extreme: Callable[[np.random.Generator], tuple] | None = None
    bad: Callable[[np.random.Generator], tuple] | None = None
    masks: bool = True
    half: bool = True
    vmap: bool = True
    grad_check: bool = True
    output: Callable[[Any], Any] = lambda out: out
    reductions: tuple[str, ...] = ("mean", "sum", "none")


def all_specs() -> dict[str, Spec]:
    """Specs from every module in this package."""
    specs: dict[str, Spec] = {}
    for mod in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{mod.name}")
        for name, spec in getattr(module, "SPECS", {}).items():
            assert name not in specs, f"two specs for {name}"
            specs[name] = spec
    return specs


def normal(*shape: int, scale: float = 1.0) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: (scale * rng.standard_normal(shape)).astype(np.float32)


def uniform(*shape: int, low: float = 0.0, high: float = 1.0):
    return lambda rng: rng.uniform(low, high, shape).astype(np.float32)


def integers(*shape: int, high: int):
    return lambda rng: rng.integers(0, high, shape).astype(np.int32)


def args(*makers: Callable[[np.random.Generator], Any]) -> Callable[[np.random.Generator], tuple]:
    """Combines per-argument makers into a ``make``/``extreme``/``bad`` callable."""
    return lambda rng: tuple(m(rng) for m in makers)
