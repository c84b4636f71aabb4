"""Calibration: the overheads a real backend adds to the declared run times, fitted from the journals of its runs,
so that the simulator (run_simulation(..., calibration=)) predicts that backend's runs.

Three numbers, each the least-squares constant (the mean) over the tasks of the journals: a makespan adds these
costs up, so their mean predicts it where a median would miss the odd slow dispatch that every run has.
- launch_latency_s: what one launch holds its resources for beyond its task's own run. The journal records when the
  engine placed a task (its `started` event), when it began where it ran and when it ended there (the `done` event's
  t0 and t); latency = mean(begin - placed) over the tasks placed after the run's first begin (the first wave waits
  for the workers: that is startup) + mean(the gap between a task's end and the next placement on its node while
  tasks were waiting: the time the runtime takes to hear of an end and free the cores).
- task_overhead_s: mean(measured run - declared run time at the node's speed): the shell's or the function call's
  own cost, paid on the node.
- startup_s: median over runs of (the last begin of the first wave - first submission - launch_latency_s), the first
  wave being the tasks placed before any began: every worker starting, the first connections; the simulator starts
  no launch before it. (With tasks of a millisecond, the run is mostly this wait, and it varies from run to run.)
"""

from __future__ import annotations

import datetime
import json
import math
import os
import sqlite3
import statistics
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hetflow.errors import SpecError
from hetflow.journal import JournalView, read_journal
from hetflow.journal import store as J
from hetflow.spec.workflow import TaskSet

_FIELDS = ("startup_s", "launch_latency_s", "task_overhead_s")
_FIX = "write it with `hetflow calibrate JOURNAL... --out FILE`"


@dataclass(frozen=True)
class Calibration:
    """A backend's fitted overheads (seconds), and what they were fitted from."""

    backend: str
    startup_s: float
    launch_latency_s: float
    task_overhead_s: float
    tasks: int = 0  # the task attempts the fit used
    journals: tuple[str, ...] = ()
    fitted: str = ""  # when, ISO 8601 UTC

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["journals"] = list(self.journals)
        return out

    def line(self) -> str:
        """One line for a person: what the simulator adds."""
        return (
            f"calibration {self.backend}: startup {self.startup_s:.3g} s, launch latency "
            f"{self.launch_latency_s * 1e3:.3g} ms, task overhead {self.task_overhead_s * 1e3:.3g} ms "
            f"(fitted from {self.tasks} tasks)"
        )


@dataclass(frozen=True)
class _Attempt:
    node: str
    placed: float
    begin: float
    end: float
    declared: float
    released: float  # when its set's tasks became ready


def fit_calibration(journals: Sequence[str | os.PathLike[str]], backend: str = "local") -> Calibration:
    """Fit a backend's overheads from the journals of its real runs; SpecError when they record no finished task."""
    attempts: list[_Attempt] = []
    dispatch: list[float] = []
    gaps: list[float] = []
    startups: list[float] = []
    for path in journals:
        view = read_journal(path)
        for run_attempts, first_submit in _attempts(view):
            attempts += run_attempts
            if not run_attempts:
                continue
            first_begin = min(a.begin for a in run_attempts)
            dispatch += [a.begin - a.placed for a in run_attempts if a.placed > first_begin]
            gaps += _release_gaps(run_attempts)
            if first_submit is not None:
                up = max(a.begin for a in run_attempts if a.placed <= first_begin)  # every worker of the first wave
                startups.append(up - first_submit)
    if not attempts:
        raise SpecError(
            "the journals record no task that ran to its end, so there is nothing to fit",
            source=os.fspath(journals[0]) if journals else None,
            fix="give journals of runs whose tasks finished (hetflow run WF --journal FILE)",
        )
    latency = max(0.0, _mean(dispatch) + _mean(gaps))
    overhead = max(0.0, _mean([a.end - a.begin - a.declared for a in attempts]))
    startup = max(0.0, statistics.median(startups) - latency) if startups else 0.0
    when = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    names = tuple(os.fspath(p) for p in journals)
    return Calibration(backend, startup, latency, overhead, len(attempts), names, when)


def _mean(xs: Sequence[float]) -> float:
    return statistics.fmean(xs) if xs else 0.0


