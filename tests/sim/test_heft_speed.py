"""heft's fast paths against the straightforward code they replaced, written out here as the reference.

- available_at (core/estimate.py) remembers its answers per node until something changes there; the reference walks
  the node's running launches every time. Both are asked about every node, many needs and every partition after each
  step of random simulations and of random real-run-like stimulus sequences (tasks that end one by one, fail, are
  cancelled or preempted, nodes that leave or join, partitions resized, clocks past the estimates).
- Heft finds its smallest candidate with a heap; the reference scans every (variant, node) for every task. Both must
  produce the same schedules, instruction for instruction: in random simulations, under the random stimuli above,
  and in three hand-made cases that random runs rarely reach (a tie the scan breaks by skipping a candidate, and a
  node whose other variants move after a task goes to it or waits for it).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hetflow.core.engine import Engine
from hetflow.core.instructions import Cancel, Instruction, Launch, LaunchGroup
from hetflow.core.ledger import Ledger
from hetflow.core.partitions import Share
from hetflow.core.policy import Placement, Policy
from hetflow.core.stimuli import (
    CancelRequested,
    NodeJoined,
    NodeLost,
    Resize,
    Stimulus,
    TaskFailed,
    TaskFinished,
    TasksSubmitted,
)
from hetflow.core.view import PlacementView, ReadySet
from hetflow.errors import EngineError
from hetflow.policies import POLICIES
from hetflow.policies.heft import Heft
from hetflow.sim.simulator import run_simulation
from hetflow.spec.platform import Node, NodeType, Platform
from hetflow.spec.resources import GPU_UNIT, Resources
from hetflow.spec.workflow import TaskSet, Variant, Workflow

GIB = 1 << 30


# ---- the reference: the code before the fast paths -------------------------------------------------------------------
ENGINES: list[Engine] = []  # the engines made so far: a ReferenceHeft reads the last one's running launches


class TrackedEngine(Engine):
    """An Engine that a ReferenceHeft can find (a policy sees only its placement view)."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        ENGINES.append(self)


def reference_available_at(engine: Engine, node: int, need: Resources, k: int) -> float:
    """Estimated time at which one task needing `need` fits on the node (inf when it never will), within partition k
    (-1: the run has none)."""
    led, parts = engine.ledger, engine.partitions
    if led.fit_count(node, need, 1) and (parts is None or parts.fit(k, node, need, 1)):
        return engine.now
    if not led.could_ever_fit(node, need):
        return float("inf")
    gpus = list(led.free_gpu[node])
    cores, mem = led.free_cores[node], led.free_memory[node]
    p_cores, p_units = 0, 0
    if parts is not None:
        p_cores = parts.quota_cores[k][node] - parts.used_cores[k][node]
        p_units = parts.quota_gpu[k][node] - parts.used_gpu[k][node]
        if need.cores > parts.quota_cores[k][node] or need.gpu_units > parts.quota_gpu[k][node]:
            return float("inf")
    there = [rec for rec in engine.launches() if any(p[0] == node for p in rec.parts)]
    for rec in sorted(there, key=lambda r: r.est_end):
        for part in rec.parts_on(node):
            live = rec.live(part)
            cores += rec.need.cores * len(live)
            mem += rec.need.memory * len(live)
            if parts is not None and rec.set.scope == k:
                p_cores += rec.need.cores * len(live)
                p_units += rec.need.gpu_units * len(live)
            for j in live if part[3] else ():
                for g, u in part[3][j]:
                    gpus[g] += u
        if Ledger.fit_count_on(gpus, cores, mem, need, 1) and (
            parts is None or (p_cores >= need.cores and p_units >= need.gpu_units)
        ):
            return max(engine.now, rec.est_end)
    return float("inf")


