"""The ETA of `hetflow run` over a real run's life: predicted against actual remaining time.

A real local run of a workflow of sleeps with variable durations: N tasks declared at 0.5 s each, each really
sleeping 0.5 s x RATIO x a lognormal noise (cv about NOISE), so the declared times are wrong by a factor the ETA must
learn from the tasks that end. The run is watched as `hetflow run` watches it (cli.progress.run_eta every 0.1 s);
afterwards each sample's actual remaining time is known. Prints JSON: at 10, 25, 50, 75 and 90% of the run's wall
time, the predicted remaining time (p50 and its 80% interval), the actual one, the error in % and whether the
interval held it.

    python benchmarks/eta.py [--tasks 60] [--cores 4] [--ratio 1.4] [--noise 0.3] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import hetflow as hf
from hetflow.cli.progress import run_eta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=60)
    parser.add_argument("--cores", type=int, default=4)
    parser.add_argument("--ratio", type=float, default=1.4)
    parser.add_argument("--noise", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    sleeps = 0.5 * args.ratio * rng.lognormal(0.0, args.noise, args.tasks)
    workflow = {
        "workflow": "naps",
        "tasks": [{"name": f"t{i}", "runtime": 0.5, "command": f"sleep {s:.3f}"} for i, s in enumerate(sleeps)],
    }
    platform = {"platform": "local", "nodes": [{"type": "n", "cores": args.cores}]}
    samples: list[tuple[float, float, float, float, int]] = []
    with hf.Session(platform=platform) as s:
        run = s.submit_workflow(workflow)
        t0 = time.monotonic()
        while not run.wait(0.1):
            e = run_eta(run, s.progress())
            if e is not None:  # every task declares its run time: known from the start
                samples.append((time.monotonic() - t0, e.p10, e.p50, e.p90, e.ended))
        makespan = time.monotonic() - t0
    points = []
    for frac in (0.1, 0.25, 0.5, 0.75, 0.9):
        t, p10, p50, p90, ended = min(samples, key=lambda x: abs(x[0] - frac * makespan))
        actual = makespan - t
        points.append(
            {
                "at_pct": round(100 * t / makespan, 1),
                "tasks_ended": ended,
                "actual_s": round(actual, 3),
                "p10_s": round(p10, 3),
                "p50_s": round(p50, 3),
                "p90_s": round(p90, 3),
                "error_pct": round(100 * (p50 - actual) / actual, 1),
                "inside": p10 <= actual <= p90,
            }
        )
    declared = 0.5 * args.tasks / args.cores
    print(
        json.dumps(
            {
                "tasks": args.tasks,
                "cores": args.cores,
                "makespan_s": round(makespan, 3),
                "declared_work_over_cores_s": declared,
                "points": points,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
