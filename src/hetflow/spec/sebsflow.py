"""SeBS-Flow definitions (Copik et al., EuroSys 2025): one portable JSON document of a serverless workflow.

    {"root": "split", "states": {
        "split":  {"type": "task", "func_name": "split", "next": "work"},
        "work":   {"type": "map", "array": "chunks", "func_name": "count", "next": "check"},
        "check":  {"type": "switch", "default": "small",
                   "cases": [{"var": "total", "op": ">", "val": 9, "next": "big"}]},
        ...}}

States: task (func_name, next, failure: the state to go to when the function raises), map (over the list at the
dotted path `array` of the payload; each element runs a nested root/states flow, or one func_name; `common_params`:
payload keys each element gets beside it as `array_element`), loop (func_name called on each element in turn),
repeat (func_name called count times, the payload chained), switch (cases of var/op/val/next, first match wins, and
a default, required: SeBS-Flow's own parser reads it unconditionally), parallel (parallel_functions: a list of
root/states branches, or a mapping of one-state branches, as older definitions write it).

The document is checked by pydantic; the model is plain frozen dataclasses, which the interpreter (hetflow.flows)
walks at run time and the unroller turns into task sets for simulation. A state graph must be acyclic: repetition
is what loop and repeat states are for, so a cycle through next, failure or a switch is refused, one line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from hetflow.errors import SpecError
from hetflow.spec.schema import Count, Strict
from hetflow.spec.workflow import did_you_mean

OPS = ("<", "<=", "==", "!=", ">=", ">")
KINDS = ("task", "map", "loop", "repeat", "switch", "parallel")

# ---- the model -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Task:
    """Call func_name with the payload; its return value is the next payload."""

    name: str
    func_name: str
    next: str | None = None
    failure: str | None = None  # where to go, with the payload and its "error", when the function raises


@dataclass(frozen=True, slots=True)
class Case:
    """One branch of a switch: the payload's value at the dotted path var, compared with val by op."""

    var: str
    op: str
    val: Any
    next: str


@dataclass(frozen=True, slots=True)
class Switch:
    name: str
    cases: tuple[Case, ...]
    default: str


@dataclass(frozen=True, slots=True)
class Map:
    """Run body once per element of the payload's list at `array`, all at once; the results replace the list."""

    name: str
    array: str
    body: Flow
    next: str | None = None
    common_params: tuple[str, ...] = ()
    func_name: str | None = None  # given as func_name (body is then one task of that name, not a state of the file)

    @property
    def single(self) -> str | None:
        """The function when the body is one plain task (one task set of N tasks), else None."""
        only = self.body.states[self.body.root]
        plain = isinstance(only, Task) and only.next is None and only.failure is None
        return only.func_name if plain and isinstance(only, Task) else None


@dataclass(frozen=True, slots=True)
class Loop:
    """Call func_name on each element of the list at `array`, one after another; the payload goes on unchanged."""

    name: str
    func_name: str
    array: str
    next: str | None = None


@dataclass(frozen=True, slots=True)
class Repeat:
    """Call func_name count times, each call's result the next one's payload."""

    name: str
    func_name: str
    count: int
    next: str | None = None


@dataclass(frozen=True, slots=True)
class Parallel:
    """Run every branch on the payload at once; the next payload maps each branch's root name to its result."""

    name: str
    branches: tuple[Flow, ...]
    next: str | None = None


State = Task | Switch | Map | Loop | Repeat | Parallel


