"""The Dask backend against real Dask clusters on this machine: each node of an emulated heterogeneous platform is a
`dask worker` process of its own; a worker killed in the middle of a run is a node lost for good."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

import hetflow as hf
from hetflow.cli import main
from hetflow.executors import CANCELLED, DONE, FAILED, TIMEOUT, TaskRun
from hetflow.executors.dask import DaskExecutor
from hetflow.journal import read_journal
from hetflow.spec import load_platform
from tests.clusters import (
    HET3,
    THREE,
    assert_lost_for_good,
    events,
    run_cli_at,
    run_while_a_node_dies,
    run_while_a_node_joins,
)
from tests.executors.gpu_tasks import check_wave, runs
from tests.procs import alive, drain, wait_for
from tests.runtime.tasks import write_pid_then_sleep

pytest.importorskip("distributed")


def test_a_killed_worker_is_a_lost_node_and_its_tasks_run_elsewhere(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"
    with hf.Session("dask", platform=THREE, journal=journal) as s:
        ex = s.executor
        assert isinstance(ex, DaskExecutor)
        pids = ex.worker_pids
        assert sorted(pids) == ["n-0", "n-1", "n-2"]
        victim = pids["n-1"]
        run_while_a_node_dies(tmp_path / "marks", lambda: {victim}, lambda: os.kill(victim, signal.SIGKILL))
        wait_for(lambda: not alive(victim), timeout=30, what="the killed worker to be reaped")
    assert_lost_for_good(journal, "n-1", load_platform(THREE).nodes())


def test_a_worker_that_joins_mid_run_is_used_at_once(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"
    plat = {"platform": "two", "nodes": [{"type": "n", "count": 2, "cores": 1}]}
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with hf.Session("dask", platform=plat, journal=journal) as s:
            assert isinstance(s.executor, DaskExecutor)
            address = s.executor.client.scheduler.address
            cmd = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--name", "extra-0", "--nthreads", "2"]
            cmd += ["--no-nanny", "--no-dashboard", "--resources", "cores=2"]
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}

            def join() -> None:
                workers.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

            assert run_while_a_node_joins(s, tmp_path / "marks", join, new_cores=2) == list(range(4))
    finally:
        for w in workers:  # its scheduler is gone: a worker would try to reconnect for a while, not stop
            w.kill()
            w.wait(timeout=30)
    assert events(journal, "node-joined")[-1] == (None, None, "extra-0")
    on_new = sorted(iv.first for iv in read_journal(journal).intervals() if iv.node == "extra-0")
    assert on_new == [2, 3]  # the two tasks queued when it joined ran there at once


def test_cancels_timeouts_and_arguments_that_cannot_be_sent(tmp_path: Path) -> None:
    ex = DaskExecutor(log_dir=tmp_path / "logs")
    ex.connect(load_platform({"platform": "one", "nodes": [{"type": "n", "cores": 2}]}))
    try:
        pidfile = tmp_path / "pid"
        ex.submit(
            [
                TaskRun(
                    1, "c", "n-0", 1, command=f"echo $$ > {pidfile}.tmp; mv {pidfile}.tmp {pidfile}; exec sleep 60"
                ),
                TaskRun(2, "slow", "n-0", 0, fn=time.sleep, args=(2,), timeout=0.3),
                TaskRun(3, "a", "n-0", 0, fn=os.getpid, args=(threading.Lock(),)),  # no pickler can send a lock
                TaskRun(4, "b", "n-0", 0, fn=os.getpid),
            ]
        )
        wait_for(pidfile.exists, timeout=60, what="the command to start")
        ex.cancel(1)
        got = drain(ex, 4)
        assert got[1].status == CANCELLED
        assert got[2].status == TIMEOUT and got[2].error == "timed out after 0.3 s"
        assert got[3].status == FAILED and "cannot send the task to Dask" in got[3].error
        assert got[4].status == DONE
        wait_for(lambda: not alive(int(pidfile.read_text())), what="the cancelled command to be killed on its worker")
    finally:
        ex.close()


def test_a_temporary_log_folder_goes_at_close_unless_a_command_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for command, kept in (("echo fine", False), ("echo broken >&2; exit 1", True)):
        ex = DaskExecutor()
        ex.connect(load_platform({"platform": "one", "nodes": [{"type": "n", "cores": 1}]}))
        try:
            ex.submit([TaskRun(1, "a", "n-0", 1, command=command)])
            result = drain(ex, 1)[1].result()
            folder = Path(result.stdout_path).parent
            assert folder.parent == tmp_path and folder.is_dir()
        finally:
            ex.close()
        assert folder.exists() == kept, command
        if kept:
            assert [p.name for p in folder.iterdir()] == ["a.err"]


def test_gpu_tasks_at_once_each_see_their_own_grant_and_a_cancel_kills_one(tmp_path: Path) -> None:
    """A worker's Python tasks share its process: each GPU task runs in a child bound to its grant instead."""
    ex = DaskExecutor(log_dir=tmp_path / "logs")
    ex.connect(load_platform({"platform": "g", "nodes": [{"type": "gpu", "cores": 4, "gpus": 2}]}))
    try:
        for wave in range(2):
            ex.submit(runs("gpu-0", wave, tmp_path / "marks"))
            check_wave(drain(ex, 4), wave)
        pidfile = tmp_path / "pid"
        ex.submit([TaskRun(9, "s", "gpu-0", 1, ((0, 5_000),), fn=write_pid_then_sleep, args=(str(pidfile), 60))])
        wait_for(pidfile.exists, timeout=60, what="the task to start")
        ex.cancel(9)
        assert drain(ex, 1)[9].status == CANCELLED
        wait_for(lambda: not alive(int(pidfile.read_text())), what="the cancelled task's process to be killed")
    finally:
        ex.close()


