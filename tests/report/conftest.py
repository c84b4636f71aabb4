"""Real simulations for the report tests: the seed workflow (from examples/seed) in all three modes, and variants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hetflow.sim.simulator import SimResult, run_simulation
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import Resources, parse_gpus, parse_memory
from hetflow.spec.workflow import TaskSet, Workflow

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed"
MODES = ("sync", "workload", "task")


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((SEED / name).read_text())
    return data


@pytest.fixture(scope="session")
def seed_workflow() -> Workflow:
    d = _load("arbitrary-workflow.yaml")
    sets = tuple(
        TaskSet(
            t["name"], t["count"], Resources.of(t["cores"], t["gpus"]), float(t["runtime"]), tuple(t.get("after", ()))
        )
        for t in d["tasks"]
    )
    return Workflow(d["workflow"], sets)


@pytest.fixture(scope="session")
def seed_platform() -> Platform:
    d = _load("summit-30.yaml")
    types = tuple(
        NodeType(n["type"], n["count"], n["cores"], parse_gpus(n["gpus"]), parse_memory(n["memory"]))
        for n in d["nodes"]
    )
    return Platform(d["platform"], types)


@pytest.fixture(scope="session")
def seed_results(seed_workflow: Workflow, seed_platform: Platform) -> list[SimResult]:
    """The seed in sync, workload and task mode under fifo: makespans 2000, 1800 and 1700 s."""
    return [run_simulation(seed_workflow, seed_platform, mode) for mode in MODES]


@pytest.fixture(scope="session")
def many_sets_result() -> SimResult:
    """6,000 one-task sets of scattered run times: more busy steps than a plot draws, more sets than it labels."""
    sets = tuple(TaskSet(f"s{i}", 1, Resources.of(1), 1.0 + (i * 7919 % 1000) / 100) for i in range(6000))
    return run_simulation(Workflow("many", sets), Platform("small", (NodeType("n", 2, 16),)), "task")
