"""The endpoint's executor: how the Session's driver, which decides placement with the engine, hands invocations
and leases to the event loop that runs them, and hears back when they ended (so that the engine frees their
resources). submit() and cancel() run in the driver thread and go over to the loop; report() comes from the loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from hetflow.executors.api import NodeChange, Outcome, TaskRun
from hetflow.spec.platform import Node


class Members(Protocol):
    """Where the site's nodes come from (the pool): a cluster's nodes join and leave, this machine's do not."""

    def attach(self, wake: Callable[[], None]) -> None: ...

    def changes(self) -> list[NodeChange]: ...


def hold(lease: str) -> None:
    """The task of a lease: it never runs. Its run holds the lease's resources in the engine until the lease ends."""
    raise RuntimeError(f"lease {lease} is held by the endpoint, not run")


class EndpointExecutor:
    """An Executor whose runs are placed invocations (TaskRun.args = (invocation id,)) and leases (fn is hold)."""

    name = "endpoint"

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        placed: Callable[[TaskRun], None],
        leased: Callable[[TaskRun], None],
        cancelled: Callable[[int], None],
        members: Members | None = None,
    ) -> None:
        self.loop = loop
        self.members = members
        self.placed = placed
        self.leased = leased
        self.cancelled = cancelled
        self.nodes: dict[str, Node] = {}
        self._cond = threading.Condition()
        self._out: list[Outcome] = []
        self._woken = False
        if members is not None:
            members.attach(self.wake)

    def changes(self) -> list[NodeChange]:
        """Nodes of the site that joined or left (the driver makes them NodeJoined / NodeLost)."""
        return self.members.changes() if self.members is not None else []

    def start(self, nodes: Sequence[Node]) -> None:
        self.nodes = {n.name: n for n in nodes}

    def submit(self, runs: Sequence[TaskRun]) -> None:
        for run in runs:
            self.loop.call_soon_threadsafe(self.leased if run.fn is hold else self.placed, run)

    def cancel(self, key: int) -> None:
        self.loop.call_soon_threadsafe(self.cancelled, key)

    def report(self, outcome: Outcome) -> None:
        """An execution ended (any thread): the driver hears of it at its next poll."""
        with self._cond:
            self._out.append(outcome)
            self._cond.notify()

    def poll(self, timeout: float | None) -> list[Outcome]:
        with self._cond:
            if not self._out and not self._woken:
                self._cond.wait(timeout)
            out, self._out = self._out, []
            self._woken = False
        return out

    def wake(self) -> None:
        with self._cond:
            self._woken = True
            self._cond.notify()

    def close(self) -> None:
        """The loop's pool owns the workers; it stops them when the endpoint drains."""
