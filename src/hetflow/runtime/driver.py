"""The driver: the engine on the runtime's clock, in one thread of its own.

It takes requests from any thread (messages.py: an inbox and a wake-up), feeds the engine, expands each Launch into
one TaskRun per task for the executor, and turns each Outcome into TaskFinished or TaskFailed; a task whose worker
died under it runs again without using a retry. A cluster executor's changes() become NodeJoined and NodeLost. A
retry waiting for its backoff is the engine's: the driver polls no longer than engine.wake_at.

Data flows one way: messages -> engine -> executor -> outcomes -> engine; what happened goes out as events
(events.py) to observers (journal, futures, intervals), which the driver never reads back.
"""

from __future__ import annotations

import dataclasses
import logging
import pickle
import threading
from collections.abc import Callable, Sequence

from hetflow.core import stimuli as st
from hetflow.core.engine import Engine
from hetflow.core.instructions import (
    PREEMPTION,
    REFUSAL,
    Cancel,
    Failed,
    Instruction,
    Launch,
    Released,
    Retried,
    Skipped,
)
from hetflow.core.partitions import describe
from hetflow.core.states import TaskState
from hetflow.core.triggers import Observed, Trigger, Triggers
from hetflow.errors import ExecutionError
from hetflow.executors.api import CANCELLED, DONE, FAILED, LOST, REFUSED, Executor, NodeChange, Outcome, TaskRun
from hetflow.runtime import events as ev
from hetflow.runtime.clock import Clock
from hetflow.runtime.messages import ArmTrigger, CancelTasks, Close, Message, ResizePartitions, SubmitSets
from hetflow.runtime.sets import Running, SetInfo
from hetflow.spec.platform import Node
from hetflow.spec.trace import Mark

CANCELLED_AT = int(TaskState.CANCELLED)  # an index into a set's counts
MAX_LOSSES = 3  # a task whose worker dies this many times under it fails
WAKE_SLACK_S = 1e-9  # how far before the engine's wake_at a wake-up still counts as due
log = logging.getLogger("hetflow")


