"""Run the jaxloss benchmarks and write ``bench/RESULTS.md`` (+ ``bench/ratios.png``).

Usage (from the repository root)::

    python bench/run.py [--quick] [--only NAME[,NAME]] [--repeats N] [--isolate] [--out bench/RESULTS.md]

Every module ``bench/scenarios/<family>.py`` defines ``SCENARIOS`` (see
``bench/harness.py``) and may define ``NOTES: str`` (free-form Markdown copied
verbatim into RESULTS.md under its family). For each scenario and each
implementation the runner calls the factory, compiles a JAX step ahead of time
(timing trace + compile on its own and reading XLA's temporary bytes), times
the first call, warms up, then times the repeats one call at a time and reports
median, min and max. Ratios are jaxloss time / peer time. Memory scenarios (and
every scenario with ``--isolate``) run each implementation in a child process
(``--child``) so that its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import gc
import importlib
import json
import math
import os
import pkgutil
import platform
import re
import resource
import shlex
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
# `python bench/run.py` puts bench/ itself first on sys.path; the scenarios import `bench.harness`.
sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != BENCH_DIR]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.harness import JaxStep, Scenario  # noqa: E402

SUBJECT = "jaxloss"
PACKAGES = (
    "jaxloss", "jax", "jaxlib", "optax", "numpy", "torch", "pytorch-metric-learning",
    "monai", "ott-jax", "POT", "scipy",
)
OK, MISSING, ERROR = "ok", "not installed", "error"
MEMORY = "memory"  # --only keyword selecting every memory scenario
CHILD_MARK = "bench-child-result: "  # prefix of the line a --child process prints its result on
MIB = 2**20


@dataclasses.dataclass(frozen=True)
class Config:
    """How long to time each implementation."""

    quick: bool = False
    repeats: int | None = None  # exact number of timed calls; None = adaptive
    budget_s: float = 1.0  # adaptive: aim for this much timed time ...
    min_repeats: int = 10  # ... but at least this many calls ...
    max_repeats: int = 10_000
    max_total_s: float = 30.0  # ... and stop (after >= 3 calls) once this is spent
    warmup_calls: int = 2  # warm-up: at least this many calls, then until warmup_s
    warmup_s: float = 0.2
    max_warmup_calls: int = 20
    torch_threads: int = os.cpu_count() or 1
    isolate: bool = False  # every implementation in its own process (memory scenarios always are)

    @classmethod
    def make(cls, quick: bool, repeats: int | None = None, torch_threads: int | None = None,
             isolate: bool = False) -> Config:
        extra: dict = {"isolate": isolate} | ({"torch_threads": torch_threads} if torch_threads else {})
        if quick:
            return cls(True, repeats, budget_s=0.15, min_repeats=3, max_repeats=2000, max_total_s=1.5,
                       warmup_calls=1, warmup_s=0.03, max_warmup_calls=5, **extra)
        return cls(False, repeats, **extra)


@dataclasses.dataclass
class ImplResult:
    impl: str
    status: str = OK
    message: str = ""
    first_ms: float | None = None
    times_ms: list[float] = dataclasses.field(default_factory=list)
    compile_ms: float | None = None  # trace + lower + compile of a JaxStep; None when eager
    temp_bytes: int | None = None  # XLA's temp_size_in_bytes of the compiled step; None when eager
    peak_rss_mib: float | None = None  # process peak RSS during the calls; measured in a child process only
    run_rss_mib: float | None = None  # ... minus the RSS just before the first call
    compiled_only: bool = False  # a JaxStep with run=False: compiled, never called

    @property
    def ok(self) -> bool:
        return self.status == OK and bool(self.times_ms)

    @property
    def eager(self) -> bool:
        return self.status == OK and self.compile_ms is None

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms)


@dataclasses.dataclass
class ScenarioResult:
    scenario: Scenario
    module: str
    impls: dict[str, ImplResult]

    def ratios(self) -> dict[str, float]:
        """jaxloss median / peer median for every peer that ran (temp bytes for a memory scenario)."""
        mine = self.impls.get(SUBJECT)
        if self.scenario.memory:
            if mine is None or mine.status != OK or not mine.temp_bytes:
                return {}
            return {name: mine.temp_bytes / r.temp_bytes for name, r in self.impls.items()
                    if name != SUBJECT and r.status == OK and r.temp_bytes}
        if mine is None or not mine.ok:
            return {}
        return {name: mine.median_ms / r.median_ms for name, r in self.impls.items()
                if name != SUBJECT and r.ok and r.median_ms > 0}


@dataclasses.dataclass
class Discovery:
    scenarios: list[tuple[str, Scenario]]  # (module name, scenario)
    notes: dict[str, str]  # module name -> NOTES
    errors: dict[str, str]  # module name -> import error


# --------------------------------------------------------------------------- discovery


def scenario_modules(package: str = "bench.scenarios") -> list[str]:
    """Full names of the public modules of ``package``, sorted."""
    pkg = importlib.import_module(package)
    return sorted(f"{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)
                  if not m.name.startswith("_"))


def discover(package: str = "bench.scenarios") -> Discovery:
    """Imports every scenario module; a module that fails to import is recorded, not fatal."""
    found = Discovery([], {}, {})
    for name in scenario_modules(package):
        short = name.rsplit(".", 1)[-1]
        try:
            module = importlib.import_module(name)
        except Exception as e:
            found.errors[short] = f"{type(e).__name__}: {e}"
            continue
        scenarios = getattr(module, "SCENARIOS", None)
        if not isinstance(scenarios, list | tuple) or not all(isinstance(s, Scenario) for s in scenarios):
            found.errors[short] = "SCENARIOS is missing or not a list of bench.harness.Scenario"
            continue
        found.scenarios.extend((short, s) for s in scenarios)
        notes = getattr(module, "NOTES", "")
        if isinstance(notes, str) and notes.strip():
            found.notes[short] = notes.strip()
    return found


def select(scenarios: list[tuple[str, Scenario]], only: str | None) -> list[tuple[str, Scenario]]:
    """Keeps the scenarios whose name (or family, or module) is listed in ``only``."""
    if not only:
        return scenarios
    wanted = {w.strip() for w in only.split(",") if w.strip()}
    tags = [(m, s, {s.name, s.family, m} | ({MEMORY} if s.memory else set())) for m, s in scenarios]
    unknown = wanted - set().union(*(t for _, _, t in tags))
    if unknown:
        names = ", ".join(sorted(s.name for _, s in scenarios))
        raise SystemExit(f"--only: unknown scenario(s) {sorted(unknown)}; available: {names}")
    return [(m, s) for m, s, t in tags if t & wanted]


# --------------------------------------------------------------------------- timing


def _set_torch_threads(threads: int) -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def _missing_peer(e: ImportError) -> bool:
    """An ImportError means "peer not installed" unless it is jaxloss itself that failed."""
    name = getattr(e, "name", None) or ""
    return name.split(".")[0] != SUBJECT and SUBJECT not in str(e)


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _status_mib(field: str) -> float | None:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in MiB; None where there is none."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _reset_peak_rss() -> bool:
    """Resets the process's peak RSS (``VmHWM``) to its current RSS (Linux >= 4.0); False if it cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return _status_mib("VmHWM") is not None


