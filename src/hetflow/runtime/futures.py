"""Futures of tasks: concurrent.futures.Future objects that asyncio code can also await."""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable, Generator
from typing import Any

PENDING, RUNNING, CANCELLED, NOTIFIED, FINISHED = (  # concurrent.futures' states
    "PENDING",
    "RUNNING",
    "CANCELLED",
    "CANCELLED_AND_NOTIFIED",
    "FINISHED",
)
DONE = (CANCELLED, NOTIFIED, FINISHED)
# One lock guards the state of every TaskFuture. concurrent.futures.Future makes a Condition and two lists per future
# (~10 objects the collector walks, again and again while the task is in flight, for each of a million calls); a
# TaskFuture makes each only when it is used: its own Condition on this lock once a thread waits on it (so a
# notification still wakes only its waiters), the lists once wait()/as_completed() or a callback asks for them.
STATE = threading.RLock()
LOGGER = logging.getLogger("concurrent.futures")  # where concurrent.futures reports a failing callback


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
        # Future.__init__'s fields but three, made when first used (the properties below): the Condition, the waiters
        # of wait() and as_completed(), the callbacks; most futures never need one (~10 objects fewer to collect)
        self._state = PENDING
        self._result: Any = None
        self._exception: BaseException | None = None
        self._cond: threading.Condition | None = None
        self._installed: list[Any] | None = None
        self._callbacks: list[Callable[[concurrent.futures.Future[Any]], object]] | None = None
        self.task_id = task_id
        self.set = set_name
        self.index = index
        self.on_cancel = on_cancel  # tells the session that made it (which also tells whose future it is)

    # concurrent.futures.Future's own methods (waiting, wait(), as_completed(), cancel()) use these as they would
    # its fields: each is made, under STATE, the first time it is asked for
    @property
    def _condition(self) -> threading.Condition:  # type: ignore[override]
        with STATE:
            if self._cond is None:
                self._cond = threading.Condition(STATE)
            return self._cond

    @property
    def _waiters(self) -> list[Any]:  # type: ignore[override]
        with STATE:
            if self._installed is None:
                self._installed = []
            return self._installed

    @property
    def _done_callbacks(self) -> list[Callable[[concurrent.futures.Future[Any]], object]]:
        with STATE:
            if self._callbacks is None:
                self._callbacks = []
            return self._callbacks

    def _notify(self) -> None:
        """Wake the threads waiting on this future (those that made its Condition); with STATE held."""
        if self._cond is not None:
            self._cond.notify_all()

    def _invoke_callbacks(self) -> None:
        for callback in self._callbacks or ():
            try:
                callback(self)
            except Exception:
                LOGGER.exception("exception calling callback for %r", self)

    # concurrent.futures' methods that run for every task, or that a program polls, without the Condition where
    # nobody waits (a state is one string: reading it needs no lock)
    def done(self) -> bool:
        return self._state in DONE

    def running(self) -> bool:
        return self._state == RUNNING

    def cancelled(self) -> bool:
        return self._state in (CANCELLED, NOTIFIED)

    def result(self, timeout: float | None = None) -> Any:
        if self._state == FINISHED and self._exception is None:
            return self._result
        return super().result(timeout)

    def add_done_callback(self, fn: Callable[[concurrent.futures.Future[Any]], object]) -> None:
        with STATE:
            if self._state not in DONE:
                if self._callbacks is None:
                    self._callbacks = [fn]
                else:
                    self._callbacks.append(fn)
                return
        try:
            fn(self)
        except Exception:
            LOGGER.exception("exception calling callback for %r", self)

    def set_running_or_notify_cancel(self) -> bool:
        with STATE:
            if self._state == CANCELLED:
                self._state = NOTIFIED
                for waiter in self._installed or ():
                    waiter.add_cancelled(self)
                return False
            if self._state == PENDING:
                self._state = RUNNING
                return True
            raise RuntimeError(f"Future in unexpected state: {self._state}")

    def set_result(self, result: Any) -> None:
        with STATE:
            if self._state in DONE:
                raise concurrent.futures.InvalidStateError(f"{self._state}: {self!r}")
            self._result = result
            self._state = FINISHED
            for waiter in self._installed or ():
                waiter.add_result(self)
            self._notify()
        self._invoke_callbacks()

    def set_exception(self, exception: BaseException | None) -> None:
        with STATE:
            if self._state in DONE:
                raise concurrent.futures.InvalidStateError(f"{self._state}: {self!r}")
            self._exception = exception
            self._state = FINISHED
            for waiter in self._installed or ():
                waiter.add_exception(self)
            self._notify()
        self._invoke_callbacks()

    def cancel(self) -> bool:
        """Cancel the task if it is pending: True then (or when it was cancelled already); False when it runs or is
        done, as concurrent.futures.Future.cancel."""
        with STATE:
            if self._state != PENDING:
                return self._state in (CANCELLED, NOTIFIED)
            _cancelled_now(self)
        self._invoke_callbacks()
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
    with STATE:
        if future._state in (PENDING, CANCELLED):
            future.set_running_or_notify_cancel()


def requeued(future: TaskFuture) -> None:
    """Its task stopped and holds nothing until it runs again or fails for good: running -> pending."""
    with STATE:
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
    the session is closing), running or not. Its callbacks run once STATE is released: one may wait on or add a
    callback to another future from another thread."""
    with STATE:
        requeued(future)
        if future._state != PENDING:
            return
        _cancelled_now(future)
    future._invoke_callbacks()


def _cancelled_now(future: TaskFuture) -> None:
    """Pending -> cancelled and notified, with STATE held: no executor calls set_running_or_notify_cancel for a
    task that never starts, and wait() and as_completed() count only a notified cancel as done."""
    future._state = NOTIFIED
    for waiter in future._installed or ():
        waiter.add_cancelled(future)
    future._notify()
