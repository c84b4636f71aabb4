"""What a trigger's action can do in a real run: the Session's own submit, cancel, resize and when, from the driver
thread (they post to the driver's inbox; the next engine step takes them, with the completions that fired it)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hetflow.core.partitions import Share
from hetflow.core.triggers import ActionsBase, Observed, Trigger
from hetflow.spec.workflow import Workflow

if TYPE_CHECKING:
    from hetflow.runtime.session import Session


class SessionActions(ActionsBase):
    """hetflow.core.triggers.Actions on wall time."""

    def __init__(self, session: Session, seen: Observed) -> None:
        super().__init__(seen)
        self.session = session

    @property
    def now(self) -> float:
        return time.time() - self.session._origin

    def _submit(self, workflow: Workflow) -> None:
        self.session.submit_workflow(workflow)  # sets it depends on outside itself are checked there

    def _cancel(self, set_name: str, index: int | None) -> None:
        self.session._require().post(("cancel", set_name, index))

    def _repartition(self, changes: Mapping[str, Any], preempt: bool) -> dict[str, Share]:
        return self.session.repartition(changes, preempt=preempt)

    def _arm(self, trigger: Trigger) -> None:
        self.session.arm(trigger)
