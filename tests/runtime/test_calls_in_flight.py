"""What a call holds while it is in flight. A program that calls a task once per item submits faster than the tasks
run, so most of its calls wait in the engine's queue, and every object each holds is walked by the garbage
collector again and again (a call's objects reach the oldest generation; a map's tasks hold one each, their futures).
A real Session, driver, engine and observers, on a FakeExecutor whose clock stands still while the calls queue."""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Sequence

import hetflow as hf
from hetflow.executors.api import TaskRun
from hetflow.executors.fake import FakeExecutor, FakeResult
from hetflow.runtime.clock import FakeClock
from hetflow.runtime.events import SetEnded

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


def test_one_task_sets_placed_in_one_step_reach_the_executor_in_one_submit() -> None:
    """Calls that reach the driver together are placed in one pass, a launch each; their runs go to the executor in
    one submit (one message), as a map's range does, not one submit per set."""
    clock = FakeClock(0.0)
    ex = FakeExecutor(lambda run: FakeResult(1.0, value=run.args[0] ** 2), clock)
    with hf.Session(executor=ex, clock=clock, platform={"platform": "four", "nodes": [{"type": "n", "cores": 4}]}) as s:
        assert square(2).result(timeout=30) == 4
        driver = s._driver  # white box: hold the driver's step while the calls are posted, so they come as one
        assert driver is not None
        batches: list[list[str]] = []
        real = ex.submit

        def submit(runs: Sequence[TaskRun]) -> None:
            batches.append([r.task_id for r in runs])
            real(runs)

        ex.submit = submit  # type: ignore[method-assign]
        with driver._turn:
            futures = [square(i) for i in range(6)]
        assert [f.result(timeout=30) for f in futures] == [0, 1, 4, 9, 16, 25]
        names = [f.set for f in futures]
        # four fit at once: one submit of four launches; the other two as cores free up
        assert batches[0] == names[:4] and sorted(n for b in batches[1:] for n in b) == sorted(names[4:])


def test_a_call_that_ends_well_publishes_no_set_end() -> None:
    """Nobody waits on a call's set as a whole: its future has its result. A set that ended with a task cancelled
    (futures to settle) or one of a workflow run (which counts its sets) still has its SetEnded."""
    clock = FakeClock(0.0)
    ex = FakeExecutor(lambda run: FakeResult(1.0, value=run.args[0] ** 2 if run.args else 0), clock)
    with hf.Session(executor=ex, clock=clock, platform=ONE_CORE) as s:
        driver = s._driver
        assert driver is not None
        ended: list[tuple[str, int]] = []
        driver._routes[SetEnded].append(lambda e: ended.append((e.info.spec.name, e.cancelled)))  # type: ignore[union-attr]
        assert [square(i).result(timeout=30) for i in range(3)] == [0, 1, 4]
        with ex.held():
            running, queued = square(5), square(6)
            assert queued.cancel()
        assert running.result(timeout=30) == 25
        run = s.run({"workflow": "wf", "tasks": [{"name": "a", "count": 2, "function": f"{__name__}:square"}]})
        assert run.wait(timeout=30)
    assert ended == [(queued.set, 1), ("a", 0)]
