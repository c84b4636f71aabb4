"""The import structure of src/hetflow, read with ast: no import cycle between modules, no private name used across
modules, and the lazy package exports agree with what mypy is shown.

Every import counts, at module level, inside a function or under `if TYPE_CHECKING:`: an import that runs late is
still a dependency, and a cycle through one is still a cycle between modules (it only fails later, or in mypy).
"""

from __future__ import annotations

import ast
import importlib
import itertools
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "hetflow"


@dataclass
class Module:
    name: str
    path: Path
    is_package: bool
    tree: ast.Module
    imports: dict[str, int] = field(default_factory=dict)  # imported hetflow module -> first line


@cache
def modules() -> dict[str, Module]:
    """Every module of src/hetflow, with the hetflow modules it imports."""
    return parsed({path.relative_to(SRC): path.read_text() for path in sorted((SRC / ROOT).rglob("*.py"))})


def parsed(sources: dict[Path, str]) -> dict[str, Module]:
    """Modules from their sources by path (relative to src/), each with the hetflow modules it imports."""
    found: dict[str, Module] = {}
    for path, text in sources.items():
        parts = list(path.with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        found[name] = Module(name, path, is_package, ast.parse(text, str(path)))
    for m in found.values():
        for node, target in imported(m, found):
            m.imports.setdefault(target, node.lineno)
    return found


def package_of(m: Module) -> str:
    return m.name if m.is_package else m.name.rpartition(".")[0]


def absolute(m: Module, node: ast.ImportFrom) -> str:
    """The module a `from ... import` names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    base = package_of(m).split(".")
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def imported(m: Module, known: dict[str, Module]) -> Iterator[tuple[ast.stmt, str]]:
    """(statement, hetflow module) for each module an import statement of m names: `from P import x` names the
    submodule P.x when there is one, else P."""
    for node in ast.walk(m.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield node, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = absolute(m, node)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in known:
                    yield node, sub
                elif base in known:
                    yield node, base


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle (a closed walk, first module repeated at the end) per strongly connected component that has one;
    breaking it may leave another in the same component (describe names them all)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan; the graph has a few hundred edges, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                components.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [closed_walk(graph, set(comp), comp[0]) for comp in components]


def closed_walk(graph: dict[str, dict[str, int]], comp: set[str], start: str) -> list[str]:
    """The shortest cycle through start inside one strongly connected component (breadth first)."""
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v]):
                if w not in comp:
                    continue
                if w == start:
                    walk = [v]
                    while walk[-1] != start:
                        walk.append(parent[walk[-1]])
                    return [start, *reversed(walk[:-1]), start]
                if w not in parent:
                    parent[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"{start} is on no cycle")


def describe(cycle: list[str], mods: dict[str, Module]) -> str:
    """The cycle with the line of each import, and every module of its knot (those that reach each other)."""
    steps = [f"{a} (line {mods[a].imports[b]})" for a, b in itertools.pairwise(cycle)]
    graph = {name: m.imports for name, m in mods.items()}
    knot = sorted(v for v in reachable(graph, cycle[0]) if cycle[0] in reachable(graph, v))
    return " -> ".join([*steps, cycle[-1]]) + f"  [knot: {', '.join(knot)}]"


def reachable(graph: dict[str, dict[str, int]], start: str) -> set[str]:
    seen, stack = {start}, [start]
    while stack:
        for w in graph[stack.pop()]:
            if w not in seen:
                seen.add(w)
                stack.append(w)
    return seen


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_definitions(m: Module) -> set[str]:
    """The private names a module defines: functions, classes, assignments and attributes (`self._x = ...`)."""
    names: set[str] = set()
    for node in ast.walk(m.tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.alias) and node.asname:
            names.add(node.asname)
    return {n for n in names if is_private(n)}


def private_uses(m: Module, known: dict[str, Module]) -> Iterator[str]:
    """Private names m takes from another module: `from hetflow.x import _y`, `hetflow.x._y` or `alias._y` where the
    alias is a module, a private module (`_name`) imported from outside its own package, and `obj._y` where _y is
    defined by another hetflow module and not by this one (an object's private member reached from outside; a
    subclass's own `self._y`, inherited from a base class, is its own business)."""
    here = m.name.split(".")
    where = str(m.path)

    def outside_package(target: str) -> bool:
        parts = target.split(".")
        return any(is_private(part) and here[:i] != parts[:i] for i, part in enumerate(parts))

    aliases: dict[str, str] = {}  # local name -> hetflow module it is bound to
    for node in ast.walk(m.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    if outside_package(alias.name):
                        yield f"{where}:{node.lineno}: imports {alias.name}"
                    aliases[alias.asname or alias.name.partition(".")[0]] = (alias.asname and alias.name) or ROOT
        elif isinstance(node, ast.ImportFrom):
            base = absolute(m, node)
            if base not in known:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in known:
                    if outside_package(sub):
                        yield f"{where}:{node.lineno}: imports {sub}"
                    aliases[alias.asname or alias.name] = sub
                elif is_private(alias.name) and base != m.name:
                    yield f"{where}:{node.lineno}: from {base} import {alias.name}"
    for node in ast.walk(m.tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            target = dotted(node.value, aliases)
            if target is None or target not in known or target == m.name:
                continue
            if f"{target}.{node.attr}" in known and not outside_package(f"{target}.{node.attr}"):
                continue
            yield f"{where}:{node.lineno}: uses {target}.{node.attr}"
    own = private_definitions(m)
    elsewhere = {n for other in known.values() if other is not m for n in private_definitions(other)}
    for node in ast.walk(m.tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr) and node.attr not in own:
            receiver = node.value.id if isinstance(node.value, ast.Name) else None
            if node.attr in elsewhere and receiver not in ("self", "cls") and dotted(node.value, aliases) is None:
                yield f"{where}:{node.lineno}: uses .{node.attr} of an object defined elsewhere"


def dotted(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """The module an expression such as `hetflow.spec.dag` or `dag` stands for, when it is one."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        base = dotted(node.value, aliases)
        return f"{base}.{node.attr}" if base is not None else None
    return None


def by_place(use: str) -> tuple[str, int]:
    path, line, _ = use.split(":", 2)
    return path, int(line)


def test_private_uses_are_found() -> None:
    mods = parsed(
        {
            Path("p/__init__.py"): "",
            Path("p/_inner.py"): "def _helper(): ...\nclass Box:\n    def __init__(self): self._secret = 1\n",
            Path("p/a.py"): "from p._inner import _helper, Box\nfrom . import _inner\nx = _inner._helper\n",
            Path("p/b.py"): "import p._inner as inner\ndef f(box): return box._secret, inner._helper\n",
            Path("q.py"): "from p import _inner\nimport os\nos._exit\n",
        }
    )
    found = sorted(use for m in mods.values() for use in private_uses(m, mods))
    assert found == [
        "p/a.py:1: from p._inner import _helper",
        "p/a.py:3: uses p._inner._helper",
        "p/b.py:2: uses ._secret of an object defined elsewhere",
        "p/b.py:2: uses p._inner._helper",
        "q.py:1: imports p._inner",
    ]


def test_the_graph_sees_imports_everywhere() -> None:
    mods = modules()
    assert {"hetflow.cli", "hetflow.cli.group", "hetflow.spec.dag", "hetflow.lazy"} <= set(mods)
    assert "hetflow.spec.dag" in mods["hetflow.spec.workflow"].imports  # `from hetflow.spec import dag`: the module
    assert "hetflow.spec.load" in mods["hetflow.spec"].imports  # under TYPE_CHECKING
    assert "hetflow.spec.load" in mods["hetflow.cli.group"].imports  # inside a function


def test_cycles_are_found_and_named() -> None:
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1, "d": 1}, "d": {}, "e": {"e": 1}}
    assert cycles(graph) == [["a", "b", "c", "a"], ["e", "e"]]


def test_no_import_cycle_between_modules() -> None:
    mods = modules()
    found = cycles({name: m.imports for name, m in mods.items()})
    assert not found, "import cycles:\n" + "\n".join(describe(c, mods) for c in found)


def test_no_private_name_is_used_across_modules() -> None:
    mods = modules()
    found = sorted({use for m in mods.values() for use in private_uses(m, mods)}, key=by_place)
    assert not found, "private names used across modules:\n" + "\n".join(found)


LAZY_PACKAGES = ["hetflow", "hetflow.spec", "hetflow.report", "hetflow.faas"]


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_lazy_exports_are_what_mypy_is_shown(package: str) -> None:
    """The names a package exports lazily come from the modules its TYPE_CHECKING imports name, and each resolves."""
    m = modules()[package]
    shown = {
        alias.asname or alias.name: absolute(m, node)
        for node in ast.walk(m.tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if absolute(m, node) not in ("typing", "hetflow.lazy", "hetflow")  # (hetflow: its import-time `built`)
    }
    pkg = importlib.import_module(package)
    assert sorted(shown) == sorted(pkg.__all__)
    for name, home in shown.items():
        assert getattr(pkg, name) is getattr(importlib.import_module(home), name)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = pkg.nothing_here


def test_subpackages_are_reached_through_the_package_as_before() -> None:
    code = "import hetflow; print(hetflow.spec.dag.levels.__name__, hetflow.sim.run_simulation.__name__)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["levels", "run_simulation"]


def fresh_imports(statement: str) -> set[str]:
    """The top-level packages a fresh interpreter has loaded after one statement."""
    code = f"import sys; {statement}; print(' '.join(sorted({{n.partition('.')[0] for n in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(out.split())


FLAT_RUN = (
    "from hetflow.sim.simulator import run_simulation; from hetflow.spec.load import load_definition, load_platform; "
    "wf = load_definition({'workflow': 'w', 'tasks': [{'name': 'a', 'cores': 2, 'runtime': 3},"
    " {'name': 'b', 'runtime': 2, 'after': ['a']}]}); "
    "pf = load_platform({'platform': 'p', 'nodes': [{'type': 'n', 'count': 2, 'cores': 4}]}); "
    "r = run_simulation(wf, pf, 'task', 'fifo'); assert r.engine is None and r.makespan_s == 5.0; r.summary()"
)


@pytest.mark.parametrize(
    ("statement", "absent"),
    [
        ("import hetflow", {"pydantic", "yaml", "numpy", "rich", "click", "matplotlib"}),
        ("import hetflow.core.engine", {"pydantic", "yaml", "numpy", "rich", "matplotlib"}),
        ("from hetflow.spec import Workflow, Platform, dag, trace", {"pydantic", "yaml", "numpy"}),
        ("import hetflow.cli", {"pydantic", "yaml", "numpy", "rich", "matplotlib", "dask", "ray"}),
        ("from hetflow.report import print_table", {"matplotlib"}),
        (FLAT_RUN, {"numpy", "yaml", "matplotlib"}),  # numpy is a quarter of a simulate command's start-up
        ("from hetflow.faas import Endpoint", {"starlette", "uvicorn", "numpy", "pydantic", "yaml", "cloudpickle"}),
    ],
)
def test_importing_a_part_loads_only_what_it_needs(statement: str, absent: set[str]) -> None:
    assert not absent & fresh_imports(statement)


def test_simulate_json_loads_neither_numpy_nor_rich(tmp_path: Path) -> None:
    """A short `hetflow simulate --json` pays for what it prints: no numpy (the flat kernel's summary needs none) and
    no rich (only a table needs it)."""
    (tmp_path / "w.json").write_text(
        '{"workflow": "w", "tasks": [{"name": "a", "runtime": 3}, {"name": "b", "after": "a"}]}'
    )
    (tmp_path / "p.json").write_text('{"platform": "p", "nodes": [{"type": "n", "count": 1, "cores": 2}]}')
    code = (
        "import atexit, sys; from hetflow.cli import main; "
        "atexit.register(lambda: sys.stderr.write('LOADED ' + ' '.join({m.partition('.')[0] for m in sys.modules})));"
        "sys.argv = ['hetflow', 'simulate', 'w.json', '--platform', 'p.json', '--json']; main()"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert '"makespan_s": 3.0' in done.stdout
    loaded = set(done.stderr.rpartition("LOADED ")[2].split())
    assert "hetflow" in loaded and not {"numpy", "rich", "matplotlib", "yaml"} & loaded
