"""The best build of an application for a node: its specialization points (points.py) intersected with the node's
features, as XaaS does it.

Per node type: the architecture must be one the application builds for; the vector level is the best one whose
extensions the node has (a ranked table of the names applications use: SSE2 < SSE4.1 < AVX_256 < AVX2_256 <
AVX_512, NEON < SVE; a level is one choice when every flag sets one variable, -DGMX_SIMD=..., else each toggle that
fits is on, -DGGML_AVX2 -DGGML_FMA); the GPU backend is the first every GPU of the node takes, native first (CUDA on
NVIDIA, HIP on AMD, SYCL on Intel, then SYCL, OpenCL, Vulkan where their runtimes are found), at its minimum
version; each library choice (parallel, linear algebra, FFT) is the default when the node has it, else the first
it has (built-in ones always; a GPU FFT when it works with the backend chosen). A choice the build makes by default
needs no flag. What the build needs of a node (arch, extensions, CUDA version, libraries) is its Requirement: the
`requires:` of the variant that runs it (`hetflow specialize --emit-variants`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hetflow.discover.points import Option, Points
from hetflow.spec.features import Features, Requirement
from hetflow.spec.versions import satisfies

# normalized SIMD name -> (extensions it needs, rank); names are lower case with "." and "-" as "_"
SIMD_LEVELS: dict[str, tuple[frozenset[str], int]] = {
    "none": (frozenset(), 0),
    "reference": (frozenset(), 0),
    "sse2": (frozenset({"sse2"}), 10),
    "sse4_1": (frozenset({"sse4_1"}), 20),
    "sse4_2": (frozenset({"sse4_2"}), 25),
    "sse42": (frozenset({"sse4_2"}), 25),
    "avx_128_fma": (frozenset({"avx", "fma4"}), 30),
    "avx": (frozenset({"avx"}), 35),
    "avx_256": (frozenset({"avx"}), 35),
    "fma": (frozenset({"fma"}), 38),
    "bmi2": (frozenset({"bmi2"}), 39),
    "avx2_128": (frozenset({"avx2", "fma"}), 40),
    "avx2": (frozenset({"avx2"}), 45),
    "avx2_256": (frozenset({"avx2", "fma"}), 45),
    "avx_512": (frozenset({"avx512f"}), 50),
    "avx512": (frozenset({"avx512f"}), 50),
    "avx_512_vbmi": (frozenset({"avx512vbmi"}), 52),
    "avx_512_vnni": (frozenset({"avx512_vnni"}), 53),
    "avx_512_bf16": (frozenset({"avx512_bf16"}), 54),
    "avx_512_knl": (frozenset({"avx512f", "avx512er"}), 55),
    "neon": (frozenset({"neon"}), 20),
    "arm_neon": (frozenset({"neon"}), 20),
    "arm_neon_asimd": (frozenset({"neon"}), 20),
    "sve": (frozenset({"sve"}), 40),
    "arm_sve": (frozenset({"sve"}), 40),
    "sve2": (frozenset({"sve2"}), 45),
    "arm_sve2": (frozenset({"sve2"}), 45),
    "vsx": (frozenset({"vsx"}), 20),
    "ibm_vsx": (frozenset({"vsx"}), 20),
}
_FAMILIES = (  # (family, word size: None when the name is loose, prefixes), most precise first: prefixes overlap
    ("x86", 64, ("x86_64", "x86-64", "amd64", "x64", "em64t")),
    ("x86", 32, ("i386", "i486", "i586", "i686", "x86_32")),
    ("x86", None, ("x86", "intel")),
    ("arm", 32, ("armv8l", "armv5", "armv6", "armv7", "armhf", "armel", "arm32")),  # armv8l: 32-bit user space
    ("arm", 64, ("aarch64", "arm64", "armv8", "armv9")),
    ("arm", None, ("arm",)),
    ("power", 64, ("ppc64", "power8", "power9", "power10", "power11")),
    ("power", 32, ("ppc",)),
    ("power", None, ("power", "ibm")),
)
_BACKENDS = {  # vendor -> GPU backends in the order preferred
    "nvidia": ("cuda", "sycl", "opencl", "vulkan"),
    "amd": ("hip", "sycl", "opencl", "vulkan"),
    "intel": ("sycl", "opencl", "vulkan"),
}
_RUNTIMES = {"hip": ("rocm", "hip"), "sycl": ("sycl", "dpcpp", "oneapi", "adaptivecpp", "acpp"), "opencl": ("opencl",)}
_RUNTIMES["vulkan"] = ("vulkan",)
_LIBRARIES = {  # option name -> the feature names (any of) it needs; None: built into the application
    "mpi": ("mpi",),
    "openmp": ("openmp",),
    "thread_mpi": None,
    "tbb": ("tbb",),
    "mkl": ("mkl",),
    "mkl/onemkl": ("mkl",),
    "onemkl": ("mkl",),
    "openblas": ("openblas",),
    "blis": ("blis",),
    "flexiblas": ("flexiblas",),
    "blas/lapack": ("blas", "openblas", "mkl", "blis", "flexiblas"),
    "blas": ("blas", "openblas", "mkl", "blis", "flexiblas"),
    "lapack": ("lapack", "mkl", "openblas"),
    "fftw3": ("fftw3",),
    "fftw": ("fftw3",),
}
_COMPILERS = {"gcc": "gcc", "clang": "clang", "cuda": "nvcc", "nvcc": "nvcc", "intel": "icx", "icx": "icx"}
_COMPILERS.update({"gfortran": "gfortran", "ifx": "ifx"})


def _key(name: str) -> str:
    return name.strip().lower().replace(".", "_").replace("-", "_").replace(" ", "_")


@dataclass(frozen=True)
class Build:
    """The build chosen for one node type: its choices, the flags that make it, what it requires of a node, and why
    some choices were not taken (notes). supported False: the application does not build for the node at all."""

    node_type: str
    supported: bool
    simd: str | None = None
    gpu_backend: str | None = None
    parallel: tuple[str, ...] = ()
    linear_algebra: str | None = None
    fft: str | None = None
    gpu_fft: str | None = None
    flags: tuple[str, ...] = ()
    requires: Requirement | None = None
    compilers: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "node_type": self.node_type,
            "supported": self.supported,
            "simd": self.simd,
            "gpu_backend": self.gpu_backend,
            "parallel": list(self.parallel),
            "linear_algebra": self.linear_algebra,
            "fft": self.fft,
            "gpu_fft": self.gpu_fft,
            "flags": list(self.flags),
            "requires": self.requires.as_dict() if self.requires is not None else {},
            "compilers": list(self.compilers),
            "notes": list(self.notes),
        }


def family(arch: str) -> tuple[str, int | None]:
    """An architecture's family (x86, arm, power, else the name) and word size (None: the name does not say, as
    specialization points often write "x86" or "ARM" for the whole family)."""
    low = arch.strip().lower().rstrip("%")
    return next(((fam, bits) for fam, bits, prefixes in _FAMILIES if low.startswith(prefixes)), (low, None))


def builds_for(app_arch: str, node_arch: str) -> bool:
    """Whether an application built for app_arch runs on node_arch: same family, and the same word size where both
    say (an aarch64 build does not run on a 32-bit armv7 node; "ARM" covers both)."""
    (fam, bits), (node_fam, node_bits) = family(app_arch), family(node_arch)
    return fam == node_fam and (bits is None or node_bits is None or bits == node_bits)


def vendor(model: str) -> str:
    """The maker of a GPU model, from its name (NVML's GPUs are NVIDIA's)."""
    low = model.lower()
    if low.startswith("mi") or any(w in low for w in ("amd", "radeon", "instinct")):
        return "amd"
    if any(w in low for w in ("intel", "ponte", "arc ", "data center gpu max")):
        return "intel"
    return "nvidia"


class _Choices:
    """What one node's build accumulates: flags, requirements and notes."""

    def __init__(self, f: Features) -> None:
        self.f = f
        self.flags: list[str] = []
        self.libs: dict[str, str] = {}
        self.notes: list[str] = []

    def has(self, o: Option, names: Sequence[str]) -> str | None:
        """The feature name of names the node has at o's minimum version (None: none)."""
        spec = f">={o.minimum}" if o.minimum else ""
        for name in names:
            if name in self.f.libs and satisfies(self.f.libs[name], spec):
                return name
        return None

    def library(self, o: Option) -> bool:
        """Whether the node has what option o needs (recording it); built-in and unknown default options need
        nothing."""
        names = _LIBRARIES.get(_key(o.name), ()) if not o.built_in else None
        if names is None or (names == () and o.default):
            return True
        found = self.has(o, names) if names else None
        if found is None:
            self.notes.append(f"{o.name}: not on the node" + (f" at >= {o.minimum}" if o.minimum else ""))
            return False
        self.libs[found] = f">={o.minimum}" if o.minimum else ""
        return True

    def take(self, o: Option) -> None:
        if o.flag and not o.default:
            self.flags.append(o.flag)


