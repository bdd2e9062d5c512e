"""tests/NUMERICS.md is current, and jaxloss is finite where the mathematics is.

Runs the ``--check`` logic of scripts/numerics.py in-process: only the jaxloss
rows are recomputed (no torch, MONAI, POT or ott-jax needed). When this fails
after a deliberate change, regenerate the report with
``python scripts/numerics.py`` (needs the peer libraries of the bench extra).
"""

import importlib.util
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("numerics", ROOT / "scripts" / "numerics.py")
numerics = importlib.util.module_from_spec(_spec)
sys.modules["numerics"] = numerics  # dataclasses look their module up there
_spec.loader.exec_module(numerics)

KEYS = [case.key for case in numerics.CASES]

# Cases where jaxloss is NaN/inf although the true value is finite (listed in
# the report's verdicts). Remove an entry when the loss is fixed, then
# regenerate tests/NUMERICS.md.
DEFECTS: dict[str, str] = {}  # case -> defect, for cases where jaxloss is known to be wrong


@pytest.fixture(scope="module")
def stored():
    assert numerics.REPORT.exists(), "tests/NUMERICS.md is missing: run python scripts/numerics.py"
    return numerics.read_jaxloss_rows(numerics.REPORT.read_text())


@pytest.fixture(scope="module")
def rows():
    return {}


def _row(rows, key):
    if key not in rows:
        case = next(c for c in numerics.CASES if c.key == key)
        rows[key] = numerics.jaxloss_row(case)
    return rows[key]


@pytest.mark.parametrize("key", KEYS)
def test_report_is_current(key, stored, rows):
    new = _row(rows, key)
    assert key in stored, f"{key} is not in tests/NUMERICS.md: run python scripts/numerics.py"
    old = stored[key]
    assert len(old) == len(new) and all(numerics._same_cell(a, b) for a, b in zip(old, new)), (
        f"tests/NUMERICS.md is stale for {key}: file has {old}, jaxloss now gives {new}; "
        "run python scripts/numerics.py"
    )


def test_report_has_no_stale_cases(stored):
    assert set(stored) == set(KEYS)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=f"defect: {DEFECTS[k]}"))
        if k in DEFECTS
        else k
        for k in KEYS
    ],
)
def test_jaxloss_is_finite_where_the_math_is(key, rows):
    verdict = _row(rows, key)[4]
    assert verdict == "ok", f"{key}: jaxloss {verdict}"


def test_cell_comparison():
    same = numerics._same_cell
    assert same("[0.3333, -1e+08, 0]", "[0.33331, -1.0001e+08, 0]")
    assert same("[1, 5.142e-09]", "[1, 0]")  # cancellation noise
    assert not same("0.69315", "0.6942")
    assert not same("0.5", "NaN")
    assert not same("[0, NaN]", "[0, 0]")
    assert not same("finite, max abs 1", "NaN in 1/8; rest finite, max abs 1")
    assert numerics.format_grad([1.0, float("nan")]) == "[1, NaN]"
    assert numerics.format_value(float("inf")) == "inf"


def test_check_detects_a_stale_file(tmp_path, stored):
    key = "kl_zero_targets"
    line = "| " + " | ".join(stored[key]) + " |"
    text = numerics.REPORT.read_text()
    assert line in text
    stale = tmp_path / "NUMERICS.md"
    stale.write_text(text.replace(line, line.replace("0.69315", "0.7", 1)))
    assert [p.split(":")[0] for p in numerics.check(stale, keys={key})] == [key]
    assert numerics.check(numerics.REPORT, keys={key}) == []
