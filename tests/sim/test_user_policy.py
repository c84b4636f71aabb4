"""A policy object a user writes reaches the engine's compiled modules: what the interpreted engine took from it
(numpy integers as nodes and counts, a priority as a list or a number) runs the same, compiled or not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from hetflow.core.policy import Placement
from hetflow.core.view import PlacementView, ReadySet
from hetflow.policies.fifo import Fifo
from hetflow.sim.simulator import run_simulation
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import TaskSet, Workflow


class NumpyFifo(Fifo):
    """fifo's placements as numpy integers (a policy that picks nodes with numpy), its priority another shape."""

    name = "numpy-fifo"

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def priority(self, s: ReadySet, view: PlacementView) -> Any:
        return [s.seq] if self.key == "list" else float(s.seq)

    def place(self, s: ReadySet, view: PlacementView) -> Iterator[Placement]:
        for node, variant, n in super().place(s, view):
            yield np.int64(node), np.int64(variant), np.int64(n)


@pytest.mark.parametrize("key", ["list", "number"])
def test_numpy_placements_and_other_priorities_schedule_as_fifo(key: str) -> None:
    wf = Workflow(
        "w",
        (
            TaskSet("A", 5, Resources.of(1, 0), 3.0),
            TaskSet("B", 3, Resources.of(2, 0), 2.0, ("A",)),
            TaskSet("C", 1, Resources.of(1, 0), 7.0),
            TaskSet("D", 4, Resources.of(1, 0), 1.0, ("B", "C")),
        ),
    )
    pf = Platform("p", (NodeType("small", 2, 2), NodeType("big", 1, 3)))
    want = run_simulation(wf, pf, "task", "fifo", flat=False)
    got = run_simulation(wf, pf, "task", NumpyFifo(key), flat=False)
    assert got.makespan_s == want.makespan_s
    assert got.intervals == want.intervals
