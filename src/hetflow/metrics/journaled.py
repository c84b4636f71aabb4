"""A real run read back from its journal as a RunResult, with what became of every task and where its logs are."""

from __future__ import annotations

from hetflow.journal.read import PENDING, UNFINISHED, JournalView
from hetflow.metrics.outcomes import SetOutcome, TaskProblem
from hetflow.metrics.result import RunResult

MAX_PROBLEMS = 500  # a report lists this many tasks that went wrong, and counts the rest

_COLUMN = {"done": "done", "failed": "failed", "skipped": "skipped", "cancelled": "cancelled"}


def _why(error: str | None) -> str:
    """A skip's reason without the count the journal puts first ("3: parent failed" -> "parent failed")."""
    head, sep, rest = (error or "").partition(": ")
    return rest if sep and head.isdigit() else (error or "")


def journal_outcomes(view: JournalView) -> list[SetOutcome]:
    """Per set, in declaration order, its tasks by status; unfinished and pending tasks count as not ended."""
    by_set = view.set_counts()
    why: dict[str, str] = {}
    for r in view.records:
        if r.status in ("skipped", "cancelled") and r.error and r.set not in why:
            why[r.set] = _why(r.error)
    out = []
    for s in view.workflow.sets:
        c = by_set.get(s.name, {})
        not_ended = c.get(PENDING, 0) + c.get(UNFINISHED, 0)
        known = {field: c.get(status, 0) for status, field in _COLUMN.items()}
        out.append(SetOutcome(s.name, s.count, **known, not_ended=not_ended, why=why.get(s.name, "")))
    return out


def journal_problems(view: JournalView, limit: int = MAX_PROBLEMS) -> list[TaskProblem]:
    """The tasks that failed or never ended (started, and the record stops), with their errors and log files."""
    out: list[TaskProblem] = []
    for r in view.records:
        if r.status not in ("failed", UNFINISHED):
            continue
        logs = tuple(p for entry in view.logs(r) for p in (entry["stdout"], entry["stderr"]) if p is not None)
        error = r.error or ("started; the record stops before its end" if r.status == UNFINISHED else "")
        out.append(TaskProblem(r.task_id, r.set, r.status, r.attempts, error, logs))
        if len(out) >= limit:
            break
    return out


def journal_result(view: JournalView, label: str = "") -> RunResult:
    """The run a journal records as a RunResult (source "real"), with per-set outcomes, the tasks that went wrong,
    and marks for triggers, resizes and where one run stopped and the next began."""
    return RunResult(
        view.workflow,
        view.platform,
        view.mode,
        view.policy,
        view.intervals(),
        source="real",
        origin=view.origin,
        marks=[*view.marks, *view.run_marks()],
        label=label,
        outcomes=journal_outcomes(view),
        problems=journal_problems(view),
        transfers=list(view.transfers),
    )
