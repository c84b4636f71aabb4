"""The dashboard in a real headless Chromium: the page of a recorded run (no console errors, charts drawn, the
failed task's error and stderr in the task table, a screenshot that is not blank) and a live run whose progress
changes on the page while it runs (Session(dashboard=True), local backend, real processes)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image, ImageStat

import hetflow as hf
from tests.dashboard.conftest import PLATFORM, Served

TIMEOUT_MS = 20_000


def open_page(browser: Any, url: str) -> tuple[Any, list[str]]:
    """A new page at url, and the list its console errors and uncaught exceptions go to."""
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    return page, errors


def spread(png: bytes) -> float:
    """The standard deviation of a screenshot's grey levels: about 0 for a blank page."""
    return float(ImageStat.Stat(Image.open(io.BytesIO(png)).convert("L")).stddev[0])


def test_a_recorded_run_in_the_browser(browser: Any, served: Served, shots: Path) -> None:
    page, errors = open_page(browser, served.url)
    page.wait_for_selector("#table-progress", timeout=TIMEOUT_MS)
    page.wait_for_selector("#plot-gantt .main-svg", timeout=TIMEOUT_MS)
    page.wait_for_selector("#plot-busy .main-svg", timeout=TIMEOUT_MS)
    page.wait_for_selector("#table-compare", timeout=TIMEOUT_MS)
    assert page.inner_text('#table-progress tr[data-row="bad"] td[data-col="failed"]') == "1"
    assert page.inner_text('#table-progress tr[data-row="after"] td[data-col="skipped"]') == "2"
    assert page.inner_text('[data-fact="done"] b') == "5 / 8"
    page.wait_for_selector("#task-table", timeout=TIMEOUT_MS)
    page.select_option("#task-state", "failed")
    page.wait_for_function("document.querySelectorAll('#task-table tbody tr').length === 1", timeout=TIMEOUT_MS)
    assert "boom-stderr" in page.inner_text('#task-table tr[data-task="bad"] td.error')
    page.click('button[data-log="bad:2:err"]')
    page.wait_for_selector("#log-text", timeout=TIMEOUT_MS)
    assert page.inner_text("#log-text").strip() == "boom-stderr"
    png = page.screenshot(path=str(shots / "recorded.png"), full_page=True)
    assert spread(png) > 10, "the screenshot is (nearly) blank"
    page.goto(served.url.split("?")[0] + "#/")  # the runs list, with the token now in the cookie
    page.wait_for_selector('#runs tr[data-run="0"]', timeout=TIMEOUT_MS)
    assert "failed" in page.inner_text('#runs tr[data-run="0"]')
    page.screenshot(path=str(shots / "runs.png"))
    page.close()
    assert errors == []


def test_live_progress_changes_in_the_browser_during_a_run(browser: Any, shots: Path, tmp_path: Path) -> None:
    gate = tmp_path / "go"  # the tasks end once it exists: the test decides when the run moves on
    command = f"sleep 0.1; while [ ! -e {gate} ]; do sleep 0.05; done"
    workflow = {"workflow": "gated", "tasks": [{"name": "nap", "count": 6, "command": command, "runtime": 0.3}]}
    row = '#table-progress tr[data-row="nap"]'
    with hf.Session(platform=PLATFORM, dashboard=0) as s:
        assert s.dashboard_url is not None
        run = s.submit_workflow(workflow)
        page, errors = open_page(browser, s.dashboard_url)
        page.wait_for_function(
            f"document.querySelector('{row} td[data-col=\"running\"]')?.textContent === '2'", timeout=TIMEOUT_MS
        )
        assert page.inner_text(f'{row} td[data-col="done"]') == "0"
        assert page.inner_text('[data-fact="status"] b') == "running"
        page.wait_for_selector("#plot-gantt .main-svg", timeout=TIMEOUT_MS)
        page.screenshot(path=str(shots / "live.png"), full_page=True)
        gate.touch()
        page.wait_for_function(
            f"document.querySelector('{row} td[data-col=\"done\"]').textContent === '6'", timeout=TIMEOUT_MS
        )
        assert page.inner_text(f'{row} td[data-col="running"]') == "0"
        assert page.inner_text('[data-fact="done"] b') == "6 / 6"
        page.close()
        assert run.wait(10)
    assert errors == []
