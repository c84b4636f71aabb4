"""The driver: the engine on wall time, in one thread of its own.

It takes submissions and cancels from any thread (an inbox and a wake-up), feeds the engine, expands each Launch into
one TaskRun per task for the executor, and turns each Outcome into TaskFinished or TaskFailed. It resolves the
futures, records intervals, writes the journal, delays retries (exponential backoff) and runs again, without using a
retry, a task whose worker died under it. An executor on a cluster (Dask) also says which nodes joined or left
(changes()): they become NodeJoined and NodeLost, and the engine re-queues what ran on a lost node. Everything the
engine decides is the engine's: the driver holds no resource bookkeeping of its own beyond what a progress bar shows.
"""

from __future__ import annotations

import heapq
import logging
import pickle
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from hetflow.core.engine import Engine
from hetflow.core.instructions import Cancel, Failed, Instruction, Launch, Released, Retried, Skipped
from hetflow.core.partitions import describe
from hetflow.core.states import TaskState
from hetflow.core.stimuli import (
    CancelRequested,
    NodeJoined,
    NodeLost,
    Resize,
    Stimulus,
    TaskFailed,
    TaskFinished,
    TasksSubmitted,
)
from hetflow.core.triggers import Observed, Trigger, Triggers
from hetflow.errors import ExecutionError, TaskFailedError, TaskSkippedError
from hetflow.executors.api import CANCELLED, DONE, LOST, Executor, NodeChange, Outcome, TaskRun
from hetflow.journal import store as J
from hetflow.journal.store import Journal
from hetflow.runtime.futures import RemoteTraceback, TaskFuture
from hetflow.runtime.sets import SetInfo, resolve_futures
from hetflow.spec.platform import Node
from hetflow.spec.trace import Interval, Mark
from hetflow.spec.workflow import TaskSet

MAX_LOSSES = 3  # a task whose worker dies this many times under it fails
MAX_BACKOFF_S = 60.0
log = logging.getLogger("hetflow")


class _Rec:
    __slots__ = ("gpu_units", "index", "info", "launch", "run", "sent")

    def __init__(self, info: SetInfo, launch: int, index: int, run: TaskRun, gpu_units: int, sent: float) -> None:
        self.info = info
        self.launch = launch
        self.index = index
        self.run = run
        self.gpu_units = gpu_units
        self.sent = sent  # when it went to the executor (wall clock)


