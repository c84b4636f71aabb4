"""Futures of tasks: concurrent.futures.Future objects that asyncio code can also await."""

from __future__ import annotations

import concurrent.futures
import contextlib
from collections.abc import Callable, Generator
from typing import Any


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process (set as the `__cause__` of the re-raised exception)."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return f'\n"""\n{self.tb}"""'


class TaskFuture(concurrent.futures.Future[Any]):
    """The result of one task. `result()`, `exception()`, `add_done_callback()`, `concurrent.futures.wait()` and
    `as_completed()` work as for any Future, and `await future` works in asyncio code.

    Passed as an argument to another task, it is a dependency: that task starts once this one is done and receives its
    result in its place. `cancel()` stops the task wherever it is, running included (its dependents are skipped).
    Callbacks run in the runtime's driver thread: they may submit new tasks, but must not wait for one.
    """

    def __init__(self, task_id: str, set_name: str, index: int, on_cancel: Callable[[TaskFuture], None]) -> None:
        super().__init__()
        self.task_id = task_id
        self.set = set_name
        self.index = index
        self.on_cancel = on_cancel  # tells the session that made it (which also tells whose future it is)

    def cancel(self) -> bool:
        if self.done():
            return self.cancelled()
        if not super().cancel():  # pragma: no cover - not done, so not RUNNING or FINISHED
            return False
        self.on_cancel(self)
        return True

    def __await__(self) -> Generator[Any, None, Any]:
        import asyncio  # only asyncio code awaits, and asyncio takes a while to import

        return asyncio.wrap_future(self).__await__()

    def __repr__(self) -> str:
        return f"<TaskFuture {self.task_id} {self._state.lower()}>"


# set from the runtime; a future cancelled (or otherwise settled) meanwhile keeps its state
def resolve(future: TaskFuture, value: Any) -> None:
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        future.set_result(value)


def reject(future: TaskFuture, exc: BaseException) -> None:
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        future.set_exception(exc)


def abandon(future: TaskFuture) -> None:
    """Cancel the future only (its task ended without a result, or the session is closing): no request is sent."""
    concurrent.futures.Future.cancel(future)
