"""Pydantic building blocks shared by the loaders: checked field types, and one SpecError from a ValidationError.

A field's `description` says what the field must be ("a whole number >= 1"); the error translation uses it to
write the problem and the fix, and names the place as a path such as `tasks[3] (T3).cores`.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, StringConstraints, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from hetflow.errors import SpecError
from hetflow.spec.resources import GPU_UNIT, parse_gpus, parse_memory, parse_task_gpus
from hetflow.spec.workflow import did_you_mean


class Strict(BaseModel):
    """A document part whose unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class Lenient(BaseModel):
    """A document part of a foreign format whose extra keys are ignored."""

    model_config = ConfigDict(extra="ignore")


def _checked(parse: Callable[[object, str], int], scale: int) -> Callable[[object], int]:
    """Turn a spec.resources parser into a validator that pydantic reports at the field's place.

    A plain int >= 0 needs no parsing (it is scaled to the internal unit); strings and floats repeat in large
    workflows, so their parse is cached.
    """

    def convert(value: object) -> int:
        try:
            return parse(value, "")
        except SpecError as exc:
            raise PydanticCustomError("hetflow", "{problem}", {"problem": exc.problem, "fix": exc.fix}) from None

    cached = functools.lru_cache(maxsize=1024)(convert)

    def check(value: object) -> int:
        if type(value) is int and value >= 0:
            return value * scale
        return cached(value) if type(value) in (str, float) else convert(value)

    return check


def _as_list(value: object) -> object:
    """Accept one name where a list of names is expected."""
    return [value] if isinstance(value, str) else value


Name = Annotated[str, StringConstraints(strict=True, min_length=1, pattern=r"^[^\[\]]+$")]
Names = Annotated[tuple[Name, ...], BeforeValidator(_as_list)]
Count = Annotated[int, Field(strict=True, ge=1)]
Cores = Annotated[int, Field(strict=True, ge=0)]
Seconds = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]
GPU_UNITS = _checked(parse_gpus, GPU_UNIT)  # a number of GPUs -> GPU units (a node's)
TASK_GPU_UNITS = _checked(parse_task_gpus, GPU_UNIT)  # what a task needs; the fast path (spec/records.py) uses it too
MEMORY_BYTES = _checked(parse_memory, 1)  # a size -> bytes
GpuUnits = Annotated[int, PlainValidator(GPU_UNITS)]
TaskGpuUnits = Annotated[int, PlainValidator(TASK_GPU_UNITS)]
Memory = Annotated[int, PlainValidator(MEMORY_BYTES)]


def fail(problem: str, fix: str) -> PydanticCustomError:
    """An error for a model validator to raise; it becomes a SpecError at the model's place."""
    return PydanticCustomError("hetflow", "{problem}", {"problem": problem, "fix": fix})


def parsed_by(parse: Callable[[object], Any]) -> Callable[[object], Any]:
    """A field validator through a spec parser that raises SpecError: its problem and fix at the field's place."""

    def check(value: object) -> Any:
        try:
            return parse(value)
        except SpecError as exc:
            raise fail(exc.problem, exc.fix or "") from None

    return check


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model class inside an annotation such as list[TaskDoc] or TaskDoc | None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (list, tuple, Union, types.UnionType, Annotated):
        for arg in get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


def _field_at(root: type[BaseModel], loc: Sequence[int | str]) -> tuple[type[BaseModel], FieldInfo | None]:
    """The model holding the last key of loc, and that key's field (None when the key is unknown)."""
    model, info = root, None
    for part in loc:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        if info is None:
            return model, None
        model = _inner_model(info.annotation) or model
    return model, info


def place_of(loc: Sequence[int | str], data: object, labels: Sequence[str]) -> str:
    """A readable path to loc, each list item followed by its label from data, e.g. `tasks[3] (T3).cores`."""
    out = ""
    node: object = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            if isinstance(node, dict):
                label = next((node[k] for k in labels if isinstance(node.get(k), str)), None)
                if label:
                    out += f" ({label})"
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def to_spec_error(
    exc: ValidationError, root: type[BaseModel], data: object, *, source: str | None, labels: Sequence[str], fix: str
) -> SpecError:
    """The first problem of a ValidationError as a SpecError; fix is the fallback advice."""
    err = exc.errors(include_url=False)[0]
    loc = err["loc"]
    place = place_of(loc, data, labels) or None
    model, info = _field_at(root, loc)
    key = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    ctx = err.get("ctx") or {}
    kind = err["type"]
    if kind == "hetflow":
        return SpecError(ctx["problem"], source=source, place=place, fix=ctx["fix"])
    if kind == "extra_forbidden":
        known = list(model.model_fields)
        hint = did_you_mean(key, known) or "remove it; the keys here are " + ", ".join(known)
        return SpecError(f"unknown key {key!r}", source=source, place=place, fix=hint)
    what = info.description if info is not None else None
    if kind == "missing":
        return SpecError(
            f"{key} is missing", source=source, place=place, fix=f"add {key}" + (f": {what}" if what else "")
        )
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return SpecError(
            f"expected a mapping of keys to values, not {_short(err['input'])}",
            source=source,
            place=place,
            fix="write `key: value` pairs here",
        )
    if what:
        return SpecError(
            f"{key} must be {what}, not {_short(err['input'])}", source=source, place=place, fix=f"write {what}"
        )
    return SpecError(f"{err['msg']}, not {_short(err['input'])}", source=source, place=place, fix=fix)
