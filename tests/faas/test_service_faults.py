"""The endpoint's service in a loop, with real worker processes: a run the pool cannot take fails alone (the
endpoint goes on), a lease whose hold cannot be handed over is refused at once, and a batch cannot go past
--max-pending."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from hetflow.executors.api import TaskRun
from hetflow.faas.leases import Leases
from hetflow.faas.model import Invocation, Refused, new_id
from hetflow.faas.pool import Call, WarmPool
from hetflow.faas.service import Service
from hetflow.faas.store import Store
from hetflow.spec.load import load_platform

PLATFORM = {"platform": "faults", "nodes": [{"type": "cpu", "count": 1, "cores": 2, "memory": "2GiB"}]}


class FlakyPool(WarmPool):
    """A warm pool whose first run() raises, as Popen does when no file descriptors are left."""

    broken = 1

    def run(self, call: Call) -> None:
        if FlakyPool.broken:
            FlakyPool.broken -= 1
            raise OSError(24, "Too many open files")
        super().run(call)


def call(svc: Service, ref: str, *args: object) -> Invocation:
    fn = svc.register("ref", ref.encode())
    return Invocation(new_id(), fn.fid, "json", json.dumps({"args": list(args), "kwargs": {}}).encode())


def square(svc: Service, x: int) -> Invocation:
    return call(svc, "tests.faas.functions:square", x)


async def ended(svc: Service, inv: Invocation) -> Invocation:
    done: asyncio.Future[Invocation] = asyncio.get_running_loop().create_future()
    svc.watch(inv.id, lambda i: done.done() or done.set_result(i))
    return await asyncio.wait_for(done, 30)


def in_a_loop(
    body: Callable[[Service], Awaitable[None]], pools: type[WarmPool] = WarmPool, workers: int = 2, cores: int = 2
) -> None:
    async def main() -> None:
        shape = {**PLATFORM, "nodes": [{"type": "cpu", "count": 1, "cores": cores, "memory": "2GiB"}]}
        svc = Service(load_platform(shape), Store(None), 5.0, workers, 60.0, pools)
        svc.start()
        try:
            await body(svc)
        finally:
            await svc.drain(10.0)

    asyncio.run(asyncio.wait_for(main(), 60))


def test_a_run_the_pool_cannot_take_fails_alone() -> None:
    async def body(svc: Service) -> None:
        first, second = square(svc, 3), square(svc, 4)
        svc.accept([first])
        got = await ended(svc, first)
        assert got.result is not None and got.result.status == "failed"
        assert "Too many open files" in got.result.error
        svc.accept([second])  # the endpoint goes on, and the failed run's core went back
        got = await ended(svc, second)
        assert got.result is not None and (got.result.status, json.loads(got.result.value)) == ("done", 16)
        assert svc.pending == 0 and svc.session is not None
        assert svc.session.capacity()[0]["free_cores"] == 2

    FlakyPool.broken = 1
    in_a_loop(body, FlakyPool)


def test_a_call_cancelled_while_its_worker_starts_is_never_sent(tmp_path: Path) -> None:
    async def body(svc: Service) -> None:
        first = call(svc, "tests.faas.multisite_tasks:slow_square", 7, str(tmp_path), 0.0)
        svc.accept([first])  # its cold worker starts in a task of the loop, after this turn
        svc.cancel(first.id)
        got = await ended(svc, first)
        assert got.result is not None and got.result.status == "cancelled"
        after = call(svc, "tests.faas.multisite_tasks:slow_square", 8, str(tmp_path), 0.0)
        svc.accept([after])  # one worker at most: it runs after anything sent to that worker
        got = await ended(svc, after)
        assert got.result is not None and (got.result.status, got.result.kind) == ("done", "warm")
        assert [f.name.split(".")[0] for f in tmp_path.iterdir()] == ["8"]  # the cancelled call never ran
        assert svc.pool.cold_starts == 1 and svc.pending == 0

    in_a_loop(body, workers=1)


def test_a_lease_whose_hold_cannot_be_handed_over_is_refused_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    placed = Leases.placed
    broken = [1]

    def flaky(self: Leases, run: TaskRun) -> None:
        if broken[0]:
            broken[0] -= 1
            raise OSError(24, "Too many open files")
        placed(self, run)

    monkeypatch.setattr(Leases, "placed", flaky)

    async def body(svc: Service) -> None:
        with pytest.raises(Refused) as info:
            await svc.leases.create(1, 0.0, 0, 30.0)
        assert info.value.status == 503 and "Too many open files" in str(info.value)  # not "taken meanwhile"
        assert not svc.leases.pending and svc.session is not None
        lease = await svc.leases.create(2, 0.0, 0, 30.0)  # the failed hold gave its core back
        assert lease.id in svc.leases.held
        svc.leases.end(lease.id, "test over")

    in_a_loop(body)
