"""The dashboard server over HTTP: its token, its address, its answers to bad requests, logs and /metrics, on a
recorded journal and live during a real run (Session(dashboard=True))."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

import hetflow as hf
from hetflow.dashboard.data import LOG_CAP
from hetflow.errors import ExecutionError
from tests.dashboard.conftest import CLI, PLATFORM, Served, split_url, start_server
from tests.procs import wait_for


def get(url: str, token: str | None = None, method: str = "GET", cookie: str | None = None) -> tuple[int, bytes, Any]:
    request = urllib.request.Request(url, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    if cookie is not None:
        request.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def api(s: Served, path: str) -> Any:
    status, body, _ = get(s.base + path, s.token)
    assert status == 200, body
    return json.loads(body)


def metrics(base: str, token: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, body, _ = get(base + "/metrics", token)
    assert status == 200
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_every_path_needs_the_token(served: Served) -> None:
    for path in ("/", "/api/runs", "/metrics", "/static/plotly.min.js", "/api/runs/0/log?task=bad&stream=err"):
        assert get(served.base + path)[0] == 401
        assert get(served.base + path, "not-the-token")[0] == 401
    assert get(served.base + "/api/runs", served.token)[0] == 200  # Authorization: Bearer
    status, _, headers = get(served.url)  # the printed URL: the page, and a cookie for what it loads next
    assert status == 200
    cookie = headers["set-cookie"].split(";")[0]
    assert "httponly" in headers["set-cookie"].lower()
    assert get(served.base + "/api/runs", cookie=cookie)[0] == 200
    assert get(served.base + "/api/runs", cookie=cookie.split("=")[0] + "=wrong")[0] == 401


def listening_address(port: int) -> str:
    """The local address of the socket listening on port (from /proc/net/tcp: 0100007F is 127.0.0.1)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        addr, hexport = local.split(":")
        if int(hexport, 16) == port and state == "0A":  # LISTEN
            return ".".join(str(int(addr[i : i + 2], 16)) for i in (6, 4, 2, 0))
    raise AssertionError(f"nothing listens on port {port}")


def test_it_listens_on_the_loopback_address_only(served: Served) -> None:
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp to read the listening address from")
    assert listening_address(int(served.base.rsplit(":", 1)[1])) == "127.0.0.1"


def test_bad_requests_get_one_json_error_and_the_server_goes_on(served: Served) -> None:
    cases = {
        "/api/runs/5": 404,
        "/api/runs/x/tasks": 404,
        "/api/runs/0/panels/nope": 404,
        "/api/runs/0/tasks?limit=x": 400,
        "/api/runs/0/tasks?state=sleeping": 400,
        "/api/runs/0/tasks?set=nope": 400,
        "/api/runs/0/log?task=bad&attempt=1&stream=passwd": 400,
        "/api/runs/0/log?task=bad&attempt=3&stream=err": 404,
        "/api/runs/0/log?task=../../etc/passwd&attempt=1&stream=out": 404,
        "/api/runs/0/log?task=after[0]&attempt=1&stream=out": 404,  # skipped: it never ran, it names no file
        "/static/../app.py": 404,
        "/nowhere": 404,
    }
    for path, code in cases.items():
        status, body, _ = get(served.base + path, served.token)
        assert status == code, (path, body)
        assert set(json.loads(body)) == {"error"}, path
    assert get(served.base + "/api/runs", served.token, method="POST")[0] == 405  # read-only
    assert get(served.base + "/api/runs", served.token)[0] == 200


def test_tasks_and_their_logs(served: Served) -> None:
    failed = api(served, "/api/runs/0/tasks?state=failed")
    assert failed["total"] == 1
    bad = failed["rows"][0]
    assert bad["id"] == "bad" and bad["attempts"] == 2 and "boom-stderr" in bad["error"]
    assert [a["attempt"] for a in bad["logs"]] == [1, 2]
    for attempt in (1, 2):
        log = api(served, f"/api/runs/0/log?task=bad&attempt={attempt}&stream=err")
        assert log["text"] == "boom-stderr\n" and not log["truncated"]
    big = api(served, "/api/runs/0/log?task=big&attempt=1&stream=out")
    assert big["size"] == 300000 and big["truncated"] and len(big["text"]) == LOG_CAP
    assert api(served, "/api/runs/0/tasks?q=boom")["total"] == 1
    assert api(served, "/api/runs/0/tasks?set=ok&limit=2")["total"] == 4


