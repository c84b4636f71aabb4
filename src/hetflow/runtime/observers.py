"""Observers of the driver that the Session reads: the futures and groups people wait on, and the intervals and
marks a RunResult is made of."""

from __future__ import annotations

import pickle
import threading
from array import array
from typing import TYPE_CHECKING

from hetflow.errors import TaskFailedError, TaskSkippedError
from hetflow.executors.api import DONE, Outcome
from hetflow.runtime.events import (
    Event,
    Marked,
    RunCrashed,
    SetAbandoned,
    SetCancelled,
    SetEnded,
    TaskEnded,
    TaskGaveUp,
    TaskKept,
    TasksSkipped,
    TaskStarted,
    TaskStopped,
)
from hetflow.runtime.futures import RemoteTraceback, abandon, reject, requeued, resolve, started
from hetflow.runtime.sets import Running
from hetflow.spec.platform import Platform
from hetflow.spec.trace import Interval, Mark
from hetflow.spec.workflow import Workflow

CHUNK = 4096  # intervals whose text moves at a time into a tuple

if TYPE_CHECKING:
    from hetflow.metrics.result import RunResult


class IntervalRecorder:
    """The intervals tasks ran over (done, failed, preempted, kept) and the run's marks, for the run's result and
    each group's. A long-lived session runs many tasks: the session's intervals are kept in columns (the strings
    shared with the run, numbers in arrays: about 70 bytes a task, not an object of 170), made Intervals again when a
    result is asked for."""

    wants: frozenset[type[Event]] = frozenset({TaskEnded, TaskStopped, TaskKept, Marked})

    def __init__(self) -> None:
        self._text: list[str] = []  # per interval: set, node, status (the latest, up to CHUNK intervals)
        self._older: list[tuple[str, ...]] = []  # earlier _text, CHUNK intervals a tuple: not walked by the collector
        self._moving = threading.Lock()  # held while a chunk moves, and while a reader copies the text
        self._ints = array("q")  # per interval: first, last, cores, gpu_units, attempts
        self._times = array("d")  # per interval: start, end
        self.marks: list[Mark] = []  # triggers fired, partitions resized (wall clock)

    @property
    def intervals(self) -> list[Interval]:
        """What was recorded so far, as Intervals, in the order they came."""
        ints, times = self._ints, self._times
        n = len(times) // 2  # written last: the text and numbers of n intervals are there
        with self._moving:
            text = [t for chunk in self._older for t in chunk] + self._text
        return [
            Interval(text[3 * k], ints[5 * k], ints[5 * k + 1], text[3 * k + 1], times[2 * k], times[2 * k + 1],
                     ints[5 * k + 2], ints[5 * k + 3], text[3 * k + 2], ints[5 * k + 4])
            for k in range(n)
        ]  # fmt: skip

    def _keep(self, iv: Interval) -> None:
        self._text.extend((iv.set, iv.node, iv.status))
        self._ints.extend((iv.first, iv.last, iv.cores, iv.gpu_units, iv.attempts))
        self._times.extend((iv.start, iv.end))
        self._chunk()

    def _chunk(self) -> None:
        """Move the latest text into a tuple once it holds CHUNK intervals."""
        if len(self._text) >= 3 * CHUNK:
            with self._moving:
                self._older.append(tuple(self._text))
                self._text.clear()

    def notify(self, event: Event) -> None:
        if type(event) is TaskEnded:  # every task's event, so no pattern matching; every failed attempt held its
            o = event.outcome  # resources: one interval each, as simulated
            self._record(event.running, o.start, o.end, "done" if event.status == DONE else "failed")
            return
        match event:
            case TaskStopped(t, r, "preempted"):  # it held its resources from when it was sent until now
                self._record(r, r.sent, t, "preempted")
            case TaskKept(_, info, _, iv):
                self._keep(iv)
                if info.group is not None:
                    info.group.intervals.append(iv)
            case Marked(m):
                self.marks.append(m)
            case _:
                pass

    def result(self, workflow: Workflow, platform: Platform, mode: str, policy: str, origin: float) -> RunResult:
        """What was recorded so far, as a RunResult (source "real")."""
        from hetflow.metrics.result import RunResult  # numpy: imported when a result is asked for

        intervals, marks = self.intervals, list(self.marks)
        return RunResult(workflow, platform, mode, policy, intervals, "real", origin, marks)

    def _record(self, r: Running, start: float, end: float, status: str) -> None:
        run = r.run
        self._text.extend((r.set, run.node, status))
        self._ints.extend((r.index, r.index + 1, run.cores, r.gpu_units, run.attempt))
        self._times.extend((start, end))
        if len(self._text) >= 3 * CHUNK:
            self._chunk()
        group = r.info.group
        if group is not None:
            cores, gpus = run.cores, r.gpu_units
            group.intervals.append(
                Interval(r.set, r.index, r.index + 1, run.node, start, end, cores, gpus, status, run.attempt)
            )


