"""The Ray executor: hetflow's engine places, a Ray cluster runs (`pip install 'hetflow[ray]'`).

- connect(shape): with an address, the Ray cluster there; without, a local cluster shaped like the platform
  (ShapedCluster): a head node that runs nothing and one Ray node per platform node, labelled with the resource
  `hetflow-node:NAME`, its cores and GPUs declared (`cores`, `gpus`, and as Ray's own CPU and GPU counts), so that a
  CPU-only machine stands for GPU nodes. The platform is the cluster's: each alive node with cores or GPUs is a node
  (_cluster.Membership names them: the label's NAME, else the Ray node's name).
- submit: each TaskRun is one Ray task of _remote.run_task pinned to the node the engine chose
  (NodeAffinitySchedulingStrategy(node id, soft=False)), with num_cpus=0 and max_retries=0: Ray's own resource
  accounting never holds back what the engine placed (the engine's ledger decides), and Ray never re-runs a task by
  itself. The task sees its GPU grant as on Dask (api.gpu_env, mapped onto the node's own CUDA_VISIBLE_DEVICES).
  A Ray worker process runs one task at a time, and a Python task with a GPU grant asks for a runtime environment
  naming its grant (HETFLOW_GPU_BINDING), so Ray runs it in worker processes kept for that grant: a process never
  shows two grants (CUDA reads the environment once per process). Tasks given no GPU share the node's other workers.
- Nodes that join or leave: ray.nodes() is read every REFRESH_S, and a task that failed because its node died
  (NodeDiedError, or a node that can no longer be scheduled on) loses that node at once. The runtime turns changes()
  into NodeJoined / NodeLost; the engine re-queues what ran on a lost node and cancels it here.
- Cancels and timeouts: a Python function's worker process is killed (ray.cancel(force=True)); the worker of a
  command is interrupted (ray.cancel) and kills the command's process group.
- ray.init is once per process: one Ray executor at a time. Ray prints node deaths on stdout; the executor turns
  that printing off while it is connected (hetflow records them in its journal).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import logging
import math
import os
import socket
import time
from collections.abc import Sequence
from typing import Any

from hetflow.errors import ExecutionError, SpecError
from hetflow.executors import _remote
from hetflow.executors._base import ClusterExecutorBase, Job
from hetflow.executors._cluster import Seen, declared, shape_resources
from hetflow.executors.api import FAILED, LOST, Outcome, TaskRun
from hetflow.spec.platform import Node, Platform
from hetflow.spec.resources import GPU_UNIT

BINDING = "HETFLOW_GPU_BINDING"  # set in the worker processes of Python tasks given GPUs: the grant they run
LABEL = "hetflow-node:"  # the resource that names the engine node a Ray node stands for: hetflow-node:NAME
REFRESH_S = 1.0  # how often the list of nodes is read again
STARTUP_TIMEOUT_S = 120.0  # for the nodes of a local cluster to come up (a loaded machine: slow starts)
STOP_TIMEOUT_S = 10.0  # at close, for cancelled commands to be killed by their workers
DISCOVER_TIMEOUT_S = 60.0  # for the first task on each node, which finds its features (hetflow.discover)
OBJECT_STORE_BYTES = 100 * 2**20  # per node of a local cluster: results travel inline, arguments seldom need more


class _Job(Job):
    __slots__ = ("future", "node_id", "ref")

    def __init__(self, run: TaskRun, node_id: str, ref: Any, future: concurrent.futures.Future[Any]) -> None:
        super().__init__(run)
        self.node_id = node_id
        self.ref = ref
        self.future = future


class RayExecutor(ClusterExecutorBase[_Job, int]):  # _ready: the keys of the tasks that ended
    """Tasks on a Ray cluster: the one at `address` ("HOST:PORT" of its head, or "auto"), else a local one shaped
    like the platform. log_dir: where commands write their output (a folder every node can reach; default a temporary
    one)."""

    name = "ray"
    _refresh_s = REFRESH_S

    def __init__(self, *, address: str | None = None, log_dir: str | os.PathLike[str] | None = None) -> None:
        super().__init__(address, log_dir)
        self._cluster: ShapedCluster | None = None
        self._ray: Any = None  # the ray module, once connected
        self._task: Any = None  # _remote.run_task as a Ray remote function
        self._dead: set[str] = set()  # ids of nodes a task saw die, before ray.nodes() says so
        self._stopping: list[concurrent.futures.Future[Any]] = []  # cancelled commands, until their worker ends them
        self._printing: bool | None = None  # Ray's printing of node deaths, as it was before connect

    # ---- lifecycle ------------------------------------------------------------------------------------------------
    def connect(self, shape: Platform) -> Platform:
        try:
            import ray
        except ImportError as exc:
            raise ExecutionError(f"the ray backend needs ray ({exc}): pip install 'hetflow[ray]'") from exc
        if self._ray is not None:
            raise ExecutionError("the ray executor is connected already")
        if ray.is_initialized():
            raise ExecutionError("Ray is already initialized in this process: one Ray executor (or ray.init) at a time")
        if self.address is not None:
            _reachable(self.address)
        self._ray = ray
        try:
            address = self.address
            if address is None:
                self._cluster = ShapedCluster(shape)
                address = self._cluster.address
            try:
                ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
            except Exception as exc:  # refused (a token that does not match), a version that differs, ...
                raise ExecutionError(f"cannot connect to the Ray cluster at {address}: {_line(exc)}") from exc
            self._quiet(True)
            self._task = self._ray.remote(num_cpus=0, max_retries=0)(_remote.run_task)
            name = shape.name if self._cluster is not None else f"ray-{self.address}"
            started = shape if self._cluster is not None else None
            platform = self._first(name, started, f"the Ray cluster at {self.address} has no node with cores or GPUs")
            self._refreshed = time.monotonic()
        except BaseException:
            self.close()
            raise
        return platform

    def _release(self) -> None:
        if self._ray is not None:
            concurrent.futures.wait(self._stopping, timeout=STOP_TIMEOUT_S)
            with contextlib.suppress(Exception):
                self._ray.shutdown()
            self._quiet(False)
        if self._cluster is not None:
            self._cluster.shutdown()

    def _connected(self) -> bool:
        return self._task is not None

    @property
    def cluster(self) -> ShapedCluster | None:
        """The local cluster this executor started (None when it connected to an address)."""
        return self._cluster

    def _features_of(self, ids: dict[str, str]) -> dict[str, dict[str, Any]]:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from hetflow.discover.machine import features_json

        probe = self._ray.remote(num_cpus=0, max_retries=0)(features_json)
        refs = {
            node: probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(wid, soft=False)).remote()
            for node, wid in ids.items()
        }
        return dict(zip(refs, self._ray.get(list(refs.values()), timeout=DISCOVER_TIMEOUT_S), strict=True))

    # ---- submitting -----------------------------------------------------------------------------------------------
    def submit(self, runs: Sequence[TaskRun]) -> None:
        assert self._task is not None, "connect() the executor first"
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        now = time.monotonic()
        for run in runs:
            node_id = self._members.id_of.get(run.node)
            if node_id is None:
                self._orphans.add(run.key)
                continue
            args = self._arguments(run)
            options: dict[str, Any] = {
                "scheduling_strategy": NodeAffinitySchedulingStrategy(node_id, soft=False),
                "name": run.task_id,
            }
            if run.fn is not None and run.gpus:  # worker processes of its own grant: CUDA reads it once per process
                grant = ",".join(":".join(map(str, share)) for share in run.gpus)
                options["runtime_env"] = {"env_vars": {BINDING: grant}}
            try:
                ref = self._task.options(**options).remote(*args)
            except Exception as exc:  # arguments that cannot be serialized fail this task, not the run
                t = time.time()
                self._done.append(Outcome(run.key, FAILED, t, t, error=f"cannot send the task to Ray: {exc}"))
                continue
            future = ref.future()
            self._track(_Job(run, node_id, ref, future), now)
            future.add_done_callback(functools.partial(self._on_done, run.key))

    # ---- waiting --------------------------------------------------------------------------------------------------
    def poll(self, timeout: float | None) -> list[Outcome]:
        out, ready, _ = self._wait(timeout)  # nothing tells of a node joining or leaving: read them when stale
        if ready:  # before reading the nodes: a task that saw its node die loses the node at once
            self._collect(ready, out)
        if self._stale():
            self._refresh()
        if self._deadlines:
            self._expire(time.monotonic(), out)
        return out

    # ---- internals ------------------------------------------------------------------------------------------------
    def _on_done(self, key: int, _: concurrent.futures.Future[Any]) -> None:  # a thread of Ray's
        with self._cond:
            self._ready.append(key)
            self._cond.notify()

    def _found(self) -> dict[str, Seen]:
        """The alive nodes that have cores or GPUs, by node id (a head started with no CPU is not a node)."""
        found: dict[str, Seen] = {}
        for n in self._ray.nodes():
            if not n.get("Alive") or n["NodeID"] in self._dead:
                continue
            res: dict[str, float] = n.get("Resources") or {}
            cores, gpu_units, memory = declared(res, int(res.get("CPU", 0)), int(res.get("memory", 0)))
            if cores or gpu_units:
                label = next((k[len(LABEL) :] for k in res if k.startswith(LABEL)), None)
                found[n["NodeID"]] = Seen(label or str(n.get("NodeName") or n["NodeID"]), cores, gpu_units, memory)
        return found

    def _collect(self, ready: list[int], out: list[Outcome]) -> None:
        for key in ready:
            job = self._jobs.pop(key, None)
            if job is None:
                continue  # cancelled or timed out
            exc = job.future.exception()
            if exc is None:
                out.append(self._outcome(key, job.run, job.future.result()))
            else:
                self._failure(job, exc, out)

    def _failure(self, job: _Job, exc: BaseException, out: list[Outcome]) -> None:
        """A task that Ray could not run to its end: its node died (the node is lost, the task an orphan that
        NodeLost re-queues), run_task itself failed there (FAILED), or its worker died (LOST: it runs again)."""
        errors = self._ray.exceptions
        key, t = job.run.key, time.time()
        if isinstance(exc, errors.RayTaskError):  # hetflow, or the task's arguments, could not be loaded there
            cause = getattr(exc, "cause", None) or exc
            out.append(Outcome(key, FAILED, t, t, error=f"the task could not run on its node: {_line(cause)}"))
            return
        if isinstance(exc, errors.NodeDiedError | errors.TaskUnschedulableError):
            self._dead.add(job.node_id)
            self._members.lose(job.node_id)
        if self._members.id_of.get(job.run.node) != job.node_id:
            self._orphans.add(key)
            return
        out.append(Outcome(key, LOST, t, t, error=f"Ray lost the task: {_line(exc)}"))

    def _stop(self, job: _Job) -> None:
        command = job.run.command is not None
        with contextlib.suppress(Exception):
            self._ray.cancel(job.ref, force=not command)
            if command:
                self._stopping.append(job.future)

    def _quiet(self, on: bool) -> None:
        """Turn Ray's printing of node deaths and worker logs on stdout off (on=True), or back as it was."""
        from ray._private import worker

        if on:
            self._printing = getattr(worker, "_worker_logs_enabled", None)
            if self._printing is not None:
                worker._worker_logs_enabled = False
        elif self._printing is not None:
            worker._worker_logs_enabled = self._printing


