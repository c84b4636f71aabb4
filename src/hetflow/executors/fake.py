"""A fake executor for tests, like httpx's MockTransport: tasks take the time a handler says, on a fake clock.

    clock = FakeClock()                                        # hetflow.runtime.clock
    ex = FakeExecutor(lambda run: FakeResult(10.0), clock)     # every task runs 10 s and returns None
    with hetflow.Session(executor=ex, clock=clock, platform=...) as s: ...

Nothing runs and nothing sleeps: poll() moves the clock to the next task end (or node change, or the end of its
timeout) and returns what ended then, so retries, backoff, lost workers and nodes, preemption and cancellation are
tested in milliseconds with exact times. A task's time limit (TaskRun.timeout) ends it as TIMEOUT.
"""

from __future__ import annotations

import heapq
import pickle
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from hetflow.executors.api import CANCELLED, DONE, FAILED, LOST, TIMEOUT, NodeChange, Outcome, TaskRun
from hetflow.spec.platform import Node


@dataclass(frozen=True, slots=True)
class FakeResult:
    """How one execution goes: it runs `seconds`, then ends with status done (value is its result), failed (error,
    and exception, which the task's future raises) or lost (its worker died: the runtime runs it again)."""

    seconds: float
    status: str = DONE
    value: Any = None
    error: str = ""
    exception: BaseException | None = None

    def __post_init__(self) -> None:
        if self.status not in (DONE, FAILED, LOST):
            raise ValueError(f"a fake task ends done, failed or lost, not {self.status!r}")
        if self.seconds < 0:
            raise ValueError(f"a fake task cannot run {self.seconds} s")


class SettableClock(Protocol):
    """The clock a FakeExecutor moves (hetflow.runtime.clock.FakeClock)."""

    def now(self) -> float: ...

    def time(self) -> float: ...

    def advance_to(self, t: float) -> None: ...


@dataclass(order=True, slots=True)
class _Due:
    at: float
    seq: int
    key: int = field(compare=False)
    outcome: Outcome | None = field(compare=False, default=None)  # None: a node change
    change: NodeChange | None = field(compare=False, default=None)


