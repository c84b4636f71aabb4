"""Task sets in the engine: their state counts and ready ranges, and the bookkeeping of sets as a whole (submission,
levels and workloads, ranks, dependencies, ending, release through the mode's gate).

A set is tracked by counts per state and by ranges of ready indices, so that N identical tasks cost a few integers.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from operator import attrgetter
from typing import Any

from hetflow.core.instructions import Instruction, Skipped, released
from hetflow.core.modes import Gate, TaskGate
from hetflow.core.partitions import Partitions
from hetflow.core.states import IS_TERMINAL, LEGAL, TaskState, check_transition
from hetflow.errors import EngineError
from hetflow.spec import dag
from hetflow.spec.features import Requirement
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import TaskSet, Variant

Traits = tuple[bool, int, int]
"""What sets with the same ways to run share: SetState's needs_nothing, least_cores and shape."""
NONE_CANCELLED: AbstractSet[int] = frozenset()
# The ready ranges of every set that has none (most sets, most of the time: an empty deque takes 600 bytes). Nothing
# is ever appended to it: a set gets a deque of its own when it gets ranges, and gives it back when they are placed.
NO_RANGES: deque[list[int]] = deque()
# The ready range of every released one-task set not yet placed (a program's call, a trace's record): read, never
# written; the dispatcher drops it whole when it places the task, and a set given more ready tasks gets a deque of its
# own (two objects fewer per set in flight for the collector to walk: most calls wait their turn in the queue).
ONE_READY: deque[list[int]] = deque(([0, 1],))
# What a set has of failed attempts and of tasks waiting out a backoff while it has none: shared, never written to
# (two dicts fewer per set); SetState.failed_attempt and core/backoff.py make a set its own when it first needs one.
NO_ATTEMPTS: dict[int, int] = {}
NONE_WAITING: dict[int, float] = {}
MAX_TRAITS = 4096  # distinct needs whose traits a book remembers (a long-lived session may bring new ones forever)
NO_SETS: list[SetState] = []  # the parents, or children, of every set that has none (never appended to either)


BY_ID = attrgetter("sid")  # a set's id, read in C (the sort key of every release)


def traits_of(variants: tuple[Variant, ...], shape: int) -> Traits:
    """Whether a way takes no core and no GPU, the fewest cores of a way, and the shape (given by the SetBook)."""
    return (
        any(v.resources.cores == 0 and v.resources.gpu_units == 0 for v in variants),
        min(v.resources.cores for v in variants),
        shape,
    )


