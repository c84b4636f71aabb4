"""Real execution: the Session, the @task decorator, futures, and the driver that runs the engine on a clock (wall time,
or a fake one in tests)."""

from hetflow.runtime.futures import RemoteTraceback, TaskFuture
from hetflow.runtime.runs import Progress, WorkflowRun
from hetflow.runtime.session import Session, current_session
from hetflow.runtime.task import TaskFunction, TaskOptions, task

__all__ = [
    "Progress",
    "RemoteTraceback",
    "Session",
    "TaskFunction",
    "TaskFuture",
    "TaskOptions",
    "WorkflowRun",
    "current_session",
    "task",
]
