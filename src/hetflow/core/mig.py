"""MIG instances for the ledger: which profile a fractional need takes, how many more fit on a GPU, and where the
next one goes.

A GPU in MIG mode is an 8-bit mask of occupied memory slices; an instance of a profile at a valid start (spec/gpus.py,
NVIDIA's placement table) occupies the bits [start, start + slices). The valid starts of one profile never overlap
each other, so the number of instances of a profile that still fit on a GPU is the number of its starts whose bits
are free: a table of 256 entries per profile. An instance's compute sevenths [start, start + compute) are its GPU
units, cut at k * GPU_UNIT // 7 so that a full GPU's instances add up to exactly GPU_UNIT.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from hetflow.errors import LedgerError
from hetflow.spec.gpus import MIG_SLICES, MigProfile, mig_instances, smallest_profile
from hetflow.spec.resources import GPU_UNIT

FULL = (1 << MIG_SLICES) - 1  # every memory slice of a GPU: a whole GPU, or a 7g instance
WHOLE = -1  # the instance index a ledger keeps for a whole GPU granted on a MIG node


def compute_units(start: int, compute: int) -> int:
    """The GPU units of compute sevenths [start, start + compute)."""
    return (start + compute) * GPU_UNIT // 7 - start * GPU_UNIT // 7


@dataclass(frozen=True, slots=True)
class Instance:
    """One valid placement of a profile: its index among the model's (spec/gpus.py: mig_instances), its memory
    slices as a mask, and its GPU units."""

    index: int
    profile: MigProfile
    start: int
    mask: int
    units: int


class MigTable:
    """The MIG instances of one GPU model, with the per-mask tables the ledger reads."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.instances = tuple(
            Instance(k, p, s, ((1 << p.slices) - 1) << s, compute_units(s, p.compute))
            for k, (p, s) in enumerate(mig_instances(model))
        )
        self.by_profile: dict[str, tuple[Instance, ...]] = {}
        for inst in self.instances:
            self.by_profile[inst.profile.name] = (*self.by_profile.get(inst.profile.name, ()), inst)
        self.counts = {
            name: [sum(1 for x in insts if not occ & x.mask) for occ in range(FULL + 1)]
            for name, insts in self.by_profile.items()
        }
        # how much compute could still be placed, over every instance whose slices are free: what a placement costs
        self.room = [sum(x.profile.compute for x in self.instances if not occ & x.mask) for occ in range(FULL + 1)]
        self._profiles: dict[tuple[int, int], MigProfile | None] = {}

    def profile(self, units: int, gpu_memory: int) -> MigProfile | None:
        """The smallest profile whose compute and memory cover a fraction of `units` and gpu_memory bytes."""
        key = (units, gpu_memory)
        if key not in self._profiles:
            self._profiles[key] = smallest_profile(self.model, units, gpu_memory)
        return self._profiles[key]

    def fit(self, occupied: list[int], profile: MigProfile) -> int:
        """How many more instances of profile fit on GPUs with these occupied masks."""
        counts = self.counts[profile.name]
        return sum([counts[occ] for occ in occupied])

    def choose(self, occupied: list[int], free: list[int], profile: MigProfile) -> tuple[int, Instance] | None:
        """Where one more instance of profile goes: the GPU and start that lose the least room for later instances
        (a 1g goes to slice 6 of an empty A100, not slice 0, which would block its 4g); then the GPU with the least
        free units (best fit, as on MPS), then the lowest GPU and start."""
        best: tuple[int, int, int, int] | None = None
        choice: tuple[int, Instance] | None = None
        room = self.room
        for j, occ in enumerate(occupied):
            for x in self.by_profile[profile.name]:
                if occ & x.mask:
                    continue
                key = (room[occ] - room[occ | x.mask], free[j], j, x.start)
                if best is None or key < best:
                    best, choice = key, (j, x)
        return choice

    def check(self, held: list[int], occupied: int, used: int, where: str) -> None:
        """Raise LedgerError unless the instances held on one GPU are disjoint, make up its occupied mask and add up
        to its used units (WHOLE: the whole GPU)."""
        mask = units = 0
        for index in held:
            x_mask, x_units = (
                (FULL, GPU_UNIT) if index == WHOLE else (self.instances[index].mask, self.instances[index].units)
            )
            if mask & x_mask:
                raise LedgerError(f"MIG instances overlap on {where}")
            mask, units = mask | x_mask, units + x_units
        if mask != occupied or units != used:
            raise LedgerError(f"MIG instances of {where} out of balance")


@cache
def mig_table(model: str) -> MigTable:
    """One table per model (a platform's nodes share it)."""
    return MigTable(model)
