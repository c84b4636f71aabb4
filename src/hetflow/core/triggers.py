"""Triggers: code that runs once when a condition over the results of watched task sets first holds.

A Trigger watches task sets and names a condition -- k of their tasks done (count), a fraction of them done
(fraction), or a predicate over what they returned so far -- and an action, then(ctx), that may submit task sets or
whole workflows, cancel tasks, resize partitions or add triggers through ctx (an Actions, which asks the run's
TriggerPort: the simulator and the session each implement one). The runtime gives the
results real tasks returned; the simulator asks a result model (set, index) -> value. Either way the condition is
checked after every batch of tasks that end at one instant, and a trigger fires at most once.

This module keeps the bookkeeping only (pure, no clock, no files): which tasks of which watched sets ended, with what,
and which triggers are due.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hetflow.core.partitions import Share, describe
from hetflow.errors import SpecError
from hetflow.spec.workflow import TaskSet, Workflow


@dataclass(eq=False)
class Observed:
    """What a trigger's condition sees: tasks of its watched sets done (and their results, in the order they came),
    failed, and in all."""

    total: int
    done: int = 0
    failed: int = 0
    results: list[Any] = field(default_factory=list)

    @property
    def ended(self) -> int:
        return self.done + self.failed


class TriggerPort(Protocol):
    """What a run lets a trigger's action do; the simulator and the session each implement it."""

    def elapsed(self) -> float:
        """Seconds since the run started (virtual time in a simulation)."""
        ...

    def submit_workflow(self, workflow: Workflow) -> None:
        """Start a workflow now; its sets may depend on sets submitted before (Workflow.outside)."""
        ...

    def cancel_tasks(self, set_name: str, index: int | None) -> None:
        """Cancel the tasks of a set (one of them with index) that have not ended."""
        ...

    def repartition(self, changes: Mapping[str, Any], preempt: bool) -> dict[str, Share]:
        """Apply new partition shares (checked); returns the new shares of the partitions changed."""
        ...

    def arm(self, trigger: Trigger) -> None:
        """Add a trigger to the run."""
        ...


class Actions:
    """What a trigger's action gets (ctx), in a real run and in a simulation alike: checks arguments, asks the run's
    port, and keeps `did`, what the action did in words (for the run's marks and journal).

    core loads no file: submit() turns task sets into a Workflow itself and hands anything else (a Workflow, a dict,
    a path) to `load`, the run's loader."""

    def __init__(self, port: TriggerPort, seen: Observed, load: Callable[[Any], Workflow]) -> None:
        self.seen = seen  # what the trigger saw when it fired
        self.did: list[str] = []
        self._port = port
        self._load = load

    @property
    def now(self) -> float:
        """Seconds since the run started (virtual time in a simulation)."""
        return self._port.elapsed()

    def submit(self, workflow: Any) -> None:
        """Start a workflow (a Workflow, a dict or a file) or task sets (a sequence of TaskSet) now."""
        if isinstance(workflow, Sequence) and not isinstance(workflow, str):
            wf = task_sets_workflow(workflow)
        else:
            wf = self._load(workflow)
        self._port.submit_workflow(wf)
        self.did.append(f"submitted {len(wf.sets)} task sets ({wf.n_tasks} tasks)")

    def cancel(self, set_name: str, index: int | None = None) -> None:
        """Cancel the tasks of a set (one of them with index) that have not ended."""
        self._port.cancel_tasks(set_name, index)
        self.did.append(f"cancelled {set_name if index is None else f'{set_name}[{index}]'}")

    def resize(
        self, partition: str, *, cores: float | None = None, gpus: float | None = None, preempt: bool = False
    ) -> None:
        """Give a partition new shares of every node (a new name adds a partition)."""
        change = {k: v for k, v in (("cores", cores), ("gpus", gpus)) if v is not None}
        self.repartition({partition: change}, preempt=preempt)

    def repartition(self, changes: Mapping[str, Any], *, preempt: bool = False) -> None:
        """Resize several partitions at once, e.g. {"uq": {"cores": 0.25}, "ddmd": {"cores": 0.75}}."""
        self.did.append(describe(self._port.repartition(changes, preempt), preempt))

    def when(self, trigger: Trigger) -> None:
        """Add another trigger."""
        self._port.arm(trigger)
        self.did.append(f"armed {trigger.name!r}")


def task_sets_workflow(sets: Sequence[Any]) -> Workflow:
    """Task sets submitted together, as a workflow; they may depend on sets submitted before them."""
    got = tuple(sets)
    if not all(isinstance(s, TaskSet) for s in got):
        raise SpecError("submit() takes a workflow or a sequence of TaskSet", place="submit", fix="pass either")
    mine = {s.name for s in got}
    return Workflow("triggered", got, outside=frozenset(p for s in got for p in s.after if p not in mine))