def _lifetime_peak_mib() -> float:
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / MIB


_jax_warm = False


def _warm_jax() -> None:
    """One tiny jitted value_and_grad, so the first compile timed does not pay the backend's start-up."""
    global _jax_warm
    if not _jax_warm:
        import jax
        import jax.numpy as jnp

        jax.block_until_ready(jax.jit(jax.value_and_grad(lambda x: jnp.sum(x * x)))(jnp.ones(3)))
        _jax_warm = True


def time_impl(impl: str, factory: Callable, config: Config, *, memory: bool = False,
              rss: bool = False) -> ImplResult:
    """Builds one implementation and times it: compile (JAX), first call, warm-up, then the repeats.

    ``memory``: one call only (it is the first call and the only timed one). ``rss``: record the
    peak RSS during the calls, meaningful when this process runs nothing else (a child process).
    """
    result = ImplResult(impl)
    fn = None
    try:
        fn = factory(config.quick)
        _set_torch_threads(config.torch_threads)
        if isinstance(fn, JaxStep):
            _warm_jax()
            result.compile_ms = 1e3 * _timed(fn.compile)
            result.temp_bytes = fn.temp_bytes()
            if not fn.run:
                result.compiled_only = True
                return result
        gc.collect()
        rss_before = _status_mib("VmRSS") if rss else None
        peak_reset = rss and _reset_peak_rss()
        result.first_ms = 1e3 * _timed(fn)
        if memory:
            result.times_ms = [result.first_ms]
        else:
            _time_repeats(fn, config, result)
        if rss:
            peak = _status_mib("VmHWM") if peak_reset else None
            result.peak_rss_mib = peak if peak is not None else _lifetime_peak_mib()
            if peak is not None and rss_before is not None:
                result.run_rss_mib = max(peak - rss_before, 0.0)
    except ImportError as e:
        result.times_ms = []
        if _missing_peer(e):
            result.status, result.message = MISSING, f"{type(e).__name__}: {e}"
        else:
            result.status, result.message = ERROR, f"{type(e).__name__}: {e}"
            traceback.print_exc()
    except Exception as e:
        result.times_ms = []
        result.status, result.message = ERROR, f"{type(e).__name__}: {e}"
        traceback.print_exc()
    finally:
        if fn is not None:  # free this implementation's inputs before the next one runs
            del fn
            gc.collect()
    return result


