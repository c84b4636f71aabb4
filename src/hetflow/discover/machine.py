"""This machine's features, XaaS-style: processor, vector extensions, cores, memory, GPUs, compilers, MPI, libraries.

`discover()` looks afresh each time (well under a second: one file read, NVML, one `ldconfig -p`, the compilers'
`--version` at once); `local_features()` is the same, found once per process, for executors that describe their
nodes at start-up. The JSON form is Features.as_dict(), which spec.features.features_from_dict reads back (so a
discovery saved on one machine is a `--system` for `hetflow specialize` on another).
"""

from __future__ import annotations

import functools

from hetflow.discover.cpu import cpu
from hetflow.discover.tools import software
from hetflow.spec.features import ISA_LEVELS, Features, GpuFeature
from hetflow.spec.local import gpu_features, total_memory, usable_cores


def discover() -> Features:
    """This machine's features now."""
    arch, model, isa = cpu()
    gpus: tuple[GpuFeature, ...] = gpu_features()
    return Features(arch, model, isa, usable_cores(), total_memory(), gpus, software())


@functools.lru_cache(maxsize=1)
def local_features() -> Features:
    """This machine's features, discovered on the first call in this process."""
    return discover()


def features_json() -> dict[str, object]:
    """`hetflow discover --json`: the features of this machine (a worker calls this for its node, too)."""
    return discover().as_dict()


def isa_level(f: Features) -> str | None:
    """The highest x86-64 microarchitecture level (x86-64-v2 .. v4) the features hold, for people to read."""
    if f.arch != "x86_64":
        return None
    held = [name for name, needs in ISA_LEVELS.items() if needs <= f.isa]
    return held[-1] if held else "x86-64"