class ReferenceHeft:
    """heft as it was: every (variant, node) scanned for every task, available_at worked out every time."""

    name = "heft-reference"

    def __init__(self) -> None:
        self._pass = -1
        self._reserved: dict[int, float] = {}

    def priority(self, s: ReadySet, view: PlacementView) -> tuple[float, ...]:
        return (-s.rank, s.seq)

    def place(self, s: ReadySet, view: PlacementView) -> Iterator[Placement]:
        engine = ENGINES[-1]
        k = -1 if engine.partitions is None else engine.sets[s.name].scope
        now = view.now
        if view.passes != self._pass:
            self._pass, self._reserved = view.passes, {}
        reserved = self._reserved
        waiting = 0
        while s.n_ready > waiting:
            best: tuple[float, int, int, int] | None = None
            for variant, v in enumerate(s.variants):
                need = v.resources
                for i in view.usable_nodes(s, variant):
                    dur = v.runtime / view.nodes[i].speed
                    if i not in reserved and view.fit_count(i, need, 1):
                        cand = (now + dur, 0, i, variant)
                    elif view.idle or (best is not None and now + dur >= best[0]):
                        continue
                    else:
                        start = max(reference_available_at(engine, i, need, k), reserved.get(i, now))
                        cand = (start + dur, 1, i, variant)
                    if best is None or cand < best:
                        best = cand
            if best is None:
                return
            finish, waits, node, variant = best
            if waits:
                reserved[node] = finish
                waiting += 1
                continue
            yield node, variant, view.fit_count(node, s.variants[variant].resources, s.n_ready - waiting)


