"""Futures of tasks: concurrent.futures.Future objects that asyncio code can also await."""

from __future__ import annotations

import concurrent.futures
import contextlib
from collections.abc import Callable, Generator
from typing import Any

PENDING, RUNNING, CANCELLED = "PENDING", "RUNNING", "CANCELLED"  # concurrent.futures' states


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process (set as the `__cause__` of the re-raised exception)."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return f'\n"""\n{self.tb}"""'


class TaskFuture(concurrent.futures.Future[Any]):
    """The result of one task, with the states and rules of concurrent.futures: `running()` from the moment its
    task is launched on a node, `done()` once it has a result, an exception or was cancelled. `result()`,
    `exception()`, `add_done_callback()`, `concurrent.futures.wait()` and `as_completed()` work as for any Future,
    and `await future` works in asyncio code.

    Pending is a task that holds nothing: not yet launched, or waiting out the backoff before a retry (a failed
    attempt puts a running future back to pending; a lost node or a preemption too, until it runs again).
    `cancel()` succeeds only while pending, and then also stops the task where it is (its dependents are skipped); a
    running task is stopped with `Session.cancel(future.set, future.index)`, which ends its future cancelled.

    Passed as an argument to another task, it is a dependency: that task starts once this one is done and receives its
    result in its place. Callbacks run in the runtime's driver thread (or in the thread that cancels): they may
    submit new tasks, but must not wait for one.
    """

    def __init__(self, task_id: str, set_name: str, index: int, on_cancel: Callable[[TaskFuture], None]) -> None:
        super().__init__()
        self.task_id = task_id
        self.set = set_name
        self.index = index
        self.on_cancel = on_cancel  # tells the session that made it (which also tells whose future it is)

    def cancel(self) -> bool:
        """Cancel the task if it is pending: True then (or when it was cancelled already); False when it runs or is
        done, as concurrent.futures.Future.cancel."""
        if self.done():
            return self.cancelled()
        if not super().cancel():  # running
            return False
        self.on_cancel(self)
        return True

    def __await__(self) -> Generator[Any, None, Any]:
        import asyncio  # only asyncio code awaits, and asyncio takes a while to import

        return asyncio.wrap_future(self).__await__()

    def __repr__(self) -> str:
        return f"<TaskFuture {self.task_id} {self._state.lower()}>"


# set from the runtime's driver thread; a future cancelled (or otherwise settled) meanwhile keeps its state
def started(future: TaskFuture) -> None:
    """Its task was launched: pending -> running. One cancelled meanwhile is only notified (the cancel it posted
    stops the task), as set_running_or_notify_cancel does."""
    with future._condition:
        if future._state in (PENDING, CANCELLED):
            future.set_running_or_notify_cancel()


def requeued(future: TaskFuture) -> None:
    """Its task stopped and holds nothing until it runs again or fails for good: running -> pending."""
    with future._condition:
        if future._state == RUNNING:
            future._state = PENDING


def resolve(future: TaskFuture, value: Any) -> None:
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        future.set_result(value)


def reject(future: TaskFuture, exc: BaseException) -> None:
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        future.set_exception(exc)


def abandon(future: TaskFuture) -> None:
    """End the future cancelled without a request (its task was cancelled while it ran, ended without a result, or
    the session is closing), running or not."""
    with future._condition:
        requeued(future)
        concurrent.futures.Future.cancel(future)
