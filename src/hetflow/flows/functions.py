"""The functions of a flow: looked up by func_name in one Python module, an importable name or a .py file.

A .py file is executed as a module that is not registered in sys.modules, so its functions travel to the workers by
value (cloudpickle), with the globals they use; an importable module's functions go by reference, as any task's.
Importing runs the module's code, so only validate and run do it, never simulate.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from hetflow.errors import SpecError
from hetflow.spec.sebsflow import Flow
from hetflow.spec.workflow import did_you_mean


def load_module(ref: str) -> ModuleType:
    """The module a --functions value names; SpecError (one line) when it cannot be imported."""
    path = Path(ref)
    try:
        if ref.endswith(".py"):
            if not path.is_file():
                raise SpecError("no such file", source=ref, place="--functions", fix="give a .py file or a module")
            spec = importlib.util.spec_from_file_location(f"hetflow_flow_{path.stem}", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
        return importlib.import_module(ref)
    except SpecError:
        raise
    except ModuleNotFoundError as exc:
        raise SpecError(
            f"cannot import {ref}: no module named {exc.name or ref!r}",
            place="--functions",
            fix="give a .py file, or run from the folder that holds the module (or add it to PYTHONPATH)",
        ) from None
    except Exception as exc:  # the module's own code failed
        raise SpecError(
            f"importing {ref} failed: {type(exc).__name__}: {exc}", place="--functions", fix="make it import"
        ) from None


def flow_functions(flow: Flow, ref: str) -> dict[str, Callable[..., Any]]:
    """Every function the flow calls, from the module; SpecError at the first state whose func_name is missing."""
    module = load_module(ref)
    found: dict[str, Callable[..., Any]] = {}
    for name, place in flow.functions().items():
        fn = getattr(module, name, None)
        if fn is None or not callable(fn):
            defined = [k for k, v in vars(module).items() if callable(v) and not k.startswith("_")]
            why = f"{ref} has no function {name!r}" if fn is None else f"{ref}.{name} is not callable"
            fix = did_you_mean(name, defined) or f"define def {name}(payload) in {ref}"
            raise SpecError(why, source=flow.source, place=place, fix=fix)
        found[name] = fn
    return found
