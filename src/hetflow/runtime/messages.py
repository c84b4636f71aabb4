"""What other threads hand the driver (its inbox): one frozen dataclass per request, dispatched with match."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hetflow.core.partitions import Share
from hetflow.core.triggers import Trigger
from hetflow.runtime.sets import SetInfo


@dataclass(slots=True)
class SubmitSets:
    """New task sets with what to execute for each, and when each was submitted (wall clock); kind says how they
    came (call, map, shell, workflow). Not frozen: consecutive calls posted before the driver wakes join one message
    (Driver.post), so a loop of calls costs the driver one message and one event, as a map does."""

    sets: list[SetInfo]  # each with its TaskSet (info.spec)
    kind: str
    workflow: str | None  # the name of the declarative workflow they are, if any
    times: list[float]  # when each set was submitted

    def joins(self, kind: str, workflow: str | None) -> bool:
        """Sets of this kind may join this message (they came the same way, outside any declarative workflow)."""
        return self.kind == kind and workflow is None and self.workflow is None


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
