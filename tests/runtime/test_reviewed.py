"""Races a review found in the runtime, each made deterministic on a FakeExecutor and a fake clock: a Close that
cancels in the same inbox batch as a call, a child posted by name before its parent, futures cancelled while
queued under concurrent.futures.wait, and done-callbacks run outside the lock every future shares."""

from __future__ import annotations

import threading

import hetflow as hf
from hetflow.executors.api import TaskRun
from hetflow.executors.fake import FakeExecutor, FakeResult
from hetflow.runtime.clock import FakeClock
from hetflow.runtime.futures import TaskFuture
from hetflow.runtime.messages import Message, SubmitSets

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
        real, order = driver.post, list[str]()
        a_marked, b_done = threading.Event(), threading.Event()
        parent: list[TaskFuture] = []

        def post(message: Message) -> None:
            if isinstance(message, SubmitSets) and threading.current_thread().name == "A" and not a_marked.is_set():
                parent.extend(message.sets[0].futures or [])
                a_marked.set()
                b_done.wait(2.0)  # with the fix B waits for this post: the wait times out
            order.extend(info.spec.name for info in getattr(message, "sets", ()))
            real(message)

        driver.post = post  # type: ignore[method-assign]
        ta = threading.Thread(target=s.submit, args=(slow,), name="A")
        ta.start()
        assert a_marked.wait(10)
        b = s.submit(child, parent[0])
        b_done.set()
        ta.join(10)
        assert b.result(timeout=10) == 2
        assert order.index(parent[0].set) < order.index(b.set)
