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
        (("--policy", "tetris"), "fifo, critical-path, best-fit, heft"),  # "random" is a policy now (#15)
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


MC_WORKFLOW = """workflow: mc
tasks:
  - {name: a, count: 60, cores: 4, runtime: {dist: lognormal, median: 150, cv: 0.3}}
  - {name: b, count: 8, runtime: {dist: gamma, mean: 30, cv: 0.5}, after: a}
"""
MC_PLATFORM = "platform: p\nnodes:\n  - {type: n, count: 2, cores: 32, speed_jitter: 0.05}\n"


def mc_files(tmp_path: Path) -> tuple[str, str]:
    wf, plat = tmp_path / "mc.yaml", tmp_path / "p.yaml"
    wf.write_text(MC_WORKFLOW)
    plat.write_text(MC_PLATFORM)
    return str(wf), str(plat)


def test_repeat_json_is_the_samples_document_and_its_numbers_are_describes(tmp_path: Path) -> None:
    from hetflow.sim.montecarlo import simulate_many
    from hetflow.spec import load_platform, load_workflow
    from hetflow.stats import describe

    wf, plat = mc_files(tmp_path)
    code, out, _ = run("simulate", wf, "-p", plat, "--repeat", "20", "--seed", "1", "--workers", "2", "--json")
    assert code == 0, out
    doc = json.loads(out)
    assert {k: doc[k] for k in ("workflow", "platform", "mode", "policy", "repeat", "seed")} == {
        "workflow": "mc", "platform": "p", "mode": "task", "policy": "fifo", "repeat": 20, "seed": 1,
    }  # fmt: skip
    assert doc["format"] == "hetflow-samples/1" and set(doc) >= {"samples", "summary"}
    spans = doc["samples"]["makespan_s"]
    assert len(spans) == 20 and len(set(spans)) == 20
    assert spans == [r.makespan_s for r in simulate_many(load_workflow(wf), load_platform(plat), repeat=20, seed=1)]
    assert doc["summary"]["makespan_s"] == json.loads(json.dumps(describe(spans).as_dict()))
    again = json.loads(run("simulate", wf, "-p", plat, "--repeat", "20", "--seed", "1", "--json")[1])
    assert again["samples"] == doc["samples"]  # one seed, the same runs, whatever the workers
    other = json.loads(run("simulate", wf, "-p", plat, "--repeat", "20", "--seed", "2", "--json")[1])
    assert other["samples"] != doc["samples"]


def test_repeat_table_and_report_histogram(tmp_path: Path) -> None:
    wf, plat = mc_files(tmp_path)
    report = tmp_path / "report"
    code, out, _ = run("simulate", wf, "-p", plat, "--repeat", "12", "--seed", "3", "--report", str(report))
    assert code == 0, out
    for needle in ("mean", "Student t", "median", "order statistics", "p10 / p50 / p90", "normality", "seed 3"):
        assert needle in out, needle
    assert (report / "makespans.png").stat().st_size > 1000
    page = (report / "index.html").read_text()
    assert 'src="makespans.png"' in page and (report / "gantt.png").is_file()


def test_without_repeat_a_seed_picks_one_run(tmp_path: Path) -> None:
    wf, plat = mc_files(tmp_path)
    one = json.loads(run("simulate", wf, "-p", plat, "--seed", "4", "--json")[1])
    assert one == json.loads(run("simulate", wf, "-p", plat, "--seed", "4", "--json")[1])
    assert one != json.loads(run("simulate", wf, "-p", plat, "--seed", "5", "--json")[1])


def test_repeat_refuses_what_it_cannot_do_in_one_line(tmp_path: Path) -> None:
    wf, plat = mc_files(tmp_path)
    for args, needle in (
        (("--repeat", "0"), "--repeat"),
        (("--repeat", "5", "--policy", "all"), "one mode and one policy"),
        (("--repeat", "5", "--trace", str(tmp_path / "t.jsonl")), "traces"),
        (("--repeat", "5", "--workers", "0"), "--workers"),
    ):
        code, _, err = run("simulate", wf, "-p", plat, *args)
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, (args, err)
    bad = tmp_path / "bad.yaml"
    bad.write_text("workflow: w\ntasks:\n  - {name: a, runtime: {dist: lognormal, median: 150, cv: 0}}\n")
    code, _, err = run("simulate", str(bad), "-p", plat, "--repeat", "5")
    assert code == 2 and f"{bad}: tasks[0] (a).runtime: cv is 0, not > 0" in err and "fix:" in err


def test_one_run_of_varying_run_times_says_its_seed_and_that_seed_replays_it(tmp_path: Path) -> None:
    wf, plat = mc_files(tmp_path)
    code, out, err = run("simulate", wf, "-p", plat, "--json")
    assert code == 0 and "run times drawn with --seed " in err
    seed = err.split("--seed ")[1].split()[0]
    assert json.loads(out) == json.loads(run("simulate", wf, "-p", plat, "--seed", seed, "--json")[1])
    assert "--seed" not in run("simulate", str(SEED_WORKFLOW), "-p", str(SEED_PLATFORM))[2]  # nothing varies there
