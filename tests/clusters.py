"""What the backend tests share: an emulated heterogeneous cluster of three nodes, a workflow mixing 1-core, 2-core
and fractional-GPU tasks with dependencies, the check that no node ever ran more than its capacity, the events of a
journal, runs during which a node joins or dies, and `hetflow run` on a cluster at an address."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

import hetflow as hf
from hetflow.cli import main
from hetflow.journal import read_journal
from hetflow.spec.platform import Node
from tests.procs import wait_for

# three nodes of different shapes: a 1-core node, a 2-core node, and a 2-core node with one GPU (declared)
HET3: dict[str, Any] = {
    "platform": "het3",
    "nodes": [
        {"type": "small", "cores": 1},
        {"type": "wide", "cores": 2},
        {"type": "gpu", "cores": 2, "gpus": 1},
    ],
}
# three nodes alike, n-0 to n-2, for a run that loses n-1
THREE: dict[str, Any] = {"platform": "three", "nodes": [{"type": "n", "count": 3, "cores": 2}]}
DYING_TASKS = 12  # the tasks of run_while_a_node_dies


def mixed_workflow() -> Any:
    """Submit the workflow in the active Session; its futures: 8 one-core tasks -> 4 two-core tasks (each on two
    one-core results) -> 4 half-GPU tasks -> their sum. Returns the futures of every stage."""
    from tests.runtime.tasks import half_gpu_sum, one_core, sum_first, two_cores

    ones = one_core.map(range(8))
    twos = [two_cores(a) for a in ones[:4]]
    halves = [half_gpu_sum([t, b]) for t, b in zip(twos, ones[4:], strict=True)]
    return ones, twos, halves, sum_first(halves)


def results_of(stages: Any) -> Any:
    ones, twos, halves, last = stages
    return (
        [f.result(timeout=120) for f in ones],
        [f.result(timeout=120) for f in twos],
        [f.result(timeout=120) for f in halves],
        last.result(timeout=120),
    )


def peak_use(journal: Path) -> dict[str, tuple[int, int]]:
    """Per node, the most cores and GPU units its tasks held at once, from the intervals the journal records (start
    and end as measured where each task ran; at equal times ends come first)."""
    view = read_journal(journal)
    events: dict[str, list[tuple[float, int, int, int]]] = defaultdict(list)
    for iv in view.intervals():
        n = iv.last - iv.first
        events[iv.node].append((iv.start, 1, iv.cores * n, iv.gpu_units * n))
        events[iv.node].append((iv.end, 0, -iv.cores * n, -iv.gpu_units * n))
    peaks: dict[str, tuple[int, int]] = {}
    for node, evs in events.items():
        cores = units = top_cores = top_units = 0
        for _, _, c, u in sorted(evs):
            cores += c
            units += u
            top_cores, top_units = max(top_cores, cores), max(top_units, units)
        peaks[node] = (top_cores, top_units)
    return peaks


def assert_within_capacity(journal: Path, nodes: list[Node]) -> dict[str, tuple[int, int]]:
    shape = {n.name: n for n in nodes}
    peaks = peak_use(journal)
    for node, (cores, units) in peaks.items():
        assert cores <= shape[node].cores, f"{node} ran {cores} cores at once, has {shape[node].cores}"
        assert units <= shape[node].gpu_units, f"{node} held {units} GPU units at once, has {shape[node].gpu_units}"
    return peaks


def events(journal: Path, kind: str) -> list[tuple[str | None, int | None, str | None]]:
    """(set, index, node) of the journal's events of one kind, in order."""
    with sqlite3.connect(journal) as db:
        rows = db.execute('SELECT "set", idx, node FROM events WHERE kind = ? ORDER BY seq', (kind,)).fetchall()
    return [tuple(r) for r in rows]


