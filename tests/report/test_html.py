"""The HTML report: index.html beside two valid PNGs, the results' numbers and summaries, every name escaped."""

from __future__ import annotations

import html
import json
import re
import struct
from pathlib import Path

from matplotlib.image import imread

from hetflow.report import write_report
from hetflow.report.html import GANTT_PNG, MAX_SPAN_ROWS, UTILIZATION_PNG
from hetflow.sim.simulator import SimResult, run_simulation
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import TaskSet, Workflow

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the PNG header, after checking the signature."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def _summaries(page: str) -> list[dict[str, object]]:
    blocks = re.findall(r"<details><summary>Summary JSON</summary><pre>(.*?)</pre></details>", page, re.S)
    return [json.loads(html.unescape(b)) for b in blocks]


def test_report_writes_index_and_valid_pngs(seed_results: list[SimResult], tmp_path: Path) -> None:
    out = tmp_path / "nested" / "report"
    index = write_report(seed_results, out)
    assert index == out / "index.html"
    page = index.read_text(encoding="utf-8")
    for name in (UTILIZATION_PNG, GANTT_PNG):
        png = out / name
        width, height = _png_size(png)
        assert 800 <= width <= 2000 and 400 <= height <= 3000
        pixels = imread(png)
        assert pixels.shape[:2] == (height, width)
        assert pixels.std() > 0.05  # a picture, not a blank canvas
        assert f'<img src="{name}"' in page
    assert sorted(p.name for p in out.iterdir()) == sorted(["index.html", UTILIZATION_PNG, GANTT_PNG])
    assert "<title>hetflow report: arbitrary on summit-30</title>" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page


def test_report_holds_the_numbers_and_summaries(seed_results: list[SimResult], tmp_path: Path) -> None:
    page = write_report(seed_results, tmp_path).read_text(encoding="utf-8")
    for makespan in ("2000.0", "1800.0", "1700.0"):
        assert f'<td class="num">{makespan}</td>' in page
    assert '<td class="num">10.0%</td>' in page and '<td class="num">15.0%</td>' in page
    assert _summaries(page) == [r.summary() for r in seed_results]
    r = seed_results[0]
    for span in r.spans():  # the per-set table of the sync run
        row = (
            f"<tr><td>{span.set}</td><td>{r.workflow.analysis.workload_of[span.set]}</td>"
            f'<td class="num">{span.tasks}</td><td class="num">{span.start:.1f}</td>'
        )
        assert row in page


def test_report_escapes_every_name(tmp_path: Path) -> None:
    evil = '<script>alert("x")</script> & $^$'
    sets = (
        TaskSet("<b>first</b>", 3, Resources.of(2), 10.0, workload="w<1>"),
        TaskSet("a&b $x$", 2, Resources.of(1, 0.5), 5.0, after=("<b>first</b>",)),
    )
    platform = Platform('"node" <i>', (NodeType("t<y>pe", 1, 4, 10_000),))
    result = run_simulation(Workflow(evil, sets), platform, "task", "fifo")
    page = write_report([result], tmp_path).read_text(encoding="utf-8")
    for raw in ("<script>", "<b>first</b>", "w<1>", '"node" <i>'):
        assert raw not in page
    for name in (evil, "<b>first</b>", "a&b $x$", "w<1>", '"node" <i>'):
        assert html.escape(name) in page
    assert _summaries(page) == [result.summary()]
    for png in (UTILIZATION_PNG, GANTT_PNG):
        assert _png_size(tmp_path / png)[0] > 0  # dollar signs did not break the drawing


def test_report_of_many_sets_lists_the_first_and_counts_the_rest(many_sets_result: SimResult, tmp_path: Path) -> None:
    page = write_report([many_sets_result], tmp_path).read_text(encoding="utf-8")
    assert "<details><summary>Task sets: first start to last end (6,000)</summary>" in page  # folded
    assert page.count("<tr><td>s") == MAX_SPAN_ROWS
    assert f"… and {6000 - MAX_SPAN_ROWS:,} more task sets." in page
