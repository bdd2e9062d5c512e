"""Writes the "Coming from ..." pages (docs/migration/) from the migration table.

The table is ``src/jaxloss/_src/anchor_names.py`` (one row per anchor call and option set); it is
loaded by path, so neither jax nor the anchors are needed. ``docs/conf.py`` may call
``write_pages(outdir)``; from the command line::

    python scripts/docs_migration.py            # writes docs/migration/
    python scripts/docs_migration.py --check    # fails when the committed pages are stale
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import sys
from collections import Counter
from types import ModuleType

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "migration"

INTRO = """\
Each page lists the anchor library's losses that jaxloss covers: the anchor's name and options,
the jaxloss call that agrees with it, and how the row is checked. Every row is executed by the
test suite (`tests/test_migration.py`):

- **anchor in the tests**: optax and scipy are installed with the `test` extra; the test calls
  them on the row's inputs and compares values (and gradients for optax);
- **goldens**: values and gradients the anchor produced (`tests/references/gen_migration.py`,
  float64) on the row's inputs, compared at float32 tolerance;
- **family test**: the named test compares the same call with the anchor's goldens;
- rows that cannot be checked here say why.

`jaxloss.get` accepts the names in the first column, bare (`"BCEWithLogitsLoss"`, `"nll_loss"`)
or with their library prefix (`"torch.nn.functional.nll_loss"`, `"optax.softmax_cross_entropy"`,
`"monai.losses.DiceCELoss"`, `"pml.MultiSimilarityLoss"`). A bare name that two libraries use for
different losses resolves only with its prefix: `"TripletMarginLoss"` (torch's explicit triplets,
`triplet_margin_loss`, versus PML's mined batch loss, `triplet_loss`) and `"ContrastiveLoss"`
(PML's batch loss, `batch_contrastive_loss`, versus sentence-transformers' pair loss,
`contrastive_loss`). A jaxloss name always means the jaxloss loss:
`jaxloss.get("multiclass_hinge_loss")` is the Weston-Watkins loss of torch's `multi_margin_loss`,
while `jaxloss.get("optax.multiclass_hinge_loss")` is `crammer_singer_hinge_loss`.
Rows whose jaxloss side is a solver, factory or wrapper rather than a registered loss
(`gromov_wasserstein`, `exact_ot`, `soft_quantile`, `make_fenchel_young_loss`,
`deep_supervision_loss`, ...) say so in their note: call that function directly, `jaxloss.get`
resolves registered losses only.

Conventions that matter most when migrating:

- `reduction="mean"` with `weights=` is the weighted mean `sum(w*l)/sum(w)`, so `weights=2.0`
  changes nothing; torch's `BCEWithLogitsLoss(weight=)` and MONAI divide by the count instead
  (use `reduction="sum"` and divide by the count to reproduce them);
- `ignore_index` defaults to `None` (torch: `-100`): pass `ignore_index=-100` explicitly;
- `dice_loss` and its relatives apply a softmax by default (MONAI applies none); images are
  channel-last;
- angles are radians (PML's ArcFace margin is in degrees);
- `kl_divergence`'s `"mean"` is per example (torch's `reduction="batchmean"`).
"""


def load_table() -> ModuleType:
    """anchor_names.py, loaded by path."""
    path = ROOT / "src" / "jaxloss" / "_src" / "anchor_names.py"
    spec = importlib.util.spec_from_file_location("_jaxloss_anchor_names", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _check(check: str) -> str:
    if check == "optax":
        return "optax, in the tests"
    if check == "scipy":
        return "scipy, in the tests"
    if check == "golden":
        return "goldens from the anchor"
    if check.startswith("test:"):
        path = check[len("test:") :]
        return f"family test `{path}`"
    return "not checkable here: " + check[len("none: ") :]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _page(table: ModuleType, anchor: str) -> str:
    info = table.ANCHORS[anchor]
    rows = [r for r in table.ROWS if r.anchor == anchor]
    executed = sum(r.check in ("golden", "optax", "scipy") for r in rows)
    lines = [
        f"# Coming from {info['title']}",
        "",
        f"{len(rows)} rows; {executed} executed by `tests/test_migration.py`, "
        f"{sum(r.check.startswith('test:') for r in rows)} by a family test, "
        f"{sum(r.check.startswith('none:') for r in rows)} not checkable here.",
        "",
        "| anchor | options | jaxloss call | checked by | notes |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        names = ", ".join(f"`{n}`" for n in (r.name, *r.aliases))
        full = f"`{r.qualified}`" if r.qualified != r.name else names
        if r.qualified != r.name and r.aliases:
            full += " (" + ", ".join(f"`{a}`" for a in r.aliases) + ")"
        lines.append(
            "| "
            + " | ".join(
                _cell(c)
                for c in (
                    full,
                    f"`{r.options}`" if r.options else "defaults",
                    f"`{r.call()}`",
                    _check(r.check),
                    r.note,
                )
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def pages() -> dict[str, str]:
    """file name -> markdown text of index.md and one page per anchor."""
    table = load_table()
    counts = Counter(r.anchor for r in table.ROWS)
    executed = Counter(r.anchor for r in table.ROWS if r.check in ("golden", "optax", "scipy"))
    out: dict[str, str] = {}
    index = [
        "# Coming from another library",
        "",
        INTRO,
        "| library | rows | executed here | page |",
        "|---|---|---|---|",
    ]
    toc = []
    for anchor, info in table.ANCHORS.items():
        out[f"{anchor}.md"] = _page(table, anchor)
        index.append(
            f"| {info['title']} | {counts[anchor]} | {executed[anchor]} | [{anchor}]({anchor}.md) |"
        )
        toc.append(anchor)
    index += [
        f"| **total** | {sum(counts.values())} | {sum(executed.values())} | |",
        "",
        "```{toctree}",
        ":maxdepth: 1",
        ":hidden:",
        "",
        *toc,
        "```",
        "",
    ]
    out["index.md"] = "\n".join(index)
    return out


def write_pages(outdir: str | pathlib.Path = DEFAULT_OUT) -> list[pathlib.Path]:
    """Writes the pages into ``outdir`` (created if needed); returns the paths written."""
    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in pages().items():
        path = outdir / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Writes docs/migration/ from the migration table.")
    parser.add_argument("--check", action="store_true", help="fail when docs/migration is stale")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    args = parser.parse_args(argv)
    if args.check:
        stale = [
            name
            for name, text in pages().items()
            if not (pathlib.Path(args.out) / name).exists()
            or (pathlib.Path(args.out) / name).read_text() != text
        ]
        if stale:
            print(
                f"stale migration pages: {', '.join(stale)}; run python scripts/docs_migration.py"
            )
            return 1
        return 0
    for path in write_pages(args.out):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
