"""The gpu-sharing example (examples/gpu-sharing): its JSON has the figure the issue names, about 1.6 under the model
it states, a sweep whose ratios follow that model (five copies: min(5, bin / saturation x 5)), what is fact and what
reconstructed, and one line and exit 2 for a bad model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def example(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "examples/gpu-sharing/run.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def figure() -> dict[str, Any]:
    out = example("--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_the_json_has_the_figure_and_the_model_it_assumes(figure: dict[str, Any]) -> None:
    assert {"shared_makespan_s", "exclusive_makespan_s", "ratio", "model", "sweep", "seed"} <= figure.keys()
    shared, exclusive = figure["shared_makespan_s"], figure["exclusive_makespan_s"]
    assert 0 < shared < exclusive
    assert figure["ratio"] == pytest.approx(exclusive / shared, abs=1e-3)
    model = figure["model"]
    assert model["workflows"] == 5 and model["bin"] == 0.2 and model["gpu_saturation"] == 0.625
    assert model["speed_in_bin"] == pytest.approx(0.2 / 0.625)
    assert "interference" in model and "rule" in model


def test_the_ratio_is_the_seeds_sixty_percent_under_the_stated_model(figure: dict[str, Any]) -> None:
    assert figure["ratio"] == pytest.approx(1.6, abs=0.05)
    # the four stages (800 s on a saturating share) five times in turn, against five at once at 0.32 of full speed
    assert figure["exclusive_makespan_s"] == pytest.approx(5 * 800) and figure["shared_makespan_s"] == pytest.approx(
        2500
    )


def test_the_sweep_shows_how_the_ratio_depends_on_the_saturation(figure: dict[str, Any]) -> None:
    sweep = figure["sweep"]
    saturations = [row["gpu_saturation"] for row in sweep]
    assert saturations[0] == 0.1 and saturations[-1] == 1.0 and 0.625 in saturations
    for row in sweep:
        assert set(row) == {"gpu_saturation", "shared_makespan_s", "exclusive_makespan_s", "ratio"}
        assert row["ratio"] == pytest.approx(min(5.0, 1 / row["gpu_saturation"]), abs=1e-3)
    ratios = [row["ratio"] for row in sweep]
    assert ratios == sorted(ratios, reverse=True) and ratios[-1] == pytest.approx(1.0)


def test_facts_and_reconstructions_are_kept_apart(figure: dict[str, Any]) -> None:
    seed = figure["seed"]
    assert any("60%" in f for f in seed["facts"])
    assert any("gpu_saturation 0.625" in r for r in seed["reconstructed"])


def test_another_saturation_changes_the_figure_and_a_bad_one_is_one_line() -> None:
    out = example("--json", "--saturation", "0.2")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["model"]["gpu_saturation"] == 0.2 and got["ratio"] == pytest.approx(5.0)
    bad = example("--saturation", "1.5")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "gpu_saturation 1.5 is not a share of one GPU" in bad.stderr


def test_the_table_states_the_model_and_the_figure() -> None:
    out = example()
    assert out.returncode == 0, out.stderr
    assert "ratio 1.6" in out.stdout and '"gpu_saturation": 0.625' in out.stdout and "reconstructed" in out.stdout
