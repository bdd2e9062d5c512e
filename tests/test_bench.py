"""Structure of the benchmark scenarios, the runner's bookkeeping and columns, and the memory
scenarios on their quick shapes (no torch needed: torch peers are reported as not installed)."""

from __future__ import annotations

import dataclasses
import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import run  # noqa: E402
from bench.harness import JaxStep, Scenario, jax_fwd_bwd  # noqa: E402

# Peers that CI does not install: a scenario module must import them inside its factories.
PEERS = ("torch", "monai", "pytorch_metric_learning", "ot", "ott", "rax", "sentence_transformers",
         "sklearn", "tensorflow", "matplotlib", "tqdm")
MODULES = run.scenario_modules()
SCENARIOS = run.discover().scenarios
MEMORY_SCENARIOS = [(m, s) for m, s in SCENARIOS if s.memory]


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
        assert isinstance(s.memory, bool), f"{where}: memory must be a bool"
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
    assert ok.eager and ok.compile_ms is None and ok.temp_bytes is None and ok.peak_rss_mib is None
    capsys.readouterr()


def _square(quick, run=True):
    return jax_fwd_bwd(lambda x: (x * x).sum(), np.ones((64, 64), np.float32), run=run)


def test_compile_and_memory_columns():
    config = run.Config.make(quick=True, repeats=2)
    step = run.time_impl("jaxloss", _square, config)
    assert step.ok and not step.eager and len(step.times_ms) == 2
    assert step.compile_ms is not None and step.compile_ms > 0
    assert step.temp_bytes is not None and step.temp_bytes >= 0
    assert step.peak_rss_mib is None  # in-process: not attributable
    once = run.time_impl("jaxloss", _square, config, memory=True, rss=True)
    assert once.times_ms == [once.first_ms] and once.peak_rss_mib is not None and once.peak_rss_mib > 0
    if Path("/proc/self/clear_refs").exists():
        assert once.run_rss_mib is not None and once.run_rss_mib >= 0
    compiled = run.time_impl("jaxloss", lambda quick: _square(quick, run=False), config)
    assert compiled.compiled_only and compiled.status == run.OK and not compiled.times_ms
    assert compiled.first_ms is None and compiled.temp_bytes is not None


@pytest.mark.parametrize("name", [s.name for _, s in SCENARIOS])
def test_subject_is_compiled(name):
    """The subject of every scenario is a JaxStep, so its compile and temp columns are filled."""
    scenario = next(s for _, s in SCENARIOS if s.name == name)
    step = scenario.impls[run.SUBJECT](True)
    assert isinstance(step, JaxStep), f"{name}: the {run.SUBJECT} factory must return bench.harness.jax_fwd[_bwd]"


def test_memory_scenarios_found():
    names = {s.name for _, s in MEMORY_SCENARIOS}
    assert {"fused_linear_ce_memory", "triplet_memory_4096", "sinkhorn_memory_1000"} <= names
    assert run.select(SCENARIOS, run.MEMORY) == MEMORY_SCENARIOS


# One memory scenario per module: the others of a module differ only in their sizes.
@pytest.mark.parametrize("name", [s.name for _, s in dict(MEMORY_SCENARIOS[::-1]).items()])
def test_memory_scenario_quick(name, capsys):
    """Every implementation on the quick shapes, in this process; torch peers may be missing."""
    module, scenario = next((m, s) for m, s in MEMORY_SCENARIOS if s.name == name)
    config = run.Config.make(quick=True)
    impls = {impl: run.time_impl(impl, factory, config, memory=True) for impl, factory in scenario.impls.items()}
    capsys.readouterr()
    for impl, r in impls.items():
        assert r.status in (run.OK, run.MISSING), f"{name}/{impl}: {r.status}: {r.message}"
        if r.status == run.OK and not r.eager:
            assert r.compile_ms is not None and r.compile_ms > 0 and r.temp_bytes is not None
            assert r.compiled_only or len(r.times_ms) == 1
    result = run.ScenarioResult(scenario, module, impls)
    compiled = {i for i, r in impls.items() if i != run.SUBJECT and r.temp_bytes}
    assert set(result.ratios()) == compiled
    text = run.render_markdown([result], run.Discovery([(module, scenario)], {}, {}), config=config,
                               env={}, vers={}, command="python bench/run.py --quick", date="today")
    assert "| " + " | ".join(run.MEMORY_HEADER) + " |" in text and "(temp)" in text


