"""The workflow model: task sets, their variants, and the DAG analysis a scheduler and a reader need."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import compress, repeat
from operator import attrgetter, is_not, not_

from hetflow.errors import SpecError
from hetflow.spec import dag, passes
from hetflow.spec.distribution import Distribution
from hetflow.spec.features import Requirement
from hetflow.spec.gcpause import gc_paused
from hetflow.spec.gpu_speed import GpuSpeed
from hetflow.spec.resources import GPU_UNIT, Resources


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file a task reads or writes (kept from WfCommons traces for data-aware work)."""

    name: str
    size: int
    link: str  # "input" or "output"


@dataclass(frozen=True, slots=True)
class Variant:
    """One way to run a task: its resources, its run time on a node of speed 1, and optionally the node type and
    what it requires of a node's features (spec/features.py; None: nothing). image: what a node deploys to run it
    (None: the set's name); cold_start: s its first task on a node waits for that deployment (core/deploy.py)."""

    resources: Resources
    runtime: float
    node_type: str | None = None
    requires: Requirement | None = None
    image: str | None = None
    cold_start: float = 0.0


@dataclass(frozen=True, slots=True)
class TaskSet:
    """N identical tasks declared once. A dependency on a set is a dependency on every task of it.
    runtime is what the engine estimates with; runtime_dist, when the run time varies, the law the simulator draws
    each task's run time from (runtime is then its median). Variants keep a fixed run time. gpu_speed, when set, is
    how a task's speed depends on its GPU share (spec/gpu_speed.py); only the simulator applies it."""

    name: str
    count: int = 1
    resources: Resources = Resources()  # noqa: RUF009 (frozen, so one shared default is safe)
    runtime: float = 0.0
    after: tuple[str, ...] = ()
    workload: str | None = None
    command: str | None = None
    function: str | None = None
    variants: tuple[Variant, ...] = ()
    files: tuple[FileRef, ...] = ()
    retries: int = 0  # how often a failed task is tried again
    partition: str | None = None  # the partition of the run its tasks use (None: the default partition)
    runtime_dist: Distribution | None = None
    gpu_speed: GpuSpeed | None = None  # the GPU-sharing throughput model (None: runtime at any share)
    requires: Requirement | None = None  # what the default way to run needs of a node's features (None: nothing)
    inputs: tuple[tuple[str, int], ...] = ()  # (parent, bytes each task reads from it); spec/data.py
    outputs: int = 0  # bytes each task writes
    image: str | None = None  # what a node deploys to run it (a container, a function); None: the set's name
    cold_start: float = 0.0  # s the first task of its image on a node waits for the deployment (core/deploy.py)

    def task_id(self, index: int) -> str:
        """Stable id of one task: the set's name when it holds one task, else NAME[index]."""
        return self.name if self.count == 1 else f"{self.name}[{index}]"

    @property
    def gpu_memory(self) -> int:
        """Memory a task needs on each GPU it uses, bytes (0: any); in its resources, so the ledger checks it."""
        return self.resources.gpu_memory

    @property
    def gpu_models(self) -> tuple[str, ...]:
        """The GPU models its tasks may run on (empty: any); part of its resources, so placement keeps to them."""
        return self.resources.gpu_models

    @property
    def all_variants(self) -> tuple[Variant, ...]:
        """The default way to run a task of this set, then its variants."""
        return (
            Variant(self.resources, self.runtime, None, self.requires, image=self.image, cold_start=self.cold_start),
            *self.variants,
        )


_NAME = attrgetter("name")
_AFTER = attrgetter("after")
_RUNTIME = attrgetter("runtime")
_WORKLOAD = attrgetter("workload")


@dataclass(frozen=True)
class Analysis:
    """What the DAG of a workflow looks like."""

    order: tuple[str, ...]  # topological, stable in declaration order
    levels: dict[str, int]
    workloads: dict[str, tuple[str, ...]]  # workload name -> its task sets
    workload_of: dict[str, str]
    shared: tuple[str, ...]  # shared ancestors set apart from the derived workloads
    roots: tuple[str, ...]
    leaves: tuple[str, ...]
    critical_path: tuple[str, ...]
    critical_path_s: float

    @property
    def n_levels(self) -> int:
        return 1 + max(self.levels.values(), default=-1)


