"""How a Session turns what it is given into task sets: calls, maps and shell commands (their futures, and the single
tasks they wait for before they go to the driver), a task's options, what a trigger watches."""

from __future__ import annotations

import concurrent.futures
import operator
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from itertools import repeat
from typing import Any

from hetflow.errors import ExecutionError, SpecError, TaskSkippedError
from hetflow.runtime.admission import Admission
from hetflow.runtime.futures import TaskFuture, reject
from hetflow.runtime.runs import WorkflowRun
from hetflow.runtime.sets import PLAIN, SetInfo, find_futures
from hetflow.runtime.task import TaskFunction, TaskOptions
from hetflow.spec.workflow import TaskSet

OnCancel = Callable[[TaskFuture], None]


@dataclass(slots=True)  # not frozen: one is made per call, and a frozen dataclass sets each field the slow way
class Pending:
    """A task set ready to go, and the single tasks it waits for first (an item of a map, or a task that itself
    still waits for its inputs): it goes to the driver once they are done, not once their whole sets are."""

    info: SetInfo  # with its TaskSet, info.spec
    wait: list[TaskFuture]
    options: TaskOptions | None = None  # a call's: what its TaskSet was made from (Admission.posted)


def call(admit: Admission, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
         on_cancel: OnCancel) -> Pending:  # fmt: skip
    """fn(*args, **kwargs) as a task set of one task. The hot path of a program that calls a task once per item:
    nothing here that a map does once for all its items, but the name, the set and the future."""
    opts, target = options_of(fn)
    found: list[TaskFuture] = []
    for value in args:
        if type(value) not in PLAIN:
            find_futures(value, found)
    if kwargs:
        find_futures(kwargs, found)
    name = admit.new_name(opts.name or str(getattr(target, "__name__", "task")), at_once=not found)
    items: list[TaskFuture] = []
    whole: tuple[str, ...] = ()
    if found:
        # an item of a map (one task of a larger set), or a task not submitted yet: wait for that task itself
        items = [f for f in found if f.task_id != f.set or not admit.submitted(f)]
        whole = admit.after([f for f in found if f.task_id == f.set and admit.submitted(f)])
    spec = TaskSet(name, 1, opts.resources, opts.runtime, whole, retries=opts.retries, partition=opts.partition)
    admit.check_fits(spec)
    if items:
        admit.after(items)
    fut = TaskFuture(name, name, 0, on_cancel)
    info = SetInfo(
        spec, fn=target, args=args, kwargs=kwargs or None, timeout=opts.timeout, future=fut, deps=bool(found)
    )
    return Pending(info, items, opts)


# a TaskSet's fields as C-level setters (its slots'): a call's TaskSet is filled in through them, its name apart
OTHER_FIELDS = tuple(f.name for f in fields(TaskSet) if f.name != "name")
SET_NAME = TaskSet.__dict__["name"].__set__
SETTERS = tuple(TaskSet.__dict__[f].__set__ for f in OTHER_FIELDS)
NEW = object.__new__
CALL = operator.call


