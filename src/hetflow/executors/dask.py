"""The Dask executor: hetflow's engine places, a Dask cluster runs (`pip install 'hetflow[dask]'`).

- connect(shape): with an address, a client of that scheduler; without, a local cluster shaped like the platform:
  a scheduler in this process and one `dask worker` process per platform node, named after the node, with as many
  threads as the node has cores and its cores, GPUs and memory declared as worker resources (so that a CPU-only
  machine stands for GPU nodes).
  The platform is the cluster's: each worker becomes a node (_cluster.Membership names them).
- submit: each TaskRun becomes one call of the Runner actor (_remote.Runner) on the worker of its node, made once per
  worker (workers=[address], allow_other_workers=False): the call goes straight to that worker, which runs the task
  in a thread of its own, and the result comes straight back, one message each way without the scheduler (a Dask
  task per run took three messages through the scheduler and a fetch: 8 to 9 times slower, docs/benchmarks.md).
  Dask's own resource accounting and its threads are not asked for: the engine's ledger decides, and hetflow's tasks
  do not show as Dask tasks on its dashboard.
  The task sees its GPU grant through CUDA_VISIBLE_DEVICES / CUDA_MPS_ACTIVE_THREAD_PERCENTAGE / HETFLOW_GPUS
  (api.gpu_env, mapped onto the worker's own CUDA_VISIBLE_DEVICES): a command in its own environment, a Python
  function with a GPU environment of its own (a grant, or none on a node with GPUs) in a child process of the
  worker bound to that environment, as the local executor's workers are (_bound.py); other Python functions run in
  a thread of the worker, whose environment no task changes. Commands and bound functions see HETFLOW_TASK_ID.
- Workers that join or leave (the scheduler's add-worker and remove-worker events, and a scheduler_info every
  REFRESH_S) come out of changes(); the runtime turns them into NodeJoined / NodeLost, the engine re-queues what ran
  on a lost node and cancels it here. Results that come back from a lost node's tasks before that are dropped.
  A worker that joins gets its Runner before the engine hears of it; one that cannot take one is lost.
- Cancels and timeouts: a command's process group is killed on its worker (the Runner's kill), and so is the bound
  child of a Python function; one in a thread cannot be stopped, so it is reported at once (CANCELLED, TIMEOUT) and
  left to end on its own there.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from typing import Any

from hetflow.errors import ExecutionError
from hetflow.executors import _remote
from hetflow.executors._base import ClusterExecutorBase, Job
from hetflow.executors._cluster import Seen, declared, shape_resources
from hetflow.executors._worker import dump
from hetflow.executors.api import FAILED, LOST, Outcome, TaskRun
from hetflow.spec.platform import Platform

REFRESH_S = 2.0  # how often the list of workers is read again, events or not
STARTUP_TIMEOUT_S = 120.0  # for the workers of a local cluster to come up (a loaded machine: slow imports)
RUNNER_TIMEOUT_S = 60.0  # for a worker to take its Runner
STOP_TIMEOUT_S = 10.0  # at close, for the kills of cancelled commands to reach their workers


class _Job(Job):
    __slots__ = ("worker",)

    def __init__(self, run: TaskRun, worker: str) -> None:
        super().__init__(run)
        self.worker = worker


class DaskExecutor(ClusterExecutorBase[_Job, tuple[int, Any]]):  # _ready: (key, what its call returned or raised)
    """Tasks on a Dask cluster: the one at `address`, else a local one shaped like the platform. log_dir: where
    commands write their output (a folder every worker can reach; default a temporary one)."""

    name = "dask"
    _refresh_s = REFRESH_S

    def __init__(self, *, address: str | None = None, log_dir: str | os.PathLike[str] | None = None) -> None:
        super().__init__(address, log_dir)
        self._cluster: _ShapedCluster | None = None
        self._client: Any = None
        self._runners: dict[str, tuple[Any, Any]] = {}  # worker address -> (its Runner actor, the actor's future)
        self._stopping: list[Any] = []  # kill calls for cancelled commands, in flight
        self._token = uuid.uuid4().hex[:8]

    # ---- lifecycle ------------------------------------------------------------------------------------------------
    def connect(self, shape: Platform) -> Platform:
        try:
            import distributed
        except ImportError as exc:
            raise ExecutionError(
                f"the dask backend needs dask.distributed ({exc}): pip install 'hetflow[dask]'"
            ) from exc
        if self._client is not None:
            raise ExecutionError("the dask executor is connected already")
        if self.address is None:
            self._cluster = _ShapedCluster(shape)
            self._client = distributed.Client(self._cluster.address)  # type: ignore[no-untyped-call]
            self._client.wait_for_workers(shape.n_nodes, timeout=STARTUP_TIMEOUT_S)
            name = shape.name
        else:
            self._client = distributed.Client(self.address, timeout=30)  # type: ignore[no-untyped-call]
            name = f"dask-{self.address}"
        try:
            started = shape if self._cluster is not None else None
            platform = self._first(name, started, f"the Dask cluster at {self.address} has no workers")
            self._start_runners(list(self._members.node_of))
            self._refreshed = time.monotonic()
            self._client.subscribe_topic("all", self._on_event)
        except BaseException:
            self.close()
            raise
        return platform

    def _release(self) -> None:
        client, cluster = self._client, self._cluster
        if client is not None:
            end = time.monotonic() + STOP_TIMEOUT_S
            for call in self._stopping:
                with contextlib.suppress(Exception):
                    call.result(timeout=max(0.1, end - time.monotonic()))
            closing = []
            for runner, _ in self._runners.values():  # their bound children go now, not with their workers
                with contextlib.suppress(Exception):
                    closing.append(runner.close())
            for call in closing:
                with contextlib.suppress(Exception):
                    call.result(timeout=max(0.1, end - time.monotonic()))
            with contextlib.suppress(Exception):
                client.unsubscribe_topic("all")  # else the scheduler tells a closed client that it left
            with contextlib.suppress(Exception):
                client.close(timeout=10)
        if cluster is not None:
            cluster.close()

    def _connected(self) -> bool:
        return self._client is not None

    @property
    def client(self) -> Any:
        """The distributed.Client (for tests and tools)."""
        return self._client

    @property
    def worker_pids(self) -> dict[str, int]:
        """Node name -> process id of its worker, for a local cluster this executor started ({} otherwise)."""
        return {name: p.pid for name, p in self._cluster.procs.items()} if self._cluster is not None else {}

    def worker_of(self, node: str) -> str | None:
        """The address of the worker running a node now (None: the node is gone)."""
        return self._members.id_of.get(node)

    def _features_of(self, ids: dict[str, str]) -> dict[str, dict[str, Any]]:
        from hetflow.discover.machine import features_json

        answers = self._client.run(features_json, workers=list(ids.values()))
        return {node: answers[wid] for node, wid in ids.items() if wid in answers}

    # ---- submitting -----------------------------------------------------------------------------------------------
    def submit(self, runs: Sequence[TaskRun]) -> None:
        assert self._client is not None, "connect() the executor first"
        now = time.monotonic()
        for run in runs:
            worker = self._members.id_of.get(run.node)
            runner = self._runners.get(worker) if worker is not None else None
            if worker is None or runner is None:
                self._orphans.add(run.key)
                continue
            args = self._arguments(run)
            t = time.time()
            try:
                call = dump(args)
            except Exception as exc:  # arguments that cannot be serialized fail this task, not the run
                self._done.append(Outcome(run.key, FAILED, t, t, error=f"cannot send the task to Dask: {exc}"))
                continue
            try:
                pending = runner[0].run(call)
            except Exception as exc:  # the worker holding the Runner is gone
                self._done.append(Outcome(run.key, LOST, t, t, error=f"Dask lost the task: {exc}"))
                continue
            self._track(_Job(run, worker), now)
            self._client.loop.add_callback(self._wait_for, run.key, pending)

    # ---- waiting --------------------------------------------------------------------------------------------------
    def poll(self, timeout: float | None) -> list[Outcome]:
        out, ready, dirty = self._wait(timeout)
        if dirty or self._stale():  # before the results: a call that failed with its worker finds the node gone
            self._refresh()
        if ready:
            self._collect(ready, out)
        if self._deadlines:
            self._expire(time.monotonic(), out)
        return out

    # ---- internals ------------------------------------------------------------------------------------------------
    async def _wait_for(self, key: int, pending: Any) -> None:  # on the client's event loop
        try:
            value = await pending
        except Exception as exc:  # the call could not reach its worker
            value = exc
        with self._cond:
            self._ready.append((key, value))
            self._cond.notify()

    def _on_event(self, event: Any) -> None:  # the client's event loop thread
        msg = event[1] if isinstance(event, tuple) and len(event) == 2 else event
        if isinstance(msg, dict) and msg.get("action") in ("add-worker", "remove-worker"):
            with self._cond:
                self._dirty = True
                self._cond.notify()

    def _found(self) -> dict[str, Seen]:
        info = self._client.scheduler_info(n_workers=-1)
        found: dict[str, Seen] = {}
        for address, w in info.get("workers", {}).items():
            cores, gpu_units, memory = declared(
                w.get("resources") or {}, int(w.get("nthreads", 1)), w.get("memory_limit") or 0
            )
            found[address] = Seen(str(w.get("name", address)), cores, gpu_units, memory)
        return found

    def _members_changed(self) -> None:
        """Runners go with the workers that left; each new worker gets one."""
        for worker in [w for w in self._runners if w not in self._members.node_of]:
            del self._runners[worker]
        self._start_runners([w for w in self._members.node_of if w not in self._runners])

    def _start_runners(self, workers: list[str]) -> None:
        """Put a Runner on each of these workers (they are new: at connect, or just joined); a worker that does not
        take one within RUNNER_TIMEOUT_S is lost."""
        client = self._client
        futures = {
            w: client.submit(
                _remote.Runner, workers=[w], allow_other_workers=False, actor=True, key=f"hetflow-{self._token}-{w}"
            )
            for w in workers
        }
        end = time.monotonic() + RUNNER_TIMEOUT_S
        for w, fut in futures.items():
            try:
                self._runners[w] = (fut.result(timeout=max(0.1, end - time.monotonic())), fut)
            except Exception:
                self._members.lose(w)

    def _collect(self, ready: list[tuple[int, Any]], out: list[Outcome]) -> None:
        for key, value in ready:
            job = self._jobs.pop(key, None)
            if job is None:
                continue  # cancelled or timed out
            if isinstance(value, tuple):
                out.append(self._outcome(key, job.run, value))
            elif self._members.id_of.get(job.run.node) != job.worker:
                self._orphans.add(key)  # its node is gone: the engine re-queues it when it hears of it
            else:
                t = time.time()
                out.append(Outcome(key, LOST, t, t, error=f"Dask lost the task: {type(value).__name__}: {value}"))

    def _stop(self, job: _Job) -> None:
        """Kill a command's process group, or the bound child of a Python task; a task in a thread goes on there."""
        runner = self._runners.get(job.worker)
        if runner is not None:
            with contextlib.suppress(Exception):
                self._stopping.append(runner[0].kill(job.run.key))


