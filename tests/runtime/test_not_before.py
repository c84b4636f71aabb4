"""The set-level not-before on a fake clock: a real Session, driver and engine with a FakeExecutor. A set whose
inputs travel to another site, and a set its policy holds until a time, start exactly when the simulator says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import hetflow as hf
from hetflow.core.view import PlacementView, ReadySet
from hetflow.executors.fake import FakeExecutor, FakeResult
from hetflow.policies import POLICIES
from hetflow.policies.fifo import Fifo
from hetflow.runtime.clock import FakeClock
from hetflow.sim.simulator import run_simulation
from hetflow.spec.load import load_workflow
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.site import Link, Site, Sites

GB = 10**9
WF = {
    "workflow": "w",
    "tasks": [
        {"name": "P", "runtime": 10, "cores": 4, "outputs": "2GB", "command": "x"},
        {"name": "R", "runtime": 1000, "cores": 4, "after": ["P"], "command": "x"},
        {"name": "C", "runtime": 5, "cores": 4, "after": ["P"], "command": "x"},
        {"name": "Q", "runtime": 30, "cores": 4, "command": "x"},
    ],
}


def two_sites() -> Sites:
    one = Platform("p", (NodeType("cpu", 1, 4),))
    links = (Link("A", "B", 0.04, 1e8), Link("B", "A", 0.04, 1e8))
    return Sites((Site("A", one, 100.0), Site("B", one, 10.0)), links, "A")


def spans(intervals: Any) -> list[tuple[str, str, float, float]]:
    return sorted((iv.set, iv.node, round(iv.start, 9), round(iv.end, 9)) for iv in intervals)


def real(policy: str, sites: Sites | None, platform: Platform) -> list[tuple[str, str, float, float]]:
    table = {t["name"]: float(t["runtime"]) for t in WF["tasks"]}
    clock = FakeClock(0.0)
    ex = FakeExecutor(lambda run: FakeResult(table[run.task_id.split("[")[0]]), clock)
    with hf.Session(executor=ex, clock=clock, platform=platform, policy=policy, links=sites) as s:
        s.submit_workflow(load_workflow(WF))
    return spans(s.result().intervals)


def test_inputs_crossing_a_link_delay_a_real_run_as_in_simulation() -> None:
    """C may only use B (R holds A from 10 to 1010; Q holds B until 30): its 2 GB reach B at 10 + 0.04 + 20."""
    sites = two_sites()
    got = real("fifo", sites, sites.platform())
    simulated = spans(run_simulation(load_workflow(WF), sites.platform(), links=sites).intervals)
    assert got == simulated
    assert ("C", "B/cpu-0", 30.04, 35.04) in got


class Hold(Fifo):
    """fifo, but Q may not start before t = 50 (as carbon-wait holds a set until its green hour)."""

    name = "hold"

    def not_before(self, s: ReadySet, view: PlacementView) -> float:
        return 50.0 if s.name == "Q" else 0.0


@pytest.fixture
def hold() -> Iterator[None]:
    POLICIES["hold"] = Hold
    yield
    del POLICIES["hold"]


def test_a_set_held_by_its_policy_starts_at_its_time_holding_nothing(hold: None) -> None:
    one = Platform("p", (NodeType("cpu", 1, 4),))
    got = real("hold", None, one)
    engine_runs: list[tuple[float, int]] = []
    sim = run_simulation(
        load_workflow(WF), one, policy="hold", check=lambda e: engine_runs.append((e.now, e.ledger.used_cores[0]))
    )
    assert got == spans(sim.intervals)
    q = [s for s in got if s[0] == "Q"]
    assert q == [("Q", "cpu-0", 1010.0, 1040.0)]  # held to 50; the node is busy with R then, until 1010
    assert (10.0, 4) in engine_runs  # R took the node while Q waited, holding nothing


def test_a_held_set_alone_waits_for_its_time() -> None:
    """Nothing else runs: the engine's wake_at brings both clocks back at exactly t = 50."""
    wf = {"workflow": "w", "tasks": [{"name": "Q", "runtime": 30, "cores": 4, "command": "x"}]}
    POLICIES["hold"] = Hold
    try:
        one = Platform("p", (NodeType("cpu", 1, 4),))
        clock = FakeClock(0.0)
        ex = FakeExecutor(lambda run: FakeResult(30.0), clock)
        with hf.Session(executor=ex, clock=clock, platform=one, policy="hold") as s:
            s.submit_workflow(load_workflow(wf))
        assert spans(s.result().intervals) == [("Q", "cpu-0", 50.0, 80.0)]
        assert spans(run_simulation(load_workflow(wf), one, policy="hold").intervals) == [("Q", "cpu-0", 50.0, 80.0)]
    finally:
        del POLICIES["hold"]
