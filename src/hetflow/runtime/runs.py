"""What a Session hands back besides futures: a WorkflowRun per declarative workflow, and Progress snapshots."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hetflow.core.states import TaskState
from hetflow.errors import ExecutionError
from hetflow.spec.platform import Platform
from hetflow.spec.trace import Interval, Mark
from hetflow.spec.workflow import Workflow

if TYPE_CHECKING:
    from hetflow.metrics.result import RunResult


@dataclass(frozen=True)
class Progress:
    """A snapshot of a session: tasks by state, and cores and GPUs busy."""

    total: int
    done: int
    running: int
    failed: int
    skipped: int
    cancelled: int
    waiting: int  # pending or ready
    cores_busy: int
    cores: int
    gpus_busy: float
    gpus: float

    @classmethod
    def of(
        cls, counts: Mapping[TaskState, int], running: int, cores_busy: int, gpus_busy: float, platform: Platform
    ) -> Progress:
        by = {s.name.lower(): n for s, n in counts.items()}
        return cls(
            total=sum(counts.values()),
            done=by["done"],
            running=running,
            failed=by["failed"],
            skipped=by["skipped"],
            cancelled=by["cancelled"],
            waiting=by["pending"] + by["ready"],
            cores_busy=cores_busy,
            cores=platform.cores,
            gpus_busy=gpus_busy,
            gpus=platform.gpus,
        )


class Group:
    """The tasks of one submission that someone waits for as a whole (a workflow run via Session.run)."""

    def __init__(self, names: Sequence[str]) -> None:
        self.sets_left = len(set(names))
        self.intervals: list[Interval] = []
        self.failed: list[tuple[str, str]] = []  # (task id, error)
        self.skipped: list[tuple[str, int, str]] = []  # (set, count, why)
        self.cancelled = 0
        self.kept = 0
        self.error: BaseException | None = None
        self.event = threading.Event()
        if not self.sets_left:
            self.event.set()


class WorkflowRun:
    """A declarative workflow submitted to a Session. `wait()` blocks until every task of it has ended."""

    def __init__(
        self,
        workflow: Workflow,
        group: Group,
        origin: float,
        context: tuple[Platform, str, str],
        marks: Callable[[], list[Mark]],
    ) -> None:
        self.workflow = workflow
        self.group = group
        self.origin = origin
        self.context = context  # the session's platform, mode and policy
        self._marks = marks

    def done(self) -> bool:
        return self.group.event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every task has ended (or timeout seconds); True when they have."""
        return self.group.event.wait(timeout)

    def result(self, timeout: float | None = None) -> RunResult:
        """What really happened, as a RunResult (source "real"); waits for the end first."""
        if not self.wait(timeout):
            raise TimeoutError(f"workflow {self.workflow.name} has not ended after {timeout} s")
        if self.group.error is not None:
            raise ExecutionError(str(self.group.error)) from self.group.error
        from hetflow.metrics.result import RunResult  # numpy: imported when a result is asked for

        platform, mode, policy = self.context
        marks = [m for m in self._marks() if m.t >= self.origin]
        intervals = list(self.group.intervals)
        return RunResult(self.workflow, platform, mode, policy, intervals, "real", self.origin, marks)

    @property
    def failed(self) -> list[tuple[str, str]]:
        """(task id, error) of every task that failed after its retries."""
        return list(self.group.failed)

    @property
    def skipped(self) -> list[tuple[str, int, str]]:
        """(set, number of tasks, why) of every set whose tasks were skipped."""
        return list(self.group.skipped)

    @property
    def kept(self) -> int:
        """Tasks done in an earlier run of the journal, not run again (resume)."""
        return self.group.kept

    @property
    def ok(self) -> bool:
        """Every task is done: nothing failed, was skipped or cancelled."""
        g = self.group
        return self.done() and not (g.failed or g.skipped or g.cancelled or g.error)
