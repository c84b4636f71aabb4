"""What the engine is told: the stimuli a driver feeds to Engine.handle()."""

from __future__ import annotations

from dataclasses import dataclass

from hetflow.core.partitions import Share
from hetflow.spec.platform import Node
from hetflow.spec.workflow import TaskSet


@dataclass(frozen=True, slots=True)
class TasksSubmitted:
    """New task sets (a whole workflow, or tasks added while running). Their dependencies must already be known."""

    sets: tuple[TaskSet, ...]


@dataclass(frozen=True, slots=True)
class TaskFinished:
    """Task `index` of a launch ended well; index None means every task of the launch that is still running."""

    launch: int
    index: int | None = None


@dataclass(frozen=True, slots=True)
class TaskFailed:
    """Task `index` of a launch failed; the engine retries it while its retries last unless retry is False."""

    launch: int
    index: int
    error: str
    retry: bool = True


@dataclass(frozen=True, slots=True)
class TaskRefused:
    """Task `index` of a launch did not start: where it was sent refused it (a busy or rate-limited endpoint). It
    goes back to the ready queue at once, holding nothing, and no attempt is spent; its node and every node of that
    node's site (Node.site) take no new work before not_before (Ledger.pause), so it goes elsewhere meanwhile."""

    launch: int
    index: int
    reason: str
    not_before: float


@dataclass(frozen=True, slots=True)
class NodeJoined:
    node: Node


@dataclass(frozen=True, slots=True)
class NodeLost:
    """A node is gone: its running tasks go back to the ready queue without counting as attempts."""

    node: str


@dataclass(frozen=True, slots=True)
class CancelRequested:
    """Cancel the tasks of a set (all of them when index is None) that have not ended."""

    set: str
    index: int | None = None


@dataclass(frozen=True, slots=True)
class Resize:
    """New shares for partitions, applied together (a new name adds one). preempt: tasks running over a shrunk
    partition's new quota stop and go back to the ready queue (without counting as attempts); else they run on and
    the partition starts nothing until it is back under its quota."""

    shares: tuple[tuple[str, Share], ...]
    preempt: bool = False


Stimulus = TasksSubmitted | TaskFinished | TaskFailed | TaskRefused | NodeJoined | NodeLost | CancelRequested | Resize
