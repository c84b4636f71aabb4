"""The journal as an observer of the driver: every event of a run becomes the journal rows it always was."""

from __future__ import annotations

import time

from hetflow.executors.api import DONE
from hetflow.journal import store as J
from hetflow.journal.store import Journal
from hetflow.runtime.events import (
    Event,
    Marked,
    NodeJoined,
    NodeLost,
    RunEnded,
    SetCancelled,
    SetReleased,
    SetsSubmitted,
    TaskEnded,
    TaskGaveUp,
    TaskKept,
    TaskRetried,
    TasksSkipped,
    TaskStarted,
    TaskStopped,
)
from hetflow.spec.resources import GpuGrant

_STOPPED = {"lost": J.LOST, "preempted": J.PREEMPTED, "cancelled": J.CANCELLED, "refused": J.REFUSED}


class JournalObserver:
    """Writes the events of a run into its journal (buffered: the driver asks due() and calls flush())."""

    wants: frozenset[type[Event]] = frozenset(
        {TaskStarted, TaskEnded, TaskStopped, TaskRetried, TaskGaveUp, TasksSkipped, TaskKept, SetReleased,
         SetsSubmitted, SetCancelled, Marked, NodeJoined, NodeLost, RunEnded}
    )  # fmt: skip

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def notify(self, event: Event) -> None:
        j = self.journal
        match event:
            case TaskStarted(t, r):
                run = r.run
                j.event(t, J.STARTED, r.set, r.index, run.node, run.attempt, None, run.cores, r.gpu_units,
                        grant_text(run.gpus))  # fmt: skip
            case TaskEnded(r, o, status):
                run = r.run
                if status == DONE:
                    j.event(o.end, J.DONE, r.set, r.index, run.node, run.attempt, o.start)
                    if o.value is not None:
                        j.result(r.set, r.index, o.value)
                else:
                    j.event(o.end, J.ERROR, r.set, r.index, run.node, run.attempt, o.start, detail=o.error or status)
            case TaskStopped(t, r, why, detail):
                j.event(t, _STOPPED[why], r.set, r.index, r.run.node, r.run.attempt, detail=detail)
            case TaskRetried(t, name, index, attempt, reason):
                j.event(t, J.RETRIED, name, index, attempt=attempt, detail=reason)
            case TaskGaveUp(t, info, index, error):
                j.event(t, J.FAILED, info.spec.name, index, detail=error)
            case TasksSkipped(t, name, _, count, reason):
                j.event(t, J.SKIPPED, name, None, detail=f"{count}: {reason}")
            case TaskKept(t, info, index):
                j.event(t, J.KEPT, info.spec.name, index)
            case SetReleased(t, name):
                j.event(t, J.RELEASED, name)
            case SetsSubmitted(times, specs, kind, workflow):
                if workflow is not None:
                    j.name_workflow(workflow)
                j.add_sets(specs, kind)
                for t, spec in zip(times, specs, strict=True):
                    j.event(t, J.SUBMITTED, spec.name, detail=str(spec.count))
            case SetCancelled(t, name, index):
                j.event(t, J.CANCELLED, name, index)
            case Marked(m):
                j.event(m.t, J.TRIGGERED if m.kind == "trigger" else J.RESIZED, detail=m.text)
            case NodeJoined(t, n):
                j.event(t, J.NODE_JOINED, node=n.name, cores=n.cores, gpu_units=n.gpu_units)
            case NodeLost(t, name):
                j.event(t, J.NODE_LOST, node=name)
            case RunEnded(status):
                try:
                    j.end(status)
                finally:
                    j.close()
            case _:
                pass

    def due(self) -> float | None:
        """Seconds until the buffered rows should be committed (0: now); None when nothing waits."""
        return self.journal.due(time.monotonic())  # the journal's own timer: I/O batching, not scheduling

    @property
    def pending(self) -> bool:
        return self.journal.pending > 0

    def flush(self) -> None:
        self.journal.flush()


def grant_text(grant: GpuGrant) -> str | None:
    return ",".join(":".join(map(str, share)) for share in grant) if grant else None  # "GPU:units[:MIG instance]"
