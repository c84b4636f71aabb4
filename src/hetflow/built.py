"""The modules the build compiles with mypyc (setup.py's COMPILED) and the one rule for running them: their source
runs, with a warning, where their extension would run other code or none.

Python imports an extension module before its source, so one built before an edit (or a pull) without `make build`
would run old code, silently; and one that cannot load (its runtime library, librt, changed under it) would stop
every import of hetflow's loaders. hetflow's package puts FreshSource first on sys.meta_path; it looks at these
modules only, imports the source when the extension is older than it (by more than the second an install takes to
write both), and falls back to the source when the extension fails to load. Standard library only, and no more of it
than importlib: every hetflow import passes here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec, PathFinder, SourceFileLoader
from types import ModuleType
from typing import Any

COMPILED = frozenset(("hetflow.sim.flat", "hetflow.spec.passes"))  # setup.py's COMPILED, as module names
STALE_S = 1.0  # a source this much newer than its extension was changed after the build (an install writes both)
stale: dict[str, str] = {}  # the modules whose source runs instead of their extension, and why


class FreshSource:
    """A meta path finder for the modules of COMPILED: their extension when it is current and loads, else their
    source."""

    def __init__(self, compiled: frozenset[str] = COMPILED) -> None:
        self.compiled = compiled

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in self.compiled:
            return None
        spec = PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.origin is None or spec.origin.endswith(".py") or spec.loader is None:
            return spec
        source = os.path.join(os.path.dirname(spec.origin), fullname.rpartition(".")[2] + ".py")
        if not os.path.isfile(source):
            return spec
        if os.stat(source).st_mtime > os.stat(spec.origin).st_mtime + STALE_S:
            use_source(spec, source, "the compiled module is older than its source", "`make build` compiles it")
            return spec
        # (a loader by its methods: importlib.abc, whose Loader mypy expects, costs 15 ms to import)
        spec.loader = ExtensionOrSource(spec.loader, source)  # type: ignore[assignment]
        return spec


class ExtensionOrSource:
    """A compiled module's loader that imports the source instead when the extension fails to load (a runtime
    library of another version raises ImportError or ValueError at its initialisation)."""

    def __init__(self, extension: Any, source: str) -> None:
        self.extension = extension
        self.source = source
        self.fallback: SourceFileLoader | None = None

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        try:
            module: ModuleType | None = self.extension.create_module(spec)
        except (ImportError, ValueError) as exc:
            self.fallback = use_source(spec, self.source, f"the compiled module cannot load ({exc})", "reinstall")
            return None  # a plain module, its attributes from the spec (now the source's)
        return module

    def exec_module(self, module: ModuleType) -> None:
        (self.fallback or self.extension).exec_module(module)


def use_source(spec: ModuleSpec, source: str, why: str, fix: str) -> SourceFileLoader:
    """Turn spec into its source's (loader, origin), noting why and warning once."""
    import logging

    loader = SourceFileLoader(spec.name, source)
    spec.loader, spec.origin = loader, source
    stale[spec.name] = why
    logging.getLogger("hetflow").warning("%s: %s: running the source (%s)", spec.name, why, fix)
    return loader


def install() -> None:
    """Put FreshSource first on sys.meta_path, once."""
    if not any(isinstance(f, FreshSource) for f in sys.meta_path):
        sys.meta_path.insert(0, FreshSource())


def how(module: ModuleType) -> str:
    """How a module of COMPILED runs: compiled, interpreted, or interpreted and why (stale or unloadable)."""
    if not str(module.__file__).endswith(".py"):
        return "compiled"
    why = stale.get(module.__name__)
    return "interpreted" if why is None else f"interpreted: {why}"
