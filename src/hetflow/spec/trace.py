"""Execution records: what ran where and when. Simulations and journals both produce them; metrics read them.

One Interval stands for tasks first..last-1 of a set that ran together on one node over the same time span
(a simulation launches identical tasks in batches; a real run records one task per Interval).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hetflow.spec.resources import GPU_UNIT


@dataclass(frozen=True, slots=True)
class Interval:
    set: str
    first: int
    last: int  # exclusive
    node: str
    start: float
    end: float
    cores: int  # per task
    gpu_units: int  # per task
    status: str = "done"
    attempts: int = 1

    @property
    def n(self) -> int:
        return self.last - self.first

    def task_ids(self, single: bool) -> Iterator[str]:
        """Stable task ids; single means the set holds one task, whose id is the set's name."""
        for i in range(self.first, self.last):
            yield self.set if single else f"{self.set}[{i}]"


@dataclass(frozen=True, slots=True)
class Mark:
    """Something that happened to a run as a whole at time t (seconds, on the clock of its intervals): a trigger
    fired (kind "trigger"), partitions were resized ("resize"). text says what."""

    t: float
    kind: str
    text: str


def task_rows(intervals: Iterable[Interval], counts: dict[str, int]) -> Iterator[dict[str, Any]]:
    """One record per task: id, set, node, start, end, cores, gpus, status, attempts."""
    for iv in intervals:
        for tid in iv.task_ids(counts.get(iv.set, 2) == 1):
            yield {
                "id": tid,
                "set": iv.set,
                "node": iv.node,
                "start": iv.start,
                "end": iv.end,
                "cores": iv.cores,
                "gpus": iv.gpu_units / GPU_UNIT,
                "status": iv.status,
                "attempts": iv.attempts,
            }


def write_trace(path: Path, intervals: Iterable[Interval], counts: dict[str, int]) -> int:
    """Write one JSON line per task; returns the number of lines."""
    n = 0
    with path.open("w") as f:
        for row in task_rows(intervals, counts):
            f.write(json.dumps(row) + "\n")
            n += 1
    return n


def to_dict(iv: Interval) -> dict[str, Any]:
    return asdict(iv)
