"""The HTML report of one or more runs, written into a folder:

    index.html        title, the results table, per run: how its tasks ended (per set: done, failed, skipped, cancelled,
                      not ended), the sets that never ran, the tasks that failed with their errors and log files, its
                      timeline (triggers, resizes, runs interrupted and resumed), task-set spans, summary JSON
    utilization.png   busy cores and GPUs over time, one panel per run (plots.utilization_figure)
    gantt.png         task sets over time, one panel per run (plots.gantt_figure)
    makespans.png     with repeated (Monte Carlo) runs: their makespans as a histogram (plots.makespan_histogram)
    carbon.png        with sites: carbon intensity per site over each run and the work placed there (carbon.py)

The page has inline CSS and no scripts or remote links: it needs nothing but the two PNGs beside it.
Every name from a workflow or platform is escaped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from hetflow.metrics.result import RunResult
from hetflow.report.plots import duration, gantt_figure, makespan_histogram, save_png, utilization_figure
from hetflow.report.table import (
    NUMERIC,
    OUTCOME_COLUMNS,
    OUTCOME_NUMERIC,
    outcome_rows,
    outcome_totals,
    result_columns,
    result_rows,
    title_of,
)

if TYPE_CHECKING:
    from hetflow.report.carbon import CarbonPanel

UTILIZATION_PNG = "utilization.png"
MAKESPANS_PNG = "makespans.png"
Repeats = tuple[Sequence[float], dict[str, float]]  # repeated runs' makespans, and lines to mark (label -> seconds)
GANTT_PNG = "gantt.png"
MAX_SPAN_ROWS = 2000  # per run; the rest of the sets are counted, not listed
OPEN_SPANS_UP_TO = 40  # span tables of runs with at most this many sets are shown unfolded
SHORT_RUN_S = 10.0  # spans of shorter runs are given to the millisecond

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; padding: 0 1rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; white-space: pre-line; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #eee; }
pre { background: #f7f7f7; padding: 0.6rem; overflow-x: auto; }
summary { cursor: pointer; margin: 0.3rem 0; }
p.bad { color: #b00020; font-weight: 600; }
p.good { color: #1b7a3a; }
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
    d = 1 if r.makespan_s >= SHORT_RUN_S else 3  # a short run's spans in ms
    header = ("set", "workload", "tasks", "start s", "end s", "span s")
    rows = [
        (
            s.set,
            workload_of.get(s.set, ""),
            str(s.tasks),
            f"{s.start:.{d}f}",
            f"{s.end:.{d}f}",
            f"{s.end - s.start:.{d}f}",
        )
        for s in spans[:MAX_SPAN_ROWS]
    ]
    more = f"<p>… and {len(spans) - MAX_SPAN_ROWS:,} more task sets.</p>" if len(spans) > MAX_SPAN_ROWS else ""
    unfold = " open" if len(spans) <= OPEN_SPANS_UP_TO else ""
    return (
        f"<details{unfold}><summary>Task sets: first start to last end ({len(spans):,})</summary>\n"
        f"{_table(header, rows, frozenset(header[2:]))}\n{more}</details>"
    )


def _timeline(r: RunResult) -> str:
    """The run's marks (numbered as on the plots: triggers, resizes, runs interrupted and resumed), if any."""
    marks = r.timeline()
    if not marks:
        return ""
    rows = [(str(k), f"{m.t:.3f}", m.kind, m.text) for k, m in enumerate(marks, start=1)]
    header = ("#", "time s", "event", "what")
    what = "triggers and resizes" if {m.kind for m in marks} <= {"trigger", "resize"} else "triggers, resizes and runs"
    return f"<details open><summary>Timeline: {what} ({len(marks)})</summary>\n" + (
        f"{_table(header, rows, frozenset(header[:2]))}</details>\n"
    )


def _status(r: RunResult) -> str:
    """One line: how the run's tasks ended, in red when not all are done."""
    totals = outcome_totals(r)
    text = ", ".join(f"{n:,} {name}" for name, n in totals.items() if n) or "no tasks"
    bad = any(n for name, n in totals.items() if name != "done")
    return f'<p class="{"bad" if bad else "good"}">Tasks: {escape(text)}</p>\n'


