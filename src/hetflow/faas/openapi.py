"""The OpenAPI 3.1 description of the endpoint's HTTP API (served at /v1/openapi.json): every route, its bearer-token
security, its bodies and its answers, so that curl users can read it and schemathesis can fuzz it."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}
ID = {"type": "string", "pattern": "^[0-9a-f]{32}$"}
BASE64 = {"type": "string", "pattern": "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"}
MAX_SECONDS = 366 * 24 * 3600  # an invocation's time limit at most
MAX_LEASE_SECONDS = 7 * 24 * 3600
MAX_CORES = 65535  # cores and GPUs an invocation or lease may ask for (the channel sends cores in 16 bits)
MAX_WAIT_S = 30.0  # the longest long poll


def answer(description: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if body is not None:
        out["content"] = {"application/json": {"schema": body}}
    return out


def linked(out: dict[str, Any], links: dict[str, tuple[str, str, str]]) -> dict[str, Any]:
    """An answer with OpenAPI links: name -> (operationId, parameter, where in the body), so a stateful fuzzer
    follows a created function, invocation or lease to the routes that read it."""
    out["links"] = {
        name: {"operationId": op, "parameters": {param: f"$response.body#/{where}"}}
        for name, (op, param, where) in links.items()
    }
    return out


def errors(*codes: int) -> dict[str, Any]:
    words = {
        400: "malformed request", 401: "no token", 403: "wrong token", 404: "not found (a function, an invocation, a "
        "lease that is not held)", 405: "method not allowed", 409: "refused: it cannot be (now)",
        413: "payload over the limit", 429: "over the rate limit", 503: "the endpoint is stopping or busy",
    }  # fmt: skip
    return {str(c): answer(words[c], ERROR) for c in (401, 403, 429, *codes)}


def json_body(ref: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def path_id(name: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}]


NUMBERS = {
    "cores": {"type": "integer", "minimum": 0, "maximum": MAX_CORES, "default": 1},
    "gpus": {"type": "number", "minimum": 0, "maximum": MAX_CORES, "default": 0,
             "description": "a fraction of one GPU, or whole GPUs"},
    "memory": {"type": "integer", "minimum": 0, "maximum": 2**53 - 1, "default": 0, "description": "bytes"},
}  # fmt: skip

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "Health": {
        "type": "object",
        "required": ["status", "time"],
        "properties": {
            "status": {"enum": ["ok", "draining"]},
            "time": {"type": "number", "description": "the endpoint's clock, epoch seconds (clock offset estimation)"},
            "started": {"type": "number"},
            "max_payload": {"type": "integer"},
            "channel": {"type": "object", "description": "the fast channel of the Python client: port, tls"},
        },
    },
    "Resources": {
        "type": "object",
        "properties": {
            "platform": {"type": "string"},
            "nodes": {"type": "array", "items": {"type": "object"}},
            "load": {"type": "object"},
        },
    },
    "FunctionIn": {
        "type": "object",
        "additionalProperties": False,
        "oneOf": [{"required": ["ref"]}, {"required": ["pickle"]}],
        "description": "by reference (ref: 'module:name', importable on the endpoint) or pickled (cloudpickle, base64)",
        "properties": {
            "ref": {
                "type": "string",
                "pattern": "^[A-Za-z_][\\w.]*:[A-Za-z_][\\w.]*$",
                "examples": ["hetflow.faas.builtins:shell"],
            },
            "pickle": {**BASE64, "minLength": 4},
            "name": {"type": "string"},
        },
    },
    "Function": {
        "type": "object",
        "required": ["function"],
        "properties": {"function": ID, "name": {"type": "string"}, "kind": {"enum": ["ref", "pickle"]}},
    },
    "InvocationIn": {
        "type": "object",
        "additionalProperties": False,
        "required": ["function"],
        "allOf": [{"not": {"required": ["payload", "args"]}}, {"not": {"required": ["payload", "kwargs"]}}],
        "description": "payload: base64 of pickle((args, kwargs)); without it, args and kwargs as JSON (the result "
        "then comes back as JSON)",
        "properties": {
            "function": ID,
            "id": {**ID, "description": "the client's id (a resend with the same id is not run again)"},
            "payload": BASE64,
            "args": {"type": "array"},
            "kwargs": {"type": "object"},
            **NUMBERS,
            "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_SECONDS},
            "lease": {**ID, "description": "run hot on this lease's worker"},
        },
    },
    "Batch": {
        "type": "object",
        "additionalProperties": False,
        "required": ["invocations"],
        "properties": {
            "invocations": {
                "type": "array",
                "minItems": 1,
                "maxItems": 10000,
                "items": {"$ref": "#/components/schemas/InvocationIn"},
            }
        },
    },
    "Accepted": {"type": "object", "properties": {"id": ID, "ids": {"type": "array", "items": ID}}},
    "Result": {
        "type": "object",
        "required": ["id", "status"],
        "properties": {
            "id": ID,
            "status": {"enum": ["pending", "done", "failed", "timeout", "lost", "cancelled"]},
            "kind": {"enum": ["cold", "warm", "hot", ""]},
            "error": {"type": "string"},
            "format": {"enum": ["pickle", "json"]},
            "value": {
                "description": "JSON value, or base64 of the pickled value (failed: of (exception, text, traceback))"
            },
            "timings": {
                "type": "object",
                "description": "epoch seconds where each happened: received, queued (endpoint), started, ended "
                "(worker), returned (endpoint)",
            },
            "node": {"type": "string"},
        },
    },
    "LeaseIn": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            **NUMBERS,
            "seconds": {"type": "number", "minimum": 1, "maximum": MAX_LEASE_SECONDS, "default": 60},
        },
    },
    "Lease": {
        "type": "object",
        "required": ["id"],
        "properties": {"id": ID, "node": {"type": "string"}, "expires": {"type": "number"}, **NUMBERS},
    },
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def schema() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/v1/health": {"get": {"summary": "health and the endpoint's clock", "responses": {
            "200": answer("ok", ref("Health")), **errors()}}},
        "/v1/resources": {"get": {"summary": "nodes, free capacity and load", "responses": {
            "200": answer("ok", ref("Resources")), **errors()}}},
        "/v1/functions": {"post": {"summary": "register a function", "requestBody": json_body("FunctionIn"),
            "responses": {"201": linked(answer("registered", ref("Function")),
                                        {"function": ("getFunction", "fid", "function")}), **errors(400, 413)}}},
        "/v1/functions/{fid}": {"get": {"operationId": "getFunction", "summary": "a registered function",
            "parameters": path_id("fid"),
            "responses": {"200": answer("ok", ref("Function")), **errors(404)}}},
        "/v1/invocations": {"post": {"summary": "invoke a function", "requestBody": json_body("InvocationIn"),
            "responses": {"202": linked(answer("accepted", ref("Accepted")),
                                        {"result": ("getResult", "id", "id"),
                                         "cancel": ("cancelInvocation", "id", "id")}),
                          **errors(400, 404, 409, 413, 503)}}},
        "/v1/invocations/{id}": {"delete": {"operationId": "cancelInvocation",
            "summary": "cancel an invocation: out of the queue, or its worker killed; its result says cancelled",
            "parameters": path_id("id"), "responses": {"200": answer("cancelled", ref("Result")), **errors(404, 409)}}},
        "/v1/invocations/batch": {"post": {"summary": "invoke many at once", "requestBody": json_body("Batch"),
            "responses": {"202": answer("accepted", ref("Accepted")), **errors(400, 404, 409, 413, 503)}}},
        "/v1/results/{id}": {
            "get": {"operationId": "getResult", "summary": "an invocation's result (long poll: up to `wait` s)",
                    "parameters": [*path_id("id"), {"name": "wait", "in": "query", "required": False,
                                                    "schema": {"type": "number", "minimum": 0, "maximum": MAX_WAIT_S}}],
                    "responses": {"200": answer("ended", ref("Result")), "202": answer("pending", ref("Result")),
                                  **errors(400, 404)}},
            "delete": {"summary": "drop a result that was fetched", "parameters": path_id("id"),
                       "responses": {"204": answer("dropped"), **errors(404, 409)}},
        },
        "/v1/leases": {"post": {"summary": "lease resources, with a hot worker", "requestBody": json_body("LeaseIn"),
            "responses": {"201": linked(answer("granted", ref("Lease")), {"lease": ("getLease", "id", "id"),
                                                                           "release": ("releaseLease", "id", "id")}),
                          **errors(400, 409, 413, 503)}}},
        "/v1/leases/{id}": {
            "get": {"operationId": "getLease", "summary": "a lease", "parameters": path_id("id"),
                    "responses": {"200": answer("held", ref("Lease")), **errors(404)}},
            "delete": {"operationId": "releaseLease", "summary": "release a lease", "parameters": path_id("id"),
                       "responses": {"204": answer("released"), **errors(404)}},
        },
        "/v1/openapi.json": {"get": {"summary": "this description", "responses": {
            "200": answer("ok", {"type": "object"}), **errors()}}},
        **file_paths(),
    }  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {"title": "hetflow endpoint", "version": "1"},
        "security": [{"token": []}],
        "paths": paths,
        "components": {"schemas": SCHEMAS, "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
    }


def file_paths() -> dict[str, Any]:
    """The file store's routes (faas/files.py): files a multi-site run moves between sites, named by sha256."""
    sha = [{"name": "sha", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}]
    octets = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    stored = {"type": "object", "required": ["sha256", "size"],
              "properties": {"sha256": {"type": "string"}, "size": {"type": "integer", "minimum": 0}}}  # fmt: skip
    fail = {str(c): answer(why, ERROR) for c, why in ((400, "a bad name, or bytes that do not hash to it"),
                                                      (404, "no such file"), (411, "no Content-Length"))}  # fmt: skip
    return {
        "/v1/files/{sha}": {
            "put": {"summary": "store a file under its sha256 (the bytes must hash to it)", "parameters": sha,
                    "requestBody": {"required": True, "content": octets},
                    "responses": {"201": answer("stored", stored), **errors(413), **fail}},
            "get": {"summary": "a stored file", "parameters": sha,
                    "responses": {"200": {"description": "the bytes", "content": octets}, **errors(), **fail}},
            "head": {"summary": "whether a file is stored, and its size", "parameters": sha,
                     "responses": {"200": answer("stored"), **errors(), **fail}},
        }
    }  # fmt: skip
