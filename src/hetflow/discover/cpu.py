"""This machine's processor: architecture, model and vector instruction-set extensions, from /proc/cpuinfo.

Only the extensions a build may specialize for are kept (SSE to AVX-512 and AMX on x86, NEON to SVE2 and SME on Arm,
AltiVec and VSX on POWER), under spec.features' names (pni is sse3, abm is lzcnt, asimd is neon).
"""

from __future__ import annotations

import platform
from pathlib import Path

from hetflow.spec.features import arch_name, isa_name

_X86 = frozenset(
    (
        *("sse", "sse2", "sse3", "ssse3", "sse4_1", "sse4_2", "sse4a", "avx", "avx2", "fma", "fma4", "f16c"),
        *("bmi1", "bmi2", "popcnt", "lzcnt", "movbe", "xsave", "cx16", "aes", "sha_ni", "pclmulqdq", "vaes"),
        *("vpclmulqdq", "gfni", "avx_vnni"),
    )
)
_ARM = frozenset(
    (
        *("neon", "asimdhp", "asimddp", "asimdfhm", "asimdrdm", "fphp", "i8mm", "bf16", "sve", "sve2", "svei8mm"),
        *("svebf16", "sme", "sme2"),
    )
)
_POWER = frozenset(("altivec", "vsx"))
_PREFIXES = ("avx512", "amx")  # every avx512* and amx* flag
_ARM_PARTS = {  # Arm Ltd (implementer 0x41) cores whose kernels print no model name
    "0xd0c": "Neoverse-N1",
    "0xd40": "Neoverse-V1",
    "0xd49": "Neoverse-N2",
    "0xd4f": "Neoverse-V2",
    "0xd8e": "Neoverse-N3",
    "0xd84": "Neoverse-V3",
}


def vector_extensions(flags: str) -> frozenset[str]:
    """The vector extensions among a cpuinfo `flags` (x86) or `Features` (Arm) line's words, normalized."""
    found = set()
    for word in flags.split():
        name = isa_name(word)
        if name in _X86 or name in _ARM or name.startswith(_PREFIXES):
            found.add(name)
    return frozenset(found)


def parse_cpuinfo(text: str) -> tuple[str | None, frozenset[str]]:
    """(CPU model, vector extensions) from the text of /proc/cpuinfo; the first processor's entries are enough."""
    model: str | None = None
    part: str | None = None
    isa: frozenset[str] = frozenset()
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key in ("model name", "cpu model", "hardware", "model") and model is None and value and not value.isdigit():
            model = value
        elif key == "cpu" and model is None:  # POWER: "POWER9 (raw), altivec supported"
            model = value.split(",")[0].strip()
            if "altivec" in value:
                isa = isa | {"altivec"}
        elif key in ("flags", "features") and not (isa - _POWER):
            isa = isa | vector_extensions(value)
        elif key == "cpu part" and part is None:
            part = value.lower()
    if model is None and part is not None:
        model = _ARM_PARTS.get(part, f"Arm part {part}")
    return model, isa


def cpu() -> tuple[str, str | None, frozenset[str]]:
    """(architecture, CPU model, vector extensions) of this machine; the extensions are empty where /proc/cpuinfo is
    not there (not Linux)."""
    arch = arch_name(platform.machine() or "unknown")
    try:
        model, isa = parse_cpuinfo(Path("/proc/cpuinfo").read_text(errors="replace"))
    except OSError:
        model, isa = platform.processor() or None, frozenset()
    if arch == "aarch64":
        isa = isa | {"neon"}  # Advanced SIMD is mandatory in ARMv8-A
    return arch, model, isa
