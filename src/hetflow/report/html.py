"""The HTML report of one or more runs, written into a folder:

    index.html        title, the results table, per run its task-set spans and its summary JSON, and the two plots
    utilization.png   busy cores and GPUs over time, one panel per run (plots.utilization_figure)
    gantt.png         task sets over time, one panel per run (plots.gantt_figure)

The page has inline CSS and no scripts or remote links: it needs nothing but the two PNGs beside it.
Every name from a workflow or platform is escaped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from pathlib import Path

from hetflow.metrics.result import RunResult
from hetflow.report.plots import gantt_figure, save_png, utilization_figure
from hetflow.report.table import COLUMNS, NUMERIC, result_rows, title_of

UTILIZATION_PNG = "utilization.png"
GANTT_PNG = "gantt.png"
MAX_SPAN_ROWS = 2000  # per run; the rest of the sets are counted, not listed
OPEN_SPANS_UP_TO = 40  # span tables of runs with at most this many sets are shown unfolded

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; padding: 0 1rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #eee; }
pre { background: #f7f7f7; padding: 0.6rem; overflow-x: auto; }
summary { cursor: pointer; margin: 0.3rem 0; }
"""


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: frozenset[str]) -> str:
    def cell(tag: str, name: str, text: str) -> str:
        cls = ' class="num"' if name in numeric else ""
        return f"<{tag}{cls}>{escape(text)}</{tag}>"

    head = "".join(cell("th", h, h) for h in header)
    body = "\n".join(
        "<tr>" + "".join(cell("td", h, v) for h, v in zip(header, row, strict=True)) + "</tr>" for row in rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _spans(r: RunResult) -> str:
    spans = r.spans()
    workload_of = r.workflow.analysis.workload_of
    header = ("set", "workload", "tasks", "start s", "end s", "span s")
    rows = [
        (s.set, workload_of.get(s.set, ""), str(s.tasks), f"{s.start:.1f}", f"{s.end:.1f}", f"{s.end - s.start:.1f}")
        for s in spans[:MAX_SPAN_ROWS]
    ]
    more = f"<p>… and {len(spans) - MAX_SPAN_ROWS:,} more task sets.</p>" if len(spans) > MAX_SPAN_ROWS else ""
    unfold = " open" if len(spans) <= OPEN_SPANS_UP_TO else ""
    return (
        f"<details{unfold}><summary>Task sets: first start to last end ({len(spans):,})</summary>\n"
        f"{_table(header, rows, frozenset(header[2:]))}\n{more}</details>"
    )


def _timeline(r: RunResult) -> str:
    """The run's adaptive events (numbered as on the plots), when it has any."""
    marks = r.timeline()
    if not marks:
        return ""
    rows = [(str(k), f"{m.t:.2f}", m.kind, m.text) for k, m in enumerate(marks, start=1)]
    header = ("#", "time s", "event", "what")
    return f"<details open><summary>Timeline: triggers and resizes ({len(marks)})</summary>\n" + (
        f"{_table(header, rows, frozenset(header[:2]))}</details>\n"
    )


def _run_section(r: RunResult) -> str:
    summary = json.dumps(r.summary(), indent=2)
    return (
        f"<section>\n<h3>{escape(r.mode)} mode, {escape(r.policy)} policy"
        f" (makespan {r.makespan_s:.1f} s)</h3>\n{_timeline(r)}{_spans(r)}\n"
        f"<details><summary>Summary JSON</summary><pre>{escape(summary)}</pre></details>\n</section>"
    )


def write_report(results: Sequence[RunResult], out_dir: Path) -> Path:
    """Write index.html, utilization.png and gantt.png into out_dir (created if missing); return index.html's path."""
    if not results:
        raise ValueError("nothing to report: no results")
    out_dir.mkdir(parents=True, exist_ok=True)
    save_png(utilization_figure(results), out_dir / UTILIZATION_PNG)
    save_png(gantt_figure(results), out_dir / GANTT_PNG)
    title = escape(f"hetflow report: {title_of(results)}")
    page = "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            f'<head>\n<meta charset="utf-8">\n<title>{title}</title>\n<style>{_CSS}</style>\n</head>',
            "<body>",
            f"<h1>{title}</h1>",
            "<h2>Runs</h2>",
            _table(COLUMNS, result_rows(results), NUMERIC),
            "<h2>Utilization</h2>",
            f'<img src="{UTILIZATION_PNG}" alt="busy cores and GPUs over time, one panel per run">',
            "<h2>Task sets</h2>",
            f'<img src="{GANTT_PNG}" alt="Gantt chart of the task sets, one panel per run">',
            "<h2>Details per run</h2>",
            *(_run_section(r) for r in results),
            "</body>",
            "</html>",
            "",
        ]
    )
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
