"""The files of a multi-site run, seen from the session: where each declared file is (site, sha256, size), and moving
it to the site of a task that reads it before that task is sent there.

A task's declared outputs are collected at its endpoint when it ends (faas/workdir.py keeps them in the endpoint's
file store and answers their hashes); a task that reads them (spec/data.py staged_inputs) is sent once every one
is at its site: a file held elsewhere goes site to site through the session (GET from one endpoint streamed into a
PUT on the other; nothing is kept here), skipped when the destination holds those bytes already (HEAD). Each move
is recorded as a Transfer (sets, sites, bytes, start and end on this machine's clock), as simulated ones are, so the
run's results and Gantt chart show them. Moves run in threads of their own, never in the driver's.

The workflow's own input files start here, at the origin (faas/origin.py): each is hashed once and uploaded (PUT)
to the first site that needs it; the final outputs are brought back here (GET) when the run ends (bring_back)."""

from __future__ import annotations

import http.client
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hetflow.executors.api import TaskRun
from hetflow.faas.client import Endpoint
from hetflow.faas.origin import Origin
from hetflow.faas.workdir import sha256_of
from hetflow.spec.data import Transfer

CHUNK = 1 << 20
MOVERS = 4  # transfers at once
Located = tuple[str, str, int, str]  # (site, sha256, size, the task set that wrote it)
HERE = ""  # the site of a file that is at the origin, in the session's working directory
log = logging.getLogger("hetflow")


def set_of(task_id: str) -> str:
    return task_id.split("[", 1)[0]


