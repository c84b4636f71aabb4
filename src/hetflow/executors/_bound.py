"""Worker processes bound to one GPU environment, for a Dask worker whose Python tasks otherwise share its process.

The environment a task is shown (CUDA_VISIBLE_DEVICES, CUDA_MPS_ACTIVE_THREAD_PERCENTAGE, HETFLOW_GPUS) belongs to a
process, and CUDA reads it once, when the process first uses a GPU: threads of one process cannot each see their own
grant. So a Python task with a GPU environment of its own runs in a child process started with exactly that
environment (the local executor's worker, _worker.py), one task at a time; the child stays for the next task of the
same environment, and a task that finds every child of its environment busy gets a new one. A child is started from
the thread that lives as long as the Dask worker (its event loop): the child gets SIGTERM when that thread ends.
Killing a child stops its task (a cancel, a timeout); a child that dies under its task makes the task "lost".
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from hetflow.executors import _worker

GPU_VARS = ("CUDA_VISIBLE_DEVICES", "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "HETFLOW_GPUS")
WORKER_FILE = str(Path(_worker.__file__).resolve())
Binding = tuple[tuple[str, str], ...]  # the GPU variables a child was started with, sorted
Result = tuple[str, float, float, bytes | None, str, bytes | None, str]  # status, start, end, value, error, exc, tb


class Child:
    """One bound process and the functions it was sent (a reference -> its number there)."""

    __slots__ = ("binding", "conn", "fids", "proc")

    def __init__(self, proc: subprocess.Popen[bytes], conn: Connection, binding: Binding) -> None:
        self.proc = proc
        self.conn = conn
        self.binding = binding
        self.fids: dict[tuple[Any, ...], int] = {}


def binding_of(env: dict[str, str]) -> Binding:
    return tuple(sorted((k, v) for k, v in env.items() if k in GPU_VARS))


class BoundWorkers:
    """The children of one Dask worker, idle ones by binding. take() in the long-lived thread, run() in any."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[Binding, list[Child]] = {}
        self._busy: dict[int, Child] = {}  # task key -> the child running it
        self._closed = False

    def take(self, env: dict[str, str]) -> Child:
        """An idle child started with the GPU variables of env, else a new one."""
        binding = binding_of(env)
        with self._lock:
            idle = self._idle.get(binding)
            if idle:
                return idle.pop()
        return _spawn(binding)

    def run(self, child: Child, key: int, ref: tuple[Any, ...], args: tuple[Any, ...],
            kwargs: dict[str, Any] | None, index: int | None, task_id: str) -> Result:  # fmt: skip
        """Run one call in the child (blocking), then give the child back for the next task of its binding."""
        ops: list[tuple[Any, ...]] = []
        fid = child.fids.get(ref)
        if fid is None:
            fid = child.fids[ref] = len(child.fids)
            ops.append(("def", fid, ref))
        ops.append(("run", key, fid, args, kwargs, None, {"HETFLOW_TASK_ID": task_id}, index))
        with self._lock:
            self._busy[key] = child
        try:
            child.conn.send_bytes(_worker.dump(ops))
            end = pickle.loads(child.conn.recv_bytes())[-1]
        except (EOFError, OSError) as exc:
            t = time.time()
            return ("lost", t, t, None, f"its process died ({_died(child, exc)})", None, "")
        finally:
            with self._lock:
                self._busy.pop(key, None)
        _, _, ok, start, stop, value, error, exception, tb = end
        with self._lock:
            if self._closed:
                _stop(child)
            else:
                self._idle.setdefault(child.binding, []).append(child)
        return ("done" if ok else "failed", start, stop, value, error, exception, tb)

    def kill(self, key: int) -> bool:
        """Kill the child running a task (its task ends there); True when there was one."""
        with self._lock:
            child = self._busy.get(key)
        if child is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.proc.pid, signal.SIGKILL)
        return True

    def close(self) -> None:
        """Stop every child: the idle ones now, the busy ones killed (their tasks end as lost)."""
        with self._lock:
            self._closed = True
            idle = [c for cs in self._idle.values() for c in cs]
            busy = list(self._busy.values())
            self._idle.clear()
        for child in idle:
            _stop(child)
        for child in busy:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.proc.pid, signal.SIGKILL)


def _spawn(binding: Binding) -> Child:
    parent, end = socket.socketpair()
    env = {k: v for k, v in os.environ.items() if k not in GPU_VARS}
    env.update(binding)
    env["HETFLOW_WORKER_PATH"] = os.pathsep.join(sys.path)
    try:
        proc = subprocess.Popen(
            [sys.executable, WORKER_FILE, str(end.fileno()), str(os.getpid())],
            pass_fds=(end.fileno(),),
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
    except BaseException:
        parent.close()
        raise
    finally:
        end.close()
    return Child(proc, Connection(parent.detach()), binding)


def _died(child: Child, exc: BaseException) -> str:
    child.conn.close()
    try:
        rc = child.proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        child.proc.kill()
        rc = child.proc.wait()
    return f"signal {-rc}" if rc < 0 else f"exit status {rc}" if rc else type(exc).__name__


def _stop(child: Child) -> None:
    with contextlib.suppress(OSError):
        child.conn.send_bytes(pickle.dumps([("exit",)]))
    child.conn.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.proc.wait(timeout=2)
    if child.proc.poll() is None:
        child.proc.kill()
        child.proc.wait()
