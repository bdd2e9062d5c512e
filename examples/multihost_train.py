"""Data-parallel training across N local processes with a cross-device contrastive loss.

    python examples/multihost_train.py --processes 2

starts 2 JAX processes on this machine (``jax.distributed`` over gloo on 127.0.0.1; on a
real cluster each host runs the worker part with its own ``process_id``). Each process
holds its shard of every batch of scikit-learn's digits; a Flax (NNX) encoder is trained
with ``jaxloss.supervised_contrastive_loss(axis_name="d")`` inside ``shard_map``, so
every anchor is contrasted with the whole global batch, and the gradient of the replicated
parameters is the global one. The script checks that the parameters stay identical on
every process and that nearest-centroid accuracy on held-out digits improves.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys


def launch(processes: int, steps: int) -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{s.getsockname()[1]}"
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", str(i), "--processes", str(processes),
                               "--address", address, "--steps", str(steps)], env=env)
             for i in range(processes)]
    codes = [p.wait() for p in procs]
    return max(codes)


def worker(pid: int, processes: int, address: str, steps: int) -> None:
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(address, num_processes=processes, process_id=pid)

    import jax.numpy as jnp
    import numpy as np
    import optax
    from flax import nnx
    from jax.experimental import multihost_utils
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P
    from sklearn.datasets import load_digits

    import jaxloss

    mesh = jax.make_mesh((jax.device_count(),), ("d",))
    data, replicated = NamedSharding(mesh, P("d")), NamedSharding(mesh, P())
    pixels, targets = load_digits(return_X_y=True)
    x_all = (np.asarray(pixels) / 16.0).astype(np.float32)
    y_all = np.asarray(targets).astype(np.int32)
    x_train, y_train, x_test, y_test = x_all[:1400], y_all[:1400], x_all[1400:], y_all[1400:]

    class Encoder(nnx.Module):
        def __init__(self, rngs: nnx.Rngs):
            self.hidden = nnx.Linear(64, 128, rngs=rngs)
            self.out = nnx.Linear(128, 32, rngs=rngs)

        def __call__(self, x):
            return self.out(nnx.relu(self.hidden(x)))

    graph, params = nnx.split(Encoder(nnx.Rngs(0)))  # same seed: identical on every process
    params = jax.device_put(params, replicated)
    tx = optax.adam(3e-3)
    opt_state = jax.device_put(tx.init(params), replicated)

    def loss_fn(params, x, y):
        def local(params, x, y):
            z = nnx.merge(graph, params)(x)
            return jaxloss.supervised_contrastive_loss(z, y, temperature=0.1, axis_name="d")
        return jax.shard_map(local, mesh=mesh, in_specs=(P(), P("d"), P("d")), out_specs=P())(params, x, y)

    @jax.jit
    def step(params, opt_state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    def accuracy(params):
        embed = jax.jit(lambda p, x: nnx.merge(graph, p)(x))
        z_train, z_test = np.asarray(embed(params, x_train)), np.asarray(embed(params, x_test))
        unit = lambda z: z / np.linalg.norm(z, axis=1, keepdims=True)  # noqa: E731
        centroids = unit(np.stack([unit(z_train)[y_train == c].mean(0) for c in range(10)]))
        return float(np.mean(np.argmax(unit(z_test) @ centroids.T, axis=1) == y_test))

    batch = 64 * processes
    rows = batch // processes
    rng = np.random.default_rng(0)  # same order everywhere; each process takes its rows
    before = accuracy(params)
    losses = []
    for _ in range(steps):
        idx = rng.choice(len(x_train), batch, replace=False)[pid * rows:(pid + 1) * rows]
        x = jax.make_array_from_process_local_data(data, x_train[idx])
        y = jax.make_array_from_process_local_data(data, y_train[idx])
        params, opt_state, loss = step(params, opt_state, x, y)
        losses.append(float(loss))
    after = accuracy(params)
    checksum = float(sum(jnp.sum(jnp.abs(leaf)) for leaf in jax.tree.leaves(params)))
    sums = np.asarray(multihost_utils.process_allgather(jnp.array([checksum])))
    assert np.allclose(sums, sums[0]), f"parameters differ across processes: {sums}"
    print(f"process {pid}/{processes}: loss {losses[0]:.3f} -> {np.mean(losses[-5:]):.3f}, "
          f"held-out nearest-centroid accuracy {before:.3f} -> {after:.3f}", flush=True)
    assert after > before and np.mean(losses[-5:]) < losses[0]
    print("OK", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="Data-parallel training across N local processes.")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--address", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is None:
        sys.exit(launch(args.processes, args.steps))
    worker(args.worker, args.processes, args.address, args.steps)


if __name__ == "__main__":
    main()
