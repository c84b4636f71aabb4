"""The local executor against real worker processes, real subprocesses and real signals."""

from __future__ import annotations

import os
import pickle
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import hetflow as hf
from hetflow.errors import SpecError
from hetflow.executors import CANCELLED, DONE, FAILED, LOST, TIMEOUT, CommandResult, TaskRun, make_executor
from hetflow.executors.api import gpu_env
from hetflow.executors.local import LocalExecutor, can_pin, machine_cpus
from hetflow.spec.platform import Node
from hetflow.spec.resources import GPU_UNIT
from tests.executors.gpu_tasks import check_wave, runs
from tests.procs import alive, drain, wait_for, write_pid


def whoami() -> tuple[int, list[int], dict[str, str | None]]:
    keys = ("CUDA_VISIBLE_DEVICES", "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "HETFLOW_TASK_ID", "HETFLOW_CORES")
    return os.getpid(), sorted(os.sched_getaffinity(0)), {k: os.environ.get(k) for k in keys}


def nap(seconds: float) -> list[int]:
    time.sleep(seconds)
    return sorted(os.sched_getaffinity(0))


def write_pid_and_sleep(path: str, seconds: float) -> int:
    write_pid(path)
    time.sleep(seconds)
    return os.getpid()


@pytest.fixture
def executor(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LocalExecutor]:
    nodes = getattr(request, "param", [Node("n-0", "n", 2, 2 * GPU_UNIT, 0)])
    ex = LocalExecutor(log_dir=tmp_path / "logs")
    ex.start(nodes)
    yield ex
    ex.close()


def test_python_tasks_run_in_persistent_workers(executor: LocalExecutor) -> None:
    pool = set(executor.worker_pids)
    assert len(pool) == 2  # sized to the node's cores
    executor.submit([TaskRun(k, f"t[{k}]", "n-0", 1, fn=whoami) for k in range(40)])
    got = drain(executor, 40)
    assert all(o.status == DONE for o in got.values())
    pids = {o.result()[0] for o in got.values()}
    assert pids <= pool  # no interpreter started per task
    assert {o.result()[2]["HETFLOW_TASK_ID"] for o in got.values()} == {f"t[{k}]" for k in range(40)}


def test_commands_capture_stdout_and_stderr_per_task(executor: LocalExecutor, tmp_path: Path) -> None:
    executor.submit(
        [
            TaskRun(1, "a[0]", "n-0", 1, command="echo out-a; echo err-a >&2"),
            TaskRun(2, "a[1]", "n-0", 1, command="echo out-b; echo err-b >&2"),
            TaskRun(3, "bad", "n-0", 1, command="echo partial; echo 'no such input' >&2; exit 3"),
        ]
    )
    got = drain(executor, 3)
    a, b, bad = (got[k].result() for k in (1, 2, 3))
    assert isinstance(a, CommandResult) and a.returncode == 0
    assert (a.stdout, a.stderr, b.stdout, b.stderr) == ("out-a\n", "err-a\n", "out-b\n", "err-b\n")
    assert Path(a.stdout_path) == tmp_path / "logs" / "a@0.out"
    assert got[3].status == FAILED and bad.returncode == 3
    assert got[3].error == "exit status 3: no such input"
    assert bad.stdout == "partial\n"


@pytest.mark.skipif(not can_pin() or len(machine_cpus()) < 2, reason="needs CPU affinity and two CPUs")
def test_tasks_are_pinned_to_the_cores_they_hold(executor: LocalExecutor) -> None:
    executor.submit([TaskRun(1, "a", "n-0", 1, fn=nap, args=(0.3,)), TaskRun(2, "b", "n-0", 1, fn=nap, args=(0.3,))])
    got = drain(executor, 2)
    one, two = got[1].result(), got[2].result()
    assert len(one) == len(two) == 1 and one != two  # one CPU each, not the same one
    executor.submit([TaskRun(3, "c", "n-0", 2, fn=whoami), TaskRun(4, "d", "n-0", 2, command="cat /proc/self/status")])
    got = drain(executor, 2)
    _, cpus, env = got[3].result()
    assert cpus == machine_cpus()[:2] and env["HETFLOW_CORES"] == ",".join(map(str, cpus))
    status = got[4].result().stdout
    allowed = next(line for line in status.splitlines() if line.startswith("Cpus_allowed_list"))
    assert allowed.split()[-1] in (f"{cpus[0]}-{cpus[1]}", f"{cpus[0]},{cpus[1]}")  # the command inherits it


def test_gpus_are_shown_through_the_environment(executor: LocalExecutor) -> None:
    whole, half = ((1, GPU_UNIT),), ((0, GPU_UNIT // 2),)
    executor.submit(
        [
            TaskRun(1, "whole", "n-0", 0, whole, fn=whoami),
            TaskRun(2, "half", "n-0", 0, half, fn=whoami),
            TaskRun(3, "both", "n-0", 0, ((0, GPU_UNIT), (1, GPU_UNIT)), fn=whoami),
            TaskRun(4, "none", "n-0", 1, fn=whoami),
            TaskRun(5, "cmd", "n-0", 0, half, command="echo $CUDA_VISIBLE_DEVICES/$CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"),
        ]
    )
    got = drain(executor, 5)
    env = {k: got[k].result()[2] for k in (1, 2, 3, 4)}
    assert env[1]["CUDA_VISIBLE_DEVICES"] == "1" and env[1]["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] is None
    assert env[2]["CUDA_VISIBLE_DEVICES"] == "0" and env[2]["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "50"
    assert env[3]["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert env[4]["CUDA_VISIBLE_DEVICES"] == ""  # a node with GPUs, a task without: it sees none
    assert got[5].result().stdout == "0/50\n"
    # a worker that ran a GPU task keeps that GPU: the two GPU calls that differ ran in different processes
    assert got[1].result()[0] != got[2].result()[0]


def test_gpu_tasks_at_once_each_see_their_own_grant_in_a_worker_of_their_own(tmp_path: Path) -> None:
    """Workers are reused: a whole GPU after half of one must not keep its MPS share, nor a task given no GPU."""
    ex = LocalExecutor(log_dir=tmp_path / "logs", pin=False)
    ex.start([Node("gpu-0", "gpu", 4, 2 * GPU_UNIT, 0)])
    try:
        for wave in range(2):
            ex.submit(runs("gpu-0", wave, tmp_path / "marks"))
            check_wave(drain(ex, 4), wave)
    finally:
        ex.close()


def test_gpu_env_maps_to_the_devices_the_runtime_was_given() -> None:
    assert gpu_env(((1, GPU_UNIT),), True, ["4", "6"]) == {"CUDA_VISIBLE_DEVICES": "6", "HETFLOW_GPUS": "1:1"}
    quarter = gpu_env(((0, GPU_UNIT // 4),), True)
    assert quarter["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "25" and quarter["HETFLOW_GPUS"] == "0:0.25"
    assert gpu_env((), False) == {}


def test_a_python_task_past_its_timeout_is_killed_and_its_worker_replaced(executor: LocalExecutor) -> None:
    executor.submit([TaskRun(1, "slow", "n-0", 1, fn=time.sleep, args=(60,), timeout=0.3)])
    wait_for(lambda: executor.running_on(1) is not None, what="the task to start")
    victim = executor.running_on(1)
    got = drain(executor, 1)
    assert got[1].status == TIMEOUT and got[1].error == "timed out after 0.3 s"
    assert victim is not None and victim not in executor.worker_pids and len(executor.worker_pids) == 2
    executor.submit([TaskRun(2, "next", "n-0", 1, fn=whoami)])
    assert drain(executor, 1)[2].status == DONE


def test_a_command_past_its_timeout_is_killed_with_its_children(executor: LocalExecutor, tmp_path: Path) -> None:
    child = tmp_path / "child.pid"
    executor.submit([TaskRun(1, "c", "n-0", 1, command=f"sleep 60 & echo $! > {child}; wait", timeout=0.5)])
    got = drain(executor, 1)
    assert got[1].status == TIMEOUT
    pid = int(child.read_text())
    wait_for(lambda: not alive(pid), what="the command's child to die")


def test_cancel_a_running_and_a_queued_task(tmp_path: Path) -> None:
    ex = LocalExecutor(workers=1, log_dir=tmp_path)
    ex.start([Node("n-0", "n", 1, 0, 0)])
    try:
        pidfile = tmp_path / "pid"
        ex.submit(
            [TaskRun(1, "a", "n-0", 1, command=f"echo $$ > {pidfile}.tmp; mv {pidfile}.tmp {pidfile}; exec sleep 60")]
        )
        wait_for(pidfile.exists, what="the command to start")
        ex.cancel(1)
        got = drain(ex, 1)
        assert got[1].status == CANCELLED
        wait_for(lambda: not alive(int(pidfile.read_text())), what="the command to die")
        # a Python task holds the only worker (it is killed); the one queued behind it is cancelled before it starts
        ex.submit([TaskRun(2, "b", "n-0", 1, fn=time.sleep, args=(60,)), TaskRun(3, "c", "n-0", 1, fn=whoami)])
        ex.cancel(2)
        ex.cancel(3)
        got = drain(ex, 2)
        assert got[2].status == got[3].status == CANCELLED
    finally:
        ex.close()


def test_a_worker_killed_under_its_task_is_reported_lost(executor: LocalExecutor, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    executor.submit([TaskRun(1, "victim", "n-0", 1, fn=write_pid_and_sleep, args=(str(pidfile), 60))])
    wait_for(pidfile.exists, what="the task to start")
    pid = int(pidfile.read_text())
    os.kill(pid, signal.SIGKILL)
    got = drain(executor, 1)
    assert got[1].status == LOST and got[1].error == f"worker {pid} died (signal 9)"
    assert pid not in executor.worker_pids and len(executor.worker_pids) == 2  # replaced


def test_arguments_that_cannot_be_sent_fail_only_their_task(tmp_path: Path) -> None:
    ex = LocalExecutor(workers=1, log_dir=tmp_path)
    ex.start([Node("n-0", "n", 1, 0, 0)])
    try:
        (pid,) = ex.worker_pids
        lock = threading.Lock()  # no pickler can send a lock
        # the same function both times, on the one worker: the failed send must not count as having defined it there
        ex.submit([TaskRun(1, "a", "n-0", 1, fn=whoami, args=(lock,)), TaskRun(2, "b", "n-0", 1, fn=whoami)])
        got = drain(ex, 2)
        assert got[1].status == FAILED and "cannot send the task" in got[1].error
        assert got[2].status == DONE, got[2].error
        assert pickle.loads(got[2].value or b"")[0] == pid
        assert ex.worker_pids == [pid]
    finally:
        ex.close()


def test_a_function_that_cannot_be_sent_fails_only_its_task(tmp_path: Path) -> None:
    ex = LocalExecutor(workers=1, log_dir=tmp_path)
    ex.start([Node("n-0", "n", 1, 0, 0)])
    try:
        (pid,) = ex.worker_pids
        lock = threading.Lock()

        def locked() -> int:  # sent by value, with the lock it closes over: no pickler can
            with lock:
                return os.getpid()

        ex.submit([TaskRun(1, "a", "n-0", 1, fn=locked), TaskRun(2, "b", "n-0", 1, fn=whoami)])
        got = drain(ex, 2)
        assert got[1].status == FAILED and "cannot send the task" in got[1].error
        assert got[2].status == DONE, got[2].error
        assert pickle.loads(got[2].value or b"")[0] == pid and ex.worker_pids == [pid]
    finally:
        ex.close()


def test_an_exception_comes_back_with_its_traceback(executor: LocalExecutor) -> None:
    executor.submit([TaskRun(1, "a", "n-0", 1, fn=int, args=("not a number",))])
    o = drain(executor, 1)[1]
    assert o.status == FAILED and o.error.startswith("ValueError: invalid literal")
    assert isinstance(pickle.loads(o.exception or b""), ValueError) and "Traceback" in o.traceback


def test_executors_by_name() -> None:
    assert isinstance(make_executor("local", workers=0), LocalExecutor)
    with pytest.raises(SpecError, match=r"unknown backend 'nope'.*use one of local"):
        make_executor("nope")


def test_each_attempt_of_a_task_keeps_its_own_logs(executor: LocalExecutor, tmp_path: Path) -> None:
    command = "echo try; echo oops >&2; exit {rc}"
    executor.submit([TaskRun(1, "a[0]", "n-0", 1, command=command.format(rc=1))])
    first = drain(executor, 1)[1].result()
    executor.submit([TaskRun(2, "a[0]", "n-0", 1, command=command.format(rc=0), attempt=2)])
    second = drain(executor, 1)[2].result()
    logs = tmp_path / "logs"
    assert (Path(first.stdout_path), Path(first.stderr_path)) == (logs / "a@0.out", logs / "a@0.err")
    assert (Path(second.stdout_path), Path(second.stderr_path)) == (logs / "a@0.2.out", logs / "a@0.2.err")
    assert sorted(p.name for p in logs.iterdir()) == ["a@0.2.err", "a@0.2.out", "a@0.err", "a@0.out"]


def test_a_shell_task_retried_in_a_session_leaves_the_logs_of_both_attempts(tmp_path: Path) -> None:
    marker, journal = tmp_path / "tried", tmp_path / "run.db"
    command = f"echo attempt; if [ -e {marker} ]; then exit 0; fi; touch {marker}; echo failing >&2; exit 1"
    with hf.Session(platform={"platform": "one", "nodes": [{"type": "n", "cores": 1}]}, journal=journal) as s:
        result = s.shell(command, retries=1).result(timeout=60)
    assert result.returncode == 0
    logs = Path(f"{journal}.logs")
    (first_out,) = [p for p in logs.iterdir() if p.name.endswith(".out") and not p.name.endswith(".2.out")]
    first_err = first_out.with_suffix(".err")
    assert Path(result.stdout_path) == first_out.with_suffix(".2.out")
    assert (first_out.read_text(), first_err.read_text()) == ("attempt\n", "failing\n")
    assert Path(result.stdout_path).read_text() == "attempt\n" and not Path(result.stderr_path).exists()
    assert (result.stdout, result.stderr) == ("attempt\n", "")  # an empty log is no file, and reads as ""


def test_log_names_hold_no_glob_or_shell_characters_and_never_collide(tmp_path: Path) -> None:
    ids = [("a b[3]", 1), ("x*?[1]", 1), ("x.2", 1), ("x", 2), ("dir/name", 1), ("dir_name", 1), ("é[0]", 1)]
    ex = LocalExecutor(log_dir=tmp_path / "logs")
    ex.start([Node("n-0", "n", 2, 0, 0)])
    try:
        ex.submit(
            [TaskRun(k, tid, "n-0", 1, command="echo $HETFLOW_TASK_ID", attempt=a) for k, (tid, a) in enumerate(ids)]
        )
        got = drain(ex, len(ids))
    finally:
        ex.close()
    names = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert len(names) == len(ids)  # one .out each (the .err files were empty: removed), none shared
    assert not any(set(n) & set("*?[]/ \\'\"$!{}") for n in names), names
    assert {got[k].result().stdout for k in got} == {f"{tid}\n" for tid, _ in ids}
    assert {Path(got[k].result().stdout_path).name for k in got} == {
        "a%20b@3.out", "x%2A%3F@1.out", "x%2E2.out", "x.2.out", "dir%2Fname.out", "dir_name.out", "%C3%A9@0.out",
    }  # fmt: skip


def test_a_temporary_log_folder_goes_at_close_unless_a_command_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for command, kept in (("echo fine", False), ("echo broken >&2; exit 1", True)):
        ex = LocalExecutor()
        ex.start([Node("n-0", "n", 1, 0, 0)])
        ex.submit([TaskRun(1, "a", "n-0", 1, command=command)])
        result = drain(ex, 1)[1].result()
        folder = Path(result.stdout_path).parent
        assert folder.parent == tmp_path and folder.is_dir()
        ex.close()
        assert folder.exists() == kept, command
        if kept:
            assert [p.name for p in folder.iterdir()] == ["a.err"]
