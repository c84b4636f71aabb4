"""The endpoint's service in a loop, with real worker processes: a run the pool cannot take fails alone (the
endpoint goes on), and a batch cannot go past --max-pending."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from hetflow.faas.model import Invocation, new_id
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


def square(svc: Service, x: int) -> Invocation:
    fn = svc.register("ref", b"tests.faas.functions:square")
    return Invocation(new_id(), fn.fid, "json", json.dumps({"args": [x], "kwargs": {}}).encode())


async def ended(svc: Service, inv: Invocation) -> Invocation:
    done: asyncio.Future[Invocation] = asyncio.get_running_loop().create_future()
    svc.watch(inv.id, lambda i: done.done() or done.set_result(i))
    return await asyncio.wait_for(done, 30)


def in_a_loop(body: Callable[[Service], Awaitable[None]], pools: type[WarmPool] = WarmPool) -> None:
    async def main() -> None:
        svc = Service(load_platform(PLATFORM), Store(None), 5.0, 2, 60.0, pools)
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
