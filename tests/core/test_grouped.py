"""The grouped engine (the simulator's): one LaunchGroup per set, pass, variant and node speed, same schedule."""

from __future__ import annotations

import heapq

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hetflow.core.engine import Engine
from hetflow.core.instructions import Cancel, Launch, LaunchGroup, Retried
from hetflow.core.stimuli import CancelRequested, NodeLost, Stimulus, TaskFinished, TasksSubmitted
from hetflow.policies import POLICIES, make_policy
from hetflow.sim.simulator import run_simulation
from hetflow.spec.platform import Platform
from hetflow.spec.workflow import Workflow

from ..sim.test_properties import platforms, workflows
from .conftest import node, ts


def per_node_schedule(wf: Workflow, plat: Platform, mode: str, policy: str) -> list[tuple[str, int, str, float]]:
    """(set, index, node, start) of every task, driving a default engine: one event per Launch."""
    engine = Engine(plat.nodes(), mode, make_policy(policy))
    events: list[tuple[float, int]] = []
    stimuli: list[Stimulus]
    rows: list[tuple[str, int, str, float]] = []
    now, stimuli = 0.0, [TasksSubmitted(wf.sets)]
    while True:
        for ins in engine.handle(now, stimuli):
            if isinstance(ins, Launch):
                heapq.heappush(events, (now + ins.duration, ins.launch))
                rows += [(ins.set, i, ins.node, now) for i in range(ins.start, ins.stop)]
        engine.validate()
        if not events:
            return sorted(rows)
        now, stimuli = events[0][0], []
        while events and events[0][0] == now:
            stimuli.append(TaskFinished(heapq.heappop(events)[1]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    wf=workflows(),
    plat=platforms(),
    mode=st.sampled_from(["sync", "workload", "task"]),
    policy=st.sampled_from(sorted(POLICIES)),
)
def test_grouping_never_changes_the_schedule(wf: Workflow, plat: Platform, mode: str, policy: str) -> None:
    res = run_simulation(wf, plat, mode, policy)
    grouped = sorted((iv.set, i, iv.node, iv.start) for iv in res.intervals for i in range(iv.first, iv.last))
    assert grouped == per_node_schedule(wf, plat, mode, policy)


def grouped_engine() -> tuple[Engine, LaunchGroup]:
    engine = Engine([node("a-0", cores=2), node("b-0", cores=2, gpus=2)], "task", make_policy("fifo"), grouped=True)
    out = engine.handle(0, [TasksSubmitted((ts("A", count=4, gpus=0),))])
    (group,) = [x for x in out if isinstance(x, LaunchGroup)]
    return engine, group


def test_one_group_spans_the_nodes_of_one_speed() -> None:
    engine, group = grouped_engine()
    assert [(p[0], p[1], p[2]) for p in group.parts] == [(0, 0, 2), (1, 2, 4)]
    engine.handle(10, [TaskFinished(group.launch)])
    engine.validate()
    assert engine.unfinished == 0 and engine.idle


def test_lost_node_stops_only_its_part_of_a_group() -> None:
    engine, group = grouped_engine()
    out = engine.handle(1, [NodeLost("a-0")])
    assert [x for x in out if isinstance(x, Cancel)] == [Cancel(group.launch, 0), Cancel(group.launch, 1)]
    assert [x.index for x in out if isinstance(x, Retried)] == [0, 1]
    engine.validate()
    out = engine.handle(2, [TaskFinished(group.launch)])  # b-0's part ends; the requeued tasks go there
    (again,) = [x for x in out if isinstance(x, LaunchGroup)]
    assert [(p[0], p[1], p[2]) for p in again.parts] == [(1, 0, 2)]
    engine.validate()


def test_single_tasks_of_a_group_end_and_cancel_one_by_one() -> None:
    engine, group = grouped_engine()
    stimuli: list[Stimulus] = [TaskFinished(group.launch, 3), CancelRequested("A", 0)]
    out = engine.handle(1, stimuli)
    assert Cancel(group.launch, 0) in out
    engine.validate()
    engine.handle(2, [TaskFinished(group.launch)])
    engine.validate()
    assert engine.unfinished == 0 and engine.idle
