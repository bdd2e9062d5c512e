"""Writes the generated pages of the documentation site from the registry.

    python scripts/docs_api.py            # write docs/api/*.rst (docs/conf.py runs this)
    python scripts/docs_api.py --check    # exit 1 if a written page would change

One page per family (``docs/api/<family>.rst``: every registered loss of the
family, grouped by the module that defines it, then the family's other public
names), ``docs/api/core.rst`` (registry and ``checked``), ``docs/api/index.rst``
and the catalogue ``docs/api/catalogue.rst`` (family, aliases, the anchor the
loss agrees with, a link to its API entry). Nothing here is committed: the site
build regenerates it, so it cannot go stale (``docs/api/`` is in .gitignore).
"""

from __future__ import annotations

import importlib
import inspect
import pathlib
import re
import sys

import jaxloss

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "api"

TITLES = {
    "regression": "Regression",
    "classification": "Classification",
    "embedding": "Embedding and metric learning",
    "self_supervised": "Self-supervised",
    "segmentation": "Segmentation",
    "detection": "Detection",
    "registration": "Registration",
    "distribution": "Distribution and optimal transport",
    "ranking": "Ranking",
    "clustering": "Clustering",
    "adversarial": "Adversarial and GAN",
    "perceptual": "Perceptual",
    "multitask": "Multi-task and regularisers",
    "llm": "LLM: preference, policy, distillation",
    "fused": "Fused (memory-bounded) losses",
}
CORE = ("get", "available", "info", "aliases", "checked", "LossInfo", "FAMILIES")
_RST_SPECIAL = re.compile(r"([\\`*_|\[\]<>])")


def escape(text: str) -> str:
    """Plain text safe inside reStructuredText (no roles, references, emphasis)."""
    return _RST_SPECIAL.sub(r"\\\1", text)


def families() -> list[str]:
    """Registered families in FAMILIES order, then any other registered family."""
    registered = set(jaxloss.available().values())
    order = [m.__name__.rsplit(".", 1)[1] for m in jaxloss.FAMILIES]
    return [f for f in order if f in registered] + sorted(registered - set(order))


def family_module(family: str):
    return importlib.import_module(f"jaxloss.{family}")


def defining_module(fn) -> str:
    return inspect.unwrap(fn).__module__


def utilities() -> dict[str, list[str]]:
    """Public names that are not registered losses nor aliases, by home family."""
    losses = set(jaxloss.available())
    aliases = set(jaxloss.aliases())
    seen: set[str] = set()
    out: dict[str, list[str]] = {}
    for family in families():
        module = family_module(family)
        names = [
            n for n in module.__all__ if n not in losses and n not in aliases and n not in seen
        ]
        seen.update(names)
        out[family] = sorted(names)
    return out


def first_line(doc: str | None) -> str:
    return (inspect.cleandoc(doc or "").splitlines() or [""])[0].strip()


def loss_entry(name: str) -> list[str]:
    info = jaxloss.info(name)
    lines = [f".. autofunction:: jaxloss.{name}", ""]
    meta = []
    if info.aliases:
        meta.append("   :Aliases: " + ", ".join(f"``{a}``" for a in info.aliases))
    meta.append(f"   :Checked against: {escape(info.reference)}")
    meta.append(f'   :By name: ``jaxloss.get("{name}")``')
    return [*lines, *meta, ""]


def family_page(family: str, extra: list[str]) -> str:
    title = TITLES.get(family, family)
    module = family_module(family)
    names = [n for n, f in jaxloss.available().items() if f == family]
    by_module: dict[str, list[str]] = {}
    for n in names:
        by_module.setdefault(defining_module(jaxloss.get(n)), []).append(n)
    lines = [f".. _api-{family}:", "", title, "=" * len(title), ""]
    lines += [
        f"``jaxloss.{family}`` — {first_line(module.__doc__)} "
        f"Every name is also importable flat, as ``jaxloss.<name>``.",
        "",
        ".. currentmodule:: jaxloss",
        "",
        ".. autosummary::",
        "",
    ]
    lines += [f"   {n}" for n in names + extra] + [""]
    for mod_name in sorted(by_module, key=lambda m: by_module[m][0]):
        mod = importlib.import_module(mod_name)
        heading = first_line(mod.__doc__).rstrip(".") or mod_name  # reST, as in the docstring
        lines += [heading, "-" * len(heading), ""]
        for n in by_module[mod_name]:
            lines += loss_entry(n)
    if extra:
        lines += ["Helpers", "-------", ""]
        for n in extra:
            obj = getattr(jaxloss, n)
            kind = "autoclass" if inspect.isclass(obj) else "autofunction"
            lines += [f".. {kind}:: jaxloss.{n}", ""]
    return "\n".join(lines).rstrip() + "\n"


