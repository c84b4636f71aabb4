"""Warm pools: the worker processes of an endpoint, kept per function and kept alive --keep-warm seconds after their
last call, and the workers pinned to leases. Everything here runs in the endpoint's event loop.

A call is cold when a new worker starts for it, warm when an idle worker of its function takes it, hot when it runs
on a lease's pinned worker. The pool never looks inside what it passes: definitions, arguments and results stay
bytes (frames of worker.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hetflow.executors.api import NodeChange
from hetflow.faas.worker import CALL, HEAD, RESULT
from hetflow.spec.resources import GpuGrant

WORKER_FILE = str(Path(__file__).with_name("worker.py"))
COLD, WARM, HOT = "cold", "warm", "hot"
PIPE_BUFFER = 8 << 20  # socket buffers between the endpoint and a worker
JOIN_MAX = 256 << 10  # a payload smaller than this is joined to its frame's head (larger: written on its own)
MAX_RESULT = 256 << 20  # the largest result a worker may send back (--max-result)
log = logging.getLogger("hetflow")


@dataclass(slots=True, eq=False)  # one execution: compared and hashed by identity
class Call:
    """One execution of an invocation on a worker. done(call, kind, ok, started, ended, body) or failed(call, status,
    error) is called exactly once."""

    key: int
    fid: str
    definition: tuple[bytes, bytes]  # (kind, data) as worker.py's b"D" frame wants them
    fmt: bytes
    payload: bytes
    env: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None
    kind: str = COLD
    timer: asyncio.TimerHandle | None = None
    node: str = ""  # where the engine placed it (a cluster's pool sends it there)
    grant: GpuGrant = ()  # its GPUs on that node (a cluster's worker maps them onto its own devices)


class WorkerProc(asyncio.BufferedProtocol):
    """One worker process and its socket."""

    def __init__(self, pool: WarmPool, proc: subprocess.Popen[bytes], home: tuple[str, ...] | None) -> None:
        self.pool = pool
        self.proc = proc
        self.home = home  # its pool's key (function, environment); None for a lease's worker
        self.transport: asyncio.Transport | None = None
        self.defined: set[str] = set()
        self.call: Call | None = None
        self.queue: deque[Call] = deque()  # a lease's calls waiting for its worker
        self.idle_since = time.monotonic()
        self.buf = bytearray()
        self.inbox = memoryview(bytearray(1 << 16))  # read into (a plain Protocol's recv allocates 256 KiB each read)
        self.big: bytearray | None = None  # a result larger than inbox, read in place
        self.filled = 0
        self.stopping = ""  # why the pool killed it (timeout, cancelled, evicted, the lease ended)
        self.dropping = False  # killed for a result over the limit: what it still sends is not kept

    @property
    def pid(self) -> int:
        return self.proc.pid

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        if self.big is not None:  # the rest of a large result, straight into its own buffer
            return memoryview(self.big)[self.filled :]
        return self.inbox

    def buffer_updated(self, nbytes: int) -> None:
        if self.big is not None:
            self.filled += nbytes
            if self.filled == len(self.big):
                body, self.big = self.big, None  # (the transport still holds a view of it: never resized)
                self.result(*self.parse(body, 0, len(body)))
            return
        if self.dropping:
            return
        buf = self.buf
        buf += self.inbox[:nbytes]
        while len(buf) >= 4:
            (size,) = HEAD.unpack_from(buf)
            if size > self.pool.max_result + 1 + RESULT.size:  # never allocated: the call fails, the worker goes
                self.dropping = True
                buf.clear()
                self.pool.oversized(self, size - 1 - RESULT.size)
                return
            if len(buf) < 4 + size:
                if size > len(self.inbox):  # a large result: the kernel writes the rest of it in place
                    self.big = bytearray(size)
                    self.filled = len(buf) - 4
                    self.big[: self.filled] = memoryview(buf)[4:]
                    buf.clear()
                return
            got = self.parse(buf, 4, 4 + size)
            del buf[: 4 + size]
            self.result(*got)

    @staticmethod
    def parse(buf: bytearray, start: int, end: int) -> tuple[int, int, float, float, bytes]:
        """The result frame buf[start:end]: key, ok, started, ended, value."""
        key, ok, started, ended = RESULT.unpack_from(buf, start + 1)
        with memoryview(buf) as view:
            return key, ok, started, ended, bytes(view[start + 1 + RESULT.size : end])

    def result(self, key: int, ok: int, started: float, ended: float, value: bytes) -> None:
        """A result frame came: its call ends."""
        call = self.call
        if call is None or call.key != key:
            return
        self.call = None
        self.pool.ended(self, call, bool(ok), started, ended, value)

    def connection_lost(self, exc: Exception | None) -> None:
        self.pool.died(self)

    def send(self, call: Call) -> None:
        assert self.transport is not None
        self.call = call
        out = []
        if call.fid not in self.defined:
            kind, data = call.definition
            d = b"D" + call.fid.encode() + kind + data
            out.append(HEAD.pack(len(d)) + d)
            self.defined.add(call.fid)
        head = b"C" + CALL.pack(call.key, call.fid.encode(), call.fmt)
        out.append(HEAD.pack(len(head) + len(call.payload)) + head)
        if len(call.payload) < JOIN_MAX:  # one write, one wake-up of the worker: cheaper than a copy up to here
            self.transport.write(b"".join((*out, call.payload)))
            return
        self.transport.write(b"".join(out))  # writelines joins too: a large payload goes on its own, uncopied
        self.transport.write(memoryview(call.payload))

    def kill(self, why: str) -> None:
        self.stopping = self.stopping or why
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)


class WarmPool:
    """Workers by (function, environment), at most max_workers of them (an idle one of another function is evicted
    to make room). ended(call, kind, ok, started, ended, body) and failed(call, status, error) report each call;
    unpinned(worker) tells that a lease's worker died on its own."""

    def __init__(
        self,
        keep_warm: float,
        max_workers: int,
        ended: Callable[[Call, str, bool, float, float, bytes], None],
        failed: Callable[[Call, str, str], None],
        unpinned: Callable[[WorkerProc], None],
        max_result: int = MAX_RESULT,
    ) -> None:
        self.keep_warm = keep_warm
        self.max_result = max_result
        self.max_workers = max(1, max_workers)
        self.on_ended = ended
        self.on_failed = failed
        self.on_unpinned = unpinned  # a lease's worker died on its own: the lease pins a fresh one
        self.idle: dict[tuple[str, ...], list[WorkerProc]] = {}
        self.workers: set[WorkerProc] = set()
        self.waiting: deque[Call] = deque()  # calls for which no worker may start now
        self.starting = 0
        self.spawning: set[Call] = set()  # calls whose (cold) worker starts now: cancel() takes them out
        self.closed = False
        self.cold_starts = 0
        self._sweeper: asyncio.TimerHandle | None = None

    # ---- calls ----------------------------------------------------------------------------------------------------
    def run(self, call: Call) -> None:
        """Run a call on an idle worker of its function (warm), else on a new one (cold)."""
        home = (call.fid, *sorted(f"{k}={v}" for k, v in call.env.items()))
        idle = self.idle.get(home)
        if idle:
            w = idle.pop()
            call.kind = WARM
            self._start(w, call)
            return
        if self._pooled() + self.starting >= self.max_workers and not self._evict_one():
            self.waiting.append(call)
            return
        call.kind = COLD
        self.spawning.add(call)
        asyncio.get_running_loop().create_task(self._cold(call, home))

    def run_on(self, w: WorkerProc, call: Call) -> None:
        """Run a call on a lease's pinned worker (hot), after the calls already queued there."""
        call.kind = HOT
        if w.call is None and w.transport is not None:
            self._start(w, call)
        else:
            w.queue.append(call)

    def cancel(self, call: Call, why: str) -> bool:
        """Stop a call that runs or waits; False when the pool does not have it."""
        if call in self.waiting or call in self.spawning:
            with contextlib.suppress(ValueError):
                self.waiting.remove(call)
            self.spawning.discard(call)  # its worker, once started, goes idle without it
            self.on_failed(call, why, why)
            return True
        for w in self.workers:
            if w.call is call:
                w.kill(why)
                return True
            if call in w.queue:
                w.queue.remove(call)
                self.on_failed(call, why, why)
                return True
        return False

    async def pinned(self, env: dict[str, str], node: str = "", grant: GpuGrant = ()) -> WorkerProc:
        """A new worker for a lease (outside the per-function pools and their cap: the lease holds its resources);
        node and grant: where the engine placed the lease (one machine here: env says it all)."""
        return await self._spawn(env, None)

    def unpin(self, w: WorkerProc, why: str) -> None:
        """A lease ended: its worker goes, and the calls still queued on it fail."""
        while w.queue:
            self.on_failed(w.queue.popleft(), "cancelled", why)
        w.kill(why)

    # ---- workers --------------------------------------------------------------------------------------------------
    async def _cold(self, call: Call, home: tuple[str, ...]) -> None:
        self.starting += 1
        try:
            w = await self._spawn(call.env, home)
        except Exception as exc:
            if call in self.spawning:
                self.spawning.discard(call)
                self.on_failed(call, "failed", f"cannot start a worker: {exc}")
            return
        finally:
            self.starting -= 1
        self.cold_starts += 1
        if call not in self.spawning:  # cancelled while its worker started: the call is not sent
            self._free(w)
            return
        self.spawning.discard(call)
        self._start(w, call)

    async def _spawn(self, env: dict[str, str], home: tuple[str, ...] | None) -> WorkerProc:
        parent, child = socket.socketpair()
        for end in (parent, child):  # a large payload or result in one send (the system caps it: rmem/wmem_max)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, PIPE_BUFFER)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, PIPE_BUFFER)
        full = dict(os.environ)
        full["HETFLOW_WORKER_PATH"] = os.pathsep.join(sys.path)
        full.update(env)
        try:
            proc = subprocess.Popen(
                [sys.executable, WORKER_FILE, str(child.fileno()), str(os.getpid())],
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=sys.stderr.fileno() if hasattr(sys.stderr, "fileno") else None,  # prints: the endpoint's log
                start_new_session=True,
                env=full,
            )
        except OSError:
            parent.close()
            raise
        finally:
            child.close()
        w = WorkerProc(self, proc, home)
        self.workers.add(w)
        loop = asyncio.get_running_loop()
        await loop.connect_accepted_socket(lambda: w, parent)
        self._sweep_later()
        return w

    def _start(self, w: WorkerProc, call: Call) -> None:
        if call.timeout is not None:
            call.timer = asyncio.get_running_loop().call_later(call.timeout, self._expire, w, call)
        w.send(call)

    def _expire(self, w: WorkerProc, call: Call) -> None:
        if w.call is call:
            w.kill("timeout")

    def ended(self, w: WorkerProc, call: Call, ok: bool, started: float, ended: float, body: bytes) -> None:
        if call.timer is not None:
            call.timer.cancel()
        self._free(w)  # idle before the report: the engine's step it causes may place a waiting call here (warm)
        self.on_ended(call, call.kind, ok, started, ended, body)

    def _free(self, w: WorkerProc) -> None:
        """A worker that finished a call: its lease's next call, else the pool's waiting ones, else idle."""
        if w.home is None:
            if w.queue:
                self._start(w, w.queue.popleft())
            return
        w.idle_since = time.monotonic()
        self.idle.setdefault(w.home, []).append(w)
        while self.waiting and (self._pooled() + self.starting < self.max_workers or self._evict_one()):
            self.run(self.waiting.popleft())

    def oversized(self, w: WorkerProc, size: int) -> None:
        """A worker began to send a result over max_result: its call fails at once and the worker is killed (not
        marked stopping: for the pool it died, so a lease pins a fresh one)."""
        call, w.call = w.call, None
        with contextlib.suppress(ProcessLookupError):
            os.kill(w.proc.pid, signal.SIGKILL)
        if call is not None:
            if call.timer is not None:
                call.timer.cancel()
            self.on_failed(call, "failed", f"its result of {size} bytes is over the endpoint's limit of "
                           f"{self.max_result} (--max-result)")  # fmt: skip

    def died(self, w: WorkerProc) -> None:
        """A worker's socket closed: killed by the pool, or it died under a call (kill -9, out of memory)."""
        self.workers.discard(w)
        if w.home is not None:
            with contextlib.suppress(ValueError):
                self.idle.get(w.home, []).remove(w)
        try:
            rc = w.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            w.kill("lost")
            rc = w.proc.wait()
        if w.home is None and not w.stopping and not self.closed:
            self.on_unpinned(w)
        call, w.call = w.call, None
        if call is not None:
            if call.timer is not None:
                call.timer.cancel()
            if w.stopping == "timeout":
                self.on_failed(call, "timeout", f"timed out after {call.timeout:g} s")
            elif w.stopping:
                self.on_failed(call, "cancelled", w.stopping)
            else:
                how = f"signal {-rc}" if rc is not None and rc < 0 else f"exit status {rc}"
                self.on_failed(call, "lost", f"worker {w.pid} died ({how})")
        while w.queue:
            self.on_failed(w.queue.popleft(), "lost", f"worker {w.pid} of the lease died")
        if not self.closed:
            while self.waiting and self._pooled() + self.starting < self.max_workers:
                self.run(self.waiting.popleft())

    def _pooled(self) -> int:
        """Pool workers (a lease's pinned workers are outside --max-workers: they hold what their lease holds)."""
        return sum(1 for w in self.workers if w.home is not None)

    def _evict_one(self) -> bool:
        """Make room: the idle worker unused longest goes. False when none is idle."""
        oldest: WorkerProc | None = None
        for ws in self.idle.values():
            for w in ws:
                if oldest is None or w.idle_since < oldest.idle_since:
                    oldest = w
        if oldest is None:
            return False
        self._evict(oldest)
        return True

    def _evict(self, w: WorkerProc) -> None:
        assert w.home is not None
        self.idle[w.home].remove(w)
        if not self.idle[w.home]:
            del self.idle[w.home]
        self.workers.discard(w)  # counted as gone now: its replacement may start at once
        w.kill("evicted")

    def _sweep_later(self) -> None:
        if self._sweeper is None and not self.closed:
            every = min(1.0, max(0.05, self.keep_warm / 4))
            self._sweeper = asyncio.get_running_loop().call_later(every, self._sweep)

    def _sweep(self) -> None:
        """Evict the workers idle for keep_warm seconds."""
        self._sweeper = None
        limit = time.monotonic() - self.keep_warm
        for w in [w for ws in self.idle.values() for w in ws if w.idle_since <= limit]:
            log.debug("worker %d evicted after %.1f s idle", w.pid, self.keep_warm)
            self._evict(w)
        if self.workers:
            self._sweep_later()

    def attach(self, wake: Callable[[], None]) -> None:
        """The endpoint's executor is made: wake() makes its driver read changes(). Local workers never change the
        site's nodes."""

    def changes(self) -> list[NodeChange]:
        """Nodes of the site that joined or left since the last call (driver thread); none on this machine."""
        return []

    def counts(self) -> dict[str, int]:
        idle = sum(len(ws) for ws in self.idle.values())
        pinned = sum(1 for w in self.workers if w.home is None)
        return {
            "workers": len(self.workers), "idle": idle, "pinned": pinned, "busy": len(self.workers) - idle - pinned,
            "waiting": len(self.waiting), "cold_starts": self.cold_starts,
        }  # fmt: skip

    def close(self) -> None:
        """Kill every worker (at the end of a drain)."""
        self.closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        for w in list(self.workers):
            w.kill("the endpoint stopped")
        self.waiting.clear()
