"""Version specifiers such as ">=12.1" or ">=3.3,<4": numeric, PEP 440-like comparison of release numbers.

A version is its leading release numbers ("12.4" is (12, 4), "535.104.05" is (535, 104, 5), "4.1.6rc1" is
(4, 1, 6)); missing trailing numbers are zeros, so 12.1 == 12.1.0. A specifier is clauses joined by commas, each an
operator (>=, >, <=, <, ==, !=) and a version, all of which must hold; "" or "*" holds for any known version.
An operator is always written: a bare "12" would be read as a minimum by some and as an exact version by others.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable

from hetflow.errors import SpecError

Release = tuple[int, ...]
Clause = tuple[Callable[[Release, Release], bool], Release]

_RELEASE = re.compile(r"\s*v?(\d+(?:\.\d+)*)")
_CLAUSE = re.compile(r"\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)*)\s*$")
_OPS: dict[str, Callable[[Release, Release], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
SPECIFIER_IS = 'an operator and a version, comma-joined for a range, e.g. ">=12.1" or ">=3.3,<4"'


def release(version: str) -> Release | None:
    """The release numbers a version starts with, trailing zeros dropped; None when it starts with none."""
    found = _RELEASE.match(version)
    if found is None:
        return None
    numbers = [int(n) for n in found.group(1).split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


@functools.lru_cache(maxsize=256)
def parse_specifier(text: str) -> tuple[Clause, ...]:
    """The clauses of a specifier (none: any version); a SpecError names what is wrong."""
    if text.strip() in ("", "*"):
        return ()
    clauses: list[Clause] = []
    for part in text.split(","):
        found = _CLAUSE.match(part)
        if found is None:
            raise SpecError(f"version specifier {text!r} is not understood", fix=f"write {SPECIFIER_IS}")
        rel = release(found.group(2))
        assert rel is not None
        clauses.append((_OPS[found.group(1)], rel))
    return tuple(clauses)


def specifier(value: object, place: str) -> str:
    """A specifier from a document (a string; a number is refused with the fix), checked and trimmed."""
    if not isinstance(value, str):
        raise SpecError(f"{place} must be a version specifier, not {value!r}", place=place, fix=f"write {SPECIFIER_IS}")
    try:
        parse_specifier(value)
    except SpecError as exc:
        raise SpecError(exc.problem, place=place, fix=exc.fix) from None
    return ",".join(p.strip() for p in value.split(",")) if value.strip() not in ("", "*") else ""


def satisfies(version: str | None, spec: str) -> bool:
    """Whether a version holds for a specifier; an unknown version (None, or no numbers) holds for none but ""."""
    clauses = parse_specifier(spec)
    if version is None:
        return False
    rel = release(version)
    if rel is None:
        return not clauses
    return all(op(_padded(rel, len(want)), _padded(want, len(rel))) for op, want in clauses)


def _padded(rel: Release, n: int) -> Release:
    return rel + (0,) * (n - len(rel)) if len(rel) < n else rel
