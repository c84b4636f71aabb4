"""Files staged through the endpoints in a real multi-site run (`hetflow run WF --sites SITES`): a producer at site
a writes its declared output files in its working folder, a consumer that only site b can run finds them in its own
working folder there (moved a -> b through the session), and the moves are in the results; the engine also sees
the sites' link (the consumer starts no earlier than the link lets the data arrive). The endpoints' file routes
refuse a corrupted, an oversized and an unsized upload with one JSON error each."""

from __future__ import annotations

import hashlib
import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hetflow.cli import main
from tests.faas.endpoints import RunningEndpoint, api, endpoints_for

LATENCY_S = 1.0
BIG = 300_000  # bytes of each producer task's second file
# a: one core, lots of memory (the producer needs it); b: two cores (the consumer needs them): P at a, C at b
NODES = {"a": [{"type": "n", "count": 1, "cores": 1, "memory": "8GiB"}],
         "b": [{"type": "n", "count": 1, "cores": 4, "memory": "1GiB"}]}  # fmt: skip


@pytest.fixture
def endpoints(tmp_path: Path) -> Iterator[dict[str, RunningEndpoint]]:
    with endpoints_for(tmp_path, NODES, "--max-payload", "1MB") as started:
        yield started


def sites_file(tmp_path: Path, endpoints: dict[str, RunningEndpoint]) -> Path:
    doc = {
        "sites": [
            {"name": name, "platform": {"nodes": NODES[name]}, "carbon": 100, "endpoint": ep.url}
            for name, ep in endpoints.items()
        ],
        "links": [{"from": "a", "to": "b", "latency": f"{LATENCY_S}s", "bandwidth": "1GB/s"}],
    }
    path = tmp_path / "sites.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def workflow(tmp_path: Path) -> Path:
    """P (2 tasks) writes part-I.txt and big-I.bin in its working folder (and a copy of big-I.bin where the test
    reads it); each of C's 2 tasks (at b together) reads all four in its own and writes what it found where the
    test reads it."""
    seen = tmp_path / "seen"
    seen.mkdir()
    doc = {
        "workflow": "staged",
        "tasks": [
            {"name": "P", "count": 2, "cores": 1, "memory": "4GiB", "runtime": 0.1,
             "command": f"printf 'hello {{index}}' > part-{{index}}.txt; head -c {BIG} /dev/urandom > big-{{index}}.bin"
                        f"; cp big-{{index}}.bin {seen}/sent-{{index}}.bin; pwd > {seen}/P-{{index}}.cwd",
             "outputs": {"part-{index}.txt": 7, "big-{index}.bin": BIG}},
            {"name": "C", "count": 2, "cores": 2, "runtime": 0.1, "after": ["P"],
             "command": f"cat part-0.txt part-1.txt > {seen}/got-{{index}}.txt; sha256sum big-0.bin big-1.bin"
                        f" > {seen}/sums-{{index}}; pwd > {seen}/C-{{index}}.cwd"},
        ],
    }  # fmt: skip
    path = tmp_path / "wf.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_consumer_at_another_site_reads_the_files_its_producer_wrote(
    endpoints: dict[str, RunningEndpoint], tmp_path: Path
) -> None:
    args = ["run", str(workflow(tmp_path)), "--sites", str(sites_file(tmp_path, endpoints))]
    r = CliRunner().invoke(main, [*args, "--token-file", str(endpoints["a"].token_file), "--json"])
    assert r.exit_code == 0, r.output
    (row,) = json.loads(r.output[r.output.index("[") :])
    assert row["tasks"] == 4 and row["failed"] == 0
    assert row["sites"]["a"]["tasks"] == 2 and row["sites"]["b"]["tasks"] == 2
    seen = tmp_path / "seen"
    for c in (0, 1):
        assert (seen / f"got-{c}.txt").read_text() == "hello 0hello 1"  # what P wrote at a, read by C at b
        sums = dict(reversed(line.split()) for line in (seen / f"sums-{c}").read_text().splitlines())
        for i in (0, 1):
            assert sums[f"big-{i}.bin"] == hashlib.sha256((seen / f"sent-{i}.bin").read_bytes()).hexdigest()
    cwd = {p.stem: Path(p.read_text().strip()) for p in seen.glob("*.cwd")}
    assert all(cwd[f"C-{i}"].parent == tmp_path / "b" / "ep.db.files" / "work" for i in (0, 1))  # b's store
    assert all(cwd[f"P-{i}"].parent == tmp_path / "a" / "ep.db.files" / "work" for i in (0, 1))
    assert cwd["C-0"] != cwd["C-1"] and not cwd["C-0"].exists()  # a folder each, removed once the task ended
    moved = row["transfers"]
    assert {(t["from_set"], t["from_site"], t["to_set"], t["to_site"]) for t in moved} == {("P", "a", "C", "b")}
    assert sorted(t["bytes"] for t in moved) == [7, 7, BIG, BIG]  # one move per file, for both readers
    assert all(0 <= t["start"] <= t["end"] for t in moved)
    held = {sha.name for sha in (tmp_path / "b" / "ep.db.files" / "blobs").iterdir()}
    assert set(sums.values()) <= held  # b's store holds the files it received


