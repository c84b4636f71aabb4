"""Plots draw any task name (CJK, emoji, symbols) without a warning about missing glyphs, and runs under a second
on a millisecond axis (not "0 s")."""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from matplotlib.figure import Figure

from hetflow.cli import main
from hetflow.journal import read_journal
from hetflow.metrics.journaled import journal_result
from hetflow.report import gantt_figure, utilization_figure, write_report
from hetflow.report.fonts import MISSING, coverage, drawable
from hetflow.report.plots import duration
from hetflow.sim.simulator import SimResult, run_simulation
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import TaskSet, Workflow

NAMES = ("数据准备", "🚀 launch", "naïve Ω→∞", "price $5$", "مرحبا")
PLATFORM = Platform("two", (NodeType("n", 1, 2),))


def _unicode_result(runtime: float = 2.0) -> SimResult:
    sets = tuple(
        TaskSet(name, 2, Resources.of(1), runtime, after=(NAMES[k - 1],) if k else ()) for k, name in enumerate(NAMES)
    )
    return run_simulation(Workflow("工作流 ✓", sets), PLATFORM, "task")


def test_any_name_renders_without_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    result = _unicode_result()
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG, logger="matplotlib"):
        warnings.simplefilter("always")
        write_report([result], tmp_path)
    assert [str(w.message) for w in caught] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    (ax,) = gantt_figure([result]).axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [drawable(n).replace("$", r"\$") for n in NAMES]
    assert all(ord(c) in coverage() for label in labels for c in label)  # every character has a glyph
    assert "launch" in labels[1] and "naïve Ω→∞" in labels[2]  # what a font has stays as it is


def test_a_character_no_font_has_becomes_a_box() -> None:
    assert drawable("plain ascii") == "plain ascii"
    assert drawable("Ω") == "Ω"  # in DejaVu Sans
    unseen = "\U000e01ef"  # a variation selector no text font draws
    assert drawable(f"a{unseen}b") == f"a{MISSING}b" and ord(MISSING) in coverage()


def test_the_console_shows_no_glyph_warning(tmp_path: Path) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text("workflow: 工作流\ntasks:\n" + "".join(f"  - {{name: '{n}', runtime: 1}}\n" for n in NAMES))
    (tmp_path / "p.yaml").write_text("platform: two\nnodes:\n  - {type: n, cores: 2}\n")
    code = "from hetflow.cli import main; main()"
    args = ["simulate", str(wf), "--platform", str(tmp_path / "p.yaml"), "--report", str(tmp_path / "out")]
    r = subprocess.run([sys.executable, "-W", "always", "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Glyph" not in r.stderr and "missing from font" not in r.stderr and r.stderr == ""


def test_durations_read_as_people_read_them() -> None:
    assert [duration(s) for s in (0.0123, 0.312, 3.254, 42.0, 1800.0)] == [
        "12.3 ms",
        "312 ms",
        "3.25 s",
        "42 s",
        "1,800 s",
    ]


def _ticks(fig: Figure) -> tuple[str, list[str], str]:
    """The time axis' label and tick labels, and the first panel's title, as drawn."""
    fig.draw_without_rendering()
    ax = fig.axes[-1]
    return ax.get_xlabel(), [t.get_text() for t in ax.get_xticklabels()], fig.axes[0].get_title(loc="left")


def test_a_sub_second_simulation_is_drawn_in_ms() -> None:
    fast = _unicode_result(runtime=0.04)  # five levels of 40 ms: 200 ms
    for fig in (gantt_figure([fast]), utilization_figure([fast])):
        label, ticks, title = _ticks(fig)
        assert label == "time (ms)" and "makespan 200 ms" in title
        assert "200" in ticks and "0.2" not in ticks
    slow = _unicode_result(runtime=2.0)
    label, ticks, title = _ticks(gantt_figure([slow]))
    assert label == "time (s)" and "makespan 10 s" in title and "10" in ticks


def test_a_real_sub_second_run_is_drawn_in_ms(tmp_path: Path) -> None:
    (tmp_path / "wf.yaml").write_text("workflow: quick\ntasks:\n  - {name: q, count: 4, command: 'sleep 0.05'}\n")
    (tmp_path / "p.yaml").write_text("platform: two\nnodes:\n  - {type: n, cores: 2}\n")
    journal = tmp_path / "j.db"
    r = CliRunner().invoke(
        main, ["run", str(tmp_path / "wf.yaml"), "--platform", str(tmp_path / "p.yaml"), "--journal", str(journal)]
    )
    assert r.exit_code == 0, r.output
    result = journal_result(read_journal(journal))
    assert 0.1 < result.makespan_s < 1.0
    label, ticks, title = _ticks(gantt_figure([result]))
    assert label == "time (ms)" and " ms" in title.split("makespan ")[1] and "0 s" not in title
    assert any(t not in ("", "0") for t in ticks) and all("." not in t for t in ticks if t)
