"""hetflow: asynchronous, adaptive execution and simulation of heterogeneous scientific workflows.

The names below are imported on first use (hetflow.lazy), so `import hetflow` costs nothing until one is used.
"""

from typing import TYPE_CHECKING

from hetflow import built

built.install()  # a compiled module older than its source is passed over for the source (hetflow/built.py)

if TYPE_CHECKING:
    from hetflow.core.partitions import Share
    from hetflow.core.triggers import Observed, Trigger
    from hetflow.faas import Endpoint
    from hetflow.runtime import Session, TaskFuture, task
    from hetflow.sim import run_simulation, simulate
    from hetflow.spec import load_platform, load_workflow
else:
    from hetflow.lazy import exports

    __getattr__ = exports(
        __name__,
        {
            "hetflow.core.partitions": ["Share"],
            "hetflow.core.triggers": ["Observed", "Trigger"],
            "hetflow.faas": ["Endpoint"],
            "hetflow.runtime": ["Session", "TaskFuture", "task"],
            "hetflow.sim": ["run_simulation", "simulate"],
            "hetflow.spec": ["load_platform", "load_workflow"],
        },
    )

__all__ = [
    "Endpoint",
    "Observed",
    "Session",
    "Share",
    "TaskFuture",
    "Trigger",
    "load_platform",
    "load_workflow",
    "run_simulation",
    "simulate",
    "task",
]
