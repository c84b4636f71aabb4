"""WfCommons WfFormat instances (1.4, and 1.5 with its structurally identical successor 1.6) as workflows and platforms.

Every task record becomes a task set of one task: its run time, its cores (coreCount or cores, rounded up, default
1), its memory when recorded, its parents, and its files. The recorded machines become a platform of one node type per
machine; speeds are relative to the fastest recorded clock (the reference, speed 1). A task's runtime was measured on
the machine its record names, so its run time at the reference speed (hetflow's model) is the recorded runtime x that
machine's speed: on its own machine it takes its recorded runtime again, elsewhere work / speed. A file that
contradicts itself (children that disagree with parents, a parent or file that is not declared, two tasks with one id)
is a SpecError.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, ValidationError

from hetflow.errors import CycleError, SpecError
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import Resources
from hetflow.spec.schema import Lenient, Seconds, to_spec_error
from hetflow.spec.workflow import FileRef, TaskSet, Workflow, did_you_mean

_LABELS = {"1.4": ("name", "nodeName"), "1.5": ("id", "nodeName"), "1.6": ("id", "nodeName")}  # what names an item
_FIX = "see the WfFormat schema at github.com/wfcommons/WfFormat"
_MIGRATE = "migrate it to 1.5 with tools/wfcommons-migrate-instance.py of github.com/wfcommons/WfFormat"
_Id = Field(min_length=1, description="a non-empty string")
_Ids = Field(None, description="a list of task ids")
_Bytes = Field(None, ge=0, allow_inf_nan=False, description="a number of bytes >= 0")
_CoreCount = Field(None, ge=0, allow_inf_nan=False, description="a number of cores >= 0")


class _Cpu(Lenient):
    vendor: str | None = None
    model: str | None = None
    coreCount: float | None = _CoreCount
    count: float | None = _CoreCount  # 1.4
    speedInMHz: float | None = Field(None, gt=0, allow_inf_nan=False, description="a clock rate in MHz > 0")
    speed: float | None = Field(None, gt=0, allow_inf_nan=False, description="a clock rate in MHz > 0")  # 1.4

    def cores(self) -> float | None:
        return self.coreCount if self.coreCount is not None else self.count

    def clock(self) -> float | None:
        return self.speedInMHz or self.speed


class _Machine(Lenient):
    nodeName: str = _Id
    memoryInBytes: float | None = _Bytes
    cpu: _Cpu | None = None


class _File(Lenient):
    id: str = _Id
    sizeInBytes: float = Field(ge=0, allow_inf_nan=False, description="a number of bytes >= 0")


class _SpecTask(Lenient):
    id: str = _Id
    parents: list[str] | None = _Ids
    children: list[str] | None = _Ids
    inputFiles: list[str] = Field([], description="a list of file ids")
    outputFiles: list[str] = Field([], description="a list of file ids")


class _Specification(Lenient):
    tasks: list[_SpecTask] = Field(min_length=1, description="a list of at least one task")
    files: list[_File] = Field([], description="a list of files")


class _ExecTask(Lenient):
    id: str = _Id
    runtimeInSeconds: Seconds = Field(description="a number of seconds >= 0")
    coreCount: float | None = _CoreCount
    cores: float | None = _CoreCount
    memoryInBytes: float | None = _Bytes
    machines: list[str] | None = None  # where it ran


class _Execution(Lenient):
    tasks: list[_ExecTask] = Field(description="a list of task records")
    machines: list[_Machine] = Field([], description="a list of machines")


class _Workflow15(Lenient):
    specification: _Specification
    execution: _Execution | None = None


class Instance15(Lenient):
    """A WfFormat 1.5 (or 1.6) instance: the specification apart from the recorded execution."""

    name: str = _Id
    schemaVersion: Literal["1.5", "1.6"]
    workflow: _Workflow15


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class _File14(Lenient):
    name: str = _Id
    sizeInBytes: float = Field(ge=0, allow_inf_nan=False, description="a number of bytes >= 0")
    link: Annotated[Literal["input", "output"], BeforeValidator(_lower)] = Field(description='"input" or "output"')


class _Task14(Lenient):
    name: str = _Id
    id: str | None = None
    parents: list[str] | None = _Ids
    children: list[str] | None = _Ids
    files: list[_File14] = Field([], description="a list of files")
    runtimeInSeconds: Seconds = Field(description="a number of seconds >= 0")
    cores: float | None = _CoreCount
    coreCount: float | None = _CoreCount
    memoryInBytes: float | None = _Bytes
    machine: str | None = None  # where it ran


class _Workflow14(Lenient):
    tasks: list[_Task14] = Field(min_length=1, description="a list of at least one task")
    machines: list[_Machine] = Field([], description="a list of machines")


class Instance14(Lenient):
    """A WfFormat 1.4 instance: one flat list of tasks that refer to each other by name."""

    name: str = _Id
    schemaVersion: Literal["1.4"]
    workflow: _Workflow14


@dataclass(frozen=True, slots=True)
class _Record:
    """One task in a form common to both versions; place is where the file declares it."""

    key: str
    place: str
    parents: list[str] | None
    children: list[str] | None
    runtime: float
    cores: float | None
    memory: float | None
    files: tuple[FileRef, ...]
    machine: str | None = None  # the machine its runtime was measured on


def _parse(data: object, source: str | None) -> Instance14 | Instance15:
    if not isinstance(data, dict):
        raise SpecError(f"expected a WfFormat mapping, found {type(data).__name__}", source=source, fix=_FIX)
    version = data.get("schemaVersion")
    model: type[Instance14 | Instance15] = Instance14 if version == "1.4" else Instance15
    if version is None:
        raise SpecError(
            "the file has a `workflow` mapping but no schemaVersion",
            source=source,
            fix="a WfFormat instance needs schemaVersion; a native workflow is `workflow: NAME` with a `tasks:` list",
        )
    if not isinstance(version, str) or version not in _LABELS:
        raise SpecError(
            f"WfFormat version {version!r} is not supported (1.4, 1.5 and 1.6 are)",
            source=source,
            place="schemaVersion",
            fix=_MIGRATE,
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise to_spec_error(exc, model, data, source=source, labels=_LABELS[version], fix=_FIX) from None


def _unique(keys: Sequence[tuple[str, str]], source: str | None) -> None:
    """Refuse a task id given twice; keys are (id, place)."""
    first: dict[str, str] = {}
    for key, place in keys:
        if key in first:
            raise SpecError(
                f"task id {key!r} is used twice (first at {first[key]})",
                source=source,
                place=place,
                fix="give each task a unique id",
            )
        first[key] = place


def _records15(doc: Instance15, source: str | None) -> list[_Record]:
    spec, run = doc.workflow.specification, doc.workflow.execution
    _unique([(t.id, f"workflow.specification.tasks[{i}] ({t.id})") for i, t in enumerate(spec.tasks)], source)
    if run is None:
        raise SpecError(
            "the instance records no execution, so the run times of its tasks are unknown",
            source=source,
            place="workflow",
            fix="use an instance with workflow.execution (a recorded run)",
        )
    sizes: dict[str, float] = {}
    for i, f in enumerate(spec.files):
        if f.id in sizes:
            raise SpecError(
                f"file {f.id!r} is declared twice",
                source=source,
                place=f"workflow.specification.files[{i}] ({f.id})",
                fix="declare each file once",
            )
        sizes[f.id] = f.sizeInBytes
    runs: dict[str, _ExecTask] = {}
    spec_ids = {t.id for t in spec.tasks}
    for i, r in enumerate(run.tasks):
        where = f"workflow.execution.tasks[{i}] ({r.id})"
        if r.id in runs:
            raise SpecError(f"task {r.id!r} is recorded twice", source=source, place=where, fix="keep one record")
        if r.id not in spec_ids:
            raise SpecError(
                f"task {r.id!r} ran but is not in workflow.specification.tasks",
                source=source,
                place=where,
                fix=did_you_mean(r.id, sorted(spec_ids)) or "add it to the specification or remove the record",
            )
        runs[r.id] = r
    out: list[_Record] = []
    for i, t in enumerate(spec.tasks):
        where = f"workflow.specification.tasks[{i}] ({t.id})"
        run_of = runs.get(t.id)
        if run_of is None:
            raise SpecError(
                f"no run time is recorded for task {t.id!r}",
                source=source,
                place=where,
                fix="add a record with runtimeInSeconds to workflow.execution.tasks",
            )
        files: list[FileRef] = []
        for link, names in (("input", t.inputFiles), ("output", t.outputFiles)):
            for name in names:
                if name not in sizes:
                    raise SpecError(
                        f"{link} file {name!r} is not declared in workflow.specification.files",
                        source=source,
                        place=f"{where}.{link}Files",
                        fix=did_you_mean(name, list(sizes)) or "declare it with its sizeInBytes",
                    )
                files.append(FileRef(name, int(sizes[name]), link))
        cores = run_of.coreCount if run_of.coreCount is not None else run_of.cores
        machine = run_of.machines[0] if run_of.machines else None
        runtime, memory = run_of.runtimeInSeconds, run_of.memoryInBytes
        out.append(_Record(t.id, where, t.parents, t.children, runtime, cores, memory, tuple(files), machine))
    return out


def _records14(doc: Instance14) -> list[_Record]:
    out: list[_Record] = []
    for i, t in enumerate(doc.workflow.tasks):
        files = tuple(FileRef(f.name, int(f.sizeInBytes), f.link) for f in t.files)
        cores = t.cores if t.cores is not None else t.coreCount
        where = f"workflow.tasks[{i}] ({t.name})"
        runtime, memory = t.runtimeInSeconds, t.memoryInBytes
        out.append(_Record(t.name, where, t.parents, t.children, runtime, cores, memory, files, t.machine))
    return out


def _aliases14(doc: Instance14) -> dict[str, str]:
    """1.4 tasks refer to each other by name; accept a reference by id too when it is not ambiguous."""
    names = {t.name for t in doc.workflow.tasks}
    return {t.id: t.name for t in doc.workflow.tasks if t.id and t.id not in names}


def _edges(records: Sequence[_Record], aliases: dict[str, str], source: str | None) -> dict[str, list[str]]:
    """Each task's parents, from parents and children both, checking that the two agree where both are given."""
    _unique([(r.key, r.place) for r in records], source)
    index = {r.key: r for r in records}

    def resolve(ref: str, r: _Record, field: str) -> str:
        key = aliases.get(ref, ref)
        if key not in index:
            kind = "parent" if field == "parents" else "child"
            raise SpecError(
                f"{kind} {ref!r} of task {r.key!r} is not a task of this file",
                source=source,
                place=f"{r.place}.{field}",
                fix=did_you_mean(ref, list(index)) or f"add that task or remove the {kind}",
            )
        return key

    def lists(r: _Record, field: str) -> list[str] | None:
        refs = r.parents if field == "parents" else r.children
        return None if refs is None else [resolve(x, r, field) for x in refs]

    parents = {r.key: lists(r, "parents") for r in records}
    children = {r.key: lists(r, "children") for r in records}
    after: dict[str, list[str]] = {r.key: list(parents[r.key] or ()) for r in records}
    for r in records:
        for p in parents[r.key] or ():
            kids = children[p]
            if kids is not None and r.key not in kids:
                raise SpecError(
                    f"task {r.key!r} names {p!r} as a parent, but {p!r} does not name it as a child",
                    source=source,
                    place=f"{r.place}.parents",
                    fix=f"add {r.key!r} to the children of {p!r}, or remove the parent",
                )
        for c in children[r.key] or ():
            ps = parents[c]
            if ps is not None and r.key not in ps:
                raise SpecError(
                    f"task {r.key!r} names {c!r} as a child, but {c!r} does not name it as a parent",
                    source=source,
                    place=f"{r.place}.children",
                    fix=f"add {r.key!r} to the parents of {c!r}, or remove the child",
                )
            if ps is None and r.key not in after[c]:
                after[c].append(r.key)
    return after


