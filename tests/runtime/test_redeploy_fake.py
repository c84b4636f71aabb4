"""Redeployment on the runtime path: GPU nodes join a real Session's run (a FakeExecutor's join_node, which the
driver turns into NodeJoined) and hha moves the set not yet started onto them. The fake executor pays a first-run
cost per node and image the way a real one would (here scripted; on real backends it is measured, not modelled),
and the schedule is the simulator's, to the second."""

from __future__ import annotations

from typing import Any

import hetflow as hf
from hetflow.executors.api import TaskRun
from hetflow.executors.fake import FakeExecutor, FakeResult
from hetflow.runtime.clock import FakeClock
from hetflow.sim.simulator import run_simulation
from hetflow.spec.load import load_platform, load_workflow
from hetflow.spec.platform import Node
from hetflow.spec.resources import GPU_UNIT

WF: dict[str, Any] = {
    "workflow": "w",
    "tasks": [
        {"name": "S", "count": 4, "runtime": 10, "command": "x"},
        {"name": "MD", "count": 4, "runtime": 100, "after": ["S"], "command": "x",
         "variants": [{"gpus": 1, "runtime": 10, "node_type": "gpu", "image": "md-cuda", "cold_start": 5}]},
    ],
}  # fmt: skip
CPUS = {"platform": "cpus", "nodes": [{"type": "cpu", "count": 4, "cores": 1}]}
GPUS = {"platform": "gpus", "nodes": [{"type": "gpu", "count": 2, "cores": 1, "gpus": 1}]}


def spans(intervals: Any) -> list[tuple[str, int, str, float, float]]:
    return sorted(
        (i.set, k, i.node, round(i.start, 9), round(i.end, 9)) for i in intervals for k in range(i.first, i.last)
    )


def test_hha_on_the_runtime_moves_the_remaining_set_to_joining_gpu_nodes_as_the_simulator_does() -> None:
    clock = FakeClock()
    ready: dict[tuple[str, str], float] = {}  # (node, image) -> when its deployment is done

    def handler(run: TaskRun) -> FakeResult:
        gpu = bool(run.gpus)
        seconds = 10.0 if run.task_id.startswith("S") else (10.0 if gpu else 100.0)
        if gpu:  # the CUDA build's first run on a node: 5 s, shared by the tasks that start meanwhile
            now = clock.now()
            done = ready.setdefault((run.node, "md-cuda"), now + 5.0)
            seconds += max(0.0, done - now)
        return FakeResult(seconds)

    ex = FakeExecutor(handler, clock)
    for node in load_platform(GPUS).nodes():
        ex.join_node(Node(node.name, node.type, node.cores, GPU_UNIT, 0), at=5)
    with hf.Session(executor=ex, clock=clock, platform=CPUS, policy="hha") as s:
        real = s.run(WF).result()
    simulated = run_simulation(load_workflow(WF), load_platform(CPUS), policy="hha", joins=[(5.0, load_platform(GPUS))])
    assert spans(real.intervals) == spans(simulated.intervals)
    assert sorted(x[2:] for x in spans(real.intervals) if x[0] == "MD") == [
        ("gpu-0", 10.0, 25.0),
        ("gpu-0", 25.0, 35.0),
        ("gpu-1", 10.0, 25.0),
        ("gpu-1", 25.0, 35.0),
    ]
