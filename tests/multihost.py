"""Runs a test script in N local JAX processes (``jax.distributed`` over gloo on 127.0.0.1).

Each process gets ``devices`` CPU devices; the script body sees ``pid``, ``nproc``, a global
``mesh`` over every process's devices with axis ``"d"``, ``P``, ``rng`` (same seed everywhere)
and ``glob(x)``: the global array sharded along axis 0 whose rows this process holds. It must
print ``OK``. Processes are killed after ``timeout`` seconds.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

PRELUDE = """
import sys
import jax
jax.config.update("jax_cpu_collectives_implementation", "gloo")
addr, nproc, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
jax.distributed.initialize(addr, num_processes=nproc, process_id=pid, initialization_timeout=120)
import numpy as np, jax.numpy as jnp
from jax.sharding import NamedSharding, PartitionSpec as P
import jaxloss

mesh = jax.make_mesh((jax.device_count(),), ("d",))
rng = np.random.default_rng(0)


def glob(x):
    rows = len(x) // nproc
    return jax.make_array_from_process_local_data(NamedSharding(mesh, P("d")), x[pid * rows:(pid + 1) * rows])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_processes(body: str, processes: int = 2, devices: int = 1, timeout: float = 240) -> list[str]:
    """Runs ``PRELUDE + body`` in ``processes`` processes; returns their outputs, asserts each said OK."""
    script = PRELUDE + textwrap.dedent(body)
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}"
    env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS=flags)
    address = f"127.0.0.1:{free_port()}"
    procs = [subprocess.Popen([sys.executable, "-c", script, address, str(processes), str(i)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for i in range(processes)]
    outputs = []
    try:
        for p in procs:
            out, _ = p.communicate(timeout=timeout)
            outputs.append(out)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for i, (p, out) in enumerate(zip(procs, outputs)):
        assert p.returncode == 0 and "OK" in out, f"process {i} (exit {p.returncode}):\n{out[-4000:]}"
    return outputs
