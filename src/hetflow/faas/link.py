"""The Python client's side of the fast channel (frames.py): one TCP (or TLS) connection to the endpoint, a reader
thread that hands each result frame on, and reconnection with backoff.

Writes coalesce: a thread that sends while another is sending leaves its frame in the outbox, and the sending thread
takes the whole outbox in its next write, so submissions made close together travel (and are accepted by the
endpoint) together. When the connection breaks, the reader reconnects with backoff (0.05 s doubling to 2 s) and
sends again what on_connect() returns (every invocation without a result yet: the endpoint runs an id it has seen
only once, and answers it with its result); after `patience` seconds down it gives up and calls on_down(reason).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable

from hetflow.faas.frames import HEAD, frame
from hetflow.faas.worker import Part, send_parts

log = logging.getLogger("hetflow")


class ChannelError(Exception):
    """The endpoint refused the channel (status: 401, 403, ...) or cannot be reached."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class Link:
    """One channel connection. locate() says where the channel listens now (ChannelError when it cannot tell);
    on_frame(op, body) runs in the reader thread for every frame after the welcome; on_connect() after each
    reconnection: the frames to send again; on_down(reason) when it gave up."""

    def __init__(
        self,
        locate: Callable[[], tuple[str, int]],
        token: str,
        tls: ssl.SSLContext | None,
        server_hostname: str | None,
        on_frame: Callable[[bytes, memoryview], None],
        on_connect: Callable[[], list[list[Part]]],
        on_down: Callable[[str], None],
        patience: float = 60.0,
    ) -> None:
        self.locate = locate
        self.address = ("", 0)
        self.token = token
        self.tls = tls
        self.server_hostname = server_hostname
        self.on_frame = on_frame
        self.on_connect = on_connect
        self.on_down = on_down
        self.patience = patience
        self.sock: socket.socket | None = None
        self.welcome: dict[str, object] = {}
        self.closed = False
        self.up = threading.Event()
        self._olock = threading.Lock()
        self._wlock = threading.Lock()
        self._outbox: list[Part] = []  # the parts of the frames to send, one after the other
        self._flushing = False
        self._holding = 0  # batch() nesting: frames wait until it ends
        self._thread: threading.Thread | None = None

    # ---- connecting -----------------------------------------------------------------------------------------------
    def open(self) -> None:
        """Connect now (ChannelError when refused or unreachable) and start the reader."""
        self._connect()
        self._thread = threading.Thread(target=self._read_loop, name="hetflow-endpoint-reader", daemon=True)
        self._thread.start()

    def _connect(self) -> None:
        self.address = self.locate()  # an endpoint that restarted may listen on another channel port
        try:
            sock = socket.create_connection(self.address, timeout=10)
        except OSError as exc:
            raise ChannelError(f"cannot reach the endpoint's channel at {self.address[0]}:{self.address[1]}: "
                               f"{exc.strerror or exc}") from None  # fmt: skip
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_hostname=self.server_hostname)
        try:
            sock.sendall(frame(b"H", self.token.encode()))
            op, body = read_frame(sock, bytearray())
        except (OSError, EOFError) as exc:
            sock.close()
            raise ChannelError(f"the endpoint's channel closed during the hello: {exc}") from None
        if op != b"W":
            sock.close()
            info = json.loads(bytes(body)) if op == b"E" else {"error": f"unexpected frame {op!r}", "status": 0}
            raise ChannelError(str(info.get("error")), int(str(info.get("status", 0))))
        sock.settimeout(None)
        self.welcome = json.loads(bytes(body))
        self.sock = sock
        self.up.set()

    def close(self) -> None:
        self.closed = True
        self.up.set()
        sock = self.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    # ---- sending --------------------------------------------------------------------------------------------------
    def send(self, parts: list[Part]) -> None:
        """Send a frame's parts (any thread): now, or with the frames of the thread sending already, or once
        reconnected."""
        with self._olock:
            self._outbox += parts
            if self._flushing or self._holding or not self.up.is_set():
                return
            self._flushing = True
        self._flush()

    def _flush(self) -> None:
        while True:
            with self._olock:
                chunk, self._outbox = self._outbox, []
                if not chunk or self._holding or not self.up.is_set():
                    self._outbox = chunk + self._outbox
                    self._flushing = False
                    return
            try:
                with self._wlock:
                    assert self.sock is not None
                    send_parts(self.sock, chunk)
            except (OSError, AssertionError):
                with self._olock:  # not sent: they go again after the reconnect
                    self._outbox = chunk + self._outbox
                    self._flushing = False
                self.up.clear()
                return

    def hold(self) -> None:
        with self._olock:
            self._holding += 1

    def release(self) -> None:
        with self._olock:
            self._holding -= 1
            if self._holding or self._flushing or not self.up.is_set():
                return
            self._flushing = True
        self._flush()

    # ---- reading --------------------------------------------------------------------------------------------------
    def _read_loop(self) -> None:
        buf = bytearray()
        while not self.closed:
            sock = self.sock
            try:
                assert sock is not None
                while True:
                    op, body = read_frame(sock, buf)
                    try:
                        self.on_frame(op, body)
                    except Exception:  # one bad frame never stops the reader
                        log.exception("endpoint channel: a frame could not be handled")
            except (OSError, EOFError, AssertionError, ValueError):
                if self.closed:
                    return
            self.up.clear()
            buf = bytearray()
            if not self._reconnect():
                return

    def _reconnect(self) -> bool:
        start = time.monotonic()
        pause = 0.05
        reason = "connection lost"
        log.warning("endpoint channel %s:%d lost: reconnecting", *self.address)
        while not self.closed:
            try:
                self._connect()
                again = self.on_connect()
                with self._olock:
                    self._outbox = [part for parts in again for part in parts]
                self.release_outbox()
                log.warning("endpoint channel %s:%d back", *self.address)
                return True
            except ChannelError as exc:
                reason = str(exc)
                if exc.status in (401, 403):
                    break
            if time.monotonic() - start > self.patience:
                break
            time.sleep(pause)
            pause = min(2.0, pause * 2)
        if not self.closed:
            self.on_down(f"the endpoint is unreachable: {reason}")
        return False

    def release_outbox(self) -> None:
        with self._olock:
            if self._flushing or self._holding:
                return
            self._flushing = True
        self._flush()