def test_the_consumer_starts_no_earlier_than_the_link_brings_the_data(
    endpoints: dict[str, RunningEndpoint], tmp_path: Path
) -> None:
    """The engine holds C until P's output would reach b over the 1 s link (the sites' links go to the Session)."""
    journal = tmp_path / "run.db"
    args = ["run", str(workflow(tmp_path)), "--sites", str(sites_file(tmp_path, endpoints)), "--journal", str(journal)]
    r = CliRunner().invoke(main, [*args, "--token-file", str(endpoints["a"].token_file)])
    assert r.exit_code == 0, r.output
    from hetflow.journal import read_journal

    records = read_journal(journal).records
    p_end = max(x.end for x in records if x.set == "P")
    readers = [x for x in records if x.set == "C"]
    assert len(readers) == 2 and {c.node for c in readers} == {"b/n-0"}
    assert min(c.start for c in readers) >= p_end + LATENCY_S - 0.05  # the endpoints' clocks agree to a few ms


def test_corrupted_oversized_and_unsized_uploads_are_refused(endpoints: dict[str, RunningEndpoint]) -> None:
    ep = endpoints["b"]
    data = b"some bytes"
    sha = hashlib.sha256(data).hexdigest()
    status, body = api(ep, "PUT", f"/v1/files/{sha}", raw=b"other bytes")
    assert (status, body) == (400, {"error": f"the bytes hash to {hashlib.sha256(b'other bytes').hexdigest()}, "
                                             f"not to the file's name {sha}"})  # fmt: skip
    assert api(ep, "HEAD", f"/v1/files/{sha}")[0] == 404  # nothing kept
    status, body = api(ep, "PUT", f"/v1/files/{sha}", raw=b"x" * 2_000_000)
    assert status == 413 and set(body) == {"error"}
    status, body = api(ep, "PUT", "/v1/files/not-a-hash", raw=data)
    assert status == 400 and "sha256" in body["error"]
    conn = http.client.HTTPConnection("127.0.0.1", ep.port, timeout=30)
    conn.request("PUT", f"/v1/files/{sha}", iter([data]), {"Authorization": f"Bearer {ep.token}"}, encode_chunked=True)
    answer = conn.getresponse()
    assert (answer.status, json.loads(answer.read())) == (411, {"error": "give the file's size in Content-Length"})
    conn.close()
    assert api(ep, "PUT", f"/v1/files/{sha}", raw=data) == (201, {"sha256": sha, "size": len(data)})
    assert api(ep, "HEAD", f"/v1/files/{sha}") == (200, None)
    assert api(ep, "GET", f"/v1/files/{sha}", token="wrong-token-wrong-token")[0] == 403
    status, _ = api(ep, "GET", "/v1/health")
    assert status == 200  # it still serves