def _simd(points: Points, c: _Choices) -> tuple[str | None, frozenset[str]]:
    known = [(SIMD_LEVELS[_key(o.name)], o) for o in points.simd if _key(o.name) in SIMD_LEVELS]
    fitting = [(rank, needs, o) for (needs, rank), o in known if needs <= c.f.isa]
    if not fitting:
        if known:
            c.notes.append("no vector level of the application fits the node's extensions")
        return None, frozenset()
    flags = [o.flag for _, _, o in fitting if o.flag]
    one_variable = bool(flags) and all("=" in f for f in flags) and len({f.split("=")[0] for f in flags}) == 1
    best = max(fitting, key=lambda t: t[0])
    chosen = [best] if one_variable else [t for t in fitting if t[0] > 0]
    for _, _, o in sorted(chosen, key=lambda t: t[0]):
        if o.flag:
            c.flags.append(o.flag)
    return best[2].name, frozenset().union(*(needs for _, needs, _ in chosen))


def _gpu(points: Points, c: _Choices) -> tuple[str | None, str | None]:
    """The GPU backend chosen (None: none) and the CUDA specifier it requires."""
    if not points.gpu_build or not points.gpu_backends or not c.f.gpus:
        return None, None
    by_key = {_key(o.name): o for o in points.gpu_backends}
    gpus = c.f.gpus  # a task may be given any of them: the backend must run on every one
    vendors = [vendor(g.model) for g in gpus]
    usable = [b for b in _BACKENDS[vendors[0]] if all(b in _BACKENDS[v] for v in vendors)]
    for backend in usable:
        o = by_key.get(backend)
        if o is None:
            continue
        spec = f">={o.minimum}" if o.minimum else ""
        if backend == "cuda":
            short = next((g for g in gpus if o.minimum and not satisfies(g.cuda, spec)), None)
            if short is not None:
                c.notes.append(f"{o.name}: needs >= {o.minimum}, the node has {short.cuda or 'an unknown version'}")
                continue
            c.take(o)
            return o.name, spec  # "" (any CUDA) still needs a GPU with a known CUDA: never an AMD or Intel one
        found = c.has(o, _RUNTIMES[backend])
        if found is None:
            c.notes.append(f"{o.name}: no {'/'.join(_RUNTIMES[backend])} on the node")
            continue
        c.libs[found] = spec
        c.take(o)
        return o.name, None
    models = ", ".join(sorted({g.model for g in gpus}))
    c.notes.append(f"no GPU backend of the application runs on {'every one of ' if ',' in models else ''}{models}")
    return None, None


