"""Throughput of real execution: N no-op Python tasks through hetflow's local backend and, in the same run, through a
Dask LocalCluster; hetflow's dask and ray backends beside plain Dask and plain Ray. Prints one JSON object.

hetflow: a Session on a platform of W cores (one node, so W pre-started workers pinned to W CPUs), then
`noop.map(range(N))` (one task set of N tasks, the way a workflow declares N identical tasks) and every result.
Two more hetflow figures: --calls N separate decorated calls (`[noop(i) for i in range(N)]`, one task set each, the
way a program calls a task once per item), measured in turns with the map in the same Session, and their ratio to it
(hetflow_one_call_each_vs_map); and the map with a journal (every transition and result written to SQLite).
Dask, the peer, at its best settings for this: LocalCluster(n_workers=W, threads_per_worker=1, processes=True),
`client.map(noop, range(N), pure=False)` and `client.gather`, with the scheduler's worker-saturation set to inf
(queuing off: every task goes to a worker at once; it more than doubles Dask's rate here), no dashboard.
hetflow's dask backend (--dask-tasks N): the engine places, a local Dask cluster shaped like the platform runs (one
`dask worker` of W threads), beside plain Dask on the same N tasks (LocalCluster(n_workers=W), as above).
hetflow's ray backend (--ray-tasks N): the engine places, a local Ray cluster shaped like the platform runs (a head
that runs nothing and one Ray node of W CPUs), beside plain Ray on the same N tasks: ray.init(num_cpus=W), a
`@ray.remote` no-op, `ray.get([f.remote(i) for i in range(N)])`.
Every side is warmed up first (workers started, the function shipped); each figure is the best of --repeat, and
rounds_tasks_per_s gives hetflow's map and one-call-each rates round by round (rounds_cpu_us_per_task: the session
process's CPU per task, the program's thread and the driver's; rounds_one_call_each_vs_map: each round's calls against
the map that ran just before, and their median).
--engine N: instead, the engine alone (no driver, no workers, no clock): N one-task sets submitted two a step as two
tasks end, against one set of N tasks, on a node of two cores; microseconds of CPU per task, best of --repeat, and
which build ran (HETFLOW_PURE=1 runs the sources where the engine's modules were compiled).
--bytecodes N: instead, where a call's work goes against a task of a map: the bytecodes each task costs the session
(every thread), N calls against a map of N in turns, twice, per function, the functions that differ most first (a
count, so the same on a busy machine as on a quiet one; a cost per bytecode varies).

    python benchmarks/throughput.py [--tasks 20000] [--workers 2] [--calls 20000] [--dask-tasks 2000]
                                    [--ray-tasks 2000] [--repeat 3] [--no-peer] [--bytecodes 2000] [--engine 20000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform as pyplatform
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import hetflow as hf


@hf.task
def noop(_: object = None) -> None:
    return None


def plain_noop(_: object = None) -> None:
    return None


def best_of(repeat: int, run: Callable[[], float]) -> float:
    return min(run() for _ in range(repeat))


def hetflow_rate(n: int, workers: int, repeat: int, journal: bool = False, backend: str = "local") -> float:
    """Seconds for one map of n no-op tasks (best of repeat), in one warm Session."""
    return min(hetflow_rates(n, 0, workers, repeat, journal, backend)[0])[0]


def hetflow_rates(
    n: int, calls: int, workers: int, repeat: int, journal: bool = False, backend: str = "local"
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(seconds, CPU seconds of this process) for one map of n no-op tasks and for `calls` separate decorated calls,
    per round (repeat rounds, the two taken in turns in one warm Session, so that both see the same machine, and a
    session that grows shows it in its later rounds); empty for a figure not asked for. The CPU seconds are the
    session's own (the program's thread and the driver's), not the workers'."""
    plat = {"platform": f"local-{workers}", "nodes": [{"type": "local", "cores": workers}]}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.db" if journal else None
        with hf.Session(backend, platform=plat, journal=path):
            for f in noop.map(range(workers * 50)):  # warm up: workers up, the function shipped to each
                f.result()

            def once(tasks: int, one_call_each: bool) -> tuple[float, float]:
                t0, c0 = time.perf_counter(), time.process_time()
                futures = [noop(i) for i in range(tasks)] if one_call_each else noop.map(range(tasks))
                for f in futures:
                    f.result()
                return time.perf_counter() - t0, time.process_time() - c0

            maps: list[tuple[float, float]] = []
            each: list[tuple[float, float]] = []
            for _ in range(repeat):
                if n:
                    maps.append(once(n, False))
                if calls:
                    each.append(once(calls, True))
            return maps, each


