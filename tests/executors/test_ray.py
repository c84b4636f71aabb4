"""The Ray backend against real Ray clusters on this machine: every node of an emulated heterogeneous platform is a
Ray node of its own (a raylet and its worker processes); a node whose processes are killed in the middle of a run is
a node lost for good, and a node that joins is used at once.

Most tests share one cluster started the way docs/hpc.md tells a user to start one (`ray start` with a
`hetflow-node:NAME` label and declared `cores` and `gpus`, plus one node with only Ray's own CPUs and GPUs); the kill
test starts a cluster of its own through Session("ray", platform=...)."""

from __future__ import annotations

import os
import pickle
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import hetflow as hf
from hetflow.cli import main
from hetflow.executors import CANCELLED, DONE, FAILED, TIMEOUT, TaskRun
from hetflow.journal import read_journal
from hetflow.spec import load_platform
from hetflow.spec.platform import Node
from tests.clusters import (
    HET3,
    THREE,
    assert_lost_for_good,
    assert_within_capacity,
    events,
    run_cli_at,
    run_while_a_node_dies,
    run_while_a_node_joins,
)
from tests.executors.gpu_tasks import check_wave, runs
from tests.procs import alive, drain, wait_for, write_pid

ray = pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")
from ray.cluster_utils import Cluster  # noqa: E402

from hetflow.executors.ray import OBJECT_STORE_BYTES, RayExecutor  # noqa: E402

pytestmark = pytest.mark.ray

