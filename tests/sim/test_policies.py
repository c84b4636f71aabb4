"""critical-path and heft against a textbook critical-path list scheduler, written here independently.

The reference: tasks one by one; ready tasks ordered by bottom level (longest path to a leaf, by run time);
at every event each ready task in that order starts on the first node where it fits; speed-blind placement.
Run on the WfCommons instances in ../shared (skipped when absent) and on generated DAGs.
"""

from __future__ import annotations

import heapq
import random
from pathlib import Path

import pytest

from hetflow.sim.simulator import run_simulation
from hetflow.spec import load_workflow
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import TaskSet, Workflow

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "wfinstances"
INSTANCES = sorted(SHARED.glob("*.json")) if SHARED.is_dir() else []


def textbook_makespan(wf: Workflow, plat: Platform) -> float:
    nodes = plat.nodes()
    free = [n.cores for n in nodes]
    tasks = [(s, i) for s in wf.sets for i in range(s.count)]
    rank: dict[str, float] = {}
    for name in reversed(wf.order):
        rank[name] = wf[name].runtime + max((rank[c] for c in wf.children[name]), default=0.0)
    left = {s.name: len(set(s.after)) for s in wf.sets}
    remaining = {s.name: s.count for s in wf.sets}
    ready: list[tuple[float, int, int]] = []
    index = {s.name: k for k, s in enumerate(wf.sets)}
    for s in wf.sets:
        if not left[s.name]:
            for i in range(s.count):
                ready.append((-rank[s.name], index[s.name], i))
    running: list[tuple[float, int, int, int]] = []
    now = 0.0
    while ready or running:
        ready.sort()
        waiting = []
        for key in ready:
            s = wf.sets[key[1]]
            node = next((j for j in range(len(nodes)) if free[j] >= s.resources.cores), None)
            if node is None:
                waiting.append(key)
                continue
            free[node] -= s.resources.cores
            heapq.heappush(running, (now + s.runtime / nodes[node].speed, node, key[1], key[2]))
        ready = waiting
        now, node, k, _ = heapq.heappop(running)
        batch = [(node, k)]
        while running and running[0][0] == now:
            _, n2, k2, _ = heapq.heappop(running)
            batch.append((n2, k2))
        for node, k in batch:
            s = wf.sets[k]
            free[node] += s.resources.cores
            remaining[s.name] -= 1
            if remaining[s.name] == 0:
                for c in wf.children[s.name]:
                    left[c] -= 1
                    if left[c] == 0:
                        ready.extend((-rank[c], index[c], i) for i in range(wf[c].count))
    del tasks
    return now


def generated(seed: int) -> Workflow:
    rng = random.Random(seed)
    sets = []
    for i in range(40):
        after = tuple(sorted({f"G{rng.randrange(i)}" for _ in range(rng.randint(0, 3))})) if i else ()
        sets.append(TaskSet(f"G{i}", 1, Resources.of(rng.choice([1, 1, 2, 4])), float(rng.randint(1, 100)), after))
    return Workflow(f"generated-{seed}", tuple(sets))


HOMOGENEOUS = [
    Platform("one-4", (NodeType("n", 1, 4),)),
    Platform("two-8", (NodeType("n", 2, 8),)),
]
HETEROGENEOUS = [
    Platform("slow-first", (NodeType("slow", 2, 4, speed=0.5), NodeType("fast", 1, 4, speed=2.0))),
    Platform("mixed", (NodeType("a", 1, 8, speed=1.0), NodeType("b", 2, 4, speed=1.5), NodeType("c", 1, 2, speed=3.0))),
]


def workflows() -> list[Workflow]:
    return [load_workflow(p) for p in INSTANCES] + [generated(seed) for seed in range(6)]


@pytest.mark.parametrize("plat", HOMOGENEOUS + HETEROGENEOUS, ids=lambda p: p.name)
def test_critical_path_at_least_as_good_as_textbook(plat: Platform) -> None:
    if not INSTANCES:
        pytest.skip("../shared/data/wfinstances is absent; generated workflows are still checked below")
    for wf in workflows():
        ours = run_simulation(wf, plat, "task", "critical-path").makespan_s
        assert ours <= textbook_makespan(wf, plat) + 1e-6, wf.name


@pytest.mark.parametrize("plat", HETEROGENEOUS, ids=lambda p: p.name)
def test_heft_at_least_as_good_on_heterogeneous_platforms(plat: Platform) -> None:
    for wf in workflows():
        ours = run_simulation(wf, plat, "task", "heft").makespan_s
        assert ours <= textbook_makespan(wf, plat) + 1e-6, wf.name


def test_generated_workflows_without_shared_data() -> None:
    for seed in range(6):
        wf = generated(seed)
        for plat in HOMOGENEOUS:
            assert run_simulation(wf, plat, "task", "critical-path").makespan_s <= textbook_makespan(wf, plat) + 1e-6
