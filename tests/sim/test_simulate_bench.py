"""benchmarks/simulate.py's trace profile, tiny: hetflow, SimPy and a baseline hetflow on the same files, each a
whole process, with the makespans and the outputs agreeing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_trace_profile_times_hetflow_simpy_and_a_baseline_on_the_same_files() -> None:
    cmd = [sys.executable, str(REPO / "benchmarks" / "simulate.py"), "--profile", "trace", "--records", "300"]
    cmd += ["--no-engine", "--baseline", str(REPO / "src"), "--rounds", "2"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["same_makespan"] and out["hetflow"]["path"].startswith("flat kernel")
    theirs = out["baseline"]
    assert theirs["same_json"] and len(theirs["simulate_s"]) == len(theirs["ours_simulate_s"]) == 2
    assert set(theirs["phases"]) == {"imports_s", "load_s", "simulation_s", "summary_s"} and theirs["speedup"] > 0
    assert "engine_simulate_s" not in theirs  # --no-engine


def test_a_baseline_is_timed_on_the_engine_too() -> None:
    cmd = [sys.executable, str(REPO / "benchmarks" / "simulate.py"), "--profile", "trace", "--records", "200"]
    cmd += ["--no-peer", "--baseline", str(REPO / "src"), "--rounds", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    theirs = out["baseline"]
    assert theirs["engine_same_json"] and out["hetflow_engine"]["same_json"]
    assert len(theirs["engine_simulate_s"]) == len(theirs["ours_engine_simulate_s"]) == 1