GIB = 2**30
# the shared cluster's nodes as hetflow finds them: (name, type, cores, GPU units)
FOUND = {("cpu-0", "cpu", 2, 0), ("cpu-1", "cpu", 2, 0), ("gpu-0", "gpu", 1, 20_000), ("worker-0", "worker", 1, 10_000)}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A Ray cluster as `ray start` would make it: a head that runs nothing, two 2-core nodes and a 1-core node with
    two GPUs labelled for hetflow (their memory declared), and one node (1 CPU, 1 GPU) that only Ray's own resources
    describe."""
    head = {"num_cpus": 0, "include_dashboard": False, "object_store_memory": OBJECT_STORE_BYTES}
    c = Cluster(initialize_head=True, head_node_args=head)
    try:
        for name, cores, gpus in [("cpu-0", 2, 0), ("cpu-1", 2, 0), ("gpu-0", 1, 2)]:
            res = {f"hetflow-node:{name}": 1, "cores": cores, **({"gpus": gpus} if gpus else {})}
            c.add_node(wait=False, num_cpus=cores, resources=res, memory=GIB, object_store_memory=OBJECT_STORE_BYTES)
        c.add_node(wait=False, num_cpus=1, num_gpus=1, object_store_memory=OBJECT_STORE_BYTES)
        c.wait_for_nodes(120)
        yield c
    finally:
        c.shutdown()


@pytest.fixture
def executor(cluster: Any, tmp_path: Path) -> Iterator[RayExecutor]:
    ex = RayExecutor(address=cluster.address, log_dir=tmp_path / "logs")
    ex.connect(load_platform(HET3))
    ex.start([])
    yield ex
    ex.close()


def env_var(name: str) -> str | None:
    return os.environ.get(name)


def write_pid_and_sleep(path: str, seconds: float) -> int:
    write_pid(path)
    time.sleep(seconds)
    return os.getpid()


def test_the_platform_is_discovered_from_the_nodes(cluster: Any) -> None:
    ex = RayExecutor(address=cluster.address)
    try:
        found = ex.connect(load_platform(HET3))  # the shape is ignored: the cluster is what it is
        assert {(n.name, n.type, n.cores, n.gpu_units) for n in found.nodes()} == FOUND
        assert {n.memory for n in found.nodes() if n.type != "worker"} == {GIB}  # declared: `ray start --memory`
        assert found.name == f"ray-{cluster.address}"
    finally:
        ex.close()
    assert not ray.is_initialized()


def test_gpu_grants_timeouts_and_cancels_on_the_node_the_engine_chose(executor: RayExecutor, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    executor.submit(
        [
            TaskRun(1, "g", "gpu-0", 1, ((1, 5_000),), fn=env_var, args=("HETFLOW_GPUS",)),
            TaskRun(2, "slow", "cpu-0", 1, fn=time.sleep, args=(60,), timeout=0.5),
            TaskRun(3, "c", "cpu-1", 1, command=f"echo $$ > {pidfile}.tmp; mv {pidfile}.tmp {pidfile}; exec sleep 60"),
            TaskRun(4, "w", "worker-0", 1, ((0, 10_000),), fn=env_var, args=("HETFLOW_GPUS",)),
        ]
    )
    wait_for(pidfile.exists, timeout=60, what="the command to start")
    executor.cancel(3)
    got = drain(executor, 4)
    assert got[1].status == DONE and pickle.loads(got[1].value or b"") == "1:0.5"
    assert got[4].status == DONE and pickle.loads(got[4].value or b"") == "0:1"
    assert got[2].status == TIMEOUT and got[2].error == "timed out after 0.5 s"
    assert got[3].status == CANCELLED
    pid = int(pidfile.read_text())
    wait_for(lambda: not alive(pid), timeout=60, what="the cancelled command to be killed on its node")


def test_gpu_tasks_at_once_each_see_their_own_grant(executor: RayExecutor, tmp_path: Path) -> None:
    """Ray reuses its worker processes: a Python task given GPUs runs only in processes kept for its grant."""
    for wave in range(2):
        executor.submit(runs("gpu-0", wave, tmp_path / "marks"))
        check_wave(drain(executor, 4, timeout=240), wave)


def test_a_python_task_past_its_timeout_is_killed(executor: RayExecutor, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    executor.submit([TaskRun(1, "slow", "cpu-0", 1, fn=write_pid_and_sleep, args=(str(pidfile), 60), timeout=3)])
    got = drain(executor, 1)
    assert got[1].status == TIMEOUT
    wait_for(lambda: not alive(int(pidfile.read_text())), what="the worker of the timed-out task to be killed")


def test_arguments_that_cannot_be_sent_fail_only_their_task(executor: RayExecutor) -> None:
    lock = threading.Lock()  # no pickler can send a lock
    executor.submit(
        [TaskRun(1, "a", "cpu-0", 1, fn=os.getpid, args=(lock,)), TaskRun(2, "b", "cpu-0", 1, fn=os.getpid)]
    )
    got = drain(executor, 2)
    assert got[1].status == FAILED and "cannot send the task to Ray" in got[1].error
    assert got[2].status == DONE


def test_cli_runs_on_a_cluster_at_an_address(cluster: Any, tmp_path: Path) -> None:
    placed = run_cli_at(cluster.address, "ray", tmp_path, [Node(n, t, c, u, 0) for n, t, c, u in FOUND])
    assert placed["a"] <= {"cpu-0", "cpu-1"}
    assert placed["g"] <= {"gpu-0", "worker-0"}
    assert (tmp_path / "run.db.logs" / "a@0.out").read_text() == "a[0]\n"


def test_a_node_that_joins_mid_run_is_used_at_once(cluster: Any, tmp_path: Path) -> None:
    journal = tmp_path / "run.db"
    joined: list[Any] = []

    def join() -> None:
        res = {"hetflow-node:extra-0": 1, "cores": 2}
        joined.append(cluster.add_node(num_cpus=2, resources=res, memory=GIB, object_store_memory=OBJECT_STORE_BYTES))

    try:
        with hf.Session("ray", address=cluster.address, journal=journal) as s:
            assert run_while_a_node_joins(s, tmp_path / "marks", join, new_cores=2) == list(range(8))
    finally:
        for node in joined:
            cluster.remove_node(node)
    assert events(journal, "node-joined")[-1] == (None, None, "extra-0")
    on_new = sorted(iv.first for iv in read_journal(journal).intervals() if iv.node == "extra-0")
    assert on_new == [6, 7]  # the two tasks queued when it joined ran there at once
    nodes = [Node(n, t, c, u, 0) for n, t, c, u in FOUND] + [Node("extra-0", "extra", 2, 0, 0)]
    assert_within_capacity(journal, nodes)


def test_bad_addresses_are_one_line(tmp_path: Path) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text("workflow: w\ntasks:\n  - {name: a, command: 'true'}\n")
    for address, problem in [("127.0.0.1:1", "no Ray cluster answers at 127.0.0.1:1"), ("nowhere", "is not the")]:
        r = CliRunner().invoke(main, ["run", str(wf), "--backend", "ray", "--address", address])
        assert r.exit_code == 2 and problem in r.output and len(r.output.strip().splitlines()) == 1, r.output


def test_a_killed_node_is_lost_and_its_tasks_run_elsewhere(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"
    with hf.Session("ray", platform=THREE, journal=journal) as s:
        ex = s.executor
        assert isinstance(ex, RayExecutor) and ex.cluster is not None
        raylet = psutil.Process(ex.cluster.raylet_pid("n-1"))
        others = [ex.cluster.raylet_pid(n) for n in ("n-0", "n-2")]
        victims: list[Any] = []

        def node_processes() -> list[Any]:
            return [raylet, *raylet.children(recursive=True)]

        def kill() -> None:
            victims.extend(node_processes())  # the raylet and every process under it: the node's workers and agents
            for p in victims:
                os.kill(p.pid, signal.SIGKILL)

        run_while_a_node_dies(tmp_path / "marks", lambda: {p.pid for p in node_processes()}, kill)
        wait_for(lambda: not any(alive(p.pid) for p in victims), timeout=30, what="the killed node to be reaped")
    assert not ray.is_initialized() and not any(alive(pid) for pid in others)  # the cluster went with the session
    assert_lost_for_good(journal, "n-1", load_platform(THREE).nodes())