def test_panels_of_a_recorded_run(served: Served) -> None:
    names = [p["name"] for p in api(served, "/api/runs/0/panels")]
    assert names[:5] == ["progress", "busy", "gantt", "tasks", "compare"]
    progress = api(served, "/api/runs/0/panels/progress")
    rows = {r[0]: dict(zip(progress["columns"], r, strict=True)) for r in progress["rows"]}
    assert rows["ok"]["done"] == 4 and rows["bad"]["failed"] == 1 and rows["after"]["skipped"] == 2
    gantt = api(served, "/api/runs/0/panels/gantt")
    failed = next(t for t in gantt["data"] if t["name"] == "failed")
    assert len(failed["x"]) == 2  # both attempts of bad
    # the trigger and the resize it made happened at one instant: one line, one label "1,2" (labels never overlap)
    (note,) = gantt["layout"]["annotations"]
    assert len(gantt["layout"]["shapes"]) == 1 and note["text"] == "1,2"
    assert note["hovertext"].startswith("1. trigger: half") and "<br>2. resize: " in note["hovertext"]
    compare = api(served, "/api/runs/0/panels/compare")
    assert compare["note"].startswith("makespan: simulated")


def test_metrics_of_a_recorded_run(served: Served) -> None:
    m = metrics(served.base, served.token)
    assert m[("hetflow_tasks", (("journal", "demo.db"), ("state", "done")))] == 5
    assert m[("hetflow_tasks", (("journal", "demo.db"), ("state", "failed")))] == 1
    assert m[("hetflow_cores_busy", (("journal", "demo.db"), ("node_type", "cpu")))] == 0
    assert m[("hetflow_task_duration_seconds_count", (("journal", "demo.db"), ("set", "bad")))] == 2


