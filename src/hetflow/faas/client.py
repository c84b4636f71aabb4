"""The Python client of an endpoint: `hetflow.Endpoint(url, token=...)`.

    with hf.Endpoint("http://127.0.0.1:8700", token_file="~/.hetflow/endpoint.token") as ep:
        f = ep.submit(simulate, 42, cores=2)          # a concurrent.futures.Future, awaitable too
        print(f.result(), f.info["kind"])           # cold, warm or hot, and where the time went
        with ep.lease(cores=4, seconds=600) as lease:
            lease.submit(step, x).result()           # hot: on the lease's own worker

Registration, resources, health and leases go over the HTTP API (http.client, one kept-alive connection);
invocations and their results over the fast channel (link.py). A function is registered once per client, by
reference ("module:name") when its module is importable here and is not __main__, else by value (cloudpickle).
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import http.client
import json
import os
import pickle
import ssl
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from hetflow.faas.failures import EndpointError, InvocationError, RemoteError, error_for
from hetflow.faas.frames import INVOKE, KINDS, NO_LEASE, RESULT, RETURNED, STATUSES, frame, frame_parts
from hetflow.faas.link import ChannelError, Link
from hetflow.faas.security import DEFAULT_TOKEN_FILE
from hetflow.faas.worker import Part, pack, unpack

CANCEL_WAIT_S = 5.0  # close() waits this long at most for cancels still being sent


class InvocationFuture(concurrent.futures.Future[Any]):
    """A Future of one invocation, also awaitable. info: kind (cold, warm, hot), node, and timings (epoch seconds:
    sent and got on this client; received, queued, returned on the endpoint; started, ended on its worker).
    cancel() stops waiting here and tells the endpoint (DELETE /v1/invocations/ID, in the background): one that
    waits there leaves its queue, one that runs loses its worker; a call on a lease runs on."""

    def __init__(self, ident: str, cancelled: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.id = ident
        self.info: dict[str, Any] = {}
        self._cancelled = cancelled

    def cancel(self) -> bool:
        if not super().cancel():
            return False
        if self._cancelled is not None:
            self._cancelled(self.id)
        return True

    def __await__(self) -> Generator[Any, None, Any]:
        return asyncio.wrap_future(self).__await__()


class Endpoint:
    """A connection to one endpoint. token: the endpoint's token (or token_file: where it is; neither: the file
    `hetflow endpoint start` writes by default, ~/.hetflow/endpoint.token, as on the same machine); verify: for https,
    True (the system's CAs), a CA file, or False; patience: seconds the client keeps reconnecting to an endpoint
    that went away before it fails what waits (results come once it is back: the endpoint keeps them)."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        token_file: str | os.PathLike[str] | None = None,
        verify: bool | str = True,
        timeout: float = 30.0,
        patience: float = 60.0,
    ) -> None:
        if token is None:
            path = Path(token_file if token_file is not None else DEFAULT_TOKEN_FILE).expanduser()
            try:
                token = path.read_text().strip()
            except OSError as exc:
                raise EndpointError(0, f"no token: cannot read {path} ({exc.strerror}); give token= or "
                                       "token_file=") from None  # fmt: skip
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EndpointError(0, f"bad endpoint URL {url!r}: give http://HOST:PORT or https://HOST:PORT")
        self.url = url.rstrip("/")
        self.token = token
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.timeout = timeout
        self.tls: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self.tls = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
            if verify is False:
                self.tls.check_hostname = False
                self.tls.verify_mode = ssl.CERT_NONE
        self._http_lock = threading.Lock()
        self._http: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self._asking: set[threading.Thread] = set()  # cancels on their way: close() waits for them
        self._functions: dict[int, tuple[Callable[..., Any], str, dict[str, str]]] = {}
        self._pending: dict[bytes, tuple[InvocationFuture, list[Part]]] = {}
        self._acks: list[bytes] = []
        self._down = ""
        self.offset = 0.0
        self.max_payload = 0
        self._link = Link(
            self._locate, token, self.tls, self.host, self._on_frame, self._on_connect,
            self._on_down, patience,
        )  # fmt: skip
        try:
            self._link.open()
        except ChannelError as exc:
            raise error_for(exc.status, str(exc)) from None

    # ---- HTTP -----------------------------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One call of the HTTP API: (status, decoded JSON or None). EndpointError (or a subclass by status) for
        4xx and 5xx answers and an endpoint that cannot be reached."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        for attempt in (1, 2):  # a kept-alive connection the endpoint closed meanwhile: once more on a new one
            with self._http_lock:
                try:
                    conn = self._http or self._connect_http()
                    conn.request(method, path, data, headers)
                    resp = conn.getresponse()
                    raw = resp.read()
                    self._http = conn
                except (OSError, http.client.HTTPException) as exc:
                    self._http = None
                    if attempt == 2:
                        raise EndpointError(0, f"the endpoint {self.url} cannot be reached: {exc}") from None
                    continue
            out = json.loads(raw) if raw else None
            if resp.status >= 400:
                message = out.get("error", "") if isinstance(out, dict) else raw[:200].decode("utf-8", "replace")
                raise error_for(resp.status, f"{method} {path}: {message}")
            return resp.status, out
        raise AssertionError("unreachable")

    def _connect_http(self) -> http.client.HTTPConnection:
        if self.tls is not None:
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self.tls)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def _locate(self) -> tuple[str, int]:
        """Where the endpoint's channel listens (asked again at each reconnection)."""
        try:
            hello = self.health()
        except EndpointError as exc:
            raise ChannelError(str(exc), exc.status) from None
        self.max_payload = int(hello.get("max_payload", 0))
        return self.host, int(hello["channel"]["port"])

    def health(self) -> dict[str, Any]:
        """The endpoint's health, with this client's estimate of the round trip (rtt, s) and of the endpoint's
        clock offset (offset: endpoint clock minus this one, at the middle of the round trip, as SeBS does)."""
        t0 = time.time()
        _, out = self.request("GET", "/v1/health")
        t1 = time.time()
        out["rtt"] = t1 - t0
        out["offset"] = self.offset = float(out["time"]) - (t0 + t1) / 2
        return dict(out)

    def resources(self) -> dict[str, Any]:
        """The endpoint's nodes (name, type, cores, gpus, memory and what is free of them now) and its load."""
        return dict(self.request("GET", "/v1/resources")[1])

    # ---- functions ------------------------------------------------------------------------------------------------
    def register(self, fn: Callable[..., Any] | str) -> str:
        """The endpoint's id of a function (registered at the first call): a "module:name" string or an object
        importable here goes by reference, anything else by value."""
        key = id(fn)
        with self._lock:
            known = self._functions.get(key)
        if known is not None:
            return known[1]
        body = definition(fn)
        fid = str(self.request("POST", "/v1/functions", body)[1]["function"])
        with self._lock:
            self._functions[key] = (fn, fid, body)  # type: ignore[assignment]
        return fid

    # ---- invoking -------------------------------------------------------------------------------------------------
    def submit(
        self,
        fn: Callable[..., Any] | str,
        /,
        *args: Any,
        cores: int = 1,
        gpus: float = 0.0,
        memory: int = 0,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> InvocationFuture:
        """Invoke fn(*args, **kwargs) on the endpoint with these resources; its future at once."""
        return self._invoke(fn, args, kwargs, cores, gpus, memory, timeout, NO_LEASE)

    def _invoke(self, fn: Callable[..., Any] | str, args: tuple[Any, ...], kwargs: dict[str, Any], cores: int,
                gpus: float, memory: int, timeout: float | None, lease: bytes) -> InvocationFuture:  # fmt: skip
        if self._down:
            raise EndpointError(0, self._down)
        fid = self.register(fn)
        payload = pack((args, kwargs), depth=2, snapshot=True)  # large buffers out of band, sent from where they lie
        ident = os.urandom(16)
        head = INVOKE.pack(ident, bytes.fromhex(fid), b"b", cores, float(gpus), memory, float(timeout or 0), lease)
        data = frame_parts(b"I", head, *payload)
        fut = InvocationFuture(ident.hex(), self.cancel_remote if lease == NO_LEASE else None)
        fut.info["timings"] = {"sent": time.time()}
        with self._lock:
            self._pending[ident] = (fut, data)
        self._link.send(data)
        return fut

    def map(self, fn: Callable[..., Any] | str, *iterables: Iterable[Any], cores: int = 1, gpus: float = 0.0,
            memory: int = 0, timeout: float | None = None) -> list[InvocationFuture]:  # fmt: skip
        """fn(*item) for each item, sent together (one write; the endpoint places them as one task set)."""
        with self.batch():
            return [self.submit(fn, *item, cores=cores, gpus=gpus, memory=memory, timeout=timeout)
                    for item in zip(*iterables, strict=False)]  # fmt: skip

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Submissions inside the block are sent together when it ends (one write, one task set per function)."""
        self._link.hold()
        try:
            yield
        finally:
            self._link.release()

    def lease(self, cores: int = 1, gpus: float = 0.0, memory: int = 0, seconds: float = 60.0) -> Lease:
        """Reserve resources on the endpoint, with a worker kept hot for them, for `seconds` (LeaseRefused at once,
        with the reason, when they cannot be had now)."""
        _, out = self.request("POST", "/v1/leases", {"cores": cores, "gpus": gpus, "memory": memory,
                                                     "seconds": seconds})  # fmt: skip
        return Lease(self, out)

    def cancel_remote(self, ident: str) -> None:
        """Ask the endpoint to stop an invocation, from a thread of its own (cancel() does not wait); one that has
        ended or is unknown there needs nothing."""

        def ask() -> None:
            for _ in range(3):  # 404: its frame may still be on its way (writes are coalesced)
                try:
                    self.request("DELETE", f"/v1/invocations/{ident}")
                except EndpointError as exc:
                    if exc.status == 404:
                        time.sleep(0.05)
                        continue
                return

        def asked() -> None:
            try:
                ask()
            finally:
                with self._lock:
                    self._asking.discard(thread)

        thread = threading.Thread(target=asked, name="hetflow-cancel", daemon=True)
        with self._lock:
            self._asking.add(thread)
        thread.start()

    # ---- results --------------------------------------------------------------------------------------------------
    def _on_frame(self, op: bytes, body: memoryview) -> None:
        if op != b"R":
            return
        ident, status, kind, code, received, queued, started, ended = RESULT.unpack_from(body)
        (returned,) = RETURNED.unpack_from(body, RESULT.size)
        value = body[RESULT.size + RETURNED.size :]
        with self._lock:
            got = self._pending.pop(ident, None)
            if got is not None and STATUSES[status] != "refused":
                self._acks.append(ident)
            acks = self._acks if len(self._acks) >= 64 or not self._pending else []
            if acks:
                self._acks = []
        if got is not None and not got[0].done():  # (cancelled here meanwhile: the endpoint ran it anyway)
            fut = got[0]
            fut.info.update(kind=KINDS[kind], status=STATUSES[status])
            fut.info["timings"].update(received=received, queued=queued, started=started, ended=ended,
                                       returned=returned, got=time.time())  # fmt: skip
            self._settle(fut, STATUSES[status], KINDS[kind], code, value)
        if acks:  # after the result is in its future's hands: the ack is not on the call's path
            self._link.send([frame(b"A", *acks)])

    def _settle(self, fut: InvocationFuture, status: str, kind: str, code: int, value: memoryview) -> None:
        try:
            if status == "done":
                fut.set_result(unpack(value))  # (a numpy array: a view of the frame it came in)
            elif status == "failed" and kind:  # the function raised (without a kind: it failed at the endpoint)
                exc, text, tb = unpack(value)
                err = exc if isinstance(exc, BaseException) else RemoteError(text)
                err.remote_traceback = tb  # type: ignore[attr-defined]
                err.__cause__ = RemoteError(f"on the endpoint's worker:\n{tb}")  # printed with it, as a Session does
                fut.set_exception(err)
            elif status == "refused":
                fut.set_exception(error_for(code, bytes(value).decode("utf-8", "replace")))
            else:
                fut.set_exception(InvocationError(status, bytes(value).decode("utf-8", "replace")))
        except Exception as exc:  # a result that does not unpickle here
            if not fut.done():
                fut.set_exception(RemoteError(f"the result could not be read here: {type(exc).__name__}: {exc}"))

    def _on_connect(self) -> list[list[Part]]:
        """After a reconnection: register the functions again (an endpoint restarted without a journal forgot
        them), then send again every invocation without a result."""
        with self._lock:
            functions = list(self._functions.values())
            for ident in [i for i, (fut, _) in self._pending.items() if fut.cancelled()]:
                del self._pending[ident]  # cancelled here: not sent again (its result, if one comes, is dropped)
            again = [data for _, data in self._pending.values()]
        for _, _, body in functions:
            with contextlib.suppress(EndpointError):
                self.request("POST", "/v1/functions", body)
        return again

    def _on_down(self, reason: str) -> None:
        self._down = reason
        with self._lock:
            pending, self._pending = self._pending, {}
        for fut, _ in pending.values():
            if not fut.done():
                fut.set_exception(EndpointError(0, reason))

    # ---- leases and the end ---------------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the channel (invocations still running go on at the endpoint; their results wait there), once the
        cancels asked for are sent (at most CANCEL_WAIT_S: a program that cancels and exits has them reach it)."""
        deadline = time.monotonic() + CANCEL_WAIT_S
        with self._lock:
            asking = list(self._asking)
        for thread in asking:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            acks, self._acks = self._acks, []
        if acks:
            with contextlib.suppress(Exception):
                self._link.send([frame(b"A", *acks)])
        self._link.close()
        with self._http_lock:
            if self._http is not None:
                self._http.close()
                self._http = None

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class Lease:
    """Resources held on the endpoint until release() or expiry, with a pinned worker: submit() runs hot there."""

    def __init__(self, endpoint: Endpoint, info: dict[str, Any]) -> None:
        self.endpoint = endpoint
        self.info = info
        self.id = str(info["id"])
        self.node = str(info.get("node", ""))
        self.expires = float(info.get("expires", 0.0))

    def submit(self, fn: Callable[..., Any] | str, /, *args: Any, timeout: float | None = None,
               **kwargs: Any) -> InvocationFuture:  # fmt: skip
        """Invoke fn(*args, **kwargs) on the lease's worker, inside what the lease holds."""
        lease = bytes.fromhex(self.id)
        return self.endpoint._invoke(fn, args, kwargs, 0, 0.0, 0, timeout, lease)

    def release(self) -> None:
        """Give the resources back now (a lease released or expired already is fine)."""
        with contextlib.suppress(EndpointError):
            self.endpoint.request("DELETE", f"/v1/leases/{self.id}")

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def definition(fn: Callable[..., Any] | str) -> dict[str, str]:
    """How the endpoint gets a function: {"ref": "module:name"} when it is importable by that name, else
    {"pickle": base64 cloudpickle, "name": ...}."""
    if isinstance(fn, str):
        return {"ref": fn}
    module: str | None = getattr(fn, "__module__", None)
    qualname: str | None = getattr(fn, "__qualname__", None)
    if module and qualname and module != "__main__" and "<" not in qualname:
        obj: Any = sys.modules.get(module)
        for part in qualname.split("."):
            obj = getattr(obj, part, None)
        if obj is fn:
            return {"ref": f"{module}:{qualname}"}
    import cloudpickle

    blob = cloudpickle.dumps(fn, protocol=pickle.HIGHEST_PROTOCOL)
    return {"pickle": base64.b64encode(blob).decode(), "name": str(qualname or "function")}


def dumps(value: object) -> bytes:
    try:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        import cloudpickle

        return cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)  # type: ignore[no-any-return]