PENDING, READY, RUNNING, DONE = TaskState.PENDING, TaskState.READY, TaskState.RUNNING, TaskState.DONE
FAILED, SKIPPED, CANCELLED = TaskState.FAILED, TaskState.SKIPPED, TaskState.CANCELLED
# the same as plain ints, to index counts in hot loops (an enum member is no exact int, which slows indexing)
AT_PENDING, AT_READY, AT_DONE = int(PENDING), int(READY), int(DONE)
AT_FAILED, AT_SKIPPED, AT_CANCELLED = int(FAILED), int(SKIPPED), int(CANCELLED)


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
        "least_cores",
        "level",
        "name",
        "needs_nothing",
        "own",
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

    def __init__(self, sid: int, spec: TaskSet, workload: str, variants: tuple[Variant, ...], traits: Traits) -> None:
        self.sid = sid
        self.spec = spec
        self.name = spec.name
        self.count = spec.count
        self.variants = variants
        # its shortest run time (ranks add these up); most sets have one way to run
        self.own = variants[0].runtime if len(variants) == 1 else min(v.runtime for v in variants)
        # whether a way takes no core and no GPU, its fewest cores (fewer free on every node: it fits nowhere), and
        # its ways to run (resources and node types) as a number: sets alike share one
        self.needs_nothing, self.least_cores, self.shape = traits
        self.parents: list[SetState] = NO_SETS  # a list of its own once it has one (as children)
        self.level = 0  # longest path from a root, in sets (SetBook.submit works it out)
        self.workload = workload
        self.children: list[SetState] = NO_SETS
        self.parents_left = 0
        self.counts = [spec.count, 0, 0, 0, 0, 0, 0]  # tasks per TaskState
        self.ready = NO_RANGES  # [start, stop) ranges of ready indices: a deque of its own while it has some
        self.attempts: dict[int, int] = NO_ATTEMPTS  # index -> failed attempts so far
        self.cancelled: AbstractSet[int] = NONE_CANCELLED  # indices cancelled before release (a set once one is)
        self.seq = -1  # release order
        # the policy's priority, smaller first: a tuple by the protocol, kept as the policy gave it (compiled, a typed
        # slot would refuse a list or a number that the interpreted engine compares as well)
        self.key: Any = ()
        self.rank = 0.0  # longest remaining path, own run time included
        self.released = False
        self.in_ready = False  # in the dispatcher's ready queue
        self.tainted = False  # a dependency failed or was cancelled
        self.ended = False
        self.scope = 0  # its partition's index (0: the default partition)
        # READY tasks still waiting for their retry backoff: index -> not-before time. They are READY (state_counts
        # says so) but neither in counts[READY] nor in ready: policies see only what may be placed now.
        self.waiting: dict[int, float] = NONE_WAITING

    @property
    def n_ready(self) -> int:
        """Tasks that may be placed now."""
        return self.counts[READY]

    def add_ready(self, index: int) -> None:
        """Append a ready index, extending the last range when it is its neighbour (so they launch together)."""
        ready = self.ready
        if ready is NO_RANGES or ready is ONE_READY:  # shared: the set gets a deque of its own
            ready = self.ready = deque([[a, b] for a, b in ready])
        if ready and ready[-1][1] == index:
            ready[-1][1] += 1
        else:
            ready.append([index, index + 1])

    def failed_attempt(self, index: int) -> int:
        """Count a failed attempt of a task; how many it has failed so far."""
        attempts = self.attempts
        if attempts is NO_ATTEMPTS:
            attempts = self.attempts = {}
        n = attempts[index] = attempts.get(index, 0) + 1
        return n

    @property
    def bad(self) -> bool:
        """Some task of it failed, was skipped or was cancelled: its dependents are skipped."""
        c = self.counts
        return bool(c[FAILED] or c[SKIPPED] or c[CANCELLED])


GONE = SetState(-1, TaskSet("(forgotten)", 1, Resources(), 0.0), "", (Variant(Resources(), 0.0),), (False, 0, 0))
GONE.counts = [0] * len(TaskState)  # an ended set of no tasks: what a forgotten set id reads as
GONE.ended = True


class SetIds(dict[int, SetState]):
    """The sets a book holds, by set id (a dict: a lookup costs no Python call). Ids are handed out in declaration
    order (`next`: how many were); a set forgotten after it ended leaves no entry, and its id reads as GONE (an ended
    set of no tasks). Iterating gives the sets held."""

    __slots__ = ("next",)

    def __init__(self) -> None:
        super().__init__()
        self.next = 0

    def __missing__(self, sid: int) -> SetState:
        return GONE

    def __iter__(self) -> Iterator[SetState]:  # type: ignore[override]
        return iter(self.values())

    def append(self, st: SetState) -> None:
        self[self.next] = st
        self.next += 1


