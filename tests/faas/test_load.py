"""Load: 10,000 invocations from 8 concurrent clients, each its own Endpoint, against one real endpoint: every
result is the right one for its invocation, none is lost and none comes twice."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.faas.endpoints import running_endpoint
from tests.faas.multisite_tasks import tagged

CLIENTS = 8
PER_CLIENT = 1250  # 10,000 in all
PLATFORM = {"platform": "load", "nodes": [{"type": "cpu", "count": 1, "cores": 4}]}


@pytest.mark.slow
def test_ten_thousand_invocations_from_eight_clients(tmp_path: Path) -> None:
    got: dict[int, list[Any]] = {}
    ids: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    with running_endpoint(tmp_path, platform=PLATFORM) as ep:

        def client(c: int) -> None:
            try:
                with ep.client() as client:
                    half = PER_CLIENT // 2
                    futures = [client.submit(tagged, c, i) for i in range(half)]  # one at a time
                    futures += client.map(tagged, [c] * (PER_CLIENT - half), range(half, PER_CLIENT))  # batched
                    values = [f.result(timeout=300) for f in futures]
                with lock:
                    got[c] = values
                    ids.extend(f.id for f in futures)
            except BaseException as exc:
                with lock:
                    errors.append(exc)

        threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        assert not errors, errors[0]
        assert ep.proc.poll() is None  # still serving
    assert len(ids) == len(set(ids)) == CLIENTS * PER_CLIENT
    for c in range(CLIENTS):
        assert got[c] == [(c, i, c * 1_000_003 + i * i) for i in range(PER_CLIENT)]
    everything = Counter((c, i) for values in got.values() for c, i, _ in values)
    assert len(everything) == CLIENTS * PER_CLIENT and max(everything.values()) == 1
