"""The pydantic models of the native workflow and platform formats (DESIGN.md, "Formats"), and validation through
them; spec/native.py is the way in, and imports this module only for what the fast paths (spec/records.py, its
plain platforms) are not sure of: pydantic and the models are a tenth of a second of a short command's start-up.

Unknown keys, wrong types and out-of-range values become one SpecError naming the place, e.g.
`tasks[3] (T3).cores`. A variant leaves out what it shares with its task: omitted fields take the task's values.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator, PrivateAttr, ValidationError, model_validator

from hetflow.errors import SpecError
from hetflow.spec.data import ORIGIN
from hetflow.spec.distribution import RUNTIME_IS, Distribution, parse_runtime
from hetflow.spec.features import Features, Requirement, features_from_dict, requirement_from_dict
from hetflow.spec.gpu_speed import CURVE_IS, SATURATION_IS, GpuSpeed, curve, saturating
from hetflow.spec.gpus import gpu_memory_of, mig_models, model_of
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.resources import GPU_UNIT, Resources, parse_memory
from hetflow.spec.schema import (
    MEMORY_BYTES,
    Cores,
    Count,
    GpuUnits,
    Memory,
    Name,
    Names,
    Positive,
    Seconds,
    Strict,
    TaskGpuUnits,
    fail,
    parsed_by,
    to_spec_error,
)
from hetflow.spec.workflow import FileRef, TaskSet, Variant

_LABELS = ("name", "type")
_FIX = "see the format in DESIGN.md, section Formats"
_FUNCTION = r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$"


def _runtime(value: object) -> float | Distribution:
    """A task's runtime through spec.distribution's parser, which the fast path (spec/records.py) uses too."""
    try:
        return parse_runtime(value)
    except SpecError as exc:
        raise fail(exc.problem, exc.fix or RUNTIME_IS) from None


Runtime = Annotated[float | Distribution, PlainValidator(_runtime, json_schema_input_type=float | dict[str, Any])]


def _requirement(value: object) -> Requirement | None:
    """A `requires:` mapping through spec.features' parser (its SpecError's problem and fix at the field's place)."""
    try:
        return requirement_from_dict(value)
    except SpecError as exc:
        raise fail(exc.problem, exc.fix or "") from None


REQUIRES_IS = "a mapping such as {arch: x86_64, isa: [avx2], cuda: '>=12.1', gpu_models: [A100, H200]}"
Requires = Annotated[Requirement | None, PlainValidator(_requirement, json_schema_input_type=dict[str, Any])]
Saturation = Annotated[GpuSpeed, PlainValidator(parsed_by(saturating), json_schema_input_type=float)]
SpeedCurve = Annotated[GpuSpeed, PlainValidator(parsed_by(curve), json_schema_input_type=list[list[float]])]


class VariantDoc(Strict):
    """Another way to run the tasks of a set; omitted fields take the task's values."""

    cores: Cores | None = Field(None, description="a whole number of cores >= 0")
    gpus: TaskGpuUnits | None = Field(
        None, description="a number of GPUs >= 0: a fraction of one (e.g. 0.5) or whole GPUs"
    )
    memory: Memory | None = Field(None, description="a size such as 2GiB or a number of bytes")
    runtime: Seconds | None = Field(None, description="a number of seconds >= 0")
    node_type: Name | None = Field(None, description="the type of a platform node")
    image: Name | None = Field(None, description="an image name, such as gromacs-cuda")
    cold_start: Seconds | None = Field(None, description="a number of seconds >= 0")
    requires: Requires | None = Field(None, description=REQUIRES_IS + " ({} for nothing)")

    def variant(
        self,
        task: Resources,
        runtime: float,
        task_requires: Requirement | None = None,
        *,
        image: str | None = None,
        cold_start: float = 0.0,
    ) -> Variant:
        """This variant, with what it leaves out taken from its task's resources, run time, requirement and
        deployment."""
        resources = Resources(
            task.cores if self.cores is None else self.cores,
            task.gpu_units if self.gpus is None else self.gpus,
            task.memory if self.memory is None else self.memory,
            task.gpu_memory,
            task.gpu_models,
        )
        runtime = runtime if self.runtime is None else self.runtime
        cold = cold_start if self.cold_start is None else self.cold_start
        requires = task_requires if "requires" not in self.model_fields_set else self.requires
        return Variant(resources, runtime, self.node_type, requires, image=self.image or image, cold_start=cold)


def parse_outputs(value: object) -> int | dict[str, int]:
    """`outputs:` as bytes, or a mapping of file names (in the task's working folder: no folder) -> bytes."""
    if not isinstance(value, dict):
        return MEMORY_BYTES(value)
    files = {}
    for name, size in value.items():
        if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
            raise fail(f"{name!r} is not a file name", "name a file of the task's working folder, with no folder")
        try:
            files[name] = parse_memory(size)
        except SpecError as exc:
            raise fail(f"{name}: {exc.problem}", exc.fix or 'write bytes or a size like "2GiB"') from None
    return files


Outputs = Annotated[
    int | dict[str, int], PlainValidator(parse_outputs, json_schema_input_type=int | str | dict[str, int | str])
]


