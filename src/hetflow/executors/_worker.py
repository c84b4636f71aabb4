"""A persistent worker process of the local executor. Run as a script (`python _worker.py FD PARENT_PID`); the
executors import its helpers too (reference and resolve, dump, exit_text), which the Dask and Ray workers share. It
needs only the standard library, so a worker starts in a few milliseconds.

It reads batches of operations from its socket, runs them one after another and answers with batches of events:

    driver -> worker   [("def", fid, ref), ("run", key, fid, args, kwargs, cpus, env), ("cmd", key, command, cpus,
                        env, out_path, err_path), ("exit",)]
    worker -> driver   [("pid", key, pid)]                 a command's process started (its process group is pid)
                       [("end", key, ok, start, end, value, error, exception, traceback)]

A function reference is ("ref", module, qualname) or ("blob", pickled function, its file); a function decorated with
`hetflow.task` is unwrapped through its `__hetflow_task__` attribute. A "pkg.mod:func" reference taking one
parameter is called with the task's index (args = (index,) is sent only then; see LocalExecutor).
A command runs in its own session (process group), so that a timeout or a cancel kills its whole tree.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import inspect
import linecache
import os
import pickle
import re
import select
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

_PR_SET_PDEATHSIG = 1
_POLL_S = 0.1  # how often a worker waiting for a command checks that its driver is still there


_command_pgid = 0  # the process group of the command running now, if any


def _on_term(signum: int, frame: object) -> None:
    """SIGTERM (the driver died, or someone asked): take the running command along, and go."""
    if _command_pgid:
        with contextlib.suppress(OSError):
            os.killpg(_command_pgid, signal.SIGKILL)
    os._exit(1)


def _die_with_parent(parent: int) -> None:
    """Linux: the kernel sends SIGTERM to this worker when the driver thread that started it dies (kill -9 of the
    driver), even in the middle of a Python task; _on_term then kills the running command too."""
    signal.signal(signal.SIGTERM, _on_term)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the driver died before the request took effect
        os._exit(1)


def resolve(ref: tuple[Any, ...]) -> Callable[..., Any]:
    if ref[0] == "blob":
        fn = pickle.loads(ref[1])
    else:
        obj: Any = importlib.import_module(ref[1])
        for part in ref[2].split("."):
            obj = getattr(obj, part)
        fn = obj
    return getattr(fn, "__hetflow_task__", fn)  # type: ignore[no-any-return]


def reference(fn: Callable[..., Any] | str) -> tuple[Any, ...]:
    """How a worker finds a function (resolve reads it back): ("ref", module, qualname) when it can import it, else
    ("blob", pickled by value, the file it was defined in), the file for its tracebacks (failure_text)."""
    if isinstance(fn, str):
        return ("ref", *fn.split(":", 1))
    module: str | None = getattr(fn, "__module__", None)
    qualname: str | None = getattr(fn, "__qualname__", None)
    if module and qualname and module != "__main__" and "<" not in qualname:
        obj: Any = sys.modules.get(module)
        for part in qualname.split("."):
            obj = getattr(obj, part, None)
        if obj is fn or getattr(obj, "__hetflow_task__", None) is fn:
            return ("ref", module, qualname)
    import cloudpickle

    code = getattr(getattr(fn, "__hetflow_task__", fn), "__code__", None)
    source = os.path.abspath(code.co_filename) if code is not None and not code.co_filename.startswith("<") else ""
    return ("blob", cloudpickle.dumps(fn, protocol=pickle.HIGHEST_PROTOCOL), source)


_DYNAMIC_FRAME = re.compile(r'  File "<dynamic-code>", line (\d+), in (.*)\n')


def failure_text(ref: tuple[Any, ...] | None) -> str:
    """The traceback of the exception being handled. A function sent by value (cloudpickle) runs code whose file is
    "<dynamic-code>": its frames name the file the function came from instead (ref[2], from reference), with the
    line's source when that file is on this machine too, as they would in the script itself."""
    text = traceback.format_exc()
    source = ref[2] if ref is not None and len(ref) > 2 and ref[0] == "blob" else ""
    if not source or "<dynamic-code>" not in text:
        return text

    def named(m: re.Match[str]) -> str:
        line = linecache.getline(source, int(m[1])).strip()
        return f'  File "{source}", line {m[1]}, in {m[2]}\n' + (f"    {line}\n" if line else "")

    return _DYNAMIC_FRAME.sub(named, text)


def drop_empty(*paths: str) -> None:
    """Remove the log files an attempt left empty (a command that printed nothing leaves no file behind)."""
    for path in paths:
        with contextlib.suppress(OSError):
            if os.path.getsize(path) == 0:
                os.remove(path)


def wants_index(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params)


def dump(value: object) -> bytes:
    try:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        import cloudpickle  # by value: lambdas, local classes

        return cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)  # type: ignore[no-any-return]


def dump_exception(exc: BaseException) -> bytes | None:
    """The exception, pickled without its traceback: that goes as text (failure_text), which names the files of
    functions sent by value; a pickled one (tblib, where Dask installed it) would name "<dynamic-code>"."""
    tb = exc.__traceback__
    exc.__traceback__ = None
    try:
        blob = dump(exc)
        pickle.loads(blob)  # some exceptions pickle but cannot be rebuilt
        return blob
    except Exception:
        return None
    finally:
        exc.__traceback__ = tb


def start_command(command: str, env: dict[str, str] | None, out_path: str, err_path: str) -> subprocess.Popen[bytes]:
    """Start a shell command in its own session, stdout and stderr into the task's files, env added to ours."""
    full = dict(os.environ)
    if env:
        full.update(env)
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        return subprocess.Popen(
            command, shell=True, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=full, start_new_session=True
        )


