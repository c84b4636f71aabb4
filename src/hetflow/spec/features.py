"""Node features and variant requirements: what a node is (architecture, vector instructions, GPUs, libraries) and
what a way to run a task needs of it.

A node's Features come from its platform file (`features:` on a node type) or from discovery on the node itself
(hetflow.discover); a Variant's Requirement (`requires:` on a task or a variant) says which nodes may run it, and the
engine places a variant only on nodes whose features satisfy its requirement. A feature nobody declared or found does
not satisfy a requirement on it: a node with no features runs only variants that require nothing.

Names are normalized once, here: architectures as `uname -m` writes them on Linux (amd64 is x86_64, arm64 is
aarch64), instruction-set extensions as Linux's /proc/cpuinfo flags with dots as underscores (sse4.1 is sse4_1;
Arm's asimd is neon). An x86-64 microarchitecture level (x86-64-v2, -v3, -v4) in a requirement or a declaration
stands for its extensions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from hetflow.errors import SpecError
from hetflow.spec.resources import parse_memory
from hetflow.spec.versions import satisfies, specifier

_ARCH = {"amd64": "x86_64", "x64": "x86_64", "x86-64": "x86_64", "arm64": "aarch64", "armv8": "aarch64"}
_ISA = {
    "sse4.1": "sse4_1",
    "sse4.2": "sse4_2",
    "pni": "sse3",
    "abm": "lzcnt",
    "asimd": "neon",
    "avx512": "avx512f",
    "avx-512": "avx512f",
    "sha": "sha_ni",
}
_V2 = frozenset(("cx16", "lzcnt", "popcnt", "sse3", "sse4_1", "sse4_2", "ssse3"))
_V3 = _V2 | {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "movbe", "xsave"}
ISA_LEVELS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "x86-64-v2": _V2,
        "x86-64-v3": frozenset(_V3),
        "x86-64-v4": _V3 | {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
    }
)
_EMPTY: Mapping[str, str] = MappingProxyType({})


def arch_name(name: str) -> str:
    """An architecture's name as `uname -m` writes it on Linux."""
    low = name.strip().lower()
    return _ARCH.get(low, low)


def isa_name(name: str) -> str:
    """An instruction-set extension's name as a /proc/cpuinfo flag, with dots as underscores."""
    low = name.strip().lower()
    return _ISA.get(low, low.replace(".", "_"))


def isa_set(names: Iterable[str]) -> frozenset[str]:
    """Extensions by their normalized names; an x86-64 level (x86-64-v3) stands for its extensions."""
    out: set[str] = set()
    for name in names:
        level = ISA_LEVELS.get(name.strip().lower())
        out |= level if level is not None else {isa_name(name)}
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class GpuFeature:
    """One GPU of a node: its model (spec/gpus.py's spelling), memory in bytes (0: unknown), compute capability
    ("9.0"), driver version and the CUDA version the driver supports (None: unknown)."""

    model: str
    memory: int = 0
    compute_capability: str | None = None
    driver: str | None = None
    cuda: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "memory": self.memory,
            "compute_capability": self.compute_capability,
            "driver": self.driver,
            "cuda": self.cuda,
        }


