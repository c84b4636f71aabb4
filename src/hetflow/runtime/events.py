"""What happened in a run, as the driver publishes it to its observers (journal, futures, intervals).

The driver decides nothing from these: it has already fed the engine and the executor. Observers turn each event into
their own side effect, in the order published (the journal's rows follow that order). Times are wall-clock seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from hetflow.executors.api import Outcome
from hetflow.runtime.sets import Running, SetInfo
from hetflow.spec.platform import Node
from hetflow.spec.trace import Interval, Mark
from hetflow.spec.workflow import TaskSet


@dataclass(frozen=True, slots=True)
class NodeJoined:
    t: float
    node: Node


@dataclass(frozen=True, slots=True)
class NodeLost:
    t: float
    name: str


@dataclass(frozen=True, slots=True)
class SetsSubmitted:
    times: tuple[float, ...]  # when each set was submitted
    specs: tuple[TaskSet, ...]
    kind: str  # call, map, shell, workflow
    workflow: str | None


@dataclass(frozen=True, slots=True)
class SetReleased:
    t: float
    set: str


@dataclass(frozen=True, slots=True)
class SetCancelled:
    """A cancel of a set's tasks (index None: all of them) went to the engine; closing: the session is ending and
    cancels everything, its futures at once."""

    t: float
    set: str
    index: int | None
    info: SetInfo
    closing: bool = False


@dataclass(frozen=True, slots=True)
class Marked:
    mark: Mark


@dataclass(frozen=True, slots=True)
class TaskKept:
    """A task done in an earlier run of the journal: it ends at once without running."""

    t: float
    info: SetInfo
    index: int
    interval: Interval


@dataclass(frozen=True, slots=True)
class TaskStarted:
    t: float
    running: Running


@dataclass(frozen=True, slots=True)
class TaskEnded:
    """An execution came back: status DONE (value is its result) or why it did not (failed, timeout, lost)."""

    running: Running
    outcome: Outcome
    status: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class TaskStopped:
    """An execution stopped by the runtime: why is cancelled, lost (its node or worker died), preempted or refused
    (where it was sent would not take it: it never started)."""

    t: float
    running: Running
    why: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class TaskRetried:
    t: float
    set: str
    index: int
    attempt: int
    reason: str


@dataclass(frozen=True, slots=True)
class TaskGaveUp:
    """A task failed for good; last is its last failed execution (None when it never ran)."""

    t: float
    info: SetInfo
    index: int
    error: str
    last: tuple[Outcome, Running] | None


@dataclass(frozen=True, slots=True)
class TasksSkipped:
    t: float
    set: str
    info: SetInfo | None
    count: int
    reason: str


@dataclass(frozen=True, slots=True)
class SetEnded:
    """A set ended with tasks of it cancelled, or one of a group (a WorkflowRun, which counts its sets): those are
    what someone may still wait on. A set that ended otherwise (a program's call, mostly) has nobody left waiting,
    each of its futures having its result or error: no event."""

    info: SetInfo
    cancelled: int  # its tasks that ended cancelled (running or not)


@dataclass(frozen=True, slots=True)
class SetAbandoned:
    """Its tasks can never run (nothing fits): they are being cancelled, with this error for whoever waits."""

    info: SetInfo
    error: BaseException


@dataclass(frozen=True, slots=True)
class RunCrashed:
    """The driver stopped on an error: every set not ended fails with it."""

    sets: tuple[SetInfo, ...]
    error: BaseException


@dataclass(frozen=True, slots=True)
class RunEnded:
    status: str  # done, failed, cancelled, crashed


Event = (
    NodeJoined
    | NodeLost
    | SetsSubmitted
    | SetReleased
    | SetCancelled
    | Marked
    | TaskKept
    | TaskStarted
    | TaskEnded
    | TaskStopped
    | TaskRetried
    | TaskGaveUp
    | TasksSkipped
    | SetEnded
    | SetAbandoned
    | RunCrashed
    | RunEnded
)


class Observer(Protocol):
    """Something the driver tells what happened, in order, from its thread: the events of the kinds it wants (so
    that an event nobody wants, a set released in a run without a journal, costs one look-up)."""

    @property
    def wants(self) -> frozenset[type[Event]]: ...

    def notify(self, event: Event) -> None: ...


class Buffer(Protocol):
    """An observer that batches its writes (the journal): the driver wakes up to flush it when it is due."""

    @property
    def pending(self) -> bool: ...

    def due(self) -> float | None: ...

    def flush(self) -> None: ...
