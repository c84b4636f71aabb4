"""An endpoint whose site is a Dask or a Ray cluster (`hetflow endpoint start --backend dask|ray [--address A]`).

The site's nodes are the cluster's workers as hetflow's own Dask and Ray executors find and describe them
(connect: the cluster at the address, else a local one shaped like the platform, which the endpoint stops when it
drains); nodes that join or leave reach the endpoint's engine as NodeJoined / NodeLost. The engine still places every
invocation on a node; ClusterPool, the endpoint's pool for such a site, sends each placed call to that node through
the executor (one Ray task or one call of the worker's Runner actor, pinned there), running faas/warmcache.py's
invoke, which says cold or warm where it happens. A lease holds its resources in the engine as on the local backend;
its calls are hot: they run one at a time on the lease's node, the worker pinned for it.

Threads: the executor's methods are called from one thread of ClusterSite's own (as a Session's driver calls them);
the pool lives in the endpoint's event loop and hears of outcomes and node changes through it.

Worker deaths: a call whose node is lost is re-queued by the engine (which cancels it here: reported lost, so the
service runs it again once, elsewhere); a call lost while its node lives on (a Ray worker process killed, or a Dask
worker whose loss the scheduler has not told yet) is reported lost after SUSPECT_S unless its node is lost meanwhile.
Ray's own retries are off (the executor submits with max_retries=0): hetflow decides what runs again.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import socket
import threading
import time
from collections import deque
from collections.abc import Callable

from hetflow.errors import HetflowError, SpecError
from hetflow.executors import CANCELLED, DONE, LOST, TIMEOUT, Executor, Outcome, TaskRun, make_executor
from hetflow.executors.api import NodeChange
from hetflow.faas.pool import COLD, HOT, MAX_RESULT, Call, WarmPool, WorkerProc
from hetflow.faas.worker import failure
from hetflow.runtime.configure import connected
from hetflow.spec.platform import Platform
from hetflow.spec.resources import GpuGrant

INVOKE = "hetflow.faas.warmcache:invoke"
SUSPECT_S = {"dask": 3.0, "ray": 1.5}  # a lost call waits this long for its node's loss (a refresh and a half)
log = logging.getLogger("hetflow")


class ClusterSite:
    """A cluster behind an endpoint: hetflow's executor for it, driven from a thread of its own once started."""

    def __init__(self, backend: str, address: str | None) -> None:
        self.backend = backend
        self.address = address
        self.executor: Executor = make_executor(backend, address=address)
        self.alive: set[str] = set()  # the site's nodes alive now
        self.lost: set[str] = set()  # nodes lost now (the thread adds, a join takes away)
        self.failure = ""  # why the executor broke (then nothing runs on the cluster any more)
        self._lock = threading.Lock()
        self._runs: list[TaskRun] = []
        self._cancels: list[int] = []
        self._changes: list[NodeChange] = []
        self._stop = False
        self._thread: threading.Thread | None = None
        self._closed = False

    def connect(self, shape: Platform) -> Platform:
        """The cluster's nodes as a platform (started shaped like `shape` when there is no address). A cluster that
        cannot be reached is one line of bad input (not a wait of minutes)."""
        if self.address is not None and self.backend == "dask":
            reachable(self.address)
        try:
            platform = connected(self.executor, shape)
        except (HetflowError, KeyboardInterrupt):
            raise
        except Exception as exc:
            raise SpecError(f"cannot use the {self.backend} cluster at {self.address}: {exc}", place="--address",
                            fix="check the address, and that hetflow runs on its workers") from None  # fmt: skip
        self.alive = {n.name for n in platform.nodes()}
        return platform

    def start(
        self,
        loop: asyncio.AbstractEventLoop,
        deliver: Callable[[list[Outcome], list[NodeChange]], None],
        wake: Callable[[], None],
    ) -> None:
        """Drive the executor from now on: deliver(outcomes, node changes) runs in loop (with no outcome and no
        change once it broke: see failure); wake() tells the endpoint's driver that changes() has news."""
        self.executor.start([])  # the cluster executors check that they are connected
        self._thread = threading.Thread(
            target=self._main, args=(loop, deliver, wake), name="hetflow-cluster", daemon=True
        )
        self._thread.start()

    def submit(self, run: TaskRun) -> None:
        with self._lock:
            self._runs.append(run)
        self.executor.wake()

    def cancel(self, key: int) -> None:
        with self._lock:
            self._cancels.append(key)
        self.executor.wake()

    def changes(self) -> list[NodeChange]:
        with self._lock:
            out, self._changes = self._changes, []
        return out

    def close(self) -> None:
        """Stop the thread and let go of the cluster (a cluster started for the endpoint stops)."""
        if self._closed:
            return
        self._closed = True
        if self._thread is None:
            self.executor.close()
            return
        with self._lock:
            self._stop = True
        self.executor.wake()
        self._thread.join()

    def _main(
        self,
        loop: asyncio.AbstractEventLoop,
        deliver: Callable[[list[Outcome], list[NodeChange]], None],
        wake: Callable[[], None],
    ) -> None:
        ex = self.executor
        changes_of: Callable[[], list[NodeChange]] | None = getattr(ex, "changes", None)
        try:
            while True:
                with self._lock:
                    runs, self._runs = self._runs, []
                    cancels, self._cancels = self._cancels, []
                    if self._stop:
                        break
                if runs:
                    ex.submit(runs)
                for key in cancels:
                    ex.cancel(key)
                outcomes = ex.poll(None)
                changes = changes_of() if changes_of is not None else []
                if changes:
                    with self._lock:
                        for c in changes:
                            if c.node is None:
                                self.lost.add(c.name)
                                self.alive.discard(c.name)
                            else:
                                self.lost.discard(c.name)
                                self.alive.add(c.name)
                        self._changes.extend(changes)
                    wake()
                if outcomes or changes:
                    loop.call_soon_threadsafe(deliver, outcomes, changes)
        except Exception as exc:  # the cluster's client broke: what runs there is lost with it
            log.exception("the %s cluster's executor failed", self.backend)
            self.failure = f"the {self.backend} cluster's executor failed: {type(exc).__name__}: {exc}"
            loop.call_soon_threadsafe(deliver, [], [])
        finally:
            ex.close()


