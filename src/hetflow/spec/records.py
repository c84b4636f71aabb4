"""The fast path for plain records: the task sets of a native workflow checked a column at a time, not a model each.

A converted trace holds hundreds of thousands of records of a few plain keys (name, cores, runtime, after). Checking
each column at once (its types, its range, its names) costs a fraction of one pydantic model per record. The fast
path only ever accepts what the models in spec/models.py accept, and builds the same task sets from it: anything it
is not sure of (an odd type, a value out of range, a key it does not know) makes it give up, and the caller
validates the whole document with the models, which name the problem. A record with keys of its own (variants, a
function) is validated alone by its model, as part of an otherwise fast document.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import MISSING, fields
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

from hetflow.errors import SpecError
from hetflow.spec import passes
from hetflow.spec.distribution import Distribution, parse_runtime
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import TaskSet

PLAIN_KEYS = frozenset(
    (
        *("name", "count", "cores", "gpus", "memory", "gpu_memory", "gpu_models", "runtime", "after", "workload"),
        *("command", "retries", "partition"),
    )
)
_TOP_KEYS = frozenset(("workflow", "tasks"))
_INT = frozenset((int,))
_NUMBER = frozenset((int, float))
_NAME_OR_NONE = frozenset((str, type(None)))
_LISTS = frozenset((list, tuple))
_CONVERTED = frozenset(("gpus", "memory", "gpu_memory"))  # the keys read by the models' converters
_NEEDS = frozenset(("gpus", "memory", "gpu_memory", "gpu_models"))  # the keys of a need beyond cores
_NAME = itemgetter("name")


class NotPlain(Exception):
    """The document is not one the fast path is sure of: validate it with the models."""


def _names(values: Sequence[object]) -> None:
    """Every value a Name: a non-empty str without brackets."""
    if set(map(type, values)) - {str}:
        raise NotPlain
    joined = "\x00".join(values)  # type: ignore[arg-type]
    if "[" in joined or "]" in joined or not all(values):
        raise NotPlain
    _encodable(joined)


def _encodable(text: str) -> None:
    """No lone surrogate (JSON may escape one): the models refuse those, so they are left to them."""
    try:
        text.encode()
    except UnicodeEncodeError:
        raise NotPlain from None


def _ints(values: list[Any], low: int) -> None:
    """Every value an int (never a bool) >= low."""
    if values and (set(map(type, values)) - _INT or min(values) < low):
        raise NotPlain


def _optional_names(values: list[Any]) -> None:
    """Every value a Name or None."""
    if set(map(type, values)) - _NAME_OR_NONE:
        raise NotPlain
    _names([v for v in values if v is not None])


def _converted(values: list[Any], convert: Callable[[object], int]) -> list[int]:
    """Values through the models' own converter (GPUs, memory), so both paths agree to the unit. A column of one
    type is converted once per distinct value: equal values of one type convert alike (even 0.0 and -0.0)."""
    try:
        if len(set(map(type, values))) == 1:
            table = {v: convert(v) for v in set(values)}
            return list(map(table.__getitem__, values))
        return [convert(v) for v in values]
    except (ValueError, TypeError):  # pydantic's errors are ValueErrors; TypeError: unhashable values
        raise NotPlain from None


def _seconds(values: list[Any]) -> list[float]:
    """Every value an int or a finite float >= 0, as floats (what a strict float field makes of an int)."""
    if set(map(type, values)) - _NUMBER:
        raise NotPlain
    try:
        out = list(map(float, values))
    except OverflowError:
        raise NotPlain from None
    if out and (not all(map(math.isfinite, out)) or min(out) < 0):
        raise NotPlain
    return out


def _runtimes(values: list[Any]) -> tuple[list[float], list[Distribution | None]]:
    """Run times (each distribution's median) and distributions (None for a plain number), through the parser the
    models use; a column of plain numbers is checked at once."""
    if dict not in set(map(type, values)):
        return _seconds(values), [None] * len(values)
    try:
        parsed = [parse_runtime(v) for v in values]
    except SpecError:
        raise NotPlain from None
    dists = [v if type(v) is Distribution else None for v in parsed]
    return [v.median if type(v) is Distribution else v for v in parsed], dists  # type: ignore[misc]


def _after(values: list[Any]) -> list[tuple[str, ...]]:
    """Dependencies (or GPU models) as tuples of names; one name alone stands for a list of it."""
    out = passes.name_tuples(values)
    if out is None:
        raise NotPlain
    return out


def task_sets(n: int, columns: dict[str, list[Any]]) -> list[TaskSet]:
    """n task sets, field by field from columns (a field not in them takes its default): what TaskSet(...) makes,
    in half the time of n calls, as each field is stored in C for all sets at once (a frozen dataclass's __init__
    stores each through a Python-level object.__setattr__)."""
    sets: list[TaskSet] = list(map(object.__new__, repeat(TaskSet, n)))
    for f in fields(TaskSet):
        values: Iterable[Any] | None = columns.get(f.name)
        if values is None:
            if f.default is MISSING:
                raise TypeError(f"task_sets needs a column for {f.name}")
            values = repeat(f.default, n)
        deque(map(getattr(TaskSet, f.name).__set__, sets, values), 0)
    return sets


def _by_cores(cores: list[int]) -> list[Resources]:
    """The resources of sets that ask for cores only: one Resources per distinct number, shared."""
    shared = {c: Resources(c) for c in set(cores)}
    return list(map(shared.__getitem__, cores))


def plain_task_sets(
    doc: dict[str, Any], by_model: Callable[[dict[str, Any]], TaskSet]
) -> tuple[str | None, list[TaskSet]]:
    """(workflow name, task sets) of a native workflow document; NotPlain when the models must decide.

    by_model makes the set of a record with keys beyond the plain ones (through its model: a ValueError if it refuses).
    pydantic's converters are imported only for columns that need them (GPUs, memory).
    """
    if doc.keys() - _TOP_KEYS or "tasks" not in doc:
        raise NotPlain
    name, records = doc.get("workflow"), doc["tasks"]
    if type(records) is not list or not records or set(map(type, records)) != {dict}:
        raise NotPlain
    if name is not None:
        _names([name])
    n = len(records)
    simple = passes.simple_columns(records)
    if simple is not None:  # a converted trace's records (name, cores, run time, dependencies): one compiled loop
        names, cores, runtime, after = simple
        return name, task_sets(n, {"name": names, "resources": _by_cores(cores), "runtime": runtime, "after": after})
    keys: set[str] = set(chain.from_iterable(records))  # every key of every record
    own = [i for i, r in enumerate(records) if r.keys() - PLAIN_KEYS] if keys - PLAIN_KEYS else []
    try:
        names = list(map(_NAME, records))
    except KeyError:
        raise NotPlain from None
    _names(names)

    def column(key: str, default: object) -> list[Any]:
        return list(map(dict.get, records, repeat(key, n), repeat(default, n))) if key in keys else [default] * n

    count, cores, retries = column("count", 1), column("cores", 1), column("retries", 0)
    _ints(count, 1)
    _ints(cores, 0)
    _ints(retries, 0)
    if keys & _CONVERTED:
        from hetflow.spec.schema import MEMORY_BYTES, TASK_GPU_UNITS
    gpus = _converted(column("gpus", 0), TASK_GPU_UNITS) if "gpus" in keys else [0] * n
    memory = _converted(column("memory", 0), MEMORY_BYTES) if "memory" in keys else [0] * n
    gpu_memory = _converted(column("gpu_memory", 0), MEMORY_BYTES) if "gpu_memory" in keys else [0] * n
    if "gpu_memory" in keys and any(m and not g for m, g in zip(gpu_memory, gpus, strict=True)):
        raise NotPlain  # gpu_memory without gpus: the model says so
    gpu_models = _after(column("gpu_models", ())) if "gpu_models" in keys else [()] * n
    runtime, dists = _runtimes(column("runtime", 0.0)) if "runtime" in keys else ([0.0] * n, [None] * n)
    after = _after(column("after", ())) if "after" in keys else [()] * n
    workload, command, partition = column("workload", None), column("command", None), column("partition", None)
    if "workload" in keys:
        _optional_names(workload)
    if "partition" in keys:
        _optional_names(partition)
    if "command" in keys:
        if set(map(type, command)) - _NAME_OR_NONE:
            raise NotPlain
        _encodable("".join([v for v in command if v is not None]))
    if keys.isdisjoint(_NEEDS):  # cores alone tell the resources apart
        resources = _by_cores(cores)
    else:
        needs = list(zip(cores, gpus, memory, gpu_memory, gpu_models, strict=True))
        shared_needs = {need: Resources(*need) for need in set(needs)}  # one Resources per distinct need
        resources = list(map(shared_needs.__getitem__, needs))
    columns = {"name": names, "count": count, "resources": resources, "runtime": runtime, "after": after}
    columns |= {"workload": workload, "command": command, "retries": retries, "partition": partition}
    sets = task_sets(n, columns | {"runtime_dist": dists})
    for i in own:
        try:
            sets[i] = by_model(records[i])
        except ValueError:  # (pydantic's ValidationError is one)
            raise NotPlain from None
    return name, sets
