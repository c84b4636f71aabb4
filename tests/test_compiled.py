"""setup.py compiles some modules with mypyc (COMPILED). An extension module is imported before its source, so one
built before its source last changed would run old code: the suite stops on it and says how to build it again."""

from __future__ import annotations

import ast
import importlib
import os
import shutil
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from hetflow import built

REPO = Path(__file__).resolve().parents[1]


def compiled_sources() -> list[Path]:
    """The sources setup.py's COMPILED lists, read from setup.py without running it."""
    tree = ast.parse((REPO / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "COMPILED" for t in node.targets):
            return [REPO / str(path) for path in ast.literal_eval(node.value)]
    raise AssertionError("setup.py names no COMPILED list")


def test_every_compiled_source_exists_and_imports() -> None:
    sources = compiled_sources()
    assert sources
    for src in sources:
        assert src.is_file(), src
        module = importlib.import_module(".".join(src.relative_to(REPO / "src").with_suffix("").parts))
        assert Path(str(module.__file__)).parent == src.parent  # this tree's, compiled or not


def test_no_compiled_module_is_older_than_its_source() -> None:
    stale = [
        str(built.relative_to(REPO))
        for src in compiled_sources()
        for built in src.parent.glob(f"{src.stem}.*.so")
        if built.stat().st_mtime < src.stat().st_mtime
    ]
    assert not stale, f"{', '.join(stale)}: built before its source last changed; run `make build` (or delete it)"


def test_the_install_compiled_them_where_it_could() -> None:
    """With a C compiler an install compiles them: a build that fell back to interpreted without a word (mypy
    refusing a module, say) would cost the flat kernel 3-4x and pass every other test."""
    if os.environ.get("HETFLOW_PURE") or not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler here, or HETFLOW_PURE=1: installed interpreted")
    missing = [
        str(src.relative_to(REPO)) for src in compiled_sources() if not list(src.parent.glob(f"{src.stem}.*.so"))
    ]
    assert not missing, f"{', '.join(missing)}: not compiled; `make build` says why (or set HETFLOW_PURE=1)"
    running = {m: built.how(importlib.import_module(m)) for m in sorted(built.COMPILED)}
    assert all(how == "compiled" for how in running.values()), running  # built, and loaded (one shared library)


def test_setup_compiles_the_modules_the_package_checks() -> None:
    names = {".".join(src.relative_to(REPO / "src").with_suffix("").parts) for src in compiled_sources()}
    assert names == built.COMPILED


def built_package(root: Path, modules: tuple[str, ...] = ("fast",)) -> tuple[Path, Path, Path]:
    """A package builtpkg under root whose modules (fast, and any others named) have a source and an "extension"
    (not a shared object: importing it would fail), as (package, fast's source, fast's extension)."""
    package = root / "builtpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in modules:
        (package / f"{name}.py").write_text(f"WHERE = 'source of {name}'\n")
        (package / f"{name}{EXTENSION_SUFFIXES[0]}").write_bytes(b"not a shared object")
    return package, package / "fast.py", package / f"fast{EXTENSION_SUFFIXES[0]}"


def test_an_extension_older_than_its_source_is_passed_over_for_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An extension built before its source last changed would run old code (Python imports it first): the source
    is imported instead; one built after it, or within the second an install takes to write both, is imported."""
    package, source, extension = built_package(tmp_path)
    at = source.stat().st_mtime
    monkeypatch.setattr(built, "stale", {})
    monkeypatch.delenv("HETFLOW_PURE", raising=False)

    def found() -> str | None:
        spec = built.FreshSource(frozenset(("builtpkg.fast",))).find_spec("builtpkg.fast", [str(package)])
        return None if spec is None else spec.origin

    os.utime(extension, (at - 60, at - 60))  # built a minute before the source changed
    assert found() == str(source) and list(built.stale) == ["builtpkg.fast"]
    os.utime(extension, (at - built.STALE_S / 2, at - built.STALE_S / 2))  # written by the same install
    assert found() == str(extension)
    os.utime(extension, (at + 60, at + 60))  # built again after the edit
    assert found() == str(extension)
    assert built.FreshSource(frozenset(("builtpkg.fast",))).find_spec("builtpkg.other", [str(package)]) is None


def test_one_stale_extension_turns_every_compiled_module_to_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compiled modules are one build (a compiled module reaches the others' classes in C): one of them older
    than its source, and the others run their sources too, whichever is imported first."""
    package, _, _ = built_package(tmp_path, ("fast", "quick"))
    monkeypatch.setattr(built, "stale", {})
    monkeypatch.delenv("HETFLOW_PURE", raising=False)
    at = (package / "quick.py").stat().st_mtime
    os.utime(package / f"quick{EXTENSION_SUFFIXES[0]}", (at - 60, at - 60))
    finder = built.FreshSource(frozenset(("builtpkg.fast", "builtpkg.quick")))
    spec = finder.find_spec("builtpkg.fast", [str(package)])  # fast's own extension is current
    assert spec is not None and spec.origin == str(package / "fast.py")
    spec = finder.find_spec("builtpkg.quick", [str(package)])
    assert spec is not None and spec.origin == str(package / "quick.py")
    assert set(built.stale) == {"builtpkg.fast", "builtpkg.quick"}
    assert all(why.startswith("builtpkg.quick: the compiled module is older") for why in built.stale.values())


def test_a_module_left_uncompiled_beside_compiled_ones_turns_them_all_to_their_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package, _, _ = built_package(tmp_path, ("fast", "quick"))
    (package / f"quick{EXTENSION_SUFFIXES[0]}").unlink()  # its source only: the others would import it compiled
    monkeypatch.setattr(built, "stale", {})
    monkeypatch.delenv("HETFLOW_PURE", raising=False)
    spec = built.FreshSource(frozenset(("builtpkg.fast", "builtpkg.quick"))).find_spec("builtpkg.fast", [str(package)])
    assert spec is not None and spec.origin == str(package / "fast.py")
    assert built.stale == {"builtpkg.fast": "builtpkg.quick: not compiled with the others"}


def test_hetflow_pure_runs_the_sources_where_extensions_were_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package, source, _ = built_package(tmp_path)
    monkeypatch.setattr(built, "stale", {})
    monkeypatch.setenv("HETFLOW_PURE", "1")
    spec = built.FreshSource(frozenset(("builtpkg.fast",))).find_spec("builtpkg.fast", [str(package)])
    assert spec is not None and spec.origin == str(source) and built.stale == {"builtpkg.fast": "HETFLOW_PURE=1"}


@pytest.mark.parametrize(
    ("age", "why"),
    [(-60, "the compiled module is older than its source"), (60, "the compiled module cannot load")],
    ids=["stale", "cannot load"],
)
def test_the_source_is_imported_for_real_where_the_extension_would_not_do(tmp_path: Path, age: int, why: str) -> None:
    """End to end in a fresh interpreter: a stale extension, or one that fails to load (a runtime library of another
    version), gives way to its source, which says why; so does the other module of the build, imported after."""
    _, source, extension = built_package(tmp_path, ("fast", "quick"))
    at = source.stat().st_mtime
    os.utime(extension, (at + age, at + age))
    code = (
        "import sys; from hetflow import built; "
        "sys.meta_path.insert(0, built.FreshSource(frozenset(['builtpkg.fast', 'builtpkg.quick']))); "
        "import builtpkg.fast as m; print(m.WHERE, m.__file__.endswith('fast.py')); print(built.how(m)); "
        "import builtpkg.quick as q; print(q.WHERE)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    env.pop("HETFLOW_PURE", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    first, second, third = done.stdout.splitlines()
    assert first == "source of fast True" and second.startswith(f"interpreted: builtpkg.fast: {why}")
    assert third == "source of quick"
    assert why in done.stderr and done.stderr.count("running the sources of the compiled modules") == 1
