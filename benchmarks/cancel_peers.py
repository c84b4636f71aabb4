"""The peers benchmarks/faas_cancel.py compares a hetflow endpoint's remote cancel with: Dask distributed's
future.cancel() and Ray's ray.cancel() of a task that waits behind another and of one that runs, on this machine.

The tasks: `hold` loops on 10 ms sleeps (Python code an interrupt could stop between two sleeps), writing a file with
its perf_counter when it starts and another when it returns, so the benchmark sees when it ran and whether it ran to
its end (perf_counter is CLOCK_MONOTONIC, one clock for every process of the machine); `noop` is the next call.

- dask: a LocalCluster of one worker process with one thread. A task that holds the thread `--dask-hold` seconds, one
  queued behind it (on the worker, ready); client.cancel of the queued one, then of the running one (each once the
  client's batched stream is idle, see BATCH_S). client.cancel
  only sends the request and marks the future cancelled (client_ms); a scheduler plugin (the scheduler runs in this
  process) and a worker plugin record when the scheduler released the key (scheduler_ms) and when the worker did
  (worker_ms: for the queued task it is forgotten, for the running one marked cancelled). Dask cannot stop a running
  Python thread: the task runs on to its end (ran_to_end counts those, thread_returned_ms is when it returned) and
  the worker's thread stays taken until then, so the next call waits for it (next_call_after_cancel).
- ray: a local Ray of one CPU. A task that holds it, one queued behind it: ray.cancel(queued), then
  ray.cancel(running, force=True), which kills the worker process; each timed until ray.get raises (its error named);
  then the next call (a fresh worker process). Also ray.cancel(running) without force on the same loop: Ray raises
  KeyboardInterrupt in the task's thread, which lands between two sleeps; the worker lives, the next call is warm.
"""

from __future__ import annotations

import importlib.util
import logging
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # however this file was loaded
from staging_peers import dask_cluster, each_peer

PEERS = ("dask", "ray")
# A Dask client batches what it sends the scheduler, one batch per 10 ms at most (BatchedSend(interval="10ms")): a
# cancel that follows another message by less waits for the rest of that interval, so each cancel is made 20 ms after
# the last message (Dask's quickest path; back to back, the second waited up to 10 ms more).
BATCH_S = 0.02


def ms(values: Iterable[float]) -> dict[str, float]:
    """p50 and p99 (nearest rank) of seconds, in milliseconds, and the count."""
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}
    return {
        "p50_ms": round(statistics.median(ordered) * 1e3, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1e3, 3),
        "n": len(ordered),
    }


def tasks() -> tuple[Callable[[float, str, str], float], Callable[[], None]]:
    """hold and noop, defined here so that Dask and Ray send them by value (their workers cannot import this module)."""

    def hold(seconds: float, folder: str, name: str) -> float:
        Path(folder, name + ".start").write_text(repr(time.perf_counter()))
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            time.sleep(0.01)
        Path(folder, name + ".end").write_text(repr(time.perf_counter()))
        return seconds

    def noop() -> None:
        return None

    return hold, noop


def started(folder: Path, name: str, timeout: float = 60.0) -> None:
    """Wait until the task called name has written its start file."""
    end = time.monotonic() + timeout
    while not (folder / f"{name}.start").exists():
        if time.monotonic() > end:
            raise TimeoutError(f"{name} did not start in {timeout} s")
        time.sleep(0.002)


def ended(folder: Path, name: str) -> float | None:
    """The perf_counter at which the task called name returned, or None if it did not (yet)."""
    path = folder / f"{name}.end"
    return float(path.read_text()) if path.exists() else None


