"""hetflow: asynchronous, adaptive execution and simulation of heterogeneous scientific workflows."""

from hetflow.core.partitions import Share
from hetflow.core.triggers import Observed, Trigger
from hetflow.runtime import Session, TaskFuture, task
from hetflow.sim import run_simulation, simulate
from hetflow.spec import load_platform, load_workflow

__all__ = [
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
