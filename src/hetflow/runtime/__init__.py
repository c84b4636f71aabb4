"""Real execution: the Session, the @task decorator, futures, and the driver that runs the engine on wall time."""

from hetflow.runtime.futures import RemoteTraceback, TaskFuture
from hetflow.runtime.session import Progress, Session, WorkflowRun
from hetflow.runtime.task import TaskFunction, TaskOptions, current_session, task

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
