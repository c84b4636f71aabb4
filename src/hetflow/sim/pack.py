"""Cluster trace replay (`hetflow pack`), the way the FGD paper evaluates packing: the ledger and the policies
without the event loop.

Pods are drawn at random (with the seed) from the workload until their GPU request reaches `inflate` x the cluster's
GPUs; each is placed once, in draw order, by the policy (through the same placement view the engine gives it) and
never leaves; a pod that fits nowhere is counted and the replay goes on. The measure is the curve of unallocated GPU
% (100 - allocated GPU units / total) against arrived GPU % (GPU requested so far, failed pods included), read at
every whole percent: the value at k is the state once every pod whose arrival stays within k% is placed.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from hetflow.core.ledger import Ledger
from hetflow.core.policy import Policy
from hetflow.core.view import ReadySet
from hetflow.policies import make_policy
from hetflow.policies.random_fit import RandomFit
from hetflow.sim.openb import Pod
from hetflow.spec.platform import Node
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import Variant


@dataclass(slots=True)
class PodSet:
    """One pod as a ready set of one task (the ReadySet a policy sees)."""

    name: str
    sid: int
    variants: tuple[Variant, ...]
    count: int = 1
    rank: float = 0.0
    n_ready: int = 1

    @property
    def seq(self) -> int:
        return self.sid


class PackView:
    """The PlacementView of a replay: the whole ledger (no partitions) and nothing running. The ledger keeps a pod
    to its GPU models (need.gpu_models)."""

    now = 0.0
    idle = True
    scoped = False

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self.passes = 0
        self.nodes = ledger.nodes
        self.free_cores = ledger.free_cores
        self.whole_free = ledger.whole_free
        self.free_gpu = ledger.free_gpu
        self.free_gpu_units = ledger.free_gpu_total
        self.open_nodes = ledger.open_nodes
        self.fit_count = ledger.fit_count
        self._usable: dict[Resources, list[int]] = {}

    @property
    def live_nodes(self) -> int:
        return self._ledger.n_alive

    def usable_nodes(self, s: ReadySet, variant: int) -> list[int]:
        need = s.variants[variant].resources
        nodes = self._usable.get(need)
        if nodes is None:
            led = self._ledger
            nodes = self._usable[need] = [i for i in range(len(led.nodes)) if led.could_ever_fit(i, need)]
        return nodes

    def available_at(self, node: int, need: Resources, /) -> float:
        return 0.0 if self._ledger.fit_count(node, need, 1) else math.inf

    def eligible_nodes(self, s: ReadySet, variant: int, /) -> list[int]:
        return self.usable_nodes(s, variant)

    def arrival(self, s: ReadySet, node: int, /) -> float:
        return 0.0  # a replay moves no data

    def link(self, src: str, dst: str, /) -> None:
        return None

    def cold_start(self, s: ReadySet, variant: int, node: int, /) -> float:
        return 0.0  # a trace replay deploys nothing


def draw(pods: Sequence[Pod], total_gpu: int, inflate: float, seed: int) -> list[Pod]:
    """Pods drawn at random (with replacement) until their GPU request reaches inflate x total_gpu."""
    rng = random.Random(seed)
    target = inflate * total_gpu
    if not any(p.need.gpu_units for p in pods):
        return list(pods)
    out: list[Pod] = []
    asked = 0
    while asked < target:
        p = rng.choice(pods)
        out.append(p)
        asked += p.need.gpu_units
    return out


@dataclass
class Replay:
    """One replay: unallocated GPU % at each whole arrived percent (index = percent), the pods that failed, and where
    each pod went (node index, -1 for none)."""

    curve: list[float]
    failed: int
    placed: int
    nodes: list[int]


def replay(nodes: Sequence[Node], pods: Sequence[Pod], policy: Policy, points: int) -> Replay:
    """Place `pods` in order with `policy`; the curve has `points` values (arrived 0%, 1%, ... points-1 %)."""
    ledger = Ledger()
    for n in nodes:
        ledger.add(n)
    total = sum(n.gpu_units for n in nodes) or 1
    view = PackView(ledger)
    curve: list[float] = []
    arrived = failed = placed = 0
    where: list[int] = []
    for sid, pod in enumerate(pods):
        arrived += pod.need.gpu_units
        while len(curve) < points and arrived * 100 > len(curve) * total:
            curve.append(100.0 * ledger.total_free_gpu / total)
        s = PodSet(pod.name, sid, (Variant(pod.need, 0.0),))
        view.passes = sid
        choice = next(iter(policy.place(s, view)), None)
        if choice is None:
            failed += 1
            where.append(-1)
            continue
        node, variant, _ = choice
        ledger.allocate(node, s.variants[variant].resources, 1)
        s.n_ready = 0
        placed += 1
        where.append(node)
    while len(curve) < points:
        curve.append(100.0 * ledger.total_free_gpu / total)
    ledger.validate()
    return Replay(curve, failed, placed, where)


def new_policy(name: str, seed: int) -> Policy:
    """A fresh policy; random draws with the replay's seed."""
    return RandomFit(seed) if name == "random" else make_policy(name)


