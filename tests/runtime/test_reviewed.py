"""Races a review found in the runtime, each made deterministic on a FakeExecutor and a fake clock: a Close that
cancels in the same inbox batch as a call, a child posted by name before its parent, futures cancelled while
queued under concurrent.futures.wait, and done-callbacks run outside the lock every future shares."""

from __future__ import annotations

import hetflow as hf
from hetflow.executors.api import TaskRun
from hetflow.executors.fake import FakeExecutor, FakeResult
from hetflow.runtime.clock import FakeClock

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
