"""TaskFuture follows concurrent.futures: pending (not launched, or waiting out a retry's backoff: it holds nothing),
running (launched), done; cancel() only while pending. Exact transitions on a fake clock, then a real local run."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import hetflow as hf
from hetflow.executors.api import TaskRun
from hetflow.executors.fake import FakeExecutor, FakeResult
from hetflow.runtime.clock import FakeClock
from hetflow.runtime.futures import TaskFuture, started
from tests.procs import wait_for
from tests.runtime import tasks as t

TWO_CORES = {"platform": "two", "nodes": [{"type": "n", "cores": 2}]}
ONE_CORE = {"platform": "one", "nodes": [{"type": "n", "cores": 1}]}


@hf.task(retries=1)
def shaky() -> str:
    return "ok"


@hf.task
def step(_: object = None) -> None:
    return None


def state(f: TaskFuture) -> str:
    if f.cancelled():
        return "cancelled"
    return "done" if f.done() else "running" if f.running() else "pending"


def test_states_on_a_fake_clock_running_pending_during_a_backoff_and_done() -> None:
    """On two cores: `shaky` fails at 1, waits out its backoff until 2 (pending), runs again 2..3; `b` runs 0..1.5,
    then `c` after it; `d` waits for a core and runs 1..2; `e`, cancelled while it waits for b, never runs. Each
    launch records (time, task, its future's state, whether cancel() took it, shaky's state)."""
    clock = FakeClock()
    futures: dict[str, TaskFuture] = {}
    ready = threading.Event()
    seen: list[tuple[float, str, int, str, bool, str]] = []
    plan = {"b": 1.5, "c": 1.0, "d": 1.0}

    def handler(run: TaskRun) -> FakeResult:
        ready.wait(30)  # every future is known
        who = next(k for k, f in futures.items() if f.task_id == run.task_id)
        mine = futures[who]
        seen.append((clock.now(), who, run.attempt, state(mine), mine.cancel(), state(futures["a"])))
        if who == "a":
            return FakeResult(1, "failed", error="boom") if run.attempt == 1 else FakeResult(1, value="ok")
        return FakeResult(plan[who])

    ex = FakeExecutor(handler, clock)
    called: list[tuple[float, str]] = []
    with hf.Session(executor=ex, clock=clock, platform=TWO_CORES, retry_backoff=1.0) as s:
        futures["a"] = a = s.submit(shaky)
        futures["b"] = b = s.submit(step)
        futures["c"] = s.submit(step, b)
        futures["d"] = s.submit(step)
        futures["e"] = e = s.submit(step, b)
        a.add_done_callback(lambda f: called.append((clock.now(), state(f))))
        e.add_done_callback(lambda f: called.append((clock.now(), state(f))))
        assert state(e) == "pending" and e.cancel() and e.cancel() and e.cancelled()
        ready.set()
        assert a.result(timeout=30) == "ok"
    assert seen == [
        (0.0, "a", 1, "running", False, "running"),
        (0.0, "b", 1, "running", False, "running"),
        (1.0, "d", 1, "running", False, "pending"),  # a failed at 1: it holds nothing until its retry
        (1.5, "c", 1, "running", False, "pending"),
        (2.0, "a", 2, "running", False, "running"),
    ]
    assert called == [(0.0, "cancelled"), (3.0, "done")]
    assert [state(f) for f in futures.values()] == ["done", "done", "done", "done", "cancelled"]


def test_a_launch_after_a_cancel_only_notifies_as_set_running_or_notify_cancel() -> None:
    asked: list[TaskFuture] = []
    f = TaskFuture("x", "x", 0, asked.append)
    started(f)
    assert f.running() and not f.cancel() and asked == []
    g = TaskFuture("y", "y", 0, asked.append)
    assert g.cancel() and asked == [g]
    started(g)  # its launch crossed the cancel: the cancel posted stops it
    assert g.cancelled() and g.done() and not g.running()


def test_states_in_a_real_run_cancel_only_while_pending(tmp_path: Path) -> None:
    with hf.Session(platform=ONE_CORE, retry_backoff=3.0) as s:
        slow = t.nap(1.5)
        queued = t.inc(1)  # waits for the one core
        wait_for(lambda: s.progress().running == 1, what="the first task to start")
        assert slow.running() and not slow.done() and not queued.running() and not queued.done()
        assert not slow.cancel() and slow.running() and not slow.cancelled()
        assert queued.cancel() and queued.cancelled()
        assert slow.result(timeout=30) == 1.5 and slow.done() and not slow.running()

        counter = tmp_path / "calls"
        flaky = t.flaky(str(counter), 1)
        wait_for(counter.exists, what="the first attempt")
        wait_for(lambda: not flaky.running(), what="the failure to come back")
        assert not flaky.done() and s.progress().running == 0  # waiting out its 3 s backoff: pending
        assert flaky.result(timeout=30) == 2

        long = t.nap(60)
        wait_for(long.running, what="the long task to start")
        s.cancel(long.set, long.index)  # a running task is stopped by the session; its future ends cancelled
        wait_for(long.done, what="the cancel")
        assert long.cancelled()


def test_awaiting_a_future_gives_its_result() -> None:
    import asyncio

    async def main(f: Any) -> Any:
        return await f

    with hf.Session(platform=ONE_CORE) as s:
        assert asyncio.run(main(s.submit(t.inc, 4))) == 5


def test_a_condition_only_once_a_thread_waits_and_every_waiter_woken() -> None:
    """A future makes no Condition while nobody waits (a call's future is resolved, polled, called back without one);
    a thread blocked in result(), one in concurrent.futures.wait() and one in as_completed() are each woken by the
    result set from another thread, and a result(timeout) on another future still times out."""
    import concurrent.futures as cf

    asked: list[TaskFuture] = []
    quiet = TaskFuture("q", "q", 0, asked.append)
    seen: list[Any] = []
    quiet.add_done_callback(lambda f: seen.append(f.result()))
    started(quiet)
    quiet.set_result(7)
    quiet.add_done_callback(lambda f: seen.append(f.done()))
    assert quiet.result() == 7 and seen == [7, True] and quiet._cond is None and quiet._installed is None

    f, other = TaskFuture("f", "f", 0, asked.append), TaskFuture("o", "o", 0, asked.append)
    got: list[Any] = []
    waiting = [
        threading.Thread(target=lambda: got.append(f.result(timeout=30))),
        threading.Thread(
            target=lambda: got.append(len(cf.wait([f, other], timeout=30, return_when="FIRST_COMPLETED").done))
        ),
        threading.Thread(target=lambda: got.append(next(cf.as_completed([f, other], timeout=30)) is f)),
    ]
    for w in waiting:
        w.start()

    def blocked() -> bool:  # two waiters (wait, as_completed) and a thread in the Condition's wait (result)
        made = f._cond
        return len(f._installed or ()) == 2 and made is not None and len(made._waiters) == 1

    wait_for(blocked, what="the waiters to block")
    try:
        other.result(timeout=0.05)
        raise AssertionError("result() returned before its future was done")
    except cf.TimeoutError:
        pass
    f.set_result("r")
    for w in waiting:
        w.join(30)
    assert sorted(map(str, got)) == ["1", "True", "r"] and not other.done()
    f2 = TaskFuture("e", "e", 0, asked.append)
    f2.set_exception(ValueError("bad"))
    assert isinstance(f2.exception(), ValueError) and f2.done() and asked == []
