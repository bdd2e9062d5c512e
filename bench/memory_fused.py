"""Temporary memory of fused vs unfused linear cross-entropy, forward + backward.

Compiles ``jax.value_and_grad`` w.r.t. ``hidden`` and ``weight`` of
:func:`jaxloss.fused_linear_cross_entropy` for several chunk sizes and of the
unfused ``log_softmax(hidden @ weight)`` computation, and prints XLA's
``memory_analysis()`` temporary size for each (nothing is run, only compiled).

Usage (from the repository root)::

    python bench/memory_fused.py [--tokens 8192] [--dim 256] [--vocab 32768] [--chunks 64,128,...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax
import jax.numpy as jnp

import jaxloss
from jaxloss.fused import default_chunk_size

MIB = 2**20


def unfused_loss(hidden, weight, labels):
    """The unfused reference: full logits, log_softmax, gather, mean."""
    logp = jax.nn.log_softmax(hidden @ weight, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=-1))


def temp_bytes(loss, n: int, d: int, v: int, reduction: str = "mean") -> tuple[int, float]:
    """(temporary bytes, compile seconds) of the jitted fwd+bwd of ``loss(h, w, y)``."""
    h = jax.ShapeDtypeStruct((n, d), jnp.float32)
    w = jax.ShapeDtypeStruct((d, v), jnp.float32)
    y = jax.ShapeDtypeStruct((n,), jnp.int32)
    if reduction == "none":
        def scalar(a, b, c):
            return jnp.sum(loss(a, b, c))
    else:
        scalar = loss
    start = time.perf_counter()
    compiled = jax.jit(jax.value_and_grad(scalar, argnums=(0, 1))).lower(h, w, y).compile()
    return compiled.memory_analysis().temp_size_in_bytes, time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=8192)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--vocab", type=int, default=32768)
    parser.add_argument("--chunks", default="32,64,128,256,512,1024,2048")
    parser.add_argument("--reduction", default="mean", choices=("mean", "none"))
    args = parser.parse_args(argv)
    n, d, v = args.tokens, args.dim, args.vocab
    logits = n * v * 4
    print(f"N={n} D={d} V={v}, reduction={args.reduction}: f32 logits = {logits / MIB:.0f} MiB, "
          f"budget logits/8 = {logits / 8 / MIB:.0f} MiB; jax {jax.__version__}, {jax.default_backend()}, "
          f"{os.cpu_count()} cpus")
    print("| implementation | chunk | temp MiB | temp / logits | compile s |")
    print("|---|---:|---:|---:|---:|")
    chunks = [int(c) for c in args.chunks.split(",")]
    default = default_chunk_size(n, v)
    for chunk in sorted({*chunks, default}):
        def fused(h, w, y, chunk=chunk):
            return jaxloss.fused_linear_cross_entropy(h, w, y, chunk_size=chunk, reduction=args.reduction)

        temp, secs = temp_bytes(fused, n, d, v, args.reduction)
        tag = " (default)" if chunk == default else ""
        print(f"| fused | {chunk}{tag} | {temp / MIB:.1f} | {temp / logits:.3f} | {secs:.1f} |")
    temp, secs = temp_bytes(unfused_loss, n, d, v)
    print(f"| unfused | - | {temp / MIB:.1f} | {temp / logits:.3f} | {secs:.1f} |")


if __name__ == "__main__":
    main()
