"""An application's specialization points, in the XaaS JSON shape (Copik, Hoefler et al., "XaaS containers"): the
choices its build offers and the flag that selects each.

    gpu_build                        {value, build_flag}: whether it builds for GPUs at all
    gpu_backends                     NAME -> {used_as_default, build_flag, minimum_version}     (CUDA, HIP, SYCL, ...)
    parallel_programming_libraries   NAME -> {used_as_default, build_flag, minimum_version}     (MPI, OpenMP, ...)
    linear_algebra_libraries         NAME -> {used_as_default, build_flag, condition}           (MKL, OpenBLAS, ...)
    FFT_libraries                    NAME -> {built-in, used_as_default, dependencies, build_flag}  (a GPU FFT names
                                     the GPU backends it works with in dependencies)
    simd_vectorization               NAME -> {build_flag, default}                              (SSE4.1, AVX_512, ...)
    architectures                    [x86_64, aarch64, ...]; compilers  NAME -> {minimum_version}

Other keys (compiler and optimization flags, other libraries, the build system) are read past: they do not depend on
the node. A value of the wrong type is one SpecError naming its place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hetflow.errors import SpecError
from hetflow.spec.versions import release

_FIX = "write the specialization points as XaaS does: NAME: {build_flag: ..., used_as_default: ...}"


@dataclass(frozen=True, slots=True)
class Option:
    """One choice of a specialization point: its name, the flag that selects it (None: none needed), whether the
    build takes it by default, the least version of what it needs, whether it is built in, and (a GPU FFT) the GPU
    backends it works with."""

    name: str
    flag: str | None = None
    default: bool = False
    minimum: str | None = None
    built_in: bool = False
    depends: str | None = None


@dataclass(frozen=True)
class Points:
    """The specialization points of one application."""

    gpu_build: bool = False
    gpu_flag: str | None = None
    gpu_backends: tuple[Option, ...] = ()
    parallel: tuple[Option, ...] = ()
    linear_algebra: tuple[Option, ...] = ()
    fft: tuple[Option, ...] = ()
    simd: tuple[Option, ...] = ()
    architectures: tuple[str, ...] = ()
    compilers: tuple[tuple[str, str], ...] = ()  # (name, minimum version)
    source: str | None = None


def _text(value: object, place: str, source: str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise SpecError(f"expected a string or null, not {value!r}", source=source, place=place, fix=_FIX)


def _minimum(value: object, place: str, source: str | None) -> str | None:
    """A minimum version, checked now: a version that starts with no number would only fail at the first node."""
    text = _text(value, place, source)
    if text is not None and text.strip() and release(text) is None:
        raise SpecError(
            f"minimum version {text!r} is not a version",
            source=source,
            place=place,
            fix="write its release numbers, e.g. 12.1, or null for none",
        )
    return text.strip() if text is not None and text.strip() else None


def _section(doc: Mapping[str, Any], key: str, source: str | None) -> list[tuple[str, Mapping[str, Any]]]:
    value = doc.get(key) or {}
    if not isinstance(value, Mapping):
        raise SpecError(f"{key} must be a mapping of names to options", source=source, place=key, fix=_FIX)
    for name, option in value.items():
        if not isinstance(option, Mapping):
            raise SpecError(f"expected a mapping, not {option!r}", source=source, place=f"{key}.{name}", fix=_FIX)
    return list(value.items())


def _options(
    doc: Mapping[str, Any], key: str, source: str | None, default_key: str = "used_as_default"
) -> tuple[Option, ...]:
    out = []
    for name, o in _section(doc, key, source):
        place = f"{key}.{name}"
        out.append(
            Option(
                str(name),
                _text(o.get("build_flag"), f"{place}.build_flag", source),
                bool(o.get(default_key, False)),
                _minimum(o.get("minimum_version"), f"{place}.minimum_version", source),
                bool(o.get("built-in", False)),
                _text(o.get("dependencies"), f"{place}.dependencies", source),
            )
        )
    return tuple(out)


def points_from_dict(doc: object, source: str | None = None) -> Points:
    """Points from the parsed JSON of a specialization points file."""
    if not isinstance(doc, Mapping):
        raise SpecError("expected a mapping of specialization points", source=source, fix=_FIX)
    gpu = doc.get("gpu_build") or {}
    if not isinstance(gpu, Mapping):
        raise SpecError("gpu_build must be {value, build_flag}", source=source, place="gpu_build", fix=_FIX)
    archs = doc.get("architectures") or []
    if not isinstance(archs, list) or not all(isinstance(a, str) for a in archs):
        raise SpecError("architectures must be a list of names", source=source, place="architectures", fix=_FIX)
    compilers = tuple(
        (str(name), _minimum(c.get("minimum_version"), f"compilers.{name}.minimum_version", source) or "")
        for name, c in _section(doc, "compilers", source)
    )
    return Points(
        gpu_build=bool(gpu.get("value", False)),
        gpu_flag=_text(gpu.get("build_flag"), "gpu_build.build_flag", source),
        gpu_backends=_options(doc, "gpu_backends", source),
        parallel=_options(doc, "parallel_programming_libraries", source),
        linear_algebra=_options(doc, "linear_algebra_libraries", source),
        fft=_options(doc, "FFT_libraries", source),
        simd=_options(doc, "simd_vectorization", source, "default"),
        architectures=tuple(archs),
        compilers=compilers,
        source=source,
    )
