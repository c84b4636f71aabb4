"""The modules the build compiles with mypyc (setup.py's COMPILED) and the one rule for running them: an extension
built before its source last changed is passed over for the source.

Python imports an extension module before its source, so one built before an edit (or a pull) without `make build`
would run old code, silently. hetflow's package puts FreshSource first on sys.meta_path; it looks at these modules
only, and imports the source, with a warning, when the extension is older than it (by more than the second an
install takes to write both). Standard library only: every hetflow import passes here.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path
from types import ModuleType

COMPILED = frozenset(("hetflow.sim.flat", "hetflow.spec.passes"))  # setup.py's COMPILED, as module names
STALE_S = 1.0  # a source this much newer than its extension was changed after the build (an install writes both)
stale: set[str] = set()  # the modules whose source runs because their extension is stale


class FreshSource:
    """A meta path finder for the modules of COMPILED: their extension when it is current, else their source."""

    def __init__(self, compiled: frozenset[str] = COMPILED) -> None:
        self.compiled = compiled

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in self.compiled:
            return None
        spec = PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.origin is None or spec.origin.endswith(".py"):
            return spec
        built = Path(spec.origin)
        source = built.with_name(fullname.rpartition(".")[2] + ".py")
        if not source.is_file() or source.stat().st_mtime <= built.stat().st_mtime + STALE_S:
            return spec
        import logging
        from importlib.util import spec_from_file_location

        stale.add(fullname)
        logging.getLogger("hetflow").warning(
            "%s was built before %s last changed: running the source (`make build` compiles it)", built, source
        )
        return spec_from_file_location(fullname, source)


def install() -> None:
    """Put FreshSource first on sys.meta_path, once."""
    if not any(isinstance(f, FreshSource) for f in sys.meta_path):
        sys.meta_path.insert(0, FreshSource())


def how(module: ModuleType) -> str:
    """How a module of COMPILED runs: compiled, interpreted, or interpreted because its extension is stale."""
    if not str(module.__file__).endswith(".py"):
        return "compiled"
    if module.__name__ in stale:
        return "interpreted: the compiled module is older than its source"
    return "interpreted"
