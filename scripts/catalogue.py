"""Writes the catalogue table in README.md from the registry.

    python scripts/catalogue.py          # rewrite README.md
    python scripts/catalogue.py --check  # exit 1 if README.md is stale
"""

from __future__ import annotations

import pathlib
import sys

import jaxloss

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- catalogue:start -->", "<!-- catalogue:end -->"


def table() -> str:
    rows = ["| family | loss | aliases | checked against |", "|---|---|---|---|"]
    for name, family in jaxloss.available().items():
        info = jaxloss.info(name)
        aliases = ", ".join(f"`{a}`" for a in info.aliases)
        rows.append(f"| {family} | `{name}` | {aliases} | {info.reference} |")
    return "\n".join(rows)


def render(text: str) -> str:
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    text = README.read_text()
    new = render(text)
    if "--check" in argv:
        if new != text:
            print("README.md catalogue is stale: run python scripts/catalogue.py")
            return 1
        return 0
    README.write_text(new)
    print(f"README.md: {len(jaxloss.available())} losses")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