def bytecodes(n: int, workers: int, top: int = 25) -> dict[str, Any]:
    """Bytecodes per task, calls against a map, per function (file:function), in one warm Session: every thread's
    opcodes counted while a round runs (the tracer slows the run, not the count)."""
    counts: dict[str, Counter[str]] = {"calls": Counter(), "map": Counter()}
    now: list[Counter[str] | None] = [None]

    def each(frame: FrameType, event: str, arg: object) -> Any:
        c = now[0]
        if c is not None and event == "opcode":
            code = frame.f_code
            c[f"{Path(code.co_filename).parent.name}/{Path(code.co_filename).name}:{code.co_name}"] += 1
        return each

    def start(frame: FrameType, event: str, arg: object) -> Any:
        frame.f_trace_opcodes, frame.f_trace_lines = True, False
        return each

    plat = {"platform": f"local-{workers}", "nodes": [{"type": "local", "cores": workers}]}
    threading.settrace(start)
    try:
        with hf.Session("local", platform=plat):
            for f in noop.map(range(workers * 50)):
                f.result()
            sys.settrace(start)
            for kind in ("map", "calls", "map", "calls"):
                now[0] = counts[kind]
                futures = [noop(i) for i in range(n)] if kind == "calls" else noop.map(range(n))
                for f in futures:
                    f.result()
                time.sleep(0.1)  # the driver's last step after the last result
                now[0] = None
    finally:
        sys.settrace(None)
        threading.settrace(None)
    calls, mapped = counts["calls"], counts["map"]
    per = 2 * n
    diff = sorted(set(calls) | set(mapped), key=lambda k: mapped[k] - calls[k])
    return {
        "tasks": n,
        "per_task": {"one_call_each": round(calls.total() / per), "map": round(mapped.total() / per)},
        "most_different": {k: [round(calls[k] / per, 1), round(mapped[k] / per, 1)] for k in diff[:top]},
    }


def engine_us(n: int, one_call_each: bool) -> float:
    """CPU microseconds per task of the engine alone: n one-task sets (two submitted each step, as two tasks end, the
    way a program's calls reach it) or one set of n tasks, fifo, task mode, on one node of two cores."""
    from hetflow.core.engine import Engine
    from hetflow.core.instructions import Launch
    from hetflow.core.stimuli import Stimulus, TaskFinished, TasksSubmitted
    from hetflow.policies import make_policy
    from hetflow.spec.platform import Node
    from hetflow.spec.resources import Resources
    from hetflow.spec.workflow import TaskSet

    engine = Engine([Node("n-0", "n", 2, 0, 0)], "task", make_policy("fifo"), forget=True, releases=False)
    one = Resources.of(1, 0)
    sets = [TaskSet(f"call-{i}", 1, one, 1.0) for i in range(n)] if one_call_each else [TaskSet("map", n, one, 1.0)]
    c0 = time.process_time()
    out = engine.handle(0.0, [TasksSubmitted(tuple(sets[:64]))])
    given, running, t = 64, deque[tuple[int, int]](), 0.0
    while True:
        running.extend((i.launch, k) for i in out if type(i) is Launch for k in range(i.start, i.stop))
        if not running:
            break
        stimuli: list[Stimulus] = [TaskFinished(*running.popleft()) for _ in range(min(2, len(running)))]
        if given < len(sets):
            stimuli.append(TasksSubmitted(tuple(sets[given : given + 2])))
            given += 2
        t += 1.0
        out = engine.handle(t, stimuli)
    assert engine.unfinished == 0
    return (time.process_time() - c0) / n * 1e6


def engine_only(n: int, repeat: int) -> dict[str, Any]:
    from hetflow import built
    from hetflow.core import dispatch

    map_us = min(engine_us(n, False) for _ in range(repeat))
    call_us = min(engine_us(n, True) for _ in range(repeat))
    return {
        "tasks": n,
        "build": built.how(dispatch),
        "us_per_task": {"map": round(map_us, 2), "one_call_each": round(call_us, 2)},
        "one_call_each_extra_us": round(call_us - map_us, 2),
    }


