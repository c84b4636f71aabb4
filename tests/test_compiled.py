"""setup.py compiles some modules with mypyc (COMPILED). An extension module is imported before its source, so one
built before its source last changed would run old code: the suite stops on it and says how to build it again."""

from __future__ import annotations

import ast
import importlib
import os
import shutil
from pathlib import Path

import pytest

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