class ClusterSlot(WorkerProc):
    """A lease's pinned worker on a cluster: the lease's node, which runs its calls one at a time. No process of
    the endpoint's own: pid is the process that ran its last call there (0 before the first)."""

    def __init__(self, pool: ClusterPool, node: str, grant: GpuGrant) -> None:  # no WorkerProc.__init__: no process
        self.cluster = pool
        self.node = node
        self.grant = grant
        self.home = None
        self.call: Call | None = None
        self.queue: deque[Call] = deque()
        self.stopping = ""
        self.ran_in = 0

    @property
    def pid(self) -> int:
        return self.ran_in

    def kill(self, why: str) -> None:
        self.cluster.unpin(self, why)


class ClusterPool(WarmPool):
    """The pool of an endpoint whose site is a cluster: each call goes to the node the engine chose, through the
    site's executor; hot calls to their lease's node."""

    def __init__(
        self,
        site: ClusterSite,
        keep_warm: float,
        max_workers: int,
        ended: Callable[[Call, str, bool, float, float, bytes], None],
        failed: Callable[[Call, str, str], None],
        unpinned: Callable[[WorkerProc], None],
        max_result: int = MAX_RESULT,
    ) -> None:
        super().__init__(keep_warm, max_workers, ended, failed, unpinned, max_result)
        self.site = site
        self.calls: dict[int, tuple[Call, ClusterSlot | None]] = {}  # in flight on the cluster, by key
        self.slots: set[ClusterSlot] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, wake: Callable[[], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self.site.start(self._loop, self._deliver, wake)

    def changes(self) -> list[NodeChange]:
        return self.site.changes()

    # ---- calls ----------------------------------------------------------------------------------------------------
    def run(self, call: Call) -> None:
        call.kind = COLD  # until the worker says warm
        self._send(call, call.node, call.grant, None)

    def run_on(self, w: WorkerProc, call: Call) -> None:
        call.kind = HOT
        assert isinstance(w, ClusterSlot)
        if w.node in self.site.lost:
            self.on_failed(call, "lost", f"the lease's node {w.node} was lost")
        elif w.call is None:
            w.call = call
            self._send(call, w.node, w.grant, w)
        else:
            w.queue.append(call)

    def _send(self, call: Call, node: str, grant: GpuGrant, slot: ClusterSlot | None) -> None:
        if self.site.failure:
            self._cannot_run(call, self.site.failure)
            return
        self.calls[call.key] = (call, slot)
        kind, data = call.definition
        args = (call.fid, kind, data, call.fmt, call.payload, self.keep_warm)
        self.site.submit(TaskRun(call.key, f"invocation-{call.key}", node, 0, grant, INVOKE, args,
                                 timeout=call.timeout))  # fmt: skip

    def cancel(self, call: Call, why: str) -> bool:
        for w in self.slots:
            if call in w.queue:
                w.queue.remove(call)
                self.on_failed(call, "cancelled", why)
                return True
        entry = self.calls.pop(call.key, None)
        if entry is None or entry[0] is not call:
            return False
        self.site.cancel(call.key)
        node = entry[1].node if entry[1] is not None else call.node
        if node in self.site.lost:  # the engine re-queued it with its node: not its fault, it runs again once
            self.on_failed(call, "lost", f"its node {node} was lost")
        else:
            self.on_failed(call, "cancelled", why)
        self._next(entry[1])
        return True

    async def pinned(self, env: dict[str, str], node: str = "", grant: GpuGrant = ()) -> WorkerProc:
        slot = ClusterSlot(self, node, grant)
        self.slots.add(slot)
        return slot

    def unpin(self, w: WorkerProc, why: str) -> None:
        assert isinstance(w, ClusterSlot)
        self.slots.discard(w)
        w.stopping = w.stopping or why
        while w.queue:
            self.on_failed(w.queue.popleft(), "cancelled", why)
        if w.call is not None:
            self.cancel(w.call, why)

    # ---- what the cluster said ------------------------------------------------------------------------------------
    def _deliver(self, outcomes: list[Outcome], changes: list[NodeChange]) -> None:
        if self.site.failure:
            for call, _ in list(self.calls.values()):
                del self.calls[call.key]
                self._cannot_run(call, self.site.failure)
            return
        for c in changes:
            if c.node is None:
                log.warning("node %s of the %s cluster lost", c.name, self.site.backend)
                for call, slot in list(self.calls.values()):
                    if slot is not None and slot.node == c.name:  # hot: the engine does not know it ran there
                        self.cancel(call, "lost")
        for o in outcomes:
            entry = self.calls.get(o.key)
            if entry is None:
                continue  # cancelled here before it ended
            call, slot = entry
            if o.status == LOST:
                assert self._loop is not None
                self._loop.call_later(SUSPECT_S.get(self.site.backend, 2.0), self._suspect, call, o.error)
                continue
            del self.calls[o.key]
            if o.status == DONE:
                try:
                    ok, kind, started, ended, body, pid = pickle.loads(o.value or b"")
                except Exception as exc:
                    self._cannot_run(call, f"the cluster's answer could not be read: {exc}")
                else:
                    if slot is not None:
                        kind, slot.ran_in = HOT, pid
                    elif kind == COLD:
                        self.cold_starts += 1
                    call.kind = kind
                    if len(body) > self.max_result:  # already here (the cluster carried it): not kept
                        self.on_failed(call, "failed", f"its result of {len(body)} bytes is over the endpoint's "
                                       f"limit of {self.max_result} (--max-result)")  # fmt: skip
                    else:
                        self.on_ended(call, kind, bool(ok), started, ended, body)
            elif o.status == TIMEOUT:
                self.on_failed(call, "timeout", f"timed out after {call.timeout:g} s")
            elif o.status == CANCELLED:
                self.on_failed(call, "cancelled", o.error or "cancelled")
            else:
                self._cannot_run(call, f"it could not run on the cluster: {o.error}")
            self._next(slot)

    def _cannot_run(self, call: Call, why: str) -> None:
        """A call the cluster could not run (hetflow missing on its workers, the executor broken): failed, with
        RuntimeError(why) as its exception, as a function that raised."""
        t = time.time()
        self.on_ended(call, call.kind, False, t, t, failure(RuntimeError(why), call.fmt))

    def _suspect(self, call: Call, error: str) -> None:
        """A call lost while its node lived on: if no node loss took it meanwhile, its worker died (a fresh one on
        the node runs it again)."""
        entry = self.calls.get(call.key)
        if entry is None or entry[0] is not call:
            return
        if entry[1] is None and call.node in self.site.lost:
            return  # the engine heard of the node's loss: its cancel comes
        del self.calls[call.key]
        self.on_failed(call, "lost", error or "its worker died")
        self._next(entry[1])

    def _next(self, slot: ClusterSlot | None) -> None:
        """A lease's call ended: the next one queued on its slot goes."""
        if slot is None:
            return
        slot.call = None
        if slot.queue and slot in self.slots:
            self.run_on(slot, slot.queue.popleft())

    # ---- looking at it, stopping ----------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        hot = sum(1 for _, slot in self.calls.values() if slot is not None)
        return {
            "workers": len(self.site.alive), "idle": 0, "pinned": len(self.slots), "busy": len(self.calls) - hot,
            "waiting": sum(len(w.queue) for w in self.slots), "cold_starts": self.cold_starts,
        }  # fmt: skip

    def close(self) -> None:
        self.closed = True
        self.site.close()


def reachable(address: str) -> None:
    """Fail in one line, at once, when nothing listens at a Dask scheduler's address (tcp://HOST:PORT or HOST:PORT);
    the client would try for 30 s."""
    rest = address.split("://", 1)[-1]
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise SpecError(f"{address!r} is not the address of a Dask scheduler", place="--address",
                        fix="give tcp://HOST:PORT (the scheduler prints it; 8786 by default)")  # fmt: skip
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except OSError as exc:
        raise SpecError(f"no Dask scheduler answers at {address} ({exc.strerror or exc})", place="--address",
                        fix="start one, or check the address") from None  # fmt: skip
