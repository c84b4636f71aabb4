"""setup.py compiles some modules with mypyc (COMPILED). An extension module is imported before its source, so one
built before its source last changed would run old code: the suite stops on it and says how to build it again."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

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