def _time_repeats(fn: Callable[[], object], config: Config, result: ImplResult) -> None:
    warm = [_timed(fn)]
    while len(warm) < config.warmup_calls or (
            sum(warm) < config.warmup_s and len(warm) < config.max_warmup_calls):
        warm.append(_timed(fn))
    if config.repeats is not None:
        n = config.repeats
    else:
        per_call = max(statistics.median(warm), 1e-7)
        n = min(max(math.ceil(config.budget_s / per_call), config.min_repeats), config.max_repeats)
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(n):
            result.times_ms.append(1e3 * _timed(fn))
            if (config.repeats is None and len(result.times_ms) >= 3
                    and time.perf_counter() - start > config.max_total_s):
                break
    finally:
        if gc_was_enabled:
            gc.enable()


def child_command(module: str, scenario: str, impl: str, config: Config) -> list[str]:
    """The command line of a child process that runs one implementation (see :func:`run_child`)."""
    cmd = [sys.executable, str(BENCH_DIR / "run.py"), "--child", f"{module}:{scenario}:{impl}",
           "--torch-threads", str(config.torch_threads)]
    if config.quick:
        cmd.append("--quick")
    if config.repeats is not None:
        cmd += ["--repeats", str(config.repeats)]
    return cmd


def time_isolated(module: str, scenario: Scenario, impl: str, config: Config) -> ImplResult:
    """:func:`time_impl` in a fresh Python process, with its peak RSS; its stderr passes through."""
    cmd = child_command(module, scenario.name, impl, config)
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    except OSError as e:
        return ImplResult(impl, ERROR, f"cannot start a child process: {e}")
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(CHILD_MARK):
            return ImplResult(**json.loads(line[len(CHILD_MARK):]))
    how = f"killed by signal {-proc.returncode}" if proc.returncode < 0 else f"exit status {proc.returncode}"
    return ImplResult(impl, ERROR, f"child process ended without a result ({how})")


def run_child(spec: str, config: Config) -> int:
    """``--child MODULE:SCENARIO:IMPL``: times one implementation, prints its result as one JSON line."""
    module, name, impl = spec.split(":", 2)
    found = [s for m, s in discover().scenarios if m == module and s.name == name]
    if not found or impl not in found[0].impls:
        print(f"--child: no implementation {spec!r}", file=sys.stderr)
        return 2
    scenario = found[0]
    result = time_impl(impl, scenario.impls[impl], config, memory=scenario.memory, rss=True)
    print(CHILD_MARK + json.dumps(dataclasses.asdict(result)), flush=True)
    return 0


