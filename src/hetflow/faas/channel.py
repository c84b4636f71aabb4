"""The endpoint's side of the fast channel (frames.py): one asyncio protocol per client connection. The first frame
must carry the token; until then a frame may be at most HELLO_MAX bytes, and nothing is ever unpickled here. An
invocation's size is known from its frame's length before its bytes are kept: over the payload limit it is refused
(413) and its bytes are skipped as they arrive. Invocations that arrive together are accepted together (one task
set per function and shape: the engine places a burst in one pass)."""

from __future__ import annotations

import asyncio
import json
import time

from hetflow.faas.frames import HEAD, HELLO_MAX, INVOKE, KINDS, NO_LEASE, RESULT, RETURNED, STATUSES, frame
from hetflow.faas.model import Invocation, Refused
from hetflow.faas.security import RateLimit, check_token
from hetflow.faas.service import Service

IDS_MAX = 100_000  # ids in one A frame
FORMATS = {b"p": "pickle", b"j": "json", b"b": "buffers"}  # a payload's fmt byte (the endpoint never reads one)
READ_SIZE = 256 * 1024  # read into one buffer kept per connection (a plain Protocol's recv allocates this each read)


class Channel(asyncio.BufferedProtocol):
    def __init__(self, service: Service, token: str, limit: RateLimit, max_payload: int) -> None:
        self.service = service
        self.token = token
        self.limit = limit
        self.max_payload = max_payload
        self.transport: asyncio.Transport | None = None
        self.client = "?"
        self.authed = False
        self.closed = False
        self.buf = bytearray()
        self.inbox = memoryview(bytearray(READ_SIZE))
        self.big: bytearray | None = None  # a frame larger than inbox (size checked), read in place
        self.filled = 0
        self.skip = 0  # bytes of a refused frame still to come
        self.batch: list[Invocation] = []
        self.watching: set[str] = set()  # invocations whose result this connection waits for

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.client = str(peer[0]) if peer else "?"

    def connection_lost(self, exc: Exception | None) -> None:
        """The client went away: its waiters go (it fetches its results when it comes back)."""
        self.closed = True
        watching, self.watching = self.watching, set()
        for ident in watching:
            self.service.unwatch(ident, self.deliver)

    def get_buffer(self, sizehint: int) -> memoryview:
        if self.big is not None:  # the rest of a large frame, straight into its own buffer
            return memoryview(self.big)[self.filled :]
        return self.inbox

    def buffer_updated(self, nbytes: int) -> None:
        if self.big is None:
            self.received(self.inbox[:nbytes])
            return
        self.filled += nbytes
        if self.filled == len(self.big):
            body, self.big = self.big, None
            with memoryview(body) as view:
                self.handle(view)
            self.flush()

    def received(self, data: bytes | memoryview) -> None:
        if self.skip:
            n = min(self.skip, len(data))
            self.skip -= n
            data = data[n:]
        buf = self.buf
        buf += data
        limit = self.max_payload + 1 + INVOKE.size if self.authed else HELLO_MAX  # the payload, and its header
        while len(buf) >= 4 and not self.closed:
            (size,) = HEAD.unpack_from(buf)
            if size > limit:
                if not self.authed:
                    self.fatal(401, "say hello with the token first (a short frame)")
                    return
                if len(buf) < 4 + 17:
                    break
                if buf[4:5] == b"I":
                    too = f"payload of {size - 1 - INVOKE.size} bytes is over the limit of {self.max_payload}"
                    self.refuse(bytes(buf[5:21]), 413, too)
                else:
                    self.fatal(413, "frame over the payload limit")
                    return
                drop = min(len(buf) - 4, size)
                del buf[: 4 + drop]
                self.skip = size - drop
                continue
            if len(buf) < 4 + size:
                if size > len(self.inbox) and self.authed:  # checked above: the kernel writes the rest in place
                    self.big = bytearray(size)
                    self.filled = len(buf) - 4
                    self.big[: self.filled] = memoryview(buf)[4:]
                    buf.clear()
                break
            with memoryview(buf) as view:  # read in place: only a payload is copied, once
                self.handle(view[4 : 4 + size])
            del buf[: 4 + size]
        self.flush()

    def flush(self) -> None:
        """Accept the invocations read so far together."""
        if self.batch:
            batch, self.batch = self.batch, []
            self.service.accept(batch)
            for inv in batch:
                self.watching.add(inv.id)
                self.service.watch(inv.id, self.deliver)

    def handle(self, body: memoryview) -> None:
        op = bytes(body[:1])
        if op == b"I" and self.authed:
            self.invocation(body)
        elif op == b"H":
            status = check_token(bytes(body[1:]), self.token)
            if status:
                self.fatal(status, "no token given" if status == 401 else "wrong token")
                return
            self.authed = True
            self.write(frame(b"W", json.dumps({"time": time.time(), "max_payload": self.max_payload}).encode()))
        elif not self.authed:
            self.fatal(401, "say hello with the token first")
        elif op == b"A" and (len(body) - 1) % 16 == 0 and len(body) <= 1 + 16 * IDS_MAX:
            self.service.forget([body[i : i + 16].hex() for i in range(1, len(body), 16)])
        else:
            self.fatal(400, f"malformed frame ({op!r}, {len(body)} bytes)")

    def invocation(self, body: memoryview) -> None:
        if len(body) < 1 + INVOKE.size:
            self.fatal(400, "malformed invocation frame")
            return
        ident, fid, fmt, cores, gpus, memory, timeout, lease = INVOKE.unpack_from(body, 1)
        if not self.limit.allow(self.client):
            self.refuse(ident, 429, "too many requests: slow down")
            return
        inv = Invocation(
            ident.hex(), fid.hex(), FORMATS.get(fmt, "pickle"), bytes(body[1 + INVOKE.size :]), cores, gpus,
            memory, timeout if timeout > 0 else None, None if lease == NO_LEASE else lease.hex(),
        )  # fmt: skip
        try:
            self.service.check(inv, len(self.batch))
        except Refused as exc:
            self.refuse(ident, exc.status, exc.message)
            return
        self.batch.append(inv)

    def deliver(self, inv: Invocation) -> None:
        r = inv.result
        self.watching.discard(inv.id)
        if self.closed or r is None:
            return  # the client fetches it when it comes back
        t = r.timings
        head = RESULT.pack(bytes.fromhex(inv.id), STATUSES.index(r.status), KINDS.index(r.kind), 200,
                           t["received"], t["queued"], t["started"], t["ended"])  # fmt: skip
        size = 1 + len(head) + RETURNED.size + len(r.value)
        if size < len(self.inbox):
            self.write(frame(b"R", head, RETURNED.pack(time.time()), r.value))
            return
        self.write(HEAD.pack(size) + b"R" + head + RETURNED.pack(time.time()))
        self.write(memoryview(r.value))  # a large value on its own, uncopied

    def refuse(self, ident: bytes, status: int, message: str) -> None:
        head = RESULT.pack(ident, STATUSES.index("refused"), 0, status, time.time(), 0.0, 0.0, 0.0)
        self.write(frame(b"R", head, RETURNED.pack(time.time()), message.encode()))

    def fatal(self, status: int, message: str) -> None:
        self.write(frame(b"E", json.dumps({"error": message, "status": status}).encode()))
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def write(self, data: bytes | memoryview) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)
