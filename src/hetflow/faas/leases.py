"""Leases, as in rFaaS: resources reserved on the endpoint for a while, with a worker kept hot for them.

A lease is a task of the endpoint's Session whose run holds its cores, GPUs and memory in the engine (bridge.hold)
until it is released or expires: other invocations cannot use them meanwhile, and the engine decided where it went.
A lease that cannot be granted now is refused at once with the reason, never queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from hetflow.errors import SpecError
from hetflow.executors.api import DONE, Outcome, TaskRun, gpu_env, visible_devices
from hetflow.faas.bridge import EndpointExecutor, hold
from hetflow.faas.model import Invocation, Refused
from hetflow.faas.openapi import MAX_LEASE_SECONDS
from hetflow.faas.pool import Call, WarmPool, WorkerProc
from hetflow.runtime.session import Session
from hetflow.runtime.task import TaskFunction, TaskOptions
from hetflow.spec.resources import GpuGrant

GRANT_WAIT_S = 5.0  # how long a lease that fitted may take to be placed before it is refused
MIN_LEASE_S = 1.0
MAX_LEASE_S = float(MAX_LEASE_SECONDS)


@dataclass(slots=True, eq=False)
class Lease:
    id: str
    cores: int
    gpus: float
    memory: int
    seconds: float
    expires: float = 0.0  # epoch seconds
    node: str = ""
    key: int = 0  # the key of the run that holds its resources
    worker: WorkerProc | None = None
    timer: asyncio.TimerHandle | None = None
    granted: asyncio.Future[None] | None = None
    env: dict[str, str] = field(default_factory=dict)  # its GPUs, for each worker pinned to it
    grant: GpuGrant = ()  # the same GPUs as the engine granted them (a cluster node maps them itself)
    backlog: list[Invocation] = field(default_factory=list)  # calls waiting while a fresh worker starts

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "cores": self.cores, "gpus": self.gpus, "memory": self.memory, "node": self.node,
                "seconds": self.seconds, "expires": self.expires,
                "worker": self.worker.pid if self.worker is not None else 0}  # fmt: skip


class Host(Protocol):
    """What leases need of the endpoint's service."""

    draining: bool
    session: Session | None
    executor: EndpointExecutor | None
    pool: WarmPool

    def session_fits(self, cores: int, gpus: float, memory: int) -> bool: ...

    def hot_call(self, inv: Invocation) -> Call: ...


