"""Every SeBS-Flow state type runs for real on a Session (local workers), the payload flowing as in SeBS-Flow:
task chains, maps over one function and with nested states (a map in a map too), loop, repeat, a switch that sends
two payloads down two paths, parallel branches, failure states; and each step is a task set the journal records."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hetflow.errors import HetflowError
from hetflow.flows.functions import flow_functions
from hetflow.flows.interpreter import FlowRun, run_flow
from hetflow.flows.payload import FlowError
from hetflow.journal import read_journal
from hetflow.runtime import Session
from hetflow.spec.flowside import load_side
from hetflow.spec.sebsflow import Flow, flow_from_dict

MODULE = "tests.flows.functions"
PLATFORM = {"platform": "p", "nodes": [{"type": "n", "count": 1, "cores": 4}]}


def task(fn: str, nxt: str | None = None, **more: Any) -> dict[str, Any]:
    return {"type": "task", "func_name": fn, **({"next": nxt} if nxt else {}), **more}


def flow(states: dict[str, Any], root: str | None = None) -> Flow:
    return flow_from_dict({"root": root or next(iter(states)), "states": states}, "test.json")


@pytest.fixture(scope="module")
def session() -> Iterator[Session]:
    with Session(platform=PLATFORM) as s:
        yield s


def run(session: Session, f: Flow, payload: Any = None) -> FlowRun:
    r = run_flow(session, f, flow_functions(f, MODULE), payload)
    assert r.future.done()
    return r


def test_a_task_chain_passes_the_payload_along(session: Session) -> None:
    f = flow({"a": task("start", "b"), "b": task("middle", "c"), "c": task("end")})
    r = run(session, f, {"x": 1})
    out = r.result()
    assert out["x"] == 1 and out["steps"] == ["start", "middle", "end"]
    assert r.visited == ["a", "b", "c"] and r.tasks == 3


def test_a_map_over_one_function_is_one_task_per_element_and_gathers_results_in_order(session: Session) -> None:
    f = flow(
        {
            "gen": task("numbers", "sq"),
            "sq": {"type": "map", "array": "items", "func_name": "square", "next": "t"},
            "t": task("total"),
        }
    )
    r = run(session, f, {"n": 6})
    assert r.result() == {"items": [1, 4, 9, 16, 25, 36], "tag": "t", "total": 91}
    assert r.tasks == 1 + 6 + 1


def test_a_map_with_nested_states_runs_them_per_element(session: Session) -> None:
    body = {"root": "d", "states": {"d": task("double", "p"), "p": task("add_one")}}
    f = flow({"gen": task("numbers", "m"), "m": {"type": "map", "array": "items", **body}})
    r = run(session, f, {"n": 4})
    assert r.result()["items"] == [3, 5, 7, 9]
    assert sorted(v for v in r.visited if v.startswith("m#")) == sorted(
        f"m#{i}/{s}" for i in range(4) for s in ("d", "p")
    )


def test_a_map_inside_a_map(session: Session) -> None:
    inner = {"type": "map", "array": "cells", "func_name": "square", "next": "s"}
    body = {"root": "cells", "states": {"cells": inner, "s": task("row_sum")}}
    f = flow({"r": task("rows", "outer"), "outer": {"type": "map", "array": "rows", **body}})
    out = run(session, f, {"rows": 3}).result()
    assert out == {
        "rows": [
            {"cells": [k * k, (k + 1) ** 2, (k + 2) ** 2], "sum": sum(x * x for x in range(k, k + 3))} for k in range(3)
        ]
    }


def test_common_params_travel_with_each_element(session: Session) -> None:
    f = flow(
        {
            "p": task("params", "m"),
            "m": {"type": "map", "array": "values", "common_params": "factor", "func_name": "with_common"},
        }
    )
    out = run(session, f).result()
    assert out["values"] == [{"item": i, "scaled": 7 * i} for i in (1, 2, 3)] and out["factor"] == 7


def test_a_loop_calls_its_function_on_each_element_in_turn(session: Session, tmp_path: Path) -> None:
    log = tmp_path / "loop.log"
    items = [{"i": i, "log": str(log)} for i in range(4)]
    f = flow({"l": {"type": "loop", "func_name": "stamp", "array": "items", "next": "e"}, "e": task("end")})
    out = run(session, f, {"items": items, "steps": []}).result()
    assert out["items"] == items  # a loop leaves the payload as it was (SeBS-Flow drops its results)
    lines = [line.split() for line in log.read_text().splitlines()]
    assert [int(i) for i, _, _ in lines] == [0, 1, 2, 3]
    for (_, _, end), (_, begin, _) in itertools.pairwise(lines):
        assert float(begin) >= float(end)  # one after another, never two at once


def test_a_repeat_chains_its_function_count_times(session: Session) -> None:
    f = flow({"r": {"type": "repeat", "func_name": "increment", "count": 4}})
    r = run(session, f, {"value": 10})
    assert r.result() == {"value": 14, "calls": 4} and r.tasks == 4


def test_a_switch_sends_two_payloads_down_two_paths(session: Session) -> None:
    cases = [{"var": "size.n", "op": ">=", "val": 10, "next": "large"}]
    f = flow(
        {
            "s": {"type": "switch", "cases": cases, "default": "small"},
            "small": task("small", "a"),
            "large": task("large", "a"),
            "a": task("after"),
        }
    )
    few, many = run(session, f, {"size": {"n": 3}}), run(session, f, {"size": {"n": 12}})
    assert few.result()["path"] == ["small", "after"] and few.visited == ["s", "small", "a"]
    assert many.result()["path"] == ["large", "after"] and many.visited == ["s", "large", "a"]


@pytest.mark.parametrize(
    ("op", "val", "taken"),
    [("<", 5, "yes"), ("<=", 4, "yes"), ("==", 4, "yes"), ("!=", 4, "no"), (">", 4, "no"), (">=", 5, "no")],
)
def test_each_switch_operator(op: str, val: int, taken: str) -> None:
    from hetflow.flows.payload import chosen
    from hetflow.spec.sebsflow import Case

    assert chosen((Case("v", op, val, "yes"),), "no", {"v": 4}, "here") == taken


def test_parallel_branches_each_get_the_payload_and_their_results_are_keyed_by_root(session: Session) -> None:
    branches = [
        {"root": "left", "states": {"left": task("left")}},
        {"root": "right", "states": {"right": task("right", "twice"), "twice": task("right_again")}},
    ]
    f = flow({"p": {"type": "parallel", "parallel_functions": branches, "next": "c"}, "c": task("combine")})
    r = run(session, f, {"value": 4})
    assert r.result() == {"left": 40, "right": 10}
    assert set(r.visited) == {"p", "p/left", "p/right", "p/twice", "c"}


def test_the_older_parallel_form_of_one_state_branches(session: Session) -> None:
    f = flow({"p": {"type": "parallel", "parallel_functions": {"left": task("left"), "right": task("right")}}})
    assert run(session, f, {"value": 1}).result() == {
        "left": {"side": "left", "value": 10},
        "right": {"side": "right", "value": 2},
    }


def test_a_failure_state_takes_over_and_an_unhandled_failure_ends_the_flow(session: Session) -> None:
    handled = flow({"f": task("fail", "e", failure="r"), "e": task("end"), "r": task("recover")})
    r = run(session, handled, {"value": 3})
    assert r.result() == {"recovered": True, "error": "ValueError: cannot handle 3"}
    assert r.handled == [("f", "ValueError: cannot handle 3")] and r.visited == ["f", "r"]
    bare = flow({"a": task("start", "f"), "f": task("fail", "e"), "e": task("end")})
    r = run(session, bare, {"value": 5})
    with pytest.raises(FlowError, match=r"states\.f \(f\): ValueError: cannot handle 5"):
        r.result()
    assert r.visited == ["a", "f"]  # nothing after the failure was submitted


def test_a_payload_without_the_array_ends_the_flow_with_one_line(session: Session) -> None:
    f = flow({"m": {"type": "map", "array": "frames.list", "func_name": "square"}})
    r = run(session, f, {"frames": {"other": 1}})
    with pytest.raises(HetflowError, match=r"states\.m \(m\): frames has no 'list' \(it holds: other\)"):
        r.result()


def test_each_step_is_a_task_set_the_journal_records_with_its_side_resources(tmp_path: Path) -> None:
    f = flow({"gen": task("numbers", "sq"), "sq": {"type": "map", "array": "items", "func_name": "square"}})
    side = load_side({"functions": {"square": {"cores": 2, "runtime": 3}}}, f)
    journal = tmp_path / "flow.db"
    with Session(platform=PLATFORM, journal=journal, policy="critical-path") as s:
        r = run_flow(s, f, flow_functions(f, MODULE), {"n": 3}, side)
        assert r.result()["items"] == [1, 4, 9]
    view = read_journal(journal)
    sets = {ts.name: ts for ts in view.workflow.sets}
    (gen,) = [ts for n, ts in sets.items() if n.startswith("numbers")]
    (sq,) = [ts for n, ts in sets.items() if n.startswith("square")]
    assert gen.count == 1 and gen.resources.cores == 1
    assert sq.count == 3 and sq.resources.cores == 2 and sq.runtime == 3
    assert view.set_kinds[sq.name] == "map" and view.policy == "critical-path"
    assert sum(1 for rec in view.records if rec.status == "done") == 4


def test_side_file_retries_and_timeouts_apply_to_the_calls(session: Session, tmp_path: Path) -> None:
    f = flow({"f": task("flaky")})
    retried = load_side({"functions": {"flaky": {"retries": 1}}}, f)
    r = run_flow(session, f, flow_functions(f, MODULE), {"marker": str(tmp_path / "a")}, retried)
    assert r.result()["tried"] is True
    bare = run_flow(session, f, flow_functions(f, MODULE), {"marker": str(tmp_path / "b")})
    with pytest.raises(FlowError, match="RuntimeError: first try fails"):
        bare.result()
    slow = flow({"s": task("sleepy")})
    limited = load_side({"functions": {"sleepy": {"timeout": 0.3}}}, slow)
    r = run_flow(session, slow, flow_functions(slow, MODULE), {}, limited)
    with pytest.raises(FlowError, match=r"states\.s \(s\): .*time"):
        r.result()
