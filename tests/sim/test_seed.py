"""The seed experiment (examples/seed/, copied from ../shared/seed/): the poster's 2000 s, 1800 s and 1700 s."""

from __future__ import annotations

from pathlib import Path

import pytest

from hetflow.metrics import asynchronicity_gain
from hetflow.sim.simulator import run_simulation, simulate
from hetflow.spec import load_platform, load_workflow
from hetflow.spec.platform import NodeType, Platform

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed"
WORKFLOW = SEED / "arbitrary-workflow.yaml"
PLATFORM = SEED / "summit-30.yaml"


@pytest.mark.parametrize(("mode", "poster"), [("sync", 2000.0), ("workload", 1800.0), ("task", 1700.0)])
def test_seed_makespans_within_five_percent(mode: str, poster: float) -> None:
    res = simulate(WORKFLOW, PLATFORM, mode=mode, policy="fifo")
    assert abs(res.makespan_s - poster) <= 0.05 * poster
    assert res.makespan_s >= res.lower_bound_s
    assert res.tasks == 2420


def test_seed_calibration_points_of_the_reconstruction() -> None:
    """The seed README's sensitivity figures: 28 nodes 2400/2000/2000, 32 nodes 2000/1750/1650."""
    wf = load_workflow(WORKFLOW)
    for nodes, expect in ((28, (2400, 2000, 2000)), (30, (2000, 1800, 1700)), (32, (2000, 1750, 1650))):
        plat = Platform(f"summit-{nodes}", (NodeType("summit", nodes, 42, 60_000, 512 * 2**30),))
        got = tuple(run_simulation(wf, plat, m, "fifo").makespan_s for m in ("sync", "workload", "task"))
        assert got == expect


def test_asynchrony_raises_utilization_and_gains() -> None:
    wf, plat = load_workflow(WORKFLOW), load_platform(PLATFORM)
    runs = {m: run_simulation(wf, plat, m, "fifo") for m in ("sync", "workload", "task")}
    assert runs["sync"].cpu_utilization < runs["workload"].cpu_utilization < runs["task"].cpu_utilization
    assert asynchronicity_gain(runs["task"], runs["sync"]) == pytest.approx(0.15)
    assert asynchronicity_gain(runs["workload"], runs["sync"]) == pytest.approx(0.10)
    core_s = sum(iv.cores * iv.n * (iv.end - iv.start) for iv in runs["task"].intervals)
    assert core_s == 1_784_000  # the seed's total work, every task exactly once
