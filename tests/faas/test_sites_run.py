"""A real two-site run across two local endpoints (`hetflow run WF --sites SITES` whose sites have `endpoint:`
URLs): the tasks run on the endpoints, and the run's energy and carbon are accounted per site from the intervals
the endpoints measured, with each site's own intensity."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from hetflow.cli import main
from tests.faas.endpoints import RunningEndpoint, kill_tree, start_endpoint
from tests.procs import descendants

POWER = {"idle_w": 50, "core_w": 10, "gpu_w": 0}
NODES = [{"type": "n", "count": 1, "cores": 2}]


@pytest.fixture
def endpoints(tmp_path: Path) -> Iterator[dict[str, RunningEndpoint]]:
    token = tmp_path / "token"  # one token for both (the first endpoint writes it, the second reads it)
    started: dict[str, RunningEndpoint] = {}
    try:
        for name in ("clean", "dirty"):
            platform = {"platform": name, "nodes": NODES}
            started[name] = start_endpoint(tmp_path / name, platform=platform, token_file=token)
        yield started
    finally:
        for ep in started.values():
            kill_tree(ep)


def sites_file(tmp_path: Path, endpoints: dict[str, Any], nodes: list[dict[str, Any]]) -> Path:
    """Two sites, clean (20 gCO2/kWh) and dirty (800, PUE 1.5), each at its endpoint (a RunningEndpoint or a URL)."""
    url = {name: getattr(ep, "url", ep) for name, ep in endpoints.items()}
    doc = {
        "sites": [
            {"name": "clean", "platform": {"nodes": nodes}, "carbon": 20, "power": POWER,
             "endpoint": url["clean"]},
            {"name": "dirty", "platform": {"nodes": nodes}, "carbon": 800, "pue": 1.5, "power": POWER,
             "endpoint": url["dirty"]},
        ],
        "default_link": {"latency": "1ms", "bandwidth": "1GB/s"},
    }  # fmt: skip
    path = tmp_path / "sites.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def workflow(tmp_path: Path) -> Path:
    """Each task writes the process id of its shell's parent (the endpoint's worker that ran it) and sleeps."""
    wf = tmp_path / "wf.yaml"
    ran = tmp_path / "ran"
    ran.mkdir(exist_ok=True)
    wf.write_text(
        "workflow: pair\ntasks:\n"
        f"  - {{name: A, count: 4, cores: 1, command: 'echo $PPID > {ran}/A-{{index}}; sleep 0.3', runtime: 0.3}}\n"
        f"  - {{name: B, count: 2, cores: 2, command: 'echo $PPID > {ran}/B-{{index}}; sleep 0.2', runtime: 0.2,"
        " after: [A]}\n"
    )
    return wf


def test_a_run_across_two_endpoints_is_accounted_per_site(
    endpoints: dict[str, RunningEndpoint], tmp_path: Path
) -> None:
    sites = sites_file(tmp_path, endpoints, NODES)
    token = endpoints["clean"].token_file
    journal = tmp_path / "run.db"
    args = ["run", str(workflow(tmp_path)), "--sites", str(sites), "--token-file", str(token), "--json"]
    r = CliRunner().invoke(main, [*args, "--journal", str(journal)])
    assert r.exit_code == 0, r.output
    (row,) = json.loads(r.output[r.output.index("[") :])
    assert row["source"] == "real" and row["tasks"] == 6 and row["failed"] == 0
    assert row["power_source"] == "model"
    clean, dirty = row["sites"]["clean"], row["sites"]["dirty"]
    assert clean["tasks"] + dirty["tasks"] == 6 and clean["tasks"] and dirty["tasks"]  # both endpoints ran tasks
    assert clean["carbon_g"] == pytest.approx(clean["energy_kwh"] * 20, rel=1e-4)
    assert dirty["carbon_g"] == pytest.approx(dirty["energy_kwh"] * 800, rel=1e-4)
    assert row["carbon_g"] == pytest.approx(clean["carbon_g"] + dirty["carbon_g"], rel=1e-6)
    from hetflow.journal import read_journal

    nodes = {r.node for r in read_journal(journal).records}
    assert nodes == {"clean/n-0", "dirty/n-0"}  # the sites' own node names
    workers = {name: descendants(ep.proc.pid) for name, ep in endpoints.items()}
    ran_on = {
        f.name: next(n for n, w in workers.items() if int(f.read_text()) in w) for f in (tmp_path / "ran").iterdir()
    }
    assert len(ran_on) == 6 and set(ran_on.values()) == {"clean", "dirty"}  # really on the two endpoints


def test_endpoints_that_serve_other_nodes_than_their_sites_are_refused(
    endpoints: dict[str, RunningEndpoint], tmp_path: Path
) -> None:
    sites = sites_file(tmp_path, endpoints, [{"type": "big", "count": 1, "cores": 2}])
    token = endpoints["clean"].token_file
    r = CliRunner().invoke(main, ["run", str(workflow(tmp_path)), "--sites", str(sites), "--token-file", str(token)])
    assert r.exit_code == 2
    assert "the endpoint of site 'clean' serves node 'clean/n-0', which the sites file does not declare" in r.output


def test_sites_with_and_without_endpoints_are_refused(tmp_path: Path) -> None:
    sites = sites_file(tmp_path, {"clean": "http://127.0.0.1:1", "dirty": "http://127.0.0.1:2"}, NODES)
    doc = yaml.safe_load(sites.read_text())
    del doc["sites"][1]["endpoint"]
    sites.write_text(yaml.safe_dump(doc))
    r = CliRunner().invoke(main, ["run", str(workflow(tmp_path)), "--sites", str(sites)])
    assert r.exit_code == 2 and "site 'dirty' has no endpoint, and other sites have one" in r.output
