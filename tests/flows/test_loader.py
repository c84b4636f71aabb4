"""The SeBS-Flow loader on generated definitions (hypothesis): any forward graph of states loads, with every state
and function found; one edge back to an earlier state is refused as a cycle, naming the states on it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hetflow.errors import SpecError
from hetflow.spec.sebsflow import Switch, Task, flow_from_dict


@st.composite
def forward_flows(draw: st.DrawFn) -> dict[str, Any]:
    """States s0..sN-1, each going only to later ones: tasks with next (and maybe failure) and switches."""
    n = draw(st.integers(2, 12))
    states: dict[str, Any] = {}
    for i in range(n):
        later = [f"s{j}" for j in range(i + 1, n)]
        if not later:
            states[f"s{i}"] = {"type": "task", "func_name": f"f{i % 3}"}
        elif draw(st.booleans()):
            state = {"type": "task", "func_name": f"f{i % 3}", "next": draw(st.sampled_from(later))}
            if draw(st.booleans()):
                state["failure"] = draw(st.sampled_from(later))
            states[f"s{i}"] = state
        else:
            cases = [{"var": "v", "op": "<", "val": k, "next": draw(st.sampled_from(later))} for k in range(2)]
            states[f"s{i}"] = {"type": "switch", "cases": cases, "default": draw(st.sampled_from(later))}
    return {"root": "s0", "states": states}


@settings(max_examples=60, deadline=None)
@given(forward_flows())
def test_a_forward_graph_loads(doc: dict[str, Any]) -> None:
    flow = flow_from_dict(doc, "gen.json")
    assert list(flow.states) == list(doc["states"])
    for name, state in flow.states.items():
        assert isinstance(state, Task | Switch) and state.name == name
    tasks = {s["func_name"] for s in doc["states"].values() if s["type"] == "task"}
    assert set(flow.functions()) == tasks


@settings(max_examples=60, deadline=None)
@given(forward_flows(), st.data())
def test_one_edge_back_is_a_cycle(doc: dict[str, Any], data: st.DataObject) -> None:
    names = list(doc["states"])
    tasks = [n for n in names[1:] if doc["states"][n]["type"] == "task"]
    if not tasks:
        return
    src = data.draw(st.sampled_from(tasks))
    dst = data.draw(st.sampled_from(names[: names.index(src)]))
    doc["states"][src]["next"] = dst
    reach = {dst}  # is src reachable from dst? then src -> dst closes a cycle
    for n in names[names.index(dst) :]:
        if n in reach:
            s = doc["states"][n]
            nxt = [c["next"] for c in s.get("cases", [])] + [s[k] for k in ("next", "failure", "default") if k in s]
            reach.update(nxt)
    if src not in reach:
        flow_from_dict(doc, "gen.json")  # no cycle after all
        return
    with pytest.raises(SpecError, match=r"the states form a cycle \(.*\)") as info:
        flow_from_dict(doc, "gen.json")
    cycle = info.value.problem.split("(")[1].rstrip(")").split(" -> ")
    assert cycle[0] == cycle[-1] and len(cycle) >= 2
