"""The platform model: node types, the nodes they expand to, and what fits where."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import repeat
from operator import attrgetter, is_, mul

from hetflow.errors import FitError
from hetflow.spec.features import Features
from hetflow.spec.gpus import gpu_memory_of, smallest_profile
from hetflow.spec.resources import GPU_UNIT, Resources, format_memory, model_allows
from hetflow.spec.workflow import TaskSet, Workflow

_VARIANTS, _RUNTIME, _COUNT = attrgetter("variants"), attrgetter("runtime"), attrgetter("count")
_RESOURCES, _CORES, _GPU_UNITS = attrgetter("resources"), attrgetter("cores"), attrgetter("gpu_units")
_REQUIRES = attrgetter("requires")


@dataclass(frozen=True, slots=True)
class NodeType:
    """Count identical nodes. memory 0 means unlimited (not tracked); speed scales run times (2.0 halves them);
    speed_jitter, when > 0, is the cv of a per-task speed factor (lognormal, median 1) the simulator draws.
    gpu_model names its GPUs (spec/gpus.py knows the memory and MIG profiles of some); gpu_sharing is how tasks share
    one: "mps" (any fraction), "mig" (the model's MIG profiles) or "exclusive" (whole GPUs only).
    cold_start: s a node adds to deploying any image (container start); keep_warm: s an idle image stays deployed
    (None: for good). See core/deploy.py. site names the site the nodes are at (spec/site.py), None on a one-site
    platform. features, when known, are what its nodes are (spec/features.py): a variant that requires features
    runs only where they satisfy it."""

    type: str
    count: int = 1
    cores: int = 1
    gpu_units: int = 0
    memory: int = 0
    speed: float = 1.0
    speed_jitter: float = 0.0
    gpu_model: str | None = None
    gpu_sharing: str = "mps"
    features: Features | None = None
    cold_start: float = 0.0
    keep_warm: float | None = None
    site: str | None = None

    @property
    def gpus(self) -> float:
        return self.gpu_units / GPU_UNIT

    def fits(self, need: Resources) -> bool:
        mem_ok = self.memory == 0 or need.memory <= self.memory
        return (
            need.cores <= self.cores
            and need.gpu_units <= self.gpu_units
            and mem_ok
            and gpu_shape_fits(self.gpu_model, self.gpu_sharing, need)
        )


@dataclass(frozen=True, slots=True)
class Node:
    """One node of a platform, as the engine sees it."""

    name: str
    type: str
    cores: int
    gpu_units: int
    memory: int
    speed: float = 1.0
    gpu_model: str | None = None
    gpu_sharing: str = "mps"
    features: Features | None = None
    cold_start: float = 0.0
    keep_warm: float | None = None
    site: str | None = None


@dataclass(frozen=True)
class Platform:
    """What there is to run on."""

    name: str
    node_types: tuple[NodeType, ...]
    source: str | None = None

    def nodes(self) -> list[Node]:
        """Every node, named TYPE-i, in declaration order."""
        out: list[Node] = []
        for t in self.node_types:
            for i in range(t.count):
                out.append(
                    Node(
                        f"{t.type}-{i}",
                        t.type,
                        t.cores,
                        t.gpu_units,
                        t.memory,
                        t.speed,
                        t.gpu_model,
                        t.gpu_sharing,
                        t.features,
                    )
                )
                if t.cold_start or t.keep_warm is not None:
                    out[-1] = replace(out[-1], cold_start=t.cold_start, keep_warm=t.keep_warm)
                if t.site is not None:
                    out[-1] = replace(out[-1], site=t.site)
        return out

    @property
    def n_nodes(self) -> int:
        return sum(t.count for t in self.node_types)

    @property
    def cores(self) -> int:
        return sum(t.count * t.cores for t in self.node_types)

    @property
    def gpu_units(self) -> int:
        return sum(t.count * t.gpu_units for t in self.node_types)

    @property
    def gpus(self) -> float:
        return self.gpu_units / GPU_UNIT

    @property
    def max_speed(self) -> float:
        return max((t.speed for t in self.node_types if t.count), default=1.0)

    def can_run(self, s: TaskSet) -> bool:
        """True when some way of running the set's tasks fits on some node type."""
        return any(
            t.count
            and t.fits(v.resources)
            and (v.node_type is None or v.node_type == t.type)
            and (v.requires is None or v.requires.satisfied_by(t.features) is None)
            for v in s.all_variants
            for t in self.node_types
        )

    def check_fits(self, workflow: Workflow) -> None:
        """Raise FitError for the first task set that fits on no node."""
        sets = workflow.sets
        if not any(map(_VARIANTS, sets)) and all(map(is_, map(_REQUIRES, sets), repeat(None))):
            res = list(map(_RESOURCES, sets))  # loaded sets share their Resources: one set asked per object
            if all(map(self.can_run, dict(zip(map(id, res), sets, strict=True)).values())):
                return  # (else the loop below finds the first set that does not fit)
        fits: dict[Resources, bool] = {}  # a set with no variants fits as its resources do: asked once per need
        for i, s in enumerate(workflow.sets):
            if s.variants or s.requires is not None:
                ok = self.can_run(s)
            elif (ok := fits.get(s.resources)) is None:  # type: ignore[assignment]
                ok = fits[s.resources] = self.can_run(s)
            if not ok:
                self._check_requires(s, i, workflow.source)
                biggest = ", ".join(
                    f"{t.type}: {t.cores} cores, {t.gpus:g} {t.gpu_model + ' ' if t.gpu_model else ''}GPUs"
                    f"{' (' + t.gpu_sharing + ')' if t.gpu_units and t.gpu_sharing != 'mps' else ''}, "
                    f"{format_memory(t.memory) if t.memory else 'any'} memory"
                    for t in self.node_types
                )
                raise FitError(
                    f"a task of {s.name} needs {s.resources}, "
                    f"more than any node of platform {self.name!r} has ({biggest})",
                    source=workflow.source,
                    place=f"tasks[{i}] ({s.name})",
                    fix="lower the task's resources, add a variant that fits, or use a platform with larger nodes"
                    + (" or other GPU models" if s.resources.gpu_models else ""),
                )

    def _check_requires(self, s: TaskSet, i: int, source: str | None) -> None:
        """Raise FitError when a way to run the set would fit some node but for its required features: the first
        such variant, the first node type it fits, and why that type's features do not satisfy it."""
        for k, v in enumerate(s.all_variants):
            if v.requires is None:
                continue
            for t in self.node_types:
                if t.count and t.fits(v.resources) and (v.node_type is None or v.node_type == t.type):
                    raise FitError(
                        f"no node of platform {self.name!r} has the features {s.name} requires "
                        f"({t.type}: {v.requires.satisfied_by(t.features)})",
                        source=source,
                        place=f"tasks[{i}] ({s.name})" + (f".variants[{k - 1}].requires" if k else ".requires"),
                        fix="declare the nodes' features (features: on a node type), relax requires:, "
                        "or add a variant that requires less",
                    )

    def lower_bound(self, workflow: Workflow) -> float:
        """max(critical path, core-seconds / cores, GPU-seconds / GPUs), at the platform's best speed and best variants.

        Every bound part takes, per task set, the smallest amount over its ways to run, so it holds for any policy.
        """
        known = workflow.bounds.get(id(self))
        if known is not None and known[0] is self:
            return known[1]
        bound = self._bound(workflow)
        workflow.bounds.clear()  # the last platform only: a sweep over many platforms keeps none of them alive
        workflow.bounds[id(self)] = (self, bound)
        return bound

    def _bound(self, workflow: Workflow) -> float:
        speed = self.max_speed
        sets = workflow.sets
        if not any(map(_VARIANTS, sets)):  # one way to run each set: its amounts are read a column at a time, in C
            if speed == 1.0:  # the workflow's own critical path (t / 1.0 == t), found once for all who ask
                cp = workflow.critical_path[0]
            else:
                cp, _ = workflow.heaviest_path_of([t / speed for t in map(_RUNTIME, sets)])
            res = list(map(_RESOURCES, sets))
            core_s = sum(map(mul, map(_COUNT, sets), map(mul, map(_CORES, res), map(_RUNTIME, sets))))
            gpu_s = sum(map(mul, map(_COUNT, sets), map(mul, map(_GPU_UNITS, res), map(_RUNTIME, sets))))
        else:
            cp, _ = workflow.heaviest_path(lambda s: (_least(s, lambda r, t: t) if s.variants else s.runtime) / speed)
            core_s = sum(
                [
                    s.count * (_least(s, lambda r, t: r.cores * t) if s.variants else s.resources.cores * s.runtime)
                    for s in sets
                ]
            )
            gpu_s = sum(
                [
                    s.count
                    * (_least(s, lambda r, t: r.gpu_units * t) if s.variants else s.resources.gpu_units * s.runtime)
                    for s in sets
                ]
            )
        core_cap = sum(t.count * t.cores * t.speed for t in self.node_types)
        gpu_cap = sum(t.count * t.gpu_units * t.speed for t in self.node_types)
        bound = cp
        if core_s:
            bound = max(bound, core_s / core_cap if core_cap else float("inf"))
        if gpu_s:
            bound = max(bound, gpu_s / gpu_cap if gpu_cap else float("inf"))
        return bound


def gpu_shape_fits(model: str | None, sharing: str, need: Resources) -> bool:
    """Whether one GPU of this model, shared this way, could ever hold the GPU part of need: an allowed model, the
    GPU's memory (when the model's is known) and, on MIG, a profile that covers the fraction; exclusive GPUs take no
    fraction (a fractional task is refused there rather than silently given a whole GPU). Whole GPUs plus a fraction
    (only resources built by hand have them) go on MPS nodes only, and without GPU memory."""
    if not model_allows(need.gpu_models, model):
        return False
    if not need.gpu_units:
        return True
    memory = gpu_memory_of(model)
    whole, part = divmod(need.gpu_units, GPU_UNIT)
    if need.gpu_memory and ((memory and need.gpu_memory > memory) or (whole and part)):
        return False
    if sharing == "exclusive":
        return not part
    if sharing == "mig" and part:
        return not whole and smallest_profile(model, part, need.gpu_memory) is not None
    return True


def _least(s: TaskSet, amount: Callable[[Resources, float], float]) -> float:
    """The smallest amount (of resources r for run time t) over the ways to run the set; most sets have one way."""
    if not s.variants:
        return amount(s.resources, s.runtime)
    return min(amount(v.resources, v.runtime) for v in s.all_variants)
