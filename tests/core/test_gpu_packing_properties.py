"""Random packings through the engine, for every policy, on random heterogeneous GPU nodes (MPS, MIG and exclusive
mixed, models with and without known memory): the ledger stays exact after every step (validate: no GPU over its
units or its memory, MIG instances valid and disjoint), every task runs on a node of an allowed model, and every
task ends up run."""

from __future__ import annotations

import random

from hypothesis import event, given, settings
from hypothesis import strategies as st

from hetflow.core.engine import Engine
from hetflow.core.instructions import Launch
from hetflow.core.stimuli import TaskFinished, TasksSubmitted
from hetflow.policies import POLICIES, make_policy
from hetflow.spec.gpus import GIB, gpu_memory_of, mig_instances
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import GPU_UNIT, Resources, model_allows
from hetflow.spec.workflow import TaskSet

_KINDS = [  # (model, sharing)
    ("A100-80GB", "mig"),
    ("A100-40GB", "mig"),
    ("H200", "mig"),
    ("A100-40GB", "mps"),
    ("V100M32", "mps"),
    ("G2", "mps"),  # a model whose memory is unknown
    (None, "mps"),
    ("H100", "exclusive"),
    ("T4", "exclusive"),
]

node_types = st.lists(
    st.tuples(st.sampled_from(_KINDS), st.integers(1, 2), st.integers(1, 8), st.integers(0, 3)),
    min_size=1,
    max_size=4,
)
task_sets = st.lists(
    st.tuples(
        st.integers(1, 12),  # count
        st.integers(0, 2),  # cores
        st.sampled_from([0, 0.1, 0.125, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 0.9, 1, 2]),  # gpus
        st.sampled_from([0, 5 * GIB, 12 * GIB, 30 * GIB, 70 * GIB]),  # gpu memory
        st.sampled_from([(), ("A100",), ("h200", "V100M32"), ("G2",), ("T4", "H100")]),
        st.integers(1, 20),  # run time
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=600, deadline=None)
@given(node_types, task_sets, st.sampled_from(sorted(POLICIES)), st.sampled_from(["task", "sync"]), st.randoms())
def test_random_gpu_packings_keep_the_ledger_exact(
    types: list[tuple[tuple[str | None, str], int, int, int]],
    sets: list[tuple[int, int, float, int, tuple[str, ...], int]],
    policy: str,
    mode: str,
    rnd: random.Random,
) -> None:
    platform = Platform(
        "p",
        tuple(
            NodeType(f"t{k}", count, cores, gpus * GPU_UNIT, 0, 1.0, 0.0, model, sharing)
            for k, ((model, sharing), count, cores, gpus) in enumerate(types)
        ),
    )
    workflow = [
        TaskSet(f"s{k}", count, Resources(cores, round(g * GPU_UNIT), 0, gm if g else 0, models), float(rt))
        for k, (count, cores, g, gm, models, rt) in enumerate(sets)
    ]
    workflow = [s for s in workflow if platform.can_run(s)]  # check_fits refuses the others
    nodes = platform.nodes()
    model_of = {n.name: n.gpu_model for n in nodes}
    engine = Engine(nodes, mode, make_policy(policy))
    out = engine.handle(0.0, [TasksSubmitted(tuple(workflow))])
    engine.validate()
    running: list[tuple[Launch, int]] = []  # (launch, task index): tasks end one at a time, in random order
    done, now = 0, 0.0
    for _ in range(10_000):
        for launch in out:
            if isinstance(launch, Launch):
                running += [(launch, index) for index in range(launch.start, launch.stop)]
                s = next(s for s in workflow if s.name == launch.set)
                assert model_allows(s.resources.gpu_models, model_of[launch.node])
                for share in [share for g in launch.gpus for share in g if len(share) > 2]:
                    event("a MIG instance was granted")
                    p, _ = mig_instances(model_of[launch.node])[share[2]]  # it covers the task's share and memory
                    assert p.compute * GPU_UNIT >= 7 * launch.gpu_units
                    assert p.slices * gpu_memory_of(model_of[launch.node]) // 8 >= s.resources.gpu_memory
        if not running:
            break
        if len(running) > 1:
            event("tasks ran side by side")
        launch, index = running.pop(rnd.randrange(len(running)))
        done += 1
        now += 1.0
        out = engine.handle(now, [TaskFinished(launch.launch, index)])
        engine.validate()
    assert done == sum(s.count for s in workflow)
    assert engine.ledger.total_free_gpu == platform.gpu_units
