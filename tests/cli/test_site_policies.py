"""`hetflow simulate --sites --policy carbon|carbon-wait|fastest|greenest-now`: the knobs, the transfers in --json,
and bad knobs as one line and exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from hetflow.cli import main

CONSTANT_SITES = {
    "sites": [
        {"name": "dirty", "platform": {"nodes": [{"type": "cpu", "count": 1, "cores": 4}]}, "carbon": 500},
        {"name": "clean", "platform": {"nodes": [{"type": "cpu", "count": 1, "cores": 4}]}, "carbon": 50},
    ],
    "links": [{"from": "dirty", "to": "clean", "latency": "0s", "bandwidth": "100MB/s"}],
    "default_link": {"latency": "0s", "bandwidth": "100MB/s"},
    "origin": "dirty",
}
WORKFLOW = {
    "workflow": "w",
    "tasks": [
        {"name": "P", "cores": 4, "runtime": 100, "outputs": "1GB"},
        {"name": "C", "cores": 4, "runtime": 100, "after": ["P"]},
    ],
}


def files(tmp_path: Path) -> tuple[str, str]:
    wf, sites = tmp_path / "wf.yaml", tmp_path / "sites.yaml"
    wf.write_text(yaml.safe_dump(WORKFLOW))
    sites.write_text(yaml.safe_dump(CONSTANT_SITES))
    return str(wf), str(sites)


def simulate(*args: str) -> tuple[int, str]:
    got = CliRunner().invoke(main, ["simulate", *args])
    return got.exit_code, got.output


def test_each_site_policy_runs_and_carbon_goes_where_it_is_greener(tmp_path: Path) -> None:
    wf, sites = files(tmp_path)
    rows = {}
    for policy in ("fastest", "greenest-now", "carbon", "carbon-wait"):
        code, out = simulate(wf, "--sites", sites, "--policy", policy, "--deadline", "1h", "--json")
        assert code == 0, out
        (rows[policy],) = json.loads(out)
    assert rows["fastest"]["makespan_s"] == 200.0 and rows["carbon"]["makespan_s"] == 200.0
    assert rows["carbon"]["carbon_g"] < rows["fastest"]["carbon_g"] / 5  # both sets at the clean site
    assert "transfers" not in rows["carbon"]  # P and C at one site: nothing moves


def test_a_transfer_is_listed_in_the_json(tmp_path: Path) -> None:
    """fifo: Q takes dirty, P clean; when P ends at 10, R takes clean and C waits for dirty (free at 30), where
    P's 1 GB arrives at 10 + 1e9 / 1e8 = 20."""
    wf, sites = files(tmp_path)
    tasks = [
        {"name": "Q", "cores": 4, "runtime": 30},
        {"name": "P", "cores": 4, "runtime": 10, "outputs": "1GB"},
        {"name": "R", "cores": 4, "runtime": 1000, "after": ["P"]},
        {"name": "C", "cores": 4, "runtime": 5, "after": ["P"], "inputs": {"P": "1GB"}},
    ]
    Path(wf).write_text(yaml.safe_dump({"workflow": "w", "tasks": tasks}))
    code, out = simulate(wf, "--sites", sites, "--policy", "fifo", "--json")
    assert code == 0, out
    (row,) = json.loads(out)
    assert row["transfers"] == [
        {"from_set": "P", "from_site": "clean", "to_set": "C", "to_site": "dirty", "bytes": 10**9, "start": 10.0,
         "end": 20.0}
    ]  # fmt: skip


def test_bad_knobs_are_one_line_and_exit_2(tmp_path: Path) -> None:
    wf, sites = files(tmp_path)
    code, out = simulate(wf, "--sites", sites, "--policy", "carbon-wait", "--deadline", "soon")
    assert code == 2 and "--deadline" in out and "24h" in out
    code, out = simulate(wf, "--policy", "carbon", "--platform", sites)
    assert code == 2
    code, out = simulate(wf, "--sites", sites, "--policy", "carbon", "--max-slowdown", "nan")
    assert code == 2 and "--max-slowdown" in out and "Traceback" not in out
    code, out = simulate(wf, "--sites", sites, "--policy", "carbon-wait", "--deadline", "1")  # shorter than the run
    assert code == 2 and "--deadline" in out and "at its fastest" in out
