"""The package's layout: generated exports are current, imports form no cycle and keep
to the house rules (DESIGN.md, "Layout"), every loss is reachable flat and from its
family, and private modules stay readable in one sitting."""

from __future__ import annotations

import ast
import importlib
import pathlib
import subprocess
import sys

import pytest

import jaxloss

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "jaxloss"
MAX_LINES = 700
# Registry families whose subpackage has another name.
SUBPACKAGE = {"fused": "llm"}


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
PACKAGES = {name for name, p in MODULES.items() if p.name == "__init__.py"}
FAMILIES = sorted(
    p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists() and not p.name.startswith("_")
)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module_level: bool):
    """Import statements; with ``module_level``, those run at import time only (not in
    function bodies or ``if TYPE_CHECKING:`` blocks)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if module_level and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if module_level and isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child
            stack.append(child)


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The jaxloss modules an import statement executes (package ``__init__`` files included,
    except those of the importing module's own ancestors, which are already importing)."""
    if isinstance(node, ast.Import):
        bases = [alias.name for alias in node.names]
        names: list[str] = []
    else:
        if node.level:
            package = module if module in PACKAGES else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{node.module}" if node.module else package
        else:
            base = node.module or ""
        bases, names = [base], [alias.name for alias in node.names]
    ancestors = {module.rsplit(".", i)[0] for i in range(1, module.count(".") + 1)}
    out: set[str] = set()
    for base in bases:
        if base != "jaxloss" and not base.startswith("jaxloss."):
            continue
        parts = base.split(".")
        out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        out.update(f"{base}.{n}" for n in names if f"{base}.{n}" in MODULES)
    return {t for t in out if t in MODULES and t not in ancestors and t != module}


def _graph(module_level: bool) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        graph[name] = set().union(*(_targets(name, n) for n in _imports(tree, module_level)))
    return graph


def _family(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in FAMILIES else None


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph)))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_generated_exports_are_current():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "exports.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_typing_user_file_is_current():
    # tests/typing/user_calls.py calls every public name (pyright checks it in .ci/run).
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "typing_calls.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_import_walk_sees_the_family_reexports():
    # The walker itself: the flat namespace imports every family, each family its modules.
    graph = _graph(module_level=True)
    assert {f"jaxloss.{f}" for f in FAMILIES} <= graph["jaxloss"]
    assert any(t.startswith("jaxloss.regression._") for t in graph["jaxloss.regression"])


def test_no_import_cycle():
    cycles = _cycles(_graph(module_level=True))
    assert not cycles, "import cycles between modules:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_no_family_imports_another_familys_private_module():
    problems = []
    for module, targets in _graph(module_level=False).items():
        family = _family(module)
        if family is None:
            continue
        for t in sorted(targets):
            other = _family(t)
            private = any(part.startswith("_") for part in t.split(".")[2:])
            if other is not None and other != family and private:
                problems.append(f"{module} imports {t}")
    assert not problems, "move what families share into jaxloss._src:\n" + "\n".join(problems)


def test_src_imports_no_family():
    problems = []
    for module, targets in _graph(module_level=False).items():
        if not module.startswith("jaxloss._src"):
            continue
        # ``jaxloss`` itself imports every family.
        problems += [f"{module} imports {t}" for t in sorted(targets) if t == "jaxloss" or _family(t)]
    assert not problems, "\n".join(problems)


def test_py_typed_is_shipped():
    assert (PACKAGE / "py.typed").is_file()


def test_every_loss_is_reachable_flat_and_from_its_family_subpackage():
    problems = []
    for name, family in jaxloss.available().items():
        fn = jaxloss.get(name)
        subpackage = SUBPACKAGE.get(family, family)
        module = importlib.import_module(f"jaxloss.{subpackage}")
        if getattr(jaxloss, name, None) is not fn:
            problems.append(f"jaxloss.{name}")
        if getattr(module, name, None) is not fn:
            problems.append(f"jaxloss.{subpackage}.{name}")
        if name not in jaxloss.__all__ or name not in getattr(module, "__all__", ()):
            problems.append(f"{name} missing from __all__ of jaxloss or jaxloss.{subpackage}")
    assert not problems, "not reachable: " + ", ".join(problems)


PRIVATE = sorted(
    p for p in PACKAGE.rglob("*.py")
    if p.name != "__init__.py" and (p.name.startswith("_") or "_src" in p.relative_to(PACKAGE).parts)
)


@pytest.mark.parametrize("path", PRIVATE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_private_module_fits_in_one_sitting(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)}: {lines} lines > {MAX_LINES}: split it by concept"