class SetBook:
    """The task sets of a run, by name and by id (declaration order), and the sets whose tasks are not terminal.

    forget (a long-lived session's engine): sets that ended leave the book when `forget_ended` is called (a tombstone
    only for those that ended with a task failed, skipped or cancelled), so memory and each step's work stay as they
    were however many sets came before. A name the book does not know is then a set that ended and was forgotten
    (the driver names only sets it submitted): a dependency on it is met, or tainted when it ended badly. Only the
    task mode's gate may forget: the sync and workload gates place a new set by its parents' levels and workloads.
    releases: a Released instruction for each set released (off where nobody records releases)."""

    def __init__(self, gate: Gate, forget: bool = False, releases: bool = True) -> None:
        self.gate = gate
        self.by_name: dict[str, SetState] = {}
        self.by_sid = SetIds()
        self.unfinished = 0  # tasks not yet in a terminal state
        self.always_open = isinstance(gate, TaskGate)  # the task mode's: it never holds a set
        self.forget = forget and self.always_open
        self.releases = releases
        self.gone_counts = [0] * len(TaskState)  # tasks per TaskState of the sets forgotten
        self.gone_bad: set[str] = set()  # forgotten sets that ended with a task failed, skipped or cancelled
        self._ended: list[SetState] = []  # sets that ended since forget_ended was last called (when forgetting)
        self._waiting: list[SetState] = []  # dependencies met, held by the gate when last asked
        self._fresh: list[SetState] = []  # dependencies met since the last release
        self._moved = False  # the gate may have opened since the last release
        self._next_seq = 0
        self._shapes: dict[tuple[tuple[Resources, str | None, Requirement | None], ...], int] = {}
        # (id of the default resources, its requirement, the other variants) -> (those resources, their Traits):
        # worked out once per distinct need (the loader shares one Resources per distinct need; the entry keeps its
        # id taken)
        self._traits: dict[tuple[int, Requirement | None, tuple[Variant, ...]], tuple[Resources, Traits]] = {}
        # (resources, runtime, requirement, image, cold start, variants) of the last set submitted, and its ways to
        # run: a set like the last shares them (one tuple and one Variant fewer per set for the collector to walk)
        self._last: tuple[object, ...] = (None, None, None, None, None, None)
        self._ways: tuple[tuple[Variant, ...], Traits] = ((), (False, 0, 0))

    def move(self, st: SetState, frm: TaskState, to: TaskState, n: int) -> None:
        """n tasks of st go from one state to another (a legal transition)."""
        if not LEGAL[frm][to]:
            check_transition(frm, to)  # it raises
        counts = st.counts
        if n > counts[frm]:
            raise EngineError(f"{st.name}: {n} tasks cannot leave {frm.name}, only {counts[frm]} are there")
        counts[frm] -= n
        counts[to] += n
        if IS_TERMINAL[to]:
            self.unfinished -= n

    # ---- submission ---------------------------------------------------------------------------------------------
    def submit(self, sets: Sequence[TaskSet], partitions: Partitions | None, out: list[Instruction]) -> None:
        """Add task sets (they may depend on sets submitted before): levels, workloads, dependencies, ranks.

        The DAG is worked on as set ids (declaration order, counting the sets submitted before): a batch declared
        parents first needs no sorting, and workloads are derived only for the gate that uses them."""
        if self.always_open and self._submit_independent(sets):
            return
        known, base = self.by_name, self.by_sid.next
        local: dict[str, int] = {}
        for s in sets:
            if s.name in known or s.name in local:
                raise EngineError(f"task set {s.name!r} was submitted before")
            local[s.name] = base + len(local)
        deps: list[list[int]] = []  # per new set: the ids it depends on, once each, in the order `after` names them
        tainted: set[int] = set()  # new sets with a parent that was forgotten after it ended badly
        ordered = True  # every set is declared after its parents
        for sid, s in enumerate(sets, base):
            ids: list[int] = []
            for p in s.after:
                d = local.get(p)
                if d is None:
                    parent = known.get(p)
                    if parent is None:
                        if not self.forget:
                            raise EngineError(f"{s.name} depends on unknown task set {p!r}")
                        if p in self.gone_bad:  # it ended and was forgotten: met, or tainted
                            tainted.add(sid)
                        continue
                    d = parent.sid
                elif d >= sid:
                    ordered = False
                if d not in ids:
                    ids.append(d)
            deps.append(ids)
        label: dict[str, str] = {}
        in_order = ordered and not self.gate.workloads  # parents come first: levels as the states are made
        if in_order:
            order: Sequence[int] = range(base, base + len(sets))
        else:  # Kahn's order (it raises on a cycle), which also names the workloads
            names = [s.name for s in sets]
            parents = {s.name: tuple(p for p in dict.fromkeys(s.after) if p in local) for s in sets}
            by_name = dag.topological_order(names, parents)
            order = [local[n] for n in by_name]
            if self.gate.workloads:
                branches, shared = dag.workloads(by_name, parents)
                label = dag.workload_labels(branches, shared, f"{base}:" if base else "")
        for s in sets:
            if s.partition is not None and (partitions is None or s.partition not in partitions.index):
                raise EngineError(f"task set {s.name} targets partition {s.partition!r}, which the run does not have")
        by_sid, gate = self.by_sid, self.gate
        level: list[int] = []
        if not in_order:
            level = [0] * len(sets)
            for sid in order:  # parents first
                top = -1
                for d in deps[sid - base]:
                    up = level[d - base] if d >= base else by_sid[d].level
                    if up > top:
                        top = up
                level[sid - base] = top + 1
        add, unfinished = gate.add, 0
        for sid, s in enumerate(sets, base):  # set ids follow declaration order: it breaks ties in release order
            if in_order:  # its parents are in by_sid already, with their levels
                top = -1
                for d in deps[sid - base]:
                    up = by_sid[d].level
                    if up > top:
                        top = up
                lv = top + 1
            else:
                lv = level[sid - base]
            variants, alike = self._ways_of(s)
            st = SetState(sid, s, s.workload or label.get(s.name, ""), variants, alike)
            if s.partition is not None and partitions is not None:
                st.scope = partitions.index[s.partition]
            st.level = lv
            if tainted and sid in tainted:
                st.tainted = True
            known[s.name] = st
            by_sid.append(st)
            add(st)
            unfinished += st.count
        self.unfinished += unfinished
        below: list[SetState] = []  # new sets with a parent submitted before (whose rank they may raise)
        for sid, ids in enumerate(deps, base):
            st = by_sid[sid]
            for d in ids:
                parent = by_sid[d]
                if parent.ended:
                    st.tainted |= parent.bad
                else:
                    st.parents_left += 1
                    if parent.children is NO_SETS:
                        parent.children = []
                    parent.children.append(st)
                    if st.parents is NO_SETS:
                        st.parents = []
                    st.parents.append(parent)
                    if d < base and (not below or below[-1] is not st):
                        below.append(st)
            if st.parents_left == 0:
                self._deps_met(st, out)
        _rank([by_sid[sid] for sid in order], below)

    def _ways_of(self, s: TaskSet) -> tuple[tuple[Variant, ...], Traits]:
        """A set's ways to run and their traits: a set like the last submitted shares the last one's."""
        res = s.resources
        ways = self._last  # the last set's ways to run: a program calling one task again and again repeats them
        if (
            ways[0] is res
            and ways[1] == s.runtime
            and ways[2] == s.requires
            and ways[3] == s.image
            and ways[4] == s.cold_start
            and ways[5] == s.variants
        ):
            return self._ways
        traits = self._traits
        variants = s.all_variants
        got = traits.get((id(res), s.requires, s.variants))
        if got is None or got[0] is not res:
            if len(traits) >= MAX_TRAITS:  # resources made anew for each set (a shell call each): start over
                traits.clear()
            got = traits[id(res), s.requires, s.variants] = (res, traits_of(variants, self._shape(variants)))
        self._last = (res, s.runtime, s.requires, s.image, s.cold_start, s.variants)
        self._ways = (variants, got[1])
        return self._ways

    def _submit_independent(self, sets: Sequence[TaskSet]) -> bool:
        """Add sets that depend on nothing and target no partition, in the task mode (each program call of a task
        without futures in its arguments): each is released at the next release, with level 0 and its own run time
        as its rank, as submit would make it. False (nothing done) when a set depends on another or targets a
        partition, or for a name seen before: submit does those (and says so)."""
        known, by_sid, fresh = self.by_name, self.by_sid, self._fresh
        base, had, unfinished = by_sid.next, len(fresh), 0
        for s in sets:
            if s.after or s.partition is not None or s.name in known:  # undo what was added: submit does it all
                for sid in range(base, by_sid.next):
                    del known[by_sid.pop(sid).name]
                by_sid.next = base
                del fresh[had:]
                return False
            variants, alike = self._ways_of(s)
            sid = by_sid.next
            st = SetState(sid, s, s.workload or "", variants, alike)
            st.rank = st.own
            known[s.name] = st
            by_sid[sid] = st
            by_sid.next = sid + 1
            fresh.append(st)
            unfinished += st.count
        self.unfinished += unfinished
        return True

    def _shape(self, variants: tuple[Variant, ...]) -> int:
        """The number of a set's ways to run (resources, node types and requirements): sets alike share one."""
        shapes = self._shapes
        return shapes.setdefault(tuple([(v.resources, v.node_type, v.requires) for v in variants]), len(shapes))

    # ---- ending and release -------------------------------------------------------------------------------------
    def maybe_end(self, st: SetState, out: list[Instruction]) -> None:
        """End the set when all its tasks are terminal; propagate to children."""
        c = st.counts
        if st.ended or c[AT_DONE] + c[AT_FAILED] + c[AT_SKIPPED] + c[AT_CANCELLED] != st.count:
            return  # the common case: tasks of it are not done yet
        if st.children is NO_SETS:  # nothing waits for it (a program's call, mostly): it ends alone
            st.ended = True
            if self.forget:
                self._ended.append(st)
            if self.gate.ended(st):
                self._moved = True
            return
        stack = [st]  # sets that end now: each is pushed once, when all its tasks are terminal
        gate_ended = self.gate.ended
        while stack:
            cur = stack.pop()
            c = cur.counts
            cur.ended = True
            if self.forget:
                self._ended.append(cur)
            if gate_ended(cur):
                self._moved = True
            bad = bool(c[AT_FAILED] or c[AT_SKIPPED] or c[AT_CANCELLED])
            for child in cur.children:
                child.parents_left -= 1
                if bad:
                    child.tainted = True
                if child.parents_left == 0 and not child.ended:  # a cancelled child may end before its parents
                    if child.tainted:
                        self._skip(child, out)
                        c = child.counts
                        if c[AT_DONE] + c[AT_FAILED] + c[AT_SKIPPED] + c[AT_CANCELLED] == child.count:
                            stack.append(child)
                    else:
                        self._deps_met(child, out)

    def _skip(self, st: SetState, out: list[Instruction]) -> None:
        n = st.counts[PENDING]
        self.move(st, PENDING, SKIPPED, n)
        out.append(Skipped(st.name, n, f"a dependency of {st.name} failed or was cancelled"))

    def _deps_met(self, st: SetState, out: list[Instruction]) -> None:
        if st.tainted:
            self._skip(st, out)
            self.maybe_end(st, out)
        else:
            self._fresh.append(st)

    def release(self, out: list[Instruction], ready: Callable[[SetState], None]) -> None:
        """Release the sets whose dependencies are met and whose gate is open, in declaration order: their tasks
        become READY (but those cancelled before), and `ready` queues each set that has some.

        A gate only opens when a set ends and the gate says so (the mode's gates count unended sets), so the sets
        it held before are asked again only then: in sync mode a step costs the sets it releases, not all that wait.
        """
        if not self._fresh and not self._moved:
            return
        closed: list[SetState] = []  # held by the gate when last asked, and not asked now
        if self._moved:
            todo, self._waiting = self._waiting + self._fresh, []
        else:
            todo, closed = self._fresh, self._waiting
        self._fresh, self._moved = [], False
        if self.always_open:  # the task mode's gate holds nothing: release in id order, with no heap
            while todo:
                if len(todo) > 1:
                    todo.sort(key=BY_ID)
                for k, st in enumerate(todo):
                    if not self._release(st, out, ready) and self._fresh:  # it ended at once, freeing its children:
                        todo, self._fresh = self._fresh + todo[k + 1 :], []  # they join the rest of the pass, by id
                        break
                else:
                    return
            return
        heap = [(st.sid, st) for st in todo]
        if len(heap) > 1:
            heapq.heapify(heap)
        still: list[SetState] = []
        gate_open = self.gate.open
        while heap:
            sid, st = heapq.heappop(heap)
            if not gate_open(st):
                still.append(st)
                continue
            if self._release(st, out, ready):
                continue
            for child in self._fresh:  # it ended at once (no task to run): its children join this pass, by id
                heapq.heappush(heap, (child.sid, child))
            self._fresh = []
            if self._moved and closed:  # its end opened the gate: the sets held after it are asked in this pass too
                for w in closed:
                    if w.sid > sid:
                        heapq.heappush(heap, (w.sid, w))
                    else:
                        still.append(w)
                closed = []
        self._waiting = still + closed

    def _release(self, st: SetState, out: list[Instruction], ready: Callable[[SetState], None]) -> int:
        """Release one set: its tasks become READY (but those cancelled before) and it is queued, or it ends now
        (nothing of it was left); returns how many tasks became READY."""
        st.released = True
        st.seq = self._next_seq
        self._next_seq += 1
        counts = st.counts
        n = counts[AT_PENDING]
        counts[AT_PENDING] = 0  # PENDING -> READY, always a legal transition
        counts[AT_READY] += n
        if st.cancelled:
            ranges: list[list[int]] = []
            start = 0
            for idx in sorted(st.cancelled):
                if start < idx:
                    ranges.append([start, idx])
                start = idx + 1
            if start < st.count:
                ranges.append([start, st.count])
            if ranges:
                st.ready = deque(ranges)
        elif st.count == 1:
            st.ready = ONE_READY
        elif st.count:
            st.ready = deque(([0, st.count],))
        if self.releases:
            out.append(released(st.name))
        if n:
            ready(st)
        else:
            self.maybe_end(st, out)
        return n

    def forget_ended(self) -> None:
        """Forget the sets that ended since the last call (when the book forgets): their names and ids leave the
        book, their counts join gone_counts, and a set that ended badly leaves its name in gone_bad."""
        if not self._ended:
            return
        ended, self._ended = self._ended, []
        by_name, by_sid, gone = self.by_name, self.by_sid, self.gone_counts
        for st in ended:
            if by_name.get(st.name) is not st:
                continue
            del by_name[st.name]
            del by_sid[st.sid]
            c = st.counts  # all terminal
            gone[AT_DONE] += c[AT_DONE]
            if c[AT_FAILED] or c[AT_SKIPPED] or c[AT_CANCELLED]:
                gone[AT_FAILED] += c[AT_FAILED]
                gone[AT_SKIPPED] += c[AT_SKIPPED]
                gone[AT_CANCELLED] += c[AT_CANCELLED]
                self.gone_bad.add(st.name)

    def cancel_pending(self, st: SetState, wanted: range) -> None:
        """Cancel tasks of a set not yet released: remember their indices, so that release leaves them out."""
        new = [i for i in wanted if i not in st.cancelled]
        cancelled = st.cancelled if isinstance(st.cancelled, set) else set()
        cancelled.update(new)
        st.cancelled = cancelled
        self.move(st, PENDING, CANCELLED, len(new))


def _rank(fresh: list[SetState], below: list[SetState]) -> None:
    """Longest remaining path (own run time included) of new sets (in topological order), raised along their
    ancestors as needed: only those of the sets `below` earlier sets can rise (a new parent's rank already covers its
    new children)."""
    for st in reversed(fresh):
        kids = st.children
        if not kids:
            st.rank = st.own
        elif len(kids) == 1:
            st.rank = st.own + kids[0].rank
        else:
            st.rank = st.own + max([c.rank for c in kids])
    stack = [p for st in below for p in st.parents if p.rank < p.own + st.rank]
    while stack:
        p = stack.pop()
        new = p.own + max(c.rank for c in p.children)
        if new > p.rank:
            p.rank = new
            stack.extend(p.parents)
