"""A task's memory travels to the endpoint: its engine accounts for it (one asking more than a node has is refused
at once with the reason; two that do not fit together wait for each other), and a multi-site session's task holds
the memory its engine gave it on the endpoint too."""

from __future__ import annotations

from pathlib import Path

import pytest

import hetflow as hf
from hetflow.faas import EndpointError
from tests.faas import functions
from tests.faas.endpoints import api, running_endpoint
from tests.procs import wait_for

GIB = 1 << 30


def test_memory_is_accounted_on_the_endpoint(tmp_path: Path) -> None:
    with running_endpoint(tmp_path) as ep, ep.client() as client:  # one node: 4 cores, 8 GiB
        with pytest.raises(EndpointError, match="fit no node") as refused:
            client.submit(functions.square, 3, memory=9 * GIB).result(timeout=60)
        assert refused.value.status == 409
        first = client.submit(functions.sleepy, 0.5, memory=5 * GIB)
        second = client.submit(functions.sleepy, 0.5, memory=5 * GIB)  # cores enough for both, memory not
        small = client.submit(functions.square, 4, memory=2 * GIB)  # fits beside either
        assert (first.result(timeout=60), second.result(timeout=60), small.result(timeout=60)) == (0.5, 0.5, 16)
        one, two = first.info["timings"], second.info["timings"]
        assert two["started"] >= one["ended"] or one["started"] >= two["ended"]


def test_a_sessions_task_holds_its_memory_on_the_endpoint(tmp_path: Path) -> None:
    with (
        running_endpoint(tmp_path) as ep,
        hf.Session(backend="faas", endpoints={"site": ep.url}, token=ep.token, grace=1.0) as s,
    ):
        assert [n.memory for n in s.platform.nodes()] == [8 * GIB]
        slow = s.submit(hf.task(memory="3GiB")(functions.sleepy), 1.5)

        def held() -> bool:
            nodes = api(ep, "GET", "/v1/resources")[1]["nodes"]
            return [n["free_memory"] for n in nodes] == [5 * GIB]

        wait_for(held, what="the endpoint to hold the task's 3 GiB")
        assert slow.result(timeout=60) == 1.5
        wait_for(lambda: api(ep, "GET", "/v1/resources")[1]["nodes"][0]["free_memory"] == 8 * GIB, what="free")
