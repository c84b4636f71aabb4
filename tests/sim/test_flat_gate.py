"""The flat kernel's gate is an allowlist: every feature it does not reproduce sends the run to the engine (which then
runs as before), and a spec field it does not know turns it off. The command line's --json is the same either way."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import hetflow.sim.flatrun as flatrun
from hetflow.cli import main
from hetflow.core.triggers import Trigger
from hetflow.policies.fifo import Fifo
from hetflow.sim.flatrun import FlatResult, flat_inputs
from hetflow.sim.simulator import run_simulation
from hetflow.spec.distribution import Distribution
from hetflow.spec.features import Requirement
from hetflow.spec.gpu_speed import GpuSpeed
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import TaskSet, Variant, Workflow

NODE = NodeType("node", 2, 8, 10_000, 0)
PLAT = Platform("p", (NODE,))


def sets(**change: Any) -> tuple[TaskSet, ...]:
    """Three one-task sets in a chain, the middle one changed."""
    a, b, c = (TaskSet(n, 1, Resources(2), 3.0, after) for n, after in (("A", ()), ("B", ("A",)), ("C", ("B",))))
    return a, replace(b, **change), c


def engine_ran(wf: Workflow, plat: Platform = PLAT, **options: Any) -> None:
    """The gate declines: run_simulation ran the engine, and the run ended."""
    r = run_simulation(wf, plat, **options)
    assert not isinstance(r, FlatResult) and r.engine is not None and r.engine.unfinished == 0


def test_the_plain_chain_takes_the_kernel() -> None:
    r = run_simulation(Workflow("w", sets()), PLAT)
    assert isinstance(r, FlatResult) and r.engine is None and r.makespan_s == 9.0 and r.steps == 4


@pytest.mark.parametrize(
    "change",
    [
        {"count": 2},
        {"count": 0},
        {"variants": (Variant(Resources(1), 1.0),)},
        {"runtime_dist": Distribution.lognormal(3.0, 0.5)},
        {"gpu_speed": GpuSpeed(((0.5, 1.0),), 0.5)},
        {"requires": Requirement(arch=("x86_64",))},
        {"cold_start": 1.0},
        {"resources": Resources(2, 5_000)},
        {"resources": Resources(2, 0, 0, 1 << 30)},
        {"resources": Resources(2, 0, 0, 0, ("A100",))},
    ],
    ids=lambda c: next(iter(c)),
)
def test_a_set_feature_the_kernel_lacks_sends_the_run_to_the_engine(change: dict[str, Any]) -> None:
    wf = Workflow("w", sets(**change))
    assert flat_inputs(wf, PLAT) is None
    # (not run: GPU memory or models need GPUs that have them, a requirement features; and a set of no tasks in a
    # chain stops the engine's run, as before)
    if not ({"count", "requires"} & change.keys()) and ("resources" not in change or change["resources"].gpu_units):
        engine_ran(wf)


@pytest.mark.parametrize(
    "change",
    [{"speed_jitter": 0.1}, {"cold_start": 1.0}, {"keep_warm": 5.0}, {"site": "x"}],
    ids=lambda c: next(iter(c)),
)
def test_a_node_type_feature_the_kernel_lacks_sends_the_run_to_the_engine(change: dict[str, Any]) -> None:
    plat = Platform("p", (replace(NODE, **change),))
    wf = Workflow("w", sets())
    assert flat_inputs(wf, plat) is None
    if "site" not in change:  # a site needs links to mean anything
        engine_ran(wf, plat)


@pytest.mark.parametrize(
    "options",
    [
        {"mode": "sync"},
        {"mode": "workload"},
        {"policy": "critical-path"},
        {"policy": Fifo()},
        {"check": lambda engine: engine.validate()},
        {"at": [(1.0, (TaskSet("D", 1, Resources(1), 1.0),))]},
        {"triggers": [Trigger(("A",), lambda ctx: None, count=1)]},
        {"failures": lambda s, i, a: None},
        {"joins": [(1.0, Platform("more", (NodeType("extra", 1, 4),)))]},
        {"results": lambda s, i: 1},
        {"flat": False},
    ],
    ids=lambda o: next(iter(o)),
)
def test_a_run_option_sends_the_run_to_the_engine(options: dict[str, Any]) -> None:
    engine_ran(Workflow("w", sets()), **options)


def test_a_workflow_depending_on_sets_outside_it_goes_to_the_engine() -> None:
    _, b, c = sets()
    wf = Workflow("w", (b, c), outside=frozenset({"A"}))
    assert flat_inputs(wf, PLAT) is None


def test_a_spec_field_the_gate_does_not_know_turns_the_kernel_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the gate knows of TaskSet lacks a field (as when the spec grows one): it declines every run."""
    flatrun.knows_the_spec.cache_clear()
    monkeypatch.setitem(flatrun.KNOWN, TaskSet, flatrun.KNOWN[TaskSet] - {"outputs"})
    try:
        assert flat_inputs(Workflow("w", sets()), PLAT) is None
        engine_ran(Workflow("w", sets()))
    finally:
        monkeypatch.undo()
        flatrun.knows_the_spec.cache_clear()
    assert flatrun.knows_the_spec()


