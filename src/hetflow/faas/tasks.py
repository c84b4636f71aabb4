"""What an endpoint runs, by reference, for the tasks of a multi-site run that are not a plain function call: a
workflow's `function: pkg.mod:func` (called with the task's index when it takes a parameter, as every backend
does), and a call whose keyword arguments would clash with Endpoint.submit's own (cores, gpus, memory, timeout)."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any


def call_reference(ref: str, index: int | None) -> Any:
    """Import "pkg.mod:func" here and call it, with index when it takes a positional parameter."""
    module, _, name = ref.partition(":")
    fn: Any = importlib.import_module(module)
    for part in name.split("."):
        fn = getattr(fn, part)
    fn = getattr(fn, "__hetflow_task__", fn)  # a @hetflow.task function: the function itself
    return fn(index) if index is not None and takes_index(fn) else fn()


def takes_index(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params)


def apply(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """fn(*args, **kwargs), for keyword arguments Endpoint.submit would take as its own."""
    return fn(*args, **kwargs)
