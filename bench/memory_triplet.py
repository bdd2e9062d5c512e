"""Peak memory of ``triplet_loss`` forward + backward for each mining, B in {1024, 4096}, D = 128.

    python bench/memory_triplet.py [--sizes 1024,4096] [--dim 128]

Each (B, mining) runs in a fresh subprocess, which reports XLA's compiled
``memory_analysis()`` (temporary buffers, arguments, outputs) and the peak RSS of
the process after one forward + backward step (minus its RSS before the step,
i.e. after import, input creation and compilation). Soft-margin batch-all
(the only mining with B^3 work, done in anchor chunks) is compiled but, at
B = 4096, not run on CPU (about 2e11 softplus evaluations): its temporary size
is XLA's figure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys
import jax, jax.numpy as jnp, numpy as np
import jaxloss

b, d, mining, soft, run = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1", sys.argv[5] == "1"
rng = np.random.default_rng(0)
x = jnp.asarray(rng.standard_normal((b, d)), jnp.float32)
y = jnp.asarray(rng.integers(0, 64, b), jnp.int32)
step = jax.jit(jax.value_and_grad(lambda e: jaxloss.triplet_loss(e, y, margin=0.2, mining=mining, soft_margin=soft)))
compiled = step.lower(x).compile()
mem = compiled.memory_analysis()
out = {"temp_mb": mem.temp_size_in_bytes / 2**20, "args_mb": mem.argument_size_in_bytes / 2**20,
       "out_mb": mem.output_size_in_bytes / 2**20}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if run:
    jax.block_until_ready(compiled(x))
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["step_rss_mb"] = out["peak_rss_mb"] - before
print(json.dumps(out))
"""

CASES = (("batch_hard", False), ("semi_hard", False), ("batch_all", False), ("batch_all", True))


def measure(b: int, d: int, mining: str, soft: bool) -> dict:
    run = not (soft and b > 1024)
    result = subprocess.run([sys.executable, "-c", CHILD, str(b), str(d), mining, str(int(soft)), str(int(run))],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1024,4096")
    parser.add_argument("--dim", type=int, default=128)
    args = parser.parse_args()
    print(f"{'B':>5} {'mining':<16} {'XLA temp MB':>12} {'peak RSS MB':>12} {'step RSS MB':>12}   "
          f"(B^3 float32 would be)")
    for b in (int(s) for s in args.sizes.split(",")):
        for mining, soft in CASES:
            r = measure(b, args.dim, mining, soft)
            name = mining + (" soft" if soft else "")
            rss = f"{r['peak_rss_mb']:12.0f} {r['step_rss_mb']:12.0f}" if "peak_rss_mb" in r else f"{'not run':>12} {'':>12}"
            print(f"{b:>5} {name:<16} {r['temp_mb']:12.1f} {rss}   {4 * b**3 / 2**30:.0f} GiB", flush=True)


if __name__ == "__main__":
    main()