@dataclass(frozen=True)
class Trigger:
    """Run then(ctx) once, when count tasks (or a fraction) of the watched sets are done, or when predicate(observed)
    is true. With several conditions, all must hold."""

    watch: tuple[str, ...]
    then: Callable[[Actions], None]
    count: int | None = None
    fraction: float | None = None
    predicate: Callable[[Observed], bool] | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.watch, str):
            object.__setattr__(self, "watch", (self.watch,))
        if not self.watch:
            raise SpecError("a trigger watches no task set", place=self.name or "trigger", fix="name at least one set")
        if self.count is None and self.fraction is None and self.predicate is None:
            raise SpecError(
                "a trigger has no condition", place=self.name or "trigger", fix="give count=, fraction= or predicate="
            )
        if self.count is not None and self.count < 1:
            raise SpecError(f"count={self.count}", place=self.name or "trigger", fix="count at least 1 task")
        if self.fraction is not None and not 0 < self.fraction <= 1:
            raise SpecError(f"fraction={self.fraction}", place=self.name or "trigger", fix="a fraction within (0, 1]")
        if not self.name:
            object.__setattr__(self, "name", f"when {'+'.join(self.watch)}")

    def holds(self, seen: Observed) -> bool:
        if self.count is not None and seen.done < self.count:
            return False
        if self.fraction is not None and seen.done < math.ceil(self.fraction * seen.total - 1e-9):
            return False
        return self.predicate is None or bool(self.predicate(seen))


class Triggers:
    """The triggers of one run: add them, tell them which tasks ended, ask which are due."""

    def __init__(self) -> None:
        self._armed: list[tuple[Trigger, Observed]] = []
        self._by_set: dict[str, list[Observed]] = {}
        self._dirty: set[int] = set()  # ids of the Observed that changed since due() was last asked
        # set -> tasks done, and -> tasks failed, of every set reported: plain ints (one task done: the shared 1), so
        # a long-lived run keeps a dict entry per set and no object (a tuple each would be 56 bytes more)
        self._done: dict[str, int] = {}
        self._failed: dict[str, int] = {}

    @property
    def watched(self) -> Mapping[str, list[Observed]]:
        """Set name -> the observations that follow it (tasks of other sets need not be reported)."""
        return self._by_set

    def add(self, trigger: Trigger, counts: Mapping[str, int]) -> None:
        """Arm a trigger. counts: the number of tasks of each watched set (each must be known). Tasks of them that
        ended before count as done or failed; their results are not known (conditions on counts only see them)."""
        missing = [s for s in trigger.watch if s not in counts]
        if missing:
            raise SpecError(
                f"trigger {trigger.name!r} watches unknown task set {missing[0]!r}",
                place=trigger.name,
                fix="submit the task sets before the trigger that watches them",
            )
        seen = Observed(sum(counts[s] for s in trigger.watch))
        for name in dict.fromkeys(trigger.watch):
            seen.done += self._done.get(name, 0)
            seen.failed += self._failed.get(name, 0)
        self._armed.append((trigger, seen))
        for s in trigger.watch:
            self._by_set.setdefault(s, []).append(seen)
        self._dirty.add(id(seen))

    def done(self, set_name: str, value: Any = None, n: int = 1) -> None:
        """n tasks of set_name ended well, each with this result. Report every set (watched or not yet)."""
        self._done[set_name] = self._done.get(set_name, 0) + n
        for seen in self._by_set.get(set_name, ()):
            seen.done += n
            seen.results.extend([value] * n)
            self._dirty.add(id(seen))

    def failed(self, set_name: str, n: int = 1) -> None:
        """n tasks of set_name ended without a result (failed or skipped)."""
        self._failed[set_name] = self._failed.get(set_name, 0) + n
        for seen in self._by_set.get(set_name, ()):
            seen.failed += n
            self._dirty.add(id(seen))

    def due(self) -> list[tuple[Trigger, Observed]]:
        """The triggers whose condition holds now, with what they saw, in the order they were added; each is
        returned once, ever."""
        if not self._dirty:
            return []
        dirty, self._dirty = self._dirty, set()
        out: list[tuple[Trigger, Observed]] = []
        keep: list[tuple[Trigger, Observed]] = []
        for trigger, seen in self._armed:
            if id(seen) in dirty and trigger.holds(seen):
                out.append((trigger, seen))
                for s in trigger.watch:
                    self._by_set[s].remove(seen)
                    if not self._by_set[s]:
                        del self._by_set[s]
            else:
                keep.append((trigger, seen))
        self._armed = keep
        return out

    @property
    def pending(self) -> bool:
        """Something changed since due() was last asked."""
        return bool(self._dirty)
