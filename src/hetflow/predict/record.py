"""Feeding the history store: the done tasks of a real run's journal, and the task records of a WfFormat trace."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hetflow.journal import read_journal
from hetflow.predict.history import Attempt, HistoryStore, set_key
from hetflow.spec.load import read_document
from hetflow.spec.resources import GPU_UNIT
from hetflow.spec.wfformat import platform_from_wfformat, workflow_from_wfformat
from hetflow.spec.workflow import TaskSet


def input_bytes(s: TaskSet) -> float | None:
    """The bytes a task set reads, from the input files it declares; None when it declares none."""
    sizes = [f.size for f in s.files if f.link == "input"]
    return float(sum(sizes)) if sizes else None


def record_journal(store: HistoryStore, journal: str | os.PathLike[str]) -> int:
    """Store every task of the journal that ended done (its last, successful attempt); how many were new."""
    view = read_journal(journal)
    nodes = {n.name: n for n in view.platform.nodes()}
    wf, source = view.workflow, str(Path(journal).resolve())
    out: list[Attempt] = []
    for r in view.records:
        if r.status != "done" or r.start is None or r.end is None or r.set not in wf:
            continue
        node = nodes.get(r.node or "")
        s = wf[r.set]
        out.append(
            Attempt(
                set_key(r.set),
                wf.name,
                r.cores,
                r.gpu_units / GPU_UNIT,
                node.type if node else None,
                node.speed if node else 1.0,
                input_bytes(s),
                wf.n_tasks,
                r.end - r.start,
                r.end,
                source,
                r.task_id,
            )
        )
    return store.add(out)


def wfformat_keys(data: Any) -> dict[str, str]:
    """Each task id of a WfFormat document and its set key (category, else name without _IDnnnnnnn)."""
    wf = data.get("workflow", {}) if isinstance(data, dict) else {}
    spec = wf.get("specification", wf) if isinstance(wf, dict) else {}
    tasks = spec.get("tasks", []) if isinstance(spec, dict) else []
    out: dict[str, str] = {}
    for t in tasks if isinstance(tasks, list) else []:
        if isinstance(t, dict):
            tid = str(t.get("id") or t.get("name"))
            category = t.get("category")
            out[tid] = set_key(str(t.get("name") or tid), category if isinstance(category, str) else None)
    return out


def _machines(data: Any) -> dict[str, str]:
    """Each task id and the machine its record names (1.5: execution.tasks[].machines[0]; 1.4: tasks[].machine)."""
    wf = data["workflow"]
    records = wf["execution"]["tasks"] if "execution" in wf else wf["tasks"]
    out: dict[str, str] = {}
    for t in records:
        named = t.get("machines") or ([t["machine"]] if t.get("machine") else [])
        if named:
            out[str(t.get("id") or t.get("name"))] = str(named[0])
    return out


def record_wfformat(store: HistoryStore, file: str | os.PathLike[str]) -> int:
    """Store every task record of a WfFormat instance (a recorded run); how many were new. Each task's speed is its
    recorded machine's, relative to the fastest clock of the file (1.0 when none is recorded), and its duration the
    one measured there: the loader gives run times as work at speed 1 (recorded x speed), so it is divided back."""
    source = os.fspath(file)
    data = read_document(source)
    wf = workflow_from_wfformat(data, source)  # checks the file: a bad one is a SpecError here
    platform = platform_from_wfformat(data, source)
    speeds = {t.type: t.speed for t in platform.node_types} if platform else {}
    keys, machines = wfformat_keys(data), _machines(data)
    at = Path(source).stat().st_mtime
    where = str(Path(source).resolve())
    out = []
    for s in wf.sets:
        speed = speeds.get(machines.get(s.name, ""), 1.0)
        duration = s.runtime / speed if speed > 0 else s.runtime
        key = keys.get(s.name, set_key(s.name))
        node = machines.get(s.name)
        cores, gpus = s.resources.cores, s.resources.gpus
        size = input_bytes(s)
        out.append(Attempt(key, wf.name, cores, gpus, node, speed, size, wf.n_tasks, duration, at, where, s.name))
    return store.add(out)
