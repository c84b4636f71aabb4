"""What a trigger's action can do in a simulation: its submissions, cancels and resizes become stimuli at the
virtual instant it fired."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hetflow.core.partitions import describe, repartitioned
from hetflow.core.stimuli import CancelRequested, Resize
from hetflow.core.triggers import Observed, Trigger
from hetflow.spec.load import load_workflow
from hetflow.spec.trace import Mark
from hetflow.spec.workflow import TaskSet

if TYPE_CHECKING:
    from hetflow.sim.simulator import _Sim


class SimActions:
    """hetflow.core.triggers.Actions on virtual time. did: what it was asked to do, in words (for the run's marks)."""

    def __init__(self, sim: _Sim, seen: Observed) -> None:
        self._sim = sim
        self.seen = seen
        self.did: list[str] = []

    @property
    def now(self) -> float:
        return self._sim.now

    def submit(self, workflow: Any) -> None:
        sets = list(workflow) if _is_sets(workflow) else list(load_workflow(workflow).sets)
        self._sim.submit(sets)
        self.did.append(f"submitted {len(sets)} task sets ({sum(s.count for s in sets)} tasks)")

    def cancel(self, set_name: str, index: int | None = None) -> None:
        self._sim.stimuli.append(CancelRequested(set_name, index))
        self.did.append(f"cancelled {set_name if index is None else f'{set_name}[{index}]'}")

    def resize(
        self, partition: str, *, cores: float | None = None, gpus: float | None = None, preempt: bool = False
    ) -> None:
        change = {k: v for k, v in (("cores", cores), ("gpus", gpus)) if v is not None}
        self.repartition({partition: change}, preempt=preempt)

    def repartition(self, changes: Mapping[str, Any], *, preempt: bool = False) -> None:
        sim = self._sim
        new = repartitioned(sim.shares, changes)
        sim.shares.update(new)
        sim.stimuli.append(Resize(tuple(new.items()), preempt))
        sim.marks.append(Mark(sim.now, "resize", describe(new, preempt)))  # as a real run's journal has it
        self.did.append(describe(new, preempt))

    def when(self, trigger: Trigger) -> None:
        self._sim.when(trigger)
        self.did.append(f"armed {trigger.name!r}")


def _is_sets(workflow: Any) -> bool:
    return (
        isinstance(workflow, Sequence)
        and not isinstance(workflow, str)
        and all(isinstance(s, TaskSet) for s in workflow)
    )