def _job(args: tuple[Sequence[Node], Sequence[Pod], str, int, float]) -> tuple[str, int, Replay, float]:
    nodes, pods, name, seed, inflate = args
    t0 = time.perf_counter()
    total = sum(n.gpu_units for n in nodes)
    drawn = draw(pods, total, inflate, seed)
    r = replay(nodes, drawn, new_policy(name, seed), int(inflate * 100 + 1e-9) + 1)
    return name, seed, r, time.perf_counter() - t0


@dataclass
class PackResult:
    """A policy over all seeds: the median curve, its spread, the value at 100% arrived and the failed pods."""

    policy: str
    seeds: list[int]
    curves: list[list[float]] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    cpu_seconds: float = 0.0

    @property
    def median_curve(self) -> list[float]:
        return [statistics.median(v) for v in zip(*self.curves, strict=True)]

    @property
    def band(self) -> tuple[list[float], list[float]]:
        """Per arrived percent, the lowest and the highest value over the seeds."""
        cols = list(zip(*self.curves, strict=True))
        return [min(v) for v in cols], [max(v) for v in cols]

    @property
    def at_100(self) -> float:
        return statistics.median(c[100] for c in self.curves)

    def to_json(self) -> dict[str, object]:
        at = [c[100] for c in self.curves]
        return {
            "policy": self.policy,
            "unallocated_gpu_pct_at_100": round(self.at_100, 3),
            "unallocated_gpu_pct_at_100_min": round(min(at), 3),
            "unallocated_gpu_pct_at_100_max": round(max(at), 3),
            "curve": [[k, round(v, 3)] for k, v in enumerate(self.median_curve)],
            "spread": [[k, round(a, 3), round(b, 3)] for k, (a, b) in enumerate(zip(*self.band, strict=True))],
            "failed_pods": statistics.median(self.failed),
            "seeds": self.seeds,
            "cpu_seconds": round(self.cpu_seconds, 2),
        }


def pack(
    nodes: Sequence[Node],
    pods: Sequence[Pod],
    policies: Sequence[str],
    seeds: Sequence[int],
    inflate: float = 1.3,
    workers: int = 1,
) -> list[PackResult]:
    """Every policy over every seed (in a process pool when workers > 1), in the order given."""
    if inflate < 1:
        raise ValueError("inflate must be >= 1, so that the curve reaches 100% arrived")
    jobs = [(nodes, pods, name, seed, inflate) for name in policies for seed in seeds]
    results = {name: PackResult(name, list(seeds)) for name in policies}
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            done = list(pool.map(_job, jobs))
    else:
        done = [_job(j) for j in jobs]
    for name, _, r, seconds in done:  # in job order: by policy, then seed
        res = results[name]
        res.curves.append(r.curve)
        res.failed.append(r.failed)
        res.cpu_seconds += seconds
    return list(results.values())


__all__ = ["PackResult", "PackView", "PodSet", "Replay", "draw", "pack", "replay"]
