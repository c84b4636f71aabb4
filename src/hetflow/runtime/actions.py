"""What a trigger's action can do in a real run: the Session's own submit, cancel, resize and when, from the driver
thread (they post to the driver's inbox; the next engine step takes them, with the completions that fired it)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hetflow.core.partitions import describe
from hetflow.core.triggers import Observed, Trigger
from hetflow.spec.workflow import TaskSet, Workflow

if TYPE_CHECKING:
    from hetflow.runtime.session import Session


class SessionActions:
    """hetflow.core.triggers.Actions on wall time. did: what it was asked to do, in words (journal and marks)."""

    def __init__(self, session: Session, seen: Observed) -> None:
        self.session = session
        self.seen = seen
        self.did: list[str] = []

    @property
    def now(self) -> float:
        return time.time() - self.session._origin

    def submit(self, workflow: Any) -> None:
        if isinstance(workflow, Sequence) and not isinstance(workflow, str):
            sets = tuple(workflow)
            if not all(isinstance(s, TaskSet) for s in sets):
                raise TypeError("submit() takes a workflow, or a sequence of TaskSet")
            mine = {s.name for s in sets}
            earlier = frozenset(p for s in sets for p in s.after if p not in mine)  # checked by submit_workflow
            workflow = Workflow("triggered", sets, outside=earlier)
        run = self.session.submit_workflow(workflow)
        sets = run.workflow.sets
        self.did.append(f"submitted {len(sets)} task sets ({sum(s.count for s in sets)} tasks)")

    def cancel(self, set_name: str, index: int | None = None) -> None:
        self.session._require().post(("cancel", set_name, index))
        self.did.append(f"cancelled {set_name if index is None else f'{set_name}[{index}]'}")

    def resize(
        self, partition: str, *, cores: float | None = None, gpus: float | None = None, preempt: bool = False
    ) -> None:
        change = {k: v for k, v in (("cores", cores), ("gpus", gpus)) if v is not None}
        self.repartition({partition: change}, preempt=preempt)

    def repartition(self, changes: Mapping[str, Any], *, preempt: bool = False) -> None:
        new = self.session.repartition(changes, preempt=preempt)
        self.did.append(describe(new, preempt))

    def when(self, trigger: Trigger) -> None:
        self.session.arm(trigger)
        self.did.append(f"armed {trigger.name!r}")
