"""Test configuration: strict dtype promotion and rank promotion = raise.

Losses must cast and broadcast explicitly; anything implicit fails here.

Tests that start their own interpreters or kernels (notebooks, the demo, the
8-device subprocess tests) are marked ``separate``: ``.ci/run`` runs the unit
suite with ``-m "not separate"`` and these as a step of their own; a plain
``pytest`` runs both.
"""

import fnmatch
import os

# The tests' shapes are tiny, so XLA's compile is most of their time: JAX's own switch (LLVM
# at -O0, no expensive passes) cuts it by a quarter with the same values; subprocesses inherit it.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")

import jax
import numpy as np
import pytest

# The reference generators need the anchors (torch, MONAI, ...) and are not tests.
# tests/typing/ is checked by pyright, not run.
collect_ignore_glob = ["references/gen_*.py", "references/generate.py", "typing/*"]

SEPARATE = ("test_notebooks.py", "test_demo.py", "test_*_distributed.py", "test_sharded_inputs.py")

jax.config.update("jax_disable_most_optimizations", os.environ["JAX_DISABLE_MOST_OPTIMIZATIONS"] == "1")
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


def pytest_collection_modifyitems(items):
    for item in items:
        if any(fnmatch.fnmatch(item.path.name, pattern) for pattern in SEPARATE):
            item.add_marker(pytest.mark.separate)
        # The registry-wide sweeps of one loss share compiled functions (specs.compiled, ...):
        # with ``-n --dist loadgroup`` they run on one worker, which compiles them once.
        name = getattr(item, "callspec", None) and item.callspec.params.get("name")
        if isinstance(name, str):
            item.add_marker(pytest.mark.xdist_group(name))


@pytest.fixture
def x64():
    """Runs a test with float64 enabled."""
    with jax.enable_x64(True):
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)
