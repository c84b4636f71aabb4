"""A compiled module's source, loaded on its own as interpreted Python: tests hold both builds to the same results."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def source_of(module: ModuleType) -> ModuleType:
    """module's .py file, imported under a name of its own, whether or not the installed module is compiled."""
    stem = module.__name__.rpartition(".")[2]
    path = Path(str(module.__file__)).with_name(f"{stem}.py")
    spec = importlib.util.spec_from_file_location(f"{module.__name__.replace('.', '_')}_source", path)
    assert spec is not None and spec.loader is not None
    source = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(source)
    return source


def builds(module: ModuleType) -> list[ModuleType]:
    """The source, and the compiled module when the build made one."""
    return [source_of(module)] + ([] if str(module.__file__).endswith(".py") else [module])
