"""The peers of benchmarks/staging.py and benchmarks/faas_cancel.py, tiny runs: the scripts report each peer's figures
and the hetflow / peer ratios beside their own, and each peer measures what it says (a real worker-to-worker move, a
cancel the cluster answered, Dask's running task left to run on)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.faas.endpoints import REPO


def module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, str(REPO / "benchmarks" / f"{name}.py"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)


def test_staging_reports_a_peer_and_the_ratio() -> None:
    run = script("staging", "--sizes", "1", "--repeats", "1", "--peers", "http")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    [row], [theirs] = out["sizes"], out["peers"]["http"]["sizes"]
    assert theirs["mb"] == 1 and theirs["move_s"] > 0
    assert row["vs_peers"] == {"get/http": round(row["get_s"] / theirs["move_s"], 2)}


def test_an_unknown_peer_is_refused_before_anything_starts() -> None:
    for name in ("staging", "faas_cancel"):
        run = script(name, "--peers", "spark")
        assert run.returncode == 2 and "unknown peers ['spark']" in run.stderr


def test_dask_moves_the_bytes_from_one_worker_to_the_other() -> None:
    pytest.importorskip("distributed")
    out = module("staging_peers").dask_moves([1], 2)  # it checks the result's length and where it ran
    [row] = out["sizes"]
    assert row["mb"] == 1 and row["move_s"] > 0 and row["local_task_s"] > 0


def test_faas_cancel_reports_dask_beside_the_endpoint() -> None:
    pytest.importorskip("distributed")
    run = script("faas_cancel", "--samples", "2", "--peers", "dask", "--dask-hold", "0.2")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    dask: dict[str, Any] = out["peers"]["dask"]
    assert dask["cancel_queued"]["worker_ms"]["n"] == 2
    # Dask marks the running task cancelled but cannot stop its thread: every one ran to its end
    assert dask["cancel_running"]["ran_to_end"] == 2 and dask["cancel_running"]["worker_ms"]["n"] == 2
    assert set(out["ratios"]) == {"cancel_queued/dask", "cancel_running/dask", "next_call_after_a_kill/dask"}
    assert out["ratios"]["cancel_queued/dask"] == round(
        out["cancel_queued"]["p50_ms"] / dask["cancel_queued"]["worker_ms"]["p50_ms"], 3
    )


@pytest.mark.slow
@pytest.mark.ray
def test_ray_moves_between_two_nodes_and_cancels(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    moved = module("staging_peers").ray_moves([1], 1, nodes=2)  # it checks the task ran on the other node
    assert moved["nodes"] == 2 and moved["sizes"][0]["move_s"] > 0
    out = module("cancel_peers").ray_cancels(tmp_path, 1)
    assert out["cancel_queued"]["raised"] == ["TaskCancelledError"]
    assert out["cancel_running_force"]["n"] == 1 and out["next_call_after_kill"]["n"] == 1
    assert out["cancel_running_interrupt"]["raised"] == ["RayTaskError(TaskCancelledError)"]
