"""Admission gates of the three modes of asynchrony.

- sync: a set starts when every set on a lower level has ended.
- workload: a set waits for its dependencies and for every set of its own workload on lower levels.
- task: a set waits for its dependencies only.
Dependencies are the engine's business; a gate adds only the mode's extra waiting.
"""

from __future__ import annotations

from collections import Counter
from typing import Protocol

from hetflow.errors import SpecError

MODES = ("sync", "workload", "task")


class Gated(Protocol):
    level: int
    workload: str


class Gate(Protocol):
    workloads: bool  # it reads the sets' workloads (only then does the engine derive them)

    def add(self, s: Gated) -> None: ...

    def open(self, s: Gated) -> bool: ...

    def ended(self, s: Gated) -> bool:
        """Record that a set ended; True when that may open the gate for others."""
        ...


class TaskGate:
    workloads = False

    def add(self, s: Gated) -> None:
        pass

    def open(self, s: Gated) -> bool:
        return True

    def ended(self, s: Gated) -> bool:
        return False


class SyncGate:
    workloads = False

    def __init__(self) -> None:
        self._left: Counter[int] = Counter()

    def add(self, s: Gated) -> None:
        self._left[s.level] += 1

    def open(self, s: Gated) -> bool:
        return all(n == 0 for level, n in self._left.items() if level < s.level)

    def ended(self, s: Gated) -> bool:
        self._left[s.level] -= 1
        return self._left[s.level] == 0


class WorkloadGate:
    workloads = True

    def __init__(self) -> None:
        self._left: Counter[tuple[str, int]] = Counter()

    def add(self, s: Gated) -> None:
        self._left[s.workload, s.level] += 1

    def open(self, s: Gated) -> bool:
        return all(n == 0 for (w, level), n in self._left.items() if w == s.workload and level < s.level)

    def ended(self, s: Gated) -> bool:
        self._left[s.workload, s.level] -= 1
        return self._left[s.workload, s.level] == 0


def make_gate(mode: str) -> Gate:
    """The gate of a mode by name."""
    gates: dict[str, type[TaskGate] | type[SyncGate] | type[WorkloadGate]] = {
        "sync": SyncGate,
        "workload": WorkloadGate,
        "task": TaskGate,
    }
    if mode not in gates:
        raise SpecError(f"unknown mode {mode!r}", place="--mode", fix=f"use one of {', '.join(MODES)}")
    return gates[mode]()
