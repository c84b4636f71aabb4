"""GPU models: the memory of each, and the MIG profiles of those that have them, with their valid placements.

A MIG-capable GPU is cut into 7 compute slices and 8 memory slices. A GPU instance of a profile takes `compute`
sevenths of the SMs and `slices` eighths of the memory, and may only start at given memory slices: NVIDIA's placement
table, as `nvidia-smi mig -lgipp` lists it and the NVIDIA Multi-Instance GPU User Guide ("Supported MIG Profiles",
https://docs.nvidia.com/datacenter/tesla/mig-user-guide/) documents it, the same for A100-40GB, A100-80GB, H100 and
H200 (only the memory per slice differs):

    profile  compute  memory slices  starts       instances
    1g       1/7      1/8            0,1,...,6    7
    1g (2x)  1/7      2/8            0,2,4,6      4
    2g       2/7      2/8            0,2,4        3
    3g       3/7      4/8            0,4          2
    4g       4/7      4/8            0            1
    7g       7/7      8/8            0            1

An instance occupies memory slices [start, start + slices); two instances on one GPU may not overlap. So a 4g (0-3)
and a 3g (4-7) fill a GPU, two 3g (0-3, 4-7) do too, but two 4g do not (a 4g only starts at 0), and a 3g at 0 leaves
room for a 2g at 4 and a 1g at 6. Within these rules the compute sevenths never exceed 7. A profile's memory is
counted here as its eighths of the GPU's memory (NVIDIA's names round it: 3g.40gb on an A100-80GB).
"""

from __future__ import annotations

from dataclasses import dataclass

from hetflow.spec.resources import GPU_UNIT

GIB = 1024**3
MIG_SLICES = 8  # memory slices of a MIG-capable GPU; compute slices are 7


@dataclass(frozen=True, slots=True)
class MigProfile:
    """One MIG profile: its name on a given model (e.g. "3g.40gb"), compute sevenths, memory eighths, and the
    memory slices an instance of it may start at."""

    name: str
    compute: int
    slices: int
    starts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class GpuModel:
    """A GPU model: its memory in bytes and its MIG profiles (empty: no MIG), smallest first."""

    name: str
    memory: int
    mig: tuple[MigProfile, ...] = ()


_SHAPES = ((1, 1, (0, 1, 2, 3, 4, 5, 6)), (1, 2, (0, 2, 4, 6)), (2, 2, (0, 2, 4)), (3, 4, (0, 4)), (4, 4, (0,)))


def _mig(gib: int, names: tuple[str, ...]) -> tuple[MigProfile, ...]:
    """The six profiles of a MIG-capable model, named by NVIDIA's memory labels (in _SHAPES order, then 7g)."""
    shapes = (*_SHAPES, (7, MIG_SLICES, (0,)))
    return tuple(
        MigProfile(f"{c}g.{label}gb", c, s, starts) for (c, s, starts), label in zip(shapes, names, strict=True)
    )


MODELS: dict[str, GpuModel] = {
    m.name.casefold(): m
    for m in (
        GpuModel("A100-40GB", 40 * GIB, _mig(40, ("5", "10", "10", "20", "20", "40"))),
        GpuModel("A100-80GB", 80 * GIB, _mig(80, ("10", "20", "20", "40", "40", "80"))),
        GpuModel("H100", 80 * GIB, _mig(80, ("10", "20", "20", "40", "40", "80"))),
        GpuModel("H100-80GB", 80 * GIB, _mig(80, ("10", "20", "20", "40", "40", "80"))),
        GpuModel("H200", 141 * GIB, _mig(141, ("18", "35", "35", "71", "71", "141"))),
        GpuModel("V100", 16 * GIB),
        GpuModel("V100M16", 16 * GIB),
        GpuModel("V100M32", 32 * GIB),
        GpuModel("P100", 16 * GIB),
        GpuModel("T4", 16 * GIB),
        GpuModel("A10", 24 * GIB),
    )
}
"""Known models by lower-case name. A model not here (the trace's G2, G3) is allowed; its memory is not checked."""


def model_of(name: str | None) -> GpuModel | None:
    return MODELS.get(name.casefold()) if name else None


def gpu_memory_of(name: str | None) -> int:
    """Memory of one GPU of the model in bytes; 0 when unknown (not checked)."""
    model = model_of(name)
    return model.memory if model else 0


def mig_models() -> list[str]:
    return [m.name for m in MODELS.values() if m.mig]


def profile_memory(model: GpuModel, p: MigProfile) -> int:
    return model.memory * p.slices // MIG_SLICES


def smallest_profile(name: str | None, units: int, gpu_memory: int) -> MigProfile | None:
    """The smallest MIG profile of the model whose compute share covers `units` (GPU units) and whose
    memory covers gpu_memory; None when none does (or the model has no MIG)."""
    model = model_of(name)
    if model is None:
        return None
    for p in model.mig:
        if p.compute * GPU_UNIT >= units * 7 and profile_memory(model, p) >= gpu_memory:
            return p
    return None


def mig_instances(name: str | None) -> list[tuple[MigProfile, int]]:
    """Every valid (profile, start) of the model, profiles smallest first and starts in order; a grant names an
    instance by its index here (HETFLOW_GPUS shows it, spec/resources.py: GpuGrant)."""
    model = model_of(name)
    return [(p, s) for p in model.mig for s in p.starts] if model else []
