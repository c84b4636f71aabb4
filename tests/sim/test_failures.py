"""Failures and retry backoff in simulation: a failed attempt takes its full run time, the retried task waits for
its backoff holding no core, and the simulated clock agrees with a real Session's rule."""

from __future__ import annotations

import itertools
import zlib
from collections import defaultdict
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hetflow.core.backoff import backoff_delay
from hetflow.core.engine import Engine
from hetflow.core.triggers import Actions, Trigger
from hetflow.policies import POLICIES
from hetflow.sim.simulator import run_simulation
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import Resources
from hetflow.spec.trace import Interval
from hetflow.spec.workflow import TaskSet, Workflow

from .test_properties import platforms, workflows


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


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    wf=workflows(),
    plat=platforms(),
    mode=st.sampled_from(["sync", "task"]),
    policy=st.sampled_from(sorted(POLICIES)),
    retries=st.integers(0, 2),
    backoff=st.sampled_from([0.0, 0.5, 3.0]),
    seed=st.integers(0, 1000),
)
def test_random_failures_keep_the_engine_sound_and_respect_the_backoff(
    wf: Workflow, plat: Platform, mode: str, policy: str, retries: int, backoff: float, seed: int
) -> None:
    wf = Workflow(wf.name, tuple(replace(s, retries=retries) for s in wf.sets))
    fails = lambda s, i, a: "x" if zlib.crc32(f"{seed} {s} {i} {a}".encode()) % 3 == 0 else None  # noqa: E731

    def check(engine: Engine) -> None:
        engine.validate()
        assert engine.wake_at is None or engine.wake_at >= engine.now

    r = run_simulation(wf, plat, mode, policy, retry_backoff=backoff, failures=fails, check=check)
    runs: dict[tuple[str, int], list[tuple[float, float, str, int]]] = defaultdict(list)
    for iv in r.intervals:
        for k in range(iv.first, iv.last):
            runs[iv.set, k].append((iv.start, iv.end, iv.status, iv.attempts))
    assert r.engine is not None and r.engine.unfinished == 0
    for got in runs.values():
        got.sort(key=lambda x: x[3])
        assert [a for *_, a in got] == list(range(1, len(got) + 1))  # one interval per attempt
        assert all(status == "failed" for _, _, status, _ in got[:-1])
        assert len(got) <= retries + 1
        for (_, end, _, a), (start, *_) in itertools.pairwise(got):
            assert start >= end + backoff_delay(backoff, a) - 1e-9  # never before the backoff is over