def _outcomes(r: RunResult) -> str:
    """Per set, its tasks by outcome, and the sets that never ran, when not every task is done."""
    rows = outcome_rows(r)
    if not rows:
        return ""
    ran = {s.set for s in r.spans()}
    never = [o for o in r.set_outcomes() if o.set not in ran and o.tasks]
    listed = "".join(
        f"<li>{escape(o.set)}: {o.tasks:,} tasks{f' ({escape(o.why)})' if o.why else ''}</li>" for o in never
    )
    skipped = f"<p>Task sets that never ran ({len(never)}):</p>\n<ul>{listed}</ul>\n" if never else ""
    return f"<h4>Tasks per set</h4>\n{_table(OUTCOME_COLUMNS, rows, OUTCOME_NUMERIC)}\n{skipped}"


def _problems(r: RunResult) -> str:
    """The tasks that failed or never ended, with their last error and their log files."""
    if not r.problems:
        return ""
    header = ("task", "status", "attempts", "error", "logs")
    rows = [(p.task_id, p.status, str(p.attempts), p.error, "\n".join(p.logs) or NO_LOGS) for p in r.problems]
    n = len(r.problems)
    return f"<h4>Errors ({n:,} task{'s' if n != 1 else ''})</h4>\n{_table(header, rows, frozenset({'attempts'}))}\n"


NO_LOGS = "(no log file)"


def _run_section(r: RunResult) -> str:
    summary = json.dumps(r.summary(), indent=2)
    return (
        f"<section>\n<h3>{escape(r.heading)} (makespan {duration(r.makespan_s)})</h3>\n{_status(r)}"
        f"{_outcomes(r)}{_problems(r)}{_timeline(r)}{_spans(r)}\n"
        f"<details><summary>Summary JSON</summary><pre>{escape(summary)}</pre></details>\n</section>"
    )


def write_report(
    results: Sequence[RunResult],
    out_dir: Path,
    repeats: Repeats | None = None,
    carbon: Sequence[CarbonPanel] | None = None,
) -> Path:
    """Write index.html, utilization.png and gantt.png into out_dir (created if missing); return index.html's path.
    repeats: the makespans of repeated runs (the results then show one of them) and lines to mark, drawn as
    makespans.png. carbon: per result, its sites' intensity and footprint, drawn as carbon.png with a table."""
    if not results:
        raise ValueError("nothing to report: no results")
    out_dir.mkdir(parents=True, exist_ok=True)
    spread = []
    if repeats is not None:
        save_png(makespan_histogram(*repeats, title_of(results)), out_dir / MAKESPANS_PNG)
        spread = ["<h2>Makespans</h2>", f'<img src="{MAKESPANS_PNG}" alt="histogram of the makespans of the runs">']
    save_png(utilization_figure(results), out_dir / UTILIZATION_PNG)
    save_png(gantt_figure(results), out_dir / GANTT_PNG)
    energy = []
    if carbon:
        from hetflow.report.carbon import CARBON_PNG, carbon_figure, carbon_section

        save_png(carbon_figure(carbon), out_dir / CARBON_PNG)
        energy = [carbon_section(carbon)]
    title = escape(f"hetflow report: {title_of(results)}")
    page = "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            f'<head>\n<meta charset="utf-8">\n<title>{title}</title>\n<style>{_CSS}</style>\n</head>',
            "<body>",
            f"<h1>{title}</h1>",
            "<h2>Runs</h2>",
            _table(result_columns(results), result_rows(results), NUMERIC),
            *spread,
            "<h2>Utilization</h2>",
            f'<img src="{UTILIZATION_PNG}" alt="busy cores and GPUs over time, one panel per run">',
            "<h2>Task sets</h2>",
            f'<img src="{GANTT_PNG}" alt="Gantt chart of the task sets, one panel per run">',
            *energy,
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
