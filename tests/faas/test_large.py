"""Large payloads and results (issue #13): they travel as pickle protocol 5 with out-of-band buffers (fmt b), sent
from where they lie and read in place, and still arrive whole and equal, both ways; the payload limit holds to the
byte on the fast channel, and an invocation over it is refused (413) before its payload is read."""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from hetflow.faas.frames import INVOKE, NO_LEASE, RESULT, RETURNED, STATUSES, frame
from hetflow.faas.worker import BLOB_MIN, pack, send_parts, unpack
from tests.faas.endpoints import RunningEndpoint, api, running_endpoint

LIMIT = 8 * 1024 * 1024
BIG = int(5.9 * 1024 * 1024)


@pytest.fixture(scope="module")
def ep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    with running_endpoint(tmp_path_factory.mktemp("large"), "--max-payload", str(LIMIT), "--rate-limit", "0") as e:
        yield e


def base_buffer(arr: np.ndarray[Any, Any]) -> object:
    """What a numpy array's memory belongs to, past the arrays it views."""
    base: object = arr
    while isinstance(base, np.ndarray):
        base = base.base
    return base


def test_large_payloads_and_results_both_ways(ep: RunningEndpoint) -> None:
    blob = os.urandom(BIG)
    arr = np.arange(64 * 10_000, dtype=np.float64).reshape(-1, 64)
    nested = {"blob": blob, "items": [bytearray(blob[:200_000]), arr[:1000], (1, "x", b"small")], "n": 3}
    with ep.client() as client:
        assert client.submit(len, blob).result(timeout=120) == BIG
        got = client.submit("copy:copy", blob).result(timeout=120)
        assert type(got) is bytes and got == blob
        back = client.submit("copy:copy", bytearray(blob[: BLOB_MIN * 3])).result(timeout=120)
        assert type(back) is bytearray and back == blob[: BLOB_MIN * 3]
        out = client.submit("copy:copy", arr).result(timeout=120)
        assert out.shape == arr.shape and out.dtype == arr.dtype and np.array_equal(out, arr)
        # out of band: the array is a view of the frame it came in (in band, it would own a bytearray of its own)
        frame_buf = base_buffer(out)
        assert isinstance(frame_buf, memoryview) and len(frame_buf.obj) > arr.nbytes and out.flags.writeable
        fortran = np.asfortranarray(arr[:, :7])  # not C-contiguous: pickled as numpy chooses, still equal
        assert np.array_equal(client.submit("copy:copy", fortran).result(timeout=120), fortran)
        deep = client.submit("copy:deepcopy", nested).result(timeout=120)
        assert deep["blob"] == blob and deep["items"][0] == nested["items"][0] and deep["n"] == 3
        assert np.array_equal(deep["items"][1], arr[:1000]) and deep["items"][2] == (1, "x", b"small")
        with ep.client().lease(cores=1, seconds=120) as lease:  # hot: the lease's worker, the same frames
            assert lease.submit("copy:copy", blob).result(timeout=120) == blob
        with pytest.raises(ZeroDivisionError):  # a failure record in the same layout
            client.submit("operator:truediv", 1, 0).result(timeout=120)


def test_submit_snapshots_mutable_arguments(ep: RunningEndpoint) -> None:
    """bytes are sent from where they lie; a bytearray or an array is copied at submit, so changing it later changes
    nothing sent (even when the frame leaves later, or again after a reconnect)."""
    data = bytearray(b"a" * (BLOB_MIN * 2))
    arr = np.zeros(BLOB_MIN, dtype=np.uint8)
    with ep.client() as client:
        with client.batch():  # held: the frames leave when the block ends
            f1 = client.submit(bytes, data)
            f2 = client.submit(bytes, arr)
            data[:] = b"b" * len(data)
            arr[:] = 7
        assert f1.result(timeout=60) == b"a" * (BLOB_MIN * 2) and f2.result(timeout=60) == bytes(BLOB_MIN)