class _ShapedCluster:
    """A local Dask cluster shaped like a platform: a scheduler in this process and one `dask worker` process per
    node (no nanny: a killed worker stays dead, like a node that failed), named after the node, with the node's cores
    as threads and its cores, GPUs and memory as declared resources. The workers die with this process."""

    def __init__(self, shape: Platform) -> None:
        import distributed

        self.scheduler = distributed.LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=0, dashboard_address=None, silence_logs=logging.ERROR, protocol="tcp"
        )
        self.address: str = self.scheduler.scheduler_address
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        env.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._tmp = tempfile.mkdtemp(prefix="hetflow-dask-")
        try:
            for node in shape.nodes():
                res = " ".join(f"{k}={int(v) if v == int(v) else v}" for k, v in shape_resources(node).items())
                cmd = [sys.executable, "-m", "distributed.cli.dask_worker", self.address, "--name", node.name]
                cmd += ["--nthreads", str(max(1, node.cores)), "--no-nanny", "--no-dashboard", "--resources", res]
                cmd += ["--memory-limit", str(node.memory or 0), "--death-timeout", "60"]
                cmd += ["--local-directory", self._tmp]
                self.procs[node.name] = subprocess.Popen(
                    cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, preexec_fn=_die_with_parent
                )
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(OSError):
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with contextlib.suppress(Exception):
            self.scheduler.close(timeout=10)
        shutil.rmtree(self._tmp, ignore_errors=True)


def _die_with_parent() -> None:
    """In a worker process about to start (Linux): SIGTERM when the process that started it dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
