"""The resource ledger: free and allocated cores, GPU units (per GPU) and memory of every node.

It is the only source of truth about capacity. GPUs are tracked one by one, so that fractions are bin-packed
inside a GPU and a task asking for whole GPUs gets whole free ones.
"""

from __future__ import annotations

import bisect

from hetflow.errors import LedgerError
from hetflow.spec.platform import Node
from hetflow.spec.resources import GPU_UNIT, Resources

UNTRACKED = 1 << 62  # memory capacity of a node whose memory is not given
_MANY = 1 << 62

GpuGrant = tuple[tuple[int, int], ...]  # (GPU index, units) pairs given to one task


class Ledger:
    """Capacity bookkeeping for a changing set of nodes, by node index."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.alive: list[bool] = []
        self.cap_cores: list[int] = []
        self.cap_memory: list[int] = []
        self.free_cores: list[int] = []
        self.free_memory: list[int] = []
        self.free_gpu: list[list[int]] = []  # per node, per GPU: free units
        self.used_cores: list[int] = []
        self.used_memory: list[int] = []
        self.used_gpu: list[list[int]] = []
        self.free_gpu_total: list[int] = []  # per node: free GPU units over all its GPUs
        self.open_nodes: list[int] = []  # live nodes with a free core, in index order
        self.total_free_cores = 0
        self.total_free_gpu = 0
        self.n_alive = 0

    def add(self, node: Node) -> int:
        """Add a node; returns its index."""
        whole, part = divmod(node.gpu_units, GPU_UNIT)
        gpus = [GPU_UNIT] * whole + ([part] if part else [])
        mem = node.memory or UNTRACKED
        self.nodes.append(node)
        self.alive.append(True)
        self.cap_cores.append(node.cores)
        self.cap_memory.append(mem)
        self.free_cores.append(node.cores)
        self.free_memory.append(mem)
        self.free_gpu.append(gpus)
        self.used_cores.append(0)
        self.used_memory.append(0)
        self.used_gpu.append([0] * len(gpus))
        self.free_gpu_total.append(node.gpu_units)
        self.total_free_cores += node.cores
        self.total_free_gpu += node.gpu_units
        self.n_alive += 1
        if node.cores:
            self.open_nodes.append(len(self.nodes) - 1)
        return len(self.nodes) - 1

    def remove(self, i: int) -> None:
        """Mark a node gone. Its allocations must have been released first."""
        if self.used_cores[i] or self.used_memory[i] or any(self.used_gpu[i]):
            raise LedgerError(f"node {self.nodes[i].name} still has allocations")
        self.alive[i] = False
        self.n_alive -= 1
        self.total_free_cores -= self.free_cores[i]
        self.total_free_gpu -= sum(self.free_gpu[i])
        self.free_cores[i] = 0
        self.free_memory[i] = 0
        self.free_gpu[i] = [0] * len(self.free_gpu[i])
        self.free_gpu_total[i] = 0
        if i in self.open_nodes:
            self.open_nodes.remove(i)

    def could_ever_fit(self, i: int, need: Resources) -> bool:
        """Whether an empty node i could hold one such task."""
        return (
            self.alive[i]
            and self.fit_count_on(self._capacity_gpus(i), self.cap_cores[i], self.cap_memory[i], need, 1) > 0
        )

    def _capacity_gpus(self, i: int) -> list[int]:
        return [f + u for f, u in zip(self.free_gpu[i], self.used_gpu[i], strict=True)]

    def fit_count(self, i: int, need: Resources, limit: int = _MANY) -> int:
        """How many tasks needing `need` fit on node i now (at most limit)."""
        if not self.alive[i]:
            return 0
        return self.fit_count_on(self.free_gpu[i], self.free_cores[i], self.free_memory[i], need, limit)

    @staticmethod
    def fit_count_on(gpus: list[int], cores: int, memory: int, need: Resources, limit: int = _MANY) -> int:
        k = limit
        if need.cores:
            k = min(k, cores // need.cores)
        if need.memory:
            k = min(k, memory // need.memory)
        g = need.gpu_units
        if g and k:
            if g < GPU_UNIT:
                k = min(k, sum(f // g for f in gpus))
            else:
                whole, part = divmod(g, GPU_UNIT)
                free_whole = sum(1 for f in gpus if f == GPU_UNIT)
                if part == 0:
                    k = min(k, free_whole // whole)
                else:  # whole GPUs plus a fraction of another: count greedily
                    n, left, frac = 0, free_whole, sorted((f for f in gpus if f < GPU_UNIT), reverse=True)
                    while n < k and left >= whole:
                        left -= whole
                        if frac and frac[0] >= part:
                            frac[0] -= part
                            frac.sort(reverse=True)
                        elif left > 0:
                            left -= 1
                            frac.append(GPU_UNIT - part)
                            frac.sort(reverse=True)
                        else:
                            break
                        n += 1
                    k = min(k, n)
        return k

    def allocate(self, i: int, need: Resources, n: int) -> tuple[GpuGrant, ...]:
        """Take n tasks' worth of resources on node i; returns each task's GPU grant (empty when no GPUs)."""
        c, m = need.cores * n, need.memory * n
        if (
            n <= 0
            or not self.alive[i]
            or c > self.free_cores[i]
            or m > self.free_memory[i]
            or (need.gpu_units and self.fit_count(i, need, n) < n)
        ):
            raise LedgerError(f"{n} x ({need}) do not fit on node {self.nodes[i].name}")
        self.free_cores[i] -= c
        self.used_cores[i] += c
        self.total_free_cores -= c
        self.free_memory[i] -= m
        self.used_memory[i] += m
        if c and self.free_cores[i] == 0:
            del self.open_nodes[bisect.bisect_left(self.open_nodes, i)]
        if not need.gpu_units:
            return ()
        grants = tuple(self._grant_gpus(i, need.gpu_units) for _ in range(n))
        self.total_free_gpu -= need.gpu_units * n
        self.free_gpu_total[i] -= need.gpu_units * n
        return grants

    def _grant_gpus(self, i: int, units: int) -> GpuGrant:
        free, used = self.free_gpu[i], self.used_gpu[i]
        whole, part = divmod(units, GPU_UNIT)
        grant: list[tuple[int, int]] = []
        for j, f in enumerate(free):
            if len(grant) == whole:
                break
            if f == GPU_UNIT:
                grant.append((j, GPU_UNIT))
        taken = {j for j, _ in grant}
        if part:  # best fit: the GPU with the least free room that still holds the fraction
            best = min(
                (j for j, f in enumerate(free) if f >= part and j not in taken),
                key=lambda j: (free[j], j),
            )
            grant.append((best, part))
        for j, u in grant:
            free[j] -= u
            used[j] += u
        return tuple(grant)

    def release(self, i: int, need: Resources, n: int, grants: tuple[GpuGrant, ...] = ()) -> None:
        """Give back what allocate() took."""
        c, m = need.cores * n, need.memory * n
        if c > self.used_cores[i] or m > self.used_memory[i]:
            raise LedgerError(f"releasing more than is allocated on node {self.nodes[i].name}")
        self.used_cores[i] -= c
        self.used_memory[i] -= m
        if self.alive[i]:
            if c and self.free_cores[i] == 0:
                bisect.insort(self.open_nodes, i)
            self.free_cores[i] += c
            self.free_memory[i] += m
            self.total_free_cores += c
        for grant in grants:
            for j, u in grant:
                if u > self.used_gpu[i][j]:
                    raise LedgerError(f"releasing more GPU than is allocated on node {self.nodes[i].name}")
                self.used_gpu[i][j] -= u
                if self.alive[i]:
                    self.free_gpu[i][j] += u
                    self.free_gpu_total[i] += u
                    self.total_free_gpu += u

    def validate(self) -> None:
        """Check allocated + free == capacity and nothing negative on every live node."""
        tot_c = tot_g = 0
        for i, node in enumerate(self.nodes):
            if not self.alive[i]:
                continue
            if (
                self.free_cores[i] < 0
                or self.used_cores[i] < 0
                or self.free_cores[i] + self.used_cores[i] != node.cores
            ):
                raise LedgerError(f"cores of {node.name} out of balance")
            if self.free_memory[i] < 0 or self.free_memory[i] + self.used_memory[i] != self.cap_memory[i]:
                raise LedgerError(f"memory of {node.name} out of balance")
            gpu_total = 0
            for f, u in zip(self.free_gpu[i], self.used_gpu[i], strict=True):
                if f < 0 or u < 0 or f + u > GPU_UNIT:
                    raise LedgerError(f"a GPU of {node.name} out of balance")
                gpu_total += f + u
            if gpu_total != node.gpu_units or self.free_gpu_total[i] != sum(self.free_gpu[i]):
                raise LedgerError(f"GPUs of {node.name} out of balance")
            if (self.free_cores[i] > 0) != (i in self.open_nodes):
                raise LedgerError(f"open-node list wrong about {node.name}")
            tot_c += self.free_cores[i]
            tot_g += sum(self.free_gpu[i])
        if tot_c != self.total_free_cores or tot_g != self.total_free_gpu:
            raise LedgerError("ledger totals out of balance")
