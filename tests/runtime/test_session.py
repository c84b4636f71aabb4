"""The Python API against the real local backend: tasks, futures, dependencies, adaptivity and failures."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import sqlite3
import threading
from pathlib import Path

import pytest

import hetflow as hf
from hetflow.errors import ExecutionError, FitError, TaskFailedError, TaskSkippedError
from hetflow.executors.api import CommandResult
from hetflow.runtime import RemoteTraceback, current_session
from tests.procs import first_sleeps_long, wait_for
from tests.runtime import tasks as t

TWO_CORES = {"platform": "two", "nodes": [{"type": "n", "cores": 2}]}


@pytest.fixture
def session() -> hf.Session:
    with hf.Session(platform=TWO_CORES, retry_backoff=0.01) as s:
        yield s


def test_futures_are_dependencies_and_carry_results(session: hf.Session) -> None:
    a = t.inc(1)
    b, c = t.inc(a), t.add(a, 10)
    d = t.total([a, b, c], scale=t.inc(0))  # futures inside a list and in a keyword count too
    assert isinstance(a, concurrent.futures.Future) and isinstance(a, hf.TaskFuture)
    assert d.result(timeout=30) == 2 + 3 + 12
    assert (a.task_id, b.result(), c.result()) == ("inc-0", 3, 12)
    spans = {iv.set: iv for iv in session.result().intervals}
    assert spans["total-4"].start >= max(spans[n].end for n in ("inc-0", "inc-1", "add-2", "inc-3"))


def test_futures_work_with_concurrent_futures_and_asyncio(session: hf.Session) -> None:
    futures = [t.nap(k / 20) for k in range(4)]
    done, not_done = concurrent.futures.wait(futures, timeout=30)
    assert len(done) == 4 and not not_done
    assert sorted(f.result() for f in concurrent.futures.as_completed(futures)) == [0.0, 0.05, 0.1, 0.15]

    async def both() -> list[int]:
        return list(await asyncio.gather(t.inc(41), t.add(1, 2)))

    assert asyncio.run(both()) == [42, 3]


def test_map_submits_one_task_set(session: hf.Session) -> None:
    futures = t.add.map(range(50), range(50))
    assert [f.result(timeout=30) for f in futures] == [2 * i for i in range(50)]
    assert {f.set for f in futures} == {"add-0"} and futures[7].task_id == "add-0[7]"
    assert session.map(t.inc, []) == []


def test_any_callable_runs_by_value_when_it_cannot_be_imported(session: hf.Session) -> None:
    offset = 100

    def local(x: int) -> int:
        return x + offset

    assert session.submit(local, 1).result(timeout=30) == 101
    assert session.submit(lambda: os.getpid()).result(timeout=30) != os.getpid()


def test_new_tasks_come_from_results_and_from_callbacks(session: hf.Session) -> None:
    seen: list[int] = []
    spawned: list[hf.TaskFuture] = []
    lock = threading.Lock()

    def follow(fut: concurrent.futures.Future[int]) -> None:  # runs in the driver thread
        value = fut.result()
        with lock:
            seen.append(value)
        if value < 5:
            nxt = t.inc(value)
            nxt.add_done_callback(follow)
            with lock:
                spawned.append(nxt)

    t.inc(0).add_done_callback(follow)
    x = t.inc(0)
    while x.result(timeout=30) < 3:  # a loop that decides from each result what to run next
        x = t.inc(x)
    wait_for(lambda: 5 in seen, what="the callback chain to end")
    assert sorted(seen) == [1, 2, 3, 4, 5] and len(spawned) == 4


def test_a_task_outside_a_session_is_a_plain_call() -> None:
    assert current_session() is None
    assert t.inc(1) == 2


def test_a_failed_task_is_retried_then_fails_and_its_dependents_are_skipped(session: hf.Session) -> None:
    bad = t.always_fails(7)
    child = t.inc(bad)
    grandchild = t.inc(child)
    fine = t.inc(1)
    with pytest.raises(ValueError, match="bad input 7") as info:
        bad.result(timeout=30)
    assert isinstance(info.value.__cause__, RemoteTraceback) and "always_fails" in str(info.value.__cause__)
    with pytest.raises(TaskSkippedError, match="inc-1 skipped"):
        child.result(timeout=30)
    with pytest.raises(TaskSkippedError):
        grandchild.result(timeout=30)
    assert fine.result(timeout=30) == 2  # independent work goes on
    attempts = [(iv.status, iv.attempts) for iv in session.result().intervals if iv.set == bad.set]
    assert attempts == [("failed", 1), ("failed", 2), ("failed", 3)]  # retries=2: three attempts, each held a core


def test_a_task_taking_one_item_of_a_map_waits_for_that_item_only(session: hf.Session) -> None:
    quick_and_slow = t.nap.map([0.05, 3.0])
    early = t.add(quick_and_slow[0], 1)  # needs the quick item only
    both = t.total(quick_and_slow)  # needs the whole map
    assert early.result(timeout=30) == 1.05
    assert not quick_and_slow[1].done()  # it ran while the slow item still runs
    assert both.result(timeout=30) == 3.05
    bad = t.always_fails.map([1, 2])
    skipped = t.inc(bad[1])
    with pytest.raises(TaskSkippedError, match=r"its input always_fails-\d+\[1\] failed"):
        skipped.result(timeout=30)


def test_retries_with_backoff_until_it_works(session: hf.Session, tmp_path: Path) -> None:
    f = t.flaky(str(tmp_path / "calls"), 2)
    assert f.result(timeout=30) == 3
    ivs = [iv for iv in session.result().intervals if iv.set == f.set]
    assert [(iv.status, iv.attempts) for iv in ivs] == [("failed", 1), ("failed", 2), ("done", 3)]
    assert ivs[0].end <= ivs[1].start and ivs[1].end <= ivs[2].start  # a retry starts after its backoff, not before


def test_a_timeout_fails_the_task(session: hf.Session) -> None:
    with pytest.raises(TaskFailedError, match=r"too_slow-0 failed: timed out after 0\.5 s"):
        t.too_slow().result(timeout=30)


def test_a_worker_killed_mid_task_is_retried_on_a_fresh_worker(session: hf.Session, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    f = session.submit(first_sleeps_long, str(pidfile))  # the first attempt sleeps 60 s: the kill always lands mid-task
    wait_for(pidfile.exists, what="the task to start", timeout=60)
    victim = int(pidfile.read_text())
    os.kill(victim, signal.SIGKILL)
    assert f.result(timeout=60) != victim  # ran again, elsewhere, and completed
    (iv,) = [iv for iv in session.result().intervals if iv.set == f.set]
    assert (iv.status, iv.attempts) == ("done", 2)


def test_leaving_the_block_on_an_error_cancels_a_retry_waiting_for_its_backoff(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"
    wf = {"workflow": "w", "tasks": [{"name": "bad", "command": "exit 1", "retries": 1}]}

    def retried() -> bool:
        with sqlite3.connect(journal) as conn:
            return bool(conn.execute("SELECT count(*) FROM events WHERE kind = 'retried'").fetchone()[0])

    with (
        pytest.raises(RuntimeError, match="stop"),
        hf.Session(platform=TWO_CORES, journal=journal, retry_backoff=30) as s,
    ):
        run = s.submit_workflow(wf)
        wait_for(retried, what="the first attempt to fail", timeout=60)
        raise RuntimeError("stop")
    assert run.wait(30) and not run.ok
    assert s.progress().cores_busy == 0 and s.progress().running == 0
    with sqlite3.connect(journal) as conn:
        kinds = [k for (k,) in conn.execute('SELECT kind FROM events WHERE "set" = ? ORDER BY seq', ("bad",))]
        (status,) = conn.execute("SELECT status FROM runs").fetchone()
    assert kinds[-1] == "cancelled" and kinds.count("started") == 1  # a retry waits for its backoff unstarted
    assert status != "done"


def test_commands(session: hf.Session) -> None:
    ok = session.shell("echo hello; echo oops >&2")
    bad = session.shell("exit 4", retries=1)
    after_bad = session.shell("echo never", after=[bad])
    out = ok.result(timeout=30)
    assert isinstance(out, CommandResult) and (out.stdout, out.stderr) == ("hello\n", "oops\n")
    with pytest.raises(TaskFailedError, match="exit status 4") as info:
        bad.result(timeout=30)
    assert isinstance(info.value.result, CommandResult) and info.value.result.returncode == 4
    with pytest.raises(TaskSkippedError):
        after_bad.result(timeout=30)


def test_output_read_after_the_session_closed_says_why_it_is_gone(tmp_path: Path) -> None:
    with hf.Session(platform=TWO_CORES) as s:
        out = s.shell("echo hello").result(timeout=30)
        assert out.stdout == "hello\n"
    with pytest.raises(
        FileNotFoundError, match="read the output before the Session closes, or give the Session a log_dir"
    ):
        _ = out.stdout
    with hf.Session(platform=TWO_CORES, log_dir=tmp_path / "logs") as s:
        kept = s.shell("echo kept").result(timeout=30)
    assert kept.stdout == "kept\n"  # a log_dir the user gave outlives the Session


def test_cancel_a_running_task_and_skip_its_dependents(session: hf.Session) -> None:
    slow = t.nap(60)
    child = t.inc(slow)
    wait_for(lambda: session.progress().running == 1, what="the task to start")
    assert not slow.cancel()  # running: as concurrent.futures, only the session stops it
    session.cancel(slow.set, slow.index)
    wait_for(slow.cancelled, what="the future to end cancelled")
    with pytest.raises(TaskSkippedError):
        child.result(timeout=30)
    wait_for(lambda: session.progress().cores_busy == 0, what="the cores to be free")


def test_gpus_declared_by_the_platform_are_given_to_tasks() -> None:
    platform = {"platform": "gpu", "nodes": [{"type": "g", "cores": 2, "gpus": 2}]}
    with hf.Session(platform=platform) as s:
        env = t.half_gpu().result(timeout=30)
        assert env["CUDA_VISIBLE_DEVICES"] in ("0", "1") and env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == "50"
        assert env["HETFLOW_GPUS"] == env["CUDA_VISIBLE_DEVICES"] + ":0.5"
        both = [t.one_gpu(0.3), t.one_gpu(0.3)]
        assert sorted(f.result(timeout=30) or "" for f in both) == ["0", "1"]  # concurrently, one GPU each
        assert s.platform.gpus == 2


def test_a_task_larger_than_every_node_is_refused_at_once(session: hf.Session) -> None:
    with pytest.raises(FitError, match="needs 64 cores"):
        t.too_big()


def test_an_error_in_the_block_cancels_what_runs() -> None:
    with pytest.raises(KeyError), hf.Session(platform=TWO_CORES) as s:
        slow = t.nap(60)
        wait_for(lambda: s.progress().running == 1, what="the task to start")
        raise KeyError("stop")
    assert slow.cancelled()
    with pytest.raises(ExecutionError, match="closed"):
        s.submit(t.inc, 1)
