"""The result of a run, simulated or real: makespan, bounds, utilization and per-set spans."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from hetflow.metrics.outcomes import SetOutcome, TaskProblem, outcomes_from_intervals
from hetflow.metrics.utilization import StepSeries, busy_series, utilization
from hetflow.spec.data import Transfer
from hetflow.spec.platform import Platform
from hetflow.spec.trace import Interval, Mark, task_rows
from hetflow.spec.workflow import Workflow


@dataclass(frozen=True)
class SetSpan:
    """When the tasks of one set ran: first start, last end, how many ran."""

    set: str
    start: float
    end: float
    tasks: int  # attempts that ran to an end, failed ones included
    failed: int = 0  # attempts that failed


@dataclass
class RunResult:
    """Everything a person looks at after a run. `intervals` are the per-launch (or per-task) records."""

    workflow: Workflow
    platform: Platform
    mode: str
    policy: str
    intervals: list[Interval] = field(repr=False)
    source: str = "simulation"  # or "real"
    origin: float = 0.0  # time the run started, on the clock of the intervals
    marks: list[Mark] = field(default_factory=list, repr=False)  # triggers fired, partitions resized, runs resumed
    label: str = ""  # what the run stands for in headings (e.g. a strategy's name); else its mode and policy
    outcomes: list[SetOutcome] | None = field(default=None, repr=False)  # per set, from a journal; None: derived
    problems: list[TaskProblem] = field(default_factory=list, repr=False)  # tasks that went wrong (from a journal)
    transfers: list[Transfer] = field(default_factory=list, repr=False)  # data moved between sites (spec/data.py)

    @property
    def heading(self) -> str:
        """How the run is named in headings and panel titles."""
        what = f"{self.mode} mode, {self.policy} policy"
        return f"{self.label} ({what})" if self.label else what

    def set_outcomes(self) -> list[SetOutcome]:
        """Per set: done, failed, skipped, cancelled, not ended (from the journal when the result has one)."""
        return self.outcomes if self.outcomes is not None else self._derived_outcomes

    @cached_property
    def _derived_outcomes(self) -> list[SetOutcome]:
        """From the intervals, worked out once: a report asks in several places, and a run may have millions."""
        return outcomes_from_intervals(self.workflow, self.intervals)

    @property
    def makespan_s(self) -> float:
        return max((iv.end for iv in self.intervals), default=self.origin) - self.origin

    @property
    def lower_bound_s(self) -> float:
        return self.platform.lower_bound(self.workflow)

    @property
    def cpu_utilization(self) -> float:
        return self.busy_fractions(self.makespan_s)[0]

    @property
    def gpu_utilization(self) -> float:
        return self.busy_fractions(self.makespan_s)[1]

    def busy_fractions(self, makespan: float) -> tuple[float, float]:
        """The mean fractions of the platform's cores and of its GPUs busy over [0, makespan]."""
        shifted = self._shifted()
        return (
            utilization(shifted, self.platform.cores, makespan),
            utilization(shifted, self.platform.gpus, makespan, gpus=True),
        )

    @property
    def tasks(self) -> int:
        return sum(iv.n for iv in self.intervals if iv.status == "done")

    def _shifted(self) -> list[Interval]:
        if not self.origin:
            return self.intervals
        o = self.origin
        return [replace(iv, start=iv.start - o, end=iv.end - o) for iv in self.intervals]

    def timeline(self) -> list[Mark]:
        """The run's marks (triggers fired, partitions resized), in seconds since it started, in time order."""
        o = self.origin
        return sorted((Mark(m.t - o, m.kind, m.text) for m in self.marks), key=lambda m: m.t)

    def cores_busy(self) -> StepSeries:
        return busy_series(self._shifted())

    def gpus_busy(self) -> StepSeries:
        return busy_series(self._shifted(), gpus=True)

    def spans(self) -> list[SetSpan]:
        """Per set, in declaration order: first start, last end, tasks run."""
        acc: dict[str, list[float]] = {}
        for iv in self._shifted():
            a = acc.setdefault(iv.set, [iv.start, iv.end, 0, 0])
            a[0] = min(a[0], iv.start)
            a[1] = max(a[1], iv.end)
            a[2] += iv.n
            if iv.status != "done":
                a[3] += iv.n
        order = [s.name for s in self.workflow.sets if s.name in acc] + [k for k in acc if k not in self.workflow]
        return [SetSpan(k, acc[k][0], acc[k][1], int(acc[k][2]), int(acc[k][3])) for k in order]

    def failed_attempts(self) -> list[Interval]:
        """Every attempt that ended in an error (retried or not), in seconds since the run started."""
        o = self.origin
        return [replace(iv, start=iv.start - o, end=iv.end - o) for iv in self.intervals if iv.status != "done"]

    def task_records(self) -> Iterator[dict[str, Any]]:
        counts = {s.name: s.count for s in self.workflow.sets}
        return task_rows(self._shifted(), counts)

    def summary(self) -> dict[str, Any]:
        """The --json object of DESIGN.md (the makespan worked out once: it is a pass over every interval)."""
        makespan = self.makespan_s
        cpu, gpu = self.busy_fractions(makespan)
        return {
            "workflow": self.workflow.name,
            "platform": self.platform.name,
            "mode": self.mode,
            "policy": self.policy,
            "source": self.source,
            "makespan_s": round(makespan, 6),
            "lower_bound_s": round(self.lower_bound_s, 6),
            "cpu_utilization": round(cpu, 6),
            "gpu_utilization": round(gpu, 6),
            "tasks": self.tasks,
        } | ({"transfers": self.transfer_records()} if self.transfers else {})

    def transfer_records(self) -> list[dict[str, Any]]:
        """The transfers, in seconds since the run started: from set and site, to set and site, bytes, start, end."""
        o = self.origin
        return [
            {
                "from_set": t.src_set,
                "from_site": t.src_site,
                "to_set": t.dst_set,
                "to_site": t.dst_site,
                "bytes": t.size,
                "start": round(t.start - o, 6),
                "end": round(t.end - o, 6),
            }
            for t in self.transfers
        ]


def asynchronicity_gain(result: RunResult, sync: RunResult) -> float:
    """Fraction of the synchronous makespan that a more asynchronous mode saves (0.15 = 15% shorter)."""
    if sync.makespan_s <= 0:
        return 0.0
    return 1.0 - result.makespan_s / sync.makespan_s
