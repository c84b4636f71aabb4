"""The active session: the innermost `with Session()` of the process (any thread, the driver's included), where a
@task call submits itself."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from hetflow.runtime.futures import TaskFuture


class Submitter(Protocol):
    """What a @task call needs of the active session."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> TaskFuture: ...

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> list[TaskFuture]: ...


_active: list[Submitter] = []
_active_lock = threading.Lock()


def innermost() -> Submitter | None:
    return _active[-1] if _active else None


def push_session(s: Submitter) -> None:
    with _active_lock:
        _active.append(s)


def pop_session(s: Submitter) -> None:
    with _active_lock:
        if s in _active:
            _active.remove(s)
