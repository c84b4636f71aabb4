"""Simulate a generated 1,000,000-task workflow with hetflow and, in the same run, the same model in SimPy.

The model: task-level asynchrony, fifo (release order, first node that fits, backfill), whole and half GPUs packed
per GPU. SimPy runs it the way SimPy is written: one process per task. Both makespans are printed; they must agree.
Prints one JSON object.

    python benchmarks/simulate.py [--tasks 1000000] [--set-size 10000] [--nodes 2000] [--profile seedlike|stress]
                                  [--no-peer]
    python benchmarks/simulate.py --profile trace [--records 200000] [--no-peer] [--no-engine]
                                  [--baseline OTHER/src [--rounds 3]]

The trace profile is the shape of a converted trace: a random DAG of one-task sets (1-3 parents each in the two
layers above, run times uniform in 10-300 s, 1-48 cores) on 64 nodes of 48 cores, written as a native JSON
workflow and platform into a temporary folder. It is timed as whole processes, as a user meets it: `hetflow
validate`, `hetflow simulate --json` (fifo, task mode: the flat kernel of one-task sets, compiled when the build
compiled it; "path" says which ran), the same with --no-flat (the engine), and the SimPy model reading the same JSON
files; the makespans must agree. "phases" splits one process's time (imports, load, simulation, summary) for the
flat kernel and for the engine, each in a process of its own. --baseline OTHER/src times another hetflow (a
worktree of an earlier commit, its extensions built in place) on the same files, alternated with this one, on the
flat kernel and (unless --no-engine) on the engine, with its phases: the before and after of a change from one run.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform as pyplatform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Generator
from pathlib import Path
from typing import Any

import simpy

import hetflow
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


def generate_trace(n_records: int, seed: int = 11) -> dict[str, Any]:
    """A native workflow document of one-task sets: a layered random DAG, each record with 1-3 parents drawn from
    the two layers above it, 1-48 cores and a run time uniform in 10-300 s (0.1 s resolution)."""
    rng = random.Random(seed)
    width = max(1, int(n_records**0.5))
    tasks: list[dict[str, Any]] = []
    for i in range(n_records):
        layer = i // width
        record: dict[str, Any] = {
            "name": f"T{i}",
            "cores": rng.randint(1, 48),
            "runtime": round(rng.uniform(10, 300), 1),
        }
        if layer:
            lo = max(0, layer - 2) * width
            record["after"] = [f"T{j}" for j in sorted(rng.sample(range(lo, layer * width), k=rng.randint(1, 3)))]
        tasks.append(record)
    return {"workflow": f"trace-{n_records}", "tasks": tasks}


TRACE_PLATFORM = {"platform": "trace-64x48", "nodes": [{"type": "node", "count": 64, "cores": 48}]}


def simpy_trace_makespan(workflow_file: str, platform_file: str) -> float:
    """The trace model in SimPy, from the JSON files: one process per task; after the completions of each instant,
    the tasks they released join the ready list in declaration order, then one pass places, in release order,
    every ready task that fits on the first node with room (later tasks fill the holes)."""
    records = json.loads(Path(workflow_file).read_text())["tasks"]
    plat = json.loads(Path(platform_file).read_text())
    free = [int(t["cores"]) for t in plat["nodes"] for _ in range(int(t.get("count", 1)))]
    n = len(records)
    index = {r["name"]: i for i, r in enumerate(records)}
    cores = [int(r.get("cores", 1)) for r in records]
    runtime = [float(r.get("runtime", 0.0)) for r in records]
    deps = [0] * n
    kids: list[list[int]] = [[] for _ in range(n)]
    for i, r in enumerate(records):
        after = set(r.get("after", ()))
        deps[i] = len(after)
        for p in after:
            kids[index[p]].append(i)
    env = simpy.Environment()
    total = [sum(free)]  # free cores over all nodes
    ready = [i for i in range(n) if deps[i] == 0]  # release order
    released: list[int] = []  # released at this instant
    pending = [False]

    def task(i: int, node: int) -> Generator[simpy.Event, None, None]:
        yield env.timeout(runtime[i])
        free[node] += cores[i]
        total[0] += cores[i]
        for k in kids[i]:
            deps[k] -= 1
            if deps[k] == 0:
                released.append(k)
        wake()

    def schedule() -> Generator[simpy.Event, None, None]:
        yield env.timeout(0)
        pending[0] = False
        released.sort()
        ready.extend(released)
        released.clear()
        keep: list[int] = []
        nowhere = 1 << 30  # the fewest cores that found no node in this pass: as many or more find none either
        for at, i in enumerate(ready):
            if not total[0]:
                keep.extend(ready[at:])
                break
            c = cores[i]
            if c > total[0] or c >= nowhere:
                keep.append(i)
                continue
            for node, f in enumerate(free):
                if f >= c:
                    free[node] -= c
                    total[0] -= c
                    env.process(task(i, node))
                    break
            else:
                nowhere = c
                keep.append(i)
        ready[:] = keep

    def wake() -> None:
        if not pending[0]:
            pending[0] = True
            env.process(schedule())

    wake()
    env.run()
    return float(env.now)


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    """Run a command as its own process; its wall time and stdout. A failure ends the benchmark with its stderr."""
    seconds, stdout, _ = timed_said(cmd, env)
    return seconds, stdout


def timed_said(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str, str]:
    """timed(), and what the command said on stderr."""
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - t0
    if done.returncode:
        sys.exit(f"{' '.join(cmd[:4])} ... failed ({done.returncode}): {done.stderr.strip()}")
    return seconds, done.stdout, done.stderr


def hetflow_cli(*args: str) -> list[str]:
    """The hetflow command line, run by this interpreter (so the same sources and environment)."""
    return [sys.executable, "-c", "import sys; from hetflow.cli import main; sys.argv[0] = 'hetflow'; main()", *args]


PHASES = """
import json, sys, time
t0 = time.perf_counter()
from hetflow.sim.simulator import run_simulation
from hetflow.spec.load import load_definition, load_platform
t1 = time.perf_counter()
wf, pf = load_definition(sys.argv[1]), load_platform(sys.argv[2])
t2 = time.perf_counter()
result = run_simulation(wf, pf, "task", "fifo", flat=sys.argv[3] == "flat")
t3 = time.perf_counter()
result.summary()
t4 = time.perf_counter()
print(json.dumps({"imports_s": t1 - t0, "load_s": t2 - t1, "simulation_s": t3 - t2, "summary_s": t4 - t3}))
"""


def phases(wf_file: str, pf_file: str, path: str, env: dict[str, str] | None = None) -> dict[str, float]:
    """Where one process's time goes (imports, load, simulation, summary: lower bound, utilization), on the flat
    kernel or the engine, in a process of its own (env: another hetflow's, see baseline)."""
    _, text = timed([sys.executable, "-c", PHASES, wf_file, pf_file, path], env)
    return {k: round(v, 3) for k, v in json.loads(text).items()}


def baseline(src: str, wf_file: str, pf_file: str, rounds: int, engine: bool) -> dict[str, Any]:
    """This hetflow against another source tree (src: its src/ folder, e.g. a git worktree of an earlier commit,
    its extensions built in place), `simulate --json` alternated round by round, both with their bytecode compiled,
    and the other's phases; with engine, `simulate --json --no-flat` (the engine) alternated the same way. Each
    output must be the same JSON as ours."""
    compileall.compile_dir(src, quiet=1)
    theirs_env = {**os.environ, "PYTHONPATH": src}
    sim = ("simulate", wf_file, "--platform", pf_file, "--mode", "task", "--policy", "fifo", "--json")
    out: dict[str, Any] = {"src": src}
    for label, extra in [("", ())] + ([("engine_", ("--no-flat",))] if engine else []):
        ours_s: list[float] = []
        theirs_s: list[float] = []
        for _ in range(rounds):
            seconds, ours = timed(hetflow_cli(*sim, *extra))
            ours_s.append(round(seconds, 3))
            seconds, theirs = timed(hetflow_cli(*sim, *extra), theirs_env)
            theirs_s.append(round(seconds, 3))
        out[f"{label}simulate_s"] = theirs_s
        out[f"ours_{label}simulate_s"] = ours_s
        out[f"{label}speedup"] = round(statistics.median(theirs_s) / statistics.median(ours_s), 2)
        out[f"{label}same_json"] = json.loads(ours) == json.loads(theirs)
    out["phases"] = phases(wf_file, pf_file, "flat", theirs_env)
    return out


def trace_main(args: argparse.Namespace) -> dict[str, Any]:
    """The trace profile, whole processes from JSON files: hetflow validate, hetflow simulate, and the SimPy model.

    hetflow's modules are compiled to bytecode first, as an install leaves them (and as SimPy's are): a source tree
    run with PYTHONDONTWRITEBYTECODE set would compile every module again in every process."""
    compileall.compile_dir(Path(hetflow.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        wf_file, pf_file = str(Path(tmp) / "trace.json"), str(Path(tmp) / "platform.json")
        Path(wf_file).write_text(json.dumps(generate_trace(args.records)))
        Path(pf_file).write_text(json.dumps(TRACE_PLATFORM))
        validate_s, _ = timed(hetflow_cli("validate", wf_file, "--platform", pf_file))
        sim = ("-v", "simulate", wf_file, "--platform", pf_file, "--mode", "task", "--policy", "fifo", "--json")
        simulate_s, text_flat, said = timed_said(hetflow_cli(*sim))
        makespan = json.loads(text_flat)[0]["makespan_s"]
        path = "engine"
        if "flat kernel (compiled)" in said:
            path = "flat kernel, compiled"
        elif "flat kernel" in said:
            path = "flat kernel, interpreted"
        out: dict[str, Any] = {
            "benchmark": "simulate",
            "machine": f"{pyplatform.machine()}, {pyplatform.python_implementation()} {pyplatform.python_version()}",
            "profile": "trace",
            "records": args.records,
            "nodes": "64 x 48 cores",
            "json_bytes": Path(wf_file).stat().st_size,
            "hetflow": {
                "validate_s": round(validate_s, 3),
                "simulate_s": round(simulate_s, 3),
                "path": path,
                "records_per_s": round(args.records / simulate_s),
                "makespan_s": makespan,
            },
        }
        out["hetflow"]["phases"] = phases(wf_file, pf_file, "flat")
        if args.baseline:
            out["baseline"] = baseline(args.baseline, wf_file, pf_file, args.rounds, not args.no_engine)
        if not args.no_engine:
            out["hetflow_engine_phases"] = phases(wf_file, pf_file, "engine")
            engine_s, text = timed(hetflow_cli(*sim[1:], "--no-flat"))
            out["hetflow_engine"] = {
                "simulate_s": round(engine_s, 3),
                "records_per_s": round(args.records / engine_s),
                "makespan_s": json.loads(text)[0]["makespan_s"],
                "same_json": json.loads(text) == json.loads(text_flat),
            }
            out["speedup_vs_engine"] = round(engine_s / simulate_s, 2)
        if not args.no_peer:
            peer = [sys.executable, __file__, "--simpy-files", wf_file, pf_file]
            simpy_s, text = timed(peer)
            peer_makespan = json.loads(text)["makespan_s"]
            out["simpy"] = {
                "version": simpy.__version__,
                "seconds": round(simpy_s, 3),
                "records_per_s": round(args.records / simpy_s),
                "makespan_s": peer_makespan,
            }
            out["speedup_vs_simpy"] = round(simpy_s / simulate_s, 2)
            out["same_makespan"] = round(peer_makespan, 6) == makespan  # to the 1e-6 s that --json prints
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--set-size", type=int, default=10_000)
    ap.add_argument("--nodes", type=int, default=2000)
    ap.add_argument("--profile", choices=["seedlike", "stress", "trace"], default="seedlike")
    ap.add_argument("--records", type=int, default=200_000, help="one-task sets of the trace profile")
    ap.add_argument("--no-peer", action="store_true", help="skip the SimPy run")
    ap.add_argument("--no-engine", action="store_true", help="trace profile: skip the run forced onto the engine")
    ap.add_argument(
        "--baseline", metavar="SRC", help="trace profile: also time the hetflow whose sources are in SRC (its src/)"
    )
    ap.add_argument("--rounds", type=int, default=3, help="alternated rounds against --baseline")
    ap.add_argument("--simpy-files", nargs=2, metavar=("WORKFLOW", "PLATFORM"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.simpy_files:  # the SimPy side of the trace profile, as its own process
        print(json.dumps({"makespan_s": simpy_trace_makespan(*args.simpy_files)}))
        return
    if args.profile == "trace":
        print(json.dumps(trace_main(args), indent=2))
        return
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
