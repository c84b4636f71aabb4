"""The local executor: tasks run on this machine, in a pool of persistent worker processes.

- Python callables run inside the workers (no interpreter start per task); a function is shipped to a worker once,
  by reference when it can be imported, else by value (cloudpickle), and then named by a number.
- Shell commands run as subprocesses that a worker starts and waits for, in a session of their own, with stdout and
  stderr captured in one pair of files per attempt of a task (api.log_paths: LOG_DIR/NAME.out and .err, then
  NAME.2.out and .err for a retry, as on every backend; the worker removes the files an attempt left empty).
  Without a log_dir they go to a temporary folder, removed at close unless a command failed and left some output:
  then it is kept and its path logged (a warning of the hetflow logger).
- Pinning: every node of the platform maps its cores onto this machine's CPUs (round robin when the platform declares
  more); a task runs with its affinity set to the CPUs of the cores it holds (Linux; elsewhere it is not pinned).
- GPUs: a task sees the GPUs of its grant through CUDA_VISIBLE_DEVICES, and a fraction of one through
  CUDA_MPS_ACTIVE_THREAD_PERCENTAGE (api.gpu_env). A worker that ran a Python task on a node with GPUs keeps its GPU
  variables (CUDA reads them once per process): later Python tasks go to a worker with the same ones or a fresh one.
  gpu_sharing="mps" starts an MPS control daemon for the run before the workers, stopped at close (executors/mps.py).
- Timeouts and cancels kill the command's process group, or the worker running a Python task (a fresh worker takes its
  place). A worker that dies on its own (kill -9, out of memory) is detected by the end of its socket; its task comes
  back as LOST, and the runtime runs it again.
"""

from __future__ import annotations

import bisect
import contextlib
import heapq
import logging
import os
import pickle
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from hetflow.errors import ExecutionError
from hetflow.executors._bound import Binding, binding_of
from hetflow.executors._worker import reference
from hetflow.executors.api import (
    CANCELLED,
    DONE,
    FAILED,
    LOST,
    TIMEOUT,
    CommandResult,
    Outcome,
    TaskRun,
    gpu_env,
    log_paths,
    visible_devices,
)
from hetflow.executors.mps import MpsDaemon, check_sharing
from hetflow.spec.platform import Node, Platform

WORKER_FILE = str(Path(__file__).with_name("_worker.py"))
_KILL_GRACE_S = 2.0
log = logging.getLogger("hetflow")


