"""The fast channel tells the two token failures apart, as the HTTP API does: no token is 401, a wrong one 403 (each
one JSON error frame, then the endpoint closes); the right one is welcomed."""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Iterator

import pytest

from tests.faas.endpoints import RunningEndpoint, api, running_endpoint


@pytest.fixture(scope="module")
def ep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    with running_endpoint(tmp_path_factory.mktemp("channel-auth")) as running:
        yield running


def hello(ep: RunningEndpoint, body: bytes) -> tuple[bytes, bytes]:
    """Send one frame as the first thing on a new channel connection: (the answer's frame body, what follows it)."""
    port = int(api(ep, "GET", "/v1/health")[1]["channel"]["port"])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(struct.pack("!I", len(body)) + body)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack("!I", data[:4])[0]:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        size = struct.unpack("!I", data[:4])[0]
        if data[4:5] == b"E":
            return data[4 : 4 + size], sock.recv(10)
        return data[4 : 4 + size], b"open"


@pytest.mark.parametrize(
    ("first", "status", "error"),
    [
        (b"H", 401, "no token given"),
        (b"Hnot-the-token-at-all", 403, "wrong token"),
        (b"H" + b"x" * 64, 403, "wrong token"),
        (b"I" + bytes(100), 401, "say hello with the token first"),
    ],
)
def test_no_token_is_401_and_a_wrong_one_403(ep: RunningEndpoint, first: bytes, status: int, error: str) -> None:
    reply, after = hello(ep, first)
    assert reply[:1] == b"E" and json.loads(reply[1:]) == {"error": error, "status": status}
    assert after == b""  # closed


def test_the_right_token_is_welcomed(ep: RunningEndpoint) -> None:
    reply, after = hello(ep, b"H" + ep.token.encode())
    assert reply[:1] == b"W" and set(json.loads(reply[1:])) >= {"time", "max_payload"} and after == b"open"
