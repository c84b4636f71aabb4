"""The README's endpoint quick start runs as written: its `$` line starts a real endpoint (a fresh HOME, so the token
file is made there; the port swapped for a free one) and its `>>>` lines, run in a fresh interpreter, print 1024."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.faas.endpoints import CLI, free_port
from tests.shared import REPO

BLOCK = re.compile(r"^```console\n(.*?)^```", re.M | re.S)


def quick_start() -> tuple[str, list[str]]:
    """The README's endpoint block: its one shell command and its Python lines, comments dropped."""
    blocks = [b for b in BLOCK.findall((REPO / "README.md").read_text()) if "hetflow endpoint start" in b]
    assert len(blocks) == 1, "the README has one endpoint quick start"
    lines = [line.split("#")[0].rstrip() for line in blocks[0].splitlines()]
    shell = [line[2:] for line in lines if line.startswith("$ ")]
    python = [line[4:] for line in lines if line.startswith(">>> ")]
    assert len(shell) == 1 and len(python) == 2, blocks[0]
    return shell[0], python


def test_the_readme_endpoint_quick_start_runs_as_written(tmp_path: Path) -> None:
    command, python = quick_start()
    port = str(free_port())
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    argv = [*CLI, *shlex.split(command)[1:]]
    argv = [port if a == "8700" else a for a in argv]
    server = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline and not line.startswith("endpoint:"):
            line = server.stdout.readline()
            assert line or server.poll() is None, "the endpoint exited before serving"
        assert line.strip() == f"endpoint: http://127.0.0.1:{port}", line
        assert (tmp_path / ".hetflow" / "endpoint.token").exists()
        *setup, last = [p.replace("8700", port) for p in python]
        script = "\n".join(["import hetflow as hf", *setup, f"print({last})", "ep.close()"])
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "1024"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
