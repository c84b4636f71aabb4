"""Failures and retry backoff in simulation: a failed attempt takes its full run time, the retried task waits for
its backoff holding no core, and the simulated clock agrees with a real Session's rule."""

from __future__ import annotations

import pytest

from hetflow.core.triggers import Actions, Trigger
from hetflow.sim.simulator import run_simulation
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import Resources
from hetflow.spec.trace import Interval
from hetflow.spec.workflow import TaskSet, Workflow


def plat(cores: int) -> Platform:
    return Platform("p", (NodeType("n", 1, cores, 0, 0),))


def spans(intervals: list[Interval], name: str) -> list[tuple[int, int, float, float, str, int]]:
    return sorted((iv.first, iv.last, iv.start, iv.end, iv.status, iv.attempts) for iv in intervals if iv.set == name)


def test_a_task_failing_twice_waits_1_then_2_s_and_frees_its_core_meanwhile() -> None:
    wf = Workflow("w", (TaskSet("A", 1, Resources.of(1), 10.0, retries=2), TaskSet("B", 1, Resources.of(1), 0.5)))
    fails = lambda s, i, a: "boom" if s == "A" and a <= 2 else None  # noqa: E731
    r = run_simulation(wf, plat(1), retry_backoff=1.0, failures=fails)
    assert spans(r.intervals, "A") == [
        (0, 1, 0.0, 10.0, "failed", 1),
        (0, 1, 11.0, 21.0, "failed", 2),  # 1 s after the first failure
        (0, 1, 23.0, 33.0, "done", 3),  # 2 s after the second
    ]
    assert spans(r.intervals, "B") == [(0, 1, 10.0, 10.5, "done", 1)]  # the core is free while A waits
    assert r.makespan_s == 33.0 and r.tasks == 2


def test_retries_exhausted_the_task_fails_and_its_dependents_are_skipped() -> None:
    wf = Workflow(
        "w", (TaskSet("A", 1, Resources.of(1), 10.0, retries=1), TaskSet("B", 1, Resources.of(1), 1.0, ("A",)))
    )
    r = run_simulation(wf, plat(1), retry_backoff=1.0, failures=lambda s, i, a: "always")
    assert spans(r.intervals, "A") == [(0, 1, 0.0, 10.0, "failed", 1), (0, 1, 11.0, 21.0, "failed", 2)]
    assert spans(r.intervals, "B") == [] and r.tasks == 0
    assert r.engine is not None and r.engine.unfinished == 0


def test_one_failing_task_of_a_grouped_launch() -> None:
    wf = Workflow("w", (TaskSet("A", 4, Resources.of(1), 10.0, retries=1),))
    fails = lambda s, i, a: "boom" if i == 2 and a == 1 else None  # noqa: E731
    r = run_simulation(wf, plat(4), failures=fails)  # the default backoff: 0.1 s, as a Session's
    assert spans(r.intervals, "A") == [
        (0, 2, 0.0, 10.0, "done", 1),
        (2, 3, 0.0, 10.0, "failed", 1),
        (2, 3, 10.1, 10.1 + 10.0, "done", 2),
        (3, 4, 0.0, 10.0, "done", 1),
    ]
    assert r.makespan_s == pytest.approx(20.1) and r.tasks == 4


def test_no_backoff_retries_at_once() -> None:
    wf = Workflow("w", (TaskSet("A", 1, Resources.of(1), 10.0, retries=1),))
    r = run_simulation(wf, plat(1), retry_backoff=0.0, failures=lambda s, i, a: "x" if a == 1 else None)
    assert r.makespan_s == 20.0


def test_triggers_count_final_failures() -> None:
    seen: list[tuple[int, int]] = []

    def then(ctx: Actions) -> None:
        seen.append((ctx.seen.done, ctx.seen.failed))

    wf = Workflow("w", (TaskSet("A", 2, Resources.of(1), 10.0),))
    t = Trigger("A", then, predicate=lambda o: o.ended == 2)
    run_simulation(wf, plat(2), triggers=[t], failures=lambda s, i, a: "x" if i == 0 else None)
    assert seen == [(1, 1)]
