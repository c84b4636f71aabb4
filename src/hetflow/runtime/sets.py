"""What the driver knows of each task set beyond its TaskSet (what to execute, who waits), of each execution in
flight (Running), and the futures helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hetflow.executors.api import Outcome, TaskRun
from hetflow.runtime.futures import TaskFuture
from hetflow.runtime.runs import Group
from hetflow.spec.data import staged_outputs
from hetflow.spec.resources import GpuGrant
from hetflow.spec.trace import Interval
from hetflow.spec.workflow import TaskSet


class SetInfo:
    """What the driver knows of a set beyond its TaskSet: what to execute and who waits for it."""

    __slots__ = (
        "args",
        "command",
        "deps",
        "fn",
        "future",
        "futures",
        "group",
        "items",
        "kept",
        "kwargs",
        "last",
        "losses",
        "reads",
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
        future: TaskFuture | None = None,
        deps: bool = False,
        group: Group | None = None,
        kept: dict[int, Interval] | None = None,
        reads: tuple[str, ...] = (),
    ) -> None:
        self.spec = spec
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.items = items  # per-index argument tuples (Session.map)
        self.command = command
        self.timeout = timeout
        self.futures = futures
        # the future of a set of one task (a call, a shell command) in place of a list of one: one object fewer per
        # call in flight for the collector to walk (futures is then None)
        self.future = future
        self.deps = deps  # the arguments hold futures, replaced by their results at launch
        self.group = group
        self.kept = kept  # resume: tasks done in an earlier run, not run again
        self.reads = reads  # the files its tasks read (spec/data.py staged_inputs)
        # made when first needed (most sets never fail): extra starts per index (retries, lost workers), worker
        # deaths per index, the failure a Failed instruction reports and its run
        self.starts: dict[int, int] | None = None
        self.losses: dict[int, int] | None = None
        self.last: dict[int, tuple[Outcome, Running]] | None = None

    def future_at(self, index: int) -> TaskFuture | None:
        """The future of task index (None: nobody holds one, as for a declarative workflow's tasks)."""
        if self.future is not None:
            return self.future
        futures = self.futures
        return futures[index] if futures else None

    def all_futures(self) -> list[TaskFuture]:
        """The futures of its tasks, in index order (empty when nobody holds one)."""
        return [self.future] if self.future is not None else self.futures or []

    def attempt(self, index: int) -> int:
        """The attempt the next start of task index is (1: its first)."""
        return 1 + self.starts.get(index, 0) if self.starts else 1

    def again(self, index: int) -> None:
        """Task index will start once more (a retry, a worker that died under it)."""
        if self.starts is None:
            self.starts = {}
        self.starts[index] = self.starts.get(index, 0) + 1

    def lost(self, index: int) -> int:
        """A worker died under task index: how many have."""
        if self.losses is None:
            self.losses = {}
        n = self.losses[index] = self.losses.get(index, 0) + 1
        return n

    def failing(self, index: int, outcome: Outcome, running: Running) -> None:
        """Task index's execution failed: what a Failed instruction for it will report."""
        if self.last is None:
            self.last = {}
        self.last[index] = (outcome, running)

    def failure(self, index: int) -> tuple[Outcome, Running] | None:
        """Task index's last failed execution, forgotten here (None: it never ran)."""
        return self.last.pop(index, None) if self.last else None

    def task_run(
        self, key: int, index: int, node: str, cores: int, gpus: GpuGrant, attempt: int, memory: int = 0
    ) -> TaskRun:
        """The execution of task index: its command ({index} expanded), or its function with its arguments (the
        futures among them replaced by their results)."""
        spec = self.spec
        task_id = spec.task_id(index)
        if self.command is not None:
            return TaskRun(
                key=key,
                task_id=task_id,
                node=node,
                cores=cores,
                gpus=gpus,
                command=self.command.replace("{index}", str(index)),
                timeout=self.timeout,
                attempt=attempt,
                inputs=self.reads,
                outputs=staged_outputs(spec, index),
                memory=memory,
            )
        args = self.items[index] if self.items is not None else self.args
        kwargs = self.kwargs
        if self.deps:
            args, kwargs = resolve_futures(args), resolve_futures(kwargs)
        return TaskRun(
            key=key,
            task_id=task_id,
            node=node,
            cores=cores,
            gpus=gpus,
            fn=self.fn,
            args=args,
            kwargs=kwargs,
            index=index if isinstance(self.fn, str) else None,
            timeout=self.timeout,
            attempt=attempt,
            memory=memory,
        )


class Running:
    """One execution the executor has: which task of which set, of which launch, with what GPU units."""

    __slots__ = ("gpu_units", "index", "info", "launch", "run", "sent")

    def __init__(self, info: SetInfo, launch: int, index: int, run: TaskRun, gpu_units: int, sent: float) -> None:
        self.info = info
        self.launch = launch
        self.index = index
        self.run = run
        self.gpu_units = gpu_units
        self.sent = sent  # when it went to the executor (wall clock)

    @property
    def set(self) -> str:
        return self.info.spec.name


def resolve_futures(value: Any) -> Any:
    """value with each TaskFuture in it (at the top, or inside lists, tuples, sets and dicts) replaced by its result."""
    if isinstance(value, TaskFuture):
        return value.result(timeout=0)
    if type(value) in (list, tuple, set, frozenset):
        return type(value)([resolve_futures(v) for v in value])
    if type(value) is dict:
        return {k: resolve_futures(v) for k, v in value.items()}
    return value


PLAIN = frozenset({int, float, str, bytes, bool, type(None)})  # what holds no future: a call skips it at once


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
