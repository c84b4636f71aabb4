"""Heterogeneity-aware redeployment in simulation: GPU nodes join a running workflow (NodeJoined, through
run_simulation(joins=...)) and hha moves the sets not yet started onto them, cold start included, while what already
runs on CPU nodes stays there; fifo (heterogeneity-oblivious: the portable variant first) keeps to the CPU."""

from __future__ import annotations

import pytest

from hetflow.core.engine import Engine
from hetflow.errors import SpecError
from hetflow.sim.simulator import run_simulation
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import GPU_UNIT, Resources
from hetflow.spec.workflow import TaskSet, Variant, Workflow

CPU = Resources(1)
# 10 s on a GPU node after a 5 s deployment
GPU_WAY = Variant(Resources(1, GPU_UNIT), 10.0, "gpu", image="md-cuda", cold_start=5.0)
GPUS = Platform("gpus", (NodeType("gpu", 2, cores=1, gpu_units=GPU_UNIT),))


def check(engine: Engine) -> None:
    engine.validate()


def by_task(result: object) -> dict[tuple[str, int], tuple[str, float, float]]:
    got = result.intervals  # type: ignore[attr-defined]
    return {(i.set, k): (i.node, i.start, i.end) for i in got for k in range(i.first, i.last)}


def md(name: str, after: str, count: int) -> TaskSet:
    return TaskSet(name, count, CPU, 100.0, after=(after,), variants=(GPU_WAY,))


def test_hha_moves_the_remaining_set_to_gpu_nodes_that_joined() -> None:
    # 4 CPU nodes; S (4 x 10 s) ends at 10; GPU nodes join at 5. MD: two tasks deploy md-cuda on the GPU nodes
    # (10..25), the other two wait for them, warm (25..35), rather than run 100 s on the CPU
    work = Workflow("w", (TaskSet("S", 4, CPU, 10.0), md("MD", "S", 4)))
    cpus = Platform("cpus", (NodeType("cpu", 4, cores=1),))
    r = run_simulation(work, cpus, policy="hha", joins=[(5.0, GPUS)], check=check)
    got = by_task(r)
    assert sorted(got[("MD", k)] for k in range(4)) == [
        ("gpu-0", 10.0, 25.0),
        ("gpu-0", 25.0, 35.0),
        ("gpu-1", 10.0, 25.0),
        ("gpu-1", 25.0, 35.0),
    ]
    assert r.makespan_s == 35.0
    assert [t.type for t in r.platform.node_types] == ["cpu", "gpu"]
    assert run_simulation(work, cpus, policy="hha", check=check).makespan_s == 110.0  # no GPU node: the CPU way
    assert run_simulation(work, cpus, policy="fifo", joins=[(5.0, GPUS)], check=check).makespan_s == 110.0


@pytest.mark.parametrize(("policy", "md2"), [("hha", ("gpu", 20.0, 35.0)), ("fifo", ("cpu", 20.0, 120.0))])
def test_only_sets_not_yet_started_move(policy: str, md2: tuple[str, float, float]) -> None:
    # MD starts on the CPU at 10, before the GPU nodes join at 15: it stays there (10..110). MD2 is released at 20:
    # hha deploys it on the GPU nodes (20..35), fifo runs it on the free CPU nodes (20..120)
    work = Workflow(
        "w", (TaskSet("S", 4, CPU, 10.0), TaskSet("S2", 1, CPU, 20.0), md("MD", "S", 4), md("MD2", "S2", 2))
    )
    cpus = Platform("cpus", (NodeType("cpu", 6, cores=1),))
    r = run_simulation(work, cpus, policy=policy, joins=[(15.0, GPUS)], check=check)
    got = by_task(r)
    assert all(got[("MD", k)][0].startswith("cpu-") and got[("MD", k)][1:] == (10.0, 110.0) for k in range(4))
    assert [(n.split("-")[0], a, b) for n, a, b in (got[("MD2", k)] for k in range(2))] == [md2, md2]


def test_a_joining_node_type_must_be_new() -> None:
    cpus = Platform("cpus", (NodeType("gpu", 1, cores=1),))
    with pytest.raises(SpecError, match="joins it"):
        run_simulation(Workflow("w", (TaskSet("S", 1, CPU, 1.0),)), cpus, joins=[(1.0, GPUS)])


def test_hha_queues_for_a_gpu_node_in_as_many_lanes_as_it_has_gpus() -> None:
    # 12 tasks, 100 s on a CPU core (2 nodes), 10 s on one of 2 GPUs. heft's estimate has waiting tasks end one
    # after the other on the GPU node (20, 30, ... 90 s), so its last two take the CPU (100 s); hha queues them two
    # by two (20, 20, 30, 30, ... 60 s) and runs all twelve on the GPUs
    gpu = Variant(Resources(1, GPU_UNIT), 10.0, "gpu")
    work = Workflow("w", (TaskSet("M", 12, CPU, 100.0, variants=(gpu,)),))
    plat = Platform("p", (NodeType("cpu", 2, cores=1), NodeType("gpu", 1, cores=2, gpu_units=2 * GPU_UNIT)))
    assert run_simulation(work, plat, policy="heft", check=check).makespan_s == 100.0
    r = run_simulation(work, plat, policy="hha", check=check)
    assert r.makespan_s == 60.0
    assert {node for node, _, _ in by_task(r).values()} == {"gpu-0"}