def test_isolated_child():
    """A memory scenario's implementation in a child process reports its peak RSS."""
    module, scenario = next((m, s) for m, s in MEMORY_SCENARIOS if s.name == "sinkhorn_memory_10")
    r = run.time_isolated(module, scenario, run.SUBJECT, run.Config.make(quick=True))
    assert r.ok, r.message
    assert r.compile_ms is not None and r.temp_bytes is not None and len(r.times_ms) == 1
    assert r.peak_rss_mib is not None and r.peak_rss_mib > 0
    if Path("/proc/self/clear_refs").exists():
        assert r.run_rss_mib is not None
    bad = run.time_isolated(module, dataclasses.replace(scenario, name="nope"), run.SUBJECT, run.Config.make(True))
    assert bad.status == run.ERROR and "without a result" in bad.message


def test_report():
    scenario = Scenario("toy", "toyfamily", "[10] f32", "[2] f32",
                        {"jaxloss": _trivial, "peer": _trivial, "gone": _missing_peer}, target="<= 1.05x peer")
    impls = {
        "jaxloss": run.ImplResult("jaxloss", first_ms=5.0, times_ms=[1.0, 1.0, 1.2], compile_ms=40.0,
                                  temp_bytes=3 * 2**20),
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
    assert "| " + " | ".join(run.IMPL_HEADER) + " |" in text
    assert "| jaxloss | 1 | 1–1.2 | 40 | 5 | 3 | 3 | - | 1 (subject) |" in text
    assert "| peer | 2 | 2–2.5 | n/a | 2 | 3 | n/a | - | 0.5x |" in text
    assert "compile ms" in text and "temp_size_in_bytes" in text
    assert "**met**" in text and "not installed" in text and "brokenmodule" in text
    assert "toy" in run.render_text([result], run.Config.make(quick=True))
    assert run.select(discovery.scenarios, "toyfamily") == discovery.scenarios
    with pytest.raises(SystemExit, match="unknown scenario"):
        run.select(discovery.scenarios, "nothing")


def test_report_memory_scenario():
    scenario = Scenario("toymem", "toyfamily", "[10] f32", "[2] f32", {"jaxloss": _trivial, "big": _trivial,
                        "eager": _trivial, "soft": _trivial}, memory=True)
    impls = {
        "jaxloss": run.ImplResult("jaxloss", first_ms=3.0, times_ms=[3.0], compile_ms=10.0, temp_bytes=2**20,
                                  peak_rss_mib=300.0, run_rss_mib=1.5),
        "big": run.ImplResult("big", first_ms=6.0, times_ms=[6.0], compile_ms=20.0, temp_bytes=4 * 2**20,
                              peak_rss_mib=1500.0, run_rss_mib=1200.0),
        "eager": run.ImplResult("eager", first_ms=9.0, times_ms=[9.0], peak_rss_mib=400.0, run_rss_mib=50.0),
        "soft": run.ImplResult("soft", compile_ms=30.0, temp_bytes=8 * 2**20, compiled_only=True),
    }
    result = run.ScenarioResult(scenario, "toymodule", impls)
    assert result.ratios() == {"big": 0.25, "soft": 0.125}
    text = run.render_markdown([result], run.Discovery([("toymodule", scenario)], {}, {}),
                               config=run.Config.make(quick=False), env={}, vers={}, command="x", date="today")
    assert "| " + " | ".join(run.MEMORY_HEADER) + " |" in text
    assert "| jaxloss | 3 | 3–3 | 10 | 3 | 1 | 1 | 300 (+1.5) | 1 (subject) |" in text
    assert "| big | 6 | 6–6 | 20 | 6 | 1 | 4 | 1500 (+1200) | 0.25x |" in text
    assert "| eager | 9 | 9–9 | n/a | 9 | 1 | n/a | 400 (+50) | - |" in text
    assert "| soft | compiled only |  | 30 | - | 0 | 8 | - | 0.125x |" in text
    assert "| toymem | big | 0.25x (temp) | - | - |" in text
    assert not run.plot_ratios([result], Path("unused.png"), quick=False)  # time ratios only