class _Progress:
    """tqdm when installed, else one line per step on stderr."""

    def __init__(self, total: int):
        self.total, self.done = total, 0
        try:
            from tqdm import tqdm
        except ImportError:
            self.bar = None
        else:
            self.bar = tqdm(total=total, unit="run", file=sys.stderr, dynamic_ncols=True)

    def start(self, label: str) -> None:
        if self.bar is not None:
            self.bar.set_description(label)
        else:
            print(f"[{self.done + 1}/{self.total}] {label} ...", file=sys.stderr, flush=True)

    def step(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_scenarios(selected: list[tuple[str, Scenario]], config: Config) -> list[ScenarioResult]:
    progress = _Progress(sum(len(s.impls) for _, s in selected))
    results = []
    try:
        for module, scenario in selected:
            impls = {}
            for impl, factory in scenario.impls.items():
                progress.start(f"{scenario.name}/{impl}")
                if scenario.memory or config.isolate:
                    impls[impl] = time_isolated(module, scenario, impl, config)
                else:
                    impls[impl] = time_impl(impl, factory, config)
                progress.step()
            results.append(ScenarioResult(scenario, module, impls))
    finally:
        progress.close()
    return results


# --------------------------------------------------------------------------- targets

_CLAUSE = re.compile(r"(<=|>=|<|>|≤|≥)\s*([0-9]*\.?[0-9]+)\s*[x×]\s*([A-Za-z][\w.\-]*)")
_OPS = {"<=": float.__le__, "≤": float.__le__, "<": float.__lt__,
        ">=": float.__ge__, "≥": float.__ge__, ">": float.__gt__}


def parse_target(text: str) -> list[tuple[str, float, str]]:
    """``"<= 1.05x optax, <= 1.0x torch"`` -> ``[("<=", 1.05, "optax"), ("<=", 1.0, "torch")]``."""
    return [(op, float(value), peer) for op, value, peer in _CLAUSE.findall(text or "")]


def check_target(text: str, ratios: dict[str, float]) -> tuple[str, list[str]]:
    """Verdict ("met", "missed", "n/a", "not parsed" or "") and one line per clause."""
    if not (text or "").strip():
        return "", []
    clauses = parse_target(text)
    if not clauses:
        return "not parsed", []
    lines, verdicts = [], []
    for op, value, peer in clauses:
        if peer not in ratios:
            verdicts.append(None)
            lines.append(f"{op} {value:g}x {peer}: n/a ({peer} did not run)")
            continue
        met = _OPS[op](float(ratios[peer]), value)
        verdicts.append(met)
        lines.append(f"{op} {value:g}x {peer}: {_ratio(ratios[peer])}, {'met' if met else 'missed'}")
    if False in verdicts:
        return "missed", lines
    return ("n/a" if None in verdicts else "met"), lines


# --------------------------------------------------------------------------- environment


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "processor\t: ")) and ":" in line:
                value = line.split(":", 1)[1].strip()
                if value and not value.isdigit():
                    return value
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", "--no-optional-locks", "-C", str(REPO_ROOT), *args],
                             capture_output=True, text=True, timeout=10, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def environment() -> dict[str, str]:
    """Machine description: CPU, cores, RAM, OS, Python, JAX backend, torch threads, load."""
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    env = {
        "CPU": _cpu_model(),
        "cores": f"{os.cpu_count()} logical ({affinity} usable by this process)",
        "RAM": _ram_gib(),
        "OS": platform.platform(),
        "Python": platform.python_version(),
    }
    try:
        import jax

        devices = jax.devices()
        env["JAX backend"] = f"{jax.default_backend()} ({len(devices)} x {devices[0].device_kind})"
    except Exception as e:
        env["JAX backend"] = f"unavailable ({type(e).__name__})"
    torch = sys.modules.get("torch")
    if torch is not None:
        env["torch threads"] = str(torch.get_num_threads())
    commit = _git("rev-parse", "--short", "HEAD")
    if commit:
        dirty = _git("status", "--porcelain", "--untracked-files=no")
        env["git commit"] = commit + (" (with uncommitted changes)" if dirty else "")
    return env


