"""The FakeExecutor on its own: poll() moves the fake clock to the next end, cancels come back at once, time limits
hold, lost nodes take their runs with them."""

from __future__ import annotations

import pickle
import threading

import pytest

from hetflow.executors.api import CANCELLED, DONE, FAILED, LOST, TIMEOUT, NodeChange, TaskRun
from hetflow.executors.fake import FakeExecutor, FakeResult
from hetflow.runtime.clock import FakeClock, WallClock
from hetflow.spec.platform import Node


def run(key: int, node: str = "n-0", timeout: float | None = None) -> TaskRun:
    return TaskRun(key=key, task_id=f"t[{key}]", node=node, cores=1, command="x", timeout=timeout)


def test_poll_moves_the_clock_to_each_end_in_turn() -> None:
    clock = FakeClock(epoch=1000.0)
    ex = FakeExecutor(lambda r: FakeResult(float(r.key), value=r.key * 10), clock)
    ex.submit([run(3), run(1), run(2)])
    ends: list[tuple[int, str, float, float, float, object]] = []
    while len(ends) < 3:
        for o in ex.poll(None):
            ends.append((o.key, o.status, clock.now(), o.start, o.end, pickle.loads(o.value or b"")))
    assert ends == [(1, DONE, 1, 1000, 1001, 10), (2, DONE, 2, 1000, 1002, 20), (3, DONE, 3, 1000, 1003, 30)]


def test_a_timeout_stops_the_clock_short_of_the_next_end() -> None:
    clock = FakeClock()
    ex = FakeExecutor(lambda r: FakeResult(10), clock)
    ex.submit([run(0)])
    assert ex.poll(4) == [] and clock.now() == 4
    (o,) = ex.poll(None)
    assert (o.status, clock.now()) == (DONE, 10)


def test_cancel_comes_back_at_once_and_the_run_never_ends() -> None:
    clock = FakeClock()
    ex = FakeExecutor(lambda r: FakeResult(10), clock)
    ex.submit([run(0), run(1)])
    ex.cancel(0)
    assert [(o.key, o.status) for o in ex.poll(None)] == [(0, CANCELLED)]
    assert [(o.key, clock.now()) for o in ex.poll(None)] == [(1, 10)]


def test_statuses_time_limits_and_lost_nodes() -> None:
    clock = FakeClock()
    results = {0: FakeResult(1, FAILED, error="boom", exception=ValueError("boom")), 1: FakeResult(2, LOST)}
    ex = FakeExecutor(lambda r: results.get(r.key, FakeResult(50)), clock)
    ex.lose_node("n-1", at=3)
    ex.submit([run(0), run(1), run(2, timeout=5), run(3, node="n-1")])
    seen = [(o.key, o.status, o.end) for _ in range(4) for o in ex.poll(None)]
    assert seen == [(0, FAILED, 1), (1, LOST, 2), (2, TIMEOUT, 5)]
    assert ex.changes() == [NodeChange("n-1")] and ex.changes() == []


def test_nothing_running_poll_waits_for_a_wake_up_without_moving_the_clock() -> None:
    clock = FakeClock()
    ex = FakeExecutor(lambda r: FakeResult(1), clock)
    ex.join_node(Node("m-0", "m", 1, 0, 0), at=5)
    threading.Timer(0.01, ex.wake).start()
    assert ex.poll(None) == [] and clock.now() == 0


def test_fake_results_are_checked_and_clocks_tell_time() -> None:
    with pytest.raises(ValueError, match="done, failed or lost"):
        FakeResult(1, TIMEOUT)
    with pytest.raises(ValueError, match="cannot run"):
        FakeResult(-1)
    clock = FakeClock(2.0, epoch=10.0)
    clock.advance(1.5)
    clock.advance_to(1.0)  # never backwards
    assert (clock.now(), clock.time()) == (3.5, 13.5)
    wall = WallClock()
    assert wall.now() > 0 and wall.time() > 1e9
