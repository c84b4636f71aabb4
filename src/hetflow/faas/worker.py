"""A warm worker process of an endpoint. Run as a script (`python worker.py FD PARENT_PID`) with the standard library
only, so a cold start costs an interpreter start and the function's own imports. It is the only place where what a
client sent is unpickled: the endpoint's server passes functions, arguments and results through as bytes.

Frames on its socket are a 4-byte big-endian length and a body:

    endpoint -> worker   b"D" fid(32) kind(1: r reference "module:name" | p pickle) data     define a function
                         b"C" key(u64) fid(32) fmt(1) payload, fmt: p pickle of (args, kwargs) | j JSON {"args",
                             "kwargs"} | b the same pickle with its buffers out of band (pack() below)
                         b"X"                                                                   exit
    worker -> endpoint   b"R" key(u64) ok(u8) started(f64) ended(f64) body
                         body: the value (pickled as the call's fmt, or JSON for fmt j); when the call raised,
                         (exception or None, "Type: message", traceback) pickled, or {"error", "traceback"} in JSON

Large values travel as pickle protocol 5 with out-of-band buffers (fmt b): bytes, bytearrays and numpy arrays are
not copied into the pickle stream but sent after it from where they lie (sendmsg of the parts), and the receiver
unpickles with buffers that are views of the frame it read (a numpy array is then a view of that frame, uncopied).
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
BUFFERS = struct.Struct("!IQ")  # fmt b: buffer count, pickle stream length; then each buffer's length (!Q)
BLOB_MIN = 1 << 16  # bytes and bytearrays this large (arguments, values, their items) go out of band
IOV_MAX = 512  # parts per sendmsg (the system allows 1024)
Part = bytes | bytearray | memoryview
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


class Blob:
    """A large bytes or bytearray, pickled out of band (pickle pickles bytes in band, and lets no reducer say
    otherwise): it loads as the same type, copied once from the frame it arrived in."""

    __slots__ = ("data",)

    def __init__(self, data: bytes | bytearray) -> None:
        self.data = data

    def __reduce_ex__(self, protocol: object) -> tuple[type, tuple[pickle.PickleBuffer]]:
        return type(self.data), (pickle.PickleBuffer(self.data),)


def blobs(value: object, depth: int) -> object:
    """value with its large bytes and bytearrays (itself, and the items of plain tuples, lists and dicts to depth)
    wrapped as Blob; value itself when there are none (the common small call pays a few checks)."""
    kind = type(value)
    if kind is bytes or kind is bytearray:
        return Blob(value) if len(value) >= BLOB_MIN else value  # type: ignore[arg-type]
    if depth <= 0 or not (kind is tuple or kind is list or kind is dict) or not value:
        return value
    items = list(value.values() if kind is dict else value)  # type: ignore[attr-defined,arg-type]
    changed = False
    for i, item in enumerate(items):
        wrapped = blobs(item, depth - 1)
        if wrapped is not item:
            items[i] = wrapped
            changed = True
    if not changed:
        return value
    return dict(zip(value, items, strict=True)) if kind is dict else kind(items)  # type: ignore[call-overload]


def pack(value: object, depth: int = 1, snapshot: bool = False) -> list[Part]:
    """value as fmt b: the header, the pickle stream, then its out-of-band buffers as they lie in memory (none
    copied; with snapshot, those of mutable objects are copied, so that changing them later changes nothing sent)."""
    views: list[Part] = []

    def keep(buf: pickle.PickleBuffer) -> bool:
        try:
            raw = buf.raw()
        except BufferError:  # not contiguous: in band
            return True
        views.append(raw if not snapshot or type(raw.obj) is bytes else raw.tobytes())
        return False

    wrapped = blobs(value, depth)
    try:
        stream = pickle.dumps(wrapped, protocol=5, buffer_callback=keep)
    except Exception:
        import cloudpickle  # lambdas, local classes

        views.clear()
        stream = cloudpickle.dumps(wrapped, protocol=5, buffer_callback=keep)
    if not views:
        return [BUFFERS.pack(0, len(stream)), stream]
    sizes = [len(v) if not isinstance(v, memoryview) else v.nbytes for v in views]
    head = BUFFERS.pack(len(views), len(stream)) + struct.pack(f"!{len(sizes)}Q", *sizes)
    return [head, stream, *views]


def unpack(data: bytes | bytearray | memoryview) -> Any:
    """A value packed as fmt b; its buffers are views of data (ValueError when the layout does not add up)."""
    view = memoryview(data).cast("B") if not isinstance(data, memoryview) or data.format != "B" else data
    if len(view) < BUFFERS.size:
        raise ValueError("short out-of-band payload")
    count, length = BUFFERS.unpack_from(view)
    if not count and BUFFERS.size + length == len(view):
        return pickle.loads(view[BUFFERS.size :])
    at = BUFFERS.size + 8 * count
    if count > len(view) or at + length > len(view):
        raise ValueError("malformed out-of-band payload")
    sizes = struct.unpack_from(f"!{count}Q", view, BUFFERS.size)
    stream = view[at : at + length]
    at += length
    buffers = []
    for n in sizes:
        buffers.append(view[at : at + n])
        at += n
    if at != len(view):
        raise ValueError("malformed out-of-band payload")
    return pickle.loads(stream, buffers=buffers)


def send_parts(sock: socket.socket, parts: list[Part]) -> None:
    """sendall of parts one after the other, with no copy of them (sendmsg; a TLS socket cannot: joined)."""
    views = [memoryview(p).cast("B") for p in parts if len(p)]
    if type(sock) is not socket.socket or sum(v.nbytes for v in views) < BLOB_MIN:  # small: joined, one send
        sock.sendall(b"".join(views))
        return
    i = 0
    while i < len(views):
        sent = sock.sendmsg(views[i : i + IOV_MAX])
        while sent:
            n = len(views[i])
            if sent >= n:
                sent -= n
                i += 1
            else:
                views[i] = views[i][sent:]
                sent = 0


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
    return b"".join(pack((sent, text, tb))) if fmt == b"b" else dumps((sent, text, tb))


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
        while True:
            try:
                (size,) = HEAD.unpack(self.read(4))
                body = self.read(size)
            except (EOFError, OSError):
                return  # the endpoint is gone
            op = bytes(body[:1])
            if op == b"C":
                key, fid, fmt = CALL.unpack_from(body, 1)
                send_parts(self.sock, self.call(key, fid, fmt, memoryview(body)[1 + CALL.size :]))
            elif op == b"D":
                self.define(bytes(body[1:33]), bytes(body[33:34]), bytes(body[34:]))
            elif op == b"X":
                return

    def define(self, fid: bytes, kind: bytes, data: bytes) -> None:
        try:
            self.funcs[fid] = resolve(kind, data)
        except BaseException as exc:  # reported by each call of it
            self.funcs[fid] = exc

    def call(self, key: int, fid: bytes, fmt: bytes, payload: memoryview) -> list[Part]:
        """The result frame's parts (the value's buffers where they lie)."""
        started = time.time()
        fn = self.funcs.get(fid)
        ok, body = run(KeyError(fid) if fn is None else fn, fmt, payload)
        head = b"R" + RESULT.pack(key, ok, started, time.time())
        return [HEAD.pack(len(head) + sum(len(p) if not isinstance(p, memoryview) else p.nbytes for p in body)), head,
                *body]  # fmt: skip


def run(fn: Callable[..., Any] | BaseException, fmt: bytes, payload: bytes | memoryview) -> tuple[int, list[Part]]:
    """Call a function (an exception: its definition failed) on a payload: (1, the value) or (0, the failure
    record), each as fmt wants it (p: pickle, b: pickle with out-of-band buffers, j: JSON), as parts."""
    try:
        if isinstance(fn, BaseException):
            raise fn
        if fmt == b"j":
            given = json.loads(bytes(payload)) if len(payload) else {}
            args, kwargs = given.get("args", []), given.get("kwargs", {})
        else:
            args, kwargs = unpack(payload) if fmt == b"b" else pickle.loads(payload)
        value = fn(*args, **kwargs)
        if fmt == b"b":
            return 1, pack(value)
        return 1, [json.dumps(value, default=repr).encode() if fmt == b"j" else dumps(value)]
    except BaseException as exc:
        return 0, [failure(exc, fmt)]


def execute(fn: Callable[..., Any] | BaseException, fmt: bytes, payload: bytes | memoryview) -> tuple[int, bytes]:
    """run() with the parts joined: a cluster's workers run invocations through it (faas/warmcache.py)."""
    ok, parts = run(fn, fmt, payload)
    return ok, parts[0] if len(parts) == 1 and isinstance(parts[0], bytes) else b"".join(parts)


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
