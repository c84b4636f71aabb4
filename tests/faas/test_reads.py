"""Bytes through the endpoint's reads: every connection reads into one buffer of its own (the client's channel,
the endpoint's channel side, the pool's worker sockets), so frames larger than that buffer arrive in pieces and many
small frames arrive in one read; both must come out whole and in order."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import pytest

from hetflow.faas.channel import READ_SIZE
from hetflow.faas.link import RECV_SIZE
from tests.faas.endpoints import RunningEndpoint, running_endpoint


@pytest.fixture(scope="module")
def ep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    with running_endpoint(tmp_path_factory.mktemp("ep"), "--rate-limit", "0") as running:
        yield running


def test_a_payload_many_reads_long_comes_back_whole(ep: RunningEndpoint) -> None:
    data = os.urandom(3 * READ_SIZE + 12345)  # several reads on each side, a tail that does not fill one
    assert len(data) > 10 * RECV_SIZE
    with ep.client() as client:
        got = client.submit("hetflow.faas.builtins:echo", data).result(timeout=120)
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


def test_a_burst_of_small_frames_in_few_reads(ep: RunningEndpoint) -> None:
    with ep.client() as client:
        futures = client.map(pow, range(3000), [2] * 3000)
        assert [f.result(timeout=120) for f in futures] == [i * i for i in range(3000)]
