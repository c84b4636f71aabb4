"""What a trigger's action can do in a simulation: its submissions, cancels and resizes become stimuli at the
virtual instant it fired."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hetflow.core.partitions import resized
from hetflow.core.stimuli import CancelRequested, Resize
from hetflow.core.triggers import Observed, Trigger
from hetflow.spec.load import load_workflow
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
        sim = self._sim
        share = resized(sim.shares, partition, cores, gpus)
        sim.shares[partition] = share
        sim.stimuli.append(Resize(((partition, share),), preempt))
        self.did.append(f"resized {partition} to {share.cores:.0%} of cores, {share.gpus:.0%} of GPUs")

    def when(self, trigger: Trigger) -> None:
        self._sim.when(trigger)
        self.did.append(f"armed {trigger.name!r}")


def _is_sets(workflow: Any) -> bool:
    return (
        isinstance(workflow, Sequence)
        and not isinstance(workflow, str)
        and all(isinstance(s, TaskSet) for s in workflow)
    )
