"""Native `outputs:` naming the files each task writes ({index} for its index): the sizes still drive the transfer
model, the names are what a multi-site run stages (a reader's files are every file its parents write); a file name
with a folder, "." or ".." is one line and exit status 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hetflow.cli import main
from hetflow.errors import SpecError
from hetflow.spec import load_workflow
from hetflow.spec.data import reads, staged_inputs, staged_outputs
from hetflow.spec.native import workflow_from_dict

DOC = {
    "workflow": "w",
    "tasks": [
        {"name": "P", "count": 3, "outputs": {"part-{index}.csv": "1KiB", "log.txt": 10}, "command": "make"},
        {"name": "Q", "outputs": "1MiB", "command": "other"},
        {"name": "C", "after": ["P", "Q"], "outputs": {"sum.csv": 100}, "command": "sum"},
        {"name": "D", "after": ["C"], "command": "show"},
    ],
}


def test_named_outputs_are_sized_and_staged() -> None:
    p, q, c, d = load_workflow(DOC).sets
    assert (p.outputs, q.outputs, c.outputs) == (1024 + 10, 2**20, 100)
    assert staged_outputs(p, 2) == ("part-2.csv", "log.txt") and staged_outputs(q, 0) == ()
    assert staged_inputs(c, [p, q]) == ("part-0.csv", "part-1.csv", "part-2.csv", "log.txt")
    assert staged_inputs(d, [c]) == ("sum.csv",)
    # a reader that writes files of its own still reads all its parents write (as without names)
    assert reads(c, p) == 3 * (1024 + 10) and reads(c, q) == 2**20 and reads(d, c) == 100


def test_a_file_name_with_a_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for bad in ("../up.txt", "sub/x.txt", ".."):
        doc = {"workflow": "w", "tasks": [{"name": "P", "outputs": {bad: 1}}]}
        path = tmp_path / "wf.yaml"
        path.write_text(yaml.safe_dump(doc))
        got = CliRunner().invoke(main, ["validate", str(path)])
        assert got.exit_code == 2, got.output
        assert f"tasks[0] (P).outputs: '{bad}' is not a file name" in got.output
        assert len(got.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("task", "says"),
    [
        ({"outputs": {"a.txt": -1}}, "outputs: a.txt: memory -1 is negative"),
        ({"input_files": {"d_{index}.csv": "1KB"}}, "input_files: input file 'd_{index}.csv' names {index}"),
    ],
)
def test_file_sizes_and_names_are_checked_with_the_file_named(task: dict[str, object], says: str) -> None:
    with pytest.raises(SpecError, match=re.escape(says)):
        workflow_from_dict({"workflow": "w", "tasks": [{"name": "a", "command": "true", **task}]})