def versions(packages: Iterable[str] = PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that are installed."""
    from importlib import metadata

    out = {}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _load() -> tuple[float, ...]:
    try:
        return os.getloadavg()
    except OSError:
        return ()


def _fmt_load(load: tuple[float, ...]) -> str:
    return "/".join(f"{x:.2f}" for x in load) or "n/a"


# --------------------------------------------------------------------------- report


def _ms(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}x"


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mib(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.3g}" if x < 1000 else f"{x:.0f}"


def _rss(r: ImplResult) -> str:
    if r.peak_rss_mib is None:
        return "-"
    return _mib(r.peak_rss_mib) + ("" if r.run_rss_mib is None else f" (+{_mib(r.run_rss_mib)})")


def impl_rows(result: ScenarioResult, message_limit: int = 100) -> list[list[str]]:
    """Rows: impl, median ms, min-max ms, compile ms, first call ms, repeats, temp MiB, peak RSS, ratio."""
    ratios = result.ratios()
    rows = []
    for name, r in result.impls.items():
        compile_ms = "n/a" if r.eager else _ms(r.compile_ms)
        temp = "n/a" if r.eager else _mib(None if r.temp_bytes is None else r.temp_bytes / MIB)
        ratio = "1 (subject)" if name == SUBJECT else _ratio(ratios.get(name))
        if r.ok:
            rows.append([name, _ms(r.median_ms), f"{_ms(min(r.times_ms))}–{_ms(max(r.times_ms))}",
                         compile_ms, _ms(r.first_ms), str(len(r.times_ms)), temp, _rss(r), ratio])
        elif r.compiled_only:
            rows.append([name, "compiled only", "", compile_ms, "-", "0", temp, "-", ratio])
        else:
            rows.append([name, r.status, "", compile_ms, _ms(r.first_ms), "", "", "",
                         _one_line(r.message, message_limit)])
    return rows


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


IMPL_HEADER = ["impl", "median ms", "min–max ms", "compile ms", "first call ms", "repeats", "temp MiB",
               "peak RSS MiB (+run)", f"{SUBJECT} / impl"]
MEMORY_HEADER = [*IMPL_HEADER[:-1], f"{SUBJECT} / impl (temp)"]


def render_markdown(results: list[ScenarioResult], discovery: Discovery, *, config: Config,
                    env: dict[str, str], vers: dict[str, str], command: str, date: str,
                    note: str = "", chart: str | None = None) -> str:
    out = ["# jaxloss benchmark results", ""]
    out.append(f"Generated by `{command}` on {date}. Regenerate it rather than edit it.")
    out.append("")
    if config.quick:
        out += ["**Quick run** (`--quick`): reduced shapes and few repeats; the numbers are indicative "
                "only. Run without `--quick` for the full sizes.", ""]
    else:
        out += ["Full run (full shapes).", ""]
    if note:
        out += [f"> {line}" for line in note.splitlines()] + [""]

    out += ["## Machine", ""]
    out += _md_table(["", ""], [[k, _one_line(v)] for k, v in env.items()])
    out += ["", "## Versions", ""]
    out += _md_table(["package", "version"], [[k, v] for k, v in vers.items()])
    repeats = (f"exactly {config.repeats} timed calls" if config.repeats is not None else
               f"adaptive repeats: at least {config.min_repeats} calls and about {config.budget_s:g} s "
               f"of timed calls (at most {config.max_repeats}, stopping after {config.max_total_s:g} s)")
    isolated = ("Every implementation ran in its own child process." if config.isolate else
                "Memory scenarios ran each implementation in its own child process; the others ran in "
                "this process, where peak RSS is not attributable (\"-\").")
    out += ["", "## Method", "",
            "Each implementation runs forward + backward of the mean loss, compiled (`jax.jit`) for "
            "JAX, eager for torch, and blocks until the result is ready. For JAX, **compile ms** is the "
            "trace + lower + XLA compile of the jitted function (`jax.jit(f).lower(*args).compile()`), "
            "timed on its own before any call, and **temp MiB** is that compiled function's "
            "`memory_analysis().temp_size_in_bytes` (XLA's scratch buffers, not inputs or outputs); both "
            "are n/a for eager peers (torch, NumPy, SciPy). **first call ms** is the first call after "
            "compiling (for eager peers, their first call); then warm-up calls (excluded), then " + repeats +
            ", each timed on its own with the garbage collector off. The table gives the median, min "
            f"and max. Ratios are {SUBJECT} median / peer median (< 1 means {SUBJECT} is faster). "
            f"torch uses `torch.set_num_threads({config.torch_threads})`; JAX uses its defaults.", "",
            "**Memory scenarios** call each implementation once (no repeats; median = that call) and "
            f"compare temp bytes: their ratio is {SUBJECT} temp / peer temp. **peak RSS MiB (+run)** is "
            "the child process's peak resident memory during the calls (libraries, inputs and compiled "
            "code included) and, in parentheses, its growth over the RSS just before the first call: what "
            "the computation itself allocated. " + isolated, ""]

    summary = []
    for res in results:
        ratios = res.ratios()
        clauses = parse_target(res.scenario.target)
        for peer in [n for n in res.impls if n != SUBJECT] or ["-"]:
            mine = ", ".join(f"{op} {value:g}x {p}" for op, value, p in clauses if p == peer)
            verdict = check_target(mine, ratios)[0] if mine else ""
            shown = _ratio(ratios.get(peer)) + (" (temp)" if res.scenario.memory and peer in ratios else "")
            summary.append([res.scenario.name, peer, shown, mine or "-", verdict or "-"])
    out += ["## Summary", ""]
    out += _md_table(["scenario", "peer", f"{SUBJECT} / peer", "target", "target met"], summary)
    if chart:
        out += ["", f"![{SUBJECT} / peer time ratios]({chart})"]
    out.append("")

    families: dict[str, list[ScenarioResult]] = {}
    for res in results:
        families.setdefault(res.scenario.family, []).append(res)
    for family, members in families.items():
        out += [f"## {family}", ""]
        for module in dict.fromkeys(r.module for r in members):
            if module in discovery.notes:
                out += [discovery.notes[module], ""]
        for res in members:
            s = res.scenario
            out += [f"### {s.name}", "",
                    f"Shape: {s.quick_shape if config.quick else s.shape}"
                    + (f" (full size: {s.shape})" if config.quick else ""), ""]
            if s.target:
                verdict, lines = check_target(s.target, res.ratios())
                out.append(f"Target: {s.target} — **{verdict}**")
                out += [f"- {line}" for line in lines]
                out.append("")
            out += [*_md_table(MEMORY_HEADER if s.memory else IMPL_HEADER, impl_rows(res)), ""]
    with_scenarios = {m for m, _ in discovery.scenarios}
    for module, text in discovery.notes.items():
        if module not in with_scenarios:  # a module with NOTES only
            out += [f"## {module}", "", text, ""]

    problems = [f"- module `{m}` could not be imported: {_one_line(e, 300)}" for m, e in discovery.errors.items()]
    for res in results:
        for name, r in res.impls.items():
            if r.status != OK:
                problems.append(f"- `{res.scenario.name}` / `{name}`: {r.status}: {_one_line(r.message, 300)}")
    if problems:
        out += ["## Skipped and failed", "", *problems, ""]
    return "\n".join(out).rstrip() + "\n"


def render_text(results: list[ScenarioResult], config: Config) -> str:
    """The console table."""
    header = ["scenario", *IMPL_HEADER]
    rows = []
    for res in results:
        for i, row in enumerate(impl_rows(res, message_limit=60)):
            rows.append([res.scenario.name if i == 0 else "", *row])
        verdict, _ = check_target(res.scenario.target, res.ratios())
        if verdict:
            rows.append(["", "", "", "", "", "", "", "", "", f"target {res.scenario.target}: {verdict}"])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    lines = [fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows]
    title = "jaxloss benchmarks" + (" (quick)" if config.quick else "")
    return title + "\n" + "\n".join(lines)


def plot_ratios(results: list[ScenarioResult], path: Path, quick: bool) -> bool:
    """Bar chart of jaxloss / peer ratios; False (with a message) when matplotlib is missing."""
    bars = [(f"{res.scenario.name} vs {peer}", peer, ratio)
            for res in results if not res.scenario.memory for peer, ratio in res.ratios().items()]
    if not bars:
        print("no ratios to plot; skipping the chart", file=sys.stderr)
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle
    except ImportError:
        print("matplotlib is not installed; skipping the chart", file=sys.stderr)
        return False
    peers = list(dict.fromkeys(p for _, p, _ in bars))
    colors = {p: plt.cm.tab10(i % 10) for i, p in enumerate(peers)}
    fig, ax = plt.subplots(figsize=(9.5, 1.2 + 0.32 * len(bars)))
    ys = range(len(bars))[::-1]
    ax.barh(list(ys), [r for _, _, r in bars], color=[colors[p] for _, p, _ in bars])
    for y, (_, _, r) in zip(ys, bars):
        ax.text(r, y, f" {r:.3g}", va="center", fontsize=8)
    ax.set_yticks(list(ys), [label for label, _, _ in bars], fontsize=8)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xlabel(f"{SUBJECT} time / peer time (log scale; < 1: {SUBJECT} faster)")
    ax.set_title("jaxloss vs peers, forward + backward" + (" (quick run)" if quick else ""))
    ax.legend(handles=[Rectangle((0, 0), 1, 1, color=colors[p]) for p in peers], labels=peers,
              fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small shapes and few repeats (a few minutes)")
    parser.add_argument("--only", metavar="NAME[,NAME]", help="scenario names (or families) to run")
    parser.add_argument("--repeats", type=int, metavar="N", help="exact number of timed calls (default: adaptive)")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "RESULTS.md", help="Markdown report path")
    parser.add_argument("--note", default="", help="text quoted at the top of the report (e.g. machine load)")
    parser.add_argument("--torch-threads", type=int, metavar="N",
                        help="torch.set_num_threads(N) (default: os.cpu_count())")
    parser.add_argument("--isolate", action="store_true",
                        help="run every implementation in its own process and report its peak RSS "
                             "(memory scenarios always are)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--child", metavar="MODULE:SCENARIO:IMPL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return run_child(args.child, Config.make(args.quick, args.repeats, args.torch_threads))
    prog, rest = ("bench/run.py", argv) if argv is not None else (sys.argv[0], sys.argv[1:])
    with contextlib.suppress(ValueError):
        prog = os.path.relpath(prog) if os.path.isabs(prog) else prog
    shown = [("…" if i and rest[i - 1] == "--note" else ("--note=…" if a.startswith("--note=") else a))
             for i, a in enumerate(rest)]  # the note is quoted in the report already
    command = " ".join(a if a == "…" else shlex.quote(a) for a in ["python", prog, *shown])
    discovery = discover()
    for module, error in discovery.errors.items():
        print(f"warning: bench/scenarios/{module}.py: {error}", file=sys.stderr)
    if args.list:
        for module, s in discovery.scenarios:
            print(f"{s.name:24s} {module:16s} {', '.join(s.impls)}  [{s.target}]" + ("  (memory)" if s.memory else ""))
        return 0
    selected = select(discovery.scenarios, args.only)
    if not selected:
        print("no scenarios found", file=sys.stderr)
        return 1
    try:
        importlib.import_module(SUBJECT)
    except Exception:
        traceback.print_exc()
        print(f"cannot import {SUBJECT}; nothing timed, {args.out} left as it was", file=sys.stderr)
        return 1
    config = Config.make(args.quick, args.repeats, args.torch_threads, args.isolate)
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load_before = _load()
    start = time.perf_counter()
    results = run_scenarios(selected, config)
    elapsed = time.perf_counter() - start
    env = environment()
    load_after = _load()
    env["load average (1/5/15 min)"] = f"{_fmt_load(load_before)} before, {_fmt_load(load_after)} after"
    cores = os.cpu_count() or 1
    # The benchmark itself keeps every core busy, so the load after it is about `cores`.
    busy = load_before[:1] > (cores,) or load_after[:1] > (cores + 1,)
    note = args.note
    if busy:
        warning = ("Warning: other processes loaded the machine during this run (1-minute load above the core count); "
                   "other processes competed for the CPU and the timings are unreliable.")
        print(warning, file=sys.stderr)
        note = f"{note}\n{warning}" if note else warning
    env["benchmark wall time"] = f"{elapsed:.0f} s"

    print(render_text(results, config))
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    chart = out.with_name("ratios.png")
    drawn = plot_ratios(results, chart, config.quick)
    if not drawn and chart.exists():
        chart.unlink()  # a chart from an earlier run would not match this report
    out.write_text(render_markdown(results, discovery, config=config, env=env, vers=versions(),
                                   command=command, date=date, note=note,
                                   chart=chart.name if drawn else None))
    print(f"\nwrote {out}" + (f" and {chart}" if drawn else ""))
    failed = bool(discovery.errors) or any(r.status == ERROR for res in results for r in res.impls.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
