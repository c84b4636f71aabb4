"""Retries, backoff, lost nodes and workers, preemption, cancellation and timeouts on a fake clock: a real Session,
driver, engine and journal, with a FakeExecutor instead of processes. Times are exact; nothing sleeps."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import hetflow as hf
from hetflow.core.triggers import Trigger
from hetflow.errors import TaskFailedError
from hetflow.executors.api import TaskRun
from hetflow.executors.fake import FakeExecutor, FakeResult
from hetflow.runtime.clock import FakeClock
from hetflow.sim.simulator import run_simulation
from hetflow.spec.load import load_platform, load_workflow
from hetflow.spec.platform import Node

ONE_CORE = {"platform": "one", "nodes": [{"type": "n", "cores": 1}]}
TWO_NODES = {"platform": "two", "nodes": [{"type": "n", "count": 2, "cores": 1}]}

Handler = Callable[[TaskRun], FakeResult]


def set_of(run: TaskRun) -> str:
    return run.task_id.split("[")[0]


def runtimes(wf: Mapping[str, Any]) -> Handler:
    """Every task runs its set's declared runtime and ends well."""
    table = {t["name"]: float(t.get("runtime", 0)) for t in wf["tasks"]}
    return lambda run: FakeResult(table[set_of(run)])


@contextmanager
def fake_session(
    handler: Handler, start: float = 0.0, **options: Any
) -> Iterator[tuple[hf.Session, FakeExecutor, FakeClock]]:
    clock = FakeClock(start)
    ex = FakeExecutor(handler, clock)
    options.setdefault("platform", ONE_CORE)
    with hf.Session(executor=ex, clock=clock, **options) as s:
        yield s, ex, clock


def events(journal: Path, set_name: str | None = None) -> list[tuple[str, str | None, int | None, float]]:
    with sqlite3.connect(journal) as conn:
        rows = conn.execute('SELECT kind, "set", idx, t FROM events ORDER BY seq').fetchall()
    return [r for r in rows if set_name is None or r[1] == set_name]


def spans(intervals: Any, status: str = "done") -> list[tuple[str, int, str, float, float]]:
    """(set, index, node, start, end) of each task, from per-task or grouped intervals."""
    out = [
        (iv.set, i, iv.node, round(iv.start, 9), round(iv.end, 9))
        for iv in intervals
        if iv.status == status
        for i in range(iv.first, iv.last)
    ]
    return sorted(out)


def test_a_retry_waits_for_its_backoff_holding_no_core(tmp_path: Path) -> None:
    wf = {
        "workflow": "w",
        "tasks": [
            {"name": "bad", "command": "x", "runtime": 1, "retries": 1},
            {"name": "other", "command": "x", "runtime": 5},
        ],
    }
    plain = runtimes(wf)

    def handler(run: TaskRun) -> FakeResult:
        if run.task_id == "bad" and run.attempt == 1:
            return FakeResult(1, "failed", error="boom")
        return plain(run)

    journal = tmp_path / "run.db"
    with fake_session(handler, journal=journal, retry_backoff=10) as (s, _, clock):
        run = s.run(wf)
    assert run.ok and clock.now() == 12
    # the core is free during bad's backoff: other runs 1..6, bad again 11..12
    assert spans(run.result().intervals) == [("bad", 0, "n-0", 11, 12), ("other", 0, "n-0", 1, 6)]
    assert [(k, t) for k, _, _, t in events(journal, "bad")] == [
        ("submitted", 0),
        ("released", 0),
        ("started", 0),
        ("error", 1),
        ("retried", 1),
        ("started", 11),
        ("done", 12),
    ]


def test_a_lost_node_s_tasks_run_elsewhere(tmp_path: Path) -> None:
    wf = {"workflow": "w", "tasks": [{"name": "a", "count": 2, "command": "x", "runtime": 10}]}
    journal = tmp_path / "run.db"
    with fake_session(runtimes(wf), platform=TWO_NODES, journal=journal) as (s, ex, _):
        ex.lose_node("n-1", at=4)
        run = s.run(wf)
    assert run.ok
    assert spans(run.result().intervals) == [("a", 0, "n-0", 0, 10), ("a", 1, "n-0", 10, 20)]
    rows = events(journal)
    assert ("node-lost", None, None, 4) in rows and ("lost", "a", 1, 4) in rows
    assert [k for k, _, i, _ in rows if i == 1] == ["started", "retried", "lost", "started", "done"]


def test_a_node_that_joins_is_used_at_once() -> None:
    wf = {"workflow": "w", "tasks": [{"name": "a", "count": 3, "command": "x", "runtime": 10}]}
    with fake_session(runtimes(wf)) as (s, ex, _):
        ex.join_node(Node("m-0", "m", 1, 0, 0), at=2)
        run = s.run(wf)
    assert spans(run.result().intervals) == [("a", 0, "n-0", 0, 10), ("a", 1, "m-0", 2, 12), ("a", 2, "n-0", 10, 20)]