@dataclass(frozen=True)
class Flow:
    """A SeBS-Flow definition (or a nested one: a map's body, a parallel branch). place: where it is in the file."""

    root: str
    states: Mapping[str, State]
    source: str | None = field(default=None, compare=False)
    place: str = field(default="", compare=False)
    name: str = field(default="flow", compare=False)

    def walk(self) -> Iterator[tuple[Flow, State]]:
        """Every state of this flow and of the flows nested in it, with the flow holding it."""
        for state in self.states.values():
            yield self, state
            for inner in nested(state):
                yield from inner.walk()

    def functions(self) -> dict[str, str]:
        """Every function named, with the place of its first use."""
        out: dict[str, str] = {}
        for flow, state in self.walk():
            fn = state.func_name if isinstance(state, Task | Loop | Repeat | Map) else None
            if fn is not None:
                out.setdefault(fn, f"{flow.at(state.name)}.func_name")
        return out

    def at(self, state: str) -> str:
        """The place of one of its states in the file, e.g. `states.work.states.count`."""
        return f"{self.place}.states.{state}" if self.place else f"states.{state}"


def nested(state: State) -> tuple[Flow, ...]:
    """The flows a state holds: a map's body, a parallel state's branches."""
    if isinstance(state, Map):
        return (state.body,) if state.func_name is None else ()
    if isinstance(state, Parallel):
        return state.branches
    return ()


def targets(state: State) -> tuple[tuple[str, str], ...]:
    """The states a state may go to next, each with the key that names it."""
    if isinstance(state, Switch):
        return (*((f"cases[{i}].next", c.next) for i, c in enumerate(state.cases)), ("default", state.default))
    out = [("next", state.next)] if state.next is not None else []
    if isinstance(state, Task) and state.failure is not None:
        out.append(("failure", state.failure))
    return tuple(out)


# ---- the document --------------------------------------------------------------------------------------------------

StateName = Annotated[str, Field(strict=True, min_length=1, description="the name of a state")]
FuncName = Annotated[str, Field(strict=True, min_length=1, description="the name of a function of --functions")]
ArrayPath = Annotated[str, Field(strict=True, min_length=1, description="a dotted path to a list in the payload")]


class CaseDoc(Strict):
    var: ArrayPath = Field(description="a dotted path to a value in the payload")
    op: Literal["<", "<=", "==", "!=", ">=", ">"] = Field(description="one of " + ", ".join(OPS))
    val: Any = Field(description="the value to compare with")
    next: StateName = Field(description="the name of a state")


class StateDoc(Strict):
    """Any state: the keys a type does not use are refused after the type is known (clearer than a union's errors)."""

    type: Literal["task", "map", "loop", "repeat", "switch", "parallel"] = Field(
        description=f"one of {', '.join(KINDS)}"
    )
    func_name: FuncName | None = Field(None, description="the name of a function of --functions")
    next: StateName | None = Field(None, description="the name of a state")
    failure: StateName | None = Field(None, description="the name of a state")
    array: ArrayPath | None = Field(None, description="a dotted path to a list in the payload")
    common_params: str | None = Field(None, description="payload keys separated by commas")
    root: StateName | None = Field(None, description="the name of a state of `states`")
    states: dict[str, StateDoc] | None = Field(None, description="a mapping of state names to states")
    count: Count | None = Field(None, description="a whole number >= 1")
    cases: list[CaseDoc] | None = Field(None, description="a list of {var, op, val, next}")
    default: StateName | None = Field(None, description="the name of a state")
    parallel_functions: list[BranchDoc] | dict[str, StateDoc] | None = Field(
        None, description="a list of branches {root, states}"
    )


class BranchDoc(Strict):
    root: StateName = Field(description="the name of a state of `states`")
    states: dict[str, StateDoc] = Field(description="a mapping of state names to states")


class FlowDoc(Strict):
    root: StateName = Field(description="the name of the first state")
    states: dict[str, StateDoc] = Field(description="a mapping of state names to states")


StateDoc.model_rebuild()

USES: dict[str, tuple[set[str], set[str]]] = {  # type -> (keys required, keys allowed besides type)
    "task": ({"func_name"}, {"func_name", "next", "failure"}),
    "map": ({"array"}, {"array", "func_name", "root", "states", "common_params", "next"}),
    "loop": ({"func_name", "array"}, {"func_name", "array", "next"}),
    "repeat": ({"func_name", "count"}, {"func_name", "count", "next"}),
    "switch": ({"cases", "default"}, {"cases", "default"}),
    "parallel": ({"parallel_functions"}, {"parallel_functions", "next"}),
}


