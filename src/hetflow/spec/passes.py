"""The per-record loops of loading a workflow, typed for mypyc: setup.py compiles this module as it does the flat
kernel (sim/flat.py), and it runs the same interpreted.

A converted trace is hundreds of thousands of one-task sets, and these loops run once per record or per dependency:
compiled, one typed loop costs a fraction of the same work done as several passes in C over intermediate lists.
Each takes what the general path takes and gives the same result, or gives up (None) on anything it is not sure of,
and the caller takes the general path, which names the problem. Standard library and hetflow.errors only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from hetflow.errors import SpecError

EMPTY: tuple[str, ...] = ()
NO_IDS: tuple[int, ...] = ()
ABSENT = object()  # a key a record does not have
FEW = 8  # parents up to which a set's are told apart by a scan of those found so far (beyond: a set)


def unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object from its pairs (json's object_pairs_hook); SpecError for the first key given twice."""
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    seen: dict[str, object] = {}
    for key, value in pairs:
        if key in seen:
            raise SpecError(f"key {key!r} appears twice in one object", fix="keep one of them")
        seen[key] = value
    return seen


def is_name(text: str) -> bool:
    """Whether text is a Name (spec/schema.py): non-empty, without brackets, and without a lone surrogate (JSON may
    escape one; the models refuse it)."""
    if not text or "[" in text or "]" in text:
        return False
    if text.isascii():  # (a flag of the string: no scan)
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def name_tuples(values: list[object]) -> list[tuple[str, ...]] | None:
    """Each value (a list or tuple of names, or one name standing for a list of it) as a tuple of names; None when
    some value is anything else or holds something that is not a Name."""
    out: list[tuple[str, ...]] = []
    for value in values:
        names = name_tuple(value)
        if names is None:
            return None
        out.append(names)
    return out


def name_tuple(value: object) -> tuple[str, ...] | None:
    """name_tuples' of one value."""
    if type(value) is str:
        return (value,) if is_name(value) else None
    if type(value) is not list and type(value) is not tuple:
        return None
    names: list[str] = []
    for item in value:
        if type(item) is not str or not is_name(item):
            return None
        names.append(item)
    return tuple(names) if names else EMPTY


def parent_ids(afters: list[object], index: dict[str, int]) -> tuple[list[tuple[int, ...]], bool] | None:
    """Each set's parents as set ids, each once in the order first named, and whether every set comes after its
    parents (declaration order is then topological); None when a dependency is not a set of index, is the set
    itself, or a set's after is not a tuple of names (the caller's own check names the problem)."""
    out: list[tuple[int, ...]] = []
    in_order = True
    for i in range(len(afters)):
        after = afters[i]
        if not isinstance(after, tuple):
            return None
        m = len(after)
        if m == 0:
            out.append(NO_IDS)
            continue
        first = id_of(after[0], index, i)
        if first < 0:
            return None
        if first > i:
            in_order = False
        if m == 1:
            out.append((first,))
            continue
        ids: list[int] = [first]
        seen: set[int] | None = None if m <= FEW else {first}  # (a join of many sets: linear, not quadratic)
        for k in range(1, m):
            p = id_of(after[k], index, i)
            if p < 0:
                return None
            if seen is None:
                if p in ids:
                    continue
            elif p in seen:
                continue
            else:
                seen.add(p)
            ids.append(p)
            if p > i:
                in_order = False
        out.append(tuple(ids))
    return out, in_order


def id_of(name: object, index: dict[str, int], i: int) -> int:
    """The id of the set name names, as a dependency of set i: -1 when it is no name of index, or set i itself."""
    if not isinstance(name, str):
        return -1
    p = index.get(name, -1)
    return -1 if p == i else p


def path_weights(
    order: Sequence[int], parents: Sequence[Sequence[int]], weight: Sequence[float]
) -> tuple[list[float], list[int]]:
    """Per node (by id), in any topological order: the weight of the heaviest path ending there, its own included,
    and the node before it on that path (the first of the heaviest parents, as max() picks; -1 for a root)."""
    best = [0.0] * len(parents)
    via = [-1] * len(parents)
    for n in order:
        ps = parents[n]
        if not ps:
            best[n] = 0.0 + weight[n]
            continue
        p = ps[0]
        high = best[p]
        for q in ps:
            if best[q] > high:
                p, high = q, best[q]
        via[n] = p
        best[n] = high + weight[n]
    return best, via


def simple_columns(
    records: list[dict[str, object]],
) -> tuple[list[str], list[int], list[float], list[tuple[str, ...]]] | None:
    """The names, cores, run times and dependencies of records that hold nothing else (a converted trace's), in one
    loop; None when some record holds another key or a value the models might refuse or read otherwise (the column
    path then decides). Cores default to 1, run times to 0.0, dependencies to none, as in the models."""
    names: list[str] = []
    cores: list[int] = []
    runtimes: list[float] = []
    afters: list[tuple[str, ...]] = []
    for record in records:
        keys = 1
        name = record.get("name", ABSENT)
        if type(name) is not str or not is_name(name):
            return None
        names.append(name)
        c = record.get("cores", ABSENT)
        if c is ABSENT:
            cores.append(1)
        elif type(c) is int and c >= 0:
            cores.append(c)
            keys += 1
        else:
            return None
        t = record.get("runtime", ABSENT)
        if t is ABSENT:
            runtimes.append(0.0)
        else:
            seconds = seconds_of(t)
            if seconds < 0.0:
                return None
            runtimes.append(seconds)
            keys += 1
        a = record.get("after", ABSENT)
        if a is ABSENT:
            afters.append(EMPTY)
        else:
            after = name_tuple(a)
            if after is None:
                return None
            afters.append(after)
            keys += 1
        if len(record) != keys:
            return None
    return names, cores, runtimes, afters


def seconds_of(value: object) -> float:
    """An int or a finite float >= 0 as a float (what a strict float field makes of it); -1.0 for anything else."""
    if type(value) is float:
        seconds: float = value
    elif type(value) is int:
        try:
            seconds = float(value)
        except OverflowError:
            return -1.0
    else:
        return -1.0
    if seconds >= 0.0 and seconds < math.inf:
        return seconds
    return -1.0
