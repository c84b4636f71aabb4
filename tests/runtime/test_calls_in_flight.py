"""What a call holds while it is in flight. A program that calls a task once per item submits faster than the tasks
run, so most of its calls wait in the engine's queue, and every object each holds is walked by the garbage
collector again and again (a call's objects reach the oldest generation; a map's tasks hold one each, their futures).
A real Session, driver, engine and observers, on a FakeExecutor whose clock stands still while the calls queue."""

from __future__ import annotations

import gc
import time
import tracemalloc

import hetflow as hf
from hetflow.executors.fake import FakeExecutor, FakeResult
from hetflow.runtime.clock import FakeClock

ONE_CORE = {"platform": "one", "nodes": [{"type": "n", "cores": 1}]}
N = 2_000


@hf.task
def square(x: int) -> int:
    return x * x


def test_a_queued_call_holds_few_objects_the_collector_walks() -> None:
    clock = FakeClock(0.0)
    ex = FakeExecutor(lambda run: FakeResult(1.0, value=run.args[0] ** 2), clock)
    with hf.Session(executor=ex, clock=clock, platform=ONE_CORE) as s:
        assert square(2).result(timeout=30) == 4  # the options' first call: what later calls share is made
        driver = s._driver  # white box: wait until the engine holds every call
        assert driver is not None
        with ex.held():  # the clock stands still: the first call runs, the others queue behind it
            first = square(1)
            deadline = time.monotonic() + 30
            while not first.running() and time.monotonic() < deadline:
                time.sleep(0.005)
            gc.collect()
            before = len(gc.get_objects())
            tracemalloc.start()
            start = tracemalloc.get_traced_memory()[0]
            futures = [square(i) for i in range(N)]
            while len(driver.engine.sets) < N + 1 and time.monotonic() < deadline:
                time.sleep(0.005)
            assert len(driver.engine.sets) == N + 1 and not any(f.running() for f in futures)
            gc.collect()
            tracked = (len(gc.get_objects()) - before) / N
            held = (tracemalloc.get_traced_memory()[0] - start) / N
            tracemalloc.stop()
        # its future, TaskSet, SetInfo, SetState, counts and queue entry: 9 before (a list of one future, a ready
        # deque and its range list each, besides); and no empty tables of its own (5 dicts before), 2,580 bytes
        assert tracked < 6.5, tracked
        assert held < 1_900, held
        assert [f.result(timeout=60) for f in futures] == [i * i for i in range(N)]
        assert first.result(timeout=30) == 1


def test_polling_a_future_makes_no_condition() -> None:
    """running(), cancelled() and done() read the state: a program polling many futures gives none a Condition
    (concurrent.futures' own running() and cancelled() take it, which a TaskFuture makes on first use)."""
    clock = FakeClock(0.0)
    ex = FakeExecutor(lambda run: FakeResult(1.0, value=run.args[0] ** 2), clock)
    with hf.Session(executor=ex, clock=clock, platform=ONE_CORE):
        futures = [square(i) for i in range(3)]
        while not futures[-1].done():
            assert [f.running() or f.cancelled() or f.done() or True for f in futures]
            time.sleep(0.001)
        assert [f.running() for f in futures] == [False] * 3 and not any(f.cancelled() for f in futures)
        assert all(f._cond is None for f in futures[:-1])  # white box: nobody waited on them
