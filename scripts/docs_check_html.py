"""Checks the built site for markup that did not render.

    python scripts/docs_check_html.py [docs/_build/html]

Looks at the prose of every page (math, code and literal text removed) for
leftovers: template fields (``{args}``), reST/MyST roles and directives
(``:math:``, ``.. math::``, ``{func}``), TeX outside a math container
(``$$``, ``\\frac``, ``\\sum``), doubled backticks, Sphinx's
``TypeAliasForwardRef`` in signatures, and error outputs of executed
notebooks. Exits 1 and lists them if any is found.
"""

from __future__ import annotations

import html
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
LEFTOVERS = (
    "{args}",
    ":math:",
    ".. math::",
    "$$",
    "\\frac",
    "\\sum",
    "\\begin{",
    "``",
    ":func:",
    ":class:",
    ":doc:",
    "{func}",
    "{doc}",
    "{math}",
    "TypeAliasForwardRef",
)
SKIP = ("_modules/", "_sources/", "_static/", "genindex.html", "search.html")


def prose(page: str) -> str:
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", page, flags=re.S)
    body = re.sub(r'<div class="math[^"]*"[^>]*>.*?</div>', "", body, flags=re.S)
    body = re.sub(r'<span class="math[^"]*"[^>]*>.*?</span>', "", body, flags=re.S)
    body = re.sub(r"<pre>.*?</pre>", "", body, flags=re.S)
    body = re.sub(r"<code[^>]*>.*?</code>", "", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", body))


def check(site: pathlib.Path) -> list[str]:
    problems = []
    pages = sorted(p for p in site.rglob("*.html") if not str(p.relative_to(site)).startswith(SKIP))
    if not pages:
        return [f"{site}: no pages (build the site first)"]
    for path in pages:
        raw = path.read_text()
        text = prose(raw)
        for token in LEFTOVERS:
            at = text.find(token)
            if at >= 0:
                context = " ".join(text[max(0, at - 60) : at + 60].split())
                problems.append(f"{path.relative_to(site)}: {token!r} in ... {context} ...")
        if "TypeAliasForwardRef" in raw:
            problems.append(f"{path.relative_to(site)}: TypeAliasForwardRef in a signature")
        if 'class="output traceback' in raw or "output_error" in raw:
            problems.append(f"{path.relative_to(site)}: a notebook cell shows an error")
    print(f"{len(pages)} pages checked, {len(problems)} problems")
    return problems


def main(argv: list[str]) -> int:
    site = pathlib.Path(argv[0]) if argv else ROOT / "docs" / "_build" / "html"
    problems = check(site)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