def dask_rate(n: int, workers: int, repeat: int) -> tuple[float, str]:
    import dask
    import distributed

    config = {"distributed.scheduler.worker-saturation": float("inf")}
    with (
        dask.config.set(config),
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.gather(client.map(plain_noop, range(workers * 50), pure=False))

        def once() -> float:
            t0 = time.perf_counter()
            client.gather(client.map(plain_noop, range(n), pure=False))
            return time.perf_counter() - t0

        return best_of(repeat, once), dask.__version__


def ray_rate(n: int, workers: int, repeat: int) -> tuple[float, str]:
    import ray

    ray.init(num_cpus=workers, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    try:
        remote_noop = ray.remote(plain_noop)
        ray.get([remote_noop.remote(i) for i in range(workers * 50)])

        def once() -> float:
            t0 = time.perf_counter()
            ray.get([remote_noop.remote(i) for i in range(n)])
            return time.perf_counter() - t0

        return best_of(repeat, once), ray.__version__
    finally:
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (and cores) on each side")
    parser.add_argument("--calls", type=int, default=20_000, help="tasks for the one-call-each figure (0: skip)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--dask-tasks", type=int, default=2_000, help="tasks for hetflow on its dask backend, and plain Dask (0: skip)"
    )
    parser.add_argument(
        "--ray-tasks", type=int, default=2_000, help="tasks for hetflow on its ray backend, and plain Ray (0: skip)"
    )
    parser.add_argument("--no-peer", action="store_true", help="skip plain Dask and plain Ray")
    parser.add_argument("--bytecodes", type=int, default=0, help="only: bytecodes per task, N calls against a map")
    parser.add_argument("--engine", type=int, default=0, help="only: the engine alone, N calls against a map of N")
    args = parser.parse_args()
    n, w = args.tasks, args.workers
    if args.engine:
        print(json.dumps({"benchmark": "throughput-engine", **engine_only(args.engine, args.repeat)}, indent=2))
        return
    if args.bytecodes:
        print(json.dumps({"benchmark": "throughput-bytecodes", **bytecodes(args.bytecodes, w)}, indent=2))
        return

    def figure(seconds: float, tasks: int) -> dict[str, Any]:
        return {"tasks": tasks, "seconds": round(seconds, 3), "tasks_per_s": round(tasks / seconds)}

    out: dict[str, Any] = {
        "benchmark": "throughput",
        "machine": f"{pyplatform.machine()}, {os.cpu_count()} CPUs, "
        f"{pyplatform.python_implementation()} {pyplatform.python_version()}",
        "workers": w,
    }
    mapped, called = hetflow_rates(n, args.calls, w, args.repeat)
    out["hetflow"] = figure(min(mapped)[0], n)
    if args.calls:
        # the same tasks written naturally, one decorated call each (one task set each), in the same Session
        out["hetflow_one_call_each"] = figure(min(called)[0], args.calls)
        out["hetflow_one_call_each_vs_map"] = round(
            out["hetflow_one_call_each"]["tasks_per_s"] / out["hetflow"]["tasks_per_s"], 2
        )
        # per round, in the order they ran (best-of hides a session that slows as it grows), and the session's CPU
        # per task (less noisy than rates on a busy machine: the workers' share and waiting are left out)
        out["rounds_tasks_per_s"] = {
            "map": [round(n / t) for t, _ in mapped],
            "one_call_each": [round(args.calls / t) for t, _ in called],
        }
        out["rounds_cpu_us_per_task"] = {
            "map": [round(c / n * 1e6, 1) for _, c in mapped],
            "one_call_each": [round(c / args.calls * 1e6, 1) for _, c in called],
        }
        if n:
            # each round's calls against the map that ran just before them: a burst of noise that speeds or slows
            # one round moves one ratio, where it moves the best-of ratio above whenever it lands on a map's best
            pairs = [(args.calls / tc) / (n / tm) for (tm, _), (tc, _) in zip(mapped, called, strict=True)]
            out["rounds_one_call_each_vs_map"] = [round(r, 2) for r in pairs]
            out["median_round_one_call_each_vs_map"] = round(statistics.median(pairs), 2)
    out["hetflow_with_journal"] = figure(hetflow_rate(n, w, args.repeat, journal=True), n)
    if args.dask_tasks:
        # hetflow's engine placing, Dask running: a local Dask cluster of one worker of W threads (the platform's
        # one node of W cores); the peer figure is plain Dask on the same number of tasks
        out["hetflow_dask_backend"] = figure(
            hetflow_rate(args.dask_tasks, w, args.repeat, backend="dask"), args.dask_tasks
        )
    if args.ray_tasks:
        # hetflow's engine placing, Ray running: a local Ray cluster of one node of W CPUs
        out["hetflow_ray_backend"] = figure(hetflow_rate(args.ray_tasks, w, args.repeat, backend="ray"), args.ray_tasks)
    if not args.no_peer:
        if args.ray_tasks:
            seconds, version = ray_rate(args.ray_tasks, w, args.repeat)
            out["ray_same_tasks"] = {"version": version, **figure(seconds, args.ray_tasks)}
            out["hetflow_ray_backend_vs_ray"] = round(
                out["hetflow_ray_backend"]["tasks_per_s"] / out["ray_same_tasks"]["tasks_per_s"], 2
            )
        if args.dask_tasks:
            seconds, _ = dask_rate(args.dask_tasks, w, args.repeat)
            out["dask_same_tasks"] = figure(seconds, args.dask_tasks)
            out["hetflow_dask_backend_vs_dask"] = round(
                out["hetflow_dask_backend"]["tasks_per_s"] / out["dask_same_tasks"]["tasks_per_s"], 2
            )
        seconds, version = dask_rate(n, w, args.repeat)
        out["dask"] = {"version": version, **figure(seconds, n)}
        out["hetflow_vs_dask"] = round(out["hetflow"]["tasks_per_s"] / out["dask"]["tasks_per_s"], 2)
        out["hetflow_with_journal_vs_dask"] = round(
            out["hetflow_with_journal"]["tasks_per_s"] / out["dask"]["tasks_per_s"], 2
        )
        if args.calls:
            out["hetflow_one_call_each_vs_dask"] = round(
                out["hetflow_one_call_each"]["tasks_per_s"] / out["dask"]["tasks_per_s"], 2
            )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