@dataclass(frozen=True, slots=True)
class Features:
    """What a node is. libs maps a library, MPI or compiler name (openblas, mkl, fftw3, openmpi, mpi, gcc, nvcc, ...)
    to its version ("" when found but of unknown version); it is left out of the hash (equal features still hash
    alike)."""

    arch: str | None = None
    cpu_model: str | None = None
    isa: frozenset[str] = frozenset()
    cores: int = 0
    memory: int = 0
    gpus: tuple[GpuFeature, ...] = ()
    libs: Mapping[str, str] = field(default_factory=lambda: _EMPTY, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.libs, MappingProxyType):
            object.__setattr__(self, "libs", MappingProxyType(dict(self.libs)))

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape `hetflow discover --json` prints and `features_from_dict` reads back."""
        return {
            "arch": self.arch,
            "cpu_model": self.cpu_model,
            "isa": sorted(self.isa),
            "cores": self.cores,
            "memory": self.memory,
            "gpus": [g.as_dict() for g in self.gpus],
            "libs": dict(sorted(self.libs.items())),
        }


@dataclass(frozen=True, slots=True)
class Requirement:
    """What a way to run a task needs of its node: an architecture (any of arch), every extension in isa, a GPU
    whose model is one of gpu_models and whose cuda, driver and compute_capability satisfy their specifiers (one GPU
    meeting all of them), and every library of libs at a version its specifier allows ("": any version).
    Empty fields ask nothing. libs is left out of the hash."""

    arch: tuple[str, ...] = ()
    isa: frozenset[str] = frozenset()
    cuda: str | None = None
    driver: str | None = None
    compute_capability: str | None = None
    gpu_models: tuple[str, ...] = ()
    libs: Mapping[str, str] = field(default_factory=lambda: _EMPTY, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.libs, MappingProxyType):
            object.__setattr__(self, "libs", MappingProxyType(dict(self.libs)))

    @property
    def wants_gpu(self) -> bool:
        return bool(self.gpu_models) or any(s is not None for s in (self.cuda, self.driver, self.compute_capability))

    def satisfied_by(self, features: Features | None) -> str | None:
        """None when a node with these features may run the variant, else why not (a short phrase)."""
        if features is None:
            return "the node has no known features"
        if self.arch and features.arch not in self.arch:
            return f"architecture {features.arch or 'unknown'}, not {' or '.join(self.arch)}"
        missing = self.isa - features.isa
        if missing:
            return "no " + ", ".join(sorted(missing))
        if self.wants_gpu:
            reason = self._gpu_reason(features.gpus)
            if reason is not None:
                return reason
        for name, spec in self.libs.items():
            have = features.libs.get(name)
            if have is None:
                return f"no {name}"
            if not satisfies(have, spec):
                return f"{name} {have or '(version unknown)'}, not {spec}"
        return None

    def _gpu_reason(self, gpus: tuple[GpuFeature, ...]) -> str | None:
        """None when some GPU meets every GPU field, else why the first GPU does not."""
        if not gpus:
            return "no GPU"
        reasons = [self._one_gpu(g) for g in gpus]
        return None if None in reasons else reasons[0]

    def _one_gpu(self, g: GpuFeature) -> str | None:
        if self.gpu_models and not model_among(self.gpu_models, g.model):
            return f"GPU model {g.model}, not {' or '.join(self.gpu_models)}"
        for what, spec, have in (
            ("CUDA", self.cuda, g.cuda),
            ("driver", self.driver, g.driver),
            ("compute capability", self.compute_capability, g.compute_capability),
        ):
            if spec is not None and not satisfies(have, spec):
                return f"{what} {have or 'unknown'}, not {spec or 'any'}"
        return None

    def as_dict(self) -> dict[str, Any]:
        """The native `requires:` mapping (isa levels expanded)."""
        out: dict[str, Any] = {}
        if self.arch:
            out["arch"] = list(self.arch)
        if self.isa:
            out["isa"] = sorted(self.isa)
        for key in ("cuda", "driver", "compute_capability"):
            if (value := getattr(self, key)) is not None:
                out[key] = value
        if self.gpu_models:
            out["gpu_models"] = list(self.gpu_models)
        if self.libs:
            out["libs"] = dict(self.libs)
        return out


def model_among(models: Iterable[str], model: str) -> bool:
    """Case-insensitive; a family name allows its variants ("A100" allows "A100-80GB"), as spec.resources does."""
    m = model.casefold()
    return any(m == a or m.startswith(a + "-") for a in (x.casefold() for x in models))


# ---- from documents (a platform's `features:`, a task's `requires:`, a discovery JSON) ------------------------------
_REQUIRES_KEYS = ("arch", "isa", "cuda", "driver", "compute_capability", "gpu_models", "libs")
_FEATURE_KEYS = ("arch", "cpu_model", "isa", "cores", "memory", "gpus", "libs", "cuda", "driver", "compute_capability")
_GPU_KEYS = ("model", "memory", "compute_capability", "driver", "cuda")


def _names(value: object, place: str) -> tuple[str, ...]:
    """One name or a list of names."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(v, str) and v.strip() for v in items):
        raise SpecError(f"{place} must be a name or a list of names, not {value!r}", place=place, fix="e.g. [a, b]")
    return tuple(items)


