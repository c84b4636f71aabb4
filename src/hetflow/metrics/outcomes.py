"""What became of the tasks of a run, per set (done, failed, skipped, cancelled, not ended), and the tasks that went
wrong with their errors and log files: what a report shows so that a run with failures looks like one."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hetflow.spec.trace import Interval
from hetflow.spec.workflow import Workflow

STATUSES = ("done", "failed", "skipped", "cancelled", "not ended")


@dataclass(frozen=True)
class SetOutcome:
    """How many tasks of one set ended in each way; `why`: the reason given for its skipped or cancelled tasks."""

    set: str
    tasks: int
    done: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0
    not_ended: int = 0  # pending or running when the record stops (or, without a journal, never run)
    why: str = ""

    def counts(self) -> tuple[int, ...]:
        """The counts in STATUSES order."""
        return (self.done, self.failed, self.skipped, self.cancelled, self.not_ended)

    @property
    def ok(self) -> bool:
        return self.done == self.tasks


@dataclass(frozen=True)
class TaskProblem:
    """A task that did not end well: its status, attempts, last error and the log files of its attempts."""

    task_id: str
    set: str
    status: str
    attempts: int
    error: str
    logs: tuple[str, ...] = ()


def outcomes_from_intervals(
    workflow: Workflow, intervals: Sequence[Interval], skipped: Iterable[tuple[str, int, str]] = ()
) -> list[SetOutcome]:
    """Per set, from execution records: tasks with a done interval are done, those whose only intervals failed are
    failed, `skipped` ((set, count, why), as a real run lists them) are skipped, and the rest are not ended (without
    a journal, a task cancelled and one that never ran cannot be told apart)."""
    failed: dict[str, set[int]] = {}
    for iv in intervals:
        if iv.status != "done":
            failed.setdefault(iv.set, set()).update(range(iv.first, iv.last))
    done: dict[str, int] = {}
    for iv in intervals:
        if iv.status == "done":
            done[iv.set] = done.get(iv.set, 0) + iv.n
            if iv.set in failed:  # retried, then done: not failed
                failed[iv.set].difference_update(range(iv.first, iv.last))
    skips: dict[str, tuple[int, str]] = {}
    for name, count, why in skipped:
        n, _ = skips.get(name, (0, why))
        skips[name] = (n + count, why)
    out = []
    for s in workflow.sets:
        d, f = done.get(s.name, 0), len(failed.get(s.name, ()))
        k, why = skips.get(s.name, (0, ""))
        out.append(SetOutcome(s.name, s.count, d, f, k, not_ended=max(0, s.count - d - f - k), why=why))
    return out
