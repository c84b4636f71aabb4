"""Partitions: named shares of every node's cores and GPUs that task sets may target, resizable while tasks run.

A Share gives a partition a fraction of each node's cores and of its GPU units. What the named partitions do not take
is the default partition, where task sets that name none run; with no partition declared it is the whole platform and
nothing here is consulted. Quotas are per node, so that a task of a partition fits where both the node and the
partition's part of it have room: the node ledger stays the one truth about capacity, and partitions only bound it.

Fractions of a node are cut at cumulative floors (quota of partition k = floor(C_k x capacity + r) - floor(C_k-1 x
capacity + r), C_k the sum of the shares up to k), so the quotas of a node never add up to more than it has and each
is within one core (one GPU unit) of its share; the offset r differs per node, so that many small nodes split 50/50
give half their cores to each side instead of all of them to one.

Resizing takes effect for what starts next. A partition that shrank below what it runs now keeps its running tasks
(it starts nothing until it is back under its quota) unless the resize preempts: the engine then stops the newest
tasks over the quota and puts them back in the ready queue (core/engine.py).

GPU units of different partitions may share one physical GPU (fractions are bin-packed by the ledger over the node's
GPUs); a partition's quota bounds its units, not which GPUs they are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hetflow.errors import LedgerError, SpecError
from hetflow.spec.platform import Node
from hetflow.spec.resources import GPU_UNIT, Resources

DEFAULT = ""  # the default partition's name: what the named ones leave
_GOLDEN = (math.sqrt(5) - 1) / 2
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Share:
    """The fractions (0..1) of each node's cores and GPUs that a partition holds."""

    cores: float = 0.0
    gpus: float = 0.0

    def __post_init__(self) -> None:
        for what, v in (("cores", self.cores), ("gpus", self.gpus)):
            if not 0.0 <= v <= 1.0 or math.isnan(v):
                raise SpecError(f"a share of {what} of {v}", place="partitions", fix="give a fraction within 0..1")


def check_shares(shares: Mapping[str, Share]) -> None:
    """The named shares add up to at most the whole platform, per kind of resource."""
    for what in ("cores", "gpus"):
        total = sum(getattr(s, what) for s in shares.values())
        if total > 1.0 + _EPS:
            raise SpecError(
                f"partitions would take {total:.0%} of the {what}",
                place="partitions",
                fix="keep the shares of each resource at 100% or less in all (shrink one before growing another)",
            )
    if DEFAULT in shares:
        raise SpecError("a partition without a name", place="partitions", fix="name every partition")


def parse_shares(spec: Mapping[str, Any]) -> dict[str, Share]:
    """Shares from a mapping such as {"uq": {"cores": 0.5}, "ddmd": {"cores": "50%", "gpus": 1}}."""
    out: dict[str, Share] = {}
    for name, d in spec.items():
        if isinstance(d, Share):
            out[name] = d
            continue
        if not isinstance(d, Mapping) or set(d) - {"cores", "gpus"}:
            raise SpecError(
                f"partition {name!r}: {d!r}", place="partitions", fix='give {"cores": fraction, "gpus": fraction}'
            )
        out[name] = Share(_fraction(d.get("cores", 0)), _fraction(d.get("gpus", 0)))
    check_shares(out)
    return out


def repartitioned(shares: Mapping[str, Share], changes: Mapping[str, Share | Mapping[str, Any]]) -> dict[str, Share]:
    """The new shares of the partitions in `changes` (a mapping may leave out cores or gpus: it keeps what it has),
    checked together against the others: growing one while shrinking another in one change is fine."""
    new: dict[str, Share] = {}
    for name, d in changes.items():
        old = shares.get(name, Share())
        if isinstance(d, Share):
            new[name] = d
        else:
            new[name] = parse_shares({name: {"cores": old.cores, "gpus": old.gpus, **d}})[name]
    check_shares({**shares, **new})
    return new


def describe(shares: Mapping[str, Share], preempt: bool = False) -> str:
    """A resize in words: "resized uq to 25% of cores, 0% of GPUs; ..."."""
    text = "; ".join(f"{n} to {s.cores:.0%} of cores, {s.gpus:.0%} of GPUs" for n, s in shares.items())
    return f"resized {text}" + (" (preempting)" if preempt else "")


def _fraction(v: Any) -> float:
    """0.5, or "50%"."""
    try:
        if isinstance(v, str) and v.strip().endswith("%"):
            return float(v.strip()[:-1]) / 100
        return float(v)
    except (TypeError, ValueError):
        raise SpecError(
            f"{v!r} is not a share", place="partitions", fix='give a fraction such as 0.5 or "50%"'
        ) from None


