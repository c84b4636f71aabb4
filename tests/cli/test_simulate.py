"""`hetflow simulate`: the table, --json, --trace, --report, and bad input as one line with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hetflow.cli import main
from tests.shared import FIXTURES, SEED_PLATFORM, SEED_WORKFLOW


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args))
    return res.exit_code, res.stdout, res.stderr


def test_json_gives_one_object_per_mode_and_policy() -> None:
    code, out, _ = run("simulate", str(SEED_WORKFLOW), "-p", str(SEED_PLATFORM), "--mode", "all", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["mode"], r["makespan_s"]) for r in rows] == [("sync", 2000.0), ("workload", 1800.0), ("task", 1700.0)]
    for r in rows:
        assert {"workflow", "platform", "policy", "lower_bound_s", "cpu_utilization", "gpu_utilization"} <= set(r)
        assert r["tasks"] == 2420 and r["makespan_s"] >= r["lower_bound_s"]


def test_table_trace_and_report(tmp_path: Path) -> None:
    trace, report = tmp_path / "trace.jsonl", tmp_path / "report"
    code, out, _ = run(
        "simulate", str(SEED_WORKFLOW), "-p", str(SEED_PLATFORM), "--policy", "heft", "--trace", str(trace),
        "--report", str(report),
    )  # fmt: skip
    assert code == 0
    assert "1700.0" in out and "heft" in out
    rows = [json.loads(line) for line in trace.read_text().splitlines()]
    assert len(rows) == 2420 and len({r["id"] for r in rows}) == 2420
    t11 = [r for r in rows if r["set"] == "T11"]
    assert all(r["gpus"] == 1.0 and r["cores"] == 10 and r["end"] - r["start"] == 200 for r in t11)
    assert min(r["start"] for r in t11) >= max(r["end"] for r in rows if r["set"] in ("T7", "T8", "T10"))
    assert (report / "index.html").is_file() and (report / "utilization.png").is_file()


def test_wfformat_runs_on_its_recorded_machines() -> None:
    code, out, _ = run("simulate", str(FIXTURES / "wfformat-1.5-tiny.json"), "--json")
    assert code == 0, out
    (row,) = json.loads(out)
    assert row["makespan_s"] > 0 and row["tasks"] > 0


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for args, needle in (
        (("--mode", "asap"), "sync, workload, task"),
        (("--policy", "random"), "fifo, critical-path, best-fit, heft"),
        ((), "no platform"),
    ):
        plat = () if needle == "no platform" else ("-p", str(SEED_PLATFORM))
        code, _, err = run("simulate", str(SEED_WORKFLOW), *plat, *args)
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    small = tmp_path / "small.yaml"
    small.write_text("platform: tiny\nnodes:\n  - {type: n, count: 1, cores: 2}\n")
    code, _, err = run("simulate", str(SEED_WORKFLOW), "-p", str(small))
    assert code == 2 and "T0" in err and "fix:" in err and len(err.strip().splitlines()) == 1


def test_bad_output_paths_are_refused_before_any_work(tmp_path: Path) -> None:
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    for args, needle in (
        (("--trace", str(tmp_path)), "is a folder"),
        (("--trace", str(tmp_path / "missing" / "t.jsonl")), "does not exist"),
        (("--report", str(a_file)), "is not a folder"),
    ):
        code, out, err = run("simulate", str(SEED_WORKFLOW), "-p", str(SEED_PLATFORM), *args)
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, (args, err)
        assert out == ""  # refused before simulating: no table was printed
    code, _, err = run("run", str(SEED_WORKFLOW), "--report", str(a_file))
    assert code == 2 and "--report" in err and len(err.strip().splitlines()) == 1
