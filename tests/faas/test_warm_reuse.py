"""A burst queued behind one core reuses the warm worker that just finished (not a cold start each)."""

from __future__ import annotations

from pathlib import Path

from tests.faas import functions
from tests.faas.endpoints import running_endpoint

ONE_CORE = {"platform": "one", "nodes": [{"type": "cpu", "count": 1, "cores": 1, "memory": "2GiB"}]}


def test_a_burst_after_a_warm_up_runs_warm_on_one_core(tmp_path: Path) -> None:
    with running_endpoint(tmp_path, "--max-workers", "1", platform=ONE_CORE) as ep, ep.client() as client:
        client.submit(functions.square, 2).result(timeout=60)
        burst = [client.submit(functions.square, i) for i in range(3)]
        assert [f.result(timeout=60) for f in burst] == [0, 1, 4]
        assert [f.info["kind"] for f in burst] == ["warm", "warm", "warm"]
        assert client.resources()["load"]["cold_starts"] == 1
