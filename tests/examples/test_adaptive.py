"""The adaptive example (examples/adaptive): design 1 finishes sooner than the baseline, design 2 doubles its results in
about its time, each trigger fires once; in simulation at scale and for real at small scale."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from examples.adaptive.model import SIM, STRATEGIES, summary
from examples.adaptive.run import main, simulate
from matplotlib.colors import to_hex

from hetflow.journal import read_journal
from hetflow.report import gantt_figure
from hetflow.report.plots import mark_levels, workload_colors

ROOT = Path(__file__).resolve().parents[2]
FIRED = {
    "baseline": ["uq fully satisfied"],
    "design1": ["pretrained", "uq fully satisfied", "uq partly satisfied"],
    "design2": ["uq fully satisfied", "uq partly satisfied"],
}


def fired(events: Sequence[Mapping[str, Any]]) -> list[str]:
    return sorted(e["text"].split(":")[0] for e in events if e["kind"] == "trigger")


def check_claims(rows: list[dict[str, Any]]) -> None:
    by = {r["strategy"]: r for r in rows}
    assert list(by) == list(STRATEGIES)
    base, d1, d2 = by["baseline"], by["design1"], by["design2"]
    assert base["results"] > 0 and d1["results"] == base["results"]
    assert d1["makespan_s"] < 0.95 * base["makespan_s"]
    assert d2["results"] >= 1.8 * base["results"]
    assert d2["makespan_s"] <= 1.2 * base["makespan_s"]
    for r in rows:
        assert fired(r["events"]) == FIRED[r["strategy"]]
        assert 0 < r["cpu_utilization"] <= 1 and 0 < r["gpu_utilization"] <= 1


@pytest.fixture(scope="module")
def simulated() -> dict[str, Any]:
    return {s: simulate(s) for s in STRATEGIES}


def test_simulation_at_scale_shows_both_designs_claims(simulated: dict[str, Any]) -> None:
    rows = [summary(s, r) for s, r in simulated.items()]
    check_claims(rows)
    assert all(r["platform"] == "summit-256" and r["tasks"] >= 10_000 for r in rows)
    assert SIM.nodes == 256


def test_design1_pretrains_on_the_gpus_dft_leaves_idle(simulated: dict[str, Any]) -> None:
    def span(strategy: str, name: str) -> tuple[float, float]:
        (s,) = [s for s in simulated[strategy].spans() if s.set == name]
        return s.start, s.end

    dft_end = span("design1", "dft")[1]
    assert span("design1", "A-pretrain")[0] < dft_end  # during UQ, in design 1 ...
    assert span("baseline", "A-pretrain")[0] >= span("baseline", "dft")[1]  # ... after it in the baseline
    assert span("design2", "B-pretrain")[0] < span("design2", "dft")[1] <= span("design2", "A-pretrain")[0]


def test_cli_prints_json_and_a_report_with_the_triggers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "--report", str(tmp_path / "report")]) == 0
    check_claims(json.loads(capsys.readouterr().out))
    page = (tmp_path / "report" / "index.html").read_text()
    assert "uq partly satisfied" in page and "uq fully satisfied" in page


@pytest.mark.slow
def test_real_run_on_this_machine_shows_the_same(tmp_path: Path) -> None:
    journals = tmp_path / "journals"
    out = subprocess.run(
        [sys.executable, "examples/adaptive/run.py", "--real", "--json", "--journal", str(journals)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = json.loads(out.stdout)
    check_claims(rows)
    assert all(r["source"] == "real" for r in rows)
    for strategy in STRATEGIES:
        marks = read_journal(journals / f"{strategy}.db").marks
        kinds = Counter(m.kind for m in marks)
        assert kinds["trigger"] == len(FIRED[strategy]) and kinds["resize"] >= 1


def test_the_report_names_strategies_keeps_workload_colours_and_describes_triggers(
    simulated: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--report", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    for action in ("uq fully satisfied: resized uq to 0% of cores", "submitted 14 task sets (5824 tasks)"):
        assert action in " ".join(printed.split())  # what each trigger did, not only its name
    page = (tmp_path / "index.html").read_text()
    for strategy in STRATEGIES:
        assert f"<h3>{strategy} (task mode, fifo policy)" in page and f"<td>{strategy}</td>" in page
    assert "gain vs sync" not in page  # no sync run of these workflows to compare with

    runs = [replace(simulated[s], label=s) for s in STRATEGIES]
    colors = workload_colors(runs)
    assert list(colors) == ["UQ", "DDMD A", "DDMD B"]  # named after the sets, the same in every panel
    fig = gantt_figure(runs)
    for ax, r in zip(fig.axes, runs, strict=True):
        assert ax.get_title(loc="left").startswith(f"{r.label} (task mode, fifo policy)")
        bars = ax.collections[0].get_facecolors()
        for span, face in zip(r.spans(), bars, strict=True):
            want = colors["UQ" if span.set == "dft" else f"DDMD {span.set[0]}"]
            assert to_hex(face) == want, (r.label, span.set)


def test_marks_at_the_same_time_are_numbered_on_rows_of_their_own(simulated: dict[str, Any]) -> None:
    assert mark_levels([0.0, 500.0, 500.0, 1500.0, 1500.0, 1501.0, 3000.0], 6000.0) == [0, 0, 1, 0, 1, 2, 0]
    r = simulated["design2"]  # a resize and a trigger at 500 s, and again at 1500 s
    fig = gantt_figure([r])
    numbers = [t for t in fig.axes[0].texts if t.get_text() in {"1", "2", "3", "4"} and t.get_color() != "black"]
    offsets = {(t.get_text(), t.xyann[1]) for t in numbers}  # type: ignore[attr-defined]
    assert offsets == {("1", -2), ("2", -11), ("3", -2), ("4", -11)}
