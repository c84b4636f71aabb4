"""A session across two real endpoints (subprocesses on 127.0.0.1): the engine sees both sites' nodes and places on
them; one endpoint killed (kill -9) mid-run is NodeLost for its nodes, its tasks run again on the other site, and
every result comes back once."""

from __future__ import annotations

import json
import platform
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import hetflow as hf
from hetflow.cli import main
from hetflow.errors import SpecError
from hetflow.faas.sitefile import load_endpoints, site_endpoints
from hetflow.journal.read import read_journal
from tests.faas import multisite_tasks as tasks
from tests.faas.endpoints import RunningEndpoint, kill_tree, start_endpoint
from tests.procs import descendants, wait_for

SITE = {"platform": "site", "nodes": [{"type": "cpu", "count": 1, "cores": 2}]}


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[dict[str, RunningEndpoint]]:
    started: dict[str, RunningEndpoint] = {}
    try:
        for name in ("site-a", "site-b"):
            started[name] = start_endpoint(tmp_path / name, platform=SITE)
        yield started
    finally:
        for ep in started.values():
            kill_tree(ep)


def session(sites: dict[str, RunningEndpoint], **options: Any) -> hf.Session:
    endpoints = {name: ep.url for name, ep in sites.items()}
    tokens = {name: ep.token for name, ep in sites.items()}
    return hf.Session(backend="faas", endpoints=endpoints, token=tokens, grace=1.0, **options)


def started_on(folder: Path, ep: RunningEndpoint) -> set[int]:
    """The tasks (by i) whose start file names a process of this endpoint."""
    below = descendants(ep.proc.pid)
    return {int(f.name.split(".")[0]) for f in folder.iterdir() if int(f.name.split(".")[1]) in below}


def test_the_sites_nodes_are_the_platform(sites: dict[str, RunningEndpoint]) -> None:
    followed: list[Any] = []
    with session(sites, mode="sync", policy="best-fit", partitions={"half": {"cores": 0.5}}) as s:
        types = {t.type: (t.count, t.cores, t.site) for t in s.platform.node_types}
        assert types == {"site-a/cpu": (1, 2, "site-a"), "site-b/cpu": (1, 2, "site-b")}
        machine = platform.machine()  # each endpoint described its nodes (discovery there); the session sees it
        assert all(t.features is not None and t.features.arch == machine for t in s.platform.node_types)
        nodes = [(n.name, n.site) for n in s.platform.nodes()]
        assert nodes == [("site-a/cpu-0", "site-a"), ("site-b/cpu-0", "site-b")]
        futures = s.map(tasks.total, [1, 2, 3, 4, 5, 6], [10, 20, 30, 40, 50, 60])
        s.when(futures[0], lambda ctx: followed.append(s.submit(tasks.total, 100, 1)), count=6, name="then")
        assert [f.result(timeout=60) for f in futures] == [11, 22, 33, 44, 55, 66]
        shells = [s.shell(f"echo {i}", partition="half") for i in range(4)]  # half of each site's cores
        assert [f.result(timeout=60).stdout for f in shells] == [f"{i}\n" for i in range(4)]
        placed = {i.node.split("/")[0] for i in s.result().intervals}
    assert placed == {"site-a", "site-b"}  # 6 one-core tasks on two 2-core sites: both are used
    assert len(followed) == 1 and followed[0].result(timeout=0) == 101  # the trigger fired, its task ran


def test_a_site_killed_mid_run_loses_nothing(sites: dict[str, RunningEndpoint], tmp_path: Path) -> None:
    folder = tmp_path / "started"
    folder.mkdir()
    n = 8
    with session(sites, journal=tmp_path / "run.db") as s:
        squares = [s.submit(tasks.slow_square, i, str(folder), 1.0) for i in range(n)]
        final = s.submit(tasks.total, *squares)
        wait_for(lambda: started_on(folder, sites["site-a"]), 60, "a task running on site-a")
        doomed = {i for i in started_on(folder, sites["site-a"]) if not squares[i].done()}
        kill_tree(sites["site-a"])
        assert final.result(timeout=120) == sum(i * i for i in range(n))
        assert [f.result(timeout=0) for f in squares] == [i * i for i in range(n)]
        result = s.result()
    done = [(iv.set, i) for iv in result.intervals if iv.status == "done" for i in range(iv.first, iv.last)]
    assert len(done) == len(set(done)) == n + 1  # every task done exactly once
    records = {r.set: r for r in read_journal(tmp_path / "run.db").records}
    assert doomed
    for i in doomed:  # what ran on site-a when it died ran again, on site-b
        r = records[squares[i].set]
        assert r.status == "done" and r.attempts >= 2 and r.node is not None and r.node.startswith("site-b/"), r
    again = [r for r in records.values() if r.attempts > 1]  # sent to site-a before it died: all now on site-b
    assert all(r.node is not None and r.node.startswith("site-b/") for r in again)


