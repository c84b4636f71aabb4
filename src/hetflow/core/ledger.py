"""The resource ledger: free and allocated cores, GPU units (per GPU) and memory of every node.

It is the only source of truth about capacity. GPUs are tracked one by one, so that fractions are bin-packed
inside a GPU and a task asking for whole GPUs gets whole free ones. How a GPU is shared is the node's sharing mode:
"mps" packs any fractions in a GPU (best fit), and GPU memory asked by fractional tasks adds up per GPU; "exclusive"
grants whole GPUs only; "mig" grants a fractional task the smallest MIG instance of the GPU's model that covers it,
at a valid start (core/mig.py), and whole GPUs as whole. A need's allowed GPU models and GPU memory are checked on
every mode.
"""

from __future__ import annotations

import bisect
import math

from hetflow.core.mig import FULL, WHOLE, MigTable, mig_table
from hetflow.errors import LedgerError
from hetflow.spec.gpus import gpu_memory_of
from hetflow.spec.platform import Node, gpu_shape_fits
from hetflow.spec.resources import GPU_UNIT, GpuGrant, Resources

UNTRACKED = 1 << 62  # memory capacity of a node whose memory is not given
MANY = 1 << 62  # no limit on a count


class Ledger:
    """Capacity bookkeeping for a changing set of nodes, by node index."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.alive: list[bool] = []
        self.taking: list[bool] = []  # per node: alive and not paused, so it may take new work
        self.paused: dict[int, float] = {}  # node -> the time before which it takes no new work (pause())
        self.cap_cores: list[int] = []
        self.cap_memory: list[int] = []
        self.free_cores: list[int] = []
        self.free_memory: list[int] = []
        self.free_gpu: list[list[int]] = []  # per node, per GPU: free units
        self.used_cores: list[int] = []
        self.used_memory: list[int] = []
        self.used_gpu: list[list[int]] = []
        self.free_gpu_total: list[int] = []  # per node: free GPU units over all its GPUs
        self.whole_free: list[int] = []  # per node: GPUs that are wholly free
        self.open_nodes: list[int] = []  # live nodes with a free core, in index order
        self.total_free_cores = 0
        self.total_free_gpu = 0
        self.n_alive = 0
        self.mig: list[MigTable | None] = []  # per node: its model's MIG table when in MIG mode
        self.mig_held: list[list[list[int]]] = []  # per MIG node, per GPU: instance indices held (WHOLE: all of it)
        self.mig_occupied: list[list[int]] = []  # per MIG node, per GPU: its occupied memory slices, a mask
        self.shaped: list[bool] = []  # per node: not MPS (its counters alone do not say what fits)
        self.gpu_memory_cap: list[int] = []  # per node: one GPU's memory (0: unknown, not checked)
        self.used_gpu_memory: list[list[int]] = []  # per node, per GPU: GPU memory fractional tasks hold (MPS)
        self.mig_excess: list[int] = []  # per node: GPU units MIG instances hold beyond what their tasks asked
        self.counters_unsure = False  # some node is MIG or knows its GPU memory: ask fit_count, not the counters
        self._shape_ok: dict[tuple[str | None, str, Resources], bool] = {}  # (model, mode, need) -> gpu_shape_fits
        self.epoch = 0  # bumped when a node joins or leaves, or its pause begins or ends

    def add(self, node: Node) -> int:
        """Add a node; returns its index."""
        whole, part = divmod(node.gpu_units, GPU_UNIT)
        gpus = [GPU_UNIT] * whole + ([part] if part else [])
        mem = node.memory or UNTRACKED
        self.nodes.append(node)
        self.alive.append(True)
        self.taking.append(True)
        self.cap_cores.append(node.cores)
        self.cap_memory.append(mem)
        self.free_cores.append(node.cores)
        self.free_memory.append(mem)
        self.free_gpu.append(gpus)
        self.used_cores.append(0)
        self.used_memory.append(0)
        self.used_gpu.append([0] * len(gpus))
        self.free_gpu_total.append(node.gpu_units)
        self.whole_free.append(whole)
        self.total_free_cores += node.cores
        self.total_free_gpu += node.gpu_units
        self.n_alive += 1
        self.epoch += 1
        table = mig_table(node.gpu_model) if node.gpu_sharing == "mig" and node.gpu_model else None
        self.mig.append(table)
        self.mig_held.append([[] for _ in gpus] if table else [])
        self.mig_occupied.append([0] * len(gpus) if table else [])
        self.shaped.append(node.gpu_sharing != "mps")
        self.gpu_memory_cap.append(gpu_memory_of(node.gpu_model))
        self.used_gpu_memory.append([0] * len(gpus))
        self.mig_excess.append(0)
        self.counters_unsure = self.counters_unsure or bool(table or (node.gpu_units and self.gpu_memory_cap[-1]))
        i = len(self.nodes) - 1
        if node.cores:
            self.open_nodes.append(i)
        if node.site is not None and self.paused:  # joining a paused site: paused as long as its nodes are
            until = max((t for j, t in self.paused.items() if self.nodes[j].site == node.site), default=None)
            if until is not None:
                self.pause(i, until)
        return i

    def remove(self, i: int) -> None:
        """Mark a node gone. Its allocations must have been released first."""
        if self.used_cores[i] or self.used_memory[i] or any(self.used_gpu[i]):
            raise LedgerError(f"node {self.nodes[i].name} still has allocations")
        self.alive[i] = False
        self.taking[i] = False
        self.paused.pop(i, None)
        self.n_alive -= 1
        self.epoch += 1
        self.total_free_cores -= self.free_cores[i]
        self.total_free_gpu -= sum(self.free_gpu[i])
        self.free_cores[i] = 0
        self.free_memory[i] = 0
        self.free_gpu[i] = [0] * len(self.free_gpu[i])
        self.free_gpu_total[i] = 0
        self.whole_free[i] = 0
        if i in self.open_nodes:
            self.open_nodes.remove(i)

    def pause(self, i: int, until: float) -> None:
        """Node i takes no new work before `until` (where it sends work refused some): fit_count says 0 and allocate
        refuses until resume() is told a time past it. What runs there runs on and gives back as usual."""
        if not self.alive[i] or until <= self.paused.get(i, -math.inf):
            return  # gone, or already paused at least that long
        if i not in self.paused:
            self.taking[i] = False
            self.epoch += 1
        self.paused[i] = until

    def resume(self, now: float) -> None:
        """The nodes whose pause is over by now take new work again."""
        for i in [i for i, t in self.paused.items() if t <= now]:
            del self.paused[i]
            self.taking[i] = True
            self.epoch += 1

    def could_ever_fit(self, i: int, need: Resources) -> bool:
        """Whether an empty node i could hold one such task (its GPU model and sharing mode included)."""
        return (
            self.alive[i]
            and self.shape_fits(i, need)
            and self.fit_count_on(self._capacity_gpus(i), self.cap_cores[i], self.cap_memory[i], need, 1) > 0
        )

    def shape_fits(self, i: int, need: Resources) -> bool:
        """Whether node i's GPU model and sharing mode could ever hold need's GPU part (spec.platform.gpu_shape_fits,
        remembered per model, mode and need)."""
        node = self.nodes[i]
        key = (node.gpu_model, node.gpu_sharing, need)
        ok = self._shape_ok.get(key)
        if ok is None:
            ok = self._shape_ok[key] = gpu_shape_fits(node.gpu_model, node.gpu_sharing, need)
        return ok

    def _capacity_gpus(self, i: int) -> list[int]:
        return [f + u for f, u in zip(self.free_gpu[i], self.used_gpu[i], strict=True)]

    def fit_count(self, i: int, need: Resources, limit: int = MANY) -> int:
        """How many tasks needing `need` fit on node i now (at most limit). Partitions bound this further
        (core/placement.py: a policy sees its set's partition's share). None fit on a paused node."""
        if not self.taking[i]:
            return 0
        g = need.gpu_units
        if need.gpu_models or (g and (self.shaped[i] or need.gpu_memory)):
            return self._fit_shaped(i, need, limit)
        if g % GPU_UNIT:
            return self.fit_count_on(self.free_gpu[i], self.free_cores[i], self.free_memory[i], need, limit)
        k = limit  # no GPU or whole GPUs only: counters suffice
        if need.cores:
            k = min(k, self.free_cores[i] // need.cores)
        if need.memory:
            k = min(k, self.free_memory[i] // need.memory)
        if g:
            k = min(k, self.whole_free[i] // (g // GPU_UNIT))
        return k

    def _fit_shaped(self, i: int, need: Resources, limit: int) -> int:
        """fit_count for a need with GPU models or GPU memory, or on a MIG or exclusive node."""
        if not self.shape_fits(i, need):
            return 0
        g, part = need.gpu_units, need.gpu_units % GPU_UNIT
        table = self.mig[i]
        k = limit  # what cores and memory allow
        if need.cores:
            k = min(k, self.free_cores[i] // need.cores)
        if need.memory:
            k = min(k, self.free_memory[i] // need.memory)
        if not part or not k:
            return min(k, self.whole_free[i] // (g // GPU_UNIT)) if g and k else k
        if table is not None:  # a fraction alone (gpu_shape_fits refuses whole GPUs and a fraction on MIG)
            profile = table.profile(part, need.gpu_memory)
            assert profile is not None  # gpu_shape_fits found one
            return min(k, table.fit(self.mig_occupied[i], profile))
        gm, cap = need.gpu_memory, self.gpu_memory_cap[i]
        if not (gm and cap) or g > GPU_UNIT:  # gpu_shape_fits refuses GPU memory with whole GPUs and a fraction
            return self.fit_count_on(self.free_gpu[i], self.free_cores[i], self.free_memory[i], need, k)
        used = self.used_gpu_memory[i]
        return min(k, sum([min(f // part, (cap - used[j]) // gm) for j, f in enumerate(self.free_gpu[i])]))

    @staticmethod
    def fit_count_on(gpus: list[int], cores: int, memory: int, need: Resources, limit: int = MANY) -> int:
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
        """Take n tasks' worth of resources on node i; returns each task's GPU grant (empty when no GPUs).

        The check is cheap (counters) except for fractional GPUs, but it always runs: the ledger never goes negative.
        """
        c, m, g = need.cores * n, need.memory * n, need.gpu_units
        whole, part = divmod(g, GPU_UNIT)
        if (g and (self.shaped[i] or need.gpu_memory)) or need.gpu_models:
            gpus_fit = self._fit_shaped(i, need, n) >= n
        elif not part:
            gpus_fit = whole * n <= self.whole_free[i]
        elif not whole:
            gpus_fit = sum([f // part for f in self.free_gpu[i]]) >= n
        else:
            gpus_fit = self.fit_count(i, need, n) >= n
        free_cores = self.free_cores
        fc = free_cores[i]
        if n <= 0 or not self.taking[i] or c > fc or m > self.free_memory[i] or not gpus_fit:
            raise LedgerError(f"{n} x ({need}) do not fit on node {self.nodes[i].name}")
        if c:
            free_cores[i] = fc - c
            self.used_cores[i] += c
            self.total_free_cores -= c
            if fc == c:
                del self.open_nodes[bisect.bisect_left(self.open_nodes, i)]
        if m:
            self.free_memory[i] -= m
            self.used_memory[i] += m
        if not g:
            return ()
        table = self.mig[i]
        if part and table is not None and not whole:
            return tuple([self._grant_instance(i, table, need) for _ in range(n)])
        self.total_free_gpu -= g * n
        self.free_gpu_total[i] -= g * n
        if not part:
            grants = self._grant_whole(i, whole, n)
            if table is not None:  # a whole GPU on a MIG node: all its slices, as one instance
                for grant in grants:
                    for j, _ in grant:
                        self.mig_occupied[i][j] = FULL
                        self.mig_held[i][j].append(WHOLE)
            return grants
        if not whole:
            return tuple([self._grant_fraction(i, part, need.gpu_memory) for _ in range(n)])
        return tuple([self._grant_gpus(i, whole, part) for _ in range(n)])

    def _grant_fraction(self, i: int, part: int, gpu_memory: int = 0) -> GpuGrant:
        """One task of a fraction of a GPU: the GPU with the least free room that still holds it (best fit), and
        on a GPU whose memory is known, its gpu_memory too."""
        free = self.free_gpu[i]
        best, room = -1, GPU_UNIT + 1
        cap, used = self.gpu_memory_cap[i], self.used_gpu_memory[i]
        for j, f in enumerate(free):
            if part <= f < room and not (gpu_memory and cap and used[j] + gpu_memory > cap):
                best, room = j, f
        if room == GPU_UNIT:
            self.whole_free[i] -= 1
        free[best] = room - part
        self.used_gpu[i][best] += part
        if gpu_memory:
            used[best] += gpu_memory
        return ((best, part),)

    def _grant_instance(self, i: int, table: MigTable, need: Resources) -> GpuGrant:
        """One task of a fraction of a GPU on a MIG node: the smallest instance that covers it, where it costs the
        least room (MigTable.choose). Its units are the instance's compute, beyond what the task asked."""
        profile = table.profile(need.gpu_units, need.gpu_memory)
        assert profile is not None
        free, occupied = self.free_gpu[i], self.mig_occupied[i]
        chosen = table.choose(occupied, free, profile)
        assert chosen is not None  # allocate checked the fit
        j, x = chosen
        if free[j] == GPU_UNIT:
            self.whole_free[i] -= 1
        occupied[j] |= x.mask
        self.mig_held[i][j].append(x.index)
        free[j] -= x.units
        self.used_gpu[i][j] += x.units
        self.free_gpu_total[i] -= x.units
        self.total_free_gpu -= x.units
        self.mig_excess[i] += x.units - need.gpu_units
        return ((j, x.units, x.index),)

    def _grant_whole(self, i: int, whole: int, n: int) -> tuple[GpuGrant, ...]:
        """n tasks of `whole` GPUs each: the first wholly free GPUs, in order."""
        free, used = self.free_gpu[i], self.used_gpu[i]
        want = whole * n
        self.whole_free[i] -= want
        taken: list[int] = []
        j = -1
        for _ in range(want):
            j = free.index(GPU_UNIT, j + 1)
            free[j] = 0
            used[j] += GPU_UNIT
            taken.append(j)
        if whole == 1:
            return tuple([((j, GPU_UNIT),) for j in taken])
        return tuple([tuple([(j, GPU_UNIT) for j in taken[t : t + whole]]) for t in range(0, want, whole)])

    def _grant_gpus(self, i: int, whole: int, part: int) -> GpuGrant:
        """One task of `whole` GPUs plus `part` units: the first wholly free GPUs, and for the fraction the GPU
        with the least free room that still holds it (best fit)."""
        free, used = self.free_gpu[i], self.used_gpu[i]
        grant: list[tuple[int, int]] = []
        for j, f in enumerate(free):
            if len(grant) == whole:
                break
            if f == GPU_UNIT:
                grant.append((j, GPU_UNIT))
        taken = {j for j, _ in grant}
        best = min((j for j, f in enumerate(free) if f >= part and j not in taken), key=lambda j: (free[j], j))
        grant.append((best, part))
        for j, u in grant:
            if free[j] == GPU_UNIT:
                self.whole_free[i] -= 1
            free[j] -= u
            used[j] += u
        return tuple(grant)

    def release(self, i: int, need: Resources, n: int, grants: tuple[GpuGrant, ...] = ()) -> None:
        """Give back what allocate() took."""
        c, m = need.cores * n, need.memory * n
        used_cores = self.used_cores
        if c > used_cores[i] or m > self.used_memory[i]:
            raise LedgerError(f"releasing more than is allocated on node {self.nodes[i].name}")
        alive = self.alive[i]
        if c:
            used_cores[i] -= c
            if alive:
                fc = self.free_cores[i]
                if not fc:
                    bisect.insort(self.open_nodes, i)
                self.free_cores[i] = fc + c
                self.total_free_cores += c
        if m:
            self.used_memory[i] -= m
            if alive:
                self.free_memory[i] += m
        if not grants:
            return
        free, used = self.free_gpu[i], self.used_gpu[i]
        table = self.mig[i]
        if table is not None or (need.gpu_memory and need.gpu_units < GPU_UNIT):
            back = self._release_shaped(i, table, need, grants)
        else:
            back = 0
            for grant in grants:
                for j, u in grant:
                    if u > used[j]:
                        raise LedgerError(f"releasing more GPU than is allocated on node {self.nodes[i].name}")
                    used[j] -= u
                    if alive:
                        free[j] += u
                        back += u
                        if free[j] == GPU_UNIT:
                            self.whole_free[i] += 1
        self.free_gpu_total[i] += back
        self.total_free_gpu += back

    def _release_shaped(self, i: int, table: MigTable | None, need: Resources, grants: tuple[GpuGrant, ...]) -> int:
        """release() of MIG instances, or of fractions holding GPU memory; returns the GPU units freed."""
        free, used, alive = self.free_gpu[i], self.used_gpu[i], self.alive[i]
        back = 0
        for grant in grants:
            for share in grant:
                j, u = share[0], share[1]
                if u > used[j]:
                    raise LedgerError(f"releasing more GPU than is allocated on node {self.nodes[i].name}")
                used[j] -= u
                if table is not None:
                    self._release_instance(i, table, j, share[2] if len(share) > 2 else WHOLE, need)
                else:
                    self.used_gpu_memory[i][j] -= need.gpu_memory
                if alive:
                    free[j] += u
                    back += u
                    if free[j] == GPU_UNIT:
                        self.whole_free[i] += 1
        return back

    def _release_instance(self, i: int, table: MigTable, j: int, index: int, need: Resources) -> None:
        """Give back a MIG instance (or a whole GPU, WHOLE) of GPU j on node i."""
        held = self.mig_held[i][j]
        if index not in held:
            raise LedgerError(f"releasing a MIG instance not held on node {self.nodes[i].name}")
        held.remove(index)
        if index == WHOLE:
            self.mig_occupied[i][j] = 0
            return
        x = table.instances[index]
        self.mig_occupied[i][j] &= ~x.mask
        self.mig_excess[i] -= x.units - need.gpu_units

    def gpu_asked(self) -> list[int]:
        """Per node: the GPU units its tasks asked for (partitions count these; a MIG instance may hold more)."""
        return [sum(u) - x for u, x in zip(self.used_gpu, self.mig_excess, strict=True)]

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
            if (
                gpu_total != node.gpu_units
                or self.free_gpu_total[i] != sum(self.free_gpu[i])
                or self.whole_free[i] != self.free_gpu[i].count(GPU_UNIT)
            ):
                raise LedgerError(f"GPUs of {node.name} out of balance")
            if self.taking[i] != (i not in self.paused):
                raise LedgerError(f"pause of {node.name} out of step")
            if (self.free_cores[i] > 0) != (i in self.open_nodes):
                raise LedgerError(f"open-node list wrong about {node.name}")
            self._validate_shapes(i)
            tot_c += self.free_cores[i]
            tot_g += sum(self.free_gpu[i])
        if any(not self.alive[i] for i in self.paused) or sum(self.taking) != self.n_alive - len(self.paused):
            raise LedgerError("a gone node is paused, or taking new work")
        if tot_c != self.total_free_cores or tot_g != self.total_free_gpu:
            raise LedgerError("ledger totals out of balance")

    def _validate_shapes(self, i: int) -> None:
        """The sharing mode's own rules on node i: MIG instances valid, disjoint and adding up to the GPU's use;
        exclusive GPUs wholly used or free; GPU memory within each GPU's."""
        node, used = self.nodes[i], self.used_gpu[i]
        table, cap = self.mig[i], self.gpu_memory_cap[i]
        for j, u in enumerate(used):
            mem = self.used_gpu_memory[i][j]
            if mem < 0 or (cap and mem > cap) or (mem and not u):
                raise LedgerError(f"GPU memory of GPU {j} of {node.name} out of balance")
            if node.gpu_sharing == "exclusive" and u not in (0, GPU_UNIT):
                raise LedgerError(f"exclusive GPU {j} of {node.name} is shared")
            if table is not None:
                table.check(self.mig_held[i][j], self.mig_occupied[i][j], u, f"GPU {j} of {node.name}")
        if table is None and self.mig_excess[i]:
            raise LedgerError(f"MIG excess on {node.name}, which is not in MIG mode")
