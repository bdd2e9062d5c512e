"""The documentation site's generated pages and its tested recipe.

The site build (``sphinx-build -W``, in CI) executes the notebooks and the code
cells of the landing page and the guides; the recipe below is shown with
``literalinclude`` and run here.
"""

from __future__ import annotations

import os
import pathlib
import re
import runpy
import subprocess
import sys

import jax
import pytest

import jaxloss

ROOT = pathlib.Path(__file__).resolve().parent.parent
RECIPE = ROOT / "docs" / "recipes" / "shard_map_contrastive.py"
sys.path.insert(0, str(ROOT / "scripts"))
import docs_api  # noqa: E402

sys.path.remove(str(ROOT / "scripts"))


def test_catalogue_page_lists_every_registered_loss_with_anchor_and_link():
    page = docs_api.catalogue_page()
    for name in jaxloss.available():
        assert f":func:`~jaxloss.{name}`" in page, name
        assert docs_api.escape(jaxloss.info(name).reference) in page, name


def test_every_public_name_has_one_api_entry():
    pages = docs_api.pages()
    text = "\n".join(pages.values())
    entries = re.findall(r"^\.\. auto(?:function|class):: jaxloss\.(\w+)", text, flags=re.M)
    assert len(entries) == len(set(entries)), "a name is documented twice"
    public = set(jaxloss.__all__) - set(jaxloss.aliases()) - {"FAMILIES"}
    assert public <= set(entries), sorted(public - set(entries))
    for family in set(jaxloss.available().values()):
        assert f"{family}.rst" in pages
        assert f"   {family}" in pages["index.rst"]


def test_escape_leaves_no_markup():
    assert docs_api.escape("0.5 * sum |p - q|, batchmean") == r"0.5 \* sum \|p - q\|, batchmean"


@pytest.mark.separate  # ~13 s of CPU: compiles a sharded training step
def test_shard_map_recipe_runs_on_one_device(capsys):
    # optax's Adam promotes implicitly: the user's default promotion, not the suite's strict one.
    with jax.numpy_dtype_promotion("standard"):
        runpy.run_path(str(RECIPE), run_name="__main__")
    assert "OK" in capsys.readouterr().out


@pytest.mark.separate
def test_shard_map_recipe_runs_on_eight_devices():
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=8"
    env = dict(os.environ, XLA_FLAGS=flags, JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [sys.executable, str(RECIPE)], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0 and "devices 8" in result.stdout and "OK" in result.stdout, (
        result.stdout + result.stderr[-3000:]
    )


def test_html_check_finds_unrendered_markup(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import docs_check_html
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    good = '<p>A loss <span class="math notranslate">\\(\\frac{a}{b}\\)</span>, <code>``x``</code>.</p>'
    (tmp_path / "good.html").write_text(good)
    assert docs_check_html.check(tmp_path) == []
    (tmp_path / "bad.html").write_text("<p>Args: {args} and :math:`x` and $$x$$</p>")
    problems = docs_check_html.check(tmp_path)
    assert len(problems) == 3 and all(p.startswith("bad.html") for p in problems)
