"""The journal of real runs: an append-only SQLite file of every transition, the workflow, platform and results."""

from hetflow.journal.read import JournalView, RunInfo, TaskRecord, read_journal
from hetflow.journal.store import Journal, has_runs, record_transfers, results_dir

__all__ = [
    "Journal",
    "JournalView",
    "RunInfo",
    "TaskRecord",
    "has_runs",
    "read_journal",
    "record_transfers",
    "results_dir",
]
