"""The availability estimate heft plans with: when one more task of a given need would fit on a node, judged by the
estimated ends of the launches running there.

Answers are remembered per node until a launch starts or ends there (or the node's ledger or partition quotas
change: whoever changes them forgets the node's memo): within a scheduling pass heft asks again and again about the
same nodes.
"""

from __future__ import annotations

from hetflow.core.deploy import Deployments
from hetflow.core.launches import Launches, Memo
from hetflow.core.ledger import Ledger
from hetflow.core.view import ReadySet
from hetflow.spec.resources import Resources

_INF = float("inf")


class Availability:
    """available_at(node, need, partition) at the engine's time `now`, remembered per node in `memo` (shared with
    Launches)."""

    def __init__(self, ledger: Ledger, launches: Launches, memo: Memo) -> None:
        self.ledger = ledger
        self.launches = launches
        self.memo = memo
        self.now = 0.0
        self.deployments = Deployments(ledger.nodes)

    def cold_start(self, s: ReadySet, variant: int, node: int) -> float:
        """The expected wait for that way of running the set to be deployed on the node, if a task went there now."""
        deployments = self.deployments
        return deployments.delay(s.name, s.variants[variant], node, self.now) if deployments.declared else 0.0

    def available_at(self, node: int, need: Resources, k: int = -1) -> float:
        """Estimated time at which one task needing `need` fits on the node (inf when it never will): now if it fits
        now, else the estimated end of the first running launch (by estimated end) after which it fits. k: the
        partition whose share of the node must also hold it (-1: the run has no partitions)."""
        memo = self.memo[node]
        if memo is None:
            memo = self.memo[node] = {}
        plain = not (need.gpu_memory or need.gpu_models)
        key = (need.cores, need.gpu_units, need.memory, k) if plain else (need, k)  # the first hashed in C
        at = memo.get(key)
        if at is None:
            at = memo[key] = self._fits_after(node, need, k)
        return max(self.now, at)

    def _fits_after(self, node: int, need: Resources, k: int) -> float:
        """available_at without the memo: -inf when it fits now, the estimated end of the launch it waits for, or
        inf when it never fits."""
        led, parts = self.ledger, self.launches.partitions
        scoped = parts is not None and k >= 0
        fits_now = led.fit_count(node, need, 1)
        if fits_now and scoped:
            assert parts is not None
            fits_now = parts.fit(k, node, need, 1)
        if fits_now:
            return -_INF
        if not led.could_ever_fit(node, need):
            return _INF
        gpus = list(led.free_gpu[node])
        cores, mem = led.free_cores[node], led.free_memory[node]
        p_cores = p_units = 0  # within a partition: its room on the node too
        if scoped:
            assert parts is not None
            p_cores = parts.quota_cores[k][node] - parts.used_cores[k][node]
            p_units = parts.quota_gpu[k][node] - parts.used_gpu[k][node]
            if need.cores > parts.quota_cores[k][node] or need.gpu_units > parts.quota_gpu[k][node]:
                return _INF
        records = self.launches.records
        if led.mig[node] is not None or (need.gpu_memory and led.gpu_memory_cap[node]):
            # MIG slices or GPU memory, which the counters below do not follow: when all it runs has ended
            return max((records[r].est_end for r in self.launches.on_node[node]), default=_INF)
        for rec in sorted((records[i] for i in self.launches.on_node[node]), key=lambda r: r.est_end):
            for part in rec.parts_on(node):
                live = rec.live(part)
                cores += rec.need.cores * len(live)
                mem += rec.need.memory * len(live)
                if scoped and rec.set.scope == k:
                    p_cores += rec.need.cores * len(live)
                    p_units += rec.need.gpu_units * len(live)
                _, _, _, grants = part
                for j in live if grants else ():
                    for g, u, *_ in grants[j]:
                        gpus[g] += u
            if Ledger.fit_count_on(gpus, cores, mem, need, 1) and (
                not scoped or (p_cores >= need.cores and p_units >= need.gpu_units)
            ):
                return rec.est_end
        return _INF
