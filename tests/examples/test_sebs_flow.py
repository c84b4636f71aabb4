"""The six SeBS-Flow benchmark shapes (examples/sebs-flow) each run end to end for real from the command line, and
simulate to the makespan worked out by hand from their side files on platform.yaml (4 nodes of 8 cores)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hetflow.cli import main

HERE = Path(__file__).resolve().parents[2] / "examples" / "sebs-flow"
PLATFORM = HERE / "platform.yaml"

# by hand: the states' run times along the way, maps in waves of 32 cores / cores per task
SIMULATED = {
    "trip-booking": 1.2,  # hotel 0.3 + car 0.3 + flight 0.4 + confirm 0.2 (the simulation assumes no failure)
    "map-reduce": 14.5,  # split 2 + 16 counts at once 8 + shuffle 3 + 64 add-ups in 2 waves 2 x 0.5 + collect 0.5
    "video": 10.5,  # decode 4 + 120 detections in 4 waves of 32, 4 x 1.5 + summarize 0.5
    "excamera": 54.0,  # split 3 + 16 encodes of 2 cores at once 12 + re-encodes 6 + 16 rebases in turn 32 + 1
    "ml": 71.0,  # generate 5 + 8 fits of 4 cores at once 60 + score 5 + select 1
    "genomes": 61.0,  # 20 individuals at once 20 + merge 10 (sifting 4 beside it) + frequency 30 + summary 1
}


def output_of(example: str, payload: str | None = None) -> dict[str, Any]:
    d = HERE / example
    args = [
        "run",
        d / "definition.json",
        "--functions",
        d / "functions.py",
        "--side",
        d / "side.yaml",
        "--input",
        payload or d / "input.json",
        "--platform",
        PLATFORM,
        "--json",
    ]
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["ok"], doc
    return doc  # type: ignore[no-any-return]


@pytest.mark.parametrize("example", list(SIMULATED))
def test_each_example_simulates_to_its_hand_worked_makespan(example: str) -> None:
    d = HERE / example
    args = ["simulate", d / "definition.json", "--side", d / "side.yaml", "--platform", PLATFORM, "--json"]
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)[0]["makespan_s"] == pytest.approx(SIMULATED[example])


def test_trip_booking_takes_the_failure_path_or_confirms() -> None:
    failed = output_of("trip-booking")
    assert failed["output"]["status"] == "cancelled" and failed["output"]["cancelled"] == ["car", "hotel"]
    assert failed["states"] == ["hotel", "car", "flight", "undo_car", "undo_hotel"]
    assert failed["handled"] == [{"state": "flight", "error": "RuntimeError: no flight available"}]
    booked = output_of("trip-booking", '{"trip": "Zurich-Rotterdam"}')
    assert booked["output"]["status"] == "confirmed" and set(booked["output"]["booked"]) == {"hotel", "car", "flight"}


def test_map_reduce_counts_every_word() -> None:
    out = output_of("map-reduce")["output"]
    assert out["total"] == 640 and out["top"][0] == "the"


def test_video_finds_the_object_in_every_frame() -> None:
    doc = output_of("video")
    assert doc["output"]["with_object"] == doc["output"]["frames"] == 12 and doc["tasks"] == 14


def test_excamera_encodes_every_segment_and_rebases_them_in_turn() -> None:
    doc = output_of("excamera")
    assert doc["output"]["segments"] == 6 and doc["output"]["raw"] == 240 and doc["tasks"] == 1 + 6 + 6 + 6 + 1


def test_ml_trains_one_model_per_schedule_and_picks_the_best() -> None:
    doc = output_of("ml")
    best = doc["output"]["best"]
    assert doc["output"]["tried"] == 4 and abs(best["w"] - 3) < 0.2 and best["mse"] < 0.05
    assert doc["states"][-1] == "select" and doc["tasks"] == 1 + 4 * 2 + 1


def test_genomes_reports_every_population() -> None:
    doc = output_of("genomes")
    assert [p["population"] for p in doc["output"]["populations"]] == ["AFR", "EAS", "EUR"]
    assert all(p["people"] == 10 for p in doc["output"]["populations"])


def test_the_runner_prints_one_json_line_per_example() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, str(HERE / "run.py"), "video", "ml"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["example"] for r in rows] == ["video", "ml"] and all(r["ok"] for r in rows)
    assert [r["simulated_makespan_s"] for r in rows] == [SIMULATED["video"], SIMULATED["ml"]]


# the arrays each example's input.json makes, as a side file would assume them
LENGTHS: dict[str, dict[str, int]] = {
    "trip-booking": {},
    "map-reduce": {"count": 4, "reduce": 23},
    "video": {"analyse": 12},
    "excamera": {"encode": 6, "reencode": 6, "rebase": 6},
    "ml": {"train": 4},
    "genomes": {"individuals": 5, "frequency": 3, "overlap": 3},
}


@pytest.mark.parametrize("example", list(LENGTHS))
def test_the_unrolled_workflow_has_the_tasks_a_real_run_submits(example: str) -> None:
    from hetflow.flows.unroll import unrolled
    from hetflow.spec.flowside import load_side
    from hetflow.spec.load import load_definition
    from hetflow.spec.sebsflow import Flow

    flow = load_definition(HERE / example / "definition.json")
    assert isinstance(flow, Flow)
    side = load_side(
        {"default": {"runtime": 1}, "states": {k: {"length": n} for k, n in LENGTHS[example].items()}}, flow
    )
    payload = '{"trip": "Zurich-Rotterdam"}' if example == "trip-booking" else None  # the path with no failure
    assert unrolled(flow, side).n_tasks == output_of(example, payload)["tasks"]