class Calls:
    """The hot path of a program that calls one task once per item: what call() works out from the task's options
    is worked out once for the task called last, and a call without futures in its arguments makes its name, its
    TaskSet (the fields but the name copied in C from one made the usual way), its future and its SetInfo, no more.
    Any thread may call (what is kept is one tuple, replaced whole)."""

    __slots__ = ("admit", "last", "on_cancel")

    def __init__(self, admit: Admission, on_cancel: OnCancel) -> None:
        self.admit = admit
        self.on_cancel = on_cancel
        # (fn, fn.options, the options used, what to call, name prefix, the TaskSet's other fields, timeout) of the
        # task called last
        self.last: tuple[Any, ...] = (None, None, None, None, "", (), None)

    def make(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[SetInfo, TaskOptions] | None:
        """fn(*args, **kwargs) as a named task set of one task, what call() makes of it, and the options it was made
        from; None when its arguments hold futures or it targets a partition (call() does those)."""
        last = self.last
        if last[0] is not fn or getattr(fn, "options", None) is not last[1]:
            last = self.learn(fn)
        _, _, opts, target, prefix, values, timeout = last
        if opts.partition is not None:
            return None
        for value in args:
            if type(value) not in PLAIN and holds_future(value):
                return None
        if kwargs and holds_future(kwargs):
            return None
        admit = self.admit
        name = admit.new_name(prefix, at_once=True)
        spec: TaskSet = NEW(TaskSet)
        SET_NAME(spec, name)
        deque(map(CALL, SETTERS, repeat(spec), values), 0)
        admit.check_fits(spec)
        fut = TaskFuture(name, name, 0, self.on_cancel)
        return SetInfo(spec, fn=target, args=args, kwargs=kwargs or None, timeout=timeout, future=fut), opts

    def learn(self, fn: Callable[..., Any]) -> tuple[Any, ...]:
        """What calls of fn share (SpecError when fn cannot be called): kept for the next call. A plain callable's
        options are made once here, so that its calls are recorded as names, as a task's are (Admission)."""
        opts, target = options_of(fn)
        prefix = opts.name or str(getattr(target, "__name__", "task"))
        like = TaskSet(prefix, 1, opts.resources, opts.runtime, (), retries=opts.retries, partition=opts.partition)
        values = tuple(getattr(like, f) for f in OTHER_FIELDS)
        self.last = last = (fn, getattr(fn, "options", None), opts, target, prefix, values, opts.timeout)
        return last


def holds_future(value: Any) -> bool:
    """Whether value holds a TaskFuture (where resolve_futures looks)."""
    found: list[TaskFuture] = []
    find_futures(value, found)
    return bool(found)


def mapped(admit: Admission, fn: Callable[..., Any], items: list[tuple[Any, ...]], on_cancel: OnCancel) -> Pending:
    """fn(*item) for each item, as one task set."""
    opts, target = options_of(fn)
    found: list[TaskFuture] = []
    find_futures(items, found)
    name = admit.new_name(opts.name or str(getattr(target, "__name__", "task")))
    later = [f for f in found if not admit.submitted(f)]  # tasks not submitted yet: wait for them themselves
    after = admit.after([f for f in found if admit.submitted(f)])
    spec = TaskSet(
        name, len(items), opts.resources, opts.runtime, after, retries=opts.retries, partition=opts.partition
    )
    admit.check_fits(spec)
    futures = [TaskFuture(spec.task_id(i), name, i, on_cancel) for i in range(len(items))]
    info = SetInfo(spec, fn=target, items=items, timeout=opts.timeout, futures=futures, deps=bool(found))
    admit.after(later)
    return Pending(info, later)


def shell(
    admit: Admission, command: str, opts: TaskOptions, after: Sequence[TaskFuture], on_cancel: OnCancel
) -> Pending:
    """A shell command as a task set of one task."""
    name = admit.new_name(opts.name or "shell")
    whole = admit.after([f for f in after if f.task_id == f.set and admit.submitted(f)])
    spec = TaskSet(
        name,
        1,
        opts.resources,
        opts.runtime,
        whole,
        command=command,
        retries=opts.retries,
        partition=opts.partition,
    )
    admit.check_fits(spec)
    fut = TaskFuture(name, name, 0, on_cancel)
    info = SetInfo(spec, command=command, timeout=opts.timeout, future=fut)
    wait = [f for f in after if f.task_id != f.set or not admit.submitted(f)]
    admit.after(wait)
    return Pending(info, wait)


def options_of(fn: Callable[..., Any]) -> tuple[TaskOptions, Callable[..., Any]]:
    """The options of a @task function (defaults for a plain callable) and what to call."""
    if isinstance(fn, TaskFunction):
        return fn.options, fn.__hetflow_task__
    if not callable(fn):
        raise SpecError(f"a task needs a callable, not {fn!r}", place="submit", fix="pass a function")
    return TaskOptions(), fn


def watched(watch: Any) -> tuple[str, ...]:
    """Task set names from names, futures, WorkflowRuns, or a list of them."""
    items = watch if isinstance(watch, list | tuple | set) else [watch]
    names: list[str] = []
    for w in items:
        if isinstance(w, str):
            names.append(w)
        elif isinstance(w, TaskFuture):
            names.append(w.set)
        elif isinstance(w, WorkflowRun):
            names.extend(s.name for s in w.workflow.sets)
        else:
            raise SpecError(f"a trigger cannot watch {w!r}", place="when", fix="watch set names, futures or runs")
    return tuple(dict.fromkeys(names))


def when_done(inputs: list[TaskFuture], futures: list[TaskFuture], post: Callable[[], None]) -> None:
    """Call post() once the given tasks are done (a dependency on those tasks, not on their whole sets: the
    dependent starts as soon as its own inputs are there); skip the dependent's futures if an input failed or was
    cancelled."""
    left = [len(set(inputs))]
    lock = threading.Lock()

    def ready(f: concurrent.futures.Future[Any]) -> None:  # the thread that resolved f (the driver's, mostly)
        if all(g.done() for g in futures):
            return  # cancelled meanwhile, or skipped by an earlier input
        if f.cancelled() or f.exception() is not None:
            why = f"its input {getattr(f, 'task_id', '?')} failed or was cancelled"
            for g in futures:
                reject(g, TaskSkippedError(f"{g.task_id} skipped: {why}", task_id=g.task_id))
            return
        with lock:
            left[0] -= 1
            if left[0]:
                return
        try:
            post()
        except ExecutionError as exc:  # the session ended before its inputs did
            for g in futures:
                reject(g, exc)

    for f in dict.fromkeys(inputs):
        f.add_done_callback(ready)