def core_page() -> str:
    lines = [
        "Registry and checking",
        "=====================",
        "",
        "Every loss is registered under its name (and aliases) with its family and the",
        "anchor it agrees with; ``jaxloss.checked`` turns value errors under ``jit`` into",
        "raised errors.",
        "",
        ".. currentmodule:: jaxloss",
        "",
    ]
    for n in CORE:
        obj = getattr(jaxloss, n)
        if inspect.isclass(obj):
            lines += [f".. autoclass:: jaxloss.{n}", "   :members:", ""]
        elif callable(obj):
            lines += [f".. autofunction:: jaxloss.{n}", ""]
        else:
            lines += [
                f".. py:data:: jaxloss.{n}",
                "",
                "   The family subpackages, in catalogue order: "
                + ", ".join(f"``{m.__name__}``" for m in obj)
                + ".",
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


def catalogue_page() -> str:
    available = jaxloss.available()
    lines = [
        ".. _catalogue:",
        "",
        "Catalogue",
        "=========",
        "",
        f"All {len(available)} registered losses, generated from the registry at build time.",
        "*Checked against* is the anchor whose semantics the loss follows: the tests",
        "compare values and gradients with it (or with goldens generated from it).",
        "Every name and alias also works with ``jaxloss.get``.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 12 28 15 45",
        "",
        "   * - family",
        "     - loss",
        "     - aliases",
        "     - checked against",
    ]
    for name, family in available.items():
        info = jaxloss.info(name)
        aliases = ", ".join(f"``{a}``" for a in info.aliases) or "—"
        lines += [
            f"   * - :doc:`{family}`",
            f"     - :func:`~jaxloss.{name}`",
            f"     - {aliases}",
            f"     - {escape(info.reference)}",
        ]
    return "\n".join(lines) + "\n"


def index_page(fams: list[str]) -> str:
    counts = {f: sum(1 for v in jaxloss.available().values() if v == f) for f in fams}
    lines = [
        "API reference",
        "=============",
        "",
        "One page per family, generated from the registry and the docstrings.",
        "Every loss is importable flat (``jaxloss.huber_loss``) and from its family",
        "(``jaxloss.regression.huber_loss``); ``jaxloss.mining`` re-exports the miners",
        "and ``jaxloss.fused`` the fused LLM losses.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - family",
        "     - losses",
    ]
    for f in fams:
        lines += [f"   * - :doc:`{f}`", f"     - {counts[f]}"]
    lines += ["", ".. toctree::", "   :hidden:", "", "   catalogue", "   core"]
    lines += [f"   {f}" for f in fams]
    return "\n".join(lines) + "\n"


def pages() -> dict[str, str]:
    fams = families()
    extra = utilities()
    out = {
        "index.rst": index_page(fams),
        "catalogue.rst": catalogue_page(),
        "core.rst": core_page(),
    }
    for f in fams:
        out[f"{f}.rst"] = family_page(f, extra.get(f, []))
    return out


def write(check: bool = False) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    stale = []
    wanted = pages()
    for name, text in wanted.items():
        path = OUT / name
        if not path.exists() or path.read_text() != text:
            stale.append(name)
            if not check:
                path.write_text(text)  # only when changed: Sphinx rebuilds what changed
    for path in OUT.glob("*.rst"):
        if path.name not in wanted:
            stale.append(path.name)
            if not check:
                path.unlink()
    if check and stale:
        print("docs/api is stale:", ", ".join(sorted(stale)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(write(check="--check" in sys.argv[1:]))
