"""Real endpoints for tests: `hetflow endpoint start` as a subprocess on 127.0.0.1 with a token file and a free port,
its `endpoint: URL` line waited for, killed afterwards.

    with running_endpoint(tmp_path, "--keep-warm", "1") as ep:
        with ep.client() as client:
            assert client.submit(pow, 2, 5).result() == 32
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hetflow as hf
from tests.procs import descendants

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from hetflow.cli import main; main()"]
PLATFORM: dict[str, Any] = {"platform": "test", "nodes": [{"type": "cpu", "count": 1, "cores": 4, "memory": "8GiB"}]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningEndpoint:
    """An endpoint process: its URL, token and files; client() connects to it."""

    url: str
    token: str
    token_file: Path
    proc: subprocess.Popen[str]
    folder: Path
    args: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def client(self, **options: Any) -> hf.Endpoint:
        return hf.Endpoint(self.url, token=self.token, **options)

    def stderr(self) -> str:
        return (self.folder / "endpoint.err").read_text(errors="replace")

    def kill(self) -> None:
        """kill -9, and wait for it."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """SIGTERM (or sig), and its exit status once it drained."""
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)


def start_endpoint(
    folder: Path, *args: str, platform: dict[str, Any] | None = None, port: int = 0, token_file: Path | None = None,
    timeout: float = 60.0,
) -> RunningEndpoint:  # fmt: skip
    """Start an endpoint serving platform (a small 4-core one by default) and wait until it serves."""
    folder.mkdir(parents=True, exist_ok=True)
    plat = folder / "platform.json"
    plat.write_text(json.dumps(platform or PLATFORM))
    token_file = token_file or folder / "endpoint.token"
    cmd = [*CLI, "endpoint", "start", "--platform", str(plat), "--port", str(port), "--token-file", str(token_file),
           *args]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    err = open(folder / "endpoint.err", "a")  # noqa: SIM115 (the process keeps it)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=REPO)
    err.close()
    assert proc.stdout is not None
    end = time.monotonic() + timeout
    url = ""
    while not url:
        left = end - time.monotonic()
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, min(1.0, left)))
        if ready:
            line = proc.stdout.readline()
            if line.startswith("endpoint: "):
                url = line.split(" ", 1)[1].strip()
            elif not line and proc.poll() is not None:
                why = (folder / "endpoint.err").read_text()
                raise AssertionError(f"the endpoint exited ({proc.returncode}): {why}")
        if left <= 0:
            proc.kill()
            raise AssertionError(f"the endpoint did not start: {(folder / 'endpoint.err').read_text()}")
    return RunningEndpoint(url, token_file.read_text().strip(), token_file, proc, folder, list(args))


def api(ep: RunningEndpoint, method: str, path: str, body: object = None, token: str | None = "",
        raw: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:  # fmt: skip
    """One HTTP request as curl would send it: (status, decoded JSON). token "" is the endpoint's, None sends none."""
    conn = http.client.HTTPConnection("127.0.0.1", ep.port, timeout=60)
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token or ep.token}"
    data = raw if raw is not None else json.dumps(body).encode() if body is not None else None
    try:
        conn.request(method, path, data, sent)
        resp = conn.getresponse()
        got = resp.read()
    finally:
        conn.close()
    return resp.status, json.loads(got) if got else None


@contextlib.contextmanager
def running_endpoint(folder: Path, *args: str, **options: Any) -> Iterator[RunningEndpoint]:
    """An endpoint for the block (start_endpoint's options); killed after it."""
    ep = start_endpoint(folder, *args, **options)
    try:
        yield ep
    finally:
        if ep.proc.poll() is None:
            ep.kill()
        if ep.proc.stdout is not None:
            ep.proc.stdout.close()


@contextlib.contextmanager
def endpoints_for(
    tmp_path: Path, nodes: dict[str, list[dict[str, Any]]], *args: str
) -> Iterator[dict[str, RunningEndpoint]]:
    """One endpoint per site of nodes (site name -> its node types), each with a journal and the same token file,
    started with args; every process of theirs killed after the block."""
    token = tmp_path / "token"
    started: dict[str, RunningEndpoint] = {}
    try:
        for name, types in nodes.items():
            started[name] = start_endpoint(
                tmp_path / name, *args, "--journal", str(tmp_path / name / "ep.db"),
                platform={"platform": name, "nodes": types}, token_file=token,
            )  # fmt: skip
        yield started
    finally:
        for ep in started.values():
            kill_tree(ep)


def kill_tree(ep: RunningEndpoint) -> None:
    """kill -9 the endpoint and every process below it (its workers die with it; this makes sure)."""
    below = descendants(ep.proc.pid)
    if ep.proc.poll() is None:
        ep.kill()
    for pid in below:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if ep.proc.stdout is not None:
        ep.proc.stdout.close()
