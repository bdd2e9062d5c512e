"""Test configuration: strict dtype promotion and rank promotion = raise.

Losses must cast and broadcast explicitly; anything implicit fails here.
"""

import jax
import numpy as np
import pytest

# The reference generators need the anchors (torch, MONAI, ...) and are not tests.
collect_ignore_glob = ["references/gen_*.py", "references/generate.py"]

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def x64():
    """Runs a test with float64 enabled."""
    with jax.enable_x64(True):
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)