def _attempts(view: JournalView) -> list[tuple[list[_Attempt], float | None]]:
    """Per run of the journal: its attempts that ended (well or not) with a measured begin, and its first submission.
    The placement time is the `started` event's (JournalView keeps only the begin measured where a task ran)."""
    speeds = {n.name: n.speed for n in view.platform.nodes()}
    sets = {s.name: s for s in view.workflow.sets}
    uri = f"file:{os.fspath(view.path)}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            rows = conn.execute(
                'SELECT run, t, kind, "set", idx, node, attempt, t0, cores, gpu_units FROM events ORDER BY seq'
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise SpecError(f"cannot read its events ({exc})", source=os.fspath(view.path), fix="give a journal") from None
    runs: dict[int, list[_Attempt]] = defaultdict(list)
    first: dict[int, float] = {}
    released: dict[tuple[int, str], float] = {}
    placed: dict[tuple[int, str, int], tuple[float, int, int]] = {}
    for run, t, kind, name, idx, node, _, t0, cores, units in rows:
        if kind == J.SUBMITTED:
            first.setdefault(run, t)
        elif kind == J.RELEASED:
            released.setdefault((run, name), t)
        elif kind == J.STARTED:
            placed[run, name, idx] = (t, cores or 0, units or 0)
        elif kind in (J.DONE, J.ERROR) and t0 is not None and (run, name, idx) in placed and name in sets:
            at, cores, units = placed.pop((run, name, idx))
            declared = _declared(sets[name], cores, units) / speeds.get(node, 1.0)
            runs[run].append(_Attempt(node or "", at, t0, t, declared, released.get((run, name), at)))
    return [(runs[r.run], first.get(r.run)) for r in view.runs]


def _declared(s: TaskSet, cores: int, units: int) -> float:
    """The run time the set declares for the variant that ran (the one whose resources match what it was given)."""
    for v in s.all_variants:
        if v.resources.cores == cores and v.resources.gpu_units == units:
            return v.runtime
    return s.runtime


def _release_gaps(attempts: Sequence[_Attempt]) -> list[float]:
    """Per node, from a task's end to the placement there of a task that was waiting: the runtime hearing of the end
    and freeing its cores. Each placement takes the oldest end not yet taken; an end before the placed task's set
    was released freed cores nobody waited for, and is dropped."""
    by_node: dict[str, list[_Attempt]] = defaultdict(list)
    for a in attempts:
        by_node[a.node].append(a)
    gaps: list[float] = []
    for tasks in by_node.values():
        ends = deque(sorted(a.end for a in tasks))
        for a in sorted(tasks, key=lambda x: x.placed):
            while ends and ends[0] < a.released:
                ends.popleft()
            if ends and ends[0] <= a.placed:
                gaps.append(a.placed - ends.popleft())
    return gaps


def save_calibration(cal: Calibration, path: str | os.PathLike[str]) -> None:
    """Write a calibration file: YAML when its name ends in .yaml or .yml, else JSON."""
    p = Path(path)
    if p.suffix in (".yaml", ".yml"):
        import yaml

        p.write_text(yaml.safe_dump(cal.as_dict(), sort_keys=False))
    else:
        p.write_text(json.dumps(cal.as_dict(), indent=2) + "\n")


def load_calibration(path: str | os.PathLike[str]) -> Calibration:
    """Read a calibration file (JSON or YAML); SpecError naming the field and the fix when it is not one."""
    import yaml

    source = os.fspath(path)
    try:
        data = yaml.safe_load(Path(source).read_text())
    except OSError as exc:
        raise SpecError(f"cannot read it ({exc.strerror})", source=source, fix="check the path") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"not JSON or YAML ({exc})", source=source, fix=_FIX) from None
    if not isinstance(data, dict):
        raise SpecError("a calibration is a mapping", source=source, fix=_FIX)
    values: dict[str, float] = {}
    for key in _FIELDS:
        v = data.get(key)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
            raise SpecError(f"{key} must be seconds >= 0, not {v!r}", source=source, place=key, fix=_FIX)
        values[key] = float(v)
    journals = data.get("journals") or []
    return Calibration(
        str(data.get("backend", "?")),
        values["startup_s"],
        values["launch_latency_s"],
        values["task_overhead_s"],
        int(data.get("tasks") or 0),
        tuple(str(j) for j in journals) if isinstance(journals, list) else (),
        str(data.get("fitted", "")),
    )