def transitions() -> tuple[Any, Any]:
    """A scheduler plugin and a worker plugin recording, per key, (start, finish, perf_counter) of each transition;
    classes made here so that Dask sends the worker's by value."""
    from distributed.diagnostics.plugin import SchedulerPlugin, WorkerPlugin

    class SchedulerTransitions(SchedulerPlugin):  # type: ignore[misc]
        def __init__(self) -> None:
            self.seen: dict[str, list[tuple[str, str, float]]] = defaultdict(list)

        def transition(self, key: str, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
            self.seen[key].append((start, finish, time.perf_counter()))

    class WorkerTransitions(WorkerPlugin):  # type: ignore[misc]
        name = "bench-transitions"

        def setup(self, worker: Any) -> None:
            self.seen: dict[str, list[tuple[str, str, float]]] = defaultdict(list)

        def transition(self, key: str, start: str, finish: str, **kwargs: Any) -> None:
            self.seen[key].append((start, finish, time.perf_counter()))

    return SchedulerTransitions(), WorkerTransitions()


def when(seen: list[tuple[str, str, float]], start: str | None, finish: str | None, after: float) -> float | None:
    """The first transition after `after` from start (any if None) to finish (any if None), as seconds after it."""
    for s, f, t in seen:
        if t >= after and start in (None, s) and finish in (None, f):
            return t - after
    return None


def worker_seen(key: str) -> Callable[[Any], list[tuple[str, str, float]]]:
    def read(dask_worker: Any) -> list[tuple[str, str, float]]:
        return list(dask_worker.plugins["bench-transitions"].seen.get(key, []))

    return read


def dask_cancels(folder: Path, samples: int, hold_s: float) -> dict[str, Any]:
    """See the module's docstring."""
    if importlib.util.find_spec("distributed") is None:
        return {"error": "dask.distributed is not installed"}
    hold, noop = tasks()
    sched, work = transitions()
    got: dict[str, list[float]] = defaultdict(list)
    ran_to_end = 0
    with dask_cluster(1) as (cluster, client):
        cluster.scheduler.add_plugin(sched)
        client.register_plugin(work)
        client.submit(noop, pure=False).result()

        def on_worker(key: str, start: str | None, finish: str | None, after: float) -> float:
            end = time.monotonic() + 30
            while time.monotonic() < end:
                [seen] = client.run(worker_seen(key)).values()
                if (t := when(seen, start, finish, after)) is not None:
                    return t
                time.sleep(0.01)
            raise TimeoutError(f"the worker did not take {key} from {start} to {finish}")

        for i in range(samples):
            blocker = client.submit(hold, hold_s, str(folder), f"dask-b{i}", pure=False)
            waiting = client.submit(hold, 60.0, str(folder), f"dask-w{i}", pure=False)
            started(folder, f"dask-b{i}")
            on_worker(waiting.key, None, "ready", 0.0)
            cancelled_at = {}
            for name, future, gone in (("queued", waiting, "forgotten"), ("running", blocker, None)):
                time.sleep(BATCH_S)  # the client's stream to the scheduler is idle: the cancel leaves at once
                t0 = cancelled_at[name] = time.perf_counter()
                client.cancel([future])
                got[f"{name}_client"].append(time.perf_counter() - t0)
                assert future.status == "cancelled", future.status
                got[f"{name}_worker"].append(on_worker(future.key, None if gone else "executing", gone, t0))
                released = when(sched.seen[future.key], None, "released", t0)
                assert released is not None
                got[f"{name}_scheduler"].append(released)
            t0 = time.perf_counter()
            client.submit(noop, pure=False).result()
            got["next"].append(time.perf_counter() - t0)
            if (end := ended(folder, f"dask-b{i}")) is not None:
                ran_to_end += 1
                got["returned"].append(end - cancelled_at["running"])
    return {
        "hold_s": hold_s,
        "cancel_queued": {f"{k}_ms": ms(got[f"queued_{k}"]) for k in ("client", "scheduler", "worker")},
        "cancel_running": {
            **{f"{k}_ms": ms(got[f"running_{k}"]) for k in ("client", "scheduler", "worker")},
            "thread_returned_ms": ms(got["returned"]),
            "ran_to_end": ran_to_end,
        },
        "next_call_after_cancel": ms(got["next"]),
    }


def ray_cancels(folder: Path, samples: int) -> dict[str, Any]:
    """See the module's docstring."""
    try:
        import ray
        from ray.exceptions import GetTimeoutError, TaskCancelledError, WorkerCrashedError
    except ImportError as exc:
        return {"error": f"ray is not installed: {exc}"}
    hold_fn, noop_fn = tasks()
    got: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, set[str]] = defaultdict(set)
    resent: dict[str, int] = defaultdict(int)
    ray.init(address="local", num_cpus=1, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    try:
        hold, noop = ray.remote(hold_fn), ray.remote(noop_fn)
        ray.get(noop.remote())

        def until_raises(name: str, ref: Any, t0: float, force: bool = False) -> None:
            """Wait for the cancelled task to raise. A cancel Ray lost (one sent as the task was starting, on a busy
            machine) is sent again every 10 s, up to 5 times; "resent" counts them."""
            for _ in range(6):
                try:
                    ray.get(ref, timeout=10)
                except (TaskCancelledError, WorkerCrashedError) as exc:  # RayTaskError(TaskCancelledError) included
                    got[name].append(time.perf_counter() - t0)
                    errors[name].add(type(exc).__name__)
                    return
                except GetTimeoutError:
                    resent[name] += 1
                    ray.cancel(ref, force=force)
                    continue
                break
            raise AssertionError(f"{name}: the task was not cancelled")

        for i in range(samples):
            blocker = hold.remote(60.0, str(folder), f"ray-b{i}")
            waiting = hold.remote(60.0, str(folder), f"ray-w{i}")
            started(folder, f"ray-b{i}")
            t0 = time.perf_counter()
            ray.cancel(waiting)
            until_raises("queued", waiting, t0)
            t0 = time.perf_counter()
            ray.cancel(blocker, force=True)
            until_raises("running_force", blocker, t0, force=True)
            t0 = time.perf_counter()
            ray.get(noop.remote())
            got["next_after_kill"].append(time.perf_counter() - t0)
            blocker = hold.remote(60.0, str(folder), f"ray-i{i}")
            started(folder, f"ray-i{i}")
            t0 = time.perf_counter()
            ray.cancel(blocker)
            until_raises("running_interrupt", blocker, t0)
            t0 = time.perf_counter()
            ray.get(noop.remote())
            got["next_after_interrupt"].append(time.perf_counter() - t0)
    finally:
        ray.shutdown()
    out: dict[str, Any] = {}
    for name in ("queued", "running_force", "running_interrupt"):
        out[f"cancel_{name}"] = {**ms(got[name]), "raised": sorted(errors[name]), "resent": resent[name]}
    out["next_call_after_kill"] = ms(got["next_after_kill"])
    out["next_call_after_interrupt"] = ms(got["next_after_interrupt"])
    return out


def run_peers(peers: list[str], folder: Path, samples: int, dask_hold_s: float) -> dict[str, Any]:
    """Each peer asked for, in turn; a peer that fails is an error line in its place, not a lost run."""
    runs: dict[str, Callable[[], dict[str, Any]]] = {
        "dask": lambda: dask_cancels(folder, samples, dask_hold_s),
        "ray": lambda: ray_cancels(folder, samples),
    }
    return each_peer(runs, peers)


def ratios(mine: dict[str, Any], peers: dict[str, Any]) -> dict[str, float]:
    """hetflow p50 / peer p50 (above 1: hetflow is slower). Dask's running cancel is set against the moment its
    worker marks the task cancelled (its thread runs on), its next call against one that waited for that thread."""
    pairs = {
        "dask": (("cancel_queued", ("cancel_queued", "worker_ms")), ("cancel_running", ("cancel_running", "worker_ms")),
                 ("next_call_after_a_kill", ("next_call_after_cancel",))),
        "ray": (("cancel_queued", ("cancel_queued",)), ("cancel_running", ("cancel_running_force",)),
                ("next_call_after_a_kill", ("next_call_after_kill",))),
    }  # fmt: skip
    out = {}
    for peer, rows in pairs.items():
        for key, path in rows:
            theirs: Any = peers.get(peer, {})
            for step in path:
                theirs = theirs.get(step, {})
            if theirs.get("p50_ms"):
                out[f"{key}/{peer}"] = round(mine[key]["p50_ms"] / theirs["p50_ms"], 3)
    return out