class Stager:
    """Where the run's files are, and the transfers made. clients: site name -> the endpoint's client (host, port,
    TLS and token are what a transfer uses)."""

    def __init__(self, clients: Callable[[str], Endpoint]) -> None:
        self._clients = clients
        self._where: dict[str, Located] = {}  # file name -> where its latest version is
        self._at: set[tuple[str, str]] = set()  # (sha256, site): held there (written there, or moved there)
        self._moving: dict[tuple[str, str], Future[None]] = {}  # (sha256, site) being moved: others wait for it
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self.transfers: list[Transfer] = []
        self._origin: Origin | None = None
        self._local: dict[str, Path] = {}  # sha256 -> the origin's file with those bytes

    def start_at(self, origin: Origin) -> None:
        """The run's origin: its input files (hashed now) are here until moved where they are read."""
        self._origin = origin
        for name, path in origin.inputs.items():
            sha = sha256_of(path)
            self._local[sha] = path
            self._where[name] = (HERE, sha, path.stat().st_size, "")

    def collected(self, site: str, run: TaskRun, outputs: dict[str, Any]) -> None:
        """What a task that ended at `site` wrote: {name: [sha256, size]} (its declared outputs)."""
        with self._lock:
            for name in run.outputs:
                if name in outputs:
                    sha, size = outputs[name]
                    self._where[name] = (site, str(sha), int(size), set_of(run.task_id))
                    self._at.add((str(sha), site))

    def inputs(self, run: TaskRun) -> dict[str, str]:
        """The input files of run the run knows of: name -> sha256 (what the endpoint copies into its folder)."""
        with self._lock:
            return {name: self._where[name][1] for name in run.inputs if name in self._where}

    def needs(self, run: TaskRun, site: str) -> bool:
        """Whether some input of run is not at that site yet."""
        with self._lock:
            return any(name in self._where and (self._where[name][1], site) not in self._at for name in run.inputs)

    def forget(self, site: str) -> None:
        """A site was lost: what it held is asked for again (HEAD) before a move is skipped (it may come back
        without its store)."""
        with self._lock:
            self._at = {(sha, at) for sha, at in self._at if at != site}

    def stage(self, run: TaskRun, site: str, then: Callable[[str], None]) -> None:
        """Move run's inputs to site in a thread; then(error) after (error "" when every one is there)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(MOVERS, thread_name_prefix="hetflow-stage")

        def work() -> None:
            try:
                self._move_all(run, site)
            except Exception as exc:
                then(f"staging its input files at {site}: {exc}")
            else:
                then("")

        self._pool.submit(work)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _move_all(self, run: TaskRun, site: str) -> None:
        """Each input file not at the site yet, moved there once: tasks that need the same file at the same site
        at the same time wait for the one move (as the transfer model moves a set's inputs once per site)."""
        with self._lock:
            files = [self._where[n] for n in run.inputs if n in self._where]
        for src, sha, size, src_set in files:
            key = (sha, site)
            with self._lock:
                if key in self._at:
                    continue
                moving = self._moving.get(key)
                if moving is None:
                    moving = self._moving[key] = Future()
                    mine = True
                else:
                    mine = False
            if not mine:
                moving.result()  # its mover's error is this task's too
                continue
            try:
                self._move(src, sha, size, src_set, run, site)
            except BaseException as exc:
                moving.set_exception(exc)
                raise
            else:
                moving.set_result(None)
            finally:
                with self._lock:
                    del self._moving[key]

    def _move(self, src: str, sha: str, size: int, src_set: str, run: TaskRun, site: str) -> None:
        dst = self._clients(site)
        if stored(dst, sha) != size:  # else it is there already (an earlier run on the endpoint's store)
            start = time.time()
            if src == HERE:
                assert self._origin is not None
                upload(self._local[sha], dst, sha, size)
                src = self._origin.site
            else:
                copy(self._clients(src), dst, sha, size)
            end = time.time()
            with self._lock:
                self.transfers.append(Transfer(src_set, src, set_of(run.task_id), site, size, start, end))
        with self._lock:
            self._at.add((sha, site))

    def bring_back(self) -> None:
        """Each final output written so far, from where it was written into the origin's folder, recorded as a
        transfer (to set ""); one that cannot be brought back (its site gone) is logged as an error, and the others
        still come."""
        origin = self._origin
        if origin is None:
            return
        for name in origin.outputs:
            with self._lock:
                where = self._where.get(name)
            if where is None or where[0] == HERE:
                continue  # never written (its task failed, or did not run)
            site, sha, size, src_set = where
            start = time.time()
            try:
                download(self._clients(site), sha, origin.into / name)
            except Exception as exc:
                log.error("final output %s not brought back from site %s: %s", name, site, exc)
                continue
            with self._lock:
                self.transfers.append(Transfer(src_set, site, "", origin.site, size, start, time.time()))


def connection(ep: Endpoint) -> http.client.HTTPConnection:
    """A new connection to the endpoint, without Nagle's delay (a body's last small segment would otherwise wait
    for the delayed ACK of what went before: 40 ms a file)."""
    conn: http.client.HTTPConnection
    if ep.tls is not None:
        conn = http.client.HTTPSConnection(ep.host, ep.port, timeout=ep.timeout, context=ep.tls)
    else:
        conn = http.client.HTTPConnection(ep.host, ep.port, timeout=ep.timeout)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def auth(ep: Endpoint) -> dict[str, str]:
    return {"Authorization": f"Bearer {ep.token}"}


def stored(ep: Endpoint, sha: str) -> int:
    """The size of the file the endpoint holds under sha256 (-1: none)."""
    conn = connection(ep)
    try:
        conn.request("HEAD", f"/v1/files/{sha}", headers=auth(ep))
        resp = conn.getresponse()
        resp.read()
        return int(resp.getheader("content-length") or 0) if resp.status == 200 else -1
    finally:
        conn.close()


def copy(src: Endpoint, dst: Endpoint, sha: str, size: int) -> None:
    """The file sha256 from one endpoint's store to another's, streamed (OSError with the endpoint's error)."""
    get, put = connection(src), connection(dst)
    try:
        get.request("GET", f"/v1/files/{sha}", headers=auth(src))
        got = get.getresponse()
        if got.status != 200:
            raise OSError(f"{src.url} has no file {sha} ({got.status}: {got.read()[:200]!r})")
        put_stream(put, dst, sha, size, iter(lambda: got.read(CHUNK), b""))
    finally:
        get.close()
        put.close()


def upload(path: os.PathLike[str], dst: Endpoint, sha: str, size: int) -> None:
    """A file of the origin into an endpoint's store, streamed (OSError with the endpoint's error)."""
    put = connection(dst)
    try:
        with open(path, "rb") as f:
            put_stream(put, dst, sha, size, iter(lambda: f.read(CHUNK), b""))
    finally:
        put.close()


def put_stream(put: http.client.HTTPConnection, dst: Endpoint, sha: str, size: int, chunks: Iterator[bytes]) -> None:
    """PUT size bytes of chunks as the file sha256 into dst's store, over the connection put (OSError when refused)."""
    headers = {**auth(dst), "Content-Length": str(size), "Content-Type": "application/octet-stream"}
    put.request("PUT", f"/v1/files/{sha}", body=chunks, headers=headers)
    answer = put.getresponse()
    body = answer.read()
    if answer.status != 201:
        raise OSError(f"{dst.url} refused the file {sha} ({answer.status}: {body[:200]!r})")


def download(src: Endpoint, sha: str, target: os.PathLike[str]) -> None:
    """The file sha256 from an endpoint's store to target, written beside it first and then renamed (a reader never
    sees half a file)."""
    get = connection(src)
    part = f"{os.fspath(target)}.part"
    try:
        get.request("GET", f"/v1/files/{sha}", headers=auth(src))
        got = get.getresponse()
        if got.status != 200:
            raise OSError(f"{src.url} has no file {sha} ({got.status}: {got.read()[:200]!r})")
        os.makedirs(os.path.dirname(part) or ".", exist_ok=True)
        with open(part, "wb") as f:
            while chunk := got.read(CHUNK):
                f.write(chunk)
        os.replace(part, target)
    finally:
        get.close()
        if os.path.exists(part):
            os.remove(part)