def _one_of(options: Iterable[Option], c: _Choices) -> Option | None:
    """The default option when the node has it, else the first it has."""
    ordered = sorted(options, key=lambda o: not o.default)
    for o in ordered:
        if c.library(o):
            c.take(o)
            return o
    return None


def build_for(points: Points, node_type: str, f: Features) -> Build:
    """The best build of the application for nodes with these features."""
    if points.architectures and not any(builds_for(a, f.arch or "") for a in points.architectures):
        note = (
            f"the application builds for {', '.join(points.architectures)}, not {f.arch or 'an unknown architecture'}"
        )
        return Build(node_type, False, notes=(note,))
    c = _Choices(f)
    simd, isa = _simd(points, c)
    backend, cuda = _gpu(points, c)
    if backend is not None and points.gpu_flag and not any(x.startswith(points.gpu_flag) for x in c.flags):
        c.flags.insert(0, points.gpu_flag)
    parallel = []
    for o in points.parallel:  # every parallel library the node has (MPI and OpenMP go together)
        if c.library(o):
            c.take(o)
            parallel.append(o.name)
    blas = _one_of((o for o in points.linear_algebra if _key(o.name) not in ("cublas", "accelerate")), c)
    cpu_fft = _one_of((o for o in points.fft if not o.depends), c)
    gpu_fft = None
    if backend is not None:  # the default, else the one made for fewest backends (cuFFT before VkFFT on CUDA)
        fits = [o for o in points.fft if o.depends and _key(backend) in _key(o.depends)]
        gpu_fft = min(fits, key=lambda o: (not o.default, o.depends.count(",") if o.depends else 0), default=None)
        if gpu_fft is not None:
            c.take(gpu_fft)
    requirement = Requirement(arch=(f.arch,) if f.arch else (), isa=isa, cuda=cuda, libs=dict(sorted(c.libs.items())))
    return Build(
        node_type,
        True,
        simd,
        backend,
        tuple(parallel),
        blas.name if blas else None,
        cpu_fft.name if cpu_fft else None,
        gpu_fft.name if gpu_fft else None,
        tuple(c.flags),
        requirement if requirement != Requirement() else None,
        _compilers(points, f),
        tuple(c.notes),
    )


def _compilers(points: Points, f: Features) -> tuple[str, ...]:
    """The compilers of the node that meet the application's minimum versions (for the record: a build usually
    brings its own, in a container)."""
    out = []
    for name, minimum in points.compilers:
        have = f.libs.get(_COMPILERS.get(_key(name), _key(name)))
        if have is not None and satisfies(have, f">={minimum}" if minimum else ""):
            out.append(f"{name} {have}".strip())
    return tuple(out)
