"""Prediction error on held-out task runs of real WfCommons traces (the shared wfinstances, read where they lie).

The shared data holds one recorded run per workflow family, so the held-out runs are tasks, not instances: in each
trace, the tasks of every set key are split by task id, the first half (the earlier tasks) goes into a history
store and the second half is predicted from it (p50 of hetflow.predict's forecast: model, history or declared).
Keys with a single task have nothing to learn from and are left out (their declared run time is the truth). The
makespan of each trace whose every key has a held-out task is also predicted: a simulation on its recorded machines
with the forecast p50s against one with the recorded run times, and the Monte Carlo 80% interval from the
forecasts (does it hold the truth?).

Error: the median over tasks of |predicted - recorded| / recorded, in %. Baselines: the mean of the key's training
runs (what a per-set average gives) and the mean of all training runs of the trace (key-blind).

    python benchmarks/predict.py [--data ../shared/data/wfinstances] [--repeat 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

import hetflow as hf
from hetflow.cli.predict import with_forecasts
from hetflow.predict import Attempt, Forecast, HistoryStore, Query, forecast, record_wfformat, set_forecasts
from hetflow.sim.montecarlo import makespans, simulate_many
from hetflow.sim.simulator import run_simulation
from hetflow.spec.load import load_platform, load_workflow, recorded_platform
from hetflow.spec.platform import Platform
from hetflow.spec.workflow import Workflow

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "wfinstances"


def split(rows: list[Attempt]) -> tuple[list[Attempt], list[Attempt]]:
    """Per key, the first half of its tasks (by id) to learn from and the rest to predict; keys of one task out."""
    by_key: dict[str, list[Attempt]] = defaultdict(list)
    for a in sorted(rows, key=lambda a: a.task):
        by_key[a.key].append(a)
    train: list[Attempt] = []
    test: list[Attempt] = []
    for tasks in by_key.values():
        if len(tasks) >= 2:
            half = len(tasks) // 2
            train += tasks[:half]
            test += tasks[half:]
    return train, test


def errors(pred: list[float], truth: list[float]) -> float:
    rel = [abs(p - t) / t for p, t in zip(pred, truth, strict=True) if t > 0]
    return round(100 * float(np.median(rel)), 2) if rel else float("nan")


def with_runtimes(wf: Workflow, runtimes: dict[str, float]) -> Workflow:
    return Workflow(wf.name, tuple(replace(s, runtime=runtimes.get(s.name, s.runtime)) for s in wf.sets), wf.source)


def makespan(wf: Workflow, pf: Platform, runtimes: dict[str, float]) -> float:
    return run_simulation(with_runtimes(wf, runtimes), pf).makespan_s


def one(trace: Path, repeat: int, seed: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        store = HistoryStore(folder)
        record_wfformat(store, trace)
        rows = store.attempts()
    train, test = split(rows)
    history: dict[str, list[Attempt]] = defaultdict(list)
    for a in train:
        history[a.key].append(a)
    forecasts: dict[str, Forecast] = {}
    for a in test:
        query = Query(a.cores, a.gpus, a.input_bytes, a.workflow_tasks)
        forecasts[a.task] = forecast(a.key, history[a.key], query, declared=0.0)
    truth = [a.duration * a.speed for a in test]
    key_mean = {k: float(np.mean([a.duration * a.speed for a in v])) for k, v in history.items()}
    all_mean = float(np.mean([a.duration * a.speed for a in train])) if train else 0.0
    out: dict[str, object] = {
        "trace": trace.name,
        "tasks": len(rows),
        "train": len(train),
        "test": len(test),
        "basis": {b: sum(1 for f in forecasts.values() if f.basis == b) for b in ("model", "history", "declared")},
        "mae_pct": errors([forecasts[a.task].p50 for a in test], truth),
        "baseline_key_mean_pct": errors([key_mean[a.key] for a in test], truth),
        "baseline_trace_mean_pct": errors([all_mean for _ in test], truth),
        "interval_coverage": round(
            float(
                np.mean([forecasts[a.task].p10 <= t <= forecasts[a.task].p90 for a, t in zip(test, truth, strict=True)])
            ),
            3,
        )
        if test
        else None,
    }
    keys_held = {a.key for a in test}
    wf, pf = load_workflow(trace), recorded_platform(trace)
    if pf is not None and test and all(a.key in keys_held for a in rows):
        for a in train:  # every task of the trace gets a forecast: its key's, from the training half
            forecasts.setdefault(
                a.task, forecast(a.key, history[a.key], Query(a.cores, a.gpus, a.input_bytes, a.workflow_tasks), 0.0)
            )
        recorded = makespan(wf, pf, {})
        predicted = makespan(wf, pf, {t: f.p50 for t, f in forecasts.items()})
        spans = makespans(simulate_many(with_forecasts(wf, forecasts), pf, repeat=repeat, seed=seed))
        low, high = (float(v) for v in np.quantile(spans, (0.1, 0.9)))
        out["makespan"] = {
            "recorded_s": round(recorded, 3),
            "predicted_p50_s": round(predicted, 3),
            "error_pct": round(100 * abs(predicted - recorded) / recorded, 2),
            "mc_p10_s": round(low, 3),
            "mc_p90_s": round(high, 3),
            "inside": low <= recorded <= high,
        }
    return out


def local_workflow(n: int) -> dict[str, object]:
    """n tasks of 0.2 s, then a merge whose run time grows with n (0.05 s a task); both declared at a fixed guess."""
    return {
        "workflow": "mapmerge",
        "tasks": [
            {"name": "work", "count": n, "runtime": 0.2, "command": "sleep 0.2"},
            {"name": "merge", "runtime": 0.5, "command": f"sleep {0.05 * n:.3f}", "after": ["work"]},
        ],
    }


def local(train: list[int], test: int, reps: int, cores: int, repeat: int, seed: int) -> dict[str, object]:
    """Real local runs at the training sizes feed a history store (Session(history=)); the test size is predicted
    (each set, and the makespan by simulate_many), then run for real reps times and compared."""
    platform = {"platform": "local", "nodes": [{"type": "n", "cores": cores}]}
    pf = load_platform(platform)
    with tempfile.TemporaryDirectory() as folder:
        for n in train:
            for _ in range(reps):
                with hf.Session(platform=platform, history=folder) as s:
                    s.run(local_workflow(n))
        store = HistoryStore(folder)
        wf = load_workflow(local_workflow(test))
        forecasts = dict(set_forecasts(store, wf))
        seen = {k: [a.duration for a in store.attempts(k)] for k in ("work", "merge")}
    spans = makespans(simulate_many(with_forecasts(wf, forecasts), pf, repeat=repeat, seed=seed))
    p10, p50, p90 = (float(v) for v in np.quantile(spans, (0.1, 0.5, 0.9)))
    took: dict[str, list[float]] = defaultdict(list)
    real: list[float] = []
    for _ in range(reps):
        with hf.Session(platform=platform) as s:
            result = s.run(local_workflow(test)).result()
        real.append(result.makespan_s)
        for iv in result.intervals:
            took[iv.set].append(iv.end - iv.start)
    sets = {}
    for name, f in forecasts.items():
        actual = float(np.median(took[name]))
        declared = wf[name].runtime
        sets[name] = {
            "basis": f.basis,
            "predicted_p50_s": round(f.p50, 4),
            "actual_median_s": round(actual, 4),
            "error_pct": round(100 * abs(f.p50 - actual) / actual, 2),
            "declared_error_pct": round(100 * abs(declared - actual) / actual, 2),
            "key_mean_error_pct": round(100 * abs(float(np.mean(seen[name])) - actual) / actual, 2),
        }
    actual = float(np.median(real))
    return {
        "train_sizes": train,
        "test_size": test,
        "runs_per_size": reps,
        "sets": sets,
        "makespan": {
            "predicted_p10_s": round(p10, 3),
            "predicted_p50_s": round(p50, 3),
            "predicted_p90_s": round(p90, 3),
            "actual_s": [round(x, 3) for x in real],
            "error_pct": round(100 * abs(p50 - actual) / actual, 2),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-local", dest="local", action="store_false", help="leave out the local runs")
    args = parser.parse_args()
    traces = sorted(args.data.glob("*.json"))
    if not traces:
        raise SystemExit(f"no WfFormat instances in {args.data}")
    per = [one(t, args.repeat, args.seed) for t in traces]
    pooled: dict[str, list[float]] = defaultdict(list)
    for t in traces:
        with tempfile.TemporaryDirectory() as folder:
            store = HistoryStore(folder)
            record_wfformat(store, t)
            train, test = split(store.attempts())
        history: dict[str, list[Attempt]] = defaultdict(list)
        for a in train:
            history[a.key].append(a)
        for a in test:
            f = forecast(a.key, history[a.key], Query(a.cores, a.gpus, a.input_bytes, a.workflow_tasks), 0.0)
            work = a.duration * a.speed
            if work > 0:
                pooled["model"].append(abs(f.p50 - work) / work)
                mean = float(np.mean([b.duration * b.speed for b in history[a.key]]))
                pooled["key_mean"].append(abs(mean - work) / work)
    summary = {
        "held_out_tasks": len(pooled["model"]),
        "mae_pct": round(100 * float(np.median(pooled["model"])), 2),
        "baseline_key_mean_pct": round(100 * float(np.median(pooled["key_mean"])), 2),
    }
    out: dict[str, object] = {"summary": summary, "traces": per}
    if args.local:
        out["local"] = local([4, 8, 16], 32, 3, 4, args.repeat, args.seed)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
