"""The side file of a SeBS-Flow definition: what the definition leaves out, per function and per state.

    default: {runtime: 1}                     # any function not listed below
    functions:
      split:  {runtime: 2.5, cores: 1, memory: 512MiB}
      train:  {runtime: 30, cores: 4, gpus: 0.5, retries: 2, timeout: 600}
    states:
      work:   {length: 8}                     # a map or loop: the array's assumed length
      check:  {branch: big}                   # a switch: the state it is assumed to take (default: its default)

A real run uses the functions' resources, retries and timeouts (and run times as the engine's estimates); a
simulation also needs the lengths and branches, since there is no payload to decide them. A state name matches that
state wherever it is nested.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, ValidationError

from hetflow.errors import SpecError
from hetflow.spec.resources import Resources
from hetflow.spec.schema import Cores, Count, Memory, Positive, Seconds, Strict, TaskGpuUnits, to_spec_error
from hetflow.spec.sebsflow import Flow, Loop, Map, Switch, targets
from hetflow.spec.workflow import did_you_mean


@dataclass(frozen=True, slots=True)
class Cost:
    """What one call of a function needs and how long it takes (seconds on a node of speed 1)."""

    resources: Resources = Resources()  # noqa: RUF009 (frozen)
    runtime: float = 0.0
    retries: int = 0  # a real run tries a failed call again this often (the engine's backoff between tries)
    timeout: float | None = None  # a real run stops a call after this many seconds


@dataclass(frozen=True)
class FlowSide:
    functions: Mapping[str, Cost] = field(default_factory=dict)
    default: Cost | None = None
    lengths: Mapping[str, int] = field(default_factory=dict)
    branches: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None

    def cost(self, func_name: str) -> Cost | None:
        return self.functions.get(func_name, self.default)


class CostDoc(Strict):
    runtime: Seconds = Field(0.0, description="a number of seconds >= 0")
    cores: Cores = Field(1, description="a whole number of cores >= 0")
    gpus: TaskGpuUnits = Field(0, description="a number of GPUs >= 0: a fraction of one (e.g. 0.5) or whole GPUs")
    memory: Memory = Field(0, description="a size such as 2GiB or a number of bytes")
    retries: Cores = Field(0, description="a whole number of retries >= 0")
    timeout: Positive | None = Field(None, description="a number of seconds > 0")

    def cost(self) -> Cost:
        return Cost(Resources(self.cores, self.gpus, self.memory), self.runtime, self.retries, self.timeout)


class StateSideDoc(Strict):
    length: Count | None = Field(None, description="a whole number of array elements >= 1")
    branch: str | None = Field(None, description="the name of the state the switch goes to")


class SideDoc(Strict):
    default: CostDoc | None = Field(None, description="{runtime, cores, gpus, memory} for unlisted functions")
    functions: dict[str, CostDoc] = Field({}, description="a mapping of function names to {runtime, cores, ...}")
    states: dict[str, StateSideDoc] = Field({}, description="a mapping of state names to {length} or {branch}")


def load_side(source: str | os.PathLike[str] | Mapping[str, Any], flow: Flow) -> FlowSide:
    """The side file (a path, or a parsed mapping), checked against the flow: every function and state it names
    exists, lengths go to maps and loops, branches to switches and name one of their targets."""
    from hetflow.spec.load import read_document

    name = None if isinstance(source, Mapping) else os.fspath(source)
    data = dict(source) if isinstance(source, Mapping) else read_document(source)
    if not isinstance(data, dict):
        raise SpecError("expected a mapping (default, functions, states)", source=name, fix="see docs/usage.md")
    try:
        doc = SideDoc.model_validate(data)
    except ValidationError as exc:
        raise to_spec_error(exc, SideDoc, data, source=name, labels=(), fix="see the side file format") from None
    known = flow.functions()
    for fn in doc.functions:
        if fn not in known:
            hint = did_you_mean(fn, known) or "the functions are " + ", ".join(sorted(known))
            raise SpecError(f"no state calls function {fn!r}", source=name, place=f"functions.{fn}", fix=hint)
    states = {s.name: s for _, s in flow.walk()}
    lengths: dict[str, int] = {}
    branches: dict[str, str] = {}
    for key, side in doc.states.items():
        place = f"states.{key}"
        state = states.get(key)
        if state is None:
            hint = did_you_mean(key, states) or "name a state of the definition"
            raise SpecError(f"no state {key!r} in the definition", source=name, place=place, fix=hint)
        if side.length is not None:
            if not isinstance(state, Map | Loop):
                raise SpecError(f"{key} is not a map or loop", source=name, place=f"{place}.length", fix="remove it")
            lengths[key] = side.length
        if side.branch is not None:
            if not isinstance(state, Switch):
                raise SpecError(f"{key} is not a switch", source=name, place=f"{place}.branch", fix="remove it")
            options = [t for _, t in targets(state)]
            if side.branch not in options:
                hint = "one of " + ", ".join(dict.fromkeys(options))
                raise SpecError(f"{key} cannot go to {side.branch!r}", source=name, place=f"{place}.branch", fix=hint)
            branches[key] = side.branch
    return FlowSide(
        {k: v.cost() for k, v in doc.functions.items()},
        doc.default.cost() if doc.default is not None else None,
        lengths,
        branches,
        name,
    )