RECV_SIZE = 1 << 16  # recv(n) allocates n bytes first: at 128 KiB and more, that alone costs ~25 us a call


def read_frame(sock: socket.socket, buf: bytearray) -> tuple[bytes, memoryview]:
    """The next frame's op and body; buf keeps what was read beyond it. A frame larger than RECV_SIZE is read
    straight into its own buffer (the body is a view of it: unpickled values may keep it)."""
    while len(buf) < 4:
        recv_more(sock, buf)
    (size,) = HEAD.unpack_from(buf)
    if size > RECV_SIZE and len(buf) < 4 + size:
        body = bytearray(size)
        have = len(buf) - 4
        body[:have] = memoryview(buf)[4:]
        buf.clear()
        view = memoryview(body)
        while have < size:
            got = sock.recv_into(view[have:], size - have)
            if not got:
                raise EOFError("the endpoint closed the channel")
            have += got
    else:
        while len(buf) < 4 + size:
            recv_more(sock, buf)
        with memoryview(buf) as whole:
            view = memoryview(bytearray(whole[4 : 4 + size]))  # writable, as a large frame's: arrays in it too
        del buf[: 4 + size]
    return bytes(view[:1]), view[1:]


def recv_more(sock: socket.socket, buf: bytearray) -> None:
    data = sock.recv(RECV_SIZE)
    if not data:
        raise EOFError("the endpoint closed the channel")
    buf += data
