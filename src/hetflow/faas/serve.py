"""Running an endpoint: the HTTP API (uvicorn) and the fast channel on one event loop, the Session's driver in its
own thread. SIGTERM or SIGINT drains it: no new work, what was accepted ends and is delivered, then it exits 0."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import socket
import ssl
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from hetflow.errors import SpecError
from hetflow.faas.channel import Channel
from hetflow.faas.pool import MAX_RESULT, WarmPool
from hetflow.faas.routes import create_app
from hetflow.faas.security import RateLimit
from hetflow.faas.service import Service
from hetflow.faas.store import Store
from hetflow.spec.platform import Platform


@dataclass(frozen=True, slots=True)
class Settings:
    platform: Platform
    host: str = "127.0.0.1"
    port: int = 0
    channel_port: int = 0
    token: str = ""
    max_payload: int = 10 * 1024 * 1024
    keep_warm: float = 600.0
    journal: Path | None = None
    certfile: str | None = None
    keyfile: str | None = None
    rate: float = 20_000.0
    burst: float = 40_000.0
    max_workers: int = 0  # 0: twice the platform's cores, at least 4
    ttl: float = 3600.0
    drain_s: float = 30.0
    max_pending: int = 0  # invocations accepted and not ended at most (0: no bound); more are refused (503 busy)
    backend: str = "local"  # where invocations run: local worker processes, or a dask / ray cluster
    address: str | None = None  # the dask / ray cluster's; None: a local one shaped like the platform
    max_result: int = MAX_RESULT  # the largest result a worker may send back (a larger one fails its call)


def bind(host: str, port: int, option: str = "--port") -> socket.socket:
    """A listening socket on host:port (0: any free port); one that cannot be had is a SpecError naming the option
    that chose it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only then (else a kept-alive HTTP answer
    # waits ~40 ms for the client's delayed ACK: uvicorn writes head and body apart)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SpecError(
            f"cannot listen on {host}:{port} ({exc.strerror})", place=option, fix="choose another port (0: any)"
        ) from None
    sock.listen(1024)
    return sock


def tls_context(certfile: str | None, keyfile: str | None) -> ssl.SSLContext | None:
    """The fast channel's TLS context (None: plain), loaded now so that an unreadable or wrong PEM is named."""
    if certfile is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise SpecError(
            f"cannot load the certificate {certfile} with key {keyfile} ({exc.strerror or exc})",
            place="--certfile/--keyfile",
            fix="give a PEM certificate and its private key",
        ) from None
    return ctx


def url_of(sock: socket.socket, tls: bool) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}"


def serve(s: Settings, announce: Callable[[str], None]) -> None:
    """Serve until SIGTERM or SIGINT; announce(url) once both doors listen."""
    import uvicorn
    from starlette.types import ASGIApp

    tls = s.certfile is not None
    store = Store(s.journal)  # a bad journal is one line before anything listens
    ctx = tls_context(s.certfile, s.keyfile)  # a bad certificate is one line before anything listens
    http_sock = bind(s.host, s.port)
    chan_sock = bind(s.host, s.channel_port, "--channel-port")
    platform, site = s.platform, None
    pools: Callable[..., WarmPool] = WarmPool
    if s.backend != "local":  # the cluster's workers are the site's nodes
        from hetflow.faas.cluster import ClusterPool, ClusterSite

        site = ClusterSite(s.backend, s.address)
        platform = site.connect(s.platform)
        pools = functools.partial(ClusterPool, site)
    workers = s.max_workers or max(4, 2 * sum(n.cores for n in platform.nodes()))
    service = Service(platform, store, s.keep_warm, workers, s.ttl, pools, s.max_result)
    service.max_pending = s.max_pending
    limit = RateLimit(s.rate, s.burst)
    extra = {"channel": {"port": chan_sock.getsockname()[1], "tls": tls}}
    app = create_app(service, s.token, limit, s.max_payload, extra)

    @contextlib.asynccontextmanager
    async def lifespan(_: ASGIApp) -> AsyncIterator[None]:
        service.start()
        loop = asyncio.get_running_loop()
        channel = await loop.create_server(
            lambda: Channel(service, s.token, limit, s.max_payload), sock=chan_sock, ssl=ctx
        )
        announce(url_of(http_sock, tls))
        try:
            yield
        finally:
            await service.drain(s.drain_s)
            channel.close()

    app.router.lifespan_context = lifespan
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", ssl_certfile=s.certfile, ssl_keyfile=s.keyfile,
        timeout_graceful_shutdown=int(s.drain_s), h11_max_incomplete_event_size=64 * 1024,
    )  # fmt: skip
    server = uvicorn.Server(config)
    # uvicorn raises the signal that stopped it again once it is done; handled here, it ends the process with 0
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[http_sock])
    finally:
        if site is not None:
            site.close()  # done at the drain's end; here when the server stopped before it
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.stdout.flush()