class Partitions:
    """Per partition and node: quota and use of cores and GPU units. Partition 0 is the default one."""

    def __init__(self, shares: Mapping[str, Share]) -> None:
        check_shares(shares)
        self.names: list[str] = [DEFAULT, *shares]
        self.index: dict[str, int] = {n: k for k, n in enumerate(self.names)}
        self.shares: dict[str, Share] = dict(shares)
        self.nodes: list[Node] = []
        self.alive: list[bool] = []
        k = len(self.names)
        self.quota_cores: list[list[int]] = [[] for _ in range(k)]
        self.quota_gpu: list[list[int]] = [[] for _ in range(k)]
        self.used_cores: list[list[int]] = [[] for _ in range(k)]
        self.used_gpu: list[list[int]] = [[] for _ in range(k)]

    # ---- nodes and shares ------------------------------------------------------------------------------------------
    def add(self, node: Node) -> None:
        """A node joined (its index is the ledger's next one)."""
        self.nodes.append(node)
        self.alive.append(True)
        for k in range(len(self.names)):
            for table in (self.quota_cores, self.quota_gpu, self.used_cores, self.used_gpu):
                table[k].append(0)
        self._cut(len(self.nodes) - 1)

    def remove(self, i: int) -> None:
        """A node left; what ran there must have been given back."""
        if any(self.used_cores[k][i] or self.used_gpu[k][i] for k in range(len(self.names))):
            raise LedgerError(f"node {self.nodes[i].name} still has partition allocations")
        self.alive[i] = False
        for k in range(len(self.names)):
            self.quota_cores[k][i] = self.quota_gpu[k][i] = 0

    def resize(self, changes: Mapping[str, Share]) -> None:
        """New shares for some partitions (a new name adds a partition); every node's quotas are cut again."""
        shares = {**self.shares, **changes}
        check_shares(shares)
        for name in changes:
            if name not in self.index:
                self.index[name] = len(self.names)
                self.names.append(name)
                n = len(self.nodes)
                for table in (self.quota_cores, self.quota_gpu, self.used_cores, self.used_gpu):
                    table.append([0] * n)
        self.shares = {n: shares[n] for n in self.names[1:]}
        for i in range(len(self.nodes)):
            if self.alive[i]:
                self._cut(i)

    def _cut(self, i: int) -> None:
        node, r = self.nodes[i], (i * _GOLDEN) % 1.0
        for table, cap, what in ((self.quota_cores, node.cores, "cores"), (self.quota_gpu, node.gpu_units, "gpus")):
            cum, below = 0.0, 0
            for k, name in enumerate(self.names[1:], start=1):
                cum = min(1.0, cum + getattr(self.shares[name], what))
                top = min(cap, math.floor(cum * cap + r + _EPS)) if cum > 0 else 0
                table[k][i] = top - below
                below = top
            table[0][i] = cap - below

    # ---- fitting and charging ----------------------------------------------------------------------------------------
    def fit(self, k: int, i: int, need: Resources, limit: int) -> int:
        """How many tasks needing `need` partition k still has room for on node i (at most limit)."""
        n = limit
        if need.cores:
            n = min(n, max(0, self.quota_cores[k][i] - self.used_cores[k][i]) // need.cores)
        if need.gpu_units:
            n = min(n, max(0, self.quota_gpu[k][i] - self.used_gpu[k][i]) // need.gpu_units)
        return n

    def take(self, k: int, i: int, need: Resources, n: int) -> None:
        if self.fit(k, i, need, n) < n:
            raise LedgerError(f"{n} x ({need}) do not fit in partition {self.label(k)} on {self.nodes[i].name}")
        self.used_cores[k][i] += need.cores * n
        self.used_gpu[k][i] += need.gpu_units * n

    def give(self, k: int, i: int, need: Resources, n: int) -> None:
        c, g = need.cores * n, need.gpu_units * n
        if c > self.used_cores[k][i] or g > self.used_gpu[k][i]:
            raise LedgerError(f"partition {self.label(k)} gives back more than it holds on {self.nodes[i].name}")
        self.used_cores[k][i] -= c
        self.used_gpu[k][i] -= g

    def over(self, k: int, i: int) -> bool:
        """Partition k runs more on node i than its quota (it shrank under load)."""
        return self.used_cores[k][i] > self.quota_cores[k][i] or self.used_gpu[k][i] > self.quota_gpu[k][i]

    # ---- views -------------------------------------------------------------------------------------------------------
    def label(self, k: int) -> str:
        return self.names[k] or "default"

    def totals(self, name: str) -> tuple[int, float]:
        """(cores, GPUs) partition `name` holds now, over the live nodes."""
        k = self.index[name]
        cores = sum(q for q, a in zip(self.quota_cores[k], self.alive, strict=True) if a)
        units = sum(q for q, a in zip(self.quota_gpu[k], self.alive, strict=True) if a)
        return cores, units / GPU_UNIT

    def validate(self, used_cores: list[int], used_gpu: list[int]) -> None:
        """Partitions' use adds up to the ledger's use on every node; quotas add up to at most the node."""
        for i, node in enumerate(self.nodes):
            ks = range(len(self.names))
            if sum(self.used_cores[k][i] for k in ks) != used_cores[i]:
                raise LedgerError(f"partitions and ledger disagree about the cores of {node.name}")
            if sum(self.used_gpu[k][i] for k in ks) != used_gpu[i]:
                raise LedgerError(f"partitions and ledger disagree about the GPUs of {node.name}")
            if self.alive[i] and (
                sum(self.quota_cores[k][i] for k in ks) != node.cores
                or sum(self.quota_gpu[k][i] for k in ks) != node.gpu_units
                or min(min(self.quota_cores[k][i], self.quota_gpu[k][i]) for k in ks) < 0
            ):
                raise LedgerError(f"partition quotas of {node.name} out of balance")
