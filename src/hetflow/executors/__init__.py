"""Executors: where tasks really run. One module per backend, behind the Executor protocol, by name.

Optional engines (Dask, Ray) are imported only when their executor is made, so that a missing one costs nothing
until it is asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

from hetflow.errors import SpecError
from hetflow.executors.api import (
    CANCELLED,
    DONE,
    FAILED,
    LOST,
    TIMEOUT,
    CommandResult,
    Executor,
    Outcome,
    TaskRun,
    gpu_env,
)

# name -> "module:class"; a backend registers itself here
EXECUTORS: dict[str, str] = {
    "local": "hetflow.executors.local:LocalExecutor",
    "dask": "hetflow.executors.dask:DaskExecutor",
    "ray": "hetflow.executors.ray:RayExecutor",
    "faas": "hetflow.faas.multisite:MultiSiteExecutor",  # by name only: faas imports executors, never the reverse
}


def make_executor(name: str, **options: Any) -> Executor:
    """A fresh executor by name; options go to its constructor. An unknown name lists the known ones."""
    target = EXECUTORS.get(name)
    if target is None:
        raise SpecError(f"unknown backend {name!r}", place="--backend", fix=f"use one of {', '.join(EXECUTORS)}")
    module, _, cls = target.partition(":")
    try:
        factory = getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise SpecError(
            f"backend {name!r} is not installed ({exc.name or exc})",
            place="--backend",
            fix=f"pip install 'hetflow[{name}]'",
        ) from None
    executor: Executor = factory(**options)
    return executor


__all__ = [
    "CANCELLED",
    "DONE",
    "EXECUTORS",
    "FAILED",
    "LOST",
    "TIMEOUT",
    "CommandResult",
    "Executor",
    "Outcome",
    "TaskRun",
    "gpu_env",
    "make_executor",
]