def test_a_bad_journal_is_one_line_and_exit_2(tmp_path: Path) -> None:
    r = subprocess.run([*CLI, "dashboard", str(tmp_path / "missing.db")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1 and "missing.db" in r.stderr


def test_live_metrics_change_during_a_run_and_the_server_ends_with_the_session(tmp_path: Path) -> None:
    gate = tmp_path / "go"  # the tasks end once it exists
    command = f"sleep 0.1; while [ ! -e {gate} ]; do sleep 0.05; done"
    workflow = {"workflow": "gated", "tasks": [{"name": "nap", "count": 4, "command": command, "runtime": 0.3}]}
    labels = ("journal", "run.db")

    def tasks(m: dict[Any, float], state: str) -> float:
        return m[("hetflow_tasks", (labels, ("state", state)))]

    with hf.Session(platform=PLATFORM, dashboard=0) as s:
        assert s.dashboard_url is not None and s.journal_path is not None
        base, token = split_url(s.dashboard_url)
        run = s.submit_workflow(workflow)
        wait_for(lambda: tasks(metrics(base, token), "running") == 2, what="two tasks running in /metrics")
        m = metrics(base, token)
        assert tasks(m, "done") == 0 and m[("hetflow_cores_busy", (labels, ("node_type", "cpu")))] == 2
        assert m[("hetflow_queue_length", (labels,))] == 2  # released, waiting for a core
        gate.touch()
        assert run.wait(20)
        wait_for(lambda: tasks(metrics(base, token), "done") == 4, what="four tasks done in /metrics")
        m = metrics(base, token)
        assert m[("hetflow_task_duration_seconds_count", (labels, ("set", "nap")))] == 4
        temporary = s.journal_path.parent
    assert not temporary.exists()  # the session's temporary journal goes with it
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(base + "/metrics", timeout=5)


def test_a_folder_of_journals_and_one_that_is_not(recorded: Path, tmp_path: Path) -> None:
    for name in ("a.db", "b.db"):
        (tmp_path / name).write_bytes(recorded.read_bytes())
    (tmp_path / "c.db").write_text("not a journal")
    s = start_server(str(tmp_path))
    try:
        runs = api(s, "/api/runs")
        assert [(r["name"], r["status"]) for r in runs] == [("a.db", "failed"), ("b.db", "failed"), ("c.db", "waiting")]
        assert "not a hetflow journal" in runs[2]["problem"]
        assert get(s.base + "/api/runs/2/panels/progress", s.token)[0] == 404
    finally:
        s.process.terminate()
        s.process.wait(10)


def test_hetflow_run_dashboard_prints_its_url_and_serves_the_run_live(tmp_path: Path) -> None:
    gate = tmp_path / "go"
    (tmp_path / "wf.yaml").write_text(
        "workflow: gated\ntasks:\n"
        f"  - {{name: nap, count: 3, runtime: 0.1, command: 'while [ ! -e {gate} ]; do sleep 0.05; done'}}\n"
    )
    (tmp_path / "p.yaml").write_text("platform: two\nnodes:\n  - {type: cpu, count: 1, cores: 2}\n")
    cmd = [*CLI, "run", str(tmp_path / "wf.yaml"), "--platform", str(tmp_path / "p.yaml"), "--dashboard"]
    process = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        assert first.startswith("dashboard: http://127.0.0.1:"), first
        base, token = split_url(first.split(" ", 1)[1].strip())
        wait_for(lambda: api(Served(base, token, "", process), "/api/runs/0").get("counts", {}).get("running") == 2)
        gate.touch()
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_a_session_whose_dashboard_cannot_listen_says_so(capfd: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ExecutionError, match=f"the dashboard did not start on 127.0.0.1:{port}"):
            hf.Session(platform=PLATFORM, dashboard=port)
    assert f"cannot listen on 127.0.0.1:{port}" in capfd.readouterr().err


def test_the_live_dashboard_ends_when_its_program_is_killed(tmp_path: Path) -> None:
    script = (
        "import sys, time, hetflow as hf\n"
        f"s = hf.Session(platform={PLATFORM!r}, dashboard=0)\n"
        "print(s.dashboard_url, flush=True)\n"
        "time.sleep(120)\n"
    )
    program = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert program.stdout is not None
    base, token = split_url(program.stdout.readline().strip())
    assert get(base + "/api/runs", token)[0] == 200
    program.kill()  # SIGKILL: no atexit, no close
    program.wait(10)

    def refused() -> bool:
        try:
            urllib.request.urlopen(base + "/metrics", timeout=2)
        except urllib.error.HTTPError:
            return False
        except (urllib.error.URLError, ConnectionError):  # refused, or reset while the server was going down
            return True
        return False

    wait_for(refused, timeout=15, what="the orphaned dashboard to stop")


def test_a_token_given_in_the_environment_lets_a_scraper_in(recorded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = "scrape-token-0123456789"
    monkeypatch.setenv("HETFLOW_DASHBOARD_TOKEN", token)
    s = start_server(str(recorded))
    try:
        assert s.token == token
        assert metrics(s.base, token)[("hetflow_tasks", (("journal", "demo.db"), ("state", "done")))] == 5
        assert get(s.base + "/metrics", "another-token-0123456789")[0] == 401
    finally:
        s.process.terminate()
        s.process.wait(10)
    monkeypatch.setenv("HETFLOW_DASHBOARD_TOKEN", "short")
    r = subprocess.run([*CLI, "dashboard", str(recorded), "--port", "0"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "token is too short" in r.stderr


def test_the_live_server_takes_a_token_that_begins_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    """Session(dashboard=) draws its token at random, and one in 64 begins with "-" (token_urlsafe)."""
    token = "-dash-token-0123456789"
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: token)
    with hf.Session(platform=PLATFORM, dashboard=0) as s:
        assert s.dashboard_url is not None
        base, got = split_url(s.dashboard_url)
        assert got == token and get(base + "/metrics", token)[0] == 200