class Driver:
    """One engine, one executor, one optional journal, one thread."""

    def __init__(
        self,
        engine: Engine,
        executor: Executor,
        nodes: Sequence[Node],
        journal: Journal | None,
        backoff: float,
        act: Callable[[Trigger, Observed], list[str]] | None = None,
    ) -> None:
        self.engine = engine
        self.executor = executor
        self.nodes = list(nodes)
        self.journal = journal
        self.backoff = backoff
        self.t0 = time.monotonic()
        self.sets: dict[str, SetInfo] = {}  # sets that have not ended
        self.inflight: dict[int, _Rec] = {}
        self.intervals: list[Interval] = []
        self.marks: list[Mark] = []  # triggers fired, partitions resized (wall clock)
        self.triggers = Triggers()
        self._act = act  # runs a trigger's action; what it did, in words
        self._counts: dict[str, int] = {}  # tasks per set, for every set ever submitted
        self._requeued: set[tuple[str, int]] = set()  # tasks the engine stopped and queued again (preempted)
        self.error: BaseException | None = None
        self.started = threading.Event()
        self.finished = threading.Event()
        self.cores_busy = 0
        self.gpu_units_busy = 0
        self.failed_tasks = 0
        self.skipped_tasks = 0
        self._lock = threading.Lock()
        self._inbox: list[tuple[Any, ...]] = []
        self._posted = False
        self._accepting = True  # False once the loop has ended: nothing posted after would ever be seen
        self._closing = False
        self._delayed: list[tuple[float, int]] = []
        self._next_key = 0
        self._touched: set[str] = set()
        self._changes: Callable[[], list[NodeChange]] | None = getattr(executor, "changes", None)
        self._losing: set[str] = set()  # nodes whose loss the engine is being told now
        self._thread = threading.Thread(target=self._main, name="hetflow-driver", daemon=True)

    # ---- any thread -----------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()
        self.started.wait()
        if self.error is not None:
            raise ExecutionError(f"the runtime could not start: {self.error}") from self.error

    def post(self, item: tuple[Any, ...]) -> None:
        """Hand the driver ("sets", [(TaskSet, SetInfo)], kind, workflow name or None, time submitted),
        ("cancel", set, index), ("resize", {partition: Share}, preempt), ("trigger", Trigger) or
        ("close", cancel_all)."""
        with self._lock:
            if not self._accepting:
                raise ExecutionError("the session is closed")
            self._inbox.append(item)
            if self._posted or threading.get_ident() == self._thread.ident:
                return
            self._posted = True
        self.executor.wake()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # ---- the loop -------------------------------------------------------------------------------------------------
    def _main(self) -> None:
        status = "done"
        try:
            self.executor.start(self.nodes)
            if self.journal is not None:
                now = time.time()
                for n in self.nodes:
                    self.journal.event(now, J.NODE_JOINED, node=n.name, cores=n.cores, gpu_units=n.gpu_units)
            self.started.set()
            self._loop()
            if self.failed_tasks or self.skipped_tasks:
                status = "failed"
            elif self.engine.state_counts()[TaskState.CANCELLED]:
                status = "cancelled"
        except BaseException as exc:
            status = "crashed"
            self.error = exc
            self._fail_all(exc)
        finally:
            with self._lock:
                self._accepting = False
                self.finished.set()
            self.started.set()
            try:
                self.executor.close()
            finally:
                if self.journal is not None:
                    try:
                        self.journal.end(status)
                    finally:
                        self.journal.close()

    def _loop(self) -> None:
        engine, ex, j = self.engine, self.executor, self.journal
        stimuli: list[Stimulus] = []
        while True:
            if self._posted or self._inbox:
                with self._lock:
                    items, self._inbox = self._inbox, []
                    self._posted = False
                self._take(items, stimuli)
            if stimuli:
                out = engine.handle(time.monotonic() - self.t0, stimuli)
                stimuli = []
                self._apply(out, stimuli)
                self._losing.clear()
                self._requeued.clear()
                if self.triggers.pending:
                    self._fire()
                if stimuli:
                    continue  # tasks kept from an earlier run end at once
                self._settle()
                self._unstick(stimuli)
                if stimuli:
                    continue
            if self._delayed:
                self._start_due()
            if self._closing and not self._inbox and not engine.unfinished and not self.inflight:
                with self._lock:
                    if not self._inbox:
                        self._accepting = False
                        return
                continue
            if self._inbox:
                continue  # a trigger's action posted from this thread (no wake-up): take it now
            timeout: float | None = None
            if self._delayed:
                timeout = max(0.0, self._delayed[0][0] - time.monotonic())
            if j is not None:
                due = j.due(time.monotonic())
                if due == 0.0:
                    j.flush()
                    due = None
                if due is not None:
                    timeout = due if timeout is None else min(timeout, due)
            outcomes = ex.poll(timeout)
            if outcomes:
                self._outcomes(outcomes, stimuli)
            if self.triggers.pending:
                self._fire()
            if self._changes is not None:
                self._membership(self._changes(), stimuli)

    # ---- inbox ----------------------------------------------------------------------------------------------------
    def _take(self, items: list[tuple[Any, ...]], stimuli: list[Stimulus]) -> None:
        j = self.journal
        new: list[TaskSet] = []
        for item in items:
            what = item[0]
            if what == "sets":
                pairs: list[tuple[TaskSet, SetInfo]] = item[1]
                for spec, info in pairs:
                    self.sets[spec.name] = info
                    self._counts[spec.name] = spec.count
                    new.append(spec)
                if j is not None:
                    now = item[4]
                    if item[3] is not None:
                        j.name_workflow(item[3])
                    j.add_sets((p[0] for p in pairs), item[2])
                    for spec, _ in pairs:
                        j.event(now, J.SUBMITTED, spec.name, detail=str(spec.count))
                continue
            if new:
                stimuli.append(TasksSubmitted(tuple(new)))
                new = []
            if what == "cancel":
                _, name, index = item
                if name in self.sets:
                    stimuli.append(CancelRequested(name, index))
                    self._touched.add(name)
                    if j is not None:
                        j.event(time.time(), J.CANCELLED, name, index)
            elif what == "resize":
                _, shares, preempt = item
                stimuli.append(Resize(tuple(shares.items()), preempt))
                self._mark("resize", describe(shares, preempt))
            elif what == "trigger":
                self._arm(item[1])
            elif what == "close":
                self._closing = True
                if item[1]:
                    self._cancel_everything(stimuli)
        if new:
            stimuli.append(TasksSubmitted(tuple(new)))

    def _cancel_everything(self, stimuli: list[Stimulus]) -> None:
        now = time.time()
        for name, info in self.sets.items():
            st = self.engine.sets.get(name)
            if st is None or not st.ended:
                stimuli.append(CancelRequested(name))
                self._touched.add(name)
                if self.journal is not None:
                    self.journal.event(now, J.CANCELLED, name)
            if info.futures:
                for f in info.futures:
                    if not f.done():
                        super(TaskFuture, f).cancel()

    # ---- triggers -------------------------------------------------------------------------------------------------
    def _arm(self, trigger: Trigger) -> None:
        self.triggers.add(trigger, self._counts)

    def _fire(self) -> None:
        """Run the actions of the triggers that are due; a failing action is recorded, the run goes on."""
        for trigger, seen in self.triggers.due():
            if self._act is None:
                continue
            try:
                text = f"{trigger.name}: {'; '.join(self._act(trigger, seen)) or 'nothing'}"
            except Exception as exc:
                log.error("trigger %r failed: %s: %s", trigger.name, type(exc).__name__, exc)
                text = f"{trigger.name}: failed: {type(exc).__name__}: {exc}"
            self._mark("trigger", text)

    def _mark(self, kind: str, text: str) -> None:
        now = time.time()
        self.marks.append(Mark(now, kind, text))
        if self.journal is not None:
            self.journal.event(now, J.TRIGGERED if kind == "trigger" else J.RESIZED, detail=text)

    def _membership(self, changes: list[NodeChange], stimuli: list[Stimulus]) -> None:
        """Nodes of the cluster that joined or left: new ones are used at once, a lost one's tasks run elsewhere."""
        j = self.journal
        for c in changes:
            now = time.time()
            if c.node is None:
                self._losing.add(c.name)
                stimuli.append(NodeLost(c.name))
                if j is not None:
                    j.event(now, J.NODE_LOST, node=c.name)
            else:
                stimuli.append(NodeJoined(c.node))
                if j is not None:
                    n = c.node
                    j.event(now, J.NODE_JOINED, node=n.name, cores=n.cores, gpu_units=n.gpu_units)

    # ---- instructions ---------------------------------------------------------------------------------------------
    def _apply(self, out: list[Instruction], stimuli: list[Stimulus]) -> None:
        j = self.journal
        for ins in out:
            kind = type(ins)
            if kind is Launch:
                self._launch(ins, stimuli)  # type: ignore[arg-type]
            elif kind is Released:
                if j is not None:
                    j.event(time.time(), J.RELEASED, ins.set)  # type: ignore[union-attr]
            elif kind is Retried:
                self._retried(ins)  # type: ignore[arg-type]
            elif kind is Failed:
                self._failed(ins)  # type: ignore[arg-type]
            elif kind is Skipped:
                self._skipped(ins)  # type: ignore[arg-type]
            elif kind is Cancel:
                self._cancel(ins)  # type: ignore[arg-type]

    def _launch(self, ins: Launch, stimuli: list[Stimulus]) -> None:
        info = self.sets[ins.set]
        spec = info.spec
        j = self.journal
        now = time.time()
        mono = time.monotonic()
        batch: list[TaskRun] = []
        single = spec.count == 1
        for k in range(ins.stop - ins.start):
            idx = ins.start + k
            if info.kept is not None and idx in info.kept:
                stimuli.append(TaskFinished(ins.launch, idx))
                self.triggers.done(ins.set)  # its result is in the journal, not here
                self._touched.add(ins.set)
                iv = info.kept[idx]
                self.intervals.append(iv)
                if info.group is not None:
                    info.group.intervals.append(iv)
                    info.group.kept += 1
                if j is not None:
                    j.event(now, J.KEPT, ins.set, idx)
                continue
            grant = ins.gpus[k] if ins.gpus else ()
            key = self._next_key
            self._next_key += 1
            attempt = 1 + info.starts.get(idx, 0) if info.starts else 1
            if info.command is not None:
                run = TaskRun(
                    key,
                    spec.name if single else f"{spec.name}[{idx}]",
                    ins.node,
                    ins.cores,
                    grant,
                    command=info.command.replace("{index}", str(idx)),
                    timeout=info.timeout,
                    attempt=attempt,
                )
            else:
                args = info.items[idx] if info.items is not None else info.args
                kwargs = info.kwargs
                if info.deps:
                    args, kwargs = resolve_futures(args), resolve_futures(kwargs)
                run = TaskRun(
                    key,
                    spec.name if single else f"{spec.name}[{idx}]",
                    ins.node,
                    ins.cores,
                    grant,
                    info.fn,
                    args,
                    kwargs,
                    None,
                    idx if isinstance(info.fn, str) else None,
                    info.timeout,
                    attempt,
                )
            units = ins.gpu_units
            self.inflight[key] = _Rec(info, ins.launch, idx, run, units, now)
            self.cores_busy += ins.cores
            self.gpu_units_busy += units
            if j is not None:
                j.event(now, J.STARTED, ins.set, idx, ins.node, attempt, None, ins.cores, units, _grant_text(grant))
            if info.not_before:
                at = info.not_before.pop(idx, 0.0)
                if at > mono:
                    heapq.heappush(self._delayed, (at, key))
                    continue
            batch.append(run)
        if batch:
            self.executor.submit(batch)

    def _retried(self, ins: Retried) -> None:
        info = self.sets[ins.set]
        if ins.reason.startswith("preempted"):
            self._requeued.add((ins.set, ins.index))
        info.starts[ins.index] = info.starts.get(ins.index, 0) + 1
        if self.backoff > 0 and ins.attempt > 0:
            pause = min(MAX_BACKOFF_S, self.backoff * 2 ** (ins.attempt - 1))
            info.not_before[ins.index] = time.monotonic() + pause
        if self.journal is not None:
            self.journal.event(time.time(), J.RETRIED, ins.set, ins.index, attempt=ins.attempt, detail=ins.reason)

    def _failed(self, ins: Failed) -> None:
        info = self.sets[ins.set]
        self._touched.add(ins.set)
        self.failed_tasks += 1
        self.triggers.failed(ins.set)
        last = info.last.pop(ins.index, None)
        o = last[0] if last is not None else None
        spec = info.spec
        task_id = spec.task_id(ins.index)
        if last is not None:
            self._record(last[1], last[0], "failed")
        if info.group is not None:
            info.group.failed.append((task_id, ins.error))
        if info.futures:
            info.futures[ins.index]._reject(_exception(task_id, ins.error, o))
        if self.journal is not None:
            self.journal.event(time.time(), J.FAILED, ins.set, ins.index, detail=ins.error)

    def _skipped(self, ins: Skipped) -> None:
        self._touched.add(ins.set)
        self.skipped_tasks += ins.count
        self.triggers.failed(ins.set, ins.count)
        info = self.sets.get(ins.set)
        if info is not None:
            if info.group is not None:
                info.group.skipped.append((ins.set, ins.count, ins.reason))
            if info.futures:
                for f in info.futures:
                    if not f.done():
                        f._reject(TaskSkippedError(f"{f.task_id} skipped: {ins.reason}", task_id=f.task_id))
        if self.journal is not None:
            self.journal.event(time.time(), J.SKIPPED, ins.set, None, detail=f"{ins.count}: {ins.reason}")

    def _cancel(self, ins: Cancel) -> None:
        keys = [
            k
            for k, r in self.inflight.items()
            if r.launch == ins.launch and (ins.index is None or r.index == ins.index)
        ]
        now = time.time()
        for key in keys:
            rec = self.inflight.pop(key)
            self.cores_busy -= rec.run.cores
            self.gpu_units_busy -= rec.gpu_units
            self._touched.add(rec.info.spec.name)
            lost = rec.run.node in self._losing  # its node is gone: the engine re-queued it (Retried came first)
            preempted = (rec.info.spec.name, rec.index) in self._requeued
            if rec.info.group is not None and not (lost or preempted):
                rec.info.group.cancelled += 1
            if any(k == key for _, k in self._delayed):
                self._delayed = [d for d in self._delayed if d[1] != key]
                heapq.heapify(self._delayed)
            else:
                self.executor.cancel(key)
            if preempted:  # it held its resources from when it was sent until now
                self._record(rec, Outcome(key, CANCELLED, rec.sent, now), "preempted")
            if self.journal is not None:
                kind = J.LOST if lost else J.PREEMPTED if preempted else J.CANCELLED
                detail = f"node {rec.run.node} lost" if lost else None
                self.journal.event(
                    now, kind, rec.info.spec.name, rec.index, rec.run.node, rec.run.attempt, detail=detail
                )

    # ---- outcomes -------------------------------------------------------------------------------------------------
    def _outcomes(self, outcomes: list[Outcome], stimuli: list[Stimulus]) -> None:
        j = self.journal
        for o in outcomes:
            rec = self.inflight.pop(o.key, None)
            if rec is None or o.status == CANCELLED:
                continue  # cancelled: the engine knows already
            info = rec.info
            run = rec.run
            self.cores_busy -= run.cores
            self.gpu_units_busy -= rec.gpu_units
            name = info.spec.name
            self._touched.add(name)
            status = o.status
            value: Any = None
            if status == DONE:
                try:
                    value = None if o.value is None else pickle.loads(o.value)
                except Exception as exc:
                    status = "failed"
                    o.error = f"the result could not be unpickled here: {type(exc).__name__}: {exc}"
            if status == DONE:
                if info.futures:
                    info.futures[rec.index]._resolve(value)
                self.triggers.done(name, value)
                stimuli.append(TaskFinished(rec.launch, rec.index))
                self._record(rec, o, "done")
                if j is not None:
                    j.event(o.end, J.DONE, name, rec.index, run.node, run.attempt, o.start)
                    if o.value is not None:
                        j.result(name, rec.index, o.value)
                continue
            if status == LOST:
                lost = info.losses[rec.index] = info.losses.get(rec.index, 0) + 1
                if lost < MAX_LOSSES:  # not the task's fault: run it again on a fresh worker, same resources
                    self._rerun(rec, o)
                    continue
                o.error = f"{o.error}; its worker died {lost} times under it"
            info.last[rec.index] = (o, rec)
            stimuli.append(TaskFailed(rec.launch, rec.index, o.error or status, retry=status != LOST))
            if j is not None:
                j.event(o.end, J.ERROR, name, rec.index, run.node, run.attempt, o.start, detail=o.error or status)

    def _record(self, rec: _Rec, o: Outcome, status: str) -> None:
        """Keep the interval one task ran over, for the run's result and its group's."""
        run = rec.run
        iv = Interval(
            rec.info.spec.name, rec.index, rec.index + 1, run.node, o.start, o.end, run.cores, rec.gpu_units, status,
            run.attempt,
        )  # fmt: skip
        self.intervals.append(iv)
        if rec.info.group is not None:
            rec.info.group.intervals.append(iv)

    def _rerun(self, rec: _Rec, o: Outcome) -> None:
        info = rec.info
        info.starts[rec.index] = info.starts.get(rec.index, 0) + 1
        old = rec.run
        key = self._next_key
        self._next_key += 1
        run = TaskRun(
            key,
            old.task_id,
            old.node,
            old.cores,
            old.gpus,
            old.fn,
            old.args,
            old.kwargs,
            old.command,
            old.index,
            old.timeout,
            old.attempt + 1,
        )
        self.inflight[key] = _Rec(info, rec.launch, rec.index, run, rec.gpu_units, time.time())
        self.cores_busy += run.cores
        self.gpu_units_busy += rec.gpu_units
        if self.journal is not None:
            now = time.time()
            self.journal.event(now, J.LOST, info.spec.name, rec.index, old.node, old.attempt, detail=o.error)
            self.journal.event(
                now,
                J.STARTED,
                info.spec.name,
                rec.index,
                old.node,
                run.attempt,
                None,
                run.cores,
                rec.gpu_units,
                _grant_text(run.gpus),
            )
        self.executor.submit([run])

    def _start_due(self) -> None:
        now = time.monotonic()
        batch: list[TaskRun] = []
        while self._delayed and self._delayed[0][0] <= now:
            _, key = heapq.heappop(self._delayed)
            rec = self.inflight.get(key)
            if rec is not None:
                batch.append(rec.run)
        if batch:
            self.executor.submit(batch)

    # ---- sets that ended ------------------------------------------------------------------------------------------
    def _settle(self) -> None:
        if not self._touched:
            return
        touched, self._touched = self._touched, set()
        for name in touched:
            st = self.engine.sets.get(name)
            if st is None or not st.ended:
                continue
            info = self.sets.pop(name, None)
            if info is None:
                continue
            if info.futures:
                for f in info.futures:
                    if not f.done():  # ended without a result: cancelled before it ran
                        super(TaskFuture, f).cancel()
            g = info.group
            if g is not None:
                g.sets_left -= 1
                if g.sets_left == 0:
                    g.event.set()

    def _unstick(self, stimuli: list[Stimulus]) -> None:
        """Nothing runs, nothing will: cancel what is left (a safety net; submissions check that tasks fit)."""
        e = self.engine
        if e.unfinished and e.idle and not self.inflight and not self._inbox:
            err = ExecutionError(f"{e.unfinished} tasks can never run: they need more than any node has")
            for name, info in self.sets.items():
                if name in e.sets and not e.sets[name].ended:
                    stimuli.append(CancelRequested(name))
                    self._touched.add(name)
                    if info.group is not None and info.group.error is None:
                        info.group.error = err
                if info.futures:
                    for f in info.futures:
                        f._reject(err)

    def _fail_all(self, exc: BaseException) -> None:
        err = ExecutionError(f"the runtime stopped: {type(exc).__name__}: {exc}")
        for info in self.sets.values():
            if info.futures:
                for f in info.futures:
                    f._reject(err)
            if info.group is not None:
                info.group.error = err
                info.group.event.set()


def _grant_text(grant: tuple[tuple[int, int], ...]) -> str | None:
    return ",".join(f"{j}:{u}" for j, u in grant) if grant else None


def _exception(task_id: str, error: str, o: Outcome | None) -> BaseException:
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