class ShapedCluster:
    """A local Ray cluster shaped like a platform: a head node with no CPU (it runs nothing) and one Ray node per
    platform node, labelled `hetflow-node:NAME`, with the node's cores and GPUs as Ray's CPUs and GPUs and declared
    again as `cores` and `gpus`, and its memory (when the platform gives one). Its processes go with this one."""

    def __init__(self, shape: Platform) -> None:
        from ray.cluster_utils import Cluster

        logging.getLogger("ray").setLevel(logging.ERROR)  # as ray.init(logging_level=ERROR) will: no INFO lines
        head = {"num_cpus": 0, "num_gpus": 0, "include_dashboard": False, "object_store_memory": OBJECT_STORE_BYTES}
        self._cluster: Any = Cluster(initialize_head=True, head_node_args=head)
        self.nodes: dict[str, Any] = {}
        try:
            for node in shape.nodes():
                self._add(node)
            self._cluster.wait_for_nodes(STARTUP_TIMEOUT_S)
        except BaseException:
            self.shutdown()
            raise

    @property
    def address(self) -> str:
        """The head's HOST:PORT, for ray.init and `hetflow run --address`."""
        return str(self._cluster.address)

    def _add(self, node: Node) -> None:
        """Start one Ray node standing for this node (ready after wait_for_nodes)."""
        resources = {LABEL + node.name: 1.0, **shape_resources(node)}
        resources.pop("memory", None)  # Ray's own resource: given as memory= below
        options: dict[str, Any] = {
            "num_cpus": node.cores,
            "num_gpus": math.ceil(node.gpu_units / GPU_UNIT),
            "resources": resources,
            "object_store_memory": OBJECT_STORE_BYTES,
        }
        if node.memory:
            options["memory"] = node.memory
        self.nodes[node.name] = self._cluster.add_node(wait=False, **options)

    def raylet_pid(self, name: str) -> int:
        """The process id of the raylet of a node (its worker processes are the raylet's children)."""
        return int(self.nodes[name].all_processes["raylet"][0].process.pid)

    def shutdown(self) -> None:
        with contextlib.suppress(Exception):
            self._cluster.shutdown()


def _reachable(address: str) -> None:
    """Fail in one line, at once, when address is no HOST:PORT or nothing listens there (ray.init would wait for
    minutes). "auto" (a cluster started on this machine by `ray start`) is left to Ray."""
    if address == "auto":
        return
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or "://" in address:
        raise SpecError(
            f"{address!r} is not the address of a Ray cluster",
            place="--address",
            fix="give its head's HOST:PORT (the port `ray start --head` prints, 6379 by default), or auto",
        )
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except OSError as exc:
        raise SpecError(
            f"no Ray cluster answers at {address} ({exc})", place="--address", fix="start one, or check the address"
        ) from None


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__