class FuturesObserver:
    """Resolves and rejects the futures of tasks, and keeps each group (a WorkflowRun) up to date."""

    wants: frozenset[type[Event]] = frozenset(
        {TaskStarted, TaskEnded, TaskStopped, TaskGaveUp, TasksSkipped, TaskKept, SetCancelled, SetEnded, SetAbandoned,
         RunCrashed}
    )  # fmt: skip

    def notify(self, event: Event) -> None:
        if type(event) is TaskStarted:  # every task's events, so no pattern matching
            f = event.running.info.future_at(event.running.index)
            if f is not None:
                started(f)
            return
        if type(event) is TaskEnded:
            f = event.running.info.future_at(event.running.index)
            if f is not None:
                if event.status == DONE:
                    resolve(f, event.value)
                else:  # it holds nothing until it is retried, or fails for good
                    requeued(f)
            return
        match event:
            case TaskStopped(_, r, why):  # cancelled for good, or lost or preempted: queued again
                f = r.info.future_at(r.index)
                if f is not None:
                    (abandon if why == "cancelled" else requeued)(f)
            case TaskGaveUp(_, info, index, error, last):
                task_id = info.spec.task_id(index)
                if info.group is not None:
                    info.group.failed.append((task_id, error))
                f = info.future_at(index)
                if f is not None:
                    reject(f, failure(task_id, error, last[0] if last is not None else None))
            case TasksSkipped(_, name, info, count, reason) if info is not None:
                if info.group is not None:
                    info.group.skipped.append((name, count, reason))
                for f in info.all_futures():
                    if not f.done():
                        reject(f, TaskSkippedError(f"{f.task_id} skipped: {reason}", task_id=f.task_id))
            case TaskKept(_, info):
                if info.group is not None:
                    info.group.kept += 1
            case SetCancelled(info=info, closing=True):
                for f in info.all_futures():
                    if not f.done():
                        abandon(f)
            case SetEnded(info, cancelled):
                for f in info.all_futures() if cancelled else ():  # else every future has its result or error
                    if not f.done():  # ended without a result: cancelled before it ran
                        abandon(f)
                g = info.group
                if g is not None:
                    g.cancelled += cancelled
                    g.sets_left -= 1
                    if g.sets_left == 0:
                        g.event.set()
            case SetAbandoned(info, err):
                if info.group is not None and info.group.error is None:
                    info.group.error = err
                for f in info.all_futures():
                    reject(f, err)
            case RunCrashed(sets, err):
                for info in sets:
                    for f in info.all_futures():
                        reject(f, err)
                    if info.group is not None:
                        info.group.error = err
                        info.group.event.set()
            case _:
                pass


def failure(task_id: str, error: str, o: Outcome | None) -> BaseException:
    """What a failed task's future raises: the task's own exception when it came back, else TaskFailedError."""
    if o is not None and o.exception is not None:
        try:
            exc = pickle.loads(o.exception)
        except Exception:
            exc = None
        if isinstance(exc, BaseException):
            if o.traceback:
                exc.__cause__ = RemoteTraceback(o.traceback)
            return exc
    result = None
    if o is not None and o.value is not None:
        try:
            result = pickle.loads(o.value)
        except Exception:
            result = None
    return TaskFailedError(f"{task_id} failed: {error}", task_id=task_id, error=error, result=result)
