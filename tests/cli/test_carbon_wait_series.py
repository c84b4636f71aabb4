"""carbon-wait on a hand-made hourly CSV through `hetflow simulate --sites --policy carbon-wait --start --deadline`:
it defers to the greenest hour that still meets the deadline (exact start, exact carbon), and does not defer when
waiting cannot help (a flat series, the greenest hour now, a greener hour only past the deadline)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hetflow.cli import main

HOUR = 3600.0
WATTS = 100 + 4 * 10  # one node: idle 100 W, 4 busy cores at 10 W (PUE 1)
WORKFLOW = {
    "workflow": "w",
    "tasks": [
        {"name": "P", "cores": 4, "runtime": 600},
        {"name": "C", "cores": 4, "runtime": 1200, "after": ["P"]},
    ],
}  # 30 min on the one node, P then C


def run(tmp_path: Path, hourly: list[float], deadline: str) -> dict[str, object]:
    """The --json row of a carbon-wait run on one site whose intensity is `hourly` from 2022-06-01T00:00Z."""
    csv = tmp_path / "ci.csv"
    rows = [f"2022-06-01T{h:02d}:00:00Z,{v}" for h, v in enumerate(hourly)]
    csv.write_text("timestamp,avg_CI\n" + "\n".join(rows) + "\n")
    sites = {
        "sites": [
            {"name": "only", "platform": {"nodes": [{"type": "cpu", "count": 1, "cores": 4}]}, "carbon": str(csv),
             "power": {"idle_w": 100, "core_w": 10, "gpu_w": 0}},
        ]
    }  # fmt: skip
    (tmp_path / "sites.yaml").write_text(yaml.safe_dump(sites))
    (tmp_path / "wf.yaml").write_text(yaml.safe_dump(WORKFLOW))
    args = ["simulate", str(tmp_path / "wf.yaml"), "--sites", str(tmp_path / "sites.yaml"), "--policy", "carbon-wait"]
    got = CliRunner().invoke(main, [*args, "--start", "2022-06-01T00:00Z", "--deadline", deadline, "--json"])
    assert got.exit_code == 0, got.output
    (row,) = json.loads(got.output)
    return dict(row)


def grams(intensity: float, seconds: float = 1800.0) -> float:
    return WATTS * seconds * intensity / 3.6e6


def test_it_defers_to_the_greener_hour_exactly(tmp_path: Path) -> None:
    row = run(tmp_path, [600, 500, 90, 700, 80, 600], "4h")  # hour 4 (80) is greener but ends past 4 h
    assert row["makespan_s"] == pytest.approx(2 * HOUR + 1800)  # the 30 min of work, from 2 h
    assert row["carbon_g"] == pytest.approx(grams(90), rel=1e-9)


def test_a_later_deadline_reaches_the_greenest_hour(tmp_path: Path) -> None:
    row = run(tmp_path, [600, 500, 90, 700, 80, 600], "5h")
    assert row["makespan_s"] == pytest.approx(4 * HOUR + 1800)
    assert row["carbon_g"] == pytest.approx(grams(80), rel=1e-9)


def test_a_flat_series_does_not_wait(tmp_path: Path) -> None:
    row = run(tmp_path, [300] * 6, "5h")
    assert row["makespan_s"] == pytest.approx(1800) and row["carbon_g"] == pytest.approx(grams(300), rel=1e-9)


def test_the_greenest_hour_now_does_not_wait(tmp_path: Path) -> None:
    row = run(tmp_path, [50, 500, 90, 700, 80, 600], "5h")
    assert row["makespan_s"] == pytest.approx(1800) and row["carbon_g"] == pytest.approx(grams(50), rel=1e-9)


def test_a_greener_hour_past_the_deadline_does_not_make_it_wait(tmp_path: Path) -> None:
    row = run(tmp_path, [300, 400, 500, 10, 10, 10], "3h")  # only 0, 1 h or 2 h fit; 0 h is the greenest of them
    assert row["makespan_s"] == pytest.approx(1800) and row["carbon_g"] == pytest.approx(grams(300), rel=1e-9)
