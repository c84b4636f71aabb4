"""The redeploy example (examples/redeploy): HHA is the fastest of the three strategies in simulation, at the
makespans the stated model gives by hand, with NHHA's cold-start share; and for real at small scale, where the
cold starts are measured in the worker processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from examples.redeploy.model import CHAIN, CPU_COLD_S, GPU_COLD_S, MONOLITH_COLD_S, SIM, STRATEGIES, SWEEP
from examples.redeploy.run import main, on_gpu, simulate

ROOT = Path(__file__).resolve().parents[2]


def makespans(out: dict[str, Any]) -> dict[str, float]:
    return {r["strategy"]: r["makespan_s"] for r in out["strategies"]}


def test_simulated_hha_is_fastest_at_every_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["fastest"] == "hha" and out["scale"]["systems"] == SIM.systems
    assert [r["tasks_on_gpu"] for r in out["strategies"]] == [0, 0, 2 * SIM.systems]  # npt and prod, every system
    cpu = sum(f.cpu_s for f in CHAIN)  # 4410 s: 128 chains of 6 cores fit the CPU nodes at once: straight through
    assert out["nhha_warm_makespan_s"] == cpu
    assert out["nhha_cold_start_share"] == round(6 * CPU_COLD_S / (cpu + 6 * CPU_COLD_S), 4)
    assert [n["systems"] for n in out["sweep"]] == list(SWEEP)
    for n in out["sweep"]:
        assert n["hha"] < min(n["nhha"], n["monolith"]), n
    assert out["seed"]["reconstructed"] and out["seed"]["facts"]


def test_simulated_makespans_by_hand_when_every_system_has_a_gpu() -> None:
    """36 systems, one per GPU of the joining nodes: nothing queues, so every makespan is a sum."""
    scale = replace(SIM, systems=36)
    got = {s: simulate(s, scale=scale) for s in STRATEGIES}
    cpu = sum(f.cpu_s for f in CHAIN)
    # nvt starts on the CPU at 180 (before the GPU nodes join at 600) and ends at 795; npt and prod then run on the
    # GPU nodes (a CUDA image's cold start each), analysis on a core with its own cold start
    by = {f.name: f for f in CHAIN}
    nvt_end = by["prep"].cpu_s + by["em"].cpu_s + by["nvt"].cpu_s + 3 * CPU_COLD_S
    gpu = (by["npt"].gpu_s or 0) + (by["prod"].gpu_s or 0)
    hha = nvt_end + 2 * GPU_COLD_S + gpu + CPU_COLD_S + by["analysis"].cpu_s
    assert {s: r.makespan_s for s, r in got.items()} == {
        "monolith": MONOLITH_COLD_S + cpu,
        "nhha": cpu + 6 * CPU_COLD_S,
        "hha": hha,
    }
    assert on_gpu(got["hha"]) == 2 * 36


@pytest.mark.slow  # three real runs, about 15 s
def test_real_small_scale_hha_is_fastest_and_cold_starts_are_measured() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "examples/redeploy/run.py", "--real", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    by = makespans(out)
    assert out["fastest"] == "hha" and by["hha"] < by["nhha"] and by["hha"] < by["monolith"]
    rows = {r["strategy"]: r for r in out["strategies"]}
    assert rows["hha"]["tasks_on_gpu"] > 0 and rows["nhha"]["tasks_on_gpu"] == 0
    nhha = rows["nhha"]["measured"]
    assert nhha["cold_starts"] >= len(CHAIN)  # each function started at least once: measured, in its process
    assert nhha["cold_start_s"] >= len(CHAIN) * CPU_COLD_S * out["scale"]["time_scale"]
    assert 0 < out["nhha_cold_start_task_share"] < 1
