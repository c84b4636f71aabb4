"""A set with no task to run (a map over nothing, every task cancelled before its release) ends as it is released;
the sets after it are released in that same step, not left waiting for a step that may never come."""

from __future__ import annotations

from hetflow.core.engine import Engine
from hetflow.core.instructions import Launch
from hetflow.core.states import TaskState
from hetflow.core.stimuli import TaskFinished, TasksSubmitted
from hetflow.policies import make_policy
from hetflow.sim.simulator import run_simulation
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.workflow import Workflow

from .conftest import node, ts


def launches(out: list[object]) -> list[Launch]:
    return [i for i in out if isinstance(i, Launch)]


def test_the_sets_after_an_empty_one_are_released_in_the_same_step() -> None:
    e = Engine([node("n-0", cores=1)], "task", make_policy("fifo"))
    (a,) = launches(e.handle(0, [TasksSubmitted((ts("A"), ts("Z", count=0, after=["A"]), ts("B", after=["Z"])))]))
    (b,) = launches(e.handle(10, [TaskFinished(a.launch)]))  # A ends: Z (nothing to run) ends, B starts at once
    assert b.set == "B" and e.sets["Z"].ended
    e.handle(20, [TaskFinished(b.launch)])
    assert e.unfinished == 0 and e.state_counts()[TaskState.DONE] == 2
    e.validate()


def test_a_chain_through_empty_sets_simulates_to_its_end() -> None:
    sets = (
        ts("A", runtime=1),
        ts("Z", count=0, after=["A"]),
        ts("Y", count=0, after=["Z"]),
        ts("B", runtime=2, after=["Y"]),
    )
    platform = Platform("p", (NodeType("n", 1, 1),))
    result = run_simulation(Workflow("w", sets), platform, "task", "fifo")
    assert result.makespan_s == 3.0 and [(i.set, i.start, i.end) for i in result.intervals] == [
        ("A", 0, 1),
        ("B", 1, 3),
    ]


def test_the_children_of_an_empty_set_keep_their_place_in_declaration_order() -> None:
    """B (after the empty Z) is declared before C: both are freed when A ends, and fifo takes B first, as if Z were
    not there; in sync mode B's level (after Z's) comes after C's."""
    sets = (
        ts("A", runtime=1),
        ts("Z", count=0, after=["A"]),
        ts("B", runtime=2, after=["Z"]),
        ts("C", runtime=3, after=["A"]),
    )
    platform = Platform("p", (NodeType("n", 1, 1),))
    order = {
        m: [i.set for i in run_simulation(Workflow("w", sets), platform, m, "fifo").intervals]
        for m in ("task", "workload", "sync")
    }
    assert order == {"task": ["A", "B", "C"], "workload": ["A", "B", "C"], "sync": ["A", "C", "B"]}
