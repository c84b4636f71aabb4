"""What a Session accepts before anything goes to the driver: unique task set names, tasks that fit the platform,
partitions it has, futures of its own, workflows that can run here. Any thread may ask (one lock)."""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Iterable

from hetflow.core.partitions import Share
from hetflow.errors import ExecutionError, FitError, SpecError
from hetflow.runtime.futures import TaskFuture
from hetflow.runtime.sets import SetInfo
from hetflow.spec.features import Requirement
from hetflow.spec.platform import Platform
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import TaskSet, Workflow

CHUNK = 4096  # entries of a session's record moved at a time into a tuple


class Admission:
    """The names, partitions and submitted sets of one session. owner: the session (whose futures it accepts)."""

    def __init__(self, platform: Platform, shares: dict[str, Share], owner: object) -> None:
        self.platform = platform
        self.shares = shares  # the partitions' shares, as last set (read and changed under lock)
        self.owner = owner
        self.lock = threading.Lock()
        # every set handed to the driver, in order; a name alone stands for a call like the last call kept whole, in
        # a 1-tuple (a long-lived session makes many: a name costs a list slot, a TaskSet 184 bytes)
        self._specs: list[TaskSet | tuple[TaskSet] | str] = []
        # earlier entries of _specs, CHUNK at a time: tuples of names only, which the collector does not walk (a list
        # or set of a million names is walked whole at every full collection)
        self._older: list[tuple[TaskSet | tuple[TaskSet] | str, ...]] = []
        self._like: object = None  # the options of the last call without dependencies kept whole
        self._names: dict[str, None] = {}  # a dict of names only is not walked by the collector (a set would be)
        self._unposted: set[str] = set()  # task sets named here and not yet handed to the driver
        self._counter = itertools.count()
        self._fits: dict[tuple[Resources, Requirement | None], bool] = {}
        self._fit: Resources | None = None  # the resources of the last set that fits (a call's come again and again)

    def new_name(self, prefix: str, at_once: bool = False) -> str:
        """A fresh task set name: prefix-N. at_once: the set goes to the driver before anyone else can see its name
        (a call without futures in its arguments, posted in the same call), so it is never seen unposted."""
        if not prefix or "[" in prefix or "]" in prefix:
            prefix = prefix.replace("[", "(").replace("]", ")") or "task"
        with self.lock:
            while True:
                name = f"{prefix}-{next(self._counter)}"
                if name not in self._names:
                    self._names[name] = None
                    if not at_once:
                        self._unposted.add(name)
                    return name

    def claim(self, wf: Workflow) -> None:
        """Take the names of a workflow's task sets; SpecError when one is taken."""
        with self.lock:
            clash = [s.name for s in wf.sets if s.name in self._names]
            if clash:
                raise SpecError(
                    f"task set {clash[0]} is already part of this session",
                    source=wf.source,
                    fix="rename the task set, or run the workflow in a new Session",
                )
            self._names.update(dict.fromkeys([s.name for s in wf.sets]))
            self._unposted.update(s.name for s in wf.sets)

    def posted(self, infos: Iterable[SetInfo], options: object = None) -> None:
        """These task sets go to the driver now. options: the TaskOptions a call's set was made from (None: not a
        call); a call without dependencies made from the options of the last one kept whole is kept as its name."""
        with self.lock:
            for info in infos:
                self._unposted.discard(info.spec.name)
                self._keep(info.spec, options)

    def posted_call(self, spec: TaskSet, options: object) -> None:
        """posted() for one call's set made at once (new_name(at_once=True)): the hot path of a program that calls a
        task once per item."""
        with self.lock:
            self._keep(spec, options)

    def _keep(self, spec: TaskSet, options: object) -> None:
        """Record a posted set (under the lock): whole, or as its name when made like the last one kept whole."""
        specs = self._specs
        if options is None or spec.after:
            specs.append(spec)
        elif options is self._like:  # call() makes nothing but the name differ (runtime/submitting.py)
            specs.append(spec.name)
        else:
            specs.append((spec,))
            self._like = options
        if len(specs) >= CHUNK:
            self._older.append(tuple(specs))
            specs.clear()

    @property
    def specs(self) -> list[TaskSet]:
        """Every set handed to the driver, in order."""
        with self.lock:
            kept = [s for chunk in self._older for s in chunk] + self._specs
        out: list[TaskSet] = []
        like = None
        for s in kept:
            if isinstance(s, str):
                assert like is not None
                out.append(dataclasses.replace(like, name=s))
            elif isinstance(s, tuple):
                like = s[0]
                out.append(like)
            else:
                out.append(s)
        return out

    def submitted(self, f: TaskFuture) -> bool:
        """The future's task set went to the driver (a dependency the engine can see)."""
        with self.lock:
            return f.set in self._names and f.set not in self._unposted

    def unknown(self, names: Iterable[str]) -> list[str]:
        with self.lock:
            return [s for s in names if s not in self._names]

    def after(self, futures: list[TaskFuture]) -> tuple[str, ...]:
        """The task sets of these futures; ExecutionError for a future of another session."""
        for f in futures:
            if getattr(f.on_cancel, "__self__", None) is not self.owner:
                raise ExecutionError(f"{f.task_id} belongs to another Session: pass its result instead")
        return tuple(dict.fromkeys([f.set for f in futures]))

    def check_fits(self, spec: TaskSet) -> None:
        if spec.partition is not None:
            self.check_partition(spec)
        if spec.resources is self._fit and spec.requires is None:
            return  # the resources of the last call that fits, again
        key = (spec.resources, spec.requires)
        fits = self._fits.get(key)
        if fits is None:  # the same resources come again and again: ask the platform once
            fits = self._fits[key] = self.platform.can_run(spec)
        if fits and spec.requires is None:
            self._fit = spec.resources
        if not fits:
            raise FitError(
                f"a task of {spec.name} needs {spec.resources}, more than any node of platform "
                f"{self.platform.name!r} has",
                place=spec.name,
                fix="ask for less, or give the Session a platform with larger nodes",
            )

    def check_partition(self, spec: TaskSet, source: str | None = None) -> None:
        if spec.partition is not None and spec.partition not in self.shares:
            raise SpecError(
                f"task set {spec.name} targets partition {spec.partition!r}, which the session does not have",
                source=source,
                place=spec.name,
                fix="give the Session partitions={...} with it, or resize() it into being first",
            )

    def check_workflow(self, wf: Workflow) -> None:
        """SpecError unless wf can run here: what it depends on outside itself is here, every task fits on the
        platform and in its partition, and has a command or a function."""
        unknown = sorted(self.unknown(wf.outside))
        if unknown:
            raise SpecError(
                f"the workflow depends on task set {unknown[0]!r}, which this session does not have",
                source=wf.source,
                fix="submit that task set first",
            )
        self.platform.check_fits(wf)
        for s in wf.sets:
            self.check_partition(s, wf.source)
        for i, s in enumerate(wf.sets):
            if s.command is None and s.function is None:
                raise SpecError(
                    f"task set {s.name} has nothing to run",
                    source=wf.source,
                    place=f"tasks[{i}] ({s.name})",
                    fix="give it a command or a function",
                )