def test_resize_with_preempt_stops_the_newest_task_over_the_quota(tmp_path: Path) -> None:
    wf = {
        "workflow": "w",
        "tasks": [
            {"name": "long", "count": 2, "command": "x", "runtime": 100, "partition": "uq"},
            {"name": "short", "command": "x", "runtime": 5, "partition": "md"},
        ],
    }
    four = {"platform": "four", "nodes": [{"type": "n", "cores": 4}]}
    journal = tmp_path / "run.db"
    shrink = Trigger(("short",), lambda ctx: ctx.repartition({"uq": {"cores": 0.25}, "md": {"cores": 0.75}},
                                                          preempt=True), count=1, name="shrink")  # fmt: skip
    parts = {"uq": {"cores": 0.5}, "md": {"cores": 0.5}}
    with fake_session(runtimes(wf), platform=four, journal=journal, partitions=parts) as (s, ex, _):
        with ex.held():  # the workflow and the trigger land at one fake instant, however the threads interleave
            run = s.submit_workflow(wf)
            s.arm(shrink)
        run.wait()
    result = run.result()
    assert spans(result.intervals, "preempted") == [("long", 1, "n-0", 0, 5)]
    assert spans(result.intervals) == [
        ("long", 0, "n-0", 0, 100),
        ("long", 1, "n-0", 100, 200),
        ("short", 0, "n-0", 0, 5),
    ]
    assert [(k, t) for k, _, i, t in events(journal, "long") if i == 1] == [
        ("started", 0),
        ("retried", 5),
        ("preempted", 5),
        ("started", 100),
        ("done", 200),
    ]
    assert [m.kind for m in result.timeline()] == ["trigger", "resize"]


def test_cancel_a_running_task_and_one_waiting_for_its_backoff(tmp_path: Path) -> None:
    wf = {
        "workflow": "w",
        "tasks": [
            {"name": "tick", "command": "x", "runtime": 3},
            {"name": "long", "command": "x", "runtime": 100},
            {"name": "bad", "command": "x", "runtime": 1, "retries": 3},
            {"name": "after", "command": "x", "runtime": 1, "after": ["long"]},
        ],
    }
    plain = runtimes(wf)

    def handler(run: TaskRun) -> FakeResult:
        return FakeResult(1, "failed", error="boom") if run.task_id == "bad" else plain(run)

    def stop(ctx: Any) -> None:
        ctx.cancel("long")
        ctx.cancel("bad")

    journal = tmp_path / "run.db"
    three = {"platform": "three", "nodes": [{"type": "n", "cores": 3}]}
    with fake_session(handler, platform=three, journal=journal, retry_backoff=10) as (s, ex, clock):
        with ex.held():
            run = s.submit_workflow(wf)
            s.arm(Trigger(("tick",), stop, count=1))
        run.wait()
    assert clock.now() == 3  # bad's retry (due at 11) never starts: the run ends when tick does
    assert not run.ok and [(name, n) for name, n, _ in run.skipped] == [("after", 1)]
    assert [(k, i, t) for k, _, i, t in events(journal, "long")][-2:] == [("cancelled", None, 3), ("cancelled", 0, 3)]
    assert [k for k, *_ in events(journal, "bad")] == ["submitted", "released", "started", "error", "retried",
                                                       "cancelled"]  # fmt: skip


def test_a_worker_dying_under_a_task_reruns_it_without_a_retry_three_deaths_fail_it(tmp_path: Path) -> None:
    def handler(run: TaskRun) -> FakeResult:
        if run.task_id == "dies" or (run.task_id == "flaky" and run.attempt < 3):
            return FakeResult(2, "lost", error="worker died")
        return FakeResult(1)

    journal = tmp_path / "run.db"
    wf = {"workflow": "w", "tasks": [{"name": "flaky", "command": "x"}, {"name": "dies", "command": "x"}]}
    with fake_session(handler, platform=TWO_NODES, journal=journal) as (s, _, _):
        run = s.run(wf)
    assert run.failed == [("dies", "worker died; its worker died 3 times under it")]
    assert spans(run.result().intervals) == [("flaky", 0, "n-0", 4, 5)]
    assert [(k, t) for k, _, _, t in events(journal, "flaky")][2:] == [
        ("started", 0),
        ("lost", 2),
        ("started", 2),
        ("lost", 4),
        ("started", 4),
        ("done", 5),
    ]


def test_a_task_over_its_time_limit_times_out() -> None:
    with fake_session(lambda run: FakeResult(5)) as (s, ex, clock):
        f = s.shell("x", timeout=2)
        with pytest.raises(TaskFailedError, match="timed out after 2 s"):
            f.result(timeout=10)
    assert clock.now() == 2 and [r.attempt for r in ex.runs] == [1]


