"""A run with failures looks like one: real runs through the local backend (a command that exits 3 after a retry, a
child that is skipped), then the table, the HTML report, the Gantt PNG and `report --json` say so."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from matplotlib.colors import to_rgb
from matplotlib.image import imread

from hetflow.cli import main
from hetflow.journal import read_journal
from hetflow.metrics.journaled import journal_result
from hetflow.report import gantt_figure, save_png, table_text, utilization_figure
from hetflow.report.plots import FAILED_COLOR

PLATFORM = "platform: two\nnodes:\n  - {type: n, cores: 2}\n"
FAILING = (
    "workflow: failing\n"
    "tasks:\n"
    "  - {name: ok, count: 3, command: 'echo fine {index}; sleep 0.3'}\n"
    "  - {name: bad, retries: 1, command: 'sleep 0.2; echo broken >&2; exit 3'}\n"
    "  - {name: child, count: 2, command: 'true', after: [bad]}\n"
)


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One real run that fails: `hetflow run` with a journal and a report."""
    d = tmp_path_factory.mktemp("failed")
    (d / "wf.yaml").write_text(FAILING)
    (d / "two.yaml").write_text(PLATFORM)
    journal = d / "run.db"
    r = invoke("run", d / "wf.yaml", "--platform", d / "two.yaml", "--journal", journal, "--report", d / "run-report")
    assert r.exit_code == 1, r.output
    (d / "run.out").write_text(r.stdout)
    return {"dir": d, "journal": journal}


def _counts(page: str, name: str) -> list[str]:
    """The cells of a set's row in the tasks-per-set table."""
    row = re.search(rf"<tr><td>{name}</td>(.*?)</tr>", page.split("<h4>Tasks per set</h4>")[1])
    assert row is not None, name
    return [unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))]


def _red_pixels(png: Path) -> int:
    """Pixels of the failed-attempt red (its hatch lines and edges)."""
    rgb = imread(png)[..., :3]
    return int((np.abs(rgb - np.array(to_rgb(FAILED_COLOR))).max(axis=-1) < 0.08).sum())


def test_the_report_of_a_failed_run_shows_counts_failures_skips_and_logs(failed_run: dict[str, Path]) -> None:
    journal, out = failed_run["journal"], failed_run["dir"] / "report"
    r = invoke("report", journal, "--out", out)
    assert r.exit_code == 0, r.output
    page = (out / "index.html").read_text(encoding="utf-8")
    # per set: tasks, done, failed, skipped, cancelled, not ended, why
    assert _counts(page, "ok") == ["3", "3", "", "", "", "", ""]
    assert _counts(page, "bad") == ["1", "", "1", "", "", "", ""]
    assert _counts(page, "child")[:4] == ["2", "", "", "2"] and "failed" in _counts(page, "child")[-1]
    assert '<p class="bad">Tasks: 3 done, 1 failed, 2 skipped</p>' in page
    assert "Task sets that never ran (1):</p>\n<ul><li>child: 2 tasks" in page
    errors = page.split("<h4>Errors (1 task)</h4>")[1].split("</table>")[0]
    assert "<td>bad</td><td>failed</td>" in errors and "exit status 3: broken" in errors
    logs = journal.parent / "run.db.logs"
    assert str(logs / "bad.err") in errors and str(logs / "bad.2.err") in errors  # both attempts' logs
    assert "broken" in (logs / "bad.2.err").read_text()
    # the Gantt marks the two failed attempts in red; a run without failures has no such red
    assert _red_pixels(out / "gantt.png") > 200
    # `hetflow run --report` wrote the same counts from the run itself
    run_page = (failed_run["dir"] / "run-report" / "index.html").read_text(encoding="utf-8")
    assert _counts(run_page, "child")[:4] == ["2", "", "", "2"] and _counts(run_page, "bad")[:3] == ["1", "", "1"]


def test_a_run_without_failures_has_no_red_and_no_outcome_table(tmp_path: Path) -> None:
    (tmp_path / "wf.yaml").write_text("workflow: fine\ntasks:\n  - {name: ok, count: 3, command: 'sleep 0.2'}\n")
    (tmp_path / "two.yaml").write_text(PLATFORM)
    r = invoke("run", tmp_path / "wf.yaml", "--platform", tmp_path / "two.yaml", "--journal", tmp_path / "j.db")
    assert r.exit_code == 0, r.output
    assert "Tasks per set" not in r.stdout
    page = (write := invoke("report", tmp_path / "j.db", "--out", tmp_path / "out")) and (
        tmp_path / "out" / "index.html"
    ).read_text()
    assert write.exit_code == 0
    assert '<p class="good">Tasks: 3 done</p>' in page and "Tasks per set" not in page and "Errors" not in page
    assert _red_pixels(tmp_path / "out" / "gantt.png") == 0


def test_the_terminal_tables_show_counts_per_set(failed_run: dict[str, Path]) -> None:
    for text in (failed_run["dir"] / "run.out").read_text(), invoke("report", failed_run["journal"]).stdout:
        title = "Tasks per set, task mode, fifo policy: 3 done, 1 failed, 2 skipped"
        assert title in text
        rows = {
            line.split()[1]: line.split()[2:] for line in text.splitlines() if re.match(r"^│ (ok|bad|child) ", line)
        }
        assert rows["ok"][:3] == ["│", "3", "│"] and rows["ok"][3] == "3"
        assert [c for c in rows["bad"] if c != "│"] == ["1", "1"]
        assert [c for c in rows["child"] if c != "│"][:2] == ["2", "2"]
    report = " ".join(invoke("report", failed_run["journal"]).stdout.split())  # one line; no .out (it was empty)
    assert re.search(r"failed bad: exit status 3: broken \(logs: \S*bad\.err, \S*bad\.2\.err\)", report)
    assert "Tasks per set" in table_text([journal_result(read_journal(failed_run["journal"]))])


def test_report_json_gives_the_log_files_of_every_attempt(failed_run: dict[str, Path]) -> None:
    r = invoke("report", failed_run["journal"], "--json")
    assert r.exit_code == 0, r.output
    rows = {row["id"]: row for row in json.loads(r.stdout)}
    logs = failed_run["journal"].parent / "run.db.logs"
    assert rows["bad"]["logs"] == [
        {"attempt": 1, "stdout": None, "stderr": str(logs / "bad.err")},  # it wrote nothing on stdout: no file
        {"attempt": 2, "stdout": None, "stderr": str(logs / "bad.2.err")},
    ]
    assert Path(rows["ok[1]"]["logs"][0]["stdout"]).read_text() == "fine 1\n"
    assert rows["child[0]"]["logs"] == [] and rows["child[0]"]["status"] == "skipped"


def test_figures_of_a_failed_run_render_to_pngs(failed_run: dict[str, Path]) -> None:
    result = journal_result(read_journal(failed_run["journal"]))
    shots = failed_run["dir"] / "shots"  # screenshots for a person to look at (pytest --basetemp DIR keeps them)
    shots.mkdir(exist_ok=True)
    save_png(gantt_figure([result]), shots / "gantt.png")
    save_png(utilization_figure([result]), shots / "utilization.png")
    assert _red_pixels(shots / "gantt.png") > 200
    fig = gantt_figure([result])
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ok", "bad", "child"]  # the skipped set has its row
    texts = [t.get_text() for t in ax.texts]
    assert "never ran: 2 skipped" in texts and "1 (1 failed)" not in texts and "2 (2 failed)" in texts
    assert ax.get_title(loc="left").endswith(", 1 failed, 2 skipped")
