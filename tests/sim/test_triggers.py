"""Triggers in simulation: fire exactly once, when their condition first holds, over results from a model; their
actions (submit, cancel, resize, more triggers) take effect at that virtual instant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from hetflow.core.partitions import Share
from hetflow.core.triggers import Actions, Observed, Trigger
from hetflow.errors import SpecError
from hetflow.sim.simulator import run_simulation
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import TaskSet, Workflow

PLAT = Platform("p", (NodeType("n", 1, 2, 0, 0),))


def staggered(n: int = 10) -> Workflow:
    """n one-core tasks of 10 s on 2 cores: two end every 10 s."""
    return Workflow("w", (TaskSet("a", n, Resources.of(1), 10.0),))


def test_count_trigger_fires_once_when_the_kth_task_ends() -> None:
    fired: list[tuple[float, int]] = []

    def then(ctx: Actions) -> None:
        fired.append((ctx.now, ctx.seen.done))
        ctx.submit([TaskSet("b", 1, Resources.of(1), 1.0)])

    r = run_simulation(staggered(), PLAT, triggers=[Trigger("a", then, count=3, name="three")])
    assert fired == [(20.0, 4)]  # the 3rd task ends at 20 s, with the 4th; later completions fire nothing
    assert [(m.t, m.kind) for m in r.marks] == [(20.0, "trigger")]
    assert "three: submitted 1 task sets (1 tasks)" in r.marks[0].text
    b = [iv for iv in r.intervals if iv.set == "b"]
    assert len(b) == 1 and b[0].start == 50.0  # fifo: released at 20 s, after the tasks of a that wait already
    assert r.tasks == 11 and [s.name for s in r.workflow.sets] == ["a", "b"]


def test_predicate_over_model_results() -> None:
    seen: list[Observed] = []

    def then(ctx: Actions) -> None:
        seen.append(ctx.seen)

    uncertainty = lambda s, i: 1.0 / (i + 1)  # noqa: E731 - tasks further on are more certain
    t = Trigger("a", then, predicate=lambda o: min(o.results, default=1.0) < 0.2, name="certain")
    r = run_simulation(staggered(), PLAT, triggers=[t], results=uncertainty)
    assert len(seen) == 1 and seen[0].done == 6  # tasks 4 and 5 (1/5, 1/6) end at 30 s
    assert sorted(seen[0].results) == sorted(1.0 / (i + 1) for i in range(6))
    assert r.marks[0].t == 30.0


def test_fraction_and_no_fire_when_never_true() -> None:
    fired: list[str] = []
    ts = [
        Trigger("a", lambda ctx: fired.append("half"), fraction=0.5),
        Trigger("a", lambda ctx: fired.append("never"), predicate=lambda o: o.done > 99),
    ]
    r = run_simulation(staggered(), PLAT, triggers=ts)
    assert fired == ["half"] and len(r.marks) == 1 and r.marks[0].t == 30.0


def test_cancel_from_a_trigger_stops_running_and_waiting_tasks() -> None:
    wf = Workflow(
        "w",
        (
            TaskSet("quick", 2, Resources.of(1), 5.0),
            TaskSet("slow", 6, Resources.of(1), 100.0),
            TaskSet("after-slow", 1, Resources.of(1), 1.0, after=("slow",)),
        ),
    )
    plat = Platform("p", (NodeType("n", 1, 4, 0, 0),))
    r = run_simulation(wf, plat, triggers=[Trigger("quick", lambda ctx: ctx.cancel("slow"), count=2)])
    slow = [iv for iv in r.intervals if iv.set == "slow"]
    assert {iv.status for iv in slow} == {"cancelled"} and sum(iv.n for iv in slow) == 2  # the 2 that ran
    assert all(iv.end == 5.0 for iv in slow)
    assert not [iv for iv in r.intervals if iv.set == "after-slow"]  # skipped: its dependency was cancelled
    assert r.makespan_s == 5.0
    counts = r.engine.state_counts() if r.engine else {}
    assert sum(n for s, n in counts.items() if s.name == "CANCELLED") == 6


def test_a_trigger_arms_another_on_sets_it_submitted() -> None:
    order: list[str] = []

    def second(ctx: Actions) -> None:
        order.append(f"second at {ctx.now:g}")

    def first(ctx: Actions) -> None:
        order.append(f"first at {ctx.now:g}")
        ctx.submit([TaskSet("c", 2, Resources.of(1), 7.0)])
        ctx.when(Trigger("c", second, count=2))

    r = run_simulation(staggered(4), PLAT, triggers=[Trigger("a", first, count=4)])
    assert order == ["first at 20", "second at 27"]
    assert len(r.marks) == 2


def test_trigger_on_an_unknown_set_is_refused() -> None:
    with pytest.raises(SpecError, match="unknown task set 'nope'"):
        run_simulation(staggered(), PLAT, triggers=[Trigger("nope", lambda ctx: None, count=1)])
    with pytest.raises(SpecError, match="no condition"):
        Trigger("a", lambda ctx: None)


def test_report_shows_the_timeline_of_triggers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from hetflow.report import write_report

    r = run_simulation(staggered(), PLAT, triggers=[Trigger("a", lambda ctx: ctx.cancel("a"), count=4, name="enough")])
    index = write_report([r], tmp_path)
    page = index.read_text()
    assert "Timeline: triggers and resizes (1)" in page and "enough: cancelled a" in page
    assert r.timeline()[0].t == 20.0 and r.tasks == 4


class FakePort:
    """A TriggerPort that records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, object]] = []

    def elapsed(self) -> float:
        return 7.0

    def submit_workflow(self, workflow: Workflow) -> None:
        self.asked.append(("submit", (workflow.name, [s.name for s in workflow.sets], sorted(workflow.outside))))

    def cancel_tasks(self, set_name: str, index: int | None) -> None:
        self.asked.append(("cancel", (set_name, index)))

    def repartition(self, changes: Mapping[str, Any], preempt: bool) -> dict[str, Share]:
        self.asked.append(("repartition", (dict(changes), preempt)))
        return {name: Share(0.5) for name in changes}

    def arm(self, trigger: Trigger) -> None:
        self.asked.append(("arm", trigger.name))


def test_actions_check_arguments_ask_the_port_and_say_what_they_did() -> None:
    port = FakePort()
    loaded: list[object] = []

    def load(x: object) -> Workflow:
        loaded.append(x)
        return Workflow("loaded", (TaskSet("z", 2, Resources.of(1), 1.0),))

    ctx = Actions(port, Observed(3), load)
    assert ctx.now == 7.0 and ctx.seen.total == 3
    ctx.submit([TaskSet("b", 1, Resources.of(1), 1.0, ("a",))])  # task sets: turned into a workflow in core
    ctx.submit({"workflow": "x"})  # anything else goes to the run's loader
    ctx.cancel("a", 2)
    ctx.resize("uq", cores=0.5, preempt=True)
    ctx.when(Trigger("b", lambda c: None, count=1, name="next"))
    assert loaded == [{"workflow": "x"}]
    assert port.asked == [
        ("submit", ("triggered", ["b"], ["a"])),
        ("submit", ("loaded", ["z"], [])),
        ("cancel", ("a", 2)),
        ("repartition", ({"uq": {"cores": 0.5}}, True)),
        ("arm", "next"),
    ]
    assert ctx.did[:3] == ["submitted 1 task sets (1 tasks)", "submitted 1 task sets (2 tasks)", "cancelled a[2]"]
    assert ctx.did[-1] == "armed 'next'"
    with pytest.raises(SpecError):
        ctx.submit([1, 2])
