"""The origin of a real multi-site run (`hetflow run WF --sites SITES`, the sites file's `origin:`): an input file
only the session's working directory holds is uploaded to the far site where its reader runs, the final output comes
back to the folder --outputs names with the content the far site wrote, and both moves are transfers in the result
and in the journal (`hetflow report JOURNAL --json` gives the same). A missing input file is one line, exit 2,
before anything runs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hetflow.cli import main
from tests.faas.endpoints import RunningEndpoint, endpoints_for

# a (the origin): one core, lots of memory; b: four cores. R needs two cores, so it runs at b, far from its input
# file; S needs the memory, so it runs at a.
NODES = {"a": [{"type": "n", "count": 1, "cores": 1, "memory": "8GiB"}],
         "b": [{"type": "n", "count": 1, "cores": 4, "memory": "1GiB"}]}  # fmt: skip
DATA = b"line one\nline two\nline three\n" * 1000


@pytest.fixture
def two_sites(tmp_path: Path) -> Iterator[dict[str, RunningEndpoint]]:
    with endpoints_for(tmp_path, NODES) as started:
        yield started


def sites_file(tmp_path: Path, urls: dict[str, str]) -> Path:
    doc = {
        "sites": [{"name": n, "platform": {"nodes": NODES[n]}, "carbon": 100, "endpoint": u} for n, u in urls.items()],
        "links": [{"from": "a", "to": "b", "latency": "10ms", "bandwidth": "1GB/s"}],
        "origin": "a",
    }
    path = tmp_path / "sites.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def workflow(tmp_path: Path) -> Path:
    """R and Q (at b) read data.txt, which only the origin has; R writes upper.txt, which S (at a) reads to write
    final.txt; Q writes counts.txt, which no task reads. The final outputs: counts.txt and final.txt."""
    doc = {
        "workflow": "origin",
        "tasks": [
            {"name": "R", "cores": 2, "runtime": 0.1, "input_files": {"data.txt": len(DATA)},
             "command": "tr a-z A-Z < data.txt > upper.txt", "outputs": {"upper.txt": len(DATA)}},
            {"name": "Q", "cores": 2, "runtime": 0.1, "input_files": {"data.txt": len(DATA)},
             "command": "wc -l < data.txt > counts.txt", "outputs": {"counts.txt": 5}},
            {"name": "S", "cores": 1, "memory": "4GiB", "runtime": 0.1, "after": ["R"],
             "command": "sha256sum upper.txt | cut -d' ' -f1 > final.txt", "outputs": {"final.txt": 65}},
        ],
    }  # fmt: skip
    path = tmp_path / "wf.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_inputs_go_from_the_origin_to_the_far_site_and_final_outputs_come_back(
    two_sites: dict[str, RunningEndpoint], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "here"  # the session's working directory: the origin's data
    here.mkdir()
    (here / "data.txt").write_bytes(DATA)
    monkeypatch.chdir(here)
    sites = sites_file(tmp_path, {n: ep.url for n, ep in two_sites.items()})
    journal, out = tmp_path / "run.db", tmp_path / "results"
    args = ["run", str(workflow(tmp_path)), "--sites", str(sites), "--token-file", str(two_sites["a"].token_file)]
    r = CliRunner().invoke(main, [*args, "--journal", str(journal), "--outputs", str(out), "--json"])
    assert r.exit_code == 0, r.output
    (row,) = json.loads(r.output[r.output.index("[") :])
    assert row["tasks"] == 3 and row["failed"] == 0
    assert row["sites"]["b"]["tasks"] == 2 and row["sites"]["a"]["tasks"] == 1
    upper = DATA.upper()
    assert (out / "counts.txt").read_text().strip() == "3000"  # computed at b from the origin's file
    assert (out / "final.txt").read_text().strip() == hashlib.sha256(upper).hexdigest()
    assert sorted(p.name for p in out.iterdir()) == ["counts.txt", "final.txt"]  # upper.txt is read: not final
    moved = sorted((t["from_set"], t["from_site"], t["to_set"], t["to_site"], t["bytes"]) for t in row["transfers"])
    assert sorted((m[0], m[1], "R|Q" if m[2] in ("R", "Q") else m[2], *m[3:]) for m in moved) == [
        ("", "a", "R|Q", "b", len(DATA)),  # the input, from the origin's working directory to b, once for both
        ("Q", "b", "", "a", 5),  # a final output, back from b to the origin
        ("R", "b", "S", "a", len(upper)),  # R's output to S
        ("S", "a", "", "a", 65),  # the other (written at the origin site's endpoint, brought into --outputs)
    ]
    held = {p.name for p in (tmp_path / "b" / "ep.db.files" / "blobs").iterdir()}
    assert hashlib.sha256(DATA).hexdigest() in held  # the upload is in b's store
    assert not list((tmp_path / "a" / "ep.db.files" / "blobs").glob(hashlib.sha256(DATA).hexdigest()))
    # the journal gives the same transfers back
    report = CliRunner().invoke(main, ["report", str(journal), "--sites", str(sites), "--json"])
    assert report.exit_code == 0, report.output
    (again,) = json.loads(report.output[report.output.index("[") :])
    assert again["transfers"] == row["transfers"]


def test_a_missing_input_file_is_one_line_and_exit_2_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no data.txt here
    sites = sites_file(tmp_path, {"a": "http://127.0.0.1:9", "b": "http://127.0.0.1:9"})  # nothing listens there
    token = tmp_path / "token"
    token.write_text("t" * 32)
    journal = tmp_path / "run.db"
    args = ["run", str(workflow(tmp_path)), "--sites", str(sites), "--token-file", str(token)]
    r = CliRunner().invoke(main, [*args, "--journal", str(journal)])
    assert r.exit_code == 2, r.output
    assert r.output.count("\n") == 1 and "input file 'data.txt' is not in" in r.output
    assert not journal.exists()  # nothing ran, nothing was recorded
