"""Lazy package exports (PEP 562): a package names its public objects and the modules that define them, and each
module is imported when one of its names is first used. So `import hetflow` or `from hetflow.spec import Workflow`
costs only what is used: the command line prints its help without numpy, and the engine runs without pydantic."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def exports(package: str, homes: Mapping[str, Sequence[str]]) -> Callable[[str], Any]:
    """The module `__getattr__` of package: homes maps each defining module to the names the package exports
    from it. A name is looked up once, then kept on the package. A subpackage or module of package is imported on
    first use as well, so `import hetflow; hetflow.spec.dag` works as when the package imported everything."""
    home_of = {name: module for module, names in homes.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = home_of.get(name)
        if module is not None:
            value = getattr(importlib.import_module(module), name)
        else:
            try:
                value = importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{package}.{name}":
                    raise  # the module is there, and something it imports is not
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