def test_a_future_gets_the_handler_s_value_and_exception() -> None:
    def handler(run: TaskRun) -> FakeResult:
        if run.index == 0 or "[0]" in run.task_id:
            return FakeResult(1, value=42)
        return FakeResult(1, "failed", error="ValueError: no", exception=ValueError("no"))

    with fake_session(handler) as (s, _, _):
        ok, bad = s.map(abs, [1, 2])
        assert ok.result(timeout=10) == 42
        with pytest.raises(ValueError, match="no"):
            bad.result(timeout=10)


SEED: dict[str, Any] = {
    "workflow": "dag",
    "tasks": [
        {"name": "prep", "count": 3, "command": "x", "runtime": 4},
        {"name": "sim", "count": 5, "cores": 2, "command": "x", "runtime": 10, "after": ["prep"]},
        {"name": "side", "count": 2, "command": "x", "runtime": 7},
        {"name": "train", "cores": 3, "command": "x", "runtime": 20, "after": ["sim"]},
        {"name": "infer", "count": 4, "command": "x", "runtime": 3, "after": ["train", "side"]},
    ],
}
CLUSTER = {"platform": "c", "nodes": [{"type": "a", "count": 2, "cores": 4}, {"type": "b", "cores": 2}]}


@pytest.mark.parametrize("policy", ["fifo", "critical-path", "best-fit"])
def test_a_fake_clock_run_and_a_simulation_agree(policy: str) -> None:
    with fake_session(runtimes(SEED), platform=CLUSTER, policy=policy) as (s, _, _):
        real = s.run(SEED).result()
    sim = run_simulation(load_workflow(SEED), load_platform(CLUSTER), "task", policy)
    assert spans(real.intervals) == spans(sim.intervals)
    assert real.makespan_s == sim.makespan_s


def test_with_failures_and_backoff_a_fake_clock_run_and_a_simulation_agree() -> None:
    wf = {"workflow": "w", "tasks": [dict(t, retries=2) for t in SEED["tasks"]]}

    def fails(set_name: str, index: int, attempt: int) -> str | None:
        return "boom" if (set_name, index) in {("prep", 1), ("sim", 3), ("infer", 0)} and attempt < 3 else None

    plain = runtimes(wf)

    def handler(run: TaskRun) -> FakeResult:
        index = int(run.task_id.split("[")[1][:-1]) if "[" in run.task_id else 0
        if fails(set_of(run), index, run.attempt):
            return FakeResult(plain(run).seconds, "failed", error="boom")
        return plain(run)

    with fake_session(handler, platform=CLUSTER, retry_backoff=1.5) as (s, _, _):
        real = s.run(wf).result()
    sim = run_simulation(load_workflow(wf), load_platform(CLUSTER), retry_backoff=1.5, failures=fails)
    assert spans(real.intervals) == spans(sim.intervals)
    assert len(spans(real.intervals, "failed")) == 6  # every failed attempt, on both clocks
    assert spans(real.intervals, "failed") == spans(sim.intervals, "failed")


@pytest.mark.parametrize("start", [0.0, 7.1, 1000.3, 123456.789])
def test_a_retry_is_woken_on_time_whatever_the_clock_reads_at_the_start(start: float) -> None:
    """The engine's time is the clock's minus its reading at the start: a wake-up a rounding error short of wake_at
    still wakes the retry (it used to spin, the clock unable to step onto wake_at exactly)."""
    wf = {"workflow": "w", "tasks": [{"name": "bad", "command": "x", "runtime": 1, "retries": 1}]}

    def handler(run: TaskRun) -> FakeResult:
        return FakeResult(1, "failed", error="boom") if run.attempt == 1 else FakeResult(1)

    with fake_session(handler, start=start, retry_backoff=0.1) as (s, _, clock):
        run = s.run(wf)
    assert run.ok and abs(clock.now() - start - 2.1) < 1e-6


def test_a_node_lost_while_a_task_waits_for_its_backoff() -> None:
    """A retry waiting out its backoff holds nothing on any node: losing the node it ran on costs it nothing, and it
    starts on the node that is left when its backoff is over."""
    wf = {"workflow": "w", "tasks": [{"name": "bad", "command": "x", "runtime": 2, "retries": 1}]}

    def handler(run: TaskRun) -> FakeResult:
        return FakeResult(2, "failed", error="boom") if run.attempt == 1 else FakeResult(2)

    with fake_session(handler, platform=TWO_NODES, retry_backoff=4) as (s, ex, _):
        ex.lose_node("n-0", at=3)
        run = s.run(wf)
    assert run.ok
    assert spans(run.result().intervals, "failed") == [("bad", 0, "n-0", 0, 2)]
    assert spans(run.result().intervals) == [("bad", 0, "n-1", 6, 8)]


def test_a_trigger_armed_after_its_condition_holds_fires_before_the_session_closes() -> None:
    wf = {"workflow": "w", "tasks": [{"name": "a", "count": 2, "command": "x", "runtime": 1}]}
    fired: list[int] = []
    for _ in range(5):
        with fake_session(runtimes(wf)) as (s, _, _):
            s.run(wf)
            s.arm(Trigger(("a",), lambda ctx: fired.append(ctx.seen.done), count=1))
    assert fired == [2] * 5
