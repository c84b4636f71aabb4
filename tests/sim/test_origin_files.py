"""The workflow's own input files and final outputs: native `input_files:` start at the origin (the simulator moves
them as it moves a WfFormat workflow's unproduced inputs), a task finds them in its working folder beside its
parents' files, the final outputs are the files no task reads, and transfers recorded in a journal read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from hetflow.errors import SpecError
from hetflow.journal import read_journal, record_transfers
from hetflow.journal.codec import set_from_dict, set_to_dict
from hetflow.metrics.journaled import journal_result
from hetflow.runtime import Session
from hetflow.sim.simulator import run_simulation
from hetflow.spec.data import ORIGIN, Transfer, final_outputs, origin_files, reads, staged_inputs
from hetflow.spec.load import load_workflow
from hetflow.spec.workflow import FileRef, TaskSet, Workflow
from tests.sim.test_transfers import GB, by_set, check, sites


def native() -> Workflow:
    return load_workflow({"workflow": "w", "tasks": [
        {"name": "Q", "cores": 4, "runtime": 1000},
        {"name": "P", "count": 2, "cores": 4, "runtime": 5, "input_files": {"data.csv": "1GB"},
         "outputs": {"part-{index}.txt": 10}},
        {"name": "C", "after": ["P"], "runtime": 1, "input_files": {"data.csv": "1GB", "k.txt": 3},
         "outputs": {"sum.txt": 4}},
    ]})  # fmt: skip


def test_native_input_files_start_at_the_origin_and_are_staged_beside_the_parents_files() -> None:
    wf = native()
    _, p, c = wf.sets
    assert FileRef("data.csv", GB, ORIGIN) in p.files
    assert origin_files(p, []) == {"data.csv": GB}
    assert staged_inputs(p, []) == ("data.csv",)
    assert staged_inputs(c, [p]) == ("part-0.txt", "part-1.txt", "data.csv", "k.txt")
    assert reads(c, p) == 20  # what C reads from P is unchanged by its own input files
    assert final_outputs(wf.sets) == ("sum.txt",)
    assert set_from_dict(set_to_dict(p)) == p  # through the journal
    # P goes to B (A is busy with Q until 1000): its input file leaves the origin A at release, 0.04 + 1e9/1e8 s
    s = sites()
    r = run_simulation(wf, s.platform(), policy="fifo", links=s, check=check)
    assert by_set(r)["P"][0] == ("B/cpu-0", 10.04, 15.04)
    first = min(r.transfers, key=lambda t: t.start)
    assert (first.src_set, first.src_site, first.dst_set, first.dst_site, first.size) == ("", "A", "P", "B", GB)


def test_wfformat_final_outputs_are_the_files_no_task_reads() -> None:
    a = TaskSet("a", files=(FileRef("in", 1, "input"), FileRef("x", 2, "output"), FileRef("log", 3, "output")))
    b = TaskSet("b", after=("a",), files=(FileRef("x", 2, "input"), FileRef("y", 4, "output")))
    assert final_outputs((a, b)) == ("log", "y")
    assert origin_files(a, []) == {"in": 1} and origin_files(b, [a]) == {}


@pytest.mark.parametrize(
    ("files", "why"),
    [(5, "input_files must map file names to sizes"), ({"../x": 1}, "'../x' is not a file name")],
)
def test_bad_input_files_are_one_line(files: object, why: str) -> None:
    with pytest.raises(SpecError, match=rf"tasks\[0\] \(P\)\.input_files: {why}"):
        load_workflow({"workflow": "w", "tasks": [{"name": "P", "input_files": files}]})


def test_transfers_recorded_in_a_journal_read_back_and_old_journals_have_none(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"
    with Session("local", platform={"platform": "p", "nodes": [{"type": "n", "cores": 1}]}, journal=journal) as s:
        s.run({"workflow": "w", "tasks": [{"name": "A", "command": "true"}]})
    assert read_journal(journal).transfers == []  # a journal from before transfers were recorded reads as before
    moved = [Transfer("", "a", "A", "b", 7, 100.0, 100.5), Transfer("A", "b", "", "a", 9, 101.0, 101.25)]
    record_transfers(journal, moved)
    view = read_journal(journal)
    assert view.transfers == moved
    assert view.counts() == {"done": 1}  # the task records are untouched by the new events
    result = journal_result(view)
    assert [(t["from_site"], t["to_site"], t["bytes"]) for t in result.summary()["transfers"]] == [
        ("a", "b", 7),
        ("b", "a", 9),
    ]