class Worker:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.parent = os.getppid()
        self.funcs: dict[int, tuple[Callable[..., Any], bool]] = {}
        self.refs: dict[int, tuple[Any, ...]] = {}  # for failure_text
        self.cpus: tuple[int, ...] | None = None
        self.env: dict[str, str] = {}

    def serve(self) -> None:
        conn = self.conn
        recv, send = conn.recv_bytes, conn.send_bytes
        while True:
            try:
                ops = pickle.loads(recv())
            except (EOFError, OSError):
                return  # the driver is gone
            out: list[tuple[Any, ...]] = []
            for op in ops:
                kind = op[0]
                if kind == "run":
                    out.append(self.call(*op[1:]))
                elif kind == "def":
                    self.define(op[1], op[2])
                elif kind == "cmd":
                    if out:  # what ran before goes first
                        send(dump(out))
                        out = []
                    out.append(self.command(*op[1:]))
                elif kind == "exit":
                    if out:
                        send(dump(out))
                    return
            if out:
                send(dump(out))

    def define(self, fid: int, ref: tuple[Any, ...]) -> None:
        self.refs[fid] = ref
        try:
            fn = resolve(ref)
            self.funcs[fid] = (fn, wants_index(fn))
        except BaseException as exc:  # reported when a task uses it
            err = exc

            def broken(*_a: object, **_k: object) -> None:
                raise err

            self.funcs[fid] = (broken, False)

    def _place(self, cpus: tuple[int, ...] | None, env: dict[str, str] | None) -> None:
        if cpus is not None and cpus != self.cpus:
            try:
                os.sched_setaffinity(0, cpus)
                self.cpus = cpus
            except (OSError, AttributeError):
                pass
        if env:
            mine = self.env
            for k, v in env.items():
                if mine.get(k) != v:
                    os.environ[k] = v
                    mine[k] = v

    def call(
        self,
        key: int,
        fid: int,
        args: tuple[Any, ...],
        kwargs: dict[str, Any] | None,
        cpus: tuple[int, ...] | None,
        env: dict[str, str] | None,
        index: int | None = None,
    ) -> tuple[Any, ...]:
        self._place(cpus, env)
        start = time.time()
        try:
            fn, wants_index = self.funcs[fid]  # a KeyError (the driver never sent it) fails this task only
            if index is not None and wants_index:
                args = (index,)
            value = fn(*args, **kwargs) if kwargs else fn(*args)
        except BaseException as exc:
            end = time.time()
            tb = failure_text(self.refs.get(fid))
            error = f"{type(exc).__name__}: {exc}".strip()
            return ("end", key, False, start, end, None, error, dump_exception(exc), tb)
        end = time.time()
        try:
            blob = dump(value)
        except Exception as exc:
            error = f"the result could not be pickled: {type(exc).__name__}: {exc}"
            return ("end", key, False, start, end, None, error, None, "")
        return ("end", key, True, start, end, blob, "", None, "")

    def command(
        self,
        key: int,
        command: str,
        cpus: tuple[int, ...] | None,
        env: dict[str, str] | None,
        out_path: str,
        err_path: str,
    ) -> tuple[Any, ...]:
        self._place(cpus, None)  # the command inherits the affinity
        start = time.time()
        try:
            proc = start_command(command, env, out_path, err_path)
        except OSError as exc:
            return ("end", key, False, start, time.time(), None, f"cannot start the command: {exc}", None, "")
        global _command_pgid
        _command_pgid = proc.pid
        self.conn.send_bytes(dump([("pid", key, proc.pid)]))
        try:
            rc = self._wait(proc)
        finally:
            _command_pgid = 0
        end = time.time()
        value = dump((rc, out_path, err_path))
        error = exit_text(rc, err_path) if rc != 0 else ""
        drop_empty(out_path, err_path)
        return ("end", key, rc == 0, start, end, value, error, None, "")

    def _wait(self, proc: subprocess.Popen[bytes]) -> int:
        """The command's exit status. Waits on a pidfd and the driver's socket together where Linux has pidfds (no
        polling delay); when the socket says the driver is gone (or tells it to stop), the command's process group is
        killed and the worker exits."""
        pidfd = -1
        if hasattr(os, "pidfd_open"):
            try:
                pidfd = os.pidfd_open(proc.pid)
            except OSError:
                pidfd = -1
        try:
            while True:
                if pidfd >= 0:
                    ready, _, _ = select.select([pidfd, self.conn.fileno()], [], [])
                    if pidfd in ready:
                        return proc.wait()
                else:
                    try:
                        return proc.wait(timeout=_POLL_S)
                    except subprocess.TimeoutExpired:
                        if os.getppid() == self.parent:
                            continue
                with contextlib.suppress(OSError):  # the driver is gone, or said "exit": take the command along
                    os.killpg(proc.pid, signal.SIGKILL)
                os._exit(1)
        finally:
            if pidfd >= 0:
                os.close(pidfd)


def exit_text(rc: int, err_path: str) -> str:
    what = f"killed by signal {-rc}" if rc < 0 else f"exit status {rc}"
    try:
        with open(err_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 2000))
            tail = f.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        tail = []
    return f"{what}: {tail[-1][:300]}" if tail else what


def main() -> None:
    fd, parent = int(sys.argv[1]), int(sys.argv[2])
    _die_with_parent(parent)
    path = os.environ.pop("HETFLOW_WORKER_PATH", None)
    if path is not None:
        sys.path[:] = [p for p in path.split(os.pathsep)]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's business
    Worker(Connection(fd)).serve()


if __name__ == "__main__":
    main()