def machine_cpus() -> list[int]:
    """The CPUs this process may run on."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def can_pin() -> bool:
    return hasattr(os, "sched_setaffinity")


class _Job:
    __slots__ = ("cores", "cpus", "env", "pid", "reason", "run", "worker")

    def __init__(self, run: TaskRun, cores: list[int], cpus: tuple[int, ...] | None, env: dict[str, str]) -> None:
        self.run = run
        self.cores = cores  # the node's core numbers it holds
        self.cpus = cpus  # the machine CPUs it is pinned to (None: not pinned)
        self.env = env
        self.pid = 0  # a command's process (group) id, once the worker has said it
        self.reason = ""  # TIMEOUT or CANCELLED once the executor decided to stop it
        self.worker: _Worker | None = None


class _Worker:
    __slots__ = ("binding", "conn", "cpus", "fids", "job", "proc")

    def __init__(self, proc: subprocess.Popen[bytes], conn: Connection) -> None:
        self.proc = proc
        self.conn = conn
        self.job: _Job | None = None
        self.cpus: tuple[int, ...] | None = None
        self.fids: set[int] = set()
        self.binding: Binding | None = None  # the GPU variables of the first Python task it ran on a GPU node

    @property
    def pid(self) -> int:
        return self.proc.pid


class LocalExecutor:
    """Persistent worker processes on this machine: `workers` of them pre-started (default: the platform's cores, at
    most twice this machine's CPUs), more started while every one is busy, up to `max_workers` (default: the larger of
    `workers` and the platform's cores); beyond that, tasks wait in a queue for a free worker."""

    name = "local"

    def __init__(
        self,
        *,
        workers: int | None = None,
        max_workers: int | None = None,
        log_dir: str | os.PathLike[str] | None = None,
        pin: bool = True,
        gpu_sharing: str | None = None,
    ):
        check_sharing(gpu_sharing)
        self._mps = MpsDaemon() if gpu_sharing == "mps" else None
        self._want_workers = workers
        self._max_workers = max_workers
        self._log_dir = Path(log_dir) if log_dir is not None else None
        self._temporary = False  # the log folder is one this executor made: it goes at close, unless a command failed
        self._keep_logs = False
        self._pin = pin and can_pin()
        self._nodes: dict[str, Node] = {}
        self._cpu_map: dict[str, list[int]] = {}  # node -> machine CPU of each of its cores
        self._free_cores: dict[str, list[int]] = {}  # node -> its free core numbers, sorted
        self._physical = visible_devices()
        self._workers: list[_Worker] = []
        self._idle: list[_Worker] = []
        self._queue: deque[_Job] = deque()
        self._jobs: dict[int, _Job] = {}  # key -> job, queued or running
        self._done: list[Outcome] = []  # outcomes decided without a worker (cancelled in the queue)
        self._deadlines: list[tuple[float, int]] = []
        self._fids: dict[object, tuple[int, tuple[Any, ...], object]] = {}
        self._sel: selectors.BaseSelector | None = None
        self._wake_r = self._wake_w = -1
        self._prestart = 0
        self._cap = 1
        self._retired: list[subprocess.Popen[bytes]] = []  # told to exit, not yet reaped
        self._closed = False

    # ---- lifecycle ------------------------------------------------------------------------------------------------
    def connect(self, shape: Platform) -> Platform:
        """The platform, its undescribed node types given this machine's features (every node runs here)."""
        from hetflow.discover.nodes import with_local_features

        return with_local_features(shape)

    def start(self, nodes: Sequence[Node]) -> None:
        cpus = machine_cpus()
        offset = 0
        for n in nodes:
            self._nodes[n.name] = n
            self._cpu_map[n.name] = [cpus[(offset + c) % len(cpus)] for c in range(n.cores)]
            self._free_cores[n.name] = list(range(n.cores))
            offset += n.cores
        if self._mps is not None:
            self._mps.start()
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        total = sum(n.cores for n in nodes)
        want = self._want_workers if self._want_workers is not None else min(max(total, 1), 2 * len(cpus))
        self._prestart = max(0, want)
        self._cap = max(1, self._prestart, self._max_workers if self._max_workers is not None else total)
        for _ in range(self._prestart):
            self._idle.append(self._spawn())

    def close(self) -> None:
        try:
            self._close()
        finally:
            if self._mps is not None:
                self._mps.stop()

    def _close(self) -> None:
        if self._closed or self._sel is None:
            self._closed = True
            return
        self._closed = True
        for job in list(self._jobs.values()):
            if job.pid:
                _killpg(job.pid)
        for w in self._workers:
            with contextlib.suppress(OSError):
                w.conn.send_bytes(pickle.dumps([("exit",)]))
        deadline = time.monotonic() + _KILL_GRACE_S
        for w in self._workers:
            if w.job is not None:
                _kill(w.pid)
            try:
                w.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill(w.pid)
                w.proc.wait()
            w.conn.close()
        for proc in self._retired:
            try:
                proc.wait(timeout=_KILL_GRACE_S)
            except subprocess.TimeoutExpired:
                _kill(proc.pid)
                proc.wait()
        self._workers.clear()
        self._idle.clear()
        self._sel.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
        if self._temporary and self._log_dir is not None:
            if self._keep_logs and any(self._log_dir.iterdir()):
                log.warning("logs of the failed commands kept in %s", self._log_dir)
            else:
                shutil.rmtree(self._log_dir, ignore_errors=True)

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the live workers."""
        return [w.pid for w in self._workers]

    def running_on(self, key: int) -> int | None:
        """The process id of the worker running an execution, None when it is not running."""
        job = self._jobs.get(key)
        return job.worker.pid if job is not None and job.worker is not None else None

    # ---- submitting -----------------------------------------------------------------------------------------------
    def submit(self, runs: Sequence[TaskRun]) -> None:
        for run in runs:
            node = self._nodes.get(run.node)
            if node is None:
                raise ExecutionError(f"the local executor has no node {run.node!r}")
            cores = self._take_cores(run.node, run.cores)
            cpus = self._cpus_of(run.node, cores) if self._pin else None
            env = gpu_env(run.gpus, node.gpu_units > 0, self._physical)
            env["HETFLOW_TASK_ID"] = run.task_id
            if cpus is not None:
                env["HETFLOW_CORES"] = ",".join(map(str, cpus))
            job = _Job(run, cores, cpus, env)
            self._jobs[run.key] = job
            self._queue.append(job)
        self._dispatch()

    def cancel(self, key: int) -> None:
        job = self._jobs.get(key)
        if job is None or job.reason:
            return
        job.reason = CANCELLED
        if job.worker is None:  # still queued
            self._queue.remove(job)
            self._finish(job)
            now = time.time()
            self._done.append(Outcome(key, CANCELLED, now, now, error="cancelled"))
        else:
            self._stop(job)

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # BlockingIOError: awake already
            os.write(self._wake_w, b"x")

    # ---- waiting --------------------------------------------------------------------------------------------------
    def poll(self, timeout: float | None) -> list[Outcome]:
        assert self._sel is not None, "start() the executor first"
        out, self._done = self._done, []
        if out:
            timeout = 0.0
        if self._deadlines:
            left = self._deadlines[0][0] - time.monotonic()
            timeout = max(0.0, left) if timeout is None else max(0.0, min(timeout, left))
        for key, _ in self._sel.select(timeout):
            w = key.data
            if w is None:
                try:
                    while os.read(self._wake_r, 4096):
                        pass
                except BlockingIOError:
                    pass
            else:
                self._read(w, out)
        if self._deadlines:
            self._expire(time.monotonic())
        if self._queue:
            self._dispatch()
        return out

    # ---- internals ------------------------------------------------------------------------------------------------
    def _take_cores(self, node: str, n: int) -> list[int]:
        """The lowest free core numbers of the node; [] for a task of no cores."""
        if n <= 0:
            return []
        free = self._free_cores[node]
        mine = free[:n]
        del free[:n]
        if len(mine) < n:  # a cancelled task still dying holds some: share with it briefly
            mine += [c for c in range(len(self._cpu_map[node])) if c not in mine][: n - len(mine)]
        return mine

    def _cpus_of(self, node: str, cores: list[int]) -> tuple[int, ...]:
        cmap = self._cpu_map[node]
        if len(cores) == 1:
            return (cmap[cores[0]],)
        if not cores:  # no cores of its own: anywhere on the node
            return tuple(sorted(set(cmap)))
        return tuple(sorted({cmap[c] for c in cores}))

    def _finish(self, job: _Job) -> None:
        """Forget a job and give its cores back."""
        if self._jobs.pop(job.run.key, None) is None:
            return
        free = self._free_cores[job.run.node]
        for c in job.cores:
            if c not in free:
                bisect.insort(free, c)

    def _spawn(self) -> _Worker:
        assert self._sel is not None
        parent, child = socket.socketpair()
        env = dict(os.environ)
        env["HETFLOW_WORKER_PATH"] = os.pathsep.join(sys.path)
        env.update(self._mps.env if self._mps is not None else {})
        try:
            proc = subprocess.Popen(
                [sys.executable, WORKER_FILE, str(child.fileno()), str(os.getpid())],
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
            )
        except OSError as exc:
            parent.close()
            raise ExecutionError(f"cannot start a worker process: {exc}") from exc
        finally:
            child.close()
        w = _Worker(proc, Connection(parent.detach()))
        self._workers.append(w)
        self._sel.register(w.conn.fileno(), selectors.EVENT_READ, w)
        return w

    def _pick(self, job: _Job) -> _Worker | None:
        """An idle worker for the job (one already pinned the same way if there is one), or a fresh one; None when
        every worker is busy and there may be no more."""
        call = job.run.command is None  # a Python task only ever runs where its GPU variables are the process's
        binding = binding_of(job.env)
        best = -1
        for i, w in enumerate(self._idle):
            if call and w.binding is not None and w.binding != binding:
                continue
            if best < 0 or w.cpus == job.cpus:
                best = i
                if w.cpus == job.cpus:
                    break
        if best >= 0:
            return self._idle.pop(best)
        if len(self._workers) >= self._cap:
            if not self._idle:
                return None
            self._retire(self._idle.pop(0))  # bound to another GPU: make room for a fresh one
        return self._spawn()

    def _retire(self, w: _Worker) -> None:
        assert self._sel is not None
        self._sel.unregister(w.conn.fileno())
        self._workers.remove(w)
        with contextlib.suppress(OSError):
            w.conn.send_bytes(pickle.dumps([("exit",)]))
        w.conn.close()
        self._retired = [p for p in self._retired if p.poll() is None]
        self._retired.append(w.proc)

    def _dispatch(self) -> None:
        now = time.monotonic()
        queue = self._queue
        while queue:
            w = self._pick(queue[0])
            if w is None:
                return
            job = queue.popleft()
            run = job.run
            ops: list[tuple[Any, ...]] = []
            fid: int | None = None
            try:
                if run.command is not None:
                    out_path, err_path = log_paths(self._logs(), run)
                    ops.append(("cmd", run.key, run.command, job.cpus, job.env, out_path, err_path))
                else:
                    assert run.fn is not None
                    fid, ref = self._function(run.fn)
                    if fid not in w.fids:
                        ops.append(("def", fid, ref))
                    ops.append(("run", run.key, fid, run.args, run.kwargs, job.cpus, job.env, run.index))
                data = _dumps(ops)
            except Exception as exc:  # a function or arguments that cannot be pickled fail this task, not the run
                self._idle.append(w)
                self._finish(job)
                t = time.time()
                self._done.append(Outcome(run.key, FAILED, t, t, error=f"cannot send the task to a worker: {exc}"))
                continue
            if fid is not None:
                w.fids.add(fid)  # only now: the worker gets the definition with this message
                if w.binding is None and "CUDA_VISIBLE_DEVICES" in job.env:
                    w.binding = binding_of(job.env)
            job.worker = w
            w.job = job
            w.cpus = job.cpus
            with contextlib.suppress(OSError):  # a dead worker: its socket says so at the next poll
                w.conn.send_bytes(data)
            if run.timeout is not None:
                heapq.heappush(self._deadlines, (now + run.timeout, run.key))

    def _function(self, fn: Callable[..., Any] | str) -> tuple[int, tuple[Any, ...]]:
        key: object = fn if isinstance(fn, str) else id(fn)
        hit = self._fids.get(key)
        if hit is not None:
            return hit[0], hit[1]
        fid = len(self._fids)
        ref = reference(fn)
        self._fids[key] = (fid, ref, fn)  # keep fn alive, so that its id is not reused
        return fid, ref

    def _logs(self) -> Path:
        if self._log_dir is None:
            self._log_dir = Path(tempfile.mkdtemp(prefix="hetflow-logs-"))
            self._temporary = True
        self._log_dir.mkdir(parents=True, exist_ok=True)
        return self._log_dir

    def _read(self, w: _Worker, out: list[Outcome]) -> None:
        try:
            data = w.conn.recv_bytes()
        except (EOFError, OSError):
            self._lost(w, out)
            return
        for ev in pickle.loads(data):
            job = w.job
            if job is None or ev[1] != job.run.key:
                continue
            if ev[0] == "pid":
                job.pid = ev[2]
                if job.reason:  # stopped while it was starting
                    _killpg(job.pid)
                continue
            _, key, ok, start, end, value, error, exc, tb = ev
            w.job = None
            self._finish(job)
            if job.run.command is not None and value is not None:
                rc, out_path, err_path = pickle.loads(value)
                value = pickle.dumps(CommandResult(rc, out_path, err_path))
            status = job.reason or (DONE if ok else FAILED)
            if job.run.command is not None and status in (FAILED, TIMEOUT):
                self._keep_logs = True
            if job.reason:
                error = _stopped_text(job)
            out.append(Outcome(key, status, start, end, value, error, exc, tb))
            self._idle.append(w)

    def _lost(self, w: _Worker, out: list[Outcome]) -> None:
        assert self._sel is not None
        self._sel.unregister(w.conn.fileno())
        w.conn.close()
        try:
            rc = w.proc.wait(timeout=_KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            _kill(w.pid)
            rc = w.proc.wait()
        self._workers.remove(w)
        if w in self._idle:
            self._idle.remove(w)
        job = w.job
        if job is not None:
            self._finish(job)
            if job.pid:
                _killpg(job.pid)
            now = time.time()
            if job.reason:
                out.append(Outcome(job.run.key, job.reason, now, now, error=_stopped_text(job)))
            else:
                how = f"signal {-rc}" if rc is not None and rc < 0 else f"exit status {rc}"
                out.append(Outcome(job.run.key, LOST, now, now, error=f"worker {w.pid} died ({how})"))
        if len(self._workers) < self._prestart and not self._closed:
            self._idle.append(self._spawn())

    def _expire(self, now: float) -> None:
        dl = self._deadlines
        while dl and dl[0][0] <= now:
            _, key = heapq.heappop(dl)
            job = self._jobs.get(key)
            if job is not None and job.worker is not None and not job.reason:
                job.reason = TIMEOUT
                self._stop(job)

    def _stop(self, job: _Job) -> None:
        """Kill a running job: its command's process group, or else its worker."""
        if job.pid:
            _killpg(job.pid)
        elif job.worker is not None:
            _kill(job.worker.pid)


def _stopped_text(job: _Job) -> str:
    if job.reason == TIMEOUT:
        return f"timed out after {job.run.timeout:g} s"
    return "cancelled"


def _dumps(ops: list[tuple[Any, ...]]) -> bytes:
    try:
        return pickle.dumps(ops, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        import cloudpickle

        return cloudpickle.dumps(ops, protocol=pickle.HIGHEST_PROTOCOL)  # type: ignore[no-any-return]


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _killpg(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