class Builder:
    """Document -> model, checking what pydantic cannot: keys per type, names that must exist, and cycles."""

    def __init__(self, source: str | None) -> None:
        self.source = source

    def error(self, problem: str, place: str, fix: str) -> SpecError:
        return SpecError(problem, source=self.source, place=place, fix=fix)

    def flow(self, root: str, states: dict[str, StateDoc], place: str, name: str = "flow") -> Flow:
        here = Flow(root, {}, self.source, place, name)
        if not states:
            raise self.error("no states", f"{place}.states" if place else "states", "give at least one state")
        built = {n: self.state(n, doc, here.at(n)) for n, doc in states.items()}
        flow = Flow(root, built, self.source, place, name)
        if root not in built:
            hint = did_you_mean(root, built) or "name one of " + ", ".join(built)
            raise self.error(f"root {root!r} is not a state", f"{place}.root" if place else "root", hint)
        for state in built.values():
            for key, target in targets(state):
                if target not in built:
                    hint = did_you_mean(target, built) or "name one of " + ", ".join(built)
                    raise self.error(f"{key} names unknown state {target!r}", f"{flow.at(state.name)}.{key}", hint)
        self.acyclic(flow)
        return flow

    def state(self, name: str, doc: StateDoc, place: str) -> State:
        given = {k for k in doc.model_fields_set if k != "type" and getattr(doc, k) is not None}
        need, allowed = USES[doc.type]
        extra = sorted(given - allowed)
        if extra:
            keys = "keys: " + ", ".join(sorted(allowed))
            raise self.error(f"a {doc.type} state takes no {extra[0]!r}", f"{place}.{extra[0]}", keys)
        missing = sorted(need - given)
        if missing:
            fix = f"add {missing[0]!r}" + (" (a switch needs a default state)" if missing[0] == "default" else "")
            raise self.error(f"a {doc.type} state needs {missing[0]!r}", place, fix)
        if doc.type == "task":
            assert doc.func_name is not None
            return Task(name, doc.func_name, doc.next, doc.failure)
        if doc.type == "loop":
            assert doc.func_name is not None and doc.array is not None
            return Loop(name, doc.func_name, doc.array, doc.next)
        if doc.type == "repeat":
            assert doc.func_name is not None and doc.count is not None
            return Repeat(name, doc.func_name, doc.count, doc.next)
        if doc.type == "switch":
            assert doc.cases is not None and doc.default is not None
            if not doc.cases:
                raise self.error("a switch without cases", f"{place}.cases", "give at least one {var, op, val, next}")
            return Switch(name, tuple(Case(c.var, c.op, c.val, c.next) for c in doc.cases), doc.default)
        if doc.type == "map":
            return self.map(name, doc, place)
        return self.parallel(name, doc, place)

    def map(self, name: str, doc: StateDoc, place: str) -> Map:
        assert doc.array is not None
        params = tuple(p.strip() for p in (doc.common_params or "").split(",") if p.strip())
        if doc.func_name is not None:
            if doc.root is not None or doc.states is not None:
                raise self.error("a map has func_name and root/states", place, "keep func_name or root and states")
            body = Flow(name, {name: Task(name, doc.func_name)}, self.source, place, name)
        elif doc.root is None or doc.states is None:
            raise self.error("a map needs func_name, or root and states", place, "add func_name, or root and states")
        else:
            body = self.flow(doc.root, doc.states, place, name)
        return Map(name, doc.array or "", body, doc.next, params, doc.func_name)

    def parallel(self, name: str, doc: StateDoc, place: str) -> Parallel:
        given = doc.parallel_functions
        if isinstance(given, dict):  # the older form: each entry one state, a branch of its own
            branches = [(n, {n: s}) for n, s in given.items()]
        else:
            branches = [(b.root, b.states) for b in given or []]
        if not branches:
            raise self.error("a parallel state without branches", f"{place}.parallel_functions", "give one or more")
        flows = tuple(
            self.flow(root, states, f"{place}.parallel_functions[{i}]", root)
            for i, (root, states) in enumerate(branches)
        )
        roots = [f.root for f in flows]
        if len(set(roots)) != len(roots):
            twice = next(r for r in roots if roots.count(r) > 1)
            raise self.error(f"two branches start at {twice!r}", f"{place}.parallel_functions", "rename one root")
        return Parallel(name, flows, doc.next)

    def acyclic(self, flow: Flow) -> None:
        """Refuse a cycle among the states of one flow (three-colour depth-first search from every state)."""
        colour: dict[str, int] = {}
        for start in flow.states:
            if colour.get(start):
                continue
            stack: list[tuple[str, Iterator[str]]] = [(start, iter(t for _, t in targets(flow.states[start])))]
            path = [start]
            colour[start] = 1
            while stack:
                node, kids = stack[-1]
                kid = next(kids, None)
                if kid is None:
                    colour[node] = 2
                    stack.pop()
                    path.pop()
                elif colour.get(kid) == 1:
                    cycle = " -> ".join([*path[path.index(kid) :], kid])
                    raise self.error(
                        f"the states form a cycle ({cycle})",
                        flow.at(kid),
                        "repeat work with a loop or repeat state; next, failure and switch go forward only",
                    )
                elif not colour.get(kid):
                    colour[kid] = 1
                    path.append(kid)
                    stack.append((kid, iter(t for _, t in targets(flow.states[kid]))))


