"""Calibration: fitted from the journal of one real local run, it brings the simulation of another real run (of
another size) within 5% of its makespan; the simulator applies it as a shift of each launch; `hetflow calibrate` and
`simulate --calibration` on the command line, and bad input as one line with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hetflow.cli import main
from hetflow.journal import read_journal
from hetflow.metrics.journaled import journal_result
from hetflow.predict.calibration import Calibration, fit_calibration, load_calibration, save_calibration
from hetflow.sim import run_simulation
from hetflow.spec import Platform
from hetflow.spec.load import load_platform, load_workflow
from hetflow.spec.platform import NodeType
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import TaskSet, Workflow

PLATFORM = "platform: two\nnodes:\n  - {type: local, cores: 2}\n"


def cli(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args))
    return res.exit_code, res.stdout, res.stderr


def sleeps(folder: Path, n: int) -> Path:
    wf = folder / f"sleeps-{n}.yaml"
    wf.write_text(f"workflow: sleeps\ntasks:\n  - {{name: s, count: {n}, runtime: 0.02, command: 'sleep 0.02'}}\n")
    return wf


def real_run(folder: Path, n: int, tag: str) -> Path:
    """n tasks of `sleep 0.02` on 2 cores, run for real by the local backend; the journal."""
    journal = folder / f"{tag}.db"
    code, _, err = cli("-q", "run", str(sleeps(folder, n)), "-p", str(folder / "two.yaml"), "--journal", str(journal))
    assert code == 0, err
    return journal


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "two.yaml").write_text(PLATFORM)
    return tmp_path


def test_calibration_brings_a_real_local_run_within_5_percent(folder: Path) -> None:
    """Real processes: fit on a run of 60 tasks, check on a run of 120 right after it. Without calibration the
    simulation misses by far more (each `sleep 0.02` costs a few ms more: the shell, the dispatch). On a loaded
    machine the same run varies by tens of percent from one time to the next, so a pair of runs is tried up to five
    times; one pair within 5% passes (a quiet machine passes with the first)."""
    platform = load_platform(folder / "two.yaml")
    wf = load_workflow(sleeps(folder, 120))
    before = run_simulation(wf, platform).makespan_s
    errors = []
    for attempt in range(5):
        cal = fit_calibration([real_run(folder, 60, f"fit{attempt}")])
        real = journal_result(read_journal(real_run(folder, 120, f"check{attempt}"))).makespan_s
        assert before / real < 0.95  # uncalibrated: each task declared 20 ms, really some more
        assert cal.tasks == 60 and cal.task_overhead_s > 0 and cal.startup_s > 0
        errors.append(run_simulation(wf, platform, calibration=cal).makespan_s / real - 1)
        if abs(errors[-1]) <= 0.05:
            break
    assert min(map(abs, errors)) <= 0.05, f"simulated/real - 1: {errors}"


def test_the_simulator_shifts_each_launch_and_holds_its_cores() -> None:
    """4 tasks of 1 s on 2 cores: the first pass starts after startup + latency, each task is longer by the overhead,
    and the second pass is placed when the first ends (its cores were held through the latency)."""
    wf = Workflow("w", (TaskSet("a", 4, Resources(1), 1.0),))
    pf = Platform("p", (NodeType("n", 1, 2),))
    cal = Calibration("test", startup_s=0.5, launch_latency_s=0.1, task_overhead_s=0.2)
    r = run_simulation(wf, pf, calibration=cal)
    spans = sorted({(round(i.start, 9), round(i.end, 9)) for i in r.intervals})
    assert spans == [(0.6, 1.8), (1.9, 3.1)]
    assert r.makespan_s == pytest.approx(3.1)
    assert run_simulation(wf, pf).makespan_s == 2.0  # none: as before


def test_calibrate_and_simulate_on_the_command_line(folder: Path) -> None:
    journal = real_run(folder, 20, "one")
    out = folder / "cal.yaml"
    code, text, _ = cli("calibrate", str(journal), "--backend", "local", "--out", str(out))
    assert code == 0 and "calibration local: startup" in text and "fitted from 20 tasks" in text
    cal = load_calibration(out)
    assert cal.backend == "local" and cal.tasks == 20 and cal.journals == (str(journal),)
    code, text, _ = cli("calibrate", str(journal), "--json")
    assert code == 0 and json.loads(text)["tasks"] == 20
    code, text, err = cli("simulate", str(sleeps(folder, 20)), "-p", str(folder / "two.yaml"), "--calibration",
                          str(out), "--json")  # fmt: skip
    assert code == 0 and "calibration local" in err
    plain = run_simulation(load_workflow(sleeps(folder, 20)), load_platform(folder / "two.yaml")).makespan_s
    assert json.loads(text)[0]["makespan_s"] > plain
    json_file = folder / "cal.json"
    save_calibration(cal, json_file)
    assert load_calibration(json_file) == cal


def test_bad_input_is_one_line_with_exit_2(folder: Path) -> None:
    bad = folder / "bad.json"
    bad.write_text('{"backend": "local", "startup_s": -1, "launch_latency_s": 0, "task_overhead_s": 0}')
    code, _, err = cli("simulate", str(sleeps(folder, 2)), "-p", str(folder / "two.yaml"), "--calibration", str(bad))
    assert code == 2 and "startup_s must be seconds >= 0" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("calibrate", str(folder / "missing.db"))
    assert code == 2 and "no such journal" in err
    code, _, err = cli("calibrate", str(folder / "two.yaml"))
    assert code == 2 and "not a hetflow journal" in err
