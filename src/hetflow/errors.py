"""The error tree of hetflow. Every error hetflow raises on purpose derives from HetflowError.

HetflowError
├── SpecError            bad input: a workflow, platform or option that cannot be used (CLI: one line, exit 2)
│   ├── CycleError       the task-set dependencies form a cycle
│   └── FitError         a task fits on no node of the platform
├── EngineError          the engine was driven wrongly
│   ├── IllegalTransition    a task state change the transition table forbids
│   └── LedgerError          the resource ledger would go negative or over capacity
├── ExecutionError       a real run could not go on (executor or journal trouble)
└── TaskError            a task of a real run did not end well (what its future raises)
    ├── TaskFailedError  it failed after its retries: a non-zero exit status, a timeout, a lost worker
    └── TaskSkippedError it never ran: a dependency failed or was cancelled
"""

from __future__ import annotations


class HetflowError(Exception):
    """Root of every error hetflow raises on purpose."""


class SpecError(HetflowError):
    """Bad input. Carries where it is (file, place) and how to fix it, so it prints as one line."""

    def __init__(self, problem: str, *, source: str | None = None, place: str | None = None, fix: str | None = None):
        self.problem = problem
        self.source = source
        self.place = place
        self.fix = fix
        super().__init__(self.line())

    def line(self) -> str:
        where = ": ".join(p for p in (self.source, self.place) if p)
        text = f"{where}: {self.problem}" if where else self.problem
        return f"{text} (fix: {self.fix})" if self.fix else text

    def at(self, source: str) -> SpecError:
        """Return this error with its file set, when it was raised before the file was known."""
        if self.source is None:
            self.source = source
            self.args = (self.line(),)
        return self


class CycleError(SpecError):
    """The dependencies of a workflow form a cycle."""


class FitError(SpecError):
    """A task fits on no node of the platform."""


class EngineError(HetflowError):
    """The engine was driven in a way it does not allow."""


class IllegalTransition(EngineError):
    """A task state change that the transition table forbids."""


class LedgerError(EngineError):
    """The resource ledger would go negative or over capacity."""


class ExecutionError(HetflowError):
    """A real run cannot go on."""


class TaskError(HetflowError):
    """A task of a real run did not end well. task_id names it ("SET" or "SET[index]")."""

    def __init__(self, message: str, *, task_id: str = "", error: str = "") -> None:
        self.task_id = task_id
        self.error = error
        super().__init__(message)


class TaskFailedError(TaskError):
    """A task failed after its retries. A Python task's own exception is raised instead, when it could be sent back;
    `result` holds what a failed shell command left (its exit status and output files)."""

    def __init__(self, message: str, *, task_id: str = "", error: str = "", result: object = None) -> None:
        self.result = result
        super().__init__(message, task_id=task_id, error=error)


class TaskSkippedError(TaskError):
    """A task never ran because a dependency failed or was cancelled."""