class FakeExecutor:
    """An Executor (and ClusterExecutor's changes()) on a fake clock. handler(run) says how each execution goes;
    lose_node and join_node schedule changes of the cluster. `runs` lists every TaskRun submitted, in order."""

    name = "fake"

    def __init__(self, handler: Callable[[TaskRun], FakeResult], clock: SettableClock) -> None:
        self.handler = handler
        self.clock = clock
        self.runs: list[TaskRun] = []
        self.nodes: list[Node] = []
        self._heap: list[_Due] = []
        self._seq = 0
        self._live: dict[int, _Due] = {}  # key -> its end, for executions still running
        self._node_of: dict[int, str] = {}
        self._ready: list[Outcome] = []  # cancelled: returned by the next poll
        self._changes: list[NodeChange] = []
        self._woken = False
        self._holds = 0  # while above 0 (held()), the clock stands still
        self._alive: set[str] = set()
        self._gone: set[str] = set()  # nodes that left: what is sent there never ends
        self._cond = threading.Condition()

    @contextmanager
    def held(self) -> Iterator[None]:
        """The clock stands still inside this block, so that what a test submits, arms or cancels from its own thread
        lands at one fake instant, however the threads interleave; it moves on when the block ends."""
        with self._cond:
            self._holds += 1
        try:
            yield
        finally:
            with self._cond:
                self._holds -= 1
                self._cond.notify_all()

    # ---- the cluster, as a test scripts it ------------------------------------------------------------------------
    def lose_node(self, name: str, at: float) -> None:
        """At clock time `at`, the node leaves: what runs on it never ends, and the runtime hears NodeLost. (The clock
        only moves while something runs or the runtime waits for a time: a change is seen then.)"""
        self._schedule(at, NodeChange(name))

    def join_node(self, node: Node, at: float) -> None:
        """At clock time `at`, a node joins the cluster."""
        self._schedule(at, NodeChange(node.name, node))

    def _schedule(self, at: float, change: NodeChange) -> None:
        with self._cond:
            heapq.heappush(self._heap, _Due(at, self._next(), -1, change=change))

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    # ---- Executor -------------------------------------------------------------------------------------------------
    def start(self, nodes: Sequence[Node]) -> None:
        self.nodes = list(nodes)
        self._alive = {n.name for n in nodes}

    def submit(self, runs: Sequence[TaskRun]) -> None:
        now = self.clock.now()
        wall = self.clock.time() - now  # wall = monotonic + this
        with self._cond:
            for run in runs:
                if self.nodes and run.node not in self._alive and run.node not in self._gone:
                    raise ValueError(f"task {run.task_id} sent to node {run.node!r}, which the cluster never had")
                self.runs.append(run)
                if run.node in self._gone:
                    continue  # as on a real cluster: it never ends, the runtime hears of the node's loss
                r = self.handler(run)
                status, seconds, error = r.status, r.seconds, r.error
                if run.timeout is not None and seconds > run.timeout:
                    status, seconds, error = TIMEOUT, run.timeout, f"timed out after {run.timeout:g} s"
                end = now + seconds
                o = Outcome(run.key, status, now + wall, end + wall, error=error)
                if status == DONE:
                    o.value = None if r.value is None else pickle.dumps(r.value)
                elif status == FAILED and r.exception is not None:
                    o.exception = pickle.dumps(r.exception)
                due = _Due(end, self._next(), run.key, o)
                heapq.heappush(self._heap, due)
                self._live[run.key] = due
                self._node_of[run.key] = run.node

    def cancel(self, key: int) -> None:
        with self._cond:
            due = self._live.pop(key, None)
            self._node_of.pop(key, None)
            if due is not None:
                due.outcome = None  # never ends now
                t = self.clock.time()
                self._ready.append(Outcome(key, CANCELLED, t, t, error="cancelled"))

    def poll(self, timeout: float | None) -> list[Outcome]:
        with self._cond:
            if self._ready:
                stopped, self._ready = self._ready, []
                return stopped
            self._drop_stale()
            while self._holds and not self._woken:
                self._cond.wait()
            if self._woken:  # something was posted: the runtime takes it at this instant, before the clock moves
                self._woken = False
                return []
            if not self._live and timeout is None:
                # nothing runs: the clock stands still (scheduled node changes included) until the runtime is
                # handed something, so that what a test submits lands at the time it expects
                while not self._woken:
                    self._cond.wait()
                self._woken = False
                return []
            self._woken = False
            until = self.clock.now() + timeout if timeout is not None else self._heap[0].at
            if self._heap and self._heap[0].at < until:
                until = self._heap[0].at
            self.clock.advance_to(until)
            out: list[Outcome] = []
            while self._heap and self._heap[0].at <= until:
                due = heapq.heappop(self._heap)
                if due.change is not None:
                    self._lose_runs(due.change)
                    self._changes.append(due.change)
                elif due.outcome is not None and self._live.pop(due.key, None) is not None:
                    del self._node_of[due.key]
                    out.append(due.outcome)
            return out

    def _drop_stale(self) -> None:
        while self._heap and self._heap[0].change is None and self._heap[0].outcome is None:
            heapq.heappop(self._heap)

    def _lose_runs(self, change: NodeChange) -> None:
        """A node's change takes effect: a new one takes tasks, a lost one's tasks never end."""
        if change.node is not None:
            self._alive.add(change.name)
            self._gone.discard(change.name)
            return
        self._alive.discard(change.name)
        self._gone.add(change.name)
        for key in [k for k, n in self._node_of.items() if n == change.name]:
            del self._node_of[key]
            self._live.pop(key).outcome = None

    def wake(self) -> None:
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._heap.clear()
            self._live.clear()

    # ---- ClusterExecutor ------------------------------------------------------------------------------------------
    def changes(self) -> list[NodeChange]:
        with self._cond:
            out, self._changes = self._changes, []
            return out
