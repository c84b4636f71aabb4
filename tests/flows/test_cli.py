"""SeBS-Flow definitions on the command line: validate, simulate and run tell them by their shape; bad definitions,
functions and side files end with one line and exit status 2; a flow that fails exits 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from hetflow.cli import main
from hetflow.errors import SpecError
from hetflow.flows.unroll import unrolled
from hetflow.spec.flowside import load_side
from hetflow.spec.load import load_definition, load_workflow
from hetflow.spec.sebsflow import Flow, flow_from_dict

FUNCTIONS = Path(__file__).with_name("functions.py")
GOOD = {
    "root": "gen",
    "states": {
        "gen": {"type": "task", "func_name": "numbers", "next": "sq"},
        "sq": {"type": "map", "array": "items", "func_name": "square", "next": "pick"},
        "pick": {"type": "switch", "cases": [{"var": "tag", "op": "==", "val": "big", "next": "big"}], "default": "t"},
        "big": {"type": "task", "func_name": "large", "next": "t"},
        "t": {"type": "task", "func_name": "total"},
    },
}
SIDE = "default: {runtime: 1}\nfunctions:\n  square: {runtime: 4, cores: 2}\nstates:\n  sq: {length: 6}\n"
PLATFORM = "platform: p\nnodes:\n  - {type: n, count: 1, cores: 4}\n"


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def write(tmp_path: Path, doc: Any, name: str = "flow.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc) if name.endswith(".json") else doc)
    return path


def one_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_validate_summarizes_a_definition_with_its_functions_and_side_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    side = write(tmp_path, SIDE, "side.yaml")
    pf = write(tmp_path, PLATFORM, "pf.yaml")
    r = invoke("validate", path, "--functions", FUNCTIONS, "--side", side, "--platform", pf)
    assert r.exit_code == 0, r.output
    assert "5 states: 3 task, 1 map, 1 switch" in r.output
    assert "4 functions, each found in" in r.output
    assert "unrolled       8 tasks in 3 sets" in r.output  # gen, 6 squares, t: the switch assumed its default
    assert "lower bound    12.5 s" in r.output  # the work: (1 + 6 squares x 2 cores x 4 s + 1) core-s on 4 cores
    # without a side file there is nothing to unroll yet
    assert "none (give --side FILE" in invoke("validate", path, "--functions", FUNCTIONS).output


def test_run_follows_the_payload_and_prints_it(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    journal, report = tmp_path / "run.db", tmp_path / "report"
    r = invoke(
        "run",
        path,
        "--functions",
        FUNCTIONS,
        "--input",
        '{"n": 3, "tag": "big"}',
        "--json",
        "--journal",
        journal,
        "--report",
        report,
        "--policy",
        "critical-path",
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["ok"] and doc["output"] == {"items": [1, 4, 9], "tag": "big", "path": ["large"], "total": 14}
    assert doc["states"] == ["gen", "sq", "pick", "big", "t"] and doc["tasks"] == 6 and doc["journal"] == str(journal)
    assert (report / "index.html").exists()
    from hetflow.journal import read_journal

    view = read_journal(journal)
    assert view.policy == "critical-path" and sorted(s.count for s in view.workflow.sets) == [1, 1, 1, 3]
    plain = invoke("run", path, "--functions", FUNCTIONS, "--input", '{"n": 2}')
    assert plain.exit_code == 0, plain.output
    assert "gen -> sq -> pick -> t" in plain.output and '"total": 5' in plain.output


def test_run_of_a_failing_flow_exits_1_naming_the_state(tmp_path: Path) -> None:
    doc = {"root": "f", "states": {"f": {"type": "task", "func_name": "fail"}}}
    r = invoke("run", write(tmp_path, doc), "--functions", FUNCTIONS, "--input", '{"value": 2}')
    assert r.exit_code == 1, r.output
    assert "states.f (f): ValueError: cannot handle 2" in r.output


def test_simulate_unrolls_with_the_side_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    r = invoke(
        "simulate",
        path,
        "--side",
        write(tmp_path, SIDE, "side.yaml"),
        "--platform",
        write(tmp_path, PLATFORM, "pf.yaml"),
        "--json",
    )
    assert r.exit_code == 0, r.output
    (row,) = json.loads(r.output)
    assert row["tasks"] == 8 and row["makespan_s"] == 14.0  # 1 + 3 waves of two 2-core squares x 4 s + 1


def test_a_switch_branch_assumed_in_the_side_file_is_the_one_simulated() -> None:
    f = flow_from_dict(GOOD, "g.json")
    side = load_side({"default": {"runtime": 1}, "states": {"sq": {"length": 2}, "pick": {"branch": "big"}}}, f)
    assert [(s.name, s.count, s.after) for s in unrolled(f, side).sets] == [
        ("gen", 1, ()),
        ("sq", 2, ("gen",)),
        ("big", 1, ("sq",)),
        ("t", 1, ("big",)),
    ]


def test_nested_maps_unroll_per_element_and_parallel_branches_join() -> None:
    body = {
        "root": "a",
        "states": {"a": {"type": "task", "func_name": "fa", "next": "b"}, "b": {"type": "task", "func_name": "fb"}},
    }
    doc = {
        "root": "m",
        "states": {
            "m": {"type": "map", "array": "xs", **body, "next": "p"},
            "p": {
                "type": "parallel",
                "next": "r",
                "parallel_functions": [
                    {"root": "l", "states": {"l": {"type": "loop", "func_name": "fl", "array": "ys"}}},
                    {"root": "q", "states": {"q": {"type": "repeat", "func_name": "fq", "count": 2}}},
                ],
            },
            "r": {"type": "task", "func_name": "fr"},
        },
    }
    f = flow_from_dict(doc, "n.json")
    side = load_side({"default": {"runtime": 1}, "states": {"m": {"length": 2}, "l": {"length": 2}}}, f)
    got = [(s.name, s.after) for s in unrolled(f, side).sets]
    assert got == [
        ("m#0/a", ()),
        ("m#0/b", ("m#0/a",)),
        ("m#1/a", ()),
        ("m#1/b", ("m#1/a",)),
        ("p/l#0", ("m#0/b", "m#1/b")),
        ("p/l#1", ("p/l#0",)),
        ("p/q#0", ("m#0/b", "m#1/b")),
        ("p/q#1", ("p/q#0",)),
        ("r", ("p/l#1", "p/q#1")),
    ]


BAD: list[tuple[str, dict[str, Any], str]] = [
    (
        "unknown next state",
        {
            "root": "a",
            "states": {
                "a": {"type": "task", "func_name": "start", "next": "b2"},
                "b": {"type": "task", "func_name": "end"},
            },
        },
        "states.a.next: next names unknown state 'b2' (fix: did you mean 'b'?)",
    ),
    (
        "switch without default",
        {
            "root": "s",
            "states": {
                "s": {"type": "switch", "cases": [{"var": "v", "op": "<", "val": 1, "next": "a"}]},
                "a": {"type": "task", "func_name": "end"},
            },
        },
        "states.s: a switch state needs 'default' (fix: add 'default' (a switch needs a default state))",
    ),
    (
        "cycle that is not a loop",
        {
            "root": "a",
            "states": {
                "a": {"type": "task", "func_name": "start", "next": "b"},
                "b": {"type": "switch", "default": "a", "cases": [{"var": "v", "op": "<", "val": 1, "next": "c"}]},
                "c": {"type": "task", "func_name": "end"},
            },
        },
        "the states form a cycle (a -> b -> a)",
    ),
    ("unknown state type", {"root": "a", "states": {"a": {"type": "wait"}}}, "states.a.type: type must be one of task"),
    (
        "misspelt key",
        {"root": "a", "states": {"a": {"type": "task", "func_name": "end", "nxt": "a"}}},
        "states.a.nxt: unknown key 'nxt' (fix: did you mean 'next'?)",
    ),
    (
        "key of another type",
        {"root": "a", "states": {"a": {"type": "task", "func_name": "end", "count": 2}}},
        "states.a.count: a task state takes no 'count'",
    ),
    (
        "map with neither",
        {"root": "m", "states": {"m": {"type": "map", "array": "xs"}}},
        "states.m: a map needs func_name, or root and states",
    ),
    (
        "unknown root",
        {"root": "z", "states": {"a": {"type": "task", "func_name": "end"}}},
        "root: root 'z' is not a state",
    ),
    (
        "nested unknown next",
        {
            "root": "m",
            "states": {
                "m": {
                    "type": "map",
                    "array": "xs",
                    "root": "x",
                    "states": {"x": {"type": "task", "func_name": "end", "next": "y"}},
                }
            },
        },
        "states.m.states.x.next: next names unknown state 'y'",
    ),
]


@pytest.mark.parametrize(("doc", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_bad_definition_is_one_line_and_exit_2(tmp_path: Path, doc: dict[str, Any], expected: str) -> None:
    path = write(tmp_path, doc)
    for command in ("validate", "run", "simulate"):
        line = one_line(
            invoke(
                command,
                path,
                "--functions" if command != "simulate" else "--side",
                FUNCTIONS if command != "simulate" else write(tmp_path, "{}", "s.yaml"),
            )
        )
        assert line.startswith(f"error: {path}: ") and expected in line


def test_a_function_missing_from_the_module_is_one_line_and_exit_2(tmp_path: Path) -> None:
    doc = {"root": "a", "states": {"a": {"type": "task", "func_name": "squares"}}}
    path = write(tmp_path, doc)
    for command in ("validate", "run"):
        line = one_line(invoke(command, path, "--functions", FUNCTIONS))
        assert (
            f"{path}: states.a.func_name: {FUNCTIONS} has no function 'squares' (fix: did you mean 'square'?)" in line
        )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "{flow}"], "--functions: a SeBS-Flow definition needs its functions"),
        (["run", "{flow}", "--functions", "no_such_module_here"], "cannot import no_such_module_here"),
        (["simulate", "{flow}", "--platform", "{pf}"], "--side: a SeBS-Flow definition needs a side file"),
        (
            ["simulate", "{flow}", "--side", "{side:functions: {sqare: {runtime: 1}}}", "--platform", "{pf}"],
            "functions.sqare: no state calls function 'sqare' (fix: did you mean 'square'?)",
        ),
        (
            ["simulate", "{flow}", "--side", "{side:default: {runtime: 1}}", "--platform", "{pf}"],
            "states.sq: sq is a map over 'items', whose length is not assumed",
        ),
        (
            ["simulate", "{flow}", "--side", "{side:states: {pick: {branch: nowhere}}}", "--platform", "{pf}"],
            "states.pick.branch: pick cannot go to 'nowhere' (fix: one of big, t)",
        ),
        (
            ["simulate", "{flow}", "--side", "{side:states: {gen: {length: 3}}}", "--platform", "{pf}"],
            "states.gen.length: gen is not a map or loop",
        ),
        (
            ["run", "{flow}", "--functions", str(FUNCTIONS), "--side", "{side:functions: {square: {cores: 9}}}"],
            "needs 9 cores",
        ),
        (["run", "{flow}", "--functions", str(FUNCTIONS), "--input", "{nope"], "--input: not JSON"),
        (["run", "{flow}", "--functions", str(FUNCTIONS), "--resume"], "--resume is not for SeBS-Flow definitions"),
    ],
)
def test_bad_options_and_side_files_are_one_line_and_exit_2(tmp_path: Path, args: list[str], expected: str) -> None:
    values = {"flow": str(write(tmp_path, GOOD)), "pf": str(write(tmp_path, PLATFORM, "pf.yaml"))}
    filled = []
    for a in args:
        if a.startswith("{side:"):
            filled.append(str(write(tmp_path, a[len("{side:") : -1], "side.yaml")))
        else:
            filled.append(a.format(**values) if a in ("{flow}", "{pf}") else a)
    line = one_line(invoke(*filled))
    assert expected in line


def test_a_definition_is_told_by_its_shape(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    assert isinstance(load_definition(path), Flow)
    with pytest.raises(SpecError, match="is a SeBS-Flow definition"):
        load_workflow(path)
    native = write(tmp_path, "workflow: w\ntasks:\n  - {name: a, runtime: 1}\n", "w.yaml")
    assert not isinstance(load_definition(native), Flow)
    assert one_line(invoke("simulate", native, "--side", native)).endswith(
        "--side: --side is for SeBS-Flow definitions (fix: remove it)"
    )