def flow_from_dict(data: object, source: str | None = None, name: str = "flow") -> Flow:
    """A Flow from a parsed SeBS-Flow document; SpecError (file, place, fix) on the first problem."""
    if not isinstance(data, dict):
        raise SpecError(
            "expected a mapping with root and states", source=source, fix='write {"root": .., "states": {..}}'
        )
    try:
        doc = FlowDoc.model_validate(data)
    except ValidationError as exc:
        raise translated(exc, source) from None
    return Builder(source).flow(doc.root, doc.states, "", name)


def translated(exc: ValidationError, source: str | None) -> SpecError:
    """The first problem, at its place: keys under `states` (and older parallel_functions) are state names, not
    fields, so the place is walked here, and the field's description says what it must be."""
    err = exc.errors(include_url=False)[0]
    model: type[Strict] = FlowDoc
    info = None
    place = ""
    loc = list(err["loc"])
    i = 0
    while i < len(loc):
        part = loc[i]
        if isinstance(part, int):
            place += f"[{part}]"
            i += 1
            continue
        info = model.model_fields.get(part)
        place += f".{part}" if place else part
        if part in ("states", "parallel_functions") and i + 1 < len(loc) and isinstance(loc[i + 1], str):
            if loc[i + 1] in ("list[BranchDoc]", "dict[str,StateDoc]"):  # which form of a union pydantic tried
                i += 1
                if loc[i] == "list[BranchDoc]":
                    model = BranchDoc
                    i += 1
                    continue
            if i + 1 < len(loc) and isinstance(loc[i + 1], str):
                place += f".{loc[i + 1]}"
                i += 1
            model = StateDoc
        elif part == "cases":
            model = CaseDoc
        i += 1
    key = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    if err["type"] == "extra_forbidden":
        known = [k for k in model.model_fields if k != "type"]
        fix = did_you_mean(key, known) or "keys: " + ", ".join(known)
        return SpecError(f"unknown key {key!r}", source=source, place=place, fix=fix)
    what = info.description if info is not None else None
    if err["type"] == "missing":
        return SpecError(f"{key} is missing", source=source, place=place, fix=f"add {key}: {what or 'a value'}")
    problem = f"{key} must be {what}, not {err['input']!r}" if what else f"{err['msg']}, not {err['input']!r}"
    return SpecError(problem, source=source, place=place, fix=f"write {what}" if what else "see the SeBS-Flow format")