def _mapping(value: object, place: str, keys: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SpecError(f"expected a mapping, not {value!r}", place=place, fix="write `key: value` pairs")
    for key in value:
        if key not in keys:
            raise SpecError(f"unknown key {key!r}", place=f"{place}.{key}", fix="the keys here are " + ", ".join(keys))
    return value


def _version(value: object, place: str) -> str | None:
    """A version found or declared: a string, or a number written without quotes (12.1)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise SpecError(f"{place} must be a version such as 12.1, not {value!r}", place=place, fix='e.g. "12.1"')


def requirement_from_dict(value: object, place: str = "requires") -> Requirement | None:
    """A Requirement from a `requires:` mapping (None when it asks nothing); isa levels stand for their extensions."""
    doc = _mapping(value, place, _REQUIRES_KEYS)
    libs = _mapping(doc.get("libs", {}), f"{place}.libs", tuple(doc.get("libs") or ()))
    req = Requirement(
        arch=tuple(arch_name(a) for a in _names(doc.get("arch", ()), f"{place}.arch")),
        isa=isa_set(_names(doc.get("isa", ()), f"{place}.isa")),
        cuda=None if doc.get("cuda") is None else specifier(doc["cuda"], f"{place}.cuda"),
        driver=None if doc.get("driver") is None else specifier(doc["driver"], f"{place}.driver"),
        compute_capability=None
        if doc.get("compute_capability") is None
        else specifier(doc["compute_capability"], f"{place}.compute_capability"),
        gpu_models=_names(doc.get("gpu_models", ()), f"{place}.gpu_models"),
        libs={str(k): specifier("" if v is None else v, f"{place}.libs.{k}") for k, v in libs.items()},
    )
    return req if req != Requirement() else None


def _gpu(value: object, place: str) -> GpuFeature:
    doc = _mapping(value, place, _GPU_KEYS)
    model = doc.get("model")
    if not isinstance(model, str) or not model:
        raise SpecError(f"a GPU needs a model, not {model!r}", place=f"{place}.model", fix="e.g. model: A100-80GB")
    return GpuFeature(
        model,
        parse_memory(doc.get("memory") or 0, f"{place}.memory"),
        _version(doc.get("compute_capability"), f"{place}.compute_capability"),
        _version(doc.get("driver"), f"{place}.driver"),
        _version(doc.get("cuda"), f"{place}.cuda"),
    )


def features_from_dict(
    value: object, place: str = "features", gpu_model: str | None = None, gpu_count: int = 0, gpu_memory: int = 0
) -> Features:
    """Features from a platform's `features:` or a discovery JSON. A node type with GPUs (gpu_model, gpu_count) may
    leave out the `gpus:` list and give cuda, driver and compute_capability once for all of them."""
    doc = _mapping(value, place, _FEATURE_KEYS)
    if "gpus" in doc:
        gpus_doc = doc["gpus"]
        if not isinstance(gpus_doc, list):
            raise SpecError("gpus must be a list of GPUs", place=f"{place}.gpus", fix="e.g. [{model: H200}]")
        gpus = tuple(_gpu(g, f"{place}.gpus[{i}]") for i, g in enumerate(gpus_doc))
    elif gpu_count:
        one = GpuFeature(
            gpu_model or "unknown",
            gpu_memory,
            _version(doc.get("compute_capability"), f"{place}.compute_capability"),
            _version(doc.get("driver"), f"{place}.driver"),
            _version(doc.get("cuda"), f"{place}.cuda"),
        )
        gpus = (one,) * gpu_count
    else:
        gpus = ()
    libs = _mapping(doc.get("libs", {}), f"{place}.libs", tuple(doc.get("libs") or ()))
    cores = doc.get("cores", 0)
    if not isinstance(cores, int) or isinstance(cores, bool) or cores < 0:
        raise SpecError(f"cores must be a whole number >= 0, not {cores!r}", place=f"{place}.cores", fix="e.g. 64")
    cpu_model = doc.get("cpu_model")
    return Features(
        arch=None if doc.get("arch") is None else arch_name(str(doc["arch"])),
        cpu_model=None if cpu_model is None else str(cpu_model),
        isa=isa_set(_names(doc.get("isa", ()), f"{place}.isa")),
        cores=cores,
        memory=parse_memory(doc.get("memory") or 0, f"{place}.memory"),
        gpus=gpus,
        libs={str(k): _version("" if v is None else v, f"{place}.libs.{k}") or "" for k, v in libs.items()},
    )