def test_pack_keeps_large_buffers_out_of_band() -> None:
    blob = os.urandom(BLOB_MIN)
    arr = np.ones(BLOB_MIN, dtype=np.float32)
    parts = pack(((blob, "small", b"x" * 10), {"a": arr}), depth=2)
    head, stream = parts[0], parts[1]
    assert len(parts) == 4 and len(stream) < 1000  # the stream holds neither buffer
    assert isinstance(parts[2], memoryview) and parts[2].obj is blob  # no copy
    assert isinstance(parts[3], memoryview) and parts[3].obj is arr
    assert struct.unpack_from("!IQ", head) == (2, len(stream))
    (args, kwargs) = unpack(b"".join(parts))
    assert args[0] == blob and args[1:] == ("small", b"x" * 10) and np.array_equal(kwargs["a"], arr)
    joined = b"".join(parts)
    for bad in (joined[:5], joined[:-1], joined + b"!", struct.pack("!IQ", 1 << 30, 0)):
        with pytest.raises(ValueError):
            unpack(bad)


def test_send_parts_survives_partial_sends() -> None:
    """sendmsg takes what the socket's buffer holds: the rest follows, in order, nothing copied or lost."""
    a, b = socket.socketpair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    parts: list[Any] = [b"head", memoryview(os.urandom(3_000_001)), b"", bytearray(os.urandom(70_000))]
    parts += [os.urandom(10) for _ in range(1500)]  # more parts than one sendmsg takes
    want = b"".join(parts)
    got = bytearray()

    def drain() -> None:
        while len(got) < len(want):
            got.extend(b.recv(65536))

    reader = threading.Thread(target=drain)
    reader.start()
    send_parts(a, parts)
    reader.join(timeout=60)
    a.close()
    b.close()
    assert bytes(got) == want


def channel(ep: RunningEndpoint) -> socket.socket:
    port = int(api(ep, "GET", "/v1/health")[1]["channel"]["port"])
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.sendall(frame(b"H", ep.token.encode()))
    assert read(sock)[:1] == b"W"
    return sock


def read(sock: socket.socket) -> bytes:
    data = bytearray()
    while len(data) < 4 or len(data) < 4 + struct.unpack_from("!I", data)[0]:
        chunk = sock.recv(1 << 20)
        assert chunk, "the endpoint closed the channel"
        data += chunk
    return bytes(data[4:])


def result(body: bytes) -> tuple[str, int, bytes]:
    """(status, code, value) of an R frame."""
    _, status, _, code, *_ = RESULT.unpack_from(body, 1)
    return STATUSES[status], code, body[1 + RESULT.size + RETURNED.size :]


def test_payload_limit_to_the_byte_and_refused_before_reading(ep: RunningEndpoint) -> None:
    fid = bytes.fromhex(api(ep, "POST", "/v1/functions", {"ref": "builtins:len"})[1]["function"])
    overhead = len(b"".join(pack(((b"x" * BLOB_MIN,), {}), depth=2))) - BLOB_MIN  # out of band: a fixed cost
    exact = b"".join(pack(((b"y" * (LIMIT - overhead),), {}), depth=2))
    assert len(exact) == LIMIT

    def head(ident: bytes) -> bytes:
        return INVOKE.pack(ident, fid, b"b", 1, 0.0, 0, 0.0, NO_LEASE)

    with channel(ep) as sock:
        sock.sendall(frame(b"I", head(b"1" * 16), exact))  # at the limit: runs
        status, _, value = result(read(sock))
        assert status == "done" and unpack(value) == LIMIT - overhead
        # one byte over: only the frame's length and its head are sent, and the refusal comes without the rest
        size = 1 + INVOKE.size + LIMIT + 1
        sock.sendall(struct.pack("!I", size) + b"I" + head(b"2" * 16))
        status, code, value = result(read(sock))
        assert (status, code) == ("refused", 413) and b"over the limit" in value
        sock.sendall(b"z" * (LIMIT + 1))  # its bytes are skipped as they come; the channel serves on
        sock.sendall(frame(b"I", head(b"3" * 16), b"".join(pack(((b"ok",), {}), depth=2))))
        body = read(sock)
        assert RESULT.unpack_from(body, 1)[0] == b"3" * 16 and result(body)[0] == "done"
        assert unpack(result(body)[2]) == 2
    assert json.loads(json.dumps(api(ep, "GET", "/v1/health")[1]))["status"] == "ok"
