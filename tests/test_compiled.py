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


def test_setup_compiles_the_modules_the_package_checks() -> None:
    names = {".".join(src.relative_to(REPO / "src").with_suffix("").parts) for src in compiled_sources()}
    assert names == built.COMPILED


def built_package(root: Path) -> tuple[Path, Path, Path]:
    """A package builtpkg under root whose module fast has a source and an "extension" (not a shared object: importing
    it would fail), as (package, source, extension)."""
    package = root / "builtpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    source = package / "fast.py"
    source.write_text("WHERE = 'source'\n")
    extension = package / f"fast{EXTENSION_SUFFIXES[0]}"
    extension.write_bytes(b"not a shared object")
    return package, source, extension


def test_an_extension_older_than_its_source_is_passed_over_for_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An extension built before its source last changed would run old code (Python imports it first): the source
    is imported instead; one built after it, or within the second an install takes to write both, is imported."""
    package, source, extension = built_package(tmp_path)
    finder = built.FreshSource(frozenset(("builtpkg.fast",)))
    at = source.stat().st_mtime
    monkeypatch.setattr(built, "stale", {})
    os.utime(extension, (at - 60, at - 60))  # built a minute before the source changed
    spec = finder.find_spec("builtpkg.fast", [str(package)])
    assert spec is not None and spec.origin == str(source) and list(built.stale) == ["builtpkg.fast"]
    os.utime(extension, (at - built.STALE_S / 2, at - built.STALE_S / 2))  # written by the same install
    spec = finder.find_spec("builtpkg.fast", [str(package)])
    assert spec is not None and spec.origin == str(extension)
    os.utime(extension, (at + 60, at + 60))  # built again after the edit
    spec = finder.find_spec("builtpkg.fast", [str(package)])
    assert spec is not None and spec.origin == str(extension)
    assert finder.find_spec("builtpkg.other", [str(package)]) is None  # other modules: the usual finders


@pytest.mark.parametrize(
    ("age", "why"),
    [(-60, "the compiled module is older than its source"), (60, "the compiled module cannot load")],
    ids=["stale", "cannot load"],
)
def test_the_source_is_imported_for_real_where_the_extension_would_not_do(tmp_path: Path, age: int, why: str) -> None:
    """End to end in a fresh interpreter: a stale extension, or one that fails to load (a runtime library of another
    version), gives way to its source, which says why."""
    _, source, extension = built_package(tmp_path)
    at = source.stat().st_mtime
    os.utime(extension, (at + age, at + age))
    code = (
        "import sys; from hetflow import built; "
        "sys.meta_path.insert(0, built.FreshSource(frozenset(['builtpkg.fast']))); "
        "import builtpkg.fast as m; print(m.WHERE, m.__file__.endswith('fast.py')); print(built.how(m))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    first, second = done.stdout.splitlines()
    assert first == "source True" and second.startswith(f"interpreted: {why}")
    assert why in done.stderr and "running the source" in done.stderr