def parse_files(value: object) -> dict[str, int]:
    """`input_files:`: a mapping of file names (no folder) -> bytes."""
    if not isinstance(value, dict):
        raise fail("input_files must map file names to sizes", "e.g. input_files: {data.csv: 1MB}")
    files = parse_outputs(value)
    assert isinstance(files, dict)
    for name in files:
        if "{index}" in name:  # one file for the whole set: it is read from the origin as it is named
            raise fail(f"input file {name!r} names {{index}}", "name each input file as it is in the folder")
    return files


FileSizes = Annotated[dict[str, int], PlainValidator(parse_files, json_schema_input_type=dict[str, int | str])]


class TaskDoc(Strict):
    """One task set of a native workflow."""

    name: Name = Field(description="a non-empty name without brackets")
    count: Count = Field(1, description="a whole number of tasks >= 1")
    cores: Cores = Field(1, description="a whole number of cores >= 0")
    gpus: TaskGpuUnits = Field(0, description="a number of GPUs >= 0: a fraction of one (e.g. 0.5) or whole GPUs")
    memory: Memory = Field(0, description="a size such as 2GiB or a number of bytes")
    gpu_memory: Memory = Field(0, description="a size of memory on each GPU a task uses, such as 10GiB")
    gpu_models: Names = Field((), description="a list of GPU models, such as [A100, H200]")
    runtime: Runtime = Field(0.0, description=RUNTIME_IS)
    after: Names = Field((), description="a list of task set names")
    workload: Name | None = Field(None, description="a workload name")
    command: str | None = Field(None, description="a shell command as a string")
    function: str | None = Field(None, pattern=_FUNCTION, description='a Python callable as "package.module:function"')
    variants: tuple[VariantDoc, ...] = Field(
        (), description="a list of variants such as {cores: 1, gpus: 1, runtime: 40}"
    )
    retries: Cores = Field(0, description="a whole number of retries >= 0")
    partition: Name | None = Field(None, description="the name of a partition of the run")
    gpu_saturation: Saturation | None = Field(None, description=SATURATION_IS)
    gpu_speed: SpeedCurve | None = Field(None, description=CURVE_IS)
    inputs: dict[Name, Memory] = Field({}, description="a mapping of parent task set -> bytes each task reads from it")
    outputs: Outputs = Field(
        0, description="a size each task writes, such as 2GiB, or a mapping of the files it writes -> their sizes"
    )
    input_files: FileSizes = Field(
        {}, description="a mapping of the workflow's own files each task reads (at the origin) -> their sizes"
    )
    image: Name | None = Field(None, description="an image name, such as gromacs")
    cold_start: Seconds = Field(0.0, description="a number of seconds >= 0")
    requires: Requires | None = Field(None, description=REQUIRES_IS)

    @model_validator(mode="after")
    def _one_action(self) -> TaskDoc:
        if self.command is not None and self.function is not None:
            raise fail(f"{self.name} has both a command and a function", "keep one of them")
        if self.gpu_saturation is not None and self.gpu_speed is not None:
            raise fail(f"{self.name} has both gpu_saturation and gpu_speed", "keep one of them")
        if (self.gpu_saturation or self.gpu_speed) and not (self.gpus or any(v.gpus for v in self.variants)):
            raise fail(f"{self.name} has a GPU speed model but asks for no GPU", "give it gpus: or drop the model")
        if self.gpu_memory and not self.gpus:
            raise fail(f"{self.name} asks for gpu_memory but no gpus", "add gpus (e.g. 0.5) or remove gpu_memory")
        if stray := [p for p in self.inputs if p not in self.after]:
            raise fail(f"{self.name} reads inputs from {stray[0]!r}, which it does not depend on", "add it to after")
        return self

    def task_set(self) -> TaskSet:
        resources = Resources(self.cores, self.gpus, self.memory, self.gpu_memory, self.gpu_models)
        dist = self.runtime if isinstance(self.runtime, Distribution) else None
        runtime = dist.median if dist is not None else self.runtime
        assert isinstance(runtime, float)
        variants = tuple(
            v.variant(resources, runtime, self.requires, image=self.image, cold_start=self.cold_start)
            for v in self.variants
        )
        return TaskSet(
            name=self.name,
            count=self.count,
            resources=resources,
            runtime=runtime,
            runtime_dist=dist,
            after=self.after,
            workload=self.workload,
            command=self.command,
            function=self.function,
            variants=variants,
            retries=self.retries,
            partition=self.partition,
            gpu_speed=self.gpu_saturation or self.gpu_speed,
            inputs=tuple(self.inputs.items()),
            outputs=sum(self.outputs.values()) if isinstance(self.outputs, dict) else self.outputs,
            files=output_files(self.outputs) + origin_files(self.input_files),
            image=self.image,
            cold_start=self.cold_start,
            requires=self.requires,
        )


def output_files(outputs: int | dict[str, int]) -> tuple[FileRef, ...]:
    """The files a task writes, as named in `outputs:` ({index} stands for the task's index): a multi-site run
    collects them where it ran and moves them to where its dependents run (faas/staging.py)."""
    return tuple(FileRef(name, size, "output") for name, size in outputs.items()) if isinstance(outputs, dict) else ()


