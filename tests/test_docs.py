"""Documentation contracts: docstrings of registered losses, README catalogue and example."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

import jaxloss

ROOT = pathlib.Path(__file__).resolve().parent.parent
SECTIONS = (".. math::", "Args:", "Returns:", "Examples:", ">>>", "References:")


@pytest.mark.parametrize("name", sorted(jaxloss.available()))
def test_registered_loss_docstring_has_every_section(name):
    doc = jaxloss.get(name).__doc__ or ""
    missing = [s for s in SECTIONS if s not in doc]
    assert not missing, f"{name}: docstring lacks {missing}"


def test_readme_catalogue_is_up_to_date():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "catalogue.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_python_examples_run():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    for block in blocks:  # in a fresh interpreter: a user's default JAX configuration
        result = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-3000:]


PUBLIC = sorted(
    n for n in set(jaxloss.__all__)
    if callable(getattr(jaxloss, n)) and not isinstance(getattr(jaxloss, n), type) and n not in jaxloss.available()
)


@pytest.mark.parametrize("name", PUBLIC)
def test_public_utility_docstring_has_returns_and_example(name):
    doc = getattr(jaxloss, name).__doc__ or ""
    missing = [s for s in ("Returns:", "Examples:", ">>>") if s not in doc]
    assert not missing, f"{name}: docstring lacks {missing}"
