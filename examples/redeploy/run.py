"""Heterogeneity-aware redeployment (issue #17): a GROMACS-like study as a serial monolith, decomposed and
heterogeneity-oblivious (NHHA, paying container cold starts), and decomposed and heterogeneity-aware (HHA: the
intensive functions move to GPU nodes when they join).

    python examples/redeploy/run.py            # simulated at the seed's scale (30 Summit-like nodes, 128 systems)
    python examples/redeploy/run.py --json     # {"strategies": [{strategy, makespan_s, ...}], "fastest", ...}
    python examples/redeploy/run.py --real     # for real on this machine, small scale (local backend, ~15 s)

The model (functions, run times, cold starts, platform) and the strategies are in model.py; the real functions in
tasks.py. In simulation the GPU nodes join at 600 s (NodeJoined); the real run declares them from the start (the
local backend adds no node while running) and its cold starts are measured in the worker processes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the workers of the real run import examples.redeploy.tasks from here

from examples.redeploy.model import (  # noqa: E402
    FACTS,
    POLICY,
    REAL,
    RECONSTRUCTED,
    SIM,
    STRATEGIES,
    SWEEP,
    Scale,
    warm,
    workflow,
)

from hetflow import Session, run_simulation  # noqa: E402
from hetflow.metrics.result import RunResult  # noqa: E402


def simulate(strategy: str, cold: bool = True, scale: Scale = SIM) -> RunResult:
    """The strategy simulated (by default at the seed's scale), the GPU nodes joining at join_s (cold: with cold
    starts)."""
    w = workflow(strategy, scale)
    joins = [(scale.join_s, scale.joining())]
    return run_simulation(w if cold else warm(w), scale.platform(), "task", POLICY[strategy], joins=joins)


def run_real(strategy: str, measure: Path) -> RunResult:
    """The strategy for real on the declared CPU and GPU nodes; each function records its cold start in `measure`."""
    os.environ["REDEPLOY_MEASURE"] = str(measure)  # the workers inherit it
    os.environ["REDEPLOY_TIME_SCALE"] = repr(REAL.time_scale)
    with Session(platform=REAL.both(), policy=POLICY[strategy], workers=8) as s:
        run = s.submit_workflow(workflow(strategy, REAL, functions=True))
        return run.result()


def on_gpu(r: RunResult) -> int:
    """Tasks that ran on GPU nodes with a GPU."""
    return sum(i.n for i in r.intervals if i.node.startswith("gpu-") and i.gpu_units)


def measured(folder: Path) -> dict[str, Any]:
    rows = [json.loads(line) for p in folder.glob("*.jsonl") for line in p.read_text().splitlines()]
    return {
        "cold_starts": sum(1 for r in rows if r["cold_s"] > 0),
        "cold_start_s": round(sum(r["cold_s"] for r in rows), 4),
        "run_s": round(sum(r["run_s"] for r in rows), 4),
        "processes": len({r["pid"] for r in rows}),
    }


def row(strategy: str, r: RunResult) -> dict[str, Any]:
    return {
        "strategy": strategy,
        "policy": POLICY[strategy],
        "makespan_s": round(r.makespan_s, 4),
        "tasks": r.tasks,
        "tasks_on_gpu": on_gpu(r),
        "cpu_utilization": round(r.cpu_utilization, 4),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real", action="store_true", help="run for real on this machine, at small scale")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    rows = []
    out: dict[str, Any] = {"source": "real" if args.real else "simulated"}
    if args.real:
        for strategy in STRATEGIES:
            with tempfile.TemporaryDirectory(prefix="redeploy-") as tmp:
                r = run_real(strategy, Path(tmp))
                rows.append({**row(strategy, r), "measured": measured(Path(tmp))})
        nhha = next(x for x in rows if x["strategy"] == "nhha")
        m = nhha["measured"]
        out["nhha_cold_start_task_share"] = round(m["cold_start_s"] / (m["cold_start_s"] + m["run_s"]), 4)
        out["scale"] = {**vars(REAL), "gpu_nodes_join": "from the start"}
    else:
        for strategy in STRATEGIES:
            rows.append(row(strategy, simulate(strategy)))
        nhha = next(x for x in rows if x["strategy"] == "nhha")
        warm_s = simulate("nhha", cold=False).makespan_s
        out["nhha_warm_makespan_s"] = round(warm_s, 4)
        out["nhha_cold_start_share"] = round(1 - warm_s / nhha["makespan_s"], 4)
        out["scale"] = vars(SIM)
        out["sweep"] = [
            {"systems": n} | {s: simulate(s, scale=replace(SIM, systems=n)).makespan_s for s in STRATEGIES}
            for n in SWEEP
        ]
    out["strategies"] = rows
    by = {x["strategy"]: x["makespan_s"] for x in rows}
    out["fastest"] = min(by, key=by.__getitem__)
    out["speedup_hha_vs_nhha"] = round(by["nhha"] / by["hha"], 3)
    out["speedup_hha_vs_monolith"] = round(by["monolith"] / by["hha"], 3)
    out["seed"] = {"facts": FACTS, "reconstructed": RECONSTRUCTED}
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"GROMACS-like study, {out['source']}: {SIM.systems if not args.real else REAL.systems} systems")
    print("strategy  policy  makespan_s  tasks_on_gpu")
    for x in rows:
        print(f"{x['strategy']:<9} {x['policy']:<7} {x['makespan_s']:>10,.2f}  {x['tasks_on_gpu']:>12}")
    share = out.get("nhha_cold_start_share", out.get("nhha_cold_start_task_share"))
    print(
        f"fastest: {out['fastest']}; HHA {out['speedup_hha_vs_nhha']}x NHHA, {out['speedup_hha_vs_monolith']}x monolith"
    )
    print(f"cold starts: {share:.1%} of NHHA's {'makespan' if not args.real else 'task time (measured)'}")
    for x in out.get("sweep", ()):
        print(f"  {x['systems']:>4} systems: " + ", ".join(f"{s} {x[s]:,.0f} s" for s in STRATEGIES))
    print("reconstructed, not from the seed: " + "; ".join(RECONSTRUCTED))
    return 0


if __name__ == "__main__":
    sys.exit(main())