def _task_set(r: _Record, after: list[str], speeds: dict[str, float]) -> TaskSet:
    """The task's set; its run time at the reference speed is what it ran for x the speed of the machine it ran on."""
    cores = 1 if r.cores is None else math.ceil(r.cores)
    memory = 0 if r.memory is None else round(r.memory)
    runtime = r.runtime * speeds.get(r.machine, 1.0) if r.machine is not None else r.runtime
    return TaskSet(r.key, 1, Resources(cores, 0, memory), runtime, tuple(after), files=r.files)


def workflow_from_wfformat(data: object, source: str | None = None) -> Workflow:
    """The workflow of a WfFormat instance: one task set of one task per task record."""
    doc = _parse(data, source)
    if isinstance(doc, Instance14):
        records, aliases = _records14(doc), _aliases14(doc)
    else:
        records, aliases = _records15(doc, source), {}
    after = _edges(records, aliases, source)
    speeds = _speeds(_machines(doc)[0])
    sets = tuple(_task_set(r, after[r.key], speeds) for r in records)
    try:
        return Workflow(doc.name, sets, source=source)
    except CycleError as exc:
        tasks = "workflow.tasks" if isinstance(doc, Instance14) else "workflow.specification.tasks"
        raise CycleError(exc.problem, source=source, place=tasks, fix=exc.fix) from None


