"""Resources of one task: cores, GPUs (a fraction of one GPU, or whole GPUs; kept as integer GPU units) and memory in
bytes."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from hetflow.errors import SpecError

GPU_UNIT = 10_000  # one GPU = 10,000 units, so sums of fractions never drift
GpuGrant = tuple[tuple[int, ...], ...]
"""What one task was given of a node's GPUs: (GPU index on the node, GPU units) pairs, and on a node in MIG mode
(GPU index, GPU units, MIG instance) triples, the instance being an index into the model's MIG placements
(spec/gpus.py: `mig_instances`); empty for none. One type for the ledger that grants it, the instructions that
carry it and the executors that pass it on."""

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "p": 1000**5,
    "pb": 1000**5,
    "ki": 1024,
    "kib": 1024,
    "mi": 1024**2,
    "mib": 1024**2,
    "gi": 1024**3,
    "gib": 1024**3,
    "ti": 1024**4,
    "tib": 1024**4,
    "pi": 1024**5,
    "pib": 1024**5,
}
_MEMORY = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*$")


def parse_memory(value: object, place: str = "memory") -> int:
    """Bytes from an integer or a string such as "512GiB", "2 GB" or "1.5e9"; whole numbers are exact at any size."""
    if isinstance(value, bool):
        raise SpecError(f"memory must be a size, not {value!r}", place=place, fix='write bytes or a size like "2GiB"')
    number: int | float
    if isinstance(value, int | float):
        number, unit = value, ""
    elif isinstance(value, str) and (m := _MEMORY.match(value)):
        digits = m.group(1)
        number, unit = int(digits) if digits.isdigit() else float(digits), m.group(2).lower()
    else:
        raise SpecError(f"memory {value!r} is not a size", place=place, fix='write bytes or a size like "2GiB"')
    if unit not in _UNITS:
        raise SpecError(
            f"memory unit {unit!r} is unknown", place=place, fix="use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB"
        )
    if number < 0 or (isinstance(number, float) and not math.isfinite(number)):
        raise SpecError(f"memory {value!r} is negative or not finite", place=place, fix="give a size >= 0")
    return number * _UNITS[unit] if isinstance(number, int) else round(number * _UNITS[unit])


def parse_cores(value: object, place: str = "cores") -> int:
    """A whole number of cores >= 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(f"cores must be a whole number, not {value!r}", place=place, fix="write an integer >= 0")
    if value != int(value) or value < 0:
        raise SpecError(f"cores must be a whole number >= 0, not {value!r}", place=place, fix="write an integer >= 0")
    return int(value)


def parse_gpus(value: object, place: str = "gpus") -> int:
    """GPU units from a number of GPUs >= 0 (0.25 is a quarter GPU); finer than 1/10,000 is refused."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(f"gpus must be a number, not {value!r}", place=place, fix="write a number >= 0, e.g. 0.5")
    if value < 0:
        raise SpecError(f"gpus must be >= 0, not {value!r}", place=place, fix="write a number >= 0, e.g. 0.5")
    units = round(value * GPU_UNIT)
    if abs(units - value * GPU_UNIT) > 1e-9 * max(1.0, value * GPU_UNIT):  # float error only
        raise SpecError(f"gpus {value!r} is finer than 1/{GPU_UNIT}", place=place, fix="round to 4 decimals")
    return int(units)


def parse_task_gpus(value: object, place: str = "gpus") -> int:
    """GPU units a task needs: a fraction of one GPU (0.25, 0.5), or whole GPUs. A need over one GPU is whole GPUs
    only: 1.5 would be two GPUs of which the first is capped by MPS at half its threads, a share that
    CUDA_MPS_ACTIVE_THREAD_PERCENTAGE sets for all of them at once."""
    units = parse_gpus(value, place)
    if units > GPU_UNIT and units % GPU_UNIT:
        low = units // GPU_UNIT
        raise SpecError(
            f"gpus {value!r} is over one GPU but not whole",
            place=place,
            fix=f"a task gets a fraction of one GPU or whole GPUs: ask for {low} or {low + 1}, or less than 1 "
            "(e.g. 0.5)",
        )
    return units


def format_memory(nbytes: int) -> str:
    """A short human form of a byte count (binary units)."""
    size = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class Resources:
    """What one task needs: cores, GPU units (1 GPU = GPU_UNIT), memory in bytes, memory on each GPU it uses
    (gpu_memory, bytes; 0: any) and the GPU models it may run on (gpu_models; empty: any; compared
    case-insensitively, "A100" also allows "A100-80GB"). Both GPU constraints travel with the need so that the ledger,
    the one truth about capacity, checks them wherever a need is placed."""

    cores: int = 1
    gpu_units: int = 0
    memory: int = 0
    gpu_memory: int = 0
    gpu_models: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        cores: int = 1,
        gpus: float = 0,
        memory: int | str = 0,
        gpu_memory: int | str = 0,
        gpu_models: tuple[str, ...] = (),
    ) -> Resources:
        """Build from user-facing values (validated)."""
        return cls(
            parse_cores(cores), parse_task_gpus(gpus), parse_memory(memory), parse_memory(gpu_memory), gpu_models
        )

    @property
    def gpus(self) -> float:
        return self.gpu_units / GPU_UNIT

    def fits_in(self, cores: int, gpu_units: int, memory: int) -> bool:
        return self.cores <= cores and self.gpu_units <= gpu_units and self.memory <= memory

    def times(self, n: int) -> Resources:
        return Resources(self.cores * n, self.gpu_units * n, self.memory * n, self.gpu_memory, self.gpu_models)

    def __str__(self) -> str:
        parts = [f"{self.cores} cores"]
        if self.gpu_units:
            parts.append(f"{self.gpus:g} GPUs")
        if self.memory:
            parts.append(format_memory(self.memory))
        if self.gpu_memory:
            parts.append(f"{format_memory(self.gpu_memory)} GPU memory")
        if self.gpu_models:
            parts.append("GPU model " + " or ".join(self.gpu_models))
        return ", ".join(parts)


def model_allows(models: tuple[str, ...], model: str | None) -> bool:
    """Whether a node whose GPU model is `model` is one of `models` (empty: any): case-insensitive, and a family name
    allows its variants ("a100" allows "A100-80GB"), so a task need not spell out memory sizes."""
    if not models:
        return True
    if model is None:
        return False
    m = model.casefold()
    return any(m == a or m.startswith(a + "-") for a in (x.casefold() for x in models))
