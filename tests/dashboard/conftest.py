"""Fixtures of the dashboard tests: a recorded journal (a real run with a failure and a large log), a real dashboard
server started by `hetflow dashboard`, and a real headless Chromium (Debian's) driven by Playwright."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import hetflow as hf

CLI = [sys.executable, "-c", "from hetflow.cli import main; main()"]
PLATFORM = {"platform": "two", "nodes": [{"type": "cpu", "count": 1, "cores": 2}]}
RECORDED = {
    "workflow": "demo",
    "tasks": [
        {"name": "ok", "count": 4, "command": "sleep 0.1; echo hello {index}", "runtime": 0.1},
        {"name": "big", "command": "yes x | head -c 300000", "runtime": 0.05},
        {"name": "bad", "command": "echo boom-stderr >&2; exit 3", "runtime": 0.05, "retries": 1},
        {"name": "after", "count": 2, "command": "true", "after": ["bad"]},
    ],
}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Served:
    """A dashboard server: its base URL, token and the URL it printed."""

    base: str
    token: str
    url: str
    process: subprocess.Popen[str]


def split_url(url: str) -> tuple[str, str]:
    base, _, token = url.partition("/?token=")
    return base, token


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A journal of a finished run: 4 tasks done, one with a 300 kB stdout, one failed twice, two skipped; a trigger
    fired when 2 tasks of ok were done, and resized a partition (two marks)."""
    journal = tmp_path_factory.mktemp("recorded") / "demo.db"
    with hf.Session(platform=PLATFORM, journal=journal, partitions={"uq": {"cores": 0.5}}) as s:
        run = s.submit_workflow(RECORDED)
        s.when("ok", lambda ctx: ctx.resize("uq", cores=0.25), count=2, name="half")
        run.wait()
    assert [t for t, _ in run.failed] == ["bad"]
    return journal


def start_server(*args: str) -> Served:
    """`hetflow dashboard ARGS --port 0`, once it listens."""
    process = subprocess.Popen([*CLI, "dashboard", *args, "--port", "0"], stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    first = process.stderr.readline()
    assert first.startswith("dashboard: http://127.0.0.1:"), first
    url = first.split(" ", 1)[1].strip()
    return Served(*split_url(url), url, process)


@pytest.fixture(scope="module")
def served(recorded: Path) -> Iterator[Served]:
    s = start_server(str(recorded))
    yield s
    s.process.terminate()
    s.process.wait(10)


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium from the system packages; the tests skip only where there is none (or no Playwright).
    Module-scoped: Playwright's sync API runs an event loop in this thread until it stops, and later tests use
    asyncio.run."""
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium installed (apt-get install chromium chromium-driver; .ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests save their screenshots (a temporary folder; its path is printed with -s)."""
    folder = tmp_path_factory.mktemp("dashboard-screenshots")
    print(f"dashboard screenshots: {folder}")
    return folder
