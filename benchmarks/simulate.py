"""Simulate a generated 1,000,000-task workflow with hetflow and, in the same run, the same model in SimPy.

The model: task-level asynchrony, fifo (release order, first node that fits, backfill), whole and half GPUs packed
per GPU. SimPy runs it the way SimPy is written: one process per task. Both makespans are printed; they must agree.
Prints one JSON object.

    python benchmarks/simulate.py [--tasks 1000000] [--set-size 10000] [--nodes 2000] [--profile seedlike|stress]
                                  [--no-peer]
"""

from __future__ import annotations

import argparse
import json
import platform as pyplatform
import random
import time
from collections import deque

import simpy

from hetflow.sim.simulator import run_simulation
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import GPU_UNIT, Resources
from hetflow.spec.workflow import TaskSet, Workflow


def generate(n_tasks: int, set_size: int, profile: str = "seedlike", seed: int = 1) -> Workflow:
    """A layered random DAG of task sets of identical tasks.

    seedlike: the seed experiment's kinds of tasks (its run times, cores and whole GPUs), scaled up.
    stress: run times drawn from 10..300 s and half GPUs, so that tasks desynchronise and every launch
    carries one or two tasks: the worst case for batching.
    """
    rng = random.Random(seed)
    n_sets = max(1, n_tasks // set_size)
    width = max(1, int(n_sets**0.5))
    sets: list[TaskSet] = []
    for i in range(n_sets):
        layer = i // width
        prev = [f"S{j}" for j in range((layer - 1) * width, layer * width)] if layer else []
        after = tuple(sorted(rng.sample(prev, k=min(len(prev), rng.randint(1, 3))))) if prev else ()
        if profile == "seedlike":
            cores, gpus = rng.choice([(4, 0), (30, 1), (2, 0), (3, 0), (6, 1), (10, 0), (7, 1), (5, 1), (10, 1)])
            runtime = float(rng.choice([100, 150, 200, 300, 400, 500]))
        else:
            cores, gpus = rng.choice([1, 2, 4, 8]), rng.choice([0, 0, 0, 0.5, 1])
            runtime = float(rng.randint(10, 300))
        sets.append(TaskSet(f"S{i}", set_size, Resources.of(cores=cores, gpus=gpus), runtime, after))
    return Workflow(f"generated-{profile}", tuple(sets))


def simpy_makespan(wf: Workflow, plat: Platform) -> float:
    """The same model in SimPy: one process per task, a scheduler pass after the completions of each instant."""
    env = simpy.Environment()
    nodes = plat.nodes()
    free_c = [n.cores for n in nodes]
    free_g = [[GPU_UNIT] * (n.gpu_units // GPU_UNIT) for n in nodes]
    left = {s.name: s.count for s in wf.sets}
    deps = {s.name: len(set(s.after)) for s in wf.sets}
    kids: dict[str, list[str]] = {s.name: [] for s in wf.sets}
    for s in wf.sets:
        for p in set(s.after):
            kids[p].append(s.name)
    ready: deque[list[object]] = deque()  # [set, tasks not yet started], in release order
    released: list[str] = []  # sets whose dependencies ended at this instant
    position = {s.name: i for i, s in enumerate(wf.sets)}
    pending = [False]

    def fits(i: int, s: TaskSet) -> bool:
        g = s.resources.gpu_units
        return free_c[i] >= s.resources.cores and (not g or any(f >= g for f in free_g[i]))

    def take(i: int, s: TaskSet) -> int:
        free_c[i] -= s.resources.cores
        g = s.resources.gpu_units
        if not g:
            return -1
        j = min((j for j, f in enumerate(free_g[i]) if f >= g), key=lambda j: (free_g[i][j], j))
        free_g[i][j] -= g
        return j

    def task(s: TaskSet, node: int, gpu: int):  # type: ignore[no-untyped-def]
        yield env.timeout(s.runtime / nodes[node].speed)
        free_c[node] += s.resources.cores
        if gpu >= 0:
            free_g[node][gpu] += s.resources.gpu_units
        left[s.name] -= 1
        if left[s.name] == 0:
            for k in kids[s.name]:
                deps[k] -= 1
                if deps[k] == 0:
                    released.append(k)
        wake()

    def schedule():  # type: ignore[no-untyped-def]
        yield env.timeout(0)
        pending[0] = False
        for k in sorted(released, key=position.__getitem__):  # released together: declaration order
            ready.append([wf[k], wf[k].count])
        released.clear()
        for entry in list(ready):
            s, n = entry
            assert isinstance(s, TaskSet) and isinstance(n, int)
            for i in range(len(nodes)):
                while n and fits(i, s):
                    env.process(task(s, i, take(i, s)))
                    n -= 1
                if not n:
                    break
            entry[1] = n
        while ready and ready[0][1] == 0:
            ready.popleft()
        for entry in [e for e in ready if e[1] == 0]:
            ready.remove(entry)

    def wake() -> None:
        if not pending[0]:
            pending[0] = True
            env.process(schedule())

    for s in wf.sets:
        if deps[s.name] == 0:
            ready.append([s, s.count])
    wake()
    env.run()
    return float(env.now)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--set-size", type=int, default=10_000)
    ap.add_argument("--nodes", type=int, default=2000)
    ap.add_argument("--profile", choices=["seedlike", "stress"], default="seedlike")
    ap.add_argument("--no-peer", action="store_true", help="skip the SimPy run")
    args = ap.parse_args()
    wf = generate(args.tasks, args.set_size, args.profile)
    plat = Platform("bench", (NodeType("node", args.nodes, 42, 6 * GPU_UNIT, 0),))
    t0 = time.perf_counter()
    res = run_simulation(wf, plat, "task", "fifo")
    hetflow_s = time.perf_counter() - t0
    out: dict[str, object] = {
        "benchmark": "simulate",
        "machine": f"{pyplatform.machine()}, {pyplatform.python_implementation()} {pyplatform.python_version()}",
        "tasks": wf.n_tasks,
        "task_sets": len(wf.sets),
        "profile": args.profile,
        "nodes": args.nodes,
        "hetflow": {
            "seconds": round(hetflow_s, 3),
            "tasks_per_s": round(wf.n_tasks / hetflow_s),
            "makespan_s": res.makespan_s,
            "engine_steps": res.steps,
            "launches": len(res.intervals),
        },
    }
    if not args.no_peer:
        t0 = time.perf_counter()
        peer_makespan = simpy_makespan(wf, plat)
        simpy_s = time.perf_counter() - t0
        out["simpy"] = {
            "version": simpy.__version__,
            "seconds": round(simpy_s, 3),
            "tasks_per_s": round(wf.n_tasks / simpy_s),
            "makespan_s": peer_makespan,
        }
        out["speedup_vs_simpy"] = round(simpy_s / hetflow_s, 2)
        out["same_makespan"] = abs(peer_makespan - res.makespan_s) < 1e-6
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
