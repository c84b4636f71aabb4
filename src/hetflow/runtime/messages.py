"""What other threads hand the driver (its inbox): one frozen dataclass per request, dispatched with match."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hetflow.core.partitions import Share
from hetflow.core.triggers import Trigger
from hetflow.runtime.sets import SetInfo
from hetflow.spec.workflow import TaskSet


@dataclass(frozen=True, slots=True)
class SubmitSets:
    """New task sets with what to execute for each; kind says how they came (call, map, shell, workflow)."""

    pairs: Sequence[tuple[TaskSet, SetInfo]]
    kind: str
    workflow: str | None  # the name of the declarative workflow they are, if any
    at: float  # when they were submitted (wall clock)


@dataclass(frozen=True, slots=True)
class CancelTasks:
    """Cancel the tasks of a set that have not ended (one of them with index)."""

    set: str
    index: int | None = None


@dataclass(frozen=True, slots=True)
class ResizePartitions:
    shares: Mapping[str, Share]
    preempt: bool


@dataclass(frozen=True, slots=True)
class ArmTrigger:
    trigger: Trigger


@dataclass(frozen=True, slots=True)
class Close:
    """End the run once every task has ended (cancel: stop them all first)."""

    cancel: bool


Message = SubmitSets | CancelTasks | ResizePartitions | ArmTrigger | Close
