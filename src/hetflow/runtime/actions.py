"""What a trigger's action can do in a real run: hetflow.core.triggers.TriggerPort through a Session's public
methods, called from the driver thread (they post to the driver's inbox; the next engine step takes them, with the
completions that fired it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from hetflow.core.partitions import Share
from hetflow.core.triggers import Trigger
from hetflow.spec.workflow import Workflow


class Adaptable(Protocol):
    """The part of a Session a trigger's action uses."""

    def elapsed(self) -> float: ...

    def submit_workflow(self, workflow: Workflow) -> Any: ...

    def cancel(self, set_name: str, index: int | None = None) -> None: ...

    def repartition(self, changes: Mapping[str, Any], *, preempt: bool = False) -> dict[str, Share]: ...

    def arm(self, trigger: Trigger) -> None: ...


class SessionPort:
    """hetflow.core.triggers.TriggerPort on the session's clock."""

    def __init__(self, session: Adaptable) -> None:
        self.session = session

    def elapsed(self) -> float:
        return self.session.elapsed()

    def submit_workflow(self, workflow: Workflow) -> None:
        self.session.submit_workflow(workflow)  # sets it depends on outside itself are checked there

    def cancel_tasks(self, set_name: str, index: int | None) -> None:
        self.session.cancel(set_name, index)

    def repartition(self, changes: Mapping[str, Any], preempt: bool) -> dict[str, Share]:
        return self.session.repartition(changes, preempt=preempt)

    def arm(self, trigger: Trigger) -> None:
        self.session.arm(trigger)
