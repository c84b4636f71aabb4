"""Arrays that come back from an endpoint, or reach a function on a cluster's worker, can be written to, small or
large, as they could where they were made."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from hetflow.faas import warmcache
from hetflow.faas.worker import pack, unpack
from tests.faas.endpoints import RunningEndpoint, running_endpoint


@pytest.fixture(scope="module")
def ep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    with running_endpoint(tmp_path_factory.mktemp("writable")) as running:
        yield running


@pytest.mark.parametrize("size", [8, 2_000_000])
def test_a_returned_array_is_writable_small_or_large(ep: RunningEndpoint, size: int) -> None:
    with ep.client() as client:
        out = client.submit("copy:copy", np.arange(size, dtype=np.uint8)).result(timeout=60)
        assert out.flags.writeable and out[-1] == (size - 1) % 256
        out[0] = 7


@pytest.mark.parametrize("size", [8, 2_000_000])
def test_a_cluster_call_gets_a_writable_array(size: int) -> None:
    payload = b"".join(pack(((np.zeros(size, dtype=np.uint8),), {})))
    ok, _, _, _, body, _ = warmcache.invoke("writable", b"r", b"tests.faas.functions:writable", b"b", payload, 60.0)
    assert ok == 1 and unpack(body) is True
