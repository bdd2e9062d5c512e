"""The benchmark interface shared by every scenario module in ``bench/scenarios``.

A scenario module defines ``SCENARIOS: list[Scenario]``. Each implementation
is a factory ``make(quick: bool) -> Callable[[], object]``: the factory builds
inputs (and, for JAX, the jitted function) and returns a zero-argument callable
that runs forward + backward once and blocks until the result is ready
(``jax.block_until_ready`` / plain torch). A factory raises ``ImportError``
when its peer library is not installed; the runner then skips it. The first
call of the returned callable includes compilation; the runner times it
separately from the repeats.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

Factory = Callable[[bool], Callable[[], object]]


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One benchmark: the same computation in jaxloss and in its peers.

    name: short id used by ``--only`` (e.g. ``"cross_entropy"``).
    family: jaxloss family, for grouping in RESULTS.md.
    shape: human-readable problem size (full size), e.g. ``"[4096, 1000] f32"``.
    quick_shape: the size used with ``--quick``.
    impls: ``{"jaxloss": factory, "optax": factory, "torch": factory, ...}``;
      ratios are reported as jaxloss time / peer time.
    target: optional text of the target, e.g. ``"<= 1.05x optax"``.
    """

    name: str
    family: str
    shape: str
    quick_shape: str
    impls: dict[str, Factory]
    target: str = ""


def jax_fwd_bwd(loss: Callable, *arrays: object, argnums: int | tuple[int, ...] = 0) -> Callable[[], object]:
    """The runner of ``jax.jit(jax.value_and_grad(loss, argnums))`` on ``arrays`` (on device)."""
    import jax

    step = jax.jit(jax.value_and_grad(loss, argnums=argnums))
    args = [jax.device_put(a) for a in arrays]
    return lambda: jax.block_until_ready(step(*args))


def torch_fwd_bwd(loss: Callable, *tensors: object) -> Callable[[], object]:
    """The runner of ``loss(*tensors).backward()``; the caller marks ``requires_grad``."""

    def run():
        for t in tensors:
            t.grad = None
        value = loss(*tensors)
        value.backward()
        return value

    return run