class Leases:
    """The leases of one endpoint."""

    def __init__(self, service: Host) -> None:
        self.service = service
        self.held: dict[str, Lease] = {}
        self.pending: dict[str, Lease] = {}

    def get(self, ident: str) -> Lease | None:
        return self.held.get(ident)

    async def create(self, cores: int, gpus: float, memory: int, seconds: float) -> Lease:
        svc = self.service
        if svc.draining:
            raise Refused(503, "the endpoint is stopping")
        if not MIN_LEASE_S <= seconds <= MAX_LEASE_S:
            raise Refused(400, f"a lease lasts {MIN_LEASE_S:g} to {MAX_LEASE_S:g} seconds")
        try:
            opts = TaskOptions.of(cores, gpus, memory, name="lease")
        except SpecError as exc:
            raise Refused(409, exc.problem) from None
        if not svc.session_fits(cores, gpus, memory):
            raise Refused(409, f"{cores} cores, {gpus:g} GPUs and {memory} bytes are more than any node here has")
        why = self.why_not(cores, gpus, memory)
        if why:
            raise Refused(409, why)
        lease = Lease(secrets.token_hex(16), cores, gpus, memory, seconds)
        lease.granted = asyncio.get_running_loop().create_future()
        self.pending[lease.id] = lease
        assert svc.session is not None
        fut = svc.session.submit(TaskFunction(hold, opts), lease.id)
        try:
            await asyncio.wait_for(asyncio.shield(lease.granted), GRANT_WAIT_S)
        except TimeoutError:
            self.pending.pop(lease.id, None)
            svc.session.cancel(fut.set)
            raise Refused(409, "the resources were taken meanwhile: ask again") from None
        except Exception as exc:
            raise Refused(503, f"cannot start the lease's worker: {exc}") from None
        lease.expires = time.time() + seconds
        lease.timer = asyncio.get_running_loop().call_later(seconds, self.end, lease.id, "expired")
        self.held[lease.id] = lease
        return lease

    def why_not(self, cores: int, gpus: float, memory: int) -> str:
        """Why no node has the resources free now ("" when one has), from the engine's ledger."""
        assert self.service.session is not None
        nodes = self.service.session.capacity()
        for n in nodes:
            free = n["gpus_free"]
            whole = sum(1 for f in free if f >= 1.0) >= gpus
            gpu_ok = gpus == 0 or (whole if gpus >= 1 else max(free, default=0) >= gpus)
            mem_ok = n["free_memory"] is None or n["free_memory"] >= memory
            if n["free_cores"] >= cores and gpu_ok and mem_ok:
                return ""
        free_text = ", ".join(f"{n['name']}: {n['free_cores']} cores, {n['free_gpus']:g} GPUs" for n in nodes[:8])
        return f"no node has {cores} cores, {gpus:g} GPUs and {memory} bytes free now (free: {free_text})"

    def placed(self, run: TaskRun) -> None:
        """The engine placed a lease's hold (driver thread -> loop): start its pinned worker."""
        lease = self.pending.pop(str(run.args[0]), None) if run.args else None
        svc = self.service
        if lease is None or lease.granted is None or lease.granted.done():
            assert svc.executor is not None
            svc.executor.report(Outcome(run.key, DONE, time.time(), time.time()))
            return
        lease.key, lease.node, lease.grant = run.key, run.node, run.gpus
        node = svc.executor.nodes.get(run.node) if svc.executor is not None else None
        lease.env = gpu_env(run.gpus, node is not None and node.gpu_units > 0, visible_devices())
        asyncio.get_running_loop().create_task(self._pin(lease))

    def unhanded(self, run: TaskRun, error: str) -> bool:
        """A lease's hold that could not be handed over (its run failed in the engine): the lease is refused now
        with that reason, not after GRANT_WAIT_S as if taken meanwhile. False when run is not a pending lease's."""
        lease = self.pending.pop(str(run.args[0]), None) if run.args else None
        if lease is None:
            return False
        if lease.granted is not None and not lease.granted.done():
            lease.granted.set_exception(RuntimeError(error))
        return True

    async def _pin(self, lease: Lease) -> None:
        assert lease.granted is not None
        try:
            lease.worker = await self.service.pool.pinned(lease.env, lease.node, lease.grant)
        except Exception as exc:
            self._free(lease)
            lease.granted.set_exception(exc)
            return
        lease.granted.set_result(None)

    def run(self, inv: Invocation) -> None:
        """Run a call on its lease's worker (or once the lease has a fresh one)."""
        lease = self.held.get(inv.lease or "")
        if lease is not None and lease.worker is None:
            lease.backlog.append(inv)
            return
        call = self.service.hot_call(inv)
        if lease is None or lease.worker is None:
            self.service.pool.on_failed(call, "cancelled", "the lease ended")
            return
        self.service.pool.run_on(lease.worker, call)

    def unpinned(self, w: WorkerProc) -> None:
        """A lease's worker died on its own (kill -9, out of memory): pin a fresh one; calls wait for it."""
        lease = next((x for x in self.held.values() if x.worker is w), None)
        if lease is not None:
            lease.worker = None
            asyncio.get_running_loop().create_task(self._repin(lease))

    async def _repin(self, lease: Lease) -> None:
        try:
            w = await self.service.pool.pinned(lease.env, lease.node, lease.grant)
        except Exception:
            self.end(lease.id, "ended: no fresh worker could start")
            return
        if lease.id not in self.held:
            w.kill("the lease ended")
            return
        lease.worker = w
        waiting, lease.backlog = lease.backlog, []
        for inv in waiting:
            self.run(inv)

    def end(self, ident: str, why: str = "released") -> bool:
        """Release a lease (or let it expire): its worker goes, the engine gets its resources back."""
        lease = self.held.pop(ident, None)
        if lease is None:
            return False
        if lease.timer is not None:
            lease.timer.cancel()
        if lease.worker is not None:
            self.service.pool.unpin(lease.worker, f"the lease was {why}")
        for inv in lease.backlog:
            self.service.pool.on_failed(self.service.hot_call(inv), "cancelled", f"the lease was {why}")
        lease.backlog.clear()
        self._free(lease)
        return True

    def _free(self, lease: Lease) -> None:
        if lease.key and self.service.executor is not None:
            self.service.executor.report(Outcome(lease.key, DONE, time.time(), time.time()))
            lease.key = 0

    async def close(self) -> None:
        for ident in list(self.held):
            self.end(ident, "ended with the endpoint")
        for lease in self.pending.values():
            if lease.granted is not None and not lease.granted.done():
                with contextlib.suppress(asyncio.InvalidStateError):
                    lease.granted.cancel()
        self.pending.clear()
