"""Compiled memory of the Sinkhorn gradient vs the iteration count: implicit vs unrolled.

For ``max_iterations`` in {10, 100, 1000} (tolerance 0, so every iteration
runs), compiles ``jax.grad`` of ``sinkhorn(x, y).reg_ot_cost`` w.r.t. ``x``
and prints XLA's ``memory_analysis()`` temp bytes, for the envelope-theorem
custom_vjp (``implicit_diff=True``) and for unrolled autodiff
(``implicit_diff=False``). Nothing is executed.

    python bench/memory_sinkhorn.py [n]
"""

from __future__ import annotations

import sys

import jax
import jax.numpy as jnp

import jaxloss


def temp_bytes(n: int, iterations: int, implicit: bool) -> int:
    x = jax.ShapeDtypeStruct((n, 3), jnp.float32)
    y = jnp.zeros((n, 3), jnp.float32)

    def cost(z):
        out = jaxloss.sinkhorn(
            z, y, epsilon=0.1, max_iterations=iterations, tolerance=0.0, implicit_diff=implicit
        )
        return out.reg_ot_cost

    compiled = jax.jit(jax.grad(cost)).lower(x).compile()
    return compiled.memory_analysis().temp_size_in_bytes


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 256
    print(f"grad of sinkhorn reg_ot_cost w.r.t. x, n = m = {n}, f32, backend {jax.default_backend()}")
    print("| max_iterations | implicit (custom_vjp) temp bytes | unrolled autodiff temp bytes |")
    print("|---:|---:|---:|")
    for iterations in (10, 100, 1000):
        imp = temp_bytes(n, iterations, True)
        unr = temp_bytes(n, iterations, False)
        print(f"| {iterations} | {imp:,} | {unr:,} |")


if __name__ == "__main__":
    main(sys.argv[1:])
