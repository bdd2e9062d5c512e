"""The notebooks' Colab badges point at files that exist (the documentation build executes the
notebooks: ``sphinx-build -W`` fails on any cell error)."""

from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
nbformat = pytest.importorskip("nbformat")


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_colab_badge_points_at_this_file(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0].source
    match = re.search(r"colab\.research\.google\.com/github/[^/]+/[^/]+/blob/main/(\S+?)\)", first)
    assert match, f"{path.name}: the first cell has no Open-in-Colab badge"
    assert (ROOT / match.group(1)).resolve() == path.resolve()
    assert any("TPU" in c.source for c in nb.cells if c.cell_type == "markdown")