def _machines(doc: Instance14 | Instance15) -> tuple[list[_Machine], str]:
    if isinstance(doc, Instance14):
        return doc.workflow.machines, "workflow.machines"
    run = doc.workflow.execution
    return (run.machines if run else []), "workflow.execution.machines"


def _speeds(machines: Sequence[_Machine]) -> dict[str, float]:
    """Each machine's speed: its recorded clock over the fastest one (1.0 where a clock is missing)."""
    fastest = max((c for m in machines if m.cpu and (c := m.cpu.clock())), default=None)
    out: dict[str, float] = {}
    for m in machines:
        clock = m.cpu.clock() if m.cpu else None
        out.setdefault(m.nodeName, clock / fastest if clock and fastest else 1.0)
    return out


def _short(x: float) -> str:
    """Two decimals at most, one at least: 1.0, 0.83, 2.4."""
    text = f"{x:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def recorded_speeds(data: object, source: str | None = None) -> str | None:
    """Which speeds the recorded machines get, for a summary (None when the instance records no machines), e.g.
    "from recorded clocks (2 machines: 2.4 GHz = 1.0, 2.0 GHz = 0.83)"; machines alike (cores, vendor, model) whose
    clocks differ are named: such clocks often differ only by frequency scaling."""
    machines = _machines(_parse(data, source))[0]
    if not machines:
        return None
    speeds = _speeds(machines)
    by_clock: dict[float | None, list[str]] = {}
    for m in machines:
        by_clock.setdefault(m.cpu.clock() if m.cpu else None, []).append(m.nodeName)
    parts = [
        f"{'no clock' if c is None else f'{_short(c / 1000)} GHz'} = {_short(speeds[names[0]])}"
        + (f" (x{len(names)})" if len(names) > 1 else "")
        for c, names in sorted(by_clock.items(), key=lambda kv: -(kv[0] or 0))
    ]
    text = f"from recorded clocks ({len(machines)} machine{'s' * (len(machines) > 1)}: {', '.join(parts)})"
    alike: dict[tuple[object, ...], set[float | None]] = {}
    for m in machines:
        if m.cpu is not None:
            alike.setdefault((m.cpu.cores(), m.cpu.vendor, m.cpu.model), set()).add(m.cpu.clock())
    scaled = sum(1 for clocks in alike.values() if len(clocks) > 1)
    if scaled:
        text += (
            f"; {scaled} group{'s' * (scaled > 1)} of alike machines (cores, vendor, model) with different clocks,"
            " perhaps frequency scaling: --platform sets speeds"
        )
    return text


def platform_from_wfformat(data: object, source: str | None = None) -> Platform | None:
    """The machines a WfFormat instance records, one node type per machine; None when it records none."""
    doc = _parse(data, source)
    machines, where = _machines(doc)
    if not machines:
        return None
    speeds = _speeds(machines)
    types: list[NodeType] = []
    seen: set[str] = set()
    for i, m in enumerate(machines):
        place = f"{where}[{i}] ({m.nodeName})"
        if m.nodeName in seen:
            raise SpecError(f"machine {m.nodeName!r} is recorded twice", source=source, place=place, fix="keep one")
        seen.add(m.nodeName)
        count = m.cpu.cores() if m.cpu else None
        if not count or count < 1:
            raise SpecError(
                f"machine {m.nodeName!r} has no core count",
                source=source,
                place=f"{place}.cpu",
                fix="record cpu.coreCount, or give a platform file (--platform)",
            )
        memory = round(m.memoryInBytes) if m.memoryInBytes else 0
        types.append(NodeType(m.nodeName, 1, int(count), 0, memory, speeds[m.nodeName]))
    return Platform(f"{doc.name} (recorded machines)", tuple(types), source=source)