def test_the_platform_is_discovered_from_the_scheduler(tmp_path: Path) -> None:
    """A second client of a running cluster finds its workers as nodes, with their declared cores, GPUs and memory."""
    host = DaskExecutor()
    shape = load_platform(
        {"platform": "p", "nodes": [{"type": "cpu", "count": 2, "cores": 2}, {"type": "gpu", "cores": 1, "gpus": 2}]}
    )
    try:
        connected = host.connect(shape)  # the shape, its node types described by discovery on their workers
        assert all(t.features is not None for t in connected.node_types)
        assert replace(connected, node_types=tuple(replace(t, features=None) for t in connected.node_types)) == shape
        assert host.client is not None
        address = host.client.scheduler.address
        guest = DaskExecutor(address=address)
        try:
            found = guest.connect(load_platform(HET3))  # the shape is ignored: the cluster is what it is
            assert {(n.name, n.type, n.cores, n.gpu_units) for n in found.nodes()} == {
                ("cpu-0", "cpu", 2, 0),
                ("cpu-1", "cpu", 2, 0),
                ("gpu-0", "gpu", 1, 20_000),
            }
        finally:
            guest.close()
    finally:
        host.close()


def test_cli_runs_on_a_cluster_at_an_address(tmp_path: Path) -> None:
    host = DaskExecutor()
    shape = load_platform(HET3)
    try:
        host.connect(shape)
        placed = run_cli_at(host.client.scheduler.address, "dask", tmp_path, shape.nodes())
        assert placed["a"] <= {"wide-0", "gpu-0"}
        assert placed["g"] == {"gpu-0"}
    finally:
        host.close()


def test_address_needs_a_cluster_backend(tmp_path: Path) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text("workflow: w\ntasks:\n  - {name: a, command: 'true'}\n")
    r = CliRunner().invoke(main, ["run", str(wf), "--address", "tcp://127.0.0.1:1"])
    assert r.exit_code == 2
    assert "--backend dask" in r.output
