"""Sphinx configuration of the jaxloss documentation site.

Build (warnings are errors, as in CI):

    sphinx-build -W -b html docs docs/_build/html

At start-up this file regenerates the pages that come from the code
(``scripts/docs_api.py`` -> ``docs/api/``; ``scripts/docs_migration.py`` ->
``docs/migration/``), copies the notebooks from
``notebooks/`` into ``docs/notebooks/`` and writes ``docs/_generated/``; these
are build outputs, not sources (ignored by git).
The notebooks are executed during the build (myst-nb); ``JAXLOSS_DOCS_EXECUTE=off``
renders their committed outputs instead (a quicker local build).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import sys

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT / "scripts"))

import docs_api  # noqa: E402

import jaxloss  # noqa: E402

docs_api.write()
if (ROOT / "scripts" / "docs_migration.py").exists():
    import docs_migration  # the "Coming from ..." pages, from src/jaxloss/_src/anchor_names.py

    docs_migration.write_pages()


def _copy_notebooks() -> None:
    out = DOCS / "notebooks"
    out.mkdir(exist_ok=True)
    wanted = {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        target = out / path.name
        if not target.exists() or target.read_bytes() != path.read_bytes():
            shutil.copyfile(path, target)
    for path in out.glob("*.ipynb"):
        if path.name not in wanted:
            path.unlink()


_copy_notebooks()


def _numerics_report() -> None:
    """tests/NUMERICS.md with its HTML anchors turned into MyST targets."""
    import re

    text = (ROOT / "tests" / "NUMERICS.md").read_text()
    text = re.sub(r'<a id="([^"]+)"></a>', r"(\1)=", text)
    out = DOCS / "_generated" / "numerics.md"
    out.parent.mkdir(exist_ok=True)
    if not out.exists() or out.read_text() != text:
        out.write_text(text)


_numerics_report()

project = "jaxloss"
author = "the jaxloss authors"
copyright = "the jaxloss authors"
release = version = getattr(jaxloss, "__version__", "0.1.0")

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_copybutton",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "_generated", "**.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]
root_doc = "index"

# Docstrings: Google style (Args:, Returns:, Examples:, References:).
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autodoc_type_aliases = {
    "ArrayLike": "ArrayLike",
    "ArrayTree": "ArrayTree",
    "Reduction": "Reduction",
}
autodoc_member_order = "bysource"
autosummary_generate = False
python_use_unqualified_type_names = True
add_module_names = False

# Markdown and notebooks.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = os.environ.get("JAXLOSS_DOCS_EXECUTE", "force")
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

html_theme = "furo"
html_title = f"jaxloss {release}"
html_static_path = ["_static"]
html_theme_options = {
    "source_repository": "https://github.com/jaxloss/jaxloss",
    "source_branch": "main",
    "source_directory": "docs/",
}
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True


def _plain_aliases(app, what, name, obj, options, signature, return_annotation):
    """Sphinx renders a type alias inside a union as ``TypeAliasForwardRef('X')``: show ``X``."""
    import re

    def fix(text):
        return text and re.sub(r"TypeAliasForwardRef\('([^']+)'\)", r"\1", text)

    return fix(signature), fix(return_annotation)


def setup(app):
    app.connect("autodoc-process-signature", _plain_aliases)
