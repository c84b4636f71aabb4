"""The results table: one row per run (mode and policy), for the terminal and for the HTML report; and, for a run
whose tasks did not all end well, the outcome table: per set, how many tasks were done, failed, skipped, cancelled."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import replace

from rich.console import Console
from rich.table import Table

from hetflow.metrics.outcomes import STATUSES, SetOutcome, outcomes_from_intervals
from hetflow.metrics.result import RunResult, asynchronicity_gain

LABEL = "run"
GAIN = "gain vs sync"
COLUMNS: tuple[str, ...] = (
    LABEL,
    "workflow",
    "platform",
    "mode",
    "policy",
    "makespan s",
    "lower bound s",
    "CPU %",
    "GPU %",
    "tasks",
    GAIN,
)
NUMERIC = frozenset(COLUMNS[5:])
NO_VALUE = "—"
OUTCOME_COLUMNS: tuple[str, ...] = ("set", "tasks", *STATUSES, "why")
OUTCOME_NUMERIC = frozenset(OUTCOME_COLUMNS[1:-1])
MAX_OUTCOME_ROWS = 40  # above this many sets, the outcome table lists only the sets not all done


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


def result_columns(results: Sequence[RunResult]) -> tuple[str, ...]:
    """The columns the results need: "run" only when some result has a label, "gain vs sync" only when some result
    has a sync run of the same workflow, platform and policy to be compared with (other than itself)."""
    gain = any(_sync_of(r, results) not in (None, r) for r in results)
    label = any(r.label for r in results)
    return tuple(c for c in COLUMNS if (c != GAIN or gain) and (c != LABEL or label))


def result_rows(results: Sequence[RunResult]) -> list[tuple[str, ...]]:
    """The cells of the table, formatted, one tuple per result in `result_columns(results)` order.

    The gain is `asynchronicity_gain` against the sync run of the same policy; NO_VALUE for that sync run
    itself and for runs without one.
    """
    columns = result_columns(results)
    rows: list[tuple[str, ...]] = []
    for r in results:
        sync = _sync_of(r, results)
        gain = NO_VALUE if sync is None or sync is r else f"{asynchronicity_gain(r, sync) * 100:.1f}%"
        cells = dict(
            zip(
                COLUMNS,
                (
                    r.label,
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
                ),
                strict=True,
            )
        )
        rows.append(tuple(cells[c] for c in columns))
    return rows


def with_skipped(result: RunResult, skipped: Iterable[tuple[str, int, str]]) -> RunResult:
    """The result with its sets' outcomes worked out knowing which tasks were skipped ((set, count, why), as
    `WorkflowRun.skipped` lists them), so a run's own table tells skipped tasks from those that never ended."""
    return replace(result, outcomes=outcomes_from_intervals(result.workflow, result.intervals, skipped))


def outcome_rows(result: RunResult) -> list[tuple[str, ...]]:
    """Per set, its tasks by outcome (STATUSES), in OUTCOME_COLUMNS order; only the sets not all done when there
    are more than MAX_OUTCOME_ROWS sets. Empty when every task of the run is done."""
    outcomes = result.set_outcomes()
    if all(o.ok for o in outcomes):
        return []
    shown = outcomes if len(outcomes) <= MAX_OUTCOME_ROWS else [o for o in outcomes if not o.ok]
    return [_outcome_row(o) for o in shown]


def _outcome_row(o: SetOutcome) -> tuple[str, ...]:
    return (o.set, f"{o.tasks:,}", *(f"{n:,}" if n else "" for n in o.counts()), o.why)


def outcome_totals(result: RunResult) -> dict[str, int]:
    """Tasks of the whole run by outcome, in STATUSES order (zeros included)."""
    totals = dict.fromkeys(STATUSES, 0)
    for o in result.set_outcomes():
        for name, n in zip(STATUSES, o.counts(), strict=True):
            totals[name] += n
    return totals


def results_table(results: Sequence[RunResult]) -> Table:
    """A rich Table of the results."""
    table = Table(title=title_of(results), header_style="bold")
    for name in result_columns(results):
        table.add_column(name, justify="right" if name in NUMERIC else "left", no_wrap=True)
    for row in result_rows(results):
        table.add_row(*row)
    return table


def outcomes_table(result: RunResult) -> Table | None:
    """A rich Table of what became of the tasks of each set; None when every task is done."""
    rows = outcome_rows(result)
    if not rows:
        return None
    totals = ", ".join(f"{n:,} {name}" for name, n in outcome_totals(result).items() if n)
    table = Table(title=f"Tasks per set, {result.heading}: {totals}", header_style="bold")
    for name in OUTCOME_COLUMNS:
        table.add_column(name, justify="right" if name in OUTCOME_NUMERIC else "left", no_wrap=name != "why")
    for row in rows:
        table.add_row(*row)
    return table


def print_table(results: Sequence[RunResult], console: Console) -> None:
    """Print the results table on the caller's console, then for each run whose tasks did not all end well, its
    tasks per set by outcome."""
    console.print(results_table(results))
    for r in results:
        outcomes = outcomes_table(r)
        if outcomes is not None:
            console.print(outcomes)


def table_text(results: Sequence[RunResult], width: int = 200) -> str:
    """The results table as plain text (no colour, no wrapping up to `width` characters)."""
    buffer = io.StringIO()
    print_table(results, Console(file=buffer, width=width, color_system=None, force_terminal=False))
    return buffer.getvalue()
