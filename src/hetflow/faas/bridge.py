"""The endpoint's executor: how the Session's driver, which decides placement with the engine, hands invocations
and leases to the event loop that runs them, and hears back when they ended (so that the engine frees their
resources).

In the loop's thread the engine steps right there (Driver.step, given by bind_step()): a submission posted from the loop
(Session.submit -> wake()) is placed and its run handed to the pool within the same call, and an outcome reported
from the loop (report()) frees its resources (and places what waited for them) at once; the driver's thread sleeps
meanwhile and looks again only when the engine waits for a time or the run ends. From any other thread, submit() and
cancel() go over to the loop and report() to the driver's thread, as before."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from hetflow.executors.api import FAILED, NodeChange, Outcome, TaskRun
from hetflow.spec.platform import Node

log = logging.getLogger("hetflow")


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
        unhanded: Callable[[TaskRun, str], None] | None = None,
    ) -> None:
        self.loop = loop
        self.unhanded = unhanded  # a run that could not be handed over: its invocation fails
        self.members = members
        self.placed = placed
        self.leased = leased
        self.cancelled = cancelled
        self.nodes: dict[str, Node] = {}
        self._cond = threading.Condition()
        self._out: list[Outcome] = []
        self._woken = False
        self._thread = threading.get_ident()  # the loop's (made in it)
        self._step: Callable[[list[Outcome]], bool] | None = None
        self._local: list[Outcome] = []  # outcomes reported in the loop's thread, for its next step
        self._stepping = False
        self._again = False
        if members is not None:
            members.attach(self.wake)

    def changes(self) -> list[NodeChange]:
        """Nodes of the site that joined or left (the driver makes them NodeJoined / NodeLost)."""
        return self.members.changes() if self.members is not None else []

    def bind_step(self, step: Callable[[list[Outcome]], bool]) -> None:
        """The driver's step(outcomes) -> whether its thread must look again (Driver calls this when it is made)."""
        self._step = step

    def _here(self) -> bool:
        return self._step is not None and threading.get_ident() == self._thread

    def start(self, nodes: Sequence[Node]) -> None:
        self.nodes = {n.name: n for n in nodes}

    def submit(self, runs: Sequence[TaskRun]) -> None:
        here = self._here()
        for run in runs:
            to = self.leased if run.fn is hold else self.placed
            if here:
                self._hand(to, run)
            else:
                self.loop.call_soon_threadsafe(self._hand, to, run)

    def _hand(self, to: Callable[[TaskRun], None], run: TaskRun) -> None:
        """Hand one run to the loop's side; should that raise (no file descriptors left, a journal error), only
        this run fails: the engine frees its resources and the endpoint goes on (in Driver.step it would end the
        whole run)."""
        try:
            to(run)
        except Exception as exc:
            error = f"cannot start it: {type(exc).__name__}: {exc}"
            log.error("run %d: %s", run.key, error)
            self.report(Outcome(run.key, FAILED, time.time(), time.time(), error=error))
            if self.unhanded is not None:
                self.unhanded(run, error)

    def cancel(self, key: int) -> None:
        if self._here():
            self.loop.call_soon(self.cancelled, key)  # after the step that cancelled it
        else:
            self.loop.call_soon_threadsafe(self.cancelled, key)

    def report(self, outcome: Outcome) -> None:
        """An execution ended (any thread): in the loop's thread the engine hears of it now, else at the driver's
        next poll."""
        if self._here():
            self._local.append(outcome)
            self._steps()
            return
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
        """Something was posted to the driver: stepped now in the loop's thread, else the driver's thread wakes."""
        if self._here():
            self._steps()
            return
        self._wake_driver()

    def _steps(self) -> None:
        """Step the engine in the loop's thread until nothing posted or reported here waits (a report or a post
        made during a step is taken by the next one, never by a step inside a step)."""
        assert self._step is not None
        if self._stepping:
            self._again = True
            return
        self._stepping = True
        try:
            while True:
                self._again = False
                out, self._local = self._local, []
                if self._step(out):
                    self._wake_driver()
                if not (self._again or self._local):
                    return
        finally:
            self._stepping = False

    def _wake_driver(self) -> None:
        with self._cond:
            self._woken = True
            self._cond.notify()

    def close(self) -> None:
        """The loop's pool owns the workers; it stops them when the endpoint drains."""
