"""Task sets added while a simulation runs (the stimulus that adaptive workflows build on)."""

from __future__ import annotations

import pytest

from hetflow.errors import EngineError
from hetflow.sim.simulator import run_simulation
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import TaskSet, Workflow

PLAT = Platform("p", (NodeType("n", 1, 4),))


def ts(name: str, count: int, runtime: float, after: tuple[str, ...] = ()) -> TaskSet:
    return TaskSet(name, count, Resources.of(1), runtime, after)


def test_injected_sets_start_no_earlier_than_injected_and_after_their_dependencies() -> None:
    wf = Workflow("w", (ts("A", 4, 100), ts("B", 4, 10)))
    late = (ts("C", 2, 5, ("A",)), ts("D", 1, 5))
    res = run_simulation(wf, PLAT, "task", "fifo", at=[(50.0, late)])
    start = {iv.set: iv.start for iv in sorted(res.intervals, key=lambda iv: iv.start, reverse=True)}
    assert start["D"] >= 50 and start["C"] >= 100  # C waits for A; D for a free core (A holds all four until 100)
    assert res.tasks == 11 and res.makespan_s == 115.0


def test_injection_into_an_idle_platform_and_after_everything_ended() -> None:
    wf = Workflow("w", (ts("A", 1, 10),))
    res = run_simulation(wf, PLAT, "task", "fifo", at=[(500.0, (ts("Z", 1, 1, ("A",)),))])
    assert [(iv.set, iv.start) for iv in res.intervals] == [("A", 0.0), ("Z", 500.0)]


def test_injected_set_with_unknown_dependency_is_refused() -> None:
    wf = Workflow("w", (ts("A", 1, 10),))
    with pytest.raises(EngineError, match="unknown task set 'nope'"):
        run_simulation(wf, PLAT, "task", "fifo", at=[(1.0, (ts("Z", 1, 1, ("nope",)),))])
