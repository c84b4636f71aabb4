"""A warm worker process of an endpoint. Run as a script (`python worker.py FD PARENT_PID`) with the standard library
only, so a cold start costs an interpreter start and the function's own imports. It is the only place where what a
client sent is unpickled: the endpoint's server passes functions, arguments and results through as bytes.

Frames on its socket are a 4-byte big-endian length and a body:

    endpoint -> worker   b"D" fid(32) kind(1: r reference "module:name" | p pickle) data     define a function
                         b"C" key(u64) fid(32) fmt(1: p pickle (args, kwargs) | j JSON {"args", "kwargs"}) payload
                         b"X"                                                                   exit
    worker -> endpoint   b"R" key(u64) ok(u8) started(f64) ended(f64) body
                         body: the value (pickled, or JSON for fmt j); when the call raised, (exception or None,
                         "Type: message", traceback) pickled, or {"error", "traceback"} in JSON
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import pickle
import signal
import socket
import struct
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

HEAD = struct.Struct("!I")
RESULT = struct.Struct("!QBdd")
CALL = struct.Struct("!Q32sc")
_PR_SET_PDEATHSIG = 1


def resolve(kind: bytes, data: bytes) -> Callable[..., Any]:
    """The function a definition names: imported by reference, or unpickled (cloudpickle's output loads with pickle
    where cloudpickle is installed)."""
    if kind == b"p":
        fn = pickle.loads(data)
    else:
        module, _, name = data.decode().partition(":")
        obj: Any = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
        fn = obj
    return getattr(fn, "__hetflow_task__", fn)  # type: ignore[no-any-return]


def dumps(value: object) -> bytes:
    try:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        import cloudpickle  # lambdas, local classes

        return cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)  # type: ignore[no-any-return]


def failure(exc: BaseException, fmt: bytes) -> bytes:
    """What a call that raised sends back: the exception itself when it pickles and loads again, its text and its
    traceback."""
    text = f"{type(exc).__name__}: {exc}".strip()
    tb = traceback.format_exc()
    if fmt == b"j":
        return json.dumps({"error": text, "traceback": tb}).encode()
    exc.__traceback__ = None
    try:
        blob: object = dumps(exc)
        pickle.loads(blob)  # type: ignore[arg-type]
        sent: object = exc
    except Exception:
        sent = None
    return dumps((sent, text, tb))


class Worker:
    """Reads definitions and calls from the endpoint, runs each call in turn, answers with its result."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.funcs: dict[bytes, Callable[..., Any] | BaseException] = {}

    def read(self, n: int) -> bytearray:
        """The next n bytes, read in place (a payload of megabytes is copied once, from the socket)."""
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            k = self.sock.recv_into(view[got:], n - got)
            if k == 0:
                raise EOFError
            got += k
        return buf

    def serve(self) -> None:
        send = self.sock.sendall
        while True:
            try:
                (size,) = HEAD.unpack(self.read(4))
                body = self.read(size)
            except (EOFError, OSError):
                return  # the endpoint is gone
            op = bytes(body[:1])
            if op == b"C":
                key, fid, fmt = CALL.unpack_from(body, 1)
                out = self.call(key, fid, fmt, memoryview(body)[1 + CALL.size :])
                send(HEAD.pack(len(out)) + out)
            elif op == b"D":
                self.define(bytes(body[1:33]), bytes(body[33:34]), bytes(body[34:]))
            elif op == b"X":
                return

    def define(self, fid: bytes, kind: bytes, data: bytes) -> None:
        try:
            self.funcs[fid] = resolve(kind, data)
        except BaseException as exc:  # reported by each call of it
            self.funcs[fid] = exc

    def call(self, key: int, fid: bytes, fmt: bytes, payload: memoryview) -> bytes:
        started = time.time()
        fn = self.funcs.get(fid)
        ok, body = execute(KeyError(fid) if fn is None else fn, fmt, payload)
        return b"R" + RESULT.pack(key, ok, started, time.time()) + body


def execute(fn: Callable[..., Any] | BaseException, fmt: bytes, payload: bytes | memoryview) -> tuple[int, bytes]:
    """Call a function (an exception: its definition failed) on a payload: (1, the value) or (0, the failure
    record), each as fmt wants it (p: pickle, j: JSON). A cluster's workers run invocations through it too
    (faas/warmcache.py)."""
    try:
        if isinstance(fn, BaseException):
            raise fn
        if fmt == b"j":
            given = json.loads(bytes(payload)) if len(payload) else {}
            args, kwargs = given.get("args", []), given.get("kwargs", {})
        else:
            args, kwargs = pickle.loads(payload)
        value = fn(*args, **kwargs)
        return 1, json.dumps(value, default=repr).encode() if fmt == b"j" else dumps(value)
    except BaseException as exc:
        return 0, failure(exc, fmt)


def main() -> None:
    fd, parent = int(sys.argv[1]), int(sys.argv[2])
    if sys.platform.startswith("linux"):  # go when the endpoint goes, even after its kill -9
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)
    path = os.environ.pop("HETFLOW_WORKER_PATH", None)
    if path is not None:
        sys.path[:] = path.split(os.pathsep)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the endpoint's business
    Worker(socket.socket(fileno=fd)).serve()


if __name__ == "__main__":
    main()
