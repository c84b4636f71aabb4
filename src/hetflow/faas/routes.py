"""The endpoint's HTTP API under /v1 (Starlette): JSON bodies, bytes as base64. openapi.py describes every route;
Guard (security.py) checks the token, the rate and the payload size before any route runs. Every error is one JSON
object {"error": "..."}."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hetflow.faas.files import FileStore, file_routes
from hetflow.faas.model import Invocation, Refused, new_id
from hetflow.faas.openapi import MAX_CORES, MAX_LEASE_SECONDS, MAX_SECONDS, MAX_WAIT_S, schema
from hetflow.faas.security import Guard, RateLimit, TooLarge
from hetflow.faas.service import Service

MAX_BATCH = 10_000
INVOCATION_FIELDS = ("function", "id", "payload", "args", "kwargs", "cores", "gpus", "memory", "timeout", "lease")


async def body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, "the body is a JSON object")
    return data


def only(data: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    """data, refused when it has a field the API does not know (a typo would otherwise pass unnoticed)."""
    extra = [k for k in data if k not in allowed]
    if extra:
        raise Refused(400, f"unknown field {extra[0][:40]!r} (known: {', '.join(allowed)})")
    return data


def field(data: dict[str, Any], name: str, kind: type, default: Any = ...) -> Any:
    """data[name] of that type (missing: default, or refused when there is none; null is a wrong type)."""
    if name not in data:
        if default is ...:
            raise Refused(400, f"{name!r} is missing")
        return default
    value = data[name]
    if not isinstance(value, kind):
        raise Refused(400, f"{name!r} has the wrong type")
    return value


def number(data: dict[str, Any], name: str, default: float | None, low: float, high: float, *,
           whole: bool = False, above: bool = False) -> Any:  # fmt: skip
    """data[name], a number in [low, high] ((low, high] when above; whole: an integer, 3.0 counting as one), as
    openapi.py declares it."""
    if name not in data:
        return default
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Refused(400, f"{name!r} has the wrong type")
    if whole:
        if isinstance(value, float) and not value.is_integer():
            raise Refused(400, f"{name!r} must be a whole number")
        value = int(value)
    if not (low < value if above else low <= value) or not value <= high:
        raise Refused(400, f"{name!r} is out of range ({low:g} to {high:g})")
    return value if whole else float(value)


def unbase64(text: str, name: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Refused(400, f"{name!r} is not base64") from None


def invocation(data: Any) -> Invocation:
    """An invocation from its JSON: function, then payload (base64 pickle of (args, kwargs)) or args/kwargs (JSON)."""
    if not isinstance(data, dict):
        raise Refused(400, "an invocation is a JSON object")
    only(data, INVOCATION_FIELDS)
    fid = field(data, "function", str)
    if "payload" in data:
        if "args" in data or "kwargs" in data:
            raise Refused(400, "give a pickled payload or JSON args and kwargs, not both")
        fmt, payload = "pickle", unbase64(field(data, "payload", str), "payload")
    else:
        args = field(data, "args", list, [])
        kwargs = field(data, "kwargs", dict, {})
        fmt, payload = "json", json.dumps({"args": args, "kwargs": kwargs}).encode()
    return Invocation(
        field(data, "id", str, "") or new_id(), fid, fmt, payload, *needs(data),
        number(data, "timeout", None, 0, MAX_SECONDS, above=True), field(data, "lease", str, None),
    )  # fmt: skip


def needs(data: dict[str, Any]) -> tuple[int, float, int]:
    """cores, gpus and memory as openapi.py declares them."""
    return (
        number(data, "cores", 1, 0, MAX_CORES, whole=True),
        number(data, "gpus", 0.0, 0, MAX_CORES),
        number(data, "memory", 0, 0, 2**53 - 1, whole=True),
    )


async def disconnected(request: Request) -> None:
    """Returns when the client of a request whose body was read (or that has none) goes away."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def result_json(inv: Invocation) -> dict[str, Any]:
    r = inv.result
    assert r is not None
    out: dict[str, Any] = {"id": inv.id, **r.summary(), "format": inv.fmt}
    out["timings"] = {**r.timings, "returned": time.time()}
    if r.status == "done" or (r.status == "failed" and r.kind):
        if inv.fmt == "json":
            try:
                out["value"] = json.loads(r.value)
            except ValueError:
                out["value"] = None
        else:
            out["value"] = base64.b64encode(r.value).decode()
    return out


Handler = Callable[[Request], Awaitable[Response]]


def by_method(get: Handler, delete: Handler) -> Handler:
    """One route for a path read with GET and dropped with DELETE (so that a 405 lists both in Allow)."""

    async def route(request: Request) -> Response:
        return await (delete if request.method == "DELETE" else get)(request)

    return route


