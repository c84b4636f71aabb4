"""The endpoint's service: functions, invocations, results and leases, in the event loop. The HTTP routes and the
fast channel are two doors into it.

Placement is the engine's: an invocation becomes a task set of one task (or a batch of them one set) submitted to the
endpoint's Session, whose driver places it and hands it back through the EndpointExecutor (bridge.py) to run on a
warm pool (pool.py); its end goes back to the engine, which frees its resources. A lease is a task that holds its
resources until it is released or expires (bridge.hold); calls on it run hot on its pinned worker, outside the
engine, inside what the lease holds.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from hetflow.errors import HetflowError
from hetflow.executors.api import CANCELLED, DONE, FAILED, LOST, Outcome, TaskRun, gpu_env, visible_devices
from hetflow.faas.bridge import EndpointExecutor
from hetflow.faas.leases import Leases
from hetflow.faas.model import Function, Invocation, Refused, Result
from hetflow.faas.openapi import MAX_SECONDS
from hetflow.faas.pool import MAX_RESULT, Call, WarmPool
from hetflow.faas.store import Store
from hetflow.runtime.session import Session
from hetflow.runtime.task import TaskFunction, TaskOptions
from hetflow.spec.platform import Platform
from hetflow.spec.resources import GPU_UNIT

log = logging.getLogger("hetflow")
REFERENCE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*", re.ASCII)  # fullmatch, as the schema's pattern
IDENT = re.compile(r"[0-9a-f]{32}")
HOT_KEYS = 1 << 62  # keys of hot calls (outside the engine's, which count from 1)


class Service:
    """One endpoint's state. Start it inside the running loop (start()); drain() ends it."""

    def __init__(
        self, platform: Platform, store: Store, keep_warm: float, max_workers: int, ttl: float,
        pools: Callable[..., WarmPool] = WarmPool,  # the pool's kind: ClusterPool for a Dask or Ray site
        max_result: int = MAX_RESULT,
    ) -> None:  # fmt: skip
        self.platform = platform
        self.store = store
        self.ttl = ttl
        self.functions: dict[str, Function] = {}
        self.invocations: dict[str, Invocation] = {}
        self.running: dict[int, Invocation] = {}  # by call key
        self.leases = Leases(self)
        self.pool = pools(keep_warm, max_workers, self._ended, self._failed, self.leases.unpinned, max_result)
        self.draining = False
        self.max_pending = 0  # invocations accepted and not ended at most (0: no bound): more are refused, 503
        self.pending = 0
        self.started_at = time.time()
        self._hot = HOT_KEYS
        self._tasks: dict[tuple[str, int, float, int, float | None], TaskFunction] = {}
        self.physical = visible_devices()  # the GPUs this endpoint was given (CUDA_VISIBLE_DEVICES)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.executor: EndpointExecutor | None = None
        self.session: Session | None = None
        self._expiry: asyncio.TimerHandle | None = None

    # ---- lifecycle ------------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.executor = EndpointExecutor(self.loop, self._placed, self.leases.placed, self._cancelled, self.pool,
                                         self._unhanded)  # fmt: skip
        from hetflow.discover.nodes import with_local_features  # this machine describes the nodes it serves

        self.session = Session(platform=with_local_features(self.platform), executor=self.executor).start()
        for fid, name, kind, data in self.store.functions():
            self.functions[fid] = Function(fid, name, kind, bytes(data))
        self._recover()
        self._expiry = self.loop.call_later(min(60.0, self.ttl), self._expire)

    def _recover(self) -> None:
        """After a restart on the same journal: results not fetched yet are there again; what was accepted and had
        not ended runs again (once), unless it had started twice or was a lease's: then it is reported lost."""
        for ident, fid, fmt, value, summary in self.store.results():
            s = json.loads(summary)
            inv = Invocation(ident, fid, fmt, b"")
            inv.result = Result(s["status"], s["kind"], bytes(value or b""), s["error"], s["timings"], s["node"],
                                s["worker"], time.monotonic())  # fmt: skip
            self.invocations[ident] = inv
        again: list[Invocation] = []
        for row in self.store.unfinished():
            ident, fid, fmt, payload, cores, gpus, memory, timeout, lease, received, attempts = row
            inv = Invocation(ident, fid, fmt, bytes(payload or b""), cores, gpus, memory, timeout, None, received,
                             attempts=attempts)  # fmt: skip
            self.invocations[ident] = inv
            self.pending += 1
            if lease is not None or attempts >= 2 or fid not in self.functions:
                why = "its lease ended when the endpoint stopped" if lease else "the endpoint stopped while it ran"
                self._finish(inv, Result(LOST, "", why.encode(), why, self._times(inv)))
            else:
                inv.attempts = max(attempts, 1)  # the run the stop cut short counts: a second stop reports it lost
                self.store.started(ident, inv.attempts)
                again.append(inv)
        if again:
            log.info("%d invocations accepted before a restart run again", len(again))
            self._submit(again)

    async def drain(self, timeout: float) -> None:
        """Stop taking work, let what was accepted end (up to timeout s), then stop the workers and the session."""
        self.draining = True
        end = time.monotonic() + timeout
        while time.monotonic() < end and any(i.result is None for i in self.invocations.values()):
            await asyncio.sleep(0.02)
        await self.leases.close()
        if self._expiry is not None:
            self._expiry.cancel()
        if self.session is not None:
            await asyncio.get_running_loop().run_in_executor(None, lambda: self.session.close(cancel=True))  # type: ignore[union-attr]
        self.pool.close()
        self.store.close()

    # ---- functions ------------------------------------------------------------------------------------------------
    def register(self, kind: str, data: bytes, name: str = "") -> Function:
        """A function by reference ("module:name") or pickled by value; its id is the hash of that, so registering
        it again is free and names the same function."""
        if kind == "ref":
            text = data.decode("utf-8", "replace")
            if not REFERENCE.fullmatch(text):
                raise Refused(400, f"bad function reference {text[:80]!r}: give module:name")
            name = name or text
        elif kind != "pickle" or not data:
            raise Refused(400, "a function is registered by reference ('ref') or pickled ('pickle')")
        fid = hashlib.sha256(kind.encode() + b"\0" + data).hexdigest()[:32]
        fn = self.functions.get(fid)
        if fn is None:
            fn = self.functions[fid] = Function(fid, name[:200] or fid, kind, data)
            self.store.add_function(fid, fn.name, kind, data)
        return fn

    # ---- invocations ----------------------------------------------------------------------------------------------
    def check(self, inv: Invocation, ahead: int = 0) -> None:
        """Refused unless the invocation can be taken: a known function, resources that fit a node, a live lease;
        ahead: invocations of its batch checked before it and not accepted yet (they count for --max-pending)."""
        if not IDENT.fullmatch(inv.id):
            raise Refused(400, "an invocation id is 32 hexadecimal digits")
        if inv.id in self.invocations:
            return  # sent again after a reconnect (even while draining): not run again, its result comes
        if self.draining:
            raise Refused(503, "the endpoint is stopping")
        if self.max_pending and self.pending + ahead >= self.max_pending:
            raise Refused(503, f"busy: {self.pending + ahead} invocations wait or run here (--max-pending)")
        if inv.fid not in self.functions:
            raise Refused(404, f"unknown function {inv.fid[:40]!r}: register it first")
        if inv.fmt not in ("pickle", "json", "buffers"):  # buffers: pickle with out-of-band buffers (worker.py)
            raise Refused(400, "payload format is 'pickle', 'json' or 'buffers'")
        if inv.lease is not None:
            if self.leases.get(inv.lease) is None:
                raise Refused(404, f"lease {inv.lease[:40]!r} is not held (released, expired or unknown)")
            return
        if not self.session_fits(inv.cores, inv.gpus, inv.memory):
            raise Refused(409, f"{inv.cores} cores, {inv.gpus:g} GPUs and {inv.memory} bytes fit no node here")
        if inv.timeout is not None and not 0 < inv.timeout <= MAX_SECONDS:
            raise Refused(400, f"timeout must be > 0 and at most {MAX_SECONDS:g} seconds")
        try:
            self._task((inv.fid, inv.cores, inv.gpus, inv.memory, inv.timeout))
        except HetflowError as exc:
            raise Refused(409, str(exc)) from None

    def session_fits(self, cores: int, gpus: float, memory: int) -> bool:
        if cores < 0 or gpus < 0 or memory < 0 or (gpus > 1 and gpus != int(gpus)):
            return False
        return any(
            n.cores >= cores and n.gpu_units >= gpus * GPU_UNIT and (not n.memory or n.memory >= memory)
            for n in self.platform.nodes()
        )

    def accept(self, invs: list[Invocation]) -> None:
        """Take checked invocations: record them, then hand them to the engine (or to their lease's worker). An id
        seen before is not run again (a client that sends again after a reconnect)."""
        now = time.time()
        new = []
        for inv in invs:
            if inv.id in self.invocations:
                continue
            inv.received = inv.received or now
            self.invocations[inv.id] = inv
            new.append(inv)
        if not new:
            return
        self.pending += len(new)
        self.store.accept(i.row() for i in new)
        self._submit(new)

    def _submit(self, invs: list[Invocation]) -> None:
        assert self.session is not None
        groups: dict[tuple[str, int, float, int, float | None], list[Invocation]] = {}
        now = time.time()
        for inv in invs:
            inv.queued = now
            if inv.lease is not None:
                self.leases.run(inv)
            else:
                groups.setdefault((inv.fid, inv.cores, inv.gpus, inv.memory, inv.timeout), []).append(inv)
        for shape, members in groups.items():
            try:
                task = self._task(shape)
                if len(members) == 1:
                    futures = [self.session.submit(task, members[0].id)]
                else:
                    futures = self.session.map(task, [m.id for m in members])
                for m, f in zip(members, futures, strict=True):
                    m.task = (f.set, f.index)
            except HetflowError as exc:  # the session stopped, or a journal's invocation no longer fits
                for m in members:
                    self._finish(m, Result(CANCELLED, "", str(exc).encode(), str(exc), self._times(m)))

    def _task(self, shape: tuple[str, int, float, int, float | None]) -> TaskFunction:
        """The task the engine places for invocations of one function and shape (made once, then reused)."""
        task = self._tasks.get(shape)
        if task is None:
            fid, cores, gpus, memory, timeout = shape
            name = re.sub(r"[^\w.-]", "_", self.functions[fid].name.rsplit(":", 1)[-1])[:40] or "call"
            opts = TaskOptions.of(cores, gpus, memory, timeout=timeout, name=name)
            task = self._tasks[shape] = TaskFunction(invoke, opts)
        return task

    def cancel(self, ident: str) -> Invocation:
        """Stop an invocation: one that waits leaves the engine's queue (its result: cancelled, now); one that runs
        is cancelled through the engine, which stops its call: its worker is killed (a fresh one starts when one is
        needed) and its result, cancelled, follows."""
        inv = self.invocations.get(ident)
        if inv is None:
            raise Refused(404, "unknown invocation (never accepted, or its result was fetched or expired)")
        if inv.result is not None:
            raise Refused(409, f"the invocation has ended ({inv.result.status})")
        if inv.lease is not None or inv.task is None:
            raise Refused(409, "a call on a lease stops when the lease is released")
        assert self.session is not None
        self.session.cancel(*inv.task)
        if inv.call is None:  # not placed yet: if the engine places it meanwhile, _placed ends it at once
            self._finish(inv, Result(CANCELLED, "", b"cancelled", "cancelled", self._times(inv)))
        return inv

    def _placed(self, run: TaskRun) -> None:
        """The engine placed an invocation (driver thread -> loop): run it on the warm pool."""
        assert self.executor is not None
        inv = self.invocations.get(str(run.args[0])) if run.args else None
        if inv is None or inv.result is not None:
            self.executor.report(Outcome(run.key, DONE, time.time(), time.time()))
            return
        inv.attempts += 1
        if inv.attempts > 1:
            self.store.started(inv.id, inv.attempts)
        node = self.executor.nodes.get(run.node)
        env = gpu_env(run.gpus, node is not None and node.gpu_units > 0, self.physical)
        fn = self.functions[inv.fid]
        inv.node = run.node
        inv.call = Call(run.key, inv.fid, fn.definition, inv.fmt[:1].encode(), inv.payload, env, inv.timeout,
                        node=run.node, grant=run.gpus)  # fmt: skip
        self.running[run.key] = inv
        self.pool.run(inv.call)

    def _unhanded(self, run: TaskRun, error: str) -> None:
        """The placed invocation could not be handed to the pool (the executor reported it failed): it ends so."""
        if self.leases.unhanded(run, error):
            return
        inv = self.running.pop(run.key, None)
        if inv is None and run.args:
            inv = self.invocations.get(str(run.args[0]))
        if inv is not None and inv.result is None:
            self._finish(inv, Result("failed", "", error.encode(), error, self._times(inv), run.node))

    def hot_call(self, inv: Invocation) -> Call:
        """A call for a lease's worker (its key outside the engine's)."""
        self._hot += 1
        fn = self.functions[inv.fid]
        inv.attempts += 1
        inv.call = Call(self._hot, inv.fid, fn.definition, inv.fmt[:1].encode(), inv.payload, {}, inv.timeout)
        self.running[self._hot] = inv
        return inv.call

    def _cancelled(self, key: int) -> None:
        inv = self.running.get(key)
        if inv is not None and inv.call is not None and not self.pool.cancel(inv.call, "cancelled"):
            self._failed(inv.call, "cancelled", "cancelled")

    def _ended(self, call: Call, kind: str, ok: bool, started: float, ended: float, body: bytes) -> None:
        inv = self.running.pop(call.key, None)
        if inv is None:
            return
        times = self._times(inv, started, ended)
        error = "" if ok else "the function raised an exception"
        self._finish(inv, Result(DONE if ok else "failed", kind, body, error, times, inv.node, 0))
        if call.key < HOT_KEYS and self.executor is not None:  # after the answer left: the driver's step waits
            self.executor.report(Outcome(call.key, DONE if ok else FAILED, started, ended))

    def _failed(self, call: Call, status: str, error: str) -> None:
        inv = self.running.pop(call.key, None)
        if inv is None:
            return
        hot = call.key >= HOT_KEYS
        if status == "lost" and inv.attempts < 2:
            log.info("invocation %s: %s; it runs again on a fresh worker", inv.id, error)
            if hot:
                self.leases.run(inv)  # on the lease's fresh pinned worker
                return
            if self.executor is not None:
                inv.call, inv.node = None, ""  # queued again until placed: a cancel meanwhile ends it at once
                self.executor.report(Outcome(call.key, LOST, time.time(), time.time(), error=error))
                return  # the driver places it again
        if not hot and self.executor is not None:
            self.executor.report(Outcome(call.key, FAILED if status == LOST else status, 0.0, 0.0,
                                         error=error))  # fmt: skip
        if status == "lost" and inv.attempts >= 2:
            error = f"{error} (twice: not run again)"
        kind = "" if status == "failed" else call.kind  # failed here, not raised by the function: the value is text
        self._finish(inv, Result(status, kind, error.encode(), error, self._times(inv), inv.node))

    def _times(self, inv: Invocation, started: float = 0.0, ended: float = 0.0) -> dict[str, float]:
        return {"received": inv.received, "queued": inv.queued, "started": started, "ended": ended}

    def _finish(self, inv: Invocation, result: Result) -> None:
        if inv.result is None:
            self.pending -= 1
        result.at = time.monotonic()
        inv.result = result
        inv.payload = b""
        inv.call = None
        self.store.finish(inv.id, result.status, result.summary(), result.value)
        waiters, inv.waiters = inv.waiters, []
        for w in waiters:
            w(inv)

    def watch(self, ident: str, waiter: Callable[[Invocation], None]) -> bool:
        """Call waiter(inv) when the invocation has a result (now, when it has one); False for an unknown id."""
        inv = self.invocations.get(ident)
        if inv is None:
            return False
        if inv.result is not None:
            waiter(inv)
        else:
            inv.waiters.append(waiter)
        return True

    def unwatch(self, ident: str, waiter: Callable[[Invocation], None]) -> None:
        """The one waiting went away (timed out, disconnected): it is not kept until the invocation ends."""
        inv = self.invocations.get(ident)
        if inv is not None and waiter in inv.waiters:
            inv.waiters.remove(waiter)

    def waiting(self) -> int:
        """Waiters kept now (long polls and channel connections waiting for a result)."""
        return sum(len(inv.waiters) for inv in self.invocations.values())

    def forget(self, ids: list[str]) -> None:
        """Results fetched: the endpoint drops them."""
        gone = [i for i in ids if (inv := self.invocations.get(i)) is not None and inv.result is not None]
        for i in gone:
            del self.invocations[i]
        if gone:
            self.store.forget(gone)

    def _expire(self) -> None:
        limit = time.monotonic() - self.ttl
        self.forget([i for i, inv in self.invocations.items() if inv.result is not None and inv.result.at < limit])
        assert self.loop is not None
        self._expiry = self.loop.call_later(min(60.0, self.ttl), self._expire)

    # ---- looking at it --------------------------------------------------------------------------------------------
    def resources(self) -> dict[str, Any]:
        assert self.session is not None
        pending = sum(1 for i in self.invocations.values() if i.result is None)
        return {
            "platform": self.platform.name,
            "nodes": self.session.capacity(),
            "load": {"invocations": pending, "running": len(self.running), "leases": len(self.leases.held),
                     "waiters": self.waiting(), **self.pool.counts()},
        }  # fmt: skip


def invoke(ident: str) -> None:
    """What the engine is told an invocation runs (the endpoint's workers run the registered function instead)."""
    raise RuntimeError(f"invocation {ident} runs on the endpoint's warm pool")
