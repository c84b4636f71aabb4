"""The endpoint's executor steps the engine in the event loop's thread: a submission made in the loop is placed
within the call (no hop to the driver's thread and back), an outcome reported in the loop frees its resources in the
ledger at once and places what waited for them; from other threads it goes through the driver's thread as before."""

from __future__ import annotations

import asyncio
import threading
import time

from hetflow.executors.api import DONE, Outcome, TaskRun
from hetflow.faas.bridge import EndpointExecutor
from hetflow.runtime.session import Session
from hetflow.runtime.task import TaskFunction, TaskOptions
from hetflow.spec.load import load_platform

PLATFORM = {"platform": "bridge", "nodes": [{"type": "cpu", "count": 1, "cores": 2}]}


def work(ident: str) -> None:
    raise AssertionError("placed runs are not run here")


def free_cores(session: Session) -> int:
    return int(session.capacity()[0]["free_cores"])


async def placing_in_the_loop() -> None:
    loop = asyncio.get_running_loop()
    placed: list[tuple[TaskRun, int]] = []
    ex = EndpointExecutor(loop, lambda r: placed.append((r, threading.get_ident())), placed.append, lambda k: None)
    session = Session(platform=load_platform(PLATFORM), executor=ex).start()
    try:
        task = TaskFunction(work, TaskOptions.of(1, 0.0, 0, name="call"))
        for i in range(3):  # two fit the node's two cores; the third waits for one of them
            session.submit(task, f"call-{i}")
        assert [r.args for r, _ in placed] == [("call-0",), ("call-1",)]  # placed within submit(), no loop turn
        assert {t for _, t in placed} == {threading.get_ident()}  # in the loop's thread
        assert free_cores(session) == 0
        first = placed[0][0]
        ex.report(Outcome(first.key, DONE, time.time(), time.time()))
        assert [r.args for r, _ in placed][2:] == [("call-2",)]  # its core went to the one waiting, at once
        for run, _ in placed[1:]:
            ex.report(Outcome(run.key, DONE, time.time(), time.time()))
        assert free_cores(session) == 2  # the ledger has them back
        # from another thread: through the driver's thread, and back to the loop
        other = await loop.run_in_executor(None, session.submit, task, "from-a-thread")
        end = time.monotonic() + 30
        while len(placed) < 4 and time.monotonic() < end:
            await asyncio.sleep(0.01)
        assert placed[3][0].args == ("from-a-thread",) and placed[3][1] == threading.get_ident()
        ex.report(Outcome(placed[3][0].key, DONE, time.time(), time.time()))
        assert await asyncio.wait_for(asyncio.wrap_future(other), 30) is None
    finally:
        await loop.run_in_executor(None, lambda: session.close(cancel=True))


def test_the_engine_steps_in_the_loop_thread() -> None:
    asyncio.run(asyncio.wait_for(placing_in_the_loop(), 60))