class Driver:
    """One engine, one executor, one clock, observers, one thread."""

    def __init__(
        self,
        engine: Engine,
        executor: Executor,
        nodes: Sequence[Node],
        clock: Clock,
        observers: Sequence[ev.Observer],
        buffer: ev.Buffer | None = None,
        act: Callable[[Trigger, Observed], list[str]] | None = None,
    ) -> None:
        self.engine = engine
        self.executor = executor
        self.nodes = list(nodes)
        self.clock = clock
        self._routes: dict[type[ev.Event], list[Callable[[ev.Event], None]]] = {}  # event kind -> who wants it
        for o in observers:
            for kind in o.wants:
                self._routes.setdefault(kind, []).append(o.notify)
        self.buffer = buffer
        self.t0 = clock.now()
        self.sets: dict[str, SetInfo] = {}  # sets that have not ended
        self.inflight: dict[int, Running] = {}
        self.triggers = Triggers()
        self.act = act  # runs a trigger's action; what it did, in words
        self.error: BaseException | None = None
        self.interrupted = False  # set before a Close(cancel=True) that stops the run on Ctrl-C: its status says so
        self.started = threading.Event()
        self.finished = threading.Event()
        self.cores_busy = 0
        self.gpu_units_busy = 0
        self.failed_tasks = 0
        self.skipped_tasks = 0
        self._counts: dict[str, int] = {}  # tasks per set, for every set ever submitted
        self._requeued: set[tuple[str, int]] = set()  # tasks the engine stopped and queued again (preempted)
        self._losing: set[str] = set()  # nodes whose loss the engine is being told now
        self._touched: set[str] = set()
        self._lock = threading.Lock()
        self._inbox: list[Message] = []
        self._posted = False
        self._accepting = True  # False once the loop has ended: nothing posted after would ever be seen
        self._closing = False
        self._next_key = 0
        self._changes: Callable[[], list[NodeChange]] | None = getattr(executor, "changes", None)
        self._turn = threading.Lock()  # held while the engine steps: by the driver's thread, or by step()'s caller
        self._stimuli: list[st.Stimulus] = []  # for the engine's next step
        self._failure: BaseException | None = None  # what a step in another thread raised
        bind: Callable[[Callable[[list[Outcome]], bool]], None] | None = getattr(executor, "bind_step", None)
        if bind is not None:  # an executor that steps the engine in its own thread (step())
            bind(self.step)
        self._thread = threading.Thread(target=self._main, name="hetflow-driver", daemon=True)

    # ---- any thread -----------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()
        self.started.wait()
        if self.error is not None:
            raise ExecutionError(f"the runtime could not start: {self.error}") from self.error

    def post(self, message: Message) -> None:
        """Hand the driver a request; it takes it at its next step. New task sets that came the same way as the last
        message still waiting join it, so that N calls in a loop cost the driver one message, as one map does."""
        if type(message) is SubmitSets and message.workflow is None:
            self.post_sets(message.sets, message.kind, message.times)
            return
        with self._lock:
            if not self._accepting:
                raise ExecutionError("the session is closed")
            self._inbox.append(message)
            if self._posted or threading.get_ident() == self._thread.ident:
                return
            self._posted = True
        self.executor.wake()

    def post_sets(self, infos: list[SetInfo], kind: str, times: list[float]) -> None:
        """post(SubmitSets(infos, kind, None, times)), without making the message when they join the last one (the
        hot path of calls in a loop)."""
        with self._lock:
            if not self._accepting:
                raise ExecutionError("the session is closed")
            inbox = self._inbox
            last = inbox[-1] if inbox else None
            if type(last) is SubmitSets and last.joins(kind, None):
                last.sets.extend(infos)
                last.times.extend(times)
            else:
                inbox.append(SubmitSets(infos, kind, None, times))
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
    def _publish(self, event: ev.Event) -> None:
        for notify in self._routes.get(type(event), ()):
            notify(event)

    def _main(self) -> None:
        status = "done"
        try:
            self.executor.start(self.nodes)
            now = self.clock.time()
            for n in self.nodes:
                self._publish(ev.NodeJoined(now, n))
            log.info("run started on %d nodes (%s executor)", len(self.nodes), self.executor.name)
            self.started.set()
            self._loop()
            if self.interrupted:
                status = "interrupted"
            elif self.failed_tasks or self.skipped_tasks:
                status = "failed"
            elif self.engine.state_counts()[TaskState.CANCELLED]:
                status = "cancelled"
        except BaseException as exc:
            status = "crashed"
            self.error = exc
            log.error("the runtime stopped: %s: %s", type(exc).__name__, exc)
            err = ExecutionError(f"the runtime stopped: {type(exc).__name__}: {exc}")
            self._publish(ev.RunCrashed(tuple(self.sets.values()), err))
        finally:
            with self._lock:
                self._accepting = False
                self.finished.set()
            self.started.set()
            try:
                self.executor.close()
            finally:
                self._publish(ev.RunEnded(status))
                log.info("run ended: %s (%d failed, %d skipped)", status, self.failed_tasks, self.skipped_tasks)

    def elapsed(self) -> float:
        """Seconds since the driver started, on its clock: the engine's time."""
        return self.clock.now() - self.t0

    def _loop(self) -> None:
        while True:
            with self._turn:
                ended, timeout = self._advance()
            if ended:
                return
            outcomes = self.executor.poll(timeout)
            if self._failure is not None:
                raise self._failure  # a step in the executor's thread failed: the run stops as if it were here
            with self._turn:
                self._absorb(outcomes)
                if self._changes is not None:
                    self._membership(self._changes(), self._stimuli)

    def step(self, outcomes: list[Outcome]) -> bool:
        """Advance the engine now, in the calling thread: for an executor whose work runs in a thread of its own (the
        endpoint's event loop), which hands its outcomes over here and gets its launches back in the same call, with
        no hop to the driver's thread and back. One thread steps at a time. True when the driver's thread must look
        again (the engine waits for a time, or the run ended): the executor wakes its poll then."""
        if self.finished.is_set() or self._failure is not None:
            return False
        with self._turn:
            try:
                self._absorb(outcomes)
                if self._changes is not None:
                    self._membership(self._changes(), self._stimuli)
                ended, timeout = self._advance()
            except BaseException as exc:
                self._failure = exc
                return True
        return ended or timeout is not None

    def _absorb(self, outcomes: list[Outcome]) -> None:
        if outcomes:
            self._outcomes(outcomes, self._stimuli)
        if self.triggers.pending:
            self._fire()

    def _advance(self) -> tuple[bool, float | None]:
        """Take what was posted, step the engine while it has something to handle; (the run ended, how long the
        driver may wait for outcomes: None without limit)."""
        engine, buffer, stimuli = self.engine, self.buffer, self._stimuli
        while True:
            if self._posted or self._inbox:
                with self._lock:
                    items, self._inbox = self._inbox, []
                    self._posted = False
                self._take(items, stimuli)
                del items  # what they held (futures, arguments) is the observers' and the executor's now
                if self.triggers.pending:  # armed after its condition already held
                    self._fire()
            wake, now = engine.wake_at, self.elapsed()
            waking = wake is not None and now >= wake - WAKE_SLACK_S
            if stimuli or waking:
                # a wake-up a rounding error short of wake_at counts as on time (a clock whose readings are large
                # floats cannot always step onto wake_at exactly): the engine sees wake_at, never a moment before
                handled, stimuli = stimuli, []
                self._stimuli = stimuli
                out = engine.handle(max(now, wake) if waking and wake is not None else now, handled)
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
                wake = engine.wake_at
            if self._closing and not self._inbox and not engine.unfinished and not self.inflight:
                with self._lock:
                    if not self._inbox:
                        self._accepting = False
                        return True, None
                continue
            if self._inbox:
                continue  # a trigger's action posted from this thread (no wake-up): take it now
            timeout = None if wake is None else max(0.0, wake - self.elapsed())
            if buffer is not None and buffer.pending:
                due = buffer.due() if self.inflight or wake is not None else 0.0  # idle: write it all now
                if due == 0.0:
                    buffer.flush()
                elif due is not None:
                    timeout = due if timeout is None else min(timeout, due)
            return False, timeout

    # ---- inbox ----------------------------------------------------------------------------------------------------
    def _take(self, items: list[Message], stimuli: list[st.Stimulus]) -> None:
        new: list[SetInfo] = []
        for item in items:
            if not isinstance(item, SubmitSets) and new:
                stimuli.append(st.TasksSubmitted(tuple([i.spec for i in new])))
                new = []
            match item:
                case SubmitSets(infos, kind, workflow, times):
                    sets, counts = self.sets, self._counts
                    for info in infos:
                        spec = info.spec
                        sets[spec.name] = info
                        counts[spec.name] = spec.count
                    new.extend(infos)
                    if ev.SetsSubmitted in self._routes:  # the journal's
                        self._publish(ev.SetsSubmitted(tuple(times), tuple([i.spec for i in infos]), kind, workflow))
                case CancelTasks(name, index):
                    cancelled = self.sets.get(name)
                    if cancelled is not None:
                        stimuli.append(st.CancelRequested(name, index))
                        self._touched.add(name)
                        self._publish(ev.SetCancelled(self.clock.time(), name, index, cancelled))
                case ResizePartitions(shares, preempt):
                    stimuli.append(st.Resize(tuple(shares.items()), preempt))
                    self._mark("resize", describe(dict(shares), preempt))
                case ArmTrigger(trigger):
                    self.triggers.add(trigger, self._counts)
                case Close(cancel):
                    self._closing = True
                    if cancel:
                        self._cancel_everything(stimuli)
        if new:
            stimuli.append(st.TasksSubmitted(tuple([i.spec for i in new])))

    def _cancel_everything(self, stimuli: list[st.Stimulus]) -> None:
        # a set the engine does not know came in this batch (one the driver still holds has not ended, so it was
        # not forgotten): engine.ended() would count it as forgotten, and it would run
        now, known = self.clock.time(), self.engine.sets
        for name, info in self.sets.items():
            state = known.get(name)
            if state is None or not state.ended:
                stimuli.append(st.CancelRequested(name))
                self._touched.add(name)
                self._publish(ev.SetCancelled(now, name, None, info, closing=True))

    # ---- triggers -------------------------------------------------------------------------------------------------
    def _fire(self) -> None:
        """Run the actions of the triggers that are due; a failing action is recorded, the run goes on."""
        for trigger, seen in self.triggers.due():
            if self.act is None:
                continue
            try:
                text = f"{trigger.name}: {'; '.join(self.act(trigger, seen)) or 'nothing'}"
            except Exception as exc:
                log.error("trigger %r failed: %s: %s", trigger.name, type(exc).__name__, exc)
                text = f"{trigger.name}: failed: {type(exc).__name__}: {exc}"
            self._mark("trigger", text)

    def _mark(self, kind: str, text: str) -> None:
        self._publish(ev.Marked(Mark(self.clock.time(), kind, text)))

    def _membership(self, changes: list[NodeChange], stimuli: list[st.Stimulus]) -> None:
        """Nodes of the cluster that joined or left: new ones are used at once, a lost one's tasks run elsewhere."""
        for c in changes:
            now = self.clock.time()
            if c.node is None:
                log.warning("node %s lost: its tasks run again elsewhere", c.name)
                self._losing.add(c.name)
                stimuli.append(st.NodeLost(c.name))
                self._publish(ev.NodeLost(now, c.name))
            else:
                log.info("node %s joined (%d cores, %g GPU units)", c.name, c.node.cores, c.node.gpu_units)
                stimuli.append(st.NodeJoined(c.node))
                self._publish(ev.NodeJoined(now, c.node))

    # ---- instructions ---------------------------------------------------------------------------------------------
    def _apply(self, out: list[Instruction], stimuli: list[st.Stimulus]) -> None:
        """Carry out the engine's instructions: the runs of every launch of the step go to the executor in one
        submit (a step that places one-task sets makes a launch each: one call per step, not per set)."""
        batch: list[TaskRun] = []
        now = 0.0  # when this step's launches go to the executor (read at its first)
        debug = log.isEnabledFor(logging.DEBUG)
        for ins in out:
            if isinstance(ins, Launch):  # the two instructions of every set first, without pattern matching
                if not batch:
                    now = self.clock.time()
                self._launch(ins, stimuli, batch, now)
                if debug:
                    log.debug("launch %s[%d:%d] on %s", ins.set, ins.start, ins.stop, ins.node)
                continue
            if isinstance(ins, Released):
                if ev.SetReleased in self._routes:  # the journal's
                    self._publish(ev.SetReleased(self.clock.time(), ins.set))
                continue
            if batch and isinstance(ins, Cancel):  # what was launched before a cancel reaches the executor first
                self.executor.submit(batch)
                batch = []
            match ins:
                case Retried(name, index, attempt, reason, _, cause):
                    info = self.sets[name]
                    if cause == PREEMPTION:
                        self._requeued.add((name, index))
                    if cause != REFUSAL:  # a refused task never started: its next start is the same attempt
                        info.again(index)
                    log.info("%s: attempt %d ended (%s): it runs again", info.spec.task_id(index), attempt, reason)
                    self._publish(ev.TaskRetried(self.clock.time(), name, index, attempt, reason))
                case Failed(name, index, error):
                    info = self.sets[name]
                    self._touched.add(name)
                    self.failed_tasks += 1
                    self.triggers.failed(name)
                    last = info.failure(index)
                    log.info("%s failed: %s", info.spec.task_id(index), error)
                    self._publish(ev.TaskGaveUp(self.clock.time(), info, index, error, last))
                case Skipped(name, count, reason):
                    self._touched.add(name)
                    self.skipped_tasks += count
                    self.triggers.failed(name, count)
                    self._publish(ev.TasksSkipped(self.clock.time(), name, self.sets.get(name), count, reason))
                case Cancel(launch, index):
                    self._cancel(launch, index)
        if batch:
            self.executor.submit(batch)

    def _launch(self, ins: Launch, stimuli: list[st.Stimulus], batch: list[TaskRun], now: float) -> None:
        """The runs of a launch join the step's batch (a task kept from an earlier run ends at once instead)."""
        info = self.sets[ins.set]
        for k in range(ins.stop - ins.start):
            idx = ins.start + k
            if info.kept is not None and idx in info.kept:
                stimuli.append(st.TaskFinished(ins.launch, idx))
                self.triggers.done(ins.set)  # its result is in the journal, not here
                self._touched.add(ins.set)
                self._publish(ev.TaskKept(now, info, idx, info.kept[idx]))
                continue
            run = info.task_run(
                self._key(), idx, ins.node, ins.cores, ins.gpus[k] if ins.gpus else (), info.attempt(idx), ins.memory
            )
            batch.append(self._started(Running(info, ins.launch, idx, run, ins.gpu_units, now)))

    def _key(self) -> int:
        self._next_key += 1
        return self._next_key

    def _started(self, r: Running) -> TaskRun:
        self.inflight[r.run.key] = r
        self.cores_busy += r.run.cores
        self.gpu_units_busy += r.gpu_units
        if ev.TaskStarted in self._routes:  # the journal and the futures want it
            self._publish(ev.TaskStarted(r.sent, r))
        return r.run

    def _ended(self, r: Running) -> None:
        self.cores_busy -= r.run.cores
        self.gpu_units_busy -= r.gpu_units
        self._touched.add(r.info.spec.name)

    def _cancel(self, launch: int, index: int | None) -> None:
        keys = [k for k, r in self.inflight.items() if r.launch == launch and (index is None or r.index == index)]
        now = self.clock.time()
        for key in keys:
            r = self.inflight.pop(key)
            self._ended(r)
            self.executor.cancel(key)
            if r.run.node in self._losing:  # its node is gone: the engine re-queued it (Retried came first)
                self._publish(ev.TaskStopped(now, r, "lost", f"node {r.run.node} lost"))
            elif (r.set, r.index) in self._requeued:
                self._publish(ev.TaskStopped(now, r, "preempted"))
            else:
                self._publish(ev.TaskStopped(now, r, "cancelled"))

    # ---- outcomes -------------------------------------------------------------------------------------------------
    def _outcomes(self, outcomes: list[Outcome], stimuli: list[st.Stimulus]) -> None:
        for o in outcomes:
            r = self.inflight.pop(o.key, None)
            if r is None or o.status == CANCELLED:
                continue  # cancelled: the engine knows already
            self._ended(r)
            status = o.status
            if status == REFUSED:  # it never started: the engine places it again, holding nothing meanwhile
                stimuli.append(st.TaskRefused(r.launch, r.index, o.error, self.elapsed() + o.retry_after))
                self._publish(ev.TaskStopped(self.clock.time(), r, "refused", o.error))
                continue
            value = None
            if status == DONE and o.value is not None:
                try:
                    value = pickle.loads(o.value)
                except Exception as exc:
                    status = FAILED
                    o.error = f"the result could not be unpickled here: {type(exc).__name__}: {exc}"
            if status == DONE:
                self.triggers.done(r.set, value)
                stimuli.append(st.TaskFinished(r.launch, r.index))
                self._publish(ev.TaskEnded(r, o, DONE, value))
                continue
            info = r.info
            log.debug("%s: %s: %s", r.run.task_id, status, o.error)
            if status == LOST:
                lost = info.lost(r.index)
                if lost < MAX_LOSSES:  # not the task's fault: run it again on a fresh worker, same resources
                    self._rerun(r, o)
                    continue
                o.error = f"{o.error}; its worker died {lost} times under it"
            info.failing(r.index, o, r)
            stimuli.append(st.TaskFailed(r.launch, r.index, o.error or status, retry=status != LOST))
            self._publish(ev.TaskEnded(r, o, status))

    def _rerun(self, r: Running, o: Outcome) -> None:
        info = r.info
        log.info("%s: %s; it runs again on a fresh worker", r.run.task_id, o.error)
        info.again(r.index)
        run = dataclasses.replace(r.run, key=self._key(), attempt=r.run.attempt + 1)
        now = self.clock.time()
        self._publish(ev.TaskStopped(now, r, "lost", o.error))
        self.executor.submit([self._started(Running(info, r.launch, r.index, run, r.gpu_units, now))])

    # ---- sets that ended ------------------------------------------------------------------------------------------
    def _settle(self) -> None:
        if not self._touched:
            return
        touched, self._touched = self._touched, set()
        engine, sets, known = self.engine, self.sets, self.engine.sets
        for name in touched:
            state = known.get(name)  # read here, not through engine.ended() and count(): one lookup a set
            if state is None:
                if not engine.ended(name):
                    continue
            elif not state.ended:
                continue
            info = sets.pop(name, None)
            if info is None:
                continue
            cancelled = engine.count(name, TaskState.CANCELLED) if state is None else state.counts[CANCELLED_AT]
            if cancelled or info.group is not None:  # else each future has its result or error (events.py)
                self._publish(ev.SetEnded(info, cancelled))
        engine.forget_ended()  # what ended was read: a forgetting engine drops it (core/sets.py)

    def _unstick(self, stimuli: list[st.Stimulus]) -> None:
        """Nothing runs, nothing will: cancel what is left (a safety net; submissions check that tasks fit)."""
        e = self.engine
        if e.unfinished and e.idle and e.wake_at is None and not self.inflight and not self._inbox:
            err = ExecutionError(f"{e.unfinished} tasks can never run: they need more than any node has")
            for name, info in self.sets.items():
                if name in e.sets and not e.ended(name):
                    stimuli.append(st.CancelRequested(name))
                    self._touched.add(name)
                self._publish(ev.SetAbandoned(info, err))
