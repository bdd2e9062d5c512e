"""Regenerates the golden reference files from the anchors (torch, MONAI, POT, ...).

Each family has ``gen_<family>.py`` beside this file with ``generate() ->
dict[str, np.ndarray]``; its output is saved to ``<family>.npz``. The anchors
are needed here, not by the tests:

    pip install torch==2.13.0 pytorch-metric-learning monai pot ott-jax rax
    python tests/references/generate.py            # every family
    python tests/references/generate.py regression # one family
"""

from __future__ import annotations

import importlib
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).parent


def families() -> list[str]:
    return sorted(p.stem[len("gen_"):] for p in HERE.glob("gen_*.py"))


def main(argv: list[str]) -> None:
    sys.path.insert(0, str(HERE))
    for family in argv or families():
        module = importlib.import_module(f"gen_{family}")
        arrays = module.generate()
        np.savez_compressed(HERE / f"{family}.npz", **arrays)
        print(f"{family}: {len(arrays)} arrays -> {family}.npz")


if __name__ == "__main__":
    main(sys.argv[1:])
