"""The results table: one row per run (mode and policy), for the terminal and for the HTML report."""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from hetflow.metrics.result import RunResult, asynchronicity_gain

COLUMNS: tuple[str, ...] = (
    "workflow",
    "platform",
    "mode",
    "policy",
    "makespan s",
    "lower bound s",
    "CPU %",
    "GPU %",
    "tasks",
    "gain vs sync",
)
NUMERIC = frozenset(COLUMNS[4:])
NO_VALUE = "—"


def title_of(results: Sequence[RunResult]) -> str:
    """What the results are about: "WORKFLOW on PLATFORM" when they share both, else a generic title."""
    subjects = {(r.workflow.name, r.platform.name) for r in results}
    if len(subjects) == 1:
        workflow, platform = subjects.pop()
        return f"{workflow} on {platform}"
    return "hetflow runs"


def _sync_of(result: RunResult, results: Sequence[RunResult]) -> RunResult | None:
    """The first `sync` run of the same workflow, platform and policy, if the list holds one."""
    key = (result.workflow.name, result.platform.name, result.policy)
    return next(
        (r for r in results if r.mode == "sync" and (r.workflow.name, r.platform.name, r.policy) == key),
        None,
    )


def result_rows(results: Sequence[RunResult]) -> list[tuple[str, ...]]:
    """The cells of the table, formatted, one tuple per result in COLUMNS order.

    The gain is `asynchronicity_gain` against the sync run of the same policy; NO_VALUE for that sync run
    itself and when the list holds none.
    """
    rows: list[tuple[str, ...]] = []
    for r in results:
        sync = _sync_of(r, results)
        gain = NO_VALUE if sync is None or sync is r else f"{asynchronicity_gain(r, sync) * 100:.1f}%"
        rows.append(
            (
                r.workflow.name,
                r.platform.name,
                r.mode,
                r.policy,
                f"{r.makespan_s:.1f}",
                f"{r.lower_bound_s:.1f}",
                f"{r.cpu_utilization * 100:.1f}",
                f"{r.gpu_utilization * 100:.1f}",
                str(r.tasks),
                gain,
            )
        )
    return rows


def results_table(results: Sequence[RunResult]) -> Table:
    """A rich Table of the results."""
    table = Table(title=title_of(results), header_style="bold")
    for name in COLUMNS:
        table.add_column(name, justify="right" if name in NUMERIC else "left", no_wrap=True)
    for row in result_rows(results):
        table.add_row(*row)
    return table


def print_table(results: Sequence[RunResult], console: Console) -> None:
    """Print the results table on the caller's console."""
    console.print(results_table(results))


def table_text(results: Sequence[RunResult], width: int = 200) -> str:
    """The results table as plain text (no colour, no wrapping up to `width` characters)."""
    buffer = io.StringIO()
    print_table(results, Console(file=buffer, width=width, color_system=None, force_terminal=False))
    return buffer.getvalue()