def test_simulate_json_is_the_same_with_the_kernel_and_the_engine(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tasks = [{"name": f"T{i}", "cores": 1 + i % 5, "runtime": 1.0 + i % 7} for i in range(300)]
    for i, t in enumerate(tasks):
        if i >= 20:
            t["after"] = [f"T{i - 20}", f"T{i // 2}"]
    wf, pf = tmp_path / "w.json", tmp_path / "p.json"
    wf.write_text(json.dumps({"workflow": "w", "tasks": tasks}))
    pf.write_text(json.dumps({"platform": "p", "nodes": [{"type": "n", "count": 3, "cores": 6}]}))
    args = ["simulate", str(wf), "-p", str(pf), "--json"]
    caplog.set_level(logging.INFO, logger="hetflow")
    flat = CliRunner().invoke(main, ["-v", *args])
    said = caplog.text
    caplog.clear()
    engine = CliRunner().invoke(main, ["-v", *args, "--no-flat"])
    assert flat.exit_code == 0 and engine.exit_code == 0, (flat.output, engine.output)
    assert json.loads(flat.stdout) == json.loads(engine.stdout)
    assert json.loads(flat.stdout)[0]["tasks"] == 300
    assert "300 one-task sets on the flat kernel" in said and "flat kernel" not in caplog.text


@pytest.mark.parametrize(
    ("need", "node"),
    [
        (Resources(2, 0, (1 << 62) + 1), NodeType("node", 2, 8, 0, 1 << 63)),  # memory past the kernel's 64 bits
        (Resources((1 << 62) + 1), NodeType("node", 2, 1 << 63)),  # cores alike
        (Resources(2), NodeType("node", 2, 1 << 63)),  # a node's alone
    ],
    ids=["memory", "cores", "node cores"],
)
def test_amounts_past_64_bits_go_to_the_engine(need: Resources, node: NodeType) -> None:
    """The kernel keeps amounts in 64-bit ints (the ledger's untracked memory, 2**62, is the largest it takes)."""
    wf, plat = Workflow("w", sets(resources=need)), Platform("p", (node,))
    assert flat_inputs(wf, plat) is None
    if need.cores < 1 << 62:  # (the engine finds no room for a task of more cores than that: left as it was)
        engine_ran(wf, plat)
    edge = Workflow("w", sets(resources=Resources(2, 0, 1 << 62)))
    assert flat_inputs(edge, Platform("p", (NodeType("node", 2, 8),))) is not None  # untracked memory holds it


def test_a_platform_of_no_nodes_runs_an_empty_workflow_on_the_kernel() -> None:
    r = run_simulation(Workflow("w", ()), Platform("p", ()))
    assert isinstance(r, FlatResult) and r.makespan_s == 0.0 and r.tasks == 0