@dataclass(frozen=True)
class Workflow:
    """A DAG of task sets. Constructing one checks names and dependencies; analysis is computed once, on demand.
    outside: task sets submitted before (to a running session) that its sets may also depend on; the DAG analysis
    leaves them out."""

    name: str
    sets: tuple[TaskSet, ...]
    source: str | None = field(default=None, compare=False)
    outside: frozenset[str] = field(default=frozenset(), compare=False)

    def __post_init__(self) -> None:
        names = list(map(_NAME, self.sets))
        index = dict(zip(names, range(len(names)), strict=True))
        if len(index) != len(names):
            self._twice(names)
        pids, in_order = self._parent_ids(index)
        object.__setattr__(self, "_pids", pids)
        object.__setattr__(self, "_in_order", in_order)
        if not self._in_order:  # type: ignore[attr-defined]
            order = self._order_ids  # Kahn's algorithm, which finds a cycle; parents first in the file need none
            if len(order) != len(names):
                placed = set(order)
                exc = dag.cycle_error([n for i, n in enumerate(names) if i not in placed], self.parents)
                raise (exc.at(self.source) if self.source else exc) from None
        object.__setattr__(self, "_index", index)  # name -> id: a set by name is one look-up more

    @property
    def parent_ids(self) -> list[tuple[int, ...]]:
        """Each set's parents as set ids (positions in sets), each once, sets outside left out: the DAG as the
        analysis and sim/flat.py read it."""
        return self._pids  # type: ignore[attr-defined, no-any-return]

    @cached_property
    def bounds(self) -> dict[int, tuple[object, float]]:
        """The lower bound last worked out, by id of its platform (kept beside it): Platform.lower_bound fills it, so
        a command that asks twice (its warning, its summary) pays once."""
        return {}

    @cached_property
    def _kid_ids(self) -> list[list[int]]:
        return dag.kid_ids(self._pids)  # type: ignore[attr-defined]

    @cached_property
    def _order_ids(self) -> list[int]:
        """Kahn's order of the set ids, stable in declaration order (shorter than the sets on a cycle)."""
        return dag.order_ids(self._pids, self._kid_ids)  # type: ignore[attr-defined]

    def _twice(self, names: list[str]) -> None:
        """Raise for the first task set whose name an earlier one has."""
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                raise SpecError(
                    f"task set {name!r} is declared twice",
                    source=self.source,
                    place=f"tasks[{i}] ({name})",
                    fix="rename one",
                )
            seen.add(name)

    def _parent_ids(self, index: dict[str, int]) -> tuple[list[tuple[int, ...]], bool]:
        """Each set's parents as ids (each once; sets outside left out), after checking every dependency, and
        whether declaration order is topological."""
        get, outside, sets = index.get, self.outside, self.sets
        if not outside:  # all sets in one compiled loop, which gives up on anything the loop below must name
            found_all = passes.parent_ids(list(map(_AFTER, sets)), index)
            if found_all is not None:
                return found_all
        pids: list[tuple[int, ...]] = []
        for i, s in enumerate(sets):  # one set at a time: the first wrong dependency raises
            after = s.after
            if not after:
                pids.append(())
                continue
            found = tuple(map(get, dict.fromkeys(after)))
            if outside or None in found or i in found:
                self._check_after(i, s, index)
                pids.append(tuple(index[p] for p in dict.fromkeys(after) if p not in outside))
            else:
                pids.append(found)  # type: ignore[arg-type]  # no None in it
        return pids, dag.declared_in_order(pids)

    def _check_after(self, i: int, s: TaskSet, index: dict[str, int]) -> None:
        for p in s.after:
            if p not in index and p not in self.outside:
                raise SpecError(
                    f"{s.name} depends on {p!r}, which is not a task set of this workflow",
                    source=self.source,
                    place=f"tasks[{i}] ({s.name}).after",
                    fix=did_you_mean(p, index) or "declare that task set or remove the dependency",
                )
            if p == s.name:
                raise SpecError(
                    f"{s.name} depends on itself",
                    source=self.source,
                    place=f"tasks[{i}] ({s.name}).after",
                    fix="remove it",
                )

    def __getitem__(self, name: str) -> TaskSet:
        return self.sets[self._index[name]]  # type: ignore[attr-defined]

    def __contains__(self, name: object) -> bool:
        return name in self._index  # type: ignore[attr-defined]

    def __len__(self) -> int:
        return len(self.sets)

    @cached_property
    def parents(self) -> dict[str, tuple[str, ...]]:
        if self.outside:
            return {s.name: tuple(p for p in dict.fromkeys(s.after) if p not in self.outside) for s in self.sets}
        return {s.name: tuple(dict.fromkeys(s.after)) for s in self.sets}

    @cached_property
    def children(self) -> dict[str, list[str]]:
        return dag.children_of([s.name for s in self.sets], self.parents)

    @cached_property
    def order(self) -> tuple[str, ...]:
        """The sets' names in Kahn's order, stable in declaration order."""
        return tuple(map(_NAME, map(self.sets.__getitem__, self._order_ids)))

    @property
    def n_tasks(self) -> int:
        return sum(s.count for s in self.sets)

    def task_ids(self) -> Iterator[str]:
        """Every task's stable id, set by set in declaration order."""
        for s in self.sets:
            for i in range(s.count):
                yield s.task_id(i)

    @cached_property
    def analysis(self) -> Analysis:
        with gc_paused():  # it makes a list or two per set, which would set off collections of the whole workflow
            return self._analysed()

    def _analysed(self) -> Analysis:
        pids, kids, ids = self._pids, self._kid_ids, self._order_ids  # type: ignore[attr-defined]
        sets = self.sets
        names = list(map(_NAME, sets))
        level = dag.level_ids(range(len(names)) if self._in_order else ids, pids)  # type: ignore[attr-defined]
        branch_ids, shared_ids = dag.workload_ids(ids, pids, kids)
        shared = list(map(names.__getitem__, shared_ids))
        workload_of = dag.workload_labels([list(map(names.__getitem__, b)) for b in branch_ids], shared)
        for s in compress(sets, map(is_not, map(_WORKLOAD, sets), repeat(None))):
            workload_of[s.name] = s.workload  # type: ignore[assignment]  # not None
        labels = list(map(workload_of.__getitem__, names))
        groups: dict[str, list[str]] = {k: [] for k in dict.fromkeys(labels)}  # in order of first appearance
        deque(map(list.append, map(groups.__getitem__, labels), names), 0)
        cp_s, cp = self.critical_path
        return Analysis(
            order=self.order,
            levels=dict(zip(self.order, map(level.__getitem__, ids), strict=True)),
            workloads={k: tuple(v) for k, v in groups.items()},
            workload_of=workload_of,
            shared=tuple(m for m in shared if self[m].workload is None),
            roots=tuple(compress(names, map(not_, pids))),
            leaves=tuple(compress(names, map(not_, kids))),
            critical_path=cp,
            critical_path_s=cp_s,
        )

    @cached_property
    def critical_path(self) -> tuple[float, tuple[str, ...]]:
        """The heaviest path by run time (its seconds, its sets' names): found once, for the analysis and bounds."""
        with gc_paused():
            return self.heaviest_path(_RUNTIME)

    def heaviest_path(self, weight: Callable[[TaskSet], float]) -> tuple[float, tuple[str, ...]]:
        """The heaviest path through the DAG, each set weighing weight(set), and the names of its sets."""
        return self.heaviest_path_of(list(map(weight, self.sets)))

    def heaviest_path_of(self, weights: list[float]) -> tuple[float, tuple[str, ...]]:
        """The heaviest path, set i weighing weights[i]; of paths equally heavy, the one ending first in `order`."""
        pids = self._pids  # type: ignore[attr-defined]
        if not self._in_order:  # type: ignore[attr-defined]
            best_s, path = dag.heaviest_ids(self._order_ids, pids, weights)
        else:  # declaration order is topological: Kahn's order only to break a tie between ends
            best, via = passes.path_weights(range(len(pids)), pids, weights)
            ends = dag.heaviest_ends(best)
            if len(ends) == 1:
                best_s, path = dag.path_to(ends[0], best, via)
            else:
                best_s, path = dag.heaviest_ids(self._order_ids, pids, weights)
        sets = self.sets
        return best_s, tuple([sets[i].name for i in path])

    def emulated(self, scale: float) -> Workflow:
        """The workflow to replay a trace for real: every task set with nothing to run gets `sleep` for its run time
        x scale (its run times, variants included, scaled alike, so that a simulation of it predicts the replay)."""
        if not scale > 0:
            raise SpecError(f"a time scale of {scale}", place="--emulate", fix="give a scale > 0, e.g. 0.01")
        sets = []
        for s in self.sets:
            if s.command is None and s.function is None:
                variants = tuple(replace(v, runtime=v.runtime * scale) for v in s.variants)
                dist = s.runtime_dist.scaled(scale) if s.runtime_dist is not None else None
                command = f"sleep {s.runtime * scale:.6g}"
                s = replace(s, runtime=s.runtime * scale, variants=variants, command=command, runtime_dist=dist)
            sets.append(s)
        return Workflow(self.name, tuple(sets), self.source, self.outside)

    def work(self) -> tuple[float, float]:
        """Total work of the default variants: (core-seconds, GPU-seconds)."""
        core_s = sum(s.count * s.resources.cores * s.runtime for s in self.sets)
        gpu_s = sum(s.count * s.resources.gpu_units * s.runtime for s in self.sets) / GPU_UNIT
        return core_s, gpu_s


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The closest of choices to a misspelt name, as a fix (None when nothing is close); the loaders use it too."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else None
