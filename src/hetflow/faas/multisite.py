"""The multi-site executor (backend "faas"): a session whose nodes are the nodes of several function endpoints.

    Session(backend="faas", endpoints={"site-a": url_a, "site-b": url_b}, token=...)

Two-level placement. connect() asks each endpoint for its nodes (Endpoint.resources()) and makes them the session's
platform: node types "SITE/TYPE", nodes "SITE/TYPE-i" (as hetflow.spec.sites names a multi-site platform), so the
session's engine places every task set on some site's node through its own policies, modes, partitions and
triggers. submit() sends each execution to its site's endpoint with the resources the engine gave it; the
endpoint's own engine admits it and places it within the site (an endpoint serves other clients and leases too).
A Python function goes as itself (Endpoint.submit); a "pkg.mod:func" reference goes through faas/tasks.py and a
shell command through the endpoint's built-in shell function (faas/builtins.py), both imported there by reference,
a command's output coming back to be written where a CommandResult expects it (the session's log folder).

A site that goes away: a heartbeat thread asks each endpoint's health every HEARTBEAT_S; one that has not answered
for `grace` seconds is lost, and changes() reports NodeLost for each of its nodes, so the engine re-queues their
tasks on other sites (results that come back from a lost site afterwards are dropped: nothing is counted twice). A
lost site that answers again joins again (NodeJoined, same node names). An execution whose call fails with a
connection error waits for the heartbeat's verdict: the site lost (re-queued by the engine) or back (run again,
LOST, the driver's way of re-running without using a retry). An endpoint that refuses an execution (its own
admission: busy, rate limited, no room) gives it back to the session's engine as REFUSED: not started, its
resources released, no attempt spent, placeable again at once on another site: the refusing site's nodes take no
new work for a pause that doubles with each refusal of that site (or of that task) in a row, which the engine keeps
(Ledger.pause); after MAX_REFUSALS of one task in a row it fails. Cancelling an execution (the engine's Cancel:
Session.cancel, a lost site, preemption) cancels its invocation on the endpoint too: out of the queue there, or its
worker killed.

Where it lives: faas imports runtime and executors, so an executor in executors/ could not import the client
without a cycle; executors.EXECUTORS names it by string ("hetflow.faas.multisite:MultiSiteExecutor"), resolved by
make_executor when backend "faas" is asked for, and nothing below faas imports it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from hetflow.errors import ExecutionError, SpecError
from hetflow.executors.api import CANCELLED, DONE, FAILED, LOST, REFUSED, NodeChange, Outcome, TaskRun
from hetflow.faas import remote
from hetflow.faas.client import Endpoint
from hetflow.faas.origin import Origin
from hetflow.faas.sitefile import SiteEndpoint, site_endpoints
from hetflow.faas.stager import Stager
from hetflow.spec.data import Transfer
from hetflow.spec.platform import Node, Platform
from hetflow.spec.resources import GPU_UNIT

GRACE_S = 3.0  # a site silent this long is lost
OFFSET_SAMPLES = 5  # round trips to estimate an endpoint's clock offset from
HEARTBEAT_S = 0.25  # how often each site is asked for its health
PATIENCE_S = 30.0  # how long a client keeps reconnecting before it fails what waits (the heartbeat decides first)
REFUSAL_BACKOFF_S = (0.05, 2.0)  # first and longest pause of a refusing site (no new work there meanwhile)
MAX_REFUSALS = 30  # refusals of one task in a row (about a minute): then it fails
log = logging.getLogger("hetflow")


class Site:
    """One endpoint of the run: its client, its nodes (session names), and whether it answers."""

    def __init__(self, endpoint: SiteEndpoint, grace: float) -> None:
        self.endpoint = endpoint
        self.name = endpoint.name
        self.url = endpoint.url
        self.client: Endpoint | None = None
        self.offset = 0.0  # the endpoint's clock minus ours
        self.probe = remote.Probe(endpoint.url, endpoint.token, timeout=max(0.2, grace / 3))
        self.nodes: list[Node] = []
        self.lost = False  # the heartbeat's verdict
        self.refusals = 0  # in a row: the pause of its nodes after a refusal doubles with each
        self.last_ok = time.monotonic()

    def connect(self, patience: float) -> Endpoint:
        """A new client; the clock offset from the fastest of a few round trips (SeBS)."""
        client = remote.client(self.url, self.endpoint.token, patience)
        best = min((client.health() for _ in range(OFFSET_SAMPLES)), key=lambda h: float(h["rtt"]))
        self.offset = float(best["offset"])
        old, self.client = self.client, client
        if old is not None:
            with contextlib.suppress(Exception):
                old.close()
        return client


class Job:
    """An execution sent to a site, until its outcome is in."""

    __slots__ = ("future", "parked", "run", "site")

    def __init__(self, run: TaskRun, site: Site) -> None:
        self.run = run
        self.site = site
        self.future: Future[Any] | None = None  # None: not sent (its site was lost, or it waits to go again)
        self.parked = 0.0  # when its call failed for want of a connection (0: it did not)


class MultiSiteExecutor:
    """Tasks on the nodes of several endpoints. endpoints: site name -> URL or {url, token}; token: one for every
    site or one per site; log_dir: where commands' output is written; grace: seconds of silence after which a site
    is lost; origin: the workflow's input files, uploaded where they are read, and its final outputs, brought back
    when the executor closes (faas/origin.py)."""

    name = "faas"

    def __init__(
        self,
        *,
        endpoints: Mapping[str, Any] | Sequence[SiteEndpoint] | None = None,
        token: str | Mapping[str, str] | None = None,
        log_dir: str | os.PathLike[str] | None = None,
        grace: float = GRACE_S,
        heartbeat: float = HEARTBEAT_S,
        origin: Origin | None = None,
    ) -> None:
        if endpoints is None:
            raise SpecError(
                "the faas backend runs on endpoints, and none were given",
                place="endpoints",
                fix='give Session(backend="faas", endpoints={"site-a": URL, ...}, token=...) or --endpoints FILE',
            )
        given = tuple(endpoints) if not isinstance(endpoints, Mapping) else site_endpoints(endpoints, token)
        self._given: tuple[SiteEndpoint, ...] = given
        self._grace = grace
        self._patience = max(grace, PATIENCE_S)
        self._heartbeat = heartbeat
        self._log_dir = Path(log_dir) if log_dir is not None else None
        self._temporary = log_dir is None
        self._sites: dict[str, Site] = {}
        self._site_of: dict[str, Site] = {}  # node name -> its site
        self._jobs: dict[int, Job] = {}
        self._ready: deque[tuple[int, Future[Any]]] = deque()
        self._refusals: dict[str, int] = {}  # task id -> refusals in a row (its pause before it is placed again)
        self._parked: set[int] = set()  # keys whose call found no endpoint: the heartbeat decides
        self._keep_logs = False  # a command failed: its output stays in the temporary log folder
        self._done: list[Outcome] = []
        self._changes: list[NodeChange] = []
        self._cond = threading.Condition()
        self._woken = False
        self._closed = threading.Event()
        self._beat: threading.Thread | None = None
        self._stager = Stager(self._client_of)  # declared files: where they are, moved where tasks read them
        self._staged: deque[tuple[int, str]] = deque()  # (key, error): executions whose input files were moved
        if origin is not None:
            self._stager.start_at(origin)

    # ---- lifecycle ------------------------------------------------------------------------------------------------
    def connect(self, shape: Platform) -> Platform:
        """The platform of the endpoints' nodes (shape is not used: the sites are what they are)."""
        if self._sites:
            raise ExecutionError("the faas executor is connected already")
        types = []
        try:
            for given in self._given:
                site = self._sites[given.name] = Site(given, self._grace)
                try:
                    described = site.connect(self._patience).resources()
                except Exception as exc:
                    raise ExecutionError(f"site {site.name}: the endpoint at {site.url}: {exc}") from exc
                site_types = remote.node_types(site.name, described)
                if not site_types:
                    raise ExecutionError(f"site {site.name}: the endpoint at {site.url} has no nodes")
                types.extend(site_types)
                site.nodes = Platform(site.name, tuple(site_types)).nodes()
                for node in site.nodes:
                    self._site_of[node.name] = site
        except BaseException:
            self.close()
            raise
        self._beat = threading.Thread(target=self._heartbeats, name="hetflow-faas-heartbeat", daemon=True)
        self._beat.start()
        return Platform("+".join(self._sites), tuple(types))

    def start(self, nodes: Sequence[Node]) -> None:
        if not self._sites:
            raise ExecutionError("connect() the faas executor to its endpoints before start()")

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        for key in list(self._jobs):
            self.cancel(key)
        if self._beat is not None:
            self._beat.join(timeout=5)
        if self._sites:
            self._stager.bring_back()
        self._stager.close()
        for site in self._sites.values():
            site.probe.close()
            if site.client is not None:
                with contextlib.suppress(Exception):
                    site.client.close()
        if self._temporary and self._log_dir is not None:
            if self._keep_logs:
                log.warning("logs of the failed commands kept in %s", self._log_dir)
            else:
                shutil.rmtree(self._log_dir, ignore_errors=True)

    @property
    def lost_sites(self) -> list[str]:
        """The sites lost now (for tools and tests)."""
        return [name for name, site in self._sites.items() if site.lost]

    @property
    def transfers(self) -> list[Transfer]:
        """The files moved between sites so far (faas/stager.py), as RunResult.transfers lists them."""
        return list(self._stager.transfers)

    # ---- the driver thread ----------------------------------------------------------------------------------------
    def submit(self, runs: Sequence[TaskRun]) -> None:
        for run in runs:
            site = self._site_of.get(run.node)
            if site is None:
                raise ExecutionError(f"node {run.node} is not a node of any site")
            job = Job(run, site)
            self._jobs[run.key] = job
            if site.lost:  # NodeLost is on its way: the engine re-queues it and cancels it here
                continue
            if self._stager.needs(run, site.name):  # its input files go there first, then it does
                self._stager.stage(run, site.name, functools.partial(self._moved, run.key))
            else:
                self._send(job)

    def cancel(self, key: int) -> None:
        job = self._jobs.pop(key, None)
        if job is None:
            return
        if job.future is not None:
            job.future.cancel()  # an InvocationFuture cancels it on the endpoint too (queued there, or running)
        t = time.time()
        self._done.append(Outcome(key, CANCELLED, t, t, error="cancelled"))

    def poll(self, timeout: float | None) -> list[Outcome]:
        out, self._done = self._done, []
        wait = 0.0 if out else timeout
        if self._parked:
            wait = min(self._heartbeat, self._heartbeat if wait is None else wait)
        with self._cond:
            if not (self._ready or self._woken or self._changes or self._staged) and (wait is None or wait > 0):
                self._cond.wait(wait)
            ready = list(self._ready)
            self._ready.clear()
            self._woken = False
            staged, self._staged = self._staged, deque()
        for key, future in ready:
            self._collect(key, future, out)
        self._after_staging(staged, out)
        self._resend(out)
        return out

    def wake(self) -> None:
        with self._cond:
            self._woken = True
            self._cond.notify()

    def changes(self) -> list[NodeChange]:
        with self._cond:
            out, self._changes = self._changes, []
        return out

    # ---- internals ------------------------------------------------------------------------------------------------
    def _send(self, job: Job) -> None:
        run = job.run
        gpus = sum(g[1] for g in run.gpus) / GPU_UNIT if run.gpus else 0.0
        future: Future[Any]
        try:
            assert job.site.client is not None
            future = remote.send(job.site.client, run, gpus, self._stager.inputs(run))
        except Exception as exc:  # refused at once (the client knows the endpoint is down): as if it came back so
            future = Future()
            future.set_exception(exc)
        job.future = future
        key = run.key

        def arrived(f: Future[Any]) -> None:
            with self._cond:
                self._ready.append((key, f))
                self._cond.notify()

        future.add_done_callback(arrived)

    def _collect(self, key: int, future: Future[Any], out: list[Outcome]) -> None:
        job = self._jobs.get(key)
        if job is None or job.future is not future:
            return  # cancelled, or an earlier attempt's answer
        if job.site.lost:
            return  # the engine re-queues it (NodeLost) and cancels it here
        logs = self._logs() if job.run.command is not None else None
        verdict = remote.outcome(key, job.run, future, job.site.offset, logs)
        if verdict is remote.UNREACHABLE:
            job.parked = time.monotonic()
            self._parked.add(key)
            return
        assert isinstance(verdict, Outcome)
        if job.run.outputs and verdict.status == DONE:  # where its files are now
            self._stager.collected(job.site.name, job.run, future.result(timeout=0).get("outputs") or {})
        del self._jobs[key]
        if verdict.status == REFUSED:
            self._refused(job, verdict)
        else:
            self._refusals.pop(job.run.task_id, None)
            job.site.refusals = 0
        if job.run.command is not None and verdict.status not in (DONE, CANCELLED):
            self._keep_logs = True
        out.append(verdict)

    def _refused(self, job: Job, verdict: Outcome) -> None:
        """A refusal goes back to the engine with the pause of the refusing site's nodes (the engine places the task
        elsewhere meanwhile): doubling with each refusal of that site in a row, or of that task in a row when it
        has more (a site that refuses only it); the task's last refusal allowed fails it."""
        n = self._refusals[job.run.task_id] = self._refusals.get(job.run.task_id, 0) + 1
        job.site.refusals += 1
        verdict.error = f"site {job.site.name}: {verdict.error}"
        if n >= MAX_REFUSALS:
            del self._refusals[job.run.task_id]
            verdict.status, verdict.error = FAILED, f"{verdict.error} ({n} refusals in a row)"
            return
        first, longest = REFUSAL_BACKOFF_S
        verdict.retry_after = min(longest, first * 2 ** (max(n, job.site.refusals) - 1))

    def _resend(self, out: list[Outcome]) -> None:
        """Report what a site dropped while it stayed up (its call failed, the heartbeat then heard the site) as
        LOST: the driver runs it again."""
        for key in list(self._parked):
            job = self._jobs.get(key)
            if job is None or job.future is None:  # cancelled (its site lost, most likely)
                self._parked.discard(key)
            elif not job.site.lost and job.site.last_ok > job.parked:
                self._parked.discard(key)
                del self._jobs[key]
                t = time.time()
                out.append(Outcome(key, LOST, t, t, error=f"site {job.site.name} dropped the call"))

    def _client_of(self, site: str) -> Endpoint:
        client = self._sites[site].client
        if client is None:
            raise ExecutionError(f"site {site} is not connected")
        return client

    def _moved(self, key: int, error: str) -> None:
        """A staging thread is done with an execution's input files (error: why they could not all be moved)."""
        with self._cond:
            self._staged.append((key, error))
            self._cond.notify()

    def _after_staging(self, staged: deque[tuple[int, str]], out: list[Outcome]) -> None:
        """Send what has its input files at its site now; fail what could not have them."""
        for key, error in staged:
            job = self._jobs.get(key)
            if job is None or job.site.lost:
                continue  # cancelled, or re-queued by the engine
            if error:
                del self._jobs[key]
                t = time.time()
                out.append(Outcome(key, FAILED, t, t, error=error))
            else:
                self._send(job)

    def _logs(self) -> Path:
        if self._log_dir is None:
            self._log_dir = Path(tempfile.mkdtemp(prefix="hetflow-logs-"))
        return self._log_dir

    def _heartbeats(self) -> None:
        """Ask every site's health each heartbeat; one silent past the grace is lost, a lost one that answers joins
        again."""
        while not self._closed.wait(self._heartbeat):
            for site in self._sites.values():
                ok = site.probe.healthy()
                now = time.monotonic()
                if ok and site.lost:
                    try:
                        site.connect(self._patience)  # the old client gave up on it
                    except Exception:
                        continue
                    self._turn(site, lost=False)
                if ok:
                    site.last_ok = now
                elif not site.lost and now - site.last_ok > self._grace:
                    self._turn(site, lost=True)

    def _turn(self, site: Site, lost: bool) -> None:
        with self._cond:
            site.lost = lost
            self._changes.extend(NodeChange(n.name, None if lost else n) for n in site.nodes)
            self._cond.notify()
        if lost:
            self._stager.forget(site.name)
            log.warning("site %s (%s) does not answer: its nodes are lost", site.name, site.url)
        else:
            log.warning("site %s (%s) answers again: its nodes join", site.name, site.url)