def create_app(service: Service, token: str, limit: RateLimit, max_payload: int, extra: dict[str, Any]) -> Starlette:
    """extra: what /v1/health adds (the fast channel's port)."""

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "draining" if service.draining else "ok", "time": time.time(),
                             "started": service.started_at, "max_payload": max_payload, **extra})  # fmt: skip

    async def resources(request: Request) -> Response:
        return JSONResponse(service.resources())

    async def register(request: Request) -> Response:
        data = only(await body(request), ("ref", "pickle", "name"))
        if ("ref" in data) == ("pickle" in data):
            raise Refused(400, "give one of 'ref' and 'pickle'")
        name = field(data, "name", str, "")
        if "ref" in data:
            fn = service.register("ref", field(data, "ref", str).encode(), name)
        else:
            fn = service.register("pickle", unbase64(field(data, "pickle", str), "pickle"), name)
        return JSONResponse({"function": fn.fid, "name": fn.name, "kind": fn.kind}, status_code=201)

    async def function(request: Request) -> Response:
        fn = service.functions.get(request.path_params["fid"])
        if fn is None:
            raise Refused(404, "unknown function")
        return JSONResponse({"function": fn.fid, "name": fn.name, "kind": fn.kind})

    async def invoke(request: Request) -> Response:
        inv = invocation(await body(request))
        service.check(inv)
        service.accept([inv])
        return JSONResponse({"id": inv.id}, status_code=202)

    async def batch(request: Request) -> Response:
        items = field(only(await body(request), ("invocations",)), "invocations", list)
        if not 0 < len(items) <= MAX_BATCH:
            raise Refused(400, f"a batch has 1 to {MAX_BATCH} invocations")
        invs: list[Invocation] = []
        for i, item in enumerate(items):
            try:
                inv = invocation(item)
                service.check(inv, len(invs))
            except Refused as exc:
                raise Refused(exc.status, f"invocations[{i}]: {exc.message}") from None
            invs.append(inv)
        service.accept(invs)
        return JSONResponse({"ids": [i.id for i in invs]}, status_code=202)

    async def result(request: Request) -> Response:
        ident = request.path_params["id"]
        try:
            wait = float(request.query_params.get("wait", "0"))
        except ValueError:
            raise Refused(400, "wait is a number of seconds") from None
        if not 0 <= wait <= MAX_WAIT_S:
            raise Refused(400, f"wait is 0 to {MAX_WAIT_S:g} seconds")
        done: asyncio.Future[Invocation] = asyncio.get_running_loop().create_future()

        def ready(inv: Invocation) -> None:
            if not done.done():
                done.set_result(inv)

        if not service.watch(ident, ready):
            raise Refused(404, "unknown invocation (never accepted, or its result was fetched or expired)")
        if not done.done() and wait > 0:
            gone = asyncio.ensure_future(disconnected(request))
            try:
                await asyncio.wait((done, gone), timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            finally:  # answered, timed out or the client left: the waiter goes now, not when the invocation ends
                gone.cancel()
                service.unwatch(ident, ready)
        if not done.done():
            return JSONResponse({"id": ident, "status": "pending"}, status_code=202)
        return JSONResponse(result_json(done.result()))

    async def cancel(request: Request) -> Response:
        inv = service.cancel(request.path_params["id"])
        done: asyncio.Future[Invocation] = asyncio.get_running_loop().create_future()

        def ended(got: Invocation) -> None:
            if not done.done():
                done.set_result(got)

        service.watch(inv.id, ended)
        with contextlib.suppress(TimeoutError):  # a worker killed under it: its end comes in a moment
            await asyncio.wait_for(asyncio.shield(done), MAX_WAIT_S)
        return JSONResponse(result_json(inv) if inv.result is not None else {"id": inv.id, "status": "cancelling"})

    async def forget(request: Request) -> Response:
        ident = request.path_params["id"]
        inv = service.invocations.get(ident)
        if inv is None:
            raise Refused(404, "unknown invocation")
        if inv.result is None:
            raise Refused(409, "the invocation has not ended")
        service.forget([ident])
        return Response(status_code=204)

    async def lease(request: Request) -> Response:
        data = only(await body(request), ("cores", "gpus", "memory", "seconds"))
        seconds = number(data, "seconds", 60.0, 1, MAX_LEASE_SECONDS)
        got = await service.leases.create(*needs(data), seconds)
        return JSONResponse(got.describe(), status_code=201)

    async def lease_info(request: Request) -> Response:
        got = service.leases.get(request.path_params["id"])
        if got is None:
            raise Refused(404, "no such lease (released, expired or unknown)")
        return JSONResponse(got.describe())

    async def release(request: Request) -> Response:
        if not service.leases.end(request.path_params["id"]):
            raise Refused(404, "no such lease (released, expired or unknown)")
        return Response(status_code=204)

    async def openapi(request: Request) -> Response:
        return JSONResponse(schema())

    async def refused(request: Request, exc: Exception) -> Response:
        if isinstance(exc, Refused):
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        if isinstance(exc, TooLarge):
            return JSONResponse({"error": str(exc)}, status_code=413)
        if isinstance(exc, HTTPException):
            return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)
        return JSONResponse({"error": f"internal error ({type(exc).__name__})"}, status_code=500)

    routes = [
        Route("/v1/health", health),
        Route("/v1/resources", resources),
        Route("/v1/functions", register, methods=["POST"]),
        Route("/v1/functions/{fid}", function),
        Route("/v1/invocations", invoke, methods=["POST"]),
        Route("/v1/invocations/batch", batch, methods=["POST"]),
        Route("/v1/invocations/{id}", cancel, methods=["DELETE"]),
        Route("/v1/results/{id}", by_method(result, forget), methods=["GET", "DELETE"]),
        Route("/v1/leases", lease, methods=["POST"]),
        Route("/v1/leases/{id}", by_method(lease_info, release), methods=["GET", "DELETE"]),
        Route("/v1/openapi.json", openapi),
        *file_routes(FileStore(service.store.path)),  # files a multi-site run stages (faas/files.py)
    ]
    handlers: dict[Any, Any] = {Refused: refused, TooLarge: refused, HTTPException: refused, Exception: refused}
    return Starlette(
        routes=routes,
        middleware=[Middleware(Guard, token=token, limit=limit, max_payload=max_payload)],
        exception_handlers=handlers,
    )