def test_a_site_that_comes_back_joins_again(sites: dict[str, RunningEndpoint], tmp_path: Path) -> None:
    with session(sites) as s:
        assert s.submit(tasks.total, 1, 2).result(timeout=60) == 3
        old = sites["site-a"]
        kill_tree(old)
        wait_for(lambda: s.executor.lost_sites == ["site-a"], 30, "site-a lost")  # type: ignore[attr-defined]
        assert s.submit(tasks.total, 3, 4).result(timeout=60) == 7  # on site-b meanwhile
        sites["site-a"] = start_endpoint(tmp_path / "again", platform=SITE, port=old.port, token_file=old.token_file)
        wait_for(lambda: not s.executor.lost_sites, 30, "site-a back")  # type: ignore[attr-defined]
        futures = s.map(tasks.total, range(8), range(8))
        assert [f.result(timeout=60) for f in futures] == [2 * i for i in range(8)]
        used = {iv.node for iv in s.result().intervals if iv.set == futures[0].set}
    assert used == {"site-a/cpu-0", "site-b/cpu-0"}  # the engine places on site-a again


def test_workflow_of_commands_across_endpoints_file(sites: dict[str, RunningEndpoint], tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    wf = tmp_path / "wf.yaml"
    wf.write_text(
        "workflow: two-sites\ntasks:\n"
        f"  - {{name: make, count: 6, command: 'echo $HETFLOW_TASK_ID > {out}/make-{{index}}; sleep 0.8'}}\n"
        f"  - {{name: join, after: [make], command: 'cat {out}/make-* | sort | tr -d \"\\\\n\" > {out}/joined'}}\n"
        "  - {name: indexed, count: 2, function: 'tests.faas.multisite_tasks:record', after: [join]}\n"
    )
    file = tmp_path / "sites.yaml"
    file.write_text(
        "endpoints:\n"
        + "".join(f"  {name}: {{url: {ep.url}, token_file: {ep.token_file}}}\n" for name, ep in sites.items())
    )
    journal = tmp_path / "run.db"
    victim = sites["site-a"]

    def kill_when_running() -> None:
        wait_for(lambda: len(list(out.glob("make-*"))) >= 2, 60, "make tasks running")
        kill_tree(victim)

    import threading

    killer = threading.Thread(target=kill_when_running)
    killer.start()
    r = CliRunner().invoke(main, ["run", str(wf), "--endpoints", str(file), "--journal", str(journal), "--json"])
    killer.join()
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output[r.output.index("[") :])[0]
    assert summary["failed"] == 0
    assert (out / "joined").read_text() == "".join(sorted(f"make[{i}]" for i in range(6)))
    view = read_journal(journal)
    done = view.done()
    assert {k: sorted(v) for k, v in done.items()} == {"make": list(range(6)), "join": [0], "indexed": [0, 1]}
    again = [r for r in view.records if r.attempts > 1]  # ran on site-a when it died: again, on site-b
    assert again and all(r.status == "done" and r.node and r.node.startswith("site-b/") for r in again)


def test_endpoints_bad_input(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not http"):
        site_endpoints({"a": "ftp://x"})
    with pytest.raises(SpecError, match="bad site name"):
        site_endpoints({"a/b": "http://127.0.0.1:1"})
    file = tmp_path / "sites.yaml"
    file.write_text("endpoints: {a: {url: 'http://127.0.0.1:1', token_file: nope.token}}\n")
    with pytest.raises(SpecError, match="cannot read the token file"):
        load_endpoints(file)
    wf = tmp_path / "wf.yaml"
    wf.write_text("workflow: w\ntasks:\n  - {name: t, command: 'true'}\n")
    file.write_text("endpoints: {a: 'http://127.0.0.1:1'}\n")
    r = CliRunner().invoke(main, ["run", str(wf), "--endpoints", str(file), "--backend", "dask"])
    assert r.exit_code == 2 and "--backend dask cannot be given with it" in r.output
    with pytest.raises(SpecError, match="the faas backend runs on endpoints, and none were given"):
        hf.Session(backend="faas")


def test_node_types_follow_what_the_endpoint_serves() -> None:
    from hetflow.faas.remote import node_types
    from hetflow.spec.platform import NodeType

    described = {
        "nodes": [
            {"name": "gpu-0", "type": "gpu", "cores": 8, "gpus": 2.0, "memory": 64, "speed": 2.0,
             "gpu_model": "A100-40GB", "gpu_sharing": "mig"},
            {"name": "gpu-1", "type": "gpu", "cores": 8, "gpus": 2.0, "memory": 64, "speed": 2.0,
             "gpu_model": "A100-40GB", "gpu_sharing": "mig"},
            {"name": "cpu-0", "type": "cpu", "cores": 4, "gpus": 0, "memory": 0},
            {"name": "cpu-1", "type": "cpu", "cores": 16, "gpus": 0, "memory": 0},
        ]
    }  # fmt: skip
    assert node_types("lab", described) == [
        NodeType("lab/gpu", 2, 8, 20_000, 64, 2.0, gpu_model="A100-40GB", gpu_sharing="mig", site="lab"),
        NodeType("lab/cpu", 1, 4, 0, 0, site="lab"),
        NodeType("lab/cpu-16c0g", 1, 16, 0, 0, site="lab"),  # another shape of one type: a type of its own
    ]
