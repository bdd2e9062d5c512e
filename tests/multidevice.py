"""Runs a test script on 8 emulated CPU devices in a subprocess (the suite keeps one device)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

PRELUDE = """
import jax, jax.numpy as jnp, numpy as np
from jax.sharding import PartitionSpec as P
import jaxloss

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")
assert jax.device_count() == 8, jax.devices()
mesh = jax.sharding.Mesh(np.array(jax.devices()), ("d",))
rng = np.random.default_rng(0)
"""


def run_on_eight_devices(body: str) -> None:
    """Runs ``PRELUDE + body``; the script must print ``OK`` on success."""
    script = PRELUDE + textwrap.dedent(body)
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=8"
    env = dict(os.environ, XLA_FLAGS=flags, JAX_PLATFORMS="cpu")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0 and "OK" in result.stdout, result.stdout + result.stderr
