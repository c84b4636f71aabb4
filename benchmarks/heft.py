"""Simulate a generated heterogeneous workflow with heft and, in the same run, with critical-path.

The workflow: a layered random DAG of task sets (fixed seed) of 10,000 tasks in all; each set has a CPU way of
running and most have a variant (fewer cores and a GPU, or more cores, or one bound to a node type). The platform:
nodes of three types and speeds (slow CPU nodes, fast CPU nodes, GPU nodes). Both policies run in task-level mode;
critical-path is the reference (first-fit, speed-blind). Prints one JSON object, with a digest of each schedule so
that runs before and after a change to the engine can be compared placement by placement.

    python benchmarks/heft.py [--tasks 10000] [--set-size 50] [--nodes 40] [--seed 1] [--no-peer]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform as pyplatform
import random
import time

from hetflow.sim.simulator import SimResult, run_simulation
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import GPU_UNIT, Resources
from hetflow.spec.workflow import TaskSet, Variant, Workflow


def generate(n_tasks: int, set_size: int, seed: int = 1) -> Workflow:
    """Layers of about sqrt(sets) sets; each depends on one to three sets of the layer above. Run times and needs
    are drawn so that tasks desynchronise (many short launches, nodes often busy: heft weighs waiting)."""
    rng = random.Random(seed)
    n_sets = max(1, n_tasks // set_size)
    width = max(1, int(n_sets**0.5))
    sets: list[TaskSet] = []
    for i in range(n_sets):
        layer = i // width
        prev = [f"H{j}" for j in range((layer - 1) * width, layer * width)] if layer else []
        after = tuple(sorted(rng.sample(prev, k=min(len(prev), rng.randint(1, 3))))) if prev else ()
        cores = rng.choice([1, 2, 4, 8])
        runtime = float(rng.randint(10, 300))
        variants: tuple[Variant, ...] = ()
        kind = rng.random()
        if kind < 0.4:  # a GPU variant: fewer cores, a fraction of a GPU or a whole one, faster
            gpus = rng.choice([0.25, 0.5, 1])
            variants = (Variant(Resources.of(max(1, cores // 2), gpus), runtime * rng.uniform(0.2, 0.6)),)
        elif kind < 0.7:  # more cores, shorter
            variants = (Variant(Resources.of(cores * 2), runtime * rng.uniform(0.5, 0.8)),)
        elif kind < 0.85:  # only on the fast CPU nodes, shorter still
            variants = (Variant(Resources.of(cores), runtime * 0.7, node_type="fast"),)
        count = max(1, round(set_size * rng.uniform(0.5, 1.5)))
        sets.append(TaskSet(f"H{i}", count, Resources.of(cores), runtime, after, variants=variants))
    return Workflow("generated-heft", tuple(sets))


def make_platform(n_nodes: int) -> Platform:
    """Half slow CPU nodes, a quarter fast CPU nodes, a quarter GPU nodes (at least one of each)."""
    fast = max(1, n_nodes // 4)
    gpu = max(1, n_nodes // 4)
    slow = max(1, n_nodes - fast - gpu)
    return Platform(
        "heft-bench",
        (
            NodeType("slow", slow, 32, 0, 0, 1.0),
            NodeType("fast", fast, 32, 0, 0, 2.0),
            NodeType("gpu", gpu, 24, 4 * GPU_UNIT, 0, 1.5),
        ),
    )


def digest(res: SimResult) -> str:
    """A digest of the schedule: every interval (set, tasks, node, start, end), sorted."""
    rows = sorted((iv.set, iv.first, iv.last, iv.node, repr(iv.start), repr(iv.end)) for iv in res.intervals)
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


def run(wf: Workflow, plat: Platform, policy: str) -> dict[str, object]:
    t0 = time.perf_counter()
    res = run_simulation(wf, plat, "task", policy)
    seconds = time.perf_counter() - t0
    return {
        "seconds": round(seconds, 3),
        "tasks_per_s": round(wf.n_tasks / seconds),
        "makespan_s": res.makespan_s,
        "engine_steps": res.steps,
        "launches": len(res.intervals),
        "schedule": digest(res),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=10_000)
    ap.add_argument("--set-size", type=int, default=50)
    ap.add_argument("--nodes", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-peer", action="store_true", help="skip the critical-path run")
    args = ap.parse_args()
    wf = generate(args.tasks, args.set_size, args.seed)
    plat = make_platform(args.nodes)
    out: dict[str, object] = {
        "benchmark": "heft",
        "machine": f"{pyplatform.machine()}, {pyplatform.python_implementation()} {pyplatform.python_version()}",
        "tasks": wf.n_tasks,
        "task_sets": len(wf.sets),
        "nodes": len(plat.nodes()),
        "seed": args.seed,
        "heft": run(wf, plat, "heft"),
    }
    if not args.no_peer:
        out["critical-path"] = run(wf, plat, "critical-path")
        heft, cp = out["heft"], out["critical-path"]
        assert isinstance(heft, dict) and isinstance(cp, dict)
        out["heft_makespan_vs_critical_path"] = round(heft["makespan_s"] / cp["makespan_s"], 3)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