def origin_files(files: dict[str, int]) -> tuple[FileRef, ...]:
    """`input_files:`: files no task writes, taken from the origin (a multi-site run uploads them from the session's
    working directory to each site that reads them)."""
    return tuple(FileRef(name, size, ORIGIN) for name, size in files.items())


class WorkflowDoc(Strict):
    """A native workflow document."""

    workflow: Name | None = Field(None, description="the workflow's name")
    tasks: list[TaskDoc] = Field(min_length=1, description="a list of at least one task set")


class NodeDoc(Strict):
    """Identical nodes of one type."""

    type: Name = Field(description="a non-empty node type name without brackets")
    count: Count = Field(1, description="a whole number of nodes >= 1")
    cores: Cores = Field(description="a whole number of cores >= 0")
    gpus: GpuUnits = Field(0, description="a number of GPUs >= 0, e.g. 6")
    memory: Memory = Field(0, description="a size such as 512GiB (0: not tracked)")
    speed: Positive = Field(1.0, description="a number > 0 (2.0 halves run times)")
    speed_jitter: Seconds = Field(
        0.0, description="a coefficient of variation >= 0 of each task's speed on these nodes, e.g. 0.05"
    )
    gpu_model: Name | None = Field(None, description="the model of the nodes' GPUs, such as A100-80GB or V100M32")
    gpu_sharing: Literal["mps", "mig", "exclusive"] = Field(
        "mps", description="one of mps (any fraction of a GPU), mig (its MIG profiles) or exclusive (whole GPUs)"
    )
    cold_start: Seconds = Field(0.0, description="a number of seconds >= 0")
    keep_warm: Seconds | None = Field(None, description="a number of seconds >= 0")
    features: dict[str, Any] | None = Field(
        None, description="a mapping such as {arch: x86_64, isa: [avx2, avx512f], cuda: '12.4', libs: {fftw3: 3.3.10}}"
    )
    _features: Features | None = PrivateAttr(None)

    @property
    def node_features(self) -> Features | None:
        """The features field, parsed (with the node type's GPUs) when the model was validated."""
        return self._features

    @model_validator(mode="after")
    def _gpu_shape(self) -> NodeDoc:
        if self.gpu_sharing != "mps" and self.gpus % GPU_UNIT:
            raise fail(f"{self.gpu_sharing} GPUs must be whole, not {self.gpus / GPU_UNIT:g}", "give a whole number")
        if self.gpu_sharing == "mig" and not ((m := model_of(self.gpu_model)) and m.mig):
            raise fail(
                f"gpu_model {self.gpu_model!r} has no MIG profiles known to hetflow",
                "set gpu_model to one of " + ", ".join(mig_models()) + ", or use gpu_sharing: mps or exclusive",
            )
        if self.features is not None:
            count = -(-self.gpus // GPU_UNIT)
            try:
                self._features = features_from_dict(
                    self.features, "features", self.gpu_model, count, gpu_memory_of(self.gpu_model)
                )
            except SpecError as exc:
                raise fail(f"{exc.place}: {exc.problem}" if exc.place else exc.problem, exc.fix or "") from None
        return self


class PlatformDoc(Strict):
    """A native platform document."""

    platform: Name | None = Field(None, description="the platform's name")
    nodes: list[NodeDoc] = Field(min_length=1, description="a list of at least one node type")


def validated_task_sets(doc: dict[str, Any], source: str | None = None) -> tuple[str | None, list[TaskSet]]:
    """(name, task sets) of a native workflow document through the models, one per record."""
    try:
        parsed = WorkflowDoc.model_validate(doc)
    except ValidationError as exc:
        raise to_spec_error(exc, WorkflowDoc, doc, source=source, labels=_LABELS, fix=_FIX) from None
    return parsed.workflow, [t.task_set() for t in parsed.tasks]


def validated_platform(doc: dict[str, Any], source: str | None, default_name: str) -> Platform:
    """A platform from a native document through the models; source names the file in errors."""
    try:
        parsed = PlatformDoc.model_validate(doc)
    except ValidationError as exc:
        raise to_spec_error(exc, PlatformDoc, doc, source=source, labels=_LABELS, fix=_FIX) from None
    seen: set[str] = set()
    for i, n in enumerate(parsed.nodes):
        if n.type in seen:
            raise SpecError(
                f"node type {n.type!r} is declared twice",
                source=source,
                place=f"nodes[{i}] ({n.type})",
                fix="merge the two entries or rename one",
            )
        seen.add(n.type)
    types = tuple(
        NodeType(
            n.type,
            n.count,
            n.cores,
            n.gpus,
            n.memory,
            n.speed,
            n.speed_jitter,
            n.gpu_model,
            n.gpu_sharing,
            n.node_features,
        )
        for n in parsed.nodes
    )
    types = tuple(
        replace(t, cold_start=n.cold_start, keep_warm=n.keep_warm) if n.cold_start or n.keep_warm is not None else t
        for t, n in zip(types, parsed.nodes, strict=True)
    )
    return Platform(parsed.platform or default_name, types, source=source)
