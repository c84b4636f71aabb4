"""Queued calls reuse the warm worker that just finished; a batch cannot go past --max-pending."""

from __future__ import annotations

from pathlib import Path

from hetflow.faas import EndpointError
from tests.faas import functions
from tests.faas.endpoints import api, running_endpoint

ONE_CORE = {"platform": "one", "nodes": [{"type": "cpu", "count": 1, "cores": 1, "memory": "2GiB"}]}


def test_a_burst_after_a_warm_up_runs_warm_on_one_core(tmp_path: Path) -> None:
    with running_endpoint(tmp_path, "--max-workers", "1", platform=ONE_CORE) as ep, ep.client() as client:
        client.submit(functions.square, 2).result(timeout=60)
        burst = [client.submit(functions.square, i) for i in range(3)]
        assert [f.result(timeout=60) for f in burst] == [0, 1, 4]
        assert [f.info["kind"] for f in burst] == ["warm", "warm", "warm"]
        assert client.resources()["load"]["cold_starts"] == 1


def test_a_batch_cannot_go_past_max_pending(tmp_path: Path) -> None:
    with running_endpoint(tmp_path, "--max-pending", "2") as ep, ep.client() as client:
        futures = client.map(functions.square, range(50))  # one write: read and checked together
        outcomes = []
        for f in futures:
            try:
                outcomes.append(f.result(timeout=60))
            except EndpointError as exc:
                outcomes.append(exc.status)
        assert outcomes == [0, 1] + [503] * 48
        fid = api(ep, "POST", "/v1/functions", {"ref": "tests.faas.functions:square"})[1]["function"]
        items = [{"function": fid, "args": [i]} for i in range(3)]
        status, body = api(ep, "POST", "/v1/invocations/batch", {"invocations": items})
        assert status == 503 and "invocations[2]: busy" in body["error"]  # a batch is taken whole or not at all
