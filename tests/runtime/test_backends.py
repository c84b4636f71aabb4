"""One workflow, three backends: local processes, a Dask cluster and a Ray cluster, each shaped like the same
heterogeneous platform of three nodes on this machine. Same results, same placement rules, capacity never exceeded."""

from __future__ import annotations

from pathlib import Path

import pytest

import hetflow as hf
from hetflow.journal import read_journal
from hetflow.spec import load_platform
from tests.clusters import HET3, assert_within_capacity, mixed_workflow, results_of

BACKENDS = ["local", "dask", pytest.param("ray", marks=pytest.mark.ray)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_workflow_same_results_within_capacity(backend: str, tmp_path: Path) -> None:
    pytest.importorskip({"local": "hetflow", "dask": "distributed", "ray": "ray"}[backend])
    journal = tmp_path / "run.db"
    with hf.Session(backend, platform=HET3, journal=journal) as s:
        assert [n.name for n in s.platform.nodes()] == ["small-0", "wide-0", "gpu-0"]
        got = results_of(mixed_workflow())
    ones, twos, halves, last = got
    assert ones == [3 * i for i in range(8)]
    assert twos == [3 * i + 100 for i in range(4)]
    # every half-GPU task saw half of GPU 0 (HETFLOW_GPUS) and 50 % of its threads (MPS)
    assert halves == [(3 * i + 100 + 3 * (i + 4), "0:0.5", "50") for i in range(4)]
    assert last == sum(h[0] for h in halves)

    nodes = load_platform(HET3).nodes()
    peaks = assert_within_capacity(journal, nodes)
    placed = {(iv.set.rsplit("-", 1)[0], iv.node) for iv in read_journal(journal).intervals()}
    assert {n for s, n in placed if s == "two_cores"} <= {"wide-0", "gpu-0"}  # never the 1-core node
    assert {n for s, n in placed if s == "half_gpu_sum"} == {"gpu-0"}
    assert peaks["gpu-0"][1] <= 10_000  # two halves at most on the one GPU
