"""What a trigger's action can do in a simulation: its submissions, cancels and resizes become stimuli at the
virtual instant it fired."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hetflow.core.partitions import Share, describe, repartitioned
from hetflow.core.stimuli import CancelRequested, Resize
from hetflow.core.triggers import ActionsBase, Observed, Trigger
from hetflow.spec.trace import Mark
from hetflow.spec.workflow import Workflow

if TYPE_CHECKING:
    from hetflow.sim.simulator import _Sim


class SimActions(ActionsBase):
    """hetflow.core.triggers.Actions on virtual time."""

    def __init__(self, sim: _Sim, seen: Observed) -> None:
        super().__init__(seen)
        self._sim = sim

    @property
    def now(self) -> float:
        return self._sim.now

    def _submit(self, workflow: Workflow) -> None:
        self._sim.submit(workflow.sets)

    def _cancel(self, set_name: str, index: int | None) -> None:
        self._sim.stimuli.append(CancelRequested(set_name, index))

    def _repartition(self, changes: Mapping[str, Any], preempt: bool) -> dict[str, Share]:
        sim = self._sim
        new = repartitioned(sim.shares, changes)
        sim.shares.update(new)
        sim.stimuli.append(Resize(tuple(new.items()), preempt))
        sim.marks.append(Mark(sim.now, "resize", describe(new, preempt)))  # as a real run's journal has it
        return new

    def _arm(self, trigger: Trigger) -> None:
        self._sim.when(trigger)
