"""The benchmark interface shared by every scenario module in ``bench/scenarios``.

A scenario module defines ``SCENARIOS: list[Scenario]``. Each implementation
is a factory ``make(quick: bool) -> Callable[[], object]``: the factory builds
inputs (and, for JAX, the jitted function) and returns a zero-argument callable
that runs forward + backward once and blocks until the result is ready. JAX
implementations return a :class:`JaxStep` (from :func:`jax_fwd_bwd` or
:func:`jax_fwd`), which the runner compiles ahead of time, timing the trace +
compile on its own and reading XLA's ``memory_analysis()``; any other callable
(torch, NumPy) is eager. A factory raises ``ImportError`` when its peer library
is not installed; the runner then skips it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

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
    memory: a memory scenario: each implementation runs in its own process
      (so that its peak RSS is its own), is compiled and called once (no
      repeats), and the ratios compare XLA temporary bytes instead of times.
    """

    name: str
    family: str
    shape: str
    quick_shape: str
    impls: dict[str, Factory]
    target: str = ""
    memory: bool = False


class JaxStep:
    """A jitted function and its (device) arguments; calling it runs it once and blocks.

    The runner calls :meth:`compile` first (``jitted.lower(*args).compile()``: trace, lower
    and XLA compile, which also fills the jit cache so later calls do not compile again),
    then times calls of the jitted function. ``run=False`` marks a step that is only
    compiled (its memory figures are XLA's), e.g. one too slow to execute on CPU.
    """

    def __init__(self, jitted: Any, args: list[Any], run: bool = True):
        self.jitted, self.args, self.run = jitted, args, run
        self.compiled: Any = None

    def compile(self) -> Any:
        self.compiled = self.jitted.lower(*self.args).compile()
        return self.compiled

    def temp_bytes(self) -> int | None:
        """XLA's ``temp_size_in_bytes`` of the compiled function (None when the backend has none)."""
        stats = (self.compiled or self.compile()).memory_analysis()
        return None if stats is None else int(stats.temp_size_in_bytes)

    def __call__(self) -> object:
        import jax

        return jax.block_until_ready(self.jitted(*self.args))


def jax_fwd(fn: Callable, *arrays: object, run: bool = True) -> JaxStep:
    """The step ``jax.jit(fn)(*arrays)`` (value only), arrays put on the device."""
    import jax

    return JaxStep(jax.jit(fn), [jax.device_put(a) for a in arrays], run)


def jax_fwd_bwd(loss: Callable, *arrays: object, argnums: int | tuple[int, ...] = 0, run: bool = True) -> JaxStep:
    """The step ``jax.jit(jax.value_and_grad(loss, argnums))(*arrays)``, arrays put on the device."""
    import jax

    return jax_fwd(jax.value_and_grad(loss, argnums=argnums), *arrays, run=run)


def torch_fwd_bwd(loss: Callable, *tensors: Any) -> Callable[[], object]:
    """The runner of ``loss(*tensors).backward()``; the caller marks ``requires_grad``."""

    def run():
        for t in tensors:
            t.grad = None
        value = loss(*tensors)
        value.backward()
        return value

    return run
