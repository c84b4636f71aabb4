"""Races a review found in the runtime, each made deterministic on a FakeExecutor and a fake clock: a Close that
cancels in the same inbox batch as a call, a child posted by name before its parent, futures cancelled while
queued under concurrent.futures.wait, and done-callbacks run outside the lock every future shares."""

from __future__ import annotations

import concurrent.futures
import threading

import hetflow as hf
from hetflow.executors.api import TaskRun
from hetflow.executors.fake import FakeExecutor, FakeResult
from hetflow.runtime.clock import FakeClock
from hetflow.runtime.futures import TaskFuture, abandon, resolve
from hetflow.runtime.sets import SetInfo

ONE_CORE = {"platform": "one", "nodes": [{"type": "n", "cores": 1}]}


@hf.task
def slow() -> int:
    return 1


def test_close_cancel_stops_a_call_posted_in_the_same_batch() -> None:
    """The driver cannot step while its turn is held: the call and the Close reach it in one batch, and the
    forgetting engine has not been given the call's set yet. It must still be cancelled, never run."""
    clock = FakeClock()
    ran: list[str] = []

    def handler(run: TaskRun) -> FakeResult:
        ran.append(run.task_id)
        return FakeResult(1000.0, value=1)

    s = hf.Session(executor=FakeExecutor(handler, clock), clock=clock, platform=ONE_CORE).start()
    driver = s._driver  # white box: hold its turn so both messages wait in its inbox
    assert driver is not None
    with driver._turn:
        fut = s.submit(slow)
        s.close(wait=False, cancel=True)
    driver.join(30)
    assert not driver.alive
    assert fut.cancelled()
    assert ran == []


@hf.task
def child(x: int) -> int:
    return x + 1


def test_a_child_posted_by_another_thread_never_reaches_the_driver_before_its_parent() -> None:
    """Thread A's call is marked posted and is about to reach the driver when thread B submits a child of it; B
    sees the parent as submitted and names it as a dependency. B's set must not reach the driver first: the
    forgetting engine would count the unknown parent as met (and ended)."""
    clock = FakeClock()
    with hf.Session(
        executor=FakeExecutor(lambda run: FakeResult(1.0, value=run.args[0] + 1 if run.args else 1), clock),
        clock=clock,
        platform=ONE_CORE,
    ) as s:
        driver = s._driver  # white box: hold thread A's post between marking its set posted and posting it
        assert driver is not None
        real, order = driver.post_sets, list[str]()
        a_marked, b_done = threading.Event(), threading.Event()
        parent: list[TaskFuture] = []

        def post_sets(infos: list[SetInfo], kind: str, times: list[float]) -> None:
            if threading.current_thread().name == "A" and not a_marked.is_set():
                parent.extend(infos[0].all_futures())
                a_marked.set()
                b_done.wait(2.0)  # with the fix B waits for this post: the wait times out
            order.extend(info.spec.name for info in infos)
            real(infos, kind, times)

        driver.post_sets = post_sets  # type: ignore[method-assign]
        ta = threading.Thread(target=s.submit, args=(slow,), name="A")
        ta.start()
        assert a_marked.wait(10)
        b = s.submit(child, parent[0])
        b_done.set()
        ta.join(10)
        assert b.result(timeout=10) == 2
        assert order.index(parent[0].set) < order.index(b.set)


@hf.task
def queued() -> int:
    return 2


def test_a_future_cancelled_while_queued_counts_as_done_for_wait_and_as_completed() -> None:
    """On one core `a` runs 0..5 while `b` waits for the core; b is cancelled there. wait() and as_completed()
    must count b done at once (concurrent.futures counts only CANCELLED_AND_NOTIFIED and FINISHED)."""
    clock = FakeClock()
    go = threading.Event()

    def handler(run: TaskRun) -> FakeResult:
        go.wait(10)  # a runs until b was cancelled and waited for
        return FakeResult(5.0, value=1)

    with hf.Session(executor=FakeExecutor(handler, clock), clock=clock, platform=ONE_CORE) as s:
        a, b = s.submit(slow), s.submit(queued)
        assert b.cancel()  # pending: a holds the only core (and the handler holds a)
        done, not_done = concurrent.futures.wait([a, b], timeout=5, return_when=concurrent.futures.FIRST_COMPLETED)
        assert (done, not_done) == ({b}, {a})
        assert next(concurrent.futures.as_completed([a, b], timeout=5)) is b  # type: ignore[arg-type]
        go.set()
        done, not_done = concurrent.futures.wait([a, b], timeout=10)
        assert (done, not_done) == ({a, b}, set())
        assert a.result() == 1 and b.cancelled()


def test_a_waiter_installed_before_the_cancel_is_told() -> None:
    """A thread already in wait() when the future is cancelled (or abandoned) wakes with it done."""
    for end in (TaskFuture.cancel, abandon):
        f = TaskFuture("x", "x", 0, lambda _: None)
        got: list[object] = []
        t = threading.Thread(target=waits, args=(f, got))
        t.start()
        while not f._installed:  # white box: its waiter is installed
            threading.Event().wait(0.001)
        end(f)
        t.join(5)
        assert got == [{f}] and f.cancelled()


def waits(f: TaskFuture, got: list[object]) -> None:
    got.append(concurrent.futures.wait([f], timeout=5).done)


def test_a_callback_of_an_abandoned_future_may_use_another_future_from_another_thread() -> None:
    """abandon() runs the callbacks once the lock every future shares is released: a callback that has another
    thread add a callback to another future, resolve it and read its result does not wait for itself."""
    f = TaskFuture("x", "x", 0, lambda _: None)
    g = TaskFuture("y", "y", 0, lambda _: None)
    seen: list[object] = []

    def other() -> None:
        g.add_done_callback(lambda h: seen.append(("callback", h.result())))
        resolve(g, 3)
        seen.append(("result", g.result(timeout=5)))

    def callback(_: object) -> None:
        t = threading.Thread(target=other)
        t.start()
        t.join(2)  # under the shared lock, the other thread could not even add its callback
        seen.append(("joined", not t.is_alive()))

    f.add_done_callback(callback)
    abandon(f)
    assert seen == [("callback", 3), ("result", 3), ("joined", True)]
    assert f.cancelled() and g.result() == 3
