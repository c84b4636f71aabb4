"""Task sets in the engine: their state counts and ready ranges, and the bookkeeping of sets as a whole (submission,
levels and workloads, ranks, dependencies, ending, release through the mode's gate).

A set is tracked by counts per state and by ranges of ready indices, so that N identical tasks cost a few integers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

from hetflow.core.instructions import Instruction, Released, Skipped
from hetflow.core.modes import Gate
from hetflow.core.partitions import Partitions
from hetflow.core.states import TERMINAL, TaskState, check_transition
from hetflow.errors import EngineError
from hetflow.spec import dag
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import TaskSet, Variant

PENDING, READY, RUNNING, DONE = TaskState.PENDING, TaskState.READY, TaskState.RUNNING, TaskState.DONE
FAILED, SKIPPED, CANCELLED = TaskState.FAILED, TaskState.SKIPPED, TaskState.CANCELLED


class SetState:
    """The engine's view of one task set. Policies read it through core/view.py's ReadySet."""

    __slots__ = (
        "attempts",
        "cancelled",
        "children",
        "count",
        "counts",
        "ended",
        "in_ready",
        "key",
        "level",
        "name",
        "needs_nothing",
        "parents",
        "parents_left",
        "rank",
        "ready",
        "released",
        "scope",
        "seq",
        "shape",
        "sid",
        "spec",
        "tainted",
        "variants",
        "waiting",
        "workload",
    )

    def __init__(self, sid: int, spec: TaskSet, level: int, workload: str) -> None:
        self.sid = sid
        self.spec = spec
        self.name = spec.name
        self.count = spec.count
        self.variants: tuple[Variant, ...] = spec.all_variants
        self.needs_nothing = any(v.resources.cores == 0 and v.resources.gpu_units == 0 for v in self.variants)
        self.parents: list[SetState] = []
        self.level = level
        self.workload = workload
        self.children: list[SetState] = []
        self.parents_left = 0
        self.counts = [spec.count, 0, 0, 0, 0, 0, 0]  # tasks per TaskState
        self.ready: deque[list[int]] = deque()  # [start, stop) ranges of ready indices
        self.attempts: dict[int, int] = {}  # index -> failed attempts so far
        self.cancelled: set[int] = set()  # indices cancelled before release
        self.seq = -1  # release order
        self.key: tuple[float, ...] = ()  # the policy's priority, smaller first
        self.rank = 0.0  # longest remaining path, own run time included
        self.released = False
        self.in_ready = False  # in the dispatcher's ready queue
        self.tainted = False  # a dependency failed or was cancelled
        self.ended = False
        self.scope = 0  # its partition's index (0: the default partition)
        self.shape = 0  # its ways to run (resources and node types) as a number: sets alike share one
        # READY tasks still waiting for their retry backoff: index -> not-before time. They are READY (state_counts
        # says so) but neither in counts[READY] nor in ready: policies see only what may be placed now.
        self.waiting: dict[int, float] = {}

    @property
    def n_ready(self) -> int:
        """Tasks that may be placed now."""
        return self.counts[READY]

    def add_ready(self, index: int) -> None:
        """Append a ready index, extending the last range when it is its neighbour (so they launch together)."""
        if self.ready and self.ready[-1][1] == index:
            self.ready[-1][1] += 1
        else:
            self.ready.append([index, index + 1])

    @property
    def bad(self) -> bool:
        """Some task of it failed, was skipped or was cancelled: its dependents are skipped."""
        c = self.counts
        return bool(c[FAILED] or c[SKIPPED] or c[CANCELLED])


class SetBook:
    """The task sets of a run, by name and by id (declaration order), and the sets whose tasks are not terminal."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.by_name: dict[str, SetState] = {}
        self.by_sid: list[SetState] = []
        self.unfinished = 0  # tasks not yet in a terminal state
        self._waiting: list[SetState] = []  # dependencies met, gate closed
        self._next_seq = 0
        self._shapes: dict[tuple[tuple[Resources, str | None], ...], int] = {}

    def move(self, st: SetState, frm: TaskState, to: TaskState, n: int) -> None:
        """n tasks of st go from one state to another (a legal transition)."""
        check_transition(frm, to)
        if n > st.counts[frm]:
            raise EngineError(f"{st.name}: {n} tasks cannot leave {frm.name}, only {st.counts[frm]} are there")
        st.counts[frm] -= n
        st.counts[to] += n
        if to in TERMINAL:
            self.unfinished -= n

    # ---- submission ---------------------------------------------------------------------------------------------
    def submit(self, sets: Sequence[TaskSet], partitions: Partitions | None, out: list[Instruction]) -> None:
        """Add task sets (they may depend on sets submitted before): levels, workloads, dependencies, ranks."""
        names = [s.name for s in sets]
        local = set(names)
        known = self.by_name
        for s in sets:
            if s.name in known:
                raise EngineError(f"task set {s.name!r} was submitted before")
            for p in s.after:
                if p not in known and p not in local:
                    raise EngineError(f"{s.name} depends on unknown task set {p!r}")
        parents = {s.name: tuple(p for p in dict.fromkeys(s.after) if p in local) for s in sets}
        order = dag.topological_order(names, parents)
        kids = dag.children_of(order, parents)
        spec_of = {s.name: s for s in sets}
        branches, shared = dag.workloads(order, parents)
        label = dag.workload_labels(branches, shared, f"{len(self.by_sid)}:" if self.by_sid else "")
        level = dag.levels(order, parents)
        for name in order:  # levels above sets submitted earlier
            for p in spec_of[name].after:
                if p not in local:
                    level[name] = max(level[name], known[p].level + 1)
            for c in kids[name]:
                level[c] = max(level[c], level[name] + 1)
        for s in sets:
            if s.partition is not None and (partitions is None or s.partition not in partitions.index):
                raise EngineError(f"task set {s.name} targets partition {s.partition!r}, which the run does not have")
        fresh: list[SetState] = []
        for s in sets:  # set ids follow declaration order: it breaks ties in release order
            st = SetState(len(self.by_sid), s, level[s.name], s.workload or label[s.name])
            shape = tuple([(v.resources, v.node_type) for v in st.variants])
            st.shape = self._shapes.setdefault(shape, len(self._shapes))
            if s.partition is not None and partitions is not None:
                st.scope = partitions.index[s.partition]
            known[s.name] = st
            self.by_sid.append(st)
            fresh.append(st)
            self.gate.add(st)
            self.unfinished += st.count
        for st in fresh:
            for p in dict.fromkeys(st.spec.after):
                parent = known[p]
                if parent.ended:
                    st.tainted |= parent.bad
                else:
                    st.parents_left += 1
                    parent.children.append(st)
                    st.parents.append(parent)
            if st.parents_left == 0:
                self._deps_met(st, out)
        _rank([known[n] for n in order])

    # ---- ending and release -------------------------------------------------------------------------------------
    def maybe_end(self, st: SetState, out: list[Instruction]) -> bool:
        """End the set when all its tasks are terminal; propagate to children. True when a gate may have opened."""
        moved = False
        stack = [st]
        while stack:
            cur = stack.pop()
            c = cur.counts
            if cur.ended or c[DONE] + c[FAILED] + c[SKIPPED] + c[CANCELLED] != cur.count:
                continue
            cur.ended = True
            moved |= self.gate.ended(cur)
            bad = cur.bad
            for child in cur.children:
                child.parents_left -= 1
                child.tainted |= bad
                if child.parents_left == 0 and not child.ended:  # a cancelled child may end before its parents
                    if child.tainted:
                        self._skip(child, out)
                        stack.append(child)
                    else:
                        self._deps_met(child, out)
        return moved

    def _skip(self, st: SetState, out: list[Instruction]) -> None:
        n = st.counts[PENDING]
        self.move(st, PENDING, SKIPPED, n)
        out.append(Skipped(st.name, n, f"a dependency of {st.name} failed or was cancelled"))

    def _deps_met(self, st: SetState, out: list[Instruction]) -> None:
        if st.tainted:
            self._skip(st, out)
            self.maybe_end(st, out)
        else:
            self._waiting.append(st)

    def release(self, out: list[Instruction], gate_moved: bool, ready: Callable[[SetState], None]) -> None:
        """Release the sets whose dependencies are met and whose gate is open, in declaration order: their tasks
        become READY (but those cancelled before), and `ready` queues each set that has some."""
        if not self._waiting:
            return
        if not gate_moved and all(st.released for st in self._waiting):
            return
        still: list[SetState] = []
        for st in sorted(self._waiting, key=lambda x: x.sid):
            if not self.gate.open(st):
                still.append(st)
                continue
            st.released = True
            st.seq = self._next_seq
            self._next_seq += 1
            n = st.counts[PENDING]
            self.move(st, PENDING, READY, n)
            start = 0
            for idx in sorted(st.cancelled):
                if start < idx:
                    st.ready.append([start, idx])
                start = idx + 1
            if start < st.count:
                st.ready.append([start, st.count])
            out.append(Released(st.name))
            if n:
                ready(st)
            else:
                self.maybe_end(st, out)
        self._waiting = still

    def cancel_pending(self, st: SetState, wanted: range) -> None:
        """Cancel tasks of a set not yet released: remember their indices, so that release leaves them out."""
        new = [i for i in wanted if i not in st.cancelled]
        st.cancelled.update(new)
        self.move(st, PENDING, CANCELLED, len(new))


def _rank(fresh: list[SetState]) -> None:
    """Longest remaining path (own run time included) of new sets, raised along their ancestors as needed."""
    for st in reversed(fresh):  # topological order of the batch
        st.rank = _own(st) + max((c.rank for c in st.children), default=0.0)
    stack = [p for st in fresh for p in st.parents if p.rank < _own(p) + st.rank]
    while stack:
        p = stack.pop()
        new = _own(p) + max(c.rank for c in p.children)
        if new > p.rank:
            p.rank = new
            stack.extend(p.parents)


def _own(st: SetState) -> float:
    return min(v.runtime for v in st.variants)
