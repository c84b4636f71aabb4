"""An endpoint as safe as a public service: the token (401, 403) on HTTP and on the channel, payload limits (413)
before the body is kept, a rate limit (429), malformed requests answered with one JSON error, and the endpoint
serving after all of them."""

from __future__ import annotations

import http.client
import json
import socket
import struct
import time
from collections.abc import Iterator

import pytest

import hetflow as hf
from hetflow.faas import AuthError, PayloadTooLarge, RateLimited
from tests.faas import functions
from tests.faas.endpoints import RunningEndpoint, api, running_endpoint

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def ep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    folder = tmp_path_factory.mktemp("security")
    with running_endpoint(folder, "--max-payload", str(LIMIT), "--rate-limit", "50") as running:
        yield running


def serves(ep: RunningEndpoint) -> None:
    """The endpoint still answers, and still runs code."""
    time.sleep(0.2)  # let the rate limit refill a little
    assert api(ep, "GET", "/v1/health")[0] == 200
    with ep.client() as client:
        assert client.submit(functions.square, 12).result(timeout=60) == 144
    assert "Traceback" not in ep.stderr()


def test_token_required_on_every_route(ep: RunningEndpoint) -> None:
    schema = api(ep, "GET", "/v1/openapi.json")[1]
    for path, methods in schema["paths"].items():
        concrete = path.replace("{fid}", "0" * 32).replace("{id}", "0" * 32)
        for method in methods:
            bare = method == "head"  # a HEAD answer has no body
            status, body = api(ep, method.upper(), concrete, {}, token=None)
            assert status == 401 and body == (None if bare else {"error": "no token given"}), (method, path)
            status, body = api(ep, method.upper(), concrete, {}, token="not-the-token-at-all")
            assert status == 403 and body == (None if bare else {"error": "wrong token"}), (method, path)
    with pytest.raises(AuthError):
        hf.Endpoint(ep.url, token="not-the-token-at-all")
    serves(ep)


def channel_port(ep: RunningEndpoint) -> int:
    return int(api(ep, "GET", "/v1/health")[1]["channel"]["port"])


def read_frame(sock: socket.socket) -> bytes:
    data = b""
    while len(data) < 4 or len(data) < 4 + struct.unpack("!I", data[:4])[0]:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data[4:]


def test_channel_refuses_without_the_token(ep: RunningEndpoint) -> None:
    port = channel_port(ep)
    huge = struct.pack("!I", 1 << 30)  # a length far over what may come before the hello
    for hello in (b"H", b"Hwrong-token-here", b"I" + b"\0" * 100, huge):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(hello if hello == huge else struct.pack("!I", len(hello)) + hello)
            reply = read_frame(sock)
            assert reply[:1] == b"E", hello
            assert json.loads(reply[1:])["status"] in (401, 403)
            assert sock.recv(10) == b""  # closed
    serves(ep)


def test_payloads_over_the_limit_are_refused_before_they_are_read(ep: RunningEndpoint) -> None:
    big = {"ref": "x" * (LIMIT + 10)}
    assert api(ep, "POST", "/v1/functions", big)[0] == 413  # from Content-Length
    conn = http.client.HTTPConnection("127.0.0.1", ep.port, timeout=60)
    chunks = (b"x" * 16384 for _ in range(8))  # no Content-Length: counted as it streams
    conn.request("POST", "/v1/functions", chunks, {"Authorization": f"Bearer {ep.token}"}, encode_chunked=True)
    resp = conn.getresponse()
    assert resp.status == 413 and "over the limit" in json.loads(resp.read())["error"]
    conn.close()
    with ep.client() as client:
        with pytest.raises(PayloadTooLarge):
            client.submit(len, b"x" * LIMIT).result(timeout=60)  # pickled: a few bytes more
        assert client.submit(len, b"x" * (LIMIT - 100)).result(timeout=60) == LIMIT - 100
    serves(ep)


def test_malformed_requests_get_one_json_error(ep: RunningEndpoint) -> None:
    fid = api(ep, "POST", "/v1/functions", {"ref": "tests.faas.functions:square"})[1]["function"]
    cases = [
        ("POST", "/v1/functions", None, b"{not json"),
        ("POST", "/v1/functions", [1, 2], None),
        ("POST", "/v1/functions", {"ref": "no module here"}, None),
        ("POST", "/v1/functions", {"pickle": "!!!"}, None),
        ("POST", "/v1/invocations", {"function": fid, "cores": "four"}, None),
        ("POST", "/v1/invocations", {"function": fid, "cores": -1}, None),
        ("POST", "/v1/invocations", {"function": fid, "cores": True}, None),
        ("POST", "/v1/invocations", {"function": fid, "payload": "%%%"}, None),
        ("POST", "/v1/invocations", {"function": "0" * 32}, None),
        ("POST", "/v1/invocations", {"function": fid, "id": "short"}, None),
        ("POST", "/v1/invocations/batch", {"invocations": []}, None),
        ("POST", "/v1/leases", {"cores": 1, "seconds": -5}, None),
        ("GET", "/v1/results/nope?wait=x", None, None),
        ("GET", "/v1/nowhere", None, None),
        ("DELETE", "/v1/health", None, None),
    ]
    for method, path, body, raw in cases:
        status, got = api(ep, method, path, body, raw=raw)
        assert 400 <= status < 500, (method, path, body, status, got)
        assert set(got) == {"error"} and "Traceback" not in got["error"], (path, got)
    serves(ep)


def test_rate_limit_answers_429_then_serves(ep: RunningEndpoint) -> None:
    statuses = [api(ep, "GET", "/v1/health")[0] for _ in range(150)]
    assert 429 in statuses and statuses[0] == 200
    time.sleep(1.5)
    with ep.client() as client:
        futures = [client.submit(functions.square, i) for i in range(200)]
        outcomes = []
        for f in futures:
            try:
                outcomes.append(f.result(timeout=60))
            except RateLimited:
                outcomes.append("429")
        assert "429" in outcomes and 0 in outcomes
    time.sleep(2.5)
    serves(ep)
