"""hetflow: asynchronous, adaptive execution and simulation of heterogeneous scientific workflows."""

from hetflow.runtime import Session, TaskFuture, task
from hetflow.sim import simulate
from hetflow.spec import load_platform, load_workflow

__all__ = ["Session", "TaskFuture", "load_platform", "load_workflow", "simulate", "task"]