def run_while_a_node_joins(session: hf.Session, marks: Path, join: Callable[[], None], new_cores: int) -> list[int]:
    """Fill every core of the session's platform with one-core tasks that wait for a gate, with new_cores more
    queued behind them; join() a node of new_cores cores; the queued tasks can only start there. Then open the gate:
    the results of every task."""
    from tests.runtime.tasks import mark_and_wait

    marks.mkdir()
    busy = session.platform.cores
    futures = mark_and_wait.map([str(marks)] * (busy + new_cores), range(busy + new_cores))

    def started() -> int:
        return sum(1 for p in marks.iterdir() if p.name.isdigit())

    wait_for(lambda: started() == busy, timeout=120, what="every core to hold a waiting task")
    join()
    wait_for(lambda: started() == busy + new_cores, timeout=120, what="the queued tasks to start on the new node")
    (marks / "open").touch()
    return [f.result(timeout=120) for f in futures]


def run_while_a_node_dies(marks: Path, pids: Callable[[], set[int]], kill: Callable[[], None]) -> None:
    """In the active Session, run DYING_TASKS one-second tasks (each writes the id of its process into marks); once
    one runs in a process of pids() (the node's), kill() the node. Every task still ends well."""
    from tests.runtime.tasks import mark_and_nap

    marks.mkdir()
    futures = mark_and_nap.map([str(marks)] * DYING_TASKS, range(DYING_TASKS), [1.0] * DYING_TASKS)

    def running_there() -> bool:
        there = pids()
        return any(int(p.read_text()) in there for p in marks.iterdir() if p.name.isdigit())

    wait_for(running_there, timeout=120, what="a task running on the node to kill")
    kill()
    assert [f.result(timeout=120) for f in futures] == list(range(DYING_TASKS))


def assert_lost_for_good(journal: Path, node: str, nodes: list[Node]) -> None:
    """The journal of run_while_a_node_dies: node lost (only it); every task it was running lost, run again on another
    node and ended well, as every other task did; no node ran more than its capacity."""
    assert events(journal, "node-lost") == [(None, None, node)]
    lost = events(journal, "lost")
    assert lost and all(where == node for _, _, where in lost)
    done = {iv.first: iv for iv in read_journal(journal).intervals() if iv.status == "done"}
    assert sorted(done) == list(range(DYING_TASKS))
    for _, idx, _ in lost:
        assert idx is not None
        assert done[idx].node != node and done[idx].attempts >= 2
    assert_within_capacity(journal, nodes)


def run_cli_at(address: str, backend: str, folder: Path, nodes: list[Node]) -> dict[str, set[str]]:
    """`hetflow run --backend BACKEND --address ADDRESS --json` of a workflow of three 2-core commands, two
    quarter-GPU commands after them and a function last, its journal FOLDER/run.db. Its 6 tasks end well on the
    platform named after the address, no node (nodes: the cluster's) past its capacity. The nodes each set ran on."""
    wf = folder / "wf.yaml"
    wf.write_text(
        "workflow: cli\n"
        "tasks:\n"
        "  - {name: a, count: 3, cores: 2, command: 'echo $HETFLOW_TASK_ID'}\n"
        "  - {name: g, count: 2, gpus: 0.25, after: [a], command: 'test \"$HETFLOW_GPUS\" = 0:0.25'}\n"
        "  - {name: b, after: [g], function: 'tests.runtime.tasks:square'}\n"
    )
    journal = folder / "run.db"
    r = CliRunner().invoke(
        main, ["run", str(wf), "--backend", backend, "--address", address, "--journal", str(journal), "--json"]
    )
    assert r.exit_code == 0, r.output
    (summary,) = json.loads(r.stdout)  # nothing of the engine's on stdout
    assert (summary["tasks"], summary["failed"], summary["platform"]) == (6, 0, f"{backend}-{address}")
    assert_within_capacity(journal, nodes)
    placed: dict[str, set[str]] = defaultdict(set)
    for iv in read_journal(journal).intervals():
        placed[iv.set].add(iv.node)
    return placed
