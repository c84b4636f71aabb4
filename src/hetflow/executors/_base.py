"""What the Dask and Ray executors do alike around their engines: the runs in flight and their deadlines, cancels and
timeouts, the wait of poll() for results, wake() or a change of the cluster, and the reading of the cluster's members
every refresh. A backend sends runs (submit), stops them (_stop), reads its members (_found) and turns what came back
into outcomes (poll, after _wait)."""

from __future__ import annotations

import heapq
import logging
import os
import shutil
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Generic, TypeVar

from hetflow.errors import ExecutionError
from hetflow.executors._cluster import Membership, Seen, outcome
from hetflow.executors._worker import reference
from hetflow.executors.api import CANCELLED, FAILED, TIMEOUT, NodeChange, Outcome, TaskRun, log_paths
from hetflow.spec.features import Features
from hetflow.spec.platform import Node, Platform

log = logging.getLogger("hetflow")


class Job:
    """A run sent to the cluster, until its outcome is in."""

    __slots__ = ("run",)

    def __init__(self, run: TaskRun) -> None:
        self.run = run


J = TypeVar("J", bound=Job)
R = TypeVar("R")  # what the engine's threads put in _ready for poll()


class ClusterExecutorBase(ABC, Generic[J, R]):
    """The bookkeeping of an executor on a cluster whose nodes come and go. _refresh_s: how often _found() is read."""

    name: str
    _refresh_s: float

    def __init__(self, address: str | None, log_dir: str | os.PathLike[str] | None) -> None:
        self.address = address
        self._log_dir = Path(log_dir) if log_dir is not None else None
        self._temporary = log_dir is None  # a folder of our own: removed at close unless a failed command wrote there
        self._keep_logs = False
        self._members = Membership()
        self._type_features: dict[str, Features] = {}  # node type -> its features, for the nodes that join later
        self._nodes: dict[str, Node] = {}
        self._jobs: dict[int, J] = {}
        self._orphans: set[int] = set()  # keys submitted to a node already gone: NodeLost cancels them
        self._done: list[Outcome] = []
        self._ready: deque[R] = deque()
        self._cond = threading.Condition()
        self._woken = False
        self._dirty = False  # the cluster told of a member that joined or left: read the members at the next poll
        self._refreshed = 0.0
        self._deadlines: list[tuple[float, int]] = []  # (when, key) of the Python functions with a timeout
        self._closed = False

    def start(self, nodes: Sequence[Node]) -> None:
        if not self._connected():
            raise ExecutionError(f"connect() the {self.name} executor to a cluster before start()")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for key in list(self._jobs):
            self.cancel(key)
        self._release()
        if self._temporary and self._log_dir is not None:
            if self._keep_logs and any(self._log_dir.iterdir()):
                log.warning("logs of the failed commands kept in %s", self._log_dir)
            else:
                shutil.rmtree(self._log_dir, ignore_errors=True)

    def cancel(self, key: int) -> None:
        if key in self._orphans:
            self._orphans.discard(key)
            return
        job = self._jobs.pop(key, None)
        if job is None:
            return
        self._stop(job)
        t = time.time()
        self._done.append(Outcome(key, CANCELLED, t, t, error="cancelled"))

    def wake(self) -> None:
        with self._cond:
            self._woken = True
            self._cond.notify()

    def changes(self) -> list[NodeChange]:
        out = self._members.changes()
        for k, c in enumerate(out):
            node = c.node
            if node is None:
                continue
            if node.features is None and node.type in self._type_features:  # joins a type described at start
                node = replace(node, features=self._type_features[node.type])
                out[k] = NodeChange(c.name, node)
            self._nodes[c.name] = node
        return out

    def _first(self, name: str, shape: Platform | None, nothing: str) -> Platform:
        """At connect: the platform of the members there are (shape: that of a cluster started for it, whose members
        are named after its nodes); nothing: the error when there are none."""
        found = self._found()
        if not found:
            raise ExecutionError(nothing)
        platform = self._members.first(name, found, shape)
        self._nodes = dict(self._members.nodes)
        return self._described(platform)

    def _described(self, platform: Platform) -> Platform:
        """The platform with each node type that declared no features given those found on its first node
        (hetflow.discover, run there); a node type whose discovery failed keeps none (logged)."""
        from hetflow.discover.nodes import fill_features
        from hetflow.spec.features import features_from_dict

        ids = {}
        for t in platform.node_types:
            first = next((n for n in sorted(self._members.id_of) if self._nodes[n].type == t.type), None)
            if t.features is None and first is not None:
                ids[first] = self._members.id_of[first]
        self._type_features = {t.type: t.features for t in platform.node_types if t.features is not None}
        if not ids:
            return platform
        try:
            found = {node: features_from_dict(d) for node, d in self._features_of(ids).items()}
        except Exception as exc:  # a worker without hetflow.discover, a timeout: the nodes go undescribed
            log.warning("could not discover the features of the %s nodes: %s", self.name, exc)
            return platform
        described = fill_features(platform, {self._nodes[node].type: f for node, f in found.items()})
        self._type_features = {t.type: t.features for t in described.node_types if t.features is not None}
        return described

    def _arguments(self, run: TaskRun) -> tuple[Any, ...]:
        """The arguments of _remote.run_task for a run."""
        node = self._nodes.get(run.node)
        has_gpus = node is not None and node.gpu_units > 0
        fn = reference(run.fn) if run.fn is not None else None
        out_path, err_path = log_paths(self._logs(), run) if run.command is not None else ("", "")
        return (
            run.key, fn, run.args, run.kwargs, run.index, run.command, run.gpus, has_gpus, run.task_id, out_path,
            err_path, run.timeout,
        )  # fmt: skip

    def _outcome(self, key: int, run: TaskRun, value: tuple[Any, ...]) -> Outcome:
        """The Outcome of what run_task returned; a failed command keeps the temporary log folder for its user."""
        result = outcome(key, run, value)
        if run.command is not None and result.status in (FAILED, TIMEOUT):
            self._keep_logs = True
        return result

    def _track(self, job: J, now: float) -> None:
        """Follow a run just sent, and its deadline when it has one (a command times itself out where it runs)."""
        run = job.run
        self._jobs[run.key] = job
        if run.timeout is not None and run.command is None:
            heapq.heappush(self._deadlines, (now + run.timeout, run.key))

    def _wait(self, timeout: float | None) -> tuple[list[Outcome], list[R], bool]:
        """The start of poll(): the outcomes already in; then, when there are none, a wait (up to timeout, _refresh_s
        and the next deadline) for a result, wake() or a change of the cluster. Those outcomes, the results now in,
        and whether the cluster told of a change."""
        out, self._done = self._done, []
        wait = 0.0 if out else self._refresh_s if timeout is None else min(timeout, self._refresh_s)
        if self._deadlines:
            wait = max(0.0, min(wait, self._deadlines[0][0] - time.monotonic()))
        with self._cond:
            if not (self._ready or self._woken or self._dirty) and wait > 0:
                self._cond.wait(wait)
            ready = list(self._ready)
            self._ready.clear()
            self._woken = False
            dirty, self._dirty = self._dirty, False
        return out, ready, dirty

    def _stale(self) -> bool:
        """Whether the members were read _refresh_s ago or more."""
        return time.monotonic() - self._refreshed >= self._refresh_s

    def _refresh(self) -> None:
        """Read the cluster's members again; when some joined or left, wake the runtime to read changes()."""
        self._refreshed = time.monotonic()
        if self._closed:
            return
        try:
            found = self._found()
        except Exception:  # the cluster does not answer now: ask again at the next refresh
            return
        if self._members.update(found):
            self._members_changed()
            self.wake()  # the runtime reads changes() after this poll

    def _members_changed(self) -> None:
        """After a refresh that found members joined or left, before the runtime hears of it."""

    def _expire(self, now: float, out: list[Outcome]) -> None:
        dl = self._deadlines
        while dl and dl[0][0] <= now:
            _, key = heapq.heappop(dl)
            job = self._jobs.pop(key, None)
            if job is not None:
                self._stop(job)
                t = time.time()
                out.append(Outcome(key, TIMEOUT, t, t, error=f"timed out after {job.run.timeout:g} s"))

    def _logs(self) -> Path:
        if self._log_dir is None:
            self._log_dir = Path(tempfile.mkdtemp(prefix="hetflow-logs-"))
        return self._log_dir

    @abstractmethod
    def _connected(self) -> bool:
        """Whether connect() reached the cluster."""

    @abstractmethod
    def _features_of(self, ids: dict[str, str]) -> dict[str, dict[str, Any]]:
        """hetflow.discover's features (as JSON) of the nodes with these member ids, found on each node itself."""

    @abstractmethod
    def _found(self) -> dict[str, Seen]:
        """The cluster's members now, by their id."""

    @abstractmethod
    def _release(self) -> None:
        """At close, once the runs are cancelled: wait a little for their stops, let go of the engine and of the
        cluster this executor started."""

    @abstractmethod
    def _stop(self, job: J) -> None:
        """Stop a run cancelled or past its deadline (its outcome is reported at once)."""
