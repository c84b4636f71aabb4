"""The payload a flow passes from state to state: dotted paths into it, and a switch's comparisons."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from hetflow.errors import ExecutionError
from hetflow.spec.sebsflow import Case

COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    ">": operator.gt,
}


class FlowError(ExecutionError):
    """A flow could not go on: its payload lacks what a state reads, or a function failed with no failure state."""


def get_path(payload: Any, path: str, place: str) -> Any:
    """The value at a dotted path such as "sifting.populations"; FlowError naming the state when it is not there."""
    value = payload
    for i, key in enumerate(path.split(".")):
        if not isinstance(value, dict) or key not in value:
            seen = ".".join(path.split(".")[:i]) or "the payload"
            keys = ", ".join(map(str, value)) if isinstance(value, dict) else type(value).__name__
            raise FlowError(f"{place}: {seen} has no {key!r} (it holds: {keys})")
        value = value[key]
    return value


def with_path(payload: Any, path: str, value: Any) -> dict[str, Any]:
    """A copy of the payload with the value at a dotted path replaced (the payload itself is left as it was)."""
    head, _, rest = path.partition(".")
    out = dict(payload)
    out[head] = with_path(out[head], rest, value) if rest else value
    return out


def array_at(payload: Any, path: str, place: str) -> list[Any]:
    """The list a map or loop runs over."""
    value = get_path(payload, path, place)
    if not isinstance(value, list | tuple):
        raise FlowError(f"{place}: {path} is a {type(value).__name__}, not a list")
    return list(value)


def chosen(cases: tuple[Case, ...], default: str, payload: Any, place: str) -> str:
    """The state a switch goes to: the first case that holds, else the default."""
    for case in cases:
        value = get_path(payload, case.var, place)
        try:
            holds = COMPARE[case.op](value, case.val)
        except TypeError:
            raise FlowError(f"{place}: cannot compare {value!r} {case.op} {case.val!r}") from None
        if holds:
            return case.next
    return default
