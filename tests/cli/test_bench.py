"""hetflow bench: real runs, each a fresh session with its own journal, described as a distribution."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hetflow.cli import main
from hetflow.cli.compare import journal_makespan

NAPS = """workflow: naps
tasks:
  - {name: a, count: 2, command: 'sleep 0.05'}
  - {name: b, command: 'sleep 0.05', after: [a]}
"""
PLATFORM = "platform: two\nnodes:\n  - {type: n, cores: 2}\n"


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {"naps": tmp_path / "naps.yaml", "platform": tmp_path / "two.yaml", "dir": tmp_path}
    out["naps"].write_text(NAPS)
    out["platform"].write_text(PLATFORM)
    return out


def test_bench_runs_three_times_keeps_three_journals_and_describes_them(files: dict[str, Path]) -> None:
    runs = files["dir"] / "runs"
    r = invoke("bench", files["naps"], "--repeat", "3", "-p", files["platform"], "--journals", runs, "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["format"] == "hetflow-samples/1" and doc["source"] == "bench" and doc["repeat"] == 3
    assert (doc["backend"], doc["mode"], doc["policy"]) == ("local", "task", "fifo")
    assert doc["journals"] == [str(runs / f"run-{i}.db") for i in (1, 2, 3)]
    makespans = doc["samples"]["makespan_s"]
    assert len(makespans) == 3 and all(0.1 <= m < 5 for m in makespans)  # two waves of sleep 0.05 on two cores
    for journal, makespan in zip(doc["journals"], makespans, strict=True):  # each a run of its own, as recorded
        assert journal_makespan(Path(journal)) == pytest.approx(makespan, abs=1e-6)
    s = doc["summary"]["makespan_s"]
    assert s["n"] == 3 and s["median_ci"] is None and len(s["mean_ci"]) == 2
    assert s["percentiles"]["p50"] == sorted(makespans)[1]
    assert [line.split(":")[0] for line in r.stderr.splitlines()] == ["run 1/3", "run 2/3", "run 3/3"]


def test_bench_table_and_a_folder_it_will_not_add_to(files: dict[str, Path]) -> None:
    runs = files["dir"] / "t"
    r = invoke("bench", files["naps"], "-n", "2", "-p", files["platform"], "--journals", runs)
    assert r.exit_code == 0, r.output
    assert "median [95% CI]" in r.stdout and "naps (local)" in r.stdout and "[none: too few runs]" in r.stdout
    assert f"journals: {runs}" in r.stdout
    again = invoke("bench", files["naps"], "-n", "2", "-p", files["platform"], "--journals", runs)
    assert again.exit_code == 2 and again.stderr.startswith(f"error: --journals: {runs / 'run-1.db'} exists")


def test_a_failing_run_stops_the_bench_with_exit_1(files: dict[str, Path]) -> None:
    bad = files["dir"] / "bad.yaml"
    bad.write_text("workflow: bad\ntasks:\n  - {name: a, command: 'exit 3'}\n")
    r = invoke("bench", bad, "-n", "3", "-p", files["platform"], "--journals", files["dir"] / "b")
    assert r.exit_code == 1 and "error: run 1 of 3: 1 failed, 0 skipped" in r.stderr
    assert not (files["dir"] / "b" / "run-2.db").exists()


def test_bench_bad_input_is_one_line(files: dict[str, Path]) -> None:
    r = invoke("bench", files["dir"] / "missing.yaml", "-n", "2")
    assert r.exit_code == 2 and len(r.stderr.splitlines()) == 1
    assert invoke("bench", files["naps"], "-n", "0").exit_code == 2