# ---- random workflows, platforms, needs ------------------------------------------------------------------------------
NEEDS = [
    Resources(1),
    Resources(3),
    Resources(8),
    Resources(2, GPU_UNIT // 4),
    Resources(1, GPU_UNIT // 2),
    Resources(2, GPU_UNIT),
    Resources(1, 2 * GPU_UNIT),
    Resources(1, GPU_UNIT + GPU_UNIT // 2),
    Resources(2, 0, 3 * GIB),
    Resources(0, GPU_UNIT // 4),
    Resources(40),
]


@st.composite
def workflows(draw: st.DrawFn, partitions: tuple[str, ...] = ()) -> Workflow:
    n = draw(st.integers(1, 8))
    sets = []
    for i in range(n):
        after = tuple(sorted(draw(st.sets(st.sampled_from([f"S{j}" for j in range(i)]), max_size=2)))) if i else ()
        cores = draw(st.integers(1, 4))
        gpus = draw(st.sampled_from([0, 0, 0.25, 0.5, 1, 2]))
        memory = draw(st.sampled_from([0, 0, GIB, 3 * GIB]))
        runtime = float(draw(st.sampled_from([0, 1, 5, 7.5, 10, 30, 0.1])))
        variants: tuple[Variant, ...] = ()
        if draw(st.booleans()):
            variants = (
                Variant(
                    Resources.of(draw(st.integers(1, 3)), draw(st.sampled_from([0, 0.5, 1]))),
                    float(draw(st.integers(1, 40))),
                    draw(st.sampled_from([None, None, "t0", "big"])),
                ),
            )
        partition = draw(st.sampled_from(partitions)) if partitions else None
        count = draw(st.integers(1, 10))
        sets.append(
            TaskSet(
                f"S{i}",
                count,
                Resources.of(cores, gpus, memory),
                runtime,
                after,
                variants=variants,
                partition=partition,
            )
        )
    return Workflow("random", tuple(sets))


@st.composite
def platforms(draw: st.DrawFn) -> Platform:
    types = [
        NodeType(
            f"t{k}",
            draw(st.integers(1, 3)),
            draw(st.integers(2, 10)),
            draw(st.integers(0, 3)) * GPU_UNIT,
            draw(st.sampled_from([0, 4 * GIB, 16 * GIB])),
            draw(st.sampled_from([0.5, 1.0, 1.5, 2.0])),
        )
        for k in range(draw(st.integers(1, 3)))
    ]
    types.append(NodeType("big", 1, 12, 4 * GPU_UNIT, 0, 1.0))  # every random task fits somewhere
    return Platform("random", tuple(types))


SHARES = {"a": Share(0.5, 0.5), "b": Share(0.5, 0.5)}


def check_available_at(engine: Engine) -> None:
    """available_at answers as the reference does on every node, for every need, in every partition; twice (the
    second answer comes from the memo)."""
    needs = list(dict.fromkeys([*NEEDS, *(v.resources for s in engine.sets.values() for v in s.variants)]))
    parts = engine.partitions
    scopes = [(None, -1)] if parts is None else [(name, k) for k, name in enumerate(parts.names)]
    for name, k in scopes:
        for node in range(len(engine.nodes)):
            for need in needs:
                want = reference_available_at(engine, node, need, k)
                assert engine.available_at(node, need, name) == want, (node, need, name)
                assert engine.available_at(node, need, name) == want, (node, need, name)


# ---- simulations -----------------------------------------------------------------------------------------------------
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    wf=workflows(),
    plat=platforms(),
    mode=st.sampled_from(["task", "sync", "workload"]),
    policy=st.sampled_from(["heft", "fifo"]),
)
def test_available_at_as_the_reference_during_simulations(wf: Workflow, plat: Platform, mode: str, policy: str) -> None:
    run_simulation(wf, plat, mode, policy, check=check_available_at)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wf=workflows(partitions=("a", "b")), plat=platforms(), mode=st.sampled_from(["task", "sync"]))
def test_available_at_as_the_reference_within_partitions(wf: Workflow, plat: Platform, mode: str) -> None:
    try:
        run_simulation(wf, plat, mode, "heft", check=check_available_at, partitions=SHARES)
    except EngineError as e:  # a partition may hold too little of any node for some set: the run stops, checked so far
        if "can never run" not in str(e):
            raise


def schedules(wf: Workflow, plat: Platform, mode: str, partitions: dict[str, Share] | None = None) -> None:
    """heft and the reference heft, same intervals (every task on the same node at the same time)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(POLICIES, "heft-reference", ReferenceHeft)
        mp.setattr("hetflow.sim.simulator.Engine", TrackedEngine)
        runs = []
        for policy in ("heft", "heft-reference"):
            try:
                res = run_simulation(wf, plat, mode, policy, partitions=partitions)
                runs.append((res.intervals, res.makespan_s, res.steps))
            except EngineError as e:
                if "can never run" not in str(e):
                    raise
                runs.append(([], str(e), 0))
    assert runs[0] == runs[1]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wf=workflows(), plat=platforms(), mode=st.sampled_from(["task", "sync", "workload"]))
def test_heft_schedules_as_the_reference(wf: Workflow, plat: Platform, mode: str) -> None:
    schedules(wf, plat, mode)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wf=workflows(partitions=("a", "b")), plat=platforms(), mode=st.sampled_from(["task", "sync"]))
def test_heft_schedules_as_the_reference_within_partitions(wf: Workflow, plat: Platform, mode: str) -> None:
    schedules(wf, plat, mode, SHARES)


def test_heft_schedules_as_the_reference_at_benchmark_shape() -> None:
    """A smaller instance of benchmarks/heft.py: sets of 50 tasks with variants, three node speeds."""
    rng = random.Random(7)
    sets = []
    for i in range(24):
        after = tuple(sorted({f"H{rng.randrange(i)}" for _ in range(rng.randint(0, 2))})) if i else ()
        cores, runtime = rng.choice([1, 2, 4, 8]), float(rng.randint(10, 300))
        variants: tuple[Variant, ...] = ()
        kind = rng.random()
        if kind < 0.4:
            variants = (Variant(Resources.of(max(1, cores // 2), rng.choice([0.25, 0.5, 1])), runtime * 0.4),)
        elif kind < 0.7:
            variants = (Variant(Resources.of(cores * 2), runtime * 0.6),)
        elif kind < 0.85:
            variants = (Variant(Resources.of(cores), runtime * 0.7, node_type="fast"),)
        sets.append(TaskSet(f"H{i}", rng.randint(20, 60), Resources.of(cores), runtime, after, variants=variants))
    plat = Platform(
        "three",
        (
            NodeType("slow", 4, 32, 0, 0, 1.0),
            NodeType("fast", 2, 32, 0, 0, 2.0),
            NodeType("gpu", 2, 24, 4 * GPU_UNIT, 0, 1.5),
        ),
    )
    for mode in ("task", "sync"):
        schedules(Workflow("bench", tuple(sets)), plat, mode)


# ---- real-run-like stimuli -------------------------------------------------------------------------------------------
def drive(
    policy: Policy,
    wf: Workflow,
    nodes: list[Node],
    seed: int,
    grouped: bool,
    partitions: dict[str, Share] | None,
    check: Callable[[Engine], None],
) -> list[list[Instruction]]:
    """Feed an engine random stimuli (replayable from the seed while the engines agree); returns its instructions.

    Each step either ends or fails some running tasks, or does one other thing: cancel, lose or add a node, resize."""
    rng = random.Random(seed)
    engine = TrackedEngine(nodes, "task", policy, grouped=grouped, partitions=partitions)
    running: dict[int, set[int]] = {}  # launch -> task indices still running
    log: list[list[Instruction]] = []
    now, joined = 0.0, 0
    stimuli: list[Stimulus] = [TasksSubmitted(wf.sets)]
    for _ in range(40):
        out = engine.handle(now, stimuli)
        log.append(out)
        for ins in out:
            if isinstance(ins, Launch):
                running.setdefault(ins.launch, set()).update(range(ins.start, ins.stop))
            elif isinstance(ins, LaunchGroup):
                running[ins.launch] = {k for _, a, b, _ in ins.parts for k in range(a, b)}
            elif isinstance(ins, Cancel) and ins.launch in running:
                if ins.index is None:
                    del running[ins.launch]
                else:
                    running[ins.launch].discard(ins.index)
        running = {lid: left for lid, left in running.items() if left}
        check(engine)
        if engine.unfinished == 0 or (not running and engine.idle and log[-1] == []):
            break
        now += rng.choice([0.0, 0.5, 3.0, 10.0, 50.0])  # sometimes past what the launches were expected to take
        action = rng.choice(["end", "end", "end", "end", "cancel", "lose", "join", "resize"])
        stimuli = []
        if action == "cancel":
            s = rng.choice(wf.sets)
            stimuli.append(CancelRequested(s.name, rng.choice([None, rng.randrange(s.count)])))
        elif action == "lose" and engine.ledger.n_alive > 1:
            alive = [n.name for n, a in zip(engine.nodes, engine.ledger.alive, strict=True) if a]
            stimuli.append(NodeLost(rng.choice(alive)))
        elif action == "join":
            joined += 1
            stimuli.append(NodeJoined(Node(f"new{joined}", "big", 12, 4 * GPU_UNIT, 0, rng.choice([1.0, 2.0]))))
        elif action == "resize":
            a = rng.choice([0.0, 0.25, 0.5, 0.75])
            stimuli.append(Resize((("a", Share(a, a)), ("b", Share(1 - a, 1 - a))), preempt=rng.random() < 0.5))
        else:
            for lid in rng.sample(sorted(running), k=min(len(running), rng.randint(1, 3))):
                if rng.random() < 0.3:
                    stimuli.append(TaskFinished(lid))  # every task of it still running
                    continue
                for idx in rng.sample(sorted(running[lid]), k=min(len(running[lid]), rng.randint(1, 2))):
                    if rng.random() < 0.8:
                        stimuli.append(TaskFinished(lid, idx))
                    else:
                        stimuli.append(TaskFailed(lid, idx, "boom", retry=rng.random() < 0.8))
        for ins in stimuli:  # what ends now is no longer running
            if isinstance(ins, TaskFinished) and ins.index is None:
                del running[ins.launch]
            elif isinstance(ins, (TaskFinished, TaskFailed)) and ins.index is not None:
                running[ins.launch].discard(ins.index)
    return log


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    wf=workflows(partitions=("a", "b", "a")),
    plat=platforms(),
    seed=st.integers(0, 2**32 - 1),
    grouped=st.booleans(),
    partitioned=st.booleans(),
)
def test_available_at_and_heft_as_the_reference_under_real_run_stimuli(
    wf: Workflow, plat: Platform, seed: int, grouped: bool, partitioned: bool
) -> None:
    """Tasks that end one by one, fail, are cancelled or preempted; nodes that leave or join; partitions resized; a
    clock past the estimates (available_at then answers now for a launch that overran)."""
    wf = Workflow(
        wf.name, tuple(replace(s, retries=1, partition=s.partition if partitioned else None) for s in wf.sets)
    )
    partitions = dict(SHARES) if partitioned else None
    ours = drive(Heft(), wf, plat.nodes(), seed, grouped, partitions, check_available_at)
    theirs = drive(ReferenceHeft(), wf, plat.nodes(), seed, grouped, partitions, lambda engine: None)
    assert ours == theirs


def test_heft_lets_the_scan_decide_when_a_waiting_candidate_would_start_now() -> None:
    """The one case where the smallest candidate is not the scan's answer: a task that would wait for a node whose
    launch overran its estimate (it would start now) loses to an earlier-scanned candidate with the same finish.

    A (2 cores, 1 GPU) runs z, which should have ended at 1; B (4 cores) runs y until 3; C (2 cores, 1 GPU) is slow
    and free. At 2, s can wait for B (4 cores, 2 s: finish 5) or for A (variant on type x, 3 s: finish 5): the scan
    sees B first and skips A, as starting now would not beat 5, and reserves B. Then w (a GPU task) waits for A
    (finish 3) instead of starting on the slow C (finish 6); had A been reserved, it would start on C now."""
    nodes = [Node("a", "x", 2, GPU_UNIT, 0, 1.0), Node("b", "y", 4, 0, 0, 1.0), Node("c", "z", 2, GPU_UNIT, 0, 0.25)]
    first = (TaskSet("y", 1, Resources.of(4), 3.0), TaskSet("z", 1, Resources.of(2), 1.0))
    then = (
        TaskSet("s", 1, Resources.of(4), 2.0, variants=(Variant(Resources.of(2), 3.0, "x"),)),
        TaskSet("w", 1, Resources.of(1, 0.5), 1.0),
    )
    runs = []
    for policy in (Heft(), ReferenceHeft()):
        engine = TrackedEngine(nodes, "task", policy)
        out = engine.handle(0.0, [TasksSubmitted(first)])
        assert sorted((ins.set, ins.node) for ins in out if isinstance(ins, Launch)) == [("y", "b"), ("z", "a")]
        later = engine.handle(2.0, [TasksSubmitted(then)])  # z overran: still running at 2
        runs.append((out, later))
    assert runs[0] == runs[1]
    assert not [ins for ins in runs[0][1] if isinstance(ins, Launch)]  # w waits for A


def test_heft_works_a_node_out_again_after_giving_it_a_task() -> None:
    """After a task goes to a node, when the node frees room for the set's other variant moves too.

    X (4 cores) runs p (2 cores) until 5; Y (4 cores) is slow and free. At 0.5, s's first task goes to X now (2 cores,
    6 s: finish 6.5). Its variant (4 cores, 3 s) then fits X only once both p and that task are done: 6.5, finish 9.5,
    not 8 as before; so the second task starts on Y now (finish 8.5)."""
    nodes = [Node("x", "x", 4, 0, 0, 1.0), Node("y", "y", 4, 0, 0, 0.375)]
    s = TaskSet("s", 2, Resources.of(2), 6.0, variants=(Variant(Resources.of(4), 3.0),))
    runs = []
    for policy in (Heft(), ReferenceHeft()):
        engine = TrackedEngine(nodes, "task", policy)
        out = engine.handle(0.0, [TasksSubmitted((TaskSet("p", 1, Resources.of(2), 5.0),))])
        runs.append((out, engine.handle(0.5, [TasksSubmitted((s,))])))
    assert runs[0] == runs[1]
    assert [(ins.set, ins.node, ins.variant) for ins in runs[0][1] if isinstance(ins, Launch)] == [
        ("s", "x", 0),
        ("s", "y", 1),
    ]


def test_heft_works_out_the_other_variants_of_a_node_it_reserves() -> None:
    """A reservation is a lower bound for the node's other variants: the node may free their room later still.

    X (4 cores) runs p1 (2 cores) until 2 and p2 (2 cores) until 10; Y (4 cores) is slow and free. s's first task
    waits for X (2 cores, 2 s: finish 4). Its variant (4 cores, 0.5 s) fits X at 10, not at 4 (finish 10.5, not
    4.5), so the second task starts on Y now with the variant (finish 5)."""
    nodes = [Node("x", "x", 4, 0, 0, 1.0), Node("y", "y", 4, 0, 0, 0.1)]
    s = TaskSet("s", 2, Resources.of(2), 2.0, variants=(Variant(Resources.of(4), 0.5),))
    first = (TaskSet("p1", 1, Resources.of(2), 2.0), TaskSet("p2", 1, Resources.of(2), 10.0))
    runs = []
    for policy in (Heft(), ReferenceHeft()):
        engine = TrackedEngine(nodes, "task", policy)
        out = engine.handle(0.0, [TasksSubmitted(first)])
        runs.append((out, engine.handle(0.0, [TasksSubmitted((s,))])))
    assert runs[0] == runs[1]
    assert [(ins.set, ins.node) for ins in runs[0][0] if isinstance(ins, Launch)] == [("p2", "x"), ("p1", "x")]
    assert [(ins.set, ins.node, ins.variant) for ins in runs[0][1] if isinstance(ins, Launch)] == [("s", "y", 1)]
