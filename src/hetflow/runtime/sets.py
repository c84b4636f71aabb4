"""What the driver knows of each task set beyond its TaskSet (what to execute, who waits), and the futures helpers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from hetflow.executors.api import Outcome
from hetflow.runtime.futures import TaskFuture
from hetflow.spec.trace import Interval
from hetflow.spec.workflow import TaskSet

if TYPE_CHECKING:
    from hetflow.runtime.driver import _Rec


class Group:
    """The tasks of one submission that someone waits for as a whole (a workflow run via Session.run)."""

    def __init__(self, names: Sequence[str]) -> None:
        self.sets_left = len(set(names))
        self.intervals: list[Interval] = []
        self.failed: list[tuple[str, str]] = []  # (task id, error)
        self.skipped: list[tuple[str, int, str]] = []  # (set, count, why)
        self.cancelled = 0
        self.kept = 0
        self.error: BaseException | None = None
        self.event = threading.Event()
        if not self.sets_left:
            self.event.set()


class SetInfo:
    """What the driver knows of a set beyond its TaskSet: what to execute and who waits for it."""

    __slots__ = (
        "args",
        "command",
        "deps",
        "fn",
        "futures",
        "group",
        "items",
        "kept",
        "kwargs",
        "last",
        "losses",
        "not_before",
        "spec",
        "starts",
        "timeout",
    )

    def __init__(
        self,
        spec: TaskSet,
        *,
        fn: Callable[..., Any] | str | None = None,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        items: list[tuple[Any, ...]] | None = None,
        command: str | None = None,
        timeout: float | None = None,
        futures: list[TaskFuture] | None = None,
        deps: bool = False,
        group: Group | None = None,
        kept: dict[int, Interval] | None = None,
    ) -> None:
        self.spec = spec
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.items = items  # per-index argument tuples (Session.map)
        self.command = command
        self.timeout = timeout
        self.futures = futures
        self.deps = deps  # the arguments hold futures, replaced by their results at launch
        self.group = group
        self.kept = kept  # resume: tasks done in an earlier run, not run again
        self.starts: dict[int, int] = {}  # extra starts per index (retries, lost workers)
        self.losses: dict[int, int] = {}
        self.last: dict[int, tuple[Outcome, _Rec]] = {}  # the failure a Failed instruction reports, and its run
        self.not_before: dict[int, float] = {}  # backoff: monotonic time before which a retry may not start


def resolve_futures(value: Any) -> Any:
    """value with each TaskFuture in it (at the top, or inside lists, tuples, sets and dicts) replaced by its result."""
    if isinstance(value, TaskFuture):
        return value.result(timeout=0)
    if type(value) in (list, tuple, set, frozenset):
        return type(value)(resolve_futures(v) for v in value)
    if type(value) is dict:
        return {k: resolve_futures(v) for k, v in value.items()}
    return value


def find_futures(value: Any, out: list[TaskFuture]) -> None:
    """Collect the TaskFutures in value (where resolve_futures looks)."""
    if isinstance(value, TaskFuture):
        out.append(value)
    elif type(value) in (list, tuple, set, frozenset):
        for v in value:
            find_futures(v, out)
    elif type(value) is dict:
        for v in value.values():
            find_futures(v, out)
