"""What runs where a Dask worker or a Ray node put a task: one call of a Python function or one shell command.

Imported on the workers (hetflow must be installed there, as it is in a cluster started from the same environment).
It reuses the local worker's way of finding functions and reporting errors. A command runs in a session of its own
with exactly the environment it was given on top of the worker's (CUDA_VISIBLE_DEVICES and the like), its process
group recorded so that a cancel reaches it: kill() from the same process (Dask), or an exception raised in the
thread that waits for it (Ray's ray.cancel).

A task's GPU environment is never shared: the environment of a process is one for all its threads, and CUDA reads it
once per process.
- Ray (run_task): a worker process runs one task at a time, and the executor gives each GPU grant worker processes
  of its own (a runtime environment per grant), so setting the environment in the process for the call is exact.
- Dask (Runner): the worker's tasks run in threads of its one process, which never changes its environment. A Python
  task with a GPU environment of its own (a grant, or none on a node with GPUs) runs in a child process bound to
  that environment (_bound.BoundWorkers); the others run in a thread, with the worker's environment as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hetflow.executors._bound import GPU_VARS, BoundWorkers, Result
from hetflow.executors._worker import (
    drop_empty,
    dump,
    dump_exception,
    exit_text,
    failure_text,
    resolve,
    start_command,
    wants_index,
)
from hetflow.executors.api import gpu_env, visible_devices
from hetflow.spec.resources import GpuGrant

_running: dict[int, int] = {}  # key -> process group of a command running in this worker process
_lock = threading.Lock()
_PHYSICAL = visible_devices()  # as the worker process started, before a task changed its environment
_STARTED_WITH = {k: os.environ.get(k) for k in GPU_VARS}
_FOREVER = 365 * 86400.0  # a wait with a time limit polls, so that an exception raised in its thread gets in


def run_task(
    key: int,
    ref: tuple[Any, ...] | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any] | None,
    index: int | None,
    command: str | None,
    grant: GpuGrant,
    has_gpus: bool,
    task_id: str,
    out_path: str,
    err_path: str,
    timeout: float | None,
) -> Result:
    """Run one task in a process that runs one task at a time (a Ray worker); never raises: every way it can end
    comes back as ("done" | "failed" | "timeout", ...). The grant indexes the node's GPUs, mapped onto the
    CUDA_VISIBLE_DEVICES the worker process started with; a Python function sees it in this process's environment."""
    env = gpu_env(grant, has_gpus, _PHYSICAL)
    env["HETFLOW_TASK_ID"] = task_id
    if command is not None:
        return _command(key, command, env, out_path, err_path, timeout)
    assert ref is not None
    _set_env(env)
    return _call(ref, args, kwargs, index)


def _call(ref: tuple[Any, ...], args: tuple[Any, ...], kwargs: dict[str, Any] | None, index: int | None) -> Result:
    """Call a function in this process, in the environment it has."""
    start = time.time()
    try:
        fn = resolve(ref)
        if index is not None and wants_index(fn):
            args = (index,)
        value = fn(*args, **kwargs) if kwargs else fn(*args)
    except BaseException as exc:
        end = time.time()
        error = f"{type(exc).__name__}: {exc}".strip()
        return ("failed", start, end, None, error, dump_exception(exc), failure_text(ref))
    end = time.time()
    try:
        blob = dump(value)
    except Exception as exc:
        return ("failed", start, end, None, f"the result could not be pickled: {type(exc).__name__}: {exc}", None, "")
    return ("done", start, end, blob, "", None, "")


def _command(
    key: int, command: str, env: dict[str, str], out_path: str, err_path: str, timeout: float | None
) -> Result:
    start = time.time()
    try:
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        proc = start_command(command, env, out_path, err_path)
    except OSError as exc:
        return ("failed", start, time.time(), None, f"cannot start the command: {exc}", None, "")
    with _lock:
        _running[key] = proc.pid
    try:
        rc = proc.wait(timeout=_FOREVER if timeout is None else timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        _killpg(proc.pid)
        rc = proc.wait()
        timed_out = True
    except BaseException:  # cancelled where it runs (Ray raises in this thread): the command goes too
        _killpg(proc.pid)
        raise
    finally:
        with _lock:
            _running.pop(key, None)
    end = time.time()
    value = dump((rc, out_path, err_path))
    error = exit_text(rc, err_path) if rc != 0 and not timed_out else ""
    drop_empty(out_path, err_path)
    if timed_out:
        return ("timeout", start, end, value, f"timed out after {timeout:g} s", None, "")
    if rc == 0:
        return ("done", start, end, value, "", None, "")
    return ("failed", start, end, value, error, None, "")


def _set_env(env: dict[str, str]) -> None:
    for k in GPU_VARS:
        if k not in env:
            value = _STARTED_WITH[k]
            if value is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = value
    os.environ.update(env)


def kill(key: int) -> bool:
    """Kill the command of an execution if it runs in this process; True when there was one."""
    with _lock:
        pgid = _running.get(key)
    if pgid is None:
        return False
    _killpg(pgid)
    return True


def _killpg(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class Runner:
    """A Dask actor, one per worker: each call runs one task in a thread of its own (a daemon: a task that was
    cancelled or timed out never holds the worker's exit), a Python task with a GPU environment of its own through a
    child process bound to it. A call goes straight from the driver's client to the worker and its result straight
    back, without the scheduler: one message each way per task, where a Dask task takes three and a fetch."""

    def __init__(self) -> None:
        self._bound = BoundWorkers()

    async def run(self, call: bytes) -> Result:
        """Run the task whose run_task arguments are pickled in call."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Result] = loop.create_future()
        work = self._work(call)  # here, in the worker's event loop: a bound child is started from this thread

        def thread() -> None:
            result = work()

            def settle() -> None:
                if not done.done():
                    done.set_result(result)

            with contextlib.suppress(RuntimeError):  # the worker's loop has closed: nobody waits any more
                loop.call_soon_threadsafe(settle)

        threading.Thread(target=thread, name="hetflow-task", daemon=True).start()
        return await done

    def kill(self, key: int) -> bool:
        """Stop an execution running here: kill its command's process group, or the child running its function."""
        return kill(key) or self._bound.kill(key)

    def close(self) -> None:
        """Stop the bound children (the driver is done with this worker)."""
        self._bound.close()

    def _work(self, call: bytes) -> Callable[[], Result]:
        """What a task thread runs for this call."""
        try:
            key, ref, args, kwargs, index, command, grant, has_gpus, task_id, out_path, err_path, timeout = (
                pickle.loads(call)
            )
            env = gpu_env(grant, has_gpus, _PHYSICAL)
            child = self._bound.take(env) if command is None and env else None
        except BaseException as exc:
            t = time.time()
            error = f"the task could not be loaded on its worker: {type(exc).__name__}: {exc}"
            return lambda: ("failed", t, t, None, error, None, "")
        if command is not None:
            env["HETFLOW_TASK_ID"] = task_id
            return lambda: _command(key, command, env, out_path, err_path, timeout)
        if child is not None:
            return lambda: self._bound.run(child, key, ref, args, kwargs, index, task_id)
        return lambda: _call(ref, args, kwargs, index)
