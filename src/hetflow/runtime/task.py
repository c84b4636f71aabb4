"""The `@hetflow.task` decorator: a function plus the resources, retries and time limit of each call of it.

Inside a Session, calling a task submits it and returns a TaskFuture at once. Outside any Session (for example inside
a worker process, when a task calls another) it is a plain function call.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, overload

from hetflow.errors import ExecutionError, SpecError
from hetflow.runtime.active import innermost
from hetflow.runtime.futures import TaskFuture
from hetflow.spec.resources import Resources


@dataclass(frozen=True, slots=True)
class TaskOptions:
    """How each call of a task runs."""

    resources: Resources = Resources()  # noqa: RUF009 (frozen)
    retries: int = 0
    timeout: float | None = None
    runtime: float = 0.0  # the estimate the engine and policies use (seconds)
    name: str | None = None  # prefix of the generated task names (default: the function's name)
    partition: str | None = None  # the Session partition its calls run in (None: the default one)

    @classmethod
    def of(
        cls,
        cores: int = 1,
        gpus: float = 0,
        memory: int | str = 0,
        retries: int = 0,
        timeout: float | None = None,
        runtime: float = 0.0,
        name: str | None = None,
        partition: str | None = None,
    ) -> TaskOptions:
        """Options from user-facing values, validated (SpecError naming the bad one)."""
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise SpecError(f"retries must be a whole number >= 0, not {retries!r}", place="retries", fix="e.g. 2")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
            raise SpecError(f"timeout must be a number of seconds > 0, not {timeout!r}", place="timeout", fix="e.g. 60")
        if isinstance(runtime, bool) or not isinstance(runtime, int | float) or runtime < 0:
            raise SpecError(f"runtime must be seconds >= 0, not {runtime!r}", place="runtime", fix="e.g. 10")
        if name is not None and (not name or "[" in name or "]" in name):
            raise SpecError(f"name {name!r} is not usable", place="name", fix="a non-empty name without brackets")
        return cls(
            Resources.of(cores, gpus, memory),
            retries,
            None if timeout is None else float(timeout),
            float(runtime),
            name,
            partition or None,
        )


class TaskFunction:
    """A function decorated with `@hetflow.task`. Call it to submit a task; `.map(items)` submits one per item."""

    __name__: str
    __qualname__: str

    def __init__(self, fn: Callable[..., Any], options: TaskOptions) -> None:
        functools.update_wrapper(self, fn)
        self.__hetflow_task__ = fn
        self.options = options

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        session = innermost()
        if session is None:
            return self.__hetflow_task__(*args, **kwargs)
        return session.submit(self, *args, **kwargs)

    def map(self, *iterables: Iterable[Any]) -> list[TaskFuture]:
        """One task per item (one task set): like Session.map, in the active Session."""
        session = innermost()
        if session is None:
            raise ExecutionError(f"{self.__name__}.map() needs an active Session (`with hetflow.Session() as s:`)")
        return session.map(self, *iterables)

    def __repr__(self) -> str:
        return f"<hetflow task {self.__module__}.{self.__qualname__}>"

    def __reduce__(self) -> str | tuple[Any, ...]:
        """By reference when the module holds it under its name (pickle's rule for functions), else by value."""
        obj: Any = sys.modules.get(self.__module__)
        for part in self.__qualname__.split("."):
            obj = getattr(obj, part, None)
        if obj is self:
            return str(self.__qualname__)
        return (TaskFunction, (self.__hetflow_task__, self.options))


@overload
def task(fn: Callable[..., Any], /) -> TaskFunction: ...


@overload
def task(
    *,
    cores: int = 1,
    gpus: float = 0,
    memory: int | str = 0,
    retries: int = 0,
    timeout: float | None = None,
    runtime: float = 0.0,
    name: str | None = None,
    partition: str | None = None,
) -> Callable[[Callable[..., Any]], TaskFunction]: ...


def task(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    cores: int = 1,
    gpus: float = 0,
    memory: int | str = 0,
    retries: int = 0,
    timeout: float | None = None,
    runtime: float = 0.0,
    name: str | None = None,
    partition: str | None = None,
) -> TaskFunction | Callable[[Callable[..., Any]], TaskFunction]:
    """Make a function a task: `@task` or `@task(cores=2, gpus=0.5, memory="4GiB", retries=2, timeout=60)`.

    cores, gpus (fractions allowed) and memory are what each call holds while it runs; retries is how often a failed
    call is tried again (with a growing pause); timeout (seconds) kills a call that runs longer; runtime is an
    estimate for the scheduler; partition names the Session partition its calls run in.
    """
    options = TaskOptions.of(cores, gpus, memory, retries, timeout, runtime, name, partition)

    def wrap(f: Callable[..., Any]) -> TaskFunction:
        if isinstance(f, TaskFunction):
            return TaskFunction(f.__hetflow_task__, options)
        if not callable(f):
            raise SpecError(f"@task needs a function, not {f!r}", place="@task", fix="decorate a function")
        return TaskFunction(f, options)

    return wrap(fn) if fn is not None else wrap
