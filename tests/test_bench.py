"""Structure of the benchmark scenarios and the runner's bookkeeping (no timing, no torch)."""

from __future__ import annotations

import dataclasses
import importlib
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import run  # noqa: E402
from bench.harness import Scenario  # noqa: E402

# Peers that CI does not install: a scenario module must import them inside its factories.
PEERS = ("torch", "monai", "pytorch_metric_learning", "ot", "ott", "rax", "sentence_transformers",
         "sklearn", "tensorflow", "matplotlib", "tqdm")
MODULES = run.scenario_modules()


def test_modules_found():
    assert "bench.scenarios.regression" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_scenario_module(name):
    before = {m for m in PEERS if m in sys.modules}
    module = importlib.import_module(name)
    pulled = {m for m in PEERS if m in sys.modules} - before
    assert not pulled, f"{name} imports {sorted(pulled)} at module level; import peers inside the factories"
    scenarios = getattr(module, "SCENARIOS", None)
    assert isinstance(scenarios, list) and scenarios, f"{name}.SCENARIOS must be a non-empty list"
    notes = getattr(module, "NOTES", "")
    assert isinstance(notes, str), f"{name}.NOTES must be a str"
    for s in scenarios:
        assert isinstance(s, Scenario), f"{name}: {s!r} is not a bench.harness.Scenario"
        where = f"{name}: scenario {s.name!r}"
        for field in ("name", "family", "shape", "quick_shape"):
            value = getattr(s, field)
            assert isinstance(value, str) and value.strip(), f"{where}: {field} must be a non-empty str"
        assert isinstance(s.target, str), f"{where}: target must be a str"
        assert isinstance(s.impls, dict), f"{where}: impls must be a dict"
        assert run.SUBJECT in s.impls, f"{where}: impls has no {run.SUBJECT!r} entry"
        assert len(s.impls) >= 2, f"{where}: no peer to compare with"
        for impl, factory in s.impls.items():
            assert isinstance(impl, str) and impl, f"{where}: impl names must be non-empty str"
            assert callable(factory), f"{where}: impls[{impl!r}] is not callable"
        for op, value, peer in run.parse_target(s.target):
            assert peer in s.impls, f"{where}: target {s.target!r} names {peer!r}, not in impls {list(s.impls)}"
            assert value > 0, f"{where}: target {op} {value}x {peer}"


def test_scenario_names_unique():
    found = run.discover()
    assert not found.errors, found.errors
    names = [s.name for _, s in found.scenarios]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_parse_and_check_target():
    assert run.parse_target("<= 1.05x optax, <= 1.0x torch") == [("<=", 1.05, "optax"), ("<=", 1.0, "torch")]
    assert run.parse_target("faster than torch") == []
    assert run.check_target("", {"optax": 1.0}) == ("", [])
    assert run.check_target("faster than torch", {})[0] == "not parsed"
    assert run.check_target("<= 1.05x optax", {"optax": 1.0})[0] == "met"
    assert run.check_target("<= 1.05x optax, <= 1x torch", {"optax": 1.0, "torch": 2.0})[0] == "missed"
    assert run.check_target("<= 1.05x optax, <= 1x torch", {"optax": 1.0})[0] == "n/a"


def _missing_peer(quick):
    raise ModuleNotFoundError("No module named 'somepeer'", name="somepeer")


def _missing_jaxloss(quick):
    raise ImportError("cannot import name 'nope' from 'jaxloss'", name="jaxloss")


def _broken(quick):
    raise RuntimeError("boom")


def _fails_on_call(quick):
    def fn():
        raise ValueError("bad shape")

    return fn


def _trivial(quick):
    assert quick
    return lambda: None


def test_time_impl_statuses(capsys):
    config = run.Config.make(quick=True, repeats=3)
    ok = run.time_impl("jaxloss", _trivial, config)
    assert ok.ok and len(ok.times_ms) == 3 and ok.first_ms is not None
    assert run.time_impl("peer", _missing_peer, config).status == run.MISSING
    assert run.time_impl("jaxloss", _missing_jaxloss, config).status == run.ERROR
    assert run.time_impl("peer", _broken, config).status == run.ERROR
    failed = run.time_impl("peer", _fails_on_call, config)
    assert failed.status == run.ERROR and "bad shape" in failed.message and not failed.times_ms
    adaptive = run.time_impl("jaxloss", _trivial, dataclasses.replace(run.Config.make(quick=True), max_repeats=5))
    assert adaptive.ok and 3 <= len(adaptive.times_ms) <= 5
    capsys.readouterr()


def test_report():
    scenario = Scenario("toy", "toyfamily", "[10] f32", "[2] f32",
                        {"jaxloss": _trivial, "peer": _trivial, "gone": _missing_peer}, target="<= 1.05x peer")
    impls = {
        "jaxloss": run.ImplResult("jaxloss", first_ms=5.0, times_ms=[1.0, 1.0, 1.2]),
        "peer": run.ImplResult("peer", first_ms=2.0, times_ms=[2.0, 2.0, 2.5]),
        "gone": run.ImplResult("gone", status=run.MISSING, message="No module named 'gone'"),
    }
    result = run.ScenarioResult(scenario, "toymodule", impls)
    assert result.ratios() == {"peer": 0.5}
    notes = "Peak RSS: jaxloss 1 MB, peer 2 MB.\n\n| a | b |\n|---|---|"
    discovery = run.Discovery([("toymodule", scenario)], {"toymodule": notes}, {"brokenmodule": "SyntaxError: x"})
    text = run.render_markdown([result], discovery, config=run.Config.make(quick=True), env={"CPU": "test"},
                               vers={"jax": "0"}, command="python bench/run.py --quick", date="today")
    assert "## toyfamily" in text and notes in text and "Quick run" in text
    assert "| peer | 2 | 2–2.5 | 2 | 3 | 0.5x |" in text
    assert "**met**" in text and "not installed" in text and "brokenmodule" in text
    assert "toy" in run.render_text([result], run.Config.make(quick=True))
    assert run.select(discovery.scenarios, "toyfamily") == discovery.scenarios
    with pytest.raises(SystemExit, match="unknown scenario"):
        run.select(discovery.scenarios, "nothing")
