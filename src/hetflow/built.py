"""The modules the build compiles with mypyc (setup.py's COMPILED) and the one rule for running them: their sources
run, with a warning, where their extensions would run other code or none.

Python imports an extension module before its source, so one built before an edit (or a pull) without `make build`
would run old code, silently; and one that cannot load (its runtime library, librt, changed under it) would stop
every import of hetflow's loaders. hetflow's package puts FreshSource first on sys.meta_path; it looks at these
modules only, and they are one build (mypyc compiles them together: a compiled module imports the others from the
build itself and reaches their classes in C, so it cannot run beside their sources): when any extension is older
than its source (by more than the second an install takes to write both), is missing while others are there, or
fails to load, every one of them runs its source. Standard library only, and no more of it than importlib: every
hetflow import passes here. HETFLOW_PURE=1, which builds nothing, also runs every source where extensions were built
(without a warning: it was asked for), so that one install can test both.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.machinery import EXTENSION_SUFFIXES, ModuleSpec, PathFinder, SourceFileLoader
from types import ModuleType
from typing import Any

COMPILED = frozenset(  # setup.py's COMPILED, as module names
    (
        "hetflow.sim.flat",
        "hetflow.spec.passes",
        "hetflow.core.sets",
        "hetflow.core.dispatch",
        "hetflow.core.ledger",
        "hetflow.core.launches",
        "hetflow.core.placement",
        "hetflow.runtime.sets",
        "hetflow.runtime.admission",
        "hetflow.runtime.submitting",
    )
)
STALE_S = 1.0  # a source this much newer than its extension was changed after the build (an install writes both)
stale: dict[str, str] = {}  # the modules whose source runs instead of their extension, and why


class FreshSource:
    """A meta path finder for the modules of COMPILED: their extensions when all are current and load, else every
    one's source."""

    def __init__(self, compiled: frozenset[str] = COMPILED) -> None:
        self.compiled = compiled
        self.pure = bool(os.environ.get("HETFLOW_PURE"))  # read once: every module of the build alike
        self.why: str | None = None  # why the sources run (None: the extensions do, as far as is known)
        self.looked = False  # the extensions' ages were compared with their sources'

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
        if self.pure:
            spec.loader, spec.origin = SourceFileLoader(fullname, source), source
            stale[fullname] = "HETFLOW_PURE=1"
            return spec
        if not self.looked:
            self.looked = True
            old, missing = self.older(spec.origin, fullname)
            if old:
                self.give_way(f"{', '.join(old)}: the compiled module is older than its source", "`make build`")
            elif missing:
                self.give_way(f"{', '.join(missing)}: not compiled with the others", "`make build`")
        if self.why is not None:
            use_source(spec, source, self.why)
            return spec
        # (a loader by its methods: importlib.abc, whose Loader mypy expects, costs 15 ms to import)
        spec.loader = ExtensionOrSource(spec.loader, source, self)  # type: ignore[assignment]
        return spec

    def older(self, origin: str, fullname: str) -> tuple[list[str], list[str]]:
        """The modules whose extension is older than their source, and those with a source and no extension (the
        others' compiled code would import their compiled classes all the same), found beside the one at origin."""
        root = origin
        for _ in fullname.split("."):
            root = os.path.dirname(root)
        old: list[str] = []
        missing: list[str] = []
        for name in sorted(self.compiled):
            base = os.path.join(root, *name.split("."))
            if not os.path.isfile(base + ".py"):
                continue
            for suffix in EXTENSION_SUFFIXES:
                if os.path.isfile(base + suffix):
                    if os.stat(base + ".py").st_mtime > os.stat(base + suffix).st_mtime + STALE_S:
                        old.append(name)
                    break
            else:
                missing.append(name)
        return old, missing

    def give_way(self, why: str, fix: str) -> None:
        """From now on every compiled module runs its source: say why, once."""
        import logging

        self.why = why
        logging.getLogger("hetflow").warning("%s: running the sources of the compiled modules (%s)", why, fix)


class ExtensionOrSource:
    """A compiled module's loader that imports the source instead when the extension fails to load (a runtime
    library of another version raises ImportError or ValueError at its initialisation); the modules of the build
    imported after it run their sources too."""

    def __init__(self, extension: Any, source: str, finder: FreshSource) -> None:
        self.extension = extension
        self.source = source
        self.finder = finder
        self.fallback: SourceFileLoader | None = None

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        try:
            module: ModuleType | None = self.extension.create_module(spec)
        except (ImportError, ValueError) as exc:
            self.finder.give_way(f"{spec.name}: the compiled module cannot load ({exc})", "reinstall")
            self.fallback = use_source(spec, self.source, str(self.finder.why))
            return None  # a plain module, its attributes from the spec (now the source's)
        return module

    def exec_module(self, module: ModuleType) -> None:
        (self.fallback or self.extension).exec_module(module)


def use_source(spec: ModuleSpec, source: str, why: str) -> SourceFileLoader:
    """Turn spec into its source's (loader, origin), noting why."""
    loader = SourceFileLoader(spec.name, source)
    spec.loader, spec.origin = loader, source
    stale[spec.name] = why
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
