"""Partitions: per-node quotas cut from shares, checks of bad shares, and the engine keeping every task of a
partition within its quota (and every node within its capacity) while partitions are resized under load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hetflow.cli import main
from hetflow.core.engine import Engine
from hetflow.core.partitions import Partitions, Share, parse_shares, repartitioned
from hetflow.core.triggers import Actions, Trigger
from hetflow.errors import SpecError
from hetflow.sim.simulator import run_simulation
from hetflow.spec.platform import Node, NodeType, Platform
from hetflow.spec.resources import GPU_UNIT, Resources
from hetflow.spec.workflow import TaskSet, Workflow


def test_quotas_add_up_to_each_node_and_follow_the_shares() -> None:
    parts = Partitions({"uq": Share(0.5), "ddmd": Share(0.5, 1.0)})
    for i in range(100):
        parts.add(Node(f"n-{i}", "n", 1, GPU_UNIT, 0))
    parts.add(Node("big", "big", 42, 6 * GPU_UNIT, 0))
    parts.validate([0] * 101, [0] * 101)
    uq, ddmd = parts.index["uq"], parts.index["ddmd"]
    small_uq = sum(parts.quota_cores[uq][:100])
    assert 40 <= small_uq <= 60  # 1-core nodes split 50/50 go about half to each side, not all to one
    assert parts.quota_cores[uq][100] == 21 and parts.quota_cores[ddmd][100] == 21
    assert parts.quota_gpu[ddmd][100] == 6 * GPU_UNIT and parts.quota_gpu[uq][100] == 0
    assert parts.quota_cores[0][100] == 0  # the default partition gets what is left: nothing here
    assert parts.totals("ddmd")[1] == 106.0


def test_bad_shares_are_one_clear_error() -> None:
    with pytest.raises(SpecError, match="would take 150% of the cores"):
        parse_shares({"a": {"cores": 1.0}, "b": {"cores": "50%"}})
    with pytest.raises(SpecError, match="not a share"):
        parse_shares({"a": {"cores": "half"}})
    with pytest.raises(SpecError, match="cores"):
        parse_shares({"a": {"cores": 1.5}})
    with pytest.raises(SpecError, match="fraction"):
        parse_shares({"a": {"disk": 0.5}})
    shares = parse_shares({"a": {"cores": 0.5}, "b": {"cores": 0.5}})
    with pytest.raises(SpecError, match="shrink one before growing another"):
        repartitioned(shares, {"a": {"cores": 0.75}})
    assert repartitioned(shares, {"a": {"cores": 0.25}}) == {"a": Share(0.25, 0.0)}
    assert repartitioned(shares, {"a": {"cores": 0.75}, "b": {"cores": 0.25}})["a"] == Share(0.75, 0.0)


def test_a_partition_never_runs_more_than_its_share() -> None:
    plat = Platform("p", (NodeType("n", 3, 4, GPU_UNIT, 0),))
    wf = Workflow(
        "w",
        (
            TaskSet("a", 30, Resources.of(1), 10.0, partition="a"),
            TaskSet("b", 30, Resources.of(1, 0.5), 10.0, partition="b"),
        ),
    )
    r = run_simulation(wf, plat, partitions={"a": {"cores": 0.25}, "b": {"cores": 0.75, "gpus": 1}})
    peak = {"a": 0, "b": 0}
    for t in {iv.start for iv in r.intervals}:
        for name in peak:
            busy = sum(iv.n * iv.cores for iv in r.intervals if iv.set == name and iv.start <= t < iv.end)
            peak[name] = max(peak[name], busy)
    assert peak == {"a": 3, "b": 6}  # 25% of 3 x 4 cores; b: 75% of the cores, 2 half-GPU tasks per GPU
    assert r.tasks == 60


def test_unknown_partition_is_refused() -> None:
    plat = Platform("p", (NodeType("n", 1, 4, 0, 0),))
    wf = Workflow("w", (TaskSet("a", 1, Resources.of(1), 1.0, partition="nope"),))
    with pytest.raises(Exception, match="partition 'nope'"):
        run_simulation(wf, plat, partitions={"a": {"cores": 0.5}})


class QuotaWatch:
    """Engine check: the ledger is exact, and a partition over its quota on a node (it shrank under load) never
    starts anything more there until it is back under."""

    def __init__(self) -> None:
        self.last: dict[tuple[int, int], int] = {}
        self.steps = 0

    def __call__(self, engine: Engine) -> None:
        engine.validate()
        self.steps += 1
        parts = engine.partitions
        assert parts is not None
        for k in range(len(parts.names)):
            for i in range(len(engine.nodes)):
                used, quota = parts.used_cores[k][i], parts.quota_cores[k][i]
                if used > quota:
                    assert used <= self.last.get((k, i), 0), "a shrunk partition started a task over its quota"
                self.last[k, i] = used


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.tuples(st.integers(1, 2), st.integers(1, 40), st.integers(1, 30)), min_size=2, max_size=5),
    cuts=st.lists(st.tuples(st.floats(0.0, 1.0), st.booleans(), st.integers(1, 30)), min_size=1, max_size=4),
    nodes=st.integers(1, 4),
)
def test_resizing_under_load_never_exceeds_capacity(
    sizes: list[tuple[int, int, int]], cuts: list[tuple[float, bool, int]], nodes: int
) -> None:
    plat = Platform("p", (NodeType("n", nodes, 6, 2 * GPU_UNIT, 0),))
    sets = tuple(
        TaskSet(f"s{j}", n, Resources.of(c, 0.5 if j % 2 else 0), float(rt), partition="a" if j % 2 else "b")
        for j, (c, n, rt) in enumerate(sizes)
    )

    def resize_to(share: float, preempt: bool, count: int) -> Trigger:
        a = min(max(share, 0.34), 0.66)  # every partition keeps room for the largest task

        def then(ctx: Actions) -> None:  # both at once: one grows as the other shrinks
            ctx.repartition({"a": {"cores": a}, "b": {"cores": 1 - a}}, preempt=preempt)

        return Trigger(sets[0].name, then, count=min(count, sets[0].count))

    triggers = [resize_to(share, preempt, k) for share, preempt, k in cuts]
    watch = QuotaWatch()
    r = run_simulation(
        Workflow("w", sets),
        plat,
        partitions={"a": {"cores": 0.5, "gpus": 1.0}, "b": {"cores": 0.5}},
        triggers=triggers,
        check=watch,
    )
    assert r.tasks == sum(s.count for s in sets)  # preempted tasks ran again; nothing lost
    assert sum(m.kind == "trigger" for m in r.marks) == len(triggers)  # each trigger fired exactly once
    assert sum(m.kind == "resize" for m in r.marks) == len(triggers)
    for node in plat.nodes():
        for t in {iv.start for iv in r.intervals if iv.node == node.name}:
            live = [iv for iv in r.intervals if iv.node == node.name and iv.start <= t < iv.end]
            assert sum(iv.n * iv.cores for iv in live) <= node.cores
            assert sum(iv.n * iv.gpu_units for iv in live) <= node.gpu_units


def test_command_line_partitions(tmp_path: Path) -> None:
    wf = tmp_path / "w.yaml"
    wf.write_text(
        "workflow: parts\ntasks:\n"
        "  - {name: a, count: 8, cores: 1, runtime: 10, partition: uq}\n"
        "  - {name: b, count: 8, cores: 1, runtime: 10, partition: dd}\n"
    )
    pf = tmp_path / "p.yaml"
    pf.write_text("platform: p\nnodes: [{type: n, cores: 4}]\n")
    ok = CliRunner().invoke(
        main, ["simulate", str(wf), "-p", str(pf), "--partition", "uq=25%", "--partition", "dd=0.75", "--json"]
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)[0]["makespan_s"] == 80.0  # a: 1 core for 8 x 10 s
    for args, message in (
        ([], "targets partition 'uq'"),
        (["--partition", "uq=75%", "--partition", "dd=0.75"], "150% of the cores"),
        (["--partition", "uq"], "NAME=CORES"),
    ):
        bad = CliRunner().invoke(main, ["simulate", str(wf), "-p", str(pf), *args])
        assert bad.exit_code == 2 and message in bad.output and "Traceback" not in bad.output
