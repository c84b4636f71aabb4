"""A long-lived Session: tens of thousands of one-task calls leave nothing behind in the engine or the driver once
their sets ended, the objects the collector walks stay as many as at the start (so a call costs the same at the end
as at the start), and what the session recorded (its result, triggers armed late, dependencies on long-ended calls)
is still all there. A real Session, driver, engine and observers, on a FakeExecutor and a fake clock."""

from __future__ import annotations

import gc
import tracemalloc

import pytest

import hetflow as hf
from hetflow.core.triggers import Trigger
from hetflow.executors.fake import FakeExecutor, FakeResult
from hetflow.runtime.clock import FakeClock

PLATFORM = {"platform": "four", "nodes": [{"type": "n", "cores": 4}]}


@hf.task
def square(x: int) -> int:
    return x * x


def calls(n: int, base: int) -> list[int]:
    futures = [square(base + i) for i in range(n)]
    return [f.result(timeout=60) for f in futures]


@pytest.mark.parametrize("per_round", [2_000, pytest.param(10_000, marks=pytest.mark.slow)])
def test_tens_of_thousands_of_calls_leave_the_session_as_it_was(per_round: int) -> None:
    """Five rounds of calls (50,000 in the slow run)."""
    clock = FakeClock(0.0)
    ex = FakeExecutor(lambda run: FakeResult(1.0, value=run.args[0] ** 2), clock)
    with hf.Session(executor=ex, clock=clock, platform=PLATFORM) as s:
        driver = s._driver  # white box: the maps each step works on
        assert driver is not None
        tracked: list[int] = []
        traced: list[int] = []
        tracemalloc.start()
        for r in range(5):
            got = calls(per_round, r * per_round)
            assert got[:3] == [(r * per_round + i) ** 2 for i in range(3)]
            ex.runs.clear()  # the fake executor lists every run it was given, for tests
            gc.collect()
            tracked.append(len(gc.get_objects()))
            traced.append(tracemalloc.get_traced_memory()[0])
            # nothing of an ended call stays where each step works: the engine's sets, the driver's sets and runs
            assert (len(driver.engine.sets), len(driver.sets), len(driver.inflight)) == (0, 0, 0)
        assert s.progress().done == 5 * per_round
        # the objects a collection walks stay as many: per call, none is left
        assert tracked[-1] - tracked[1] < 200, tracked
        tracemalloc.stop()
        # what is kept is the session's record, compact (names, intervals in columns): under 400 bytes a call
        assert (traced[-1] - traced[1]) / (3 * per_round) < 400, traced
        # the record is whole: every call's set and interval is in the result
        result = s.result()
        assert len(result.intervals) == 5 * per_round
        assert len(result.workflow.sets) == 5 * per_round
        first = next(iv for iv in result.intervals if iv.set == "square-0")
        assert (first.node, first.end - first.start, first.status) == ("n-0", 1.0, "done")
        # a trigger armed now on a set that ended long ago sees it done; a call on a long-ended future runs after it
        fired: list[int] = []
        s.arm(Trigger(("square-0", "square-1"), lambda ctx: fired.append(ctx.seen.done), count=2))
        old = square(3)
        assert square(old).result(timeout=60) == 81
    assert fired == [2]
