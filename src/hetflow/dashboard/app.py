"""The dashboard's web application (Starlette) and its server (uvicorn): read-only JSON endpoints over the journals
served, the page and its scripts, Plotly from the plotly package (no network needed), and /metrics.

Every request needs the token: `?token=T` (the URL printed at start; the page then keeps it in a cookie), the
cookie, or `Authorization: Bearer T`. Anything else gets 401. Only GET is answered; a bad request gets one JSON
line `{"error": ...}` with 400 or 404, never a traceback.
"""

from __future__ import annotations

import secrets
import socket
import threading
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from hetflow.dashboard import data
from hetflow.dashboard.panels import PANELS
from hetflow.dashboard.prom import CONTENT_TYPE, registry_for

STATIC = Path(str(resources.files("hetflow.dashboard") / "static"))
STATIC_FILES = {"app.js": "text/javascript", "style.css": "text/css"}


def plotly_js() -> Path:
    """plotly.min.js as the plotly package ships it."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


class TokenAuth(BaseHTTPMiddleware):
    """401 unless the request carries the token (query, cookie or bearer); a token in the query becomes a cookie."""

    def __init__(self, app: Any, token: str, cookie: str) -> None:
        super().__init__(app)
        self.token, self.cookie = token, cookie

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        query = request.query_params.get("token")
        header = request.headers.get("authorization", "")
        given = [query, request.cookies.get(self.cookie), header[7:] if header.lower().startswith("bearer ") else None]
        if not any(g is not None and secrets.compare_digest(g.encode(), self.token.encode()) for g in given):
            return JSONResponse({"error": "a token is needed: open the URL the dashboard printed"}, status_code=401)
        response = await call_next(request)
        if query is not None:
            response.set_cookie(self.cookie, self.token, httponly=True, samesite="strict")
        return response


def create_app(sources: Sequence[data.JournalSource], token: str, cookie: str = "hetflow_token") -> Starlette:
    """The dashboard of these journals, behind this token."""
    registry = registry_for(sources)

    def source(request: Request) -> data.JournalSource:
        raw = request.path_params["run"]
        if not raw.isdigit() or int(raw) >= len(sources):
            raise data.DashboardError(404, f"no run {raw!r}: there are {len(sources)} (0 to {len(sources) - 1})")
        return sources[int(raw)]

    def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "plotly.min.js":
            return FileResponse(plotly_js(), media_type="text/javascript")
        if name not in STATIC_FILES:
            raise data.DashboardError(404, f"no file {name!r}")
        return FileResponse(STATIC / name, media_type=STATIC_FILES[name])

    def runs(request: Request) -> Response:
        return JSONResponse([data.summary(s.snapshot(), i) for i, s in enumerate(sources)])

    def run(request: Request) -> Response:
        src = source(request)
        return JSONResponse(data.summary(src.snapshot(), sources.index(src)))

    def panel_list(request: Request) -> Response:
        source(request)
        return JSONResponse([p.describe() for p in PANELS.values()])

    def panel(request: Request) -> Response:
        src, name = source(request), request.path_params["name"]
        if name not in PANELS:
            raise data.DashboardError(404, f"no panel {name!r} (there are {', '.join(PANELS)})")
        return JSONResponse(PANELS[name].build(src.snapshot()))

    def tasks(request: Request) -> Response:
        return JSONResponse(data.tasks(source(request).snapshot(), dict(request.query_params)))

    def log(request: Request) -> Response:
        return JSONResponse(data.read_log(source(request).snapshot(), dict(request.query_params)))

    def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE)

    def no_icon(request: Request) -> Response:
        return Response(status_code=204)

    async def refused(request: Request, exc: Exception) -> Response:
        if isinstance(exc, data.DashboardError):
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        if isinstance(exc, HTTPException):
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
        return JSONResponse({"error": f"the dashboard could not answer: {exc}"}, status_code=500)

    routes = [
        Route("/", index),
        Route("/favicon.ico", no_icon),
        Route("/static/{name}", static),
        Route("/api/runs", runs),
        Route("/api/runs/{run}", run),
        Route("/api/runs/{run}/panels", panel_list),
        Route("/api/runs/{run}/panels/{name}", panel),
        Route("/api/runs/{run}/tasks", tasks),
        Route("/api/runs/{run}/log", log),
        Route("/metrics", metrics),
    ]
    handlers: dict[Any, Any] = {data.DashboardError: refused, HTTPException: refused, Exception: refused}
    return Starlette(
        routes=routes,
        middleware=[Middleware(TokenAuth, token=token, cookie=cookie)],
        exception_handlers=handlers,
    )


def bind(host: str, port: int, fallback: bool = False) -> socket.socket:
    """A listening socket on host:port (port 0: any free one; fallback: any free one when port is taken)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        if not fallback:
            sock.close()
            raise
        sock.bind((host, 0))
    sock.listen(128)
    return sock


def url(sock: socket.socket, token: str) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?token={token}"


def serve(
    sources: Sequence[data.JournalSource],
    sock: socket.socket,
    token: str,
    until: Callable[[], bool] | None = None,
) -> None:
    """Serve the dashboard on a bound socket until interrupted, or until `until()` says so (checked every second)."""
    import uvicorn

    port = sock.getsockname()[1]
    app = create_app(sources, token, cookie=f"hetflow_token_{port}")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    if until is not None:

        def watch() -> None:
            while not server.should_exit:
                if until():
                    server.should_exit = True
                threading.Event().wait(1.0)

        threading.Thread(target=watch, name="hetflow-dashboard-watch", daemon=True).start()
    server.run(sockets=[sock])
