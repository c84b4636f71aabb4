"""How a Session reads what it is given: a task's options, what a trigger watches, and a submission that waits for
single tasks (not whole sets) before it goes to the driver."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any

from hetflow.errors import ExecutionError, SpecError, TaskSkippedError
from hetflow.runtime.futures import TaskFuture, reject
from hetflow.runtime.runs import WorkflowRun
from hetflow.runtime.task import TaskFunction, TaskOptions


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
