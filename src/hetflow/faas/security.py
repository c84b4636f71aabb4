"""What stands between the network and the endpoint's service: the token (compared in constant time), the per-client
rate limit, and the payload limit checked from Content-Length and again while a body streams in, before anything of
it is kept. Used by the HTTP routes (an ASGI middleware) and by the fast channel alike."""

from __future__ import annotations

import hmac
import json
import os
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from hetflow.errors import SpecError

DEFAULT_TOKEN_FILE = "~/.hetflow/endpoint.token"  # where `hetflow endpoint start` keeps its token by default
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def load_token(path: str | os.PathLike[str]) -> tuple[str, bool]:
    """The token in the file, or a new one written there (mode 0600); and whether it was made now."""
    p = Path(path).expanduser()
    if p.exists():
        try:
            token = p.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            why = f"cannot read the token file ({exc})"
            raise SpecError(why, source=str(p), fix="give a text file, or delete it") from None
        if len(token) < 16:
            raise SpecError(
                "the token is too short", source=str(p), fix="put 16 characters or more in it, or delete it"
            )
        return token, False
    p.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token, True


def check_token(given: str | bytes | None, token: str) -> int:
    """0 when given is the token; else the HTTP status: 401 (none given) or 403 (a wrong one)."""
    if not given:
        return 401
    raw = given.encode() if isinstance(given, str) else given
    return 0 if hmac.compare_digest(raw, token.encode()) else 403


class RateLimit:
    """A token bucket per client: `rate` requests a second on average, bursts of `burst`. rate 0: no limit."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.buckets: dict[str, tuple[float, float]] = {}

    def allow(self, client: str, n: int = 1) -> bool:
        if self.rate <= 0:
            return True
        now = time.monotonic()
        level, last = self.buckets.get(client, (self.burst, now))
        level = min(self.burst, level + (now - last) * self.rate)
        if level < n:
            self.buckets[client] = (level, now)
            return False
        self.buckets[client] = (level - n, now)
        if len(self.buckets) > 10_000:  # forget the clients that have refilled
            full = [c for c, (lv, t) in self.buckets.items() if lv + (now - t) * self.rate >= self.burst]
            for c in full:
                del self.buckets[c]
        return True


class TooLarge(Exception):
    """A body grew past the payload limit while it streamed in."""


def error_body(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


async def send_error(send: Send, status: int, message: str) -> None:
    body = error_body(message)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="hetflow"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """ASGI middleware: every HTTP request needs `Authorization: Bearer TOKEN` (401 without, 403 wrong), stays within
    its client's rate (429) and sends at most max_payload bytes (413, from Content-Length before the body is read,
    and counted as it streams)."""

    def __init__(self, app: App, token: str, limit: RateLimit, max_payload: int) -> None:
        self.app = app
        self.token = token
        self.limit = limit
        self.max_payload = max_payload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        auth = b""
        length = None
        for k, v in scope["headers"]:
            if k == b"authorization":
                auth = v
            elif k == b"content-length":
                length = v
        given = auth[7:].strip() if auth[:7].lower() == b"bearer " else b""
        status = check_token(given, self.token)
        if status:
            await send_error(send, status, "no token given" if status == 401 else "wrong token")
            return
        client = scope.get("client")
        if not self.limit.allow(client[0] if client else "?"):
            await send_error(send, 429, "too many requests: slow down")
            return
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                await send_error(send, 400, "bad Content-Length")
                return
            if size > self.max_payload:
                await send_error(send, 413, f"payload of {size} bytes is over the limit of {self.max_payload}")
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_payload:
                raise TooLarge(f"payload over the limit of {self.max_payload} bytes")
            return message

        await self.app(scope, counted, send)
