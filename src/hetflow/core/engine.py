"""The engine: a pure scheduler. Stimuli in, instructions out; no clock, no I/O.

Task sets are tracked by counts per state, and ready tasks as ranges of indices, so that N identical tasks cost
far less than N objects. A launch places several tasks of one set on one node at once (grouped: on several nodes).
"""

from __future__ import annotations

import bisect
import heapq
from collections import deque
from collections.abc import Iterable, Mapping, Sequence

from hetflow.core.backoff import backoff_delay
from hetflow.core.instructions import (
    Cancel,
    Failed,
    GpuGrants,
    Instruction,
    Launch,
    LaunchGroup,
    Released,
    Retried,
    Skipped,
)
from hetflow.core.launches import LaunchRecord
from hetflow.core.ledger import Ledger
from hetflow.core.modes import Gate, make_gate
from hetflow.core.partitions import Partitions, Share
from hetflow.core.policy import Policy
from hetflow.core.states import TERMINAL, TaskState, check_transition
from hetflow.core.stimuli import (
    CancelRequested,
    NodeJoined,
    NodeLost,
    Resize,
    Stimulus,
    TaskFailed,
    TaskFinished,
    TasksSubmitted,
)
from hetflow.errors import EngineError, LedgerError
from hetflow.spec import dag
from hetflow.spec.platform import Node
from hetflow.spec.resources import Resources
from hetflow.spec.workflow import TaskSet, Variant

P, R, RUN, D, F, S, C = (TaskState(i) for i in range(7))
_INF = float("inf")


class SetState:
    """The engine's view of one task set."""

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
        "options",
        "parents",
        "parents_left",
        "rank",
        "ready",
        "released",
        "scope",
        "seq",
        "sid",
        "spec",
        "tainted",
        "waiting",
        "workload",
    )

    def __init__(self, sid: int, spec: TaskSet, level: int, workload: str) -> None:
        self.sid = sid
        self.spec = spec
        self.name = spec.name
        self.count = spec.count
        self.options: tuple[Variant, ...] = spec.options
        self.needs_nothing = any(o.resources.cores == 0 and o.resources.gpu_units == 0 for o in self.options)
        self.parents: list[SetState] = []
        self.level = level
        self.workload = workload
        self.children: list[SetState] = []
        self.parents_left = 0
        self.counts = [spec.count, 0, 0, 0, 0, 0, 0]
        self.ready: deque[list[int]] = deque()  # [start, stop) ranges of ready indices
        self.attempts: dict[int, int] = {}
        self.cancelled: set[int] = set()  # indices cancelled before release
        self.seq = -1  # release order
        self.key: tuple[float, ...] = ()
        self.rank = 0.0  # longest remaining path, own run time included
        self.released = False
        self.in_ready = False
        self.tainted = False
        self.ended = False
        self.scope = 0  # its partition's index (0: the default partition)
        # READY tasks still waiting for their retry backoff: index -> not-before time. They are READY (state_counts
        # says so) but not in counts[READY] nor in ready: policies see only what may be placed now.
        self.waiting: dict[int, float] = {}

    @property
    def n_ready(self) -> int:
        return self.counts[R]


class Engine:
    """Owns task states, the ledger, the mode's gate and the policy calls.

    grouped (the simulator's option): the tasks of a set placed in one scheduling pass on nodes of one speed with one
    variant become one LaunchGroup, a launch that ends as a whole, instead of one Launch per node.
    partitions: named shares of every node that task sets may target (core/partitions.py); resized by Resize.
    """

    def __init__(
        self,
        nodes: Iterable[Node],
        mode: str,
        policy: Policy,
        *,
        grouped: bool = False,
        partitions: Mapping[str, Share] | None = None,
        retry_backoff: float = 0.0,
    ) -> None:
        self.mode = mode
        self.retry_backoff = retry_backoff
        self.grouped = grouped
        self.policy = policy
        self.gate: Gate = make_gate(mode)
        self.ledger = Ledger()
        self.partitions: Partitions | None = Partitions(partitions) if partitions else None
        self.node_index: dict[str, int] = {}
        self.now = 0.0
        self.sets: dict[str, SetState] = {}
        self._by_sid: list[SetState] = []
        self._waiting: list[SetState] = []  # dependencies met, gate closed
        self._ready: list[SetState] = []  # sorted by key
        self._n_ready_needing_nothing = 0  # ready sets with a way to run that takes no core and no GPU
        self._launches: dict[int, LaunchRecord] = {}
        self._backoff: list[tuple[float, int, int]] = []  # (not before, set id, index); stale once cancelled
        self._on_node: list[set[int]] = []
        # per node: (cores, GPU units, memory, partition or -1) -> when one such task fits there (-inf: now), or None
        # when something on the node changed since (a launch started or ended on it, its ledger or quotas moved)
        self._fits_at: list[dict[tuple[int, int, int, int], float] | None] = []
        self._next_launch = 0
        self._next_seq = 0
        self.passes = 0  # scheduling passes so far
        self.unfinished = 0  # tasks not yet in a terminal state
        for node in nodes:
            self._add_node(node)

    # ---- driving -------------------------------------------------------------------------------------------------
    def handle(self, now: float, stimuli: Sequence[Stimulus]) -> list[Instruction]:
        """Apply stimuli at time now, release what may start, place what fits; return the instructions."""
        self.now = now
        out: list[Instruction] = []
        gate_moved = False
        for s in stimuli:
            if isinstance(s, TaskFinished):
                gate_moved |= self._finished(s, out)
            elif isinstance(s, TasksSubmitted):
                self._submit(s.sets, out)
            elif isinstance(s, TaskFailed):
                gate_moved |= self._failed(s, out)
            elif isinstance(s, NodeJoined):
                self._add_node(s.node)
            elif isinstance(s, NodeLost):
                self._lose_node(s.node, out)
            elif isinstance(s, CancelRequested):
                gate_moved |= self._cancel(s, out)
            elif isinstance(s, Resize):
                self._resize(s, out)
            else:  # pragma: no cover - the Stimulus union is closed
                raise EngineError(f"unknown stimulus {s!r}")
        if self._backoff and self._backoff[0][0] <= now:
            self._wake(now)
        self._release(out, gate_moved)
        self._schedule(out)
        return out

    @property
    def idle(self) -> bool:
        """Nothing runs; with unfinished > 0 and wake_at None this means the run is stuck (nothing fits)."""
        return not self._launches

    @property
    def wake_at(self) -> float | None:
        """The earliest not-before time of a task waiting for its retry backoff (None: none waits). A driver must
        call handle(t, []) at some t >= wake_at; handle then makes the tasks that are due placeable."""
        heap, by_sid = self._backoff, self._by_sid
        while heap:
            t, sid, idx = heap[0]
            if by_sid[sid].waiting.get(idx) == t:
                return t
            heapq.heappop(heap)  # cancelled while it waited
        return None

    def _wake(self, now: float) -> None:
        """Tasks whose backoff is over join their set's ready ranges."""
        heap, by_sid = self._backoff, self._by_sid
        while heap and heap[0][0] <= now:
            t, sid, idx = heapq.heappop(heap)
            st = by_sid[sid]
            if st.waiting.get(idx) != t:
                continue
            del st.waiting[idx]
            st.counts[R] += 1
            _add_ready(st, idx)
            self._to_ready(st)

    # ---- views for policies and drivers ---------------------------------------------------------------------------
    @property
    def nodes(self) -> list[Node]:
        return self.ledger.nodes

    def usable(self, option: Variant, node: int) -> bool:
        """Whether this way of running may use that node at all (alive, node type, big enough)."""
        n = self.ledger.nodes[node]
        return (option.node_type is None or option.node_type == n.type) and self.ledger.could_ever_fit(
            node, option.resources
        )

    def duration(self, st: SetState, option: int, node: int) -> float:
        return st.options[option].runtime / self.ledger.nodes[node].speed

    def available_at(self, node: int, need: Resources) -> float:
        """Estimated time at which one task needing `need` fits on the node (inf when it never will): now if it fits
        now, else the estimated end of the first running launch (by estimated end) after which it fits.

        Remembered per node until a launch starts or ends there (or the node's ledger or partition quotas change):
        within a scheduling pass heft asks again and again about the same nodes."""
        memo = self._fits_at[node]
        if memo is None:
            memo = self._fits_at[node] = {}
        scope = self.ledger.scope
        key = (need.cores, need.gpu_units, need.memory, -1 if scope is None else scope[1])  # hashed in C
        at = memo.get(key)
        if at is None:
            at = memo[key] = self._fits_after(node, need)
        return max(self.now, at)

    def _fits_after(self, node: int, need: Resources) -> float:
        """available_at without the memo: -inf when it fits now, the estimated end of the launch it waits for, or
        inf when it never fits."""
        led = self.ledger
        if led.fit_count(node, need, 1):
            return -_INF
        if not led.could_ever_fit(node, need):
            return _INF
        gpus = list(led.free_gpu[node])
        cores, mem = led.free_cores[node], led.free_memory[node]
        scope, p_cores, p_units = led.scope, 0, 0  # within a partition: its room on the node too
        if scope is not None:
            parts, k = scope
            p_cores = parts.quota_cores[k][node] - parts.used_cores[k][node]
            p_units = parts.quota_gpu[k][node] - parts.used_gpu[k][node]
            if need.cores > parts.quota_cores[k][node] or need.gpu_units > parts.quota_gpu[k][node]:
                return _INF
        for rec in sorted((self._launches[i] for i in self._on_node[node]), key=lambda r: r.est_end):
            for part in rec.parts_on(node):
                live = rec.live(part)
                cores += rec.need.cores * len(live)
                mem += rec.need.memory * len(live)
                if scope is not None and rec.set.scope == scope[1]:
                    p_cores += rec.need.cores * len(live)
                    p_units += rec.need.gpu_units * len(live)
                for k in live if part[3] else ():
                    for j, u in part[3][k]:
                        gpus[j] += u
            if Ledger.fit_count_on(gpus, cores, mem, need, 1) and (
                scope is None or (p_cores >= need.cores and p_units >= need.gpu_units)
            ):
                return rec.est_end
        return _INF

    def launches(self) -> Iterable[LaunchRecord]:
        return self._launches.values()

    def state_counts(self) -> dict[TaskState, int]:
        tot = [0] * 7
        for st in self._by_sid:
            for i, n in enumerate(st.counts):
                tot[i] += n
            tot[R] += len(st.waiting)  # waiting for their backoff: READY, not yet placeable
        return {TaskState(i): n for i, n in enumerate(tot)}

    def validate(self) -> None:
        """Check the ledger, and that it agrees with the running launches."""
        led = self.ledger
        led.validate()
        cores = [0] * len(led.nodes)
        for rec in self._launches.values():
            for part in rec.parts:
                cores[part[0]] += rec.need.cores * len(rec.live(part))
        if cores != led.used_cores:
            raise LedgerError("ledger and running launches disagree")
        if self.partitions is not None:
            self.partitions.validate(led.used_cores, [sum(u) for u in led.used_gpu])
        for st in self._by_sid:
            if sum(st.counts) + len(st.waiting) != st.count or min(st.counts) < 0:
                raise EngineError(f"task counts of {st.name} out of balance: {st.counts} + {len(st.waiting)} waiting")
            if sum(b - a for a, b in st.ready) != st.counts[R]:
                raise EngineError(f"ready ranges of {st.name} disagree with its count of ready tasks")
        queued = {(sid, idx, t) for t, sid, idx in self._backoff}
        if any((st.sid, idx, t) not in queued for st in self._by_sid for idx, t in st.waiting.items()):
            raise EngineError("a task waits for its backoff outside the backoff queue")

    # ---- stimuli --------------------------------------------------------------------------------------------------
    def _move(self, st: SetState, frm: TaskState, to: TaskState, n: int) -> None:
        check_transition(frm, to)
        if n > st.counts[frm]:
            raise EngineError(f"{st.name}: {n} tasks cannot leave {frm.name}, only {st.counts[frm]} are there")
        st.counts[frm] -= n
        st.counts[to] += n
        if to in TERMINAL:
            self.unfinished -= n

    def _submit(self, sets: Sequence[TaskSet], out: list[Instruction]) -> None:
        names = [s.name for s in sets]
        local = set(names)
        for s in sets:
            if s.name in self.sets:
                raise EngineError(f"task set {s.name!r} was submitted before")
            for p in s.after:
                if p not in self.sets and p not in local:
                    raise EngineError(f"{s.name} depends on unknown task set {p!r}")
        parents = {s.name: tuple(p for p in dict.fromkeys(s.after) if p in local) for s in sets}
        order = dag.topological_order(names, parents)
        kids = dag.children_of(order, parents)
        spec_of = {s.name: s for s in sets}
        branches, shared = dag.workloads(order, parents)
        prefix = f"{len(self._by_sid)}:" if self._by_sid else ""
        label = {m: m for m in shared}
        for i, members in enumerate(branches):
            for m in members:
                label[m] = prefix + _letters(i)
        level = dag.levels(order, parents)
        for name in order:  # levels above sets submitted earlier
            for p in parents_outside(spec_of[name], local):
                level[name] = max(level[name], self.sets[p].level + 1)
            for c in kids[name]:
                level[c] = max(level[c], level[name] + 1)
        fresh: list[SetState] = []
        for s in sets:
            if s.partition is not None and (self.partitions is None or s.partition not in self.partitions.index):
                raise EngineError(f"task set {s.name} targets partition {s.partition!r}, which the run does not have")
        for s in sets:  # set ids follow declaration order: it breaks ties in release order
            st = SetState(len(self._by_sid), s, level[s.name], s.workload or label[s.name])
            if s.partition is not None and self.partitions is not None:
                st.scope = self.partitions.index[s.partition]
            self.sets[s.name] = st
            self._by_sid.append(st)
            fresh.append(st)
            self.gate.add(st)
            self.unfinished += st.count
        for st in fresh:
            for p in dict.fromkeys(st.spec.after):
                parent = self.sets[p]
                if parent.ended:
                    st.tainted |= _bad(parent)
                else:
                    st.parents_left += 1
                    parent.children.append(st)
                    st.parents.append(parent)
            if st.parents_left == 0:
                self._deps_met(st, out)
        self._rank([self.sets[n] for n in order])

    def _rank(self, fresh: list[SetState]) -> None:
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

    def _finished(self, s: TaskFinished, out: list[Instruction]) -> bool:
        rec = self._launch_of(s.launch)
        st = rec.set
        if s.index is None:
            n = rec.running
            self._release_resources(rec, None)
            self._end_launch(rec)
        else:
            rec.part_of(s.index)
            n = 1
            self._release_resources(rec, s.index)
            rec.done.add(s.index)
            rec.running -= 1
            if rec.running == 0:
                self._end_launch(rec)
        self._move(st, RUN, D, n)
        return self._maybe_end(st, out)

    def _failed(self, s: TaskFailed, out: list[Instruction]) -> bool:
        rec = self._launch_of(s.launch)
        st = rec.set
        rec.part_of(s.index)
        self._release_resources(rec, s.index)
        rec.done.add(s.index)
        rec.running -= 1
        if rec.running == 0:
            self._end_launch(rec)
        attempt = st.attempts.get(s.index, 0) + 1
        st.attempts[s.index] = attempt
        if s.retry and attempt <= st.spec.retries:
            pause = backoff_delay(self.retry_backoff, attempt)
            if pause > 0:  # READY, but placeable only from now + pause; it holds nothing meanwhile
                check_transition(RUN, R)
                st.counts[RUN] -= 1
                st.waiting[s.index] = self.now + pause
                heapq.heappush(self._backoff, (self.now + pause, st.sid, s.index))
            else:
                self._requeue(st, s.index)
            out.append(Retried(st.name, s.index, attempt, s.error, self.now + pause))
            return False
        self._move(st, RUN, F, 1)
        out.append(Failed(st.name, s.index, s.error))
        return self._maybe_end(st, out)

    def _lose_node(self, name: str, out: list[Instruction]) -> None:
        i = self.node_index.get(name)
        if i is None or not self.ledger.alive[i]:
            raise EngineError(f"node {name!r} is not part of the run")
        for lid in sorted(self._on_node[i]):
            rec = self._launches[lid]
            lost = [p[1] + k for p in rec.parts_on(i) for k in rec.live(p)]
            for idx in lost:
                self._requeue(rec.set, idx)
                out.append(Retried(rec.set.name, idx, rec.set.attempts.get(idx, 0), f"node {name} lost", self.now))
            if len(lost) == rec.running:
                self._release_resources(rec, None)
                self._end_launch(rec)
                out.append(Cancel(lid))
                continue
            for idx in lost:  # a group that also runs on other nodes: only the lost node's tasks stop
                self._release_resources(rec, idx)
                rec.done.add(idx)
                out.append(Cancel(lid, idx))
            rec.running -= len(lost)
            self._on_node[i].discard(lid)
        self._fits_at[i] = None
        self.ledger.remove(i)
        if self.partitions is not None:
            self.partitions.remove(i)

    def _cancel(self, s: CancelRequested, out: list[Instruction]) -> bool:
        st = self.sets.get(s.set)
        if st is None:
            raise EngineError(f"cannot cancel unknown task set {s.set!r}")
        if st.ended:
            return False
        wanted = range(st.count) if s.index is None else range(s.index, s.index + 1)
        if not st.released:  # pending: remember the indices so that release leaves them out
            new = [i for i in wanted if i not in st.cancelled]
            st.cancelled.update(new)
            self._move(st, P, C, len(new))
        else:
            keep: deque[list[int]] = deque()
            for a, b in st.ready:
                for lo, hi in ((a, max(a, min(b, wanted.start))), (max(a, wanted.stop), b)):
                    if lo < hi:
                        keep.append([lo, hi])
            n_gone = st.counts[R] - sum(b - a for a, b in keep)
            st.ready = keep
            self._move(st, R, C, n_gone)
            if st.waiting:  # waiting for their backoff: READY too (their queue entries go stale)
                gone = [i for i in st.waiting if i in wanted]
                for i in gone:
                    del st.waiting[i]
                check_transition(R, C)
                st.counts[C] += len(gone)
                self.unfinished -= len(gone)
            for rec in [r for r in self._launches.values() if r.set is st]:
                for idx in [i for _, a, b, _ in rec.parts for i in range(max(a, wanted.start), min(b, wanted.stop))]:
                    if idx not in rec.done:
                        self._release_resources(rec, idx)
                        rec.done.add(idx)
                        rec.running -= 1
                        self._move(st, RUN, C, 1)
                        out.append(Cancel(rec.id, idx))
                if rec.running == 0:
                    self._end_launch(rec)
        return self._maybe_end(st, out)

    def _resize(self, s: Resize, out: list[Instruction]) -> None:
        """New partition shares; with preempt, the newest tasks over a shrunk quota go back to the ready queue."""
        if self.partitions is None:
            self.partitions = Partitions({})
            for node in self.ledger.nodes:
                self.partitions.add(node)
            for i, alive in enumerate(self.ledger.alive):
                if not alive:
                    self.partitions.remove(i)
            for rec in self._launches.values():  # what runs now runs in the default partition
                for part in rec.parts:
                    self.partitions.take(0, part[0], rec.need, len(rec.live(part)))
        parts = self.partitions
        parts.resize(dict(s.shares))
        self._fits_at = [None] * len(self._fits_at)  # every node's quotas were cut again
        if not s.preempt:
            return
        for k in range(len(parts.names)):
            for i in range(len(self.ledger.nodes)):
                if parts.over(k, i):
                    self._preempt(k, i, out)

    def _preempt(self, k: int, i: int, out: list[Instruction]) -> None:
        """Stop partition k's newest tasks on node i until it is within its quota; they go back to the ready queue."""
        parts = self.partitions
        assert parts is not None
        why = f"preempted: partition {parts.label(k)} shrank"
        for lid in sorted(self._on_node[i], reverse=True):
            rec = self._launches[lid]
            if rec.set.scope != k:
                continue
            for part in rec.parts_on(i):
                for off in reversed(rec.live(part)):
                    if not parts.over(k, i):
                        break
                    idx = part[1] + off
                    self._release_resources(rec, idx)
                    rec.done.add(idx)
                    rec.running -= 1
                    self._requeue(rec.set, idx)
                    out.append(Retried(rec.set.name, idx, rec.set.attempts.get(idx, 0), why, self.now))
                    out.append(Cancel(lid, idx))
            if rec.running == 0:
                self._end_launch(rec)
            elif not any(rec.live(p) for p in rec.parts_on(i)):
                self._on_node[i].discard(lid)
                self._fits_at[i] = None
            if not parts.over(k, i):
                return

    # ---- bookkeeping ----------------------------------------------------------------------------------------------
    def _launch_of(self, lid: int) -> LaunchRecord:
        rec = self._launches.get(lid)
        if rec is None:
            raise EngineError(f"launch {lid} is not running")
        return rec

    def _release_resources(self, rec: LaunchRecord, index: int | None) -> None:
        release, need = self.ledger.release, rec.need
        parts, scope, fits_at = self.partitions, rec.set.scope, self._fits_at
        if index is not None:
            node, a, _, grants = rec.part_of(index)
            fits_at[node] = None
            release(node, need, 1, (grants[index - a],) if grants else ())
            if parts is not None:
                parts.give(scope, node, need, 1)
        elif not rec.done:
            for node, a, b, grants in rec.parts:
                fits_at[node] = None
                release(node, need, b - a, grants)
                if parts is not None:
                    parts.give(scope, node, need, b - a)
        else:
            for part in rec.parts:
                live = rec.live(part)
                fits_at[part[0]] = None
                release(part[0], need, len(live), tuple(part[3][k] for k in live) if part[3] else ())
                if parts is not None and live:
                    parts.give(scope, part[0], need, len(live))

    def _end_launch(self, rec: LaunchRecord) -> None:
        del self._launches[rec.id]
        on_node, fits_at = self._on_node, self._fits_at
        for part in rec.parts:
            on_node[part[0]].discard(rec.id)
            fits_at[part[0]] = None

    def _requeue(self, st: SetState, index: int) -> None:
        self._move(st, RUN, R, 1)
        _add_ready(st, index)
        self._to_ready(st)

    def _to_ready(self, st: SetState) -> None:
        if not st.in_ready:
            st.in_ready = True
            self._n_ready_needing_nothing += st.needs_nothing
            bisect.insort(self._ready, st, key=lambda x: x.key)

    def _maybe_end(self, st: SetState, out: list[Instruction]) -> bool:
        """End the set when all its tasks are terminal; propagate to children. True when a gate may have opened."""
        moved = False
        stack = [st]
        while stack:
            cur = stack.pop()
            if cur.ended or cur.counts[D] + cur.counts[F] + cur.counts[S] + cur.counts[C] != cur.count:
                continue
            cur.ended = True
            moved |= self.gate.ended(cur)
            bad = _bad(cur)
            for child in cur.children:
                child.parents_left -= 1
                child.tainted |= bad
                if child.parents_left == 0 and not child.ended:  # a cancelled child may end before its parents
                    if child.tainted:
                        n = child.counts[P]
                        self._move(child, P, S, n)
                        out.append(Skipped(child.name, n, f"a dependency of {child.name} failed or was cancelled"))
                        stack.append(child)
                    else:
                        self._deps_met(child, out)
        return moved

    def _deps_met(self, st: SetState, out: list[Instruction]) -> None:
        if st.tainted:
            n = st.counts[P]
            self._move(st, P, S, n)
            out.append(Skipped(st.name, n, f"a dependency of {st.name} failed or was cancelled"))
            self._maybe_end(st, out)
        else:
            self._waiting.append(st)

    def _release(self, out: list[Instruction], gate_moved: bool) -> None:
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
            n = st.counts[P]
            self._move(st, P, R, n)
            start = 0
            for idx in sorted(st.cancelled):
                if start < idx:
                    st.ready.append([start, idx])
                start = idx + 1
            if start < st.count:
                st.ready.append([start, st.count])
            st.key = self.policy.priority(st, self)
            out.append(Released(st.name))
            if n:
                self._to_ready(st)
            else:
                self._maybe_end(st, out)
        self._waiting = still

    def _schedule(self, out: list[Instruction]) -> None:
        if not self._ready:
            return
        self.passes += 1
        led = self.ledger
        keep: list[SetState] = []
        ready = self._ready
        for at, st in enumerate(ready):
            if not (led.total_free_cores or led.total_free_gpu or self._n_ready_needing_nothing):
                keep.extend(ready[at:])  # nothing is free and every waiting set needs something: stop the pass
                break
            need0 = st.options[0].resources
            if len(st.options) > 1 or (need0.cores <= led.total_free_cores and need0.gpu_units <= led.total_free_gpu):
                self._place(st, out)
            if st.counts[R]:
                keep.append(st)
            else:
                st.in_ready = False
                self._n_ready_needing_nothing -= st.needs_nothing
        self._ready = keep

    def _place(self, st: SetState, out: list[Instruction]) -> None:
        """Take the policy's placements of one set: allocate each, and record the launches (Launch per node and
        ready range; grouped: a LaunchGroup per variant and node speed)."""
        led = self.ledger
        groups: dict[tuple[int, float], LaunchRecord] = {}  # stays empty unless grouped
        if self.partitions is not None:  # the policy sees what fits in the set's partition
            led.scope = (self.partitions, st.scope)
        try:
            self._take_placements(st, groups, out)
        finally:
            led.scope = None
        for (option, speed), rec in groups.items():
            need, dur = rec.need, st.options[option].runtime / speed
            parts = tuple(rec.parts)
            out.append(LaunchGroup(rec.id, st.name, option, need.cores, need.gpu_units, need.memory, dur, parts))

    def _take_placements(
        self, st: SetState, groups: dict[tuple[int, float], LaunchRecord], out: list[Instruction]
    ) -> None:
        """Apply the policy's placements of one set, one at a time (the policy sees each one's effect)."""
        led = self.ledger
        nodes, allocate, on_node, parts = led.nodes, led.allocate, self._on_node, self.partitions
        counts, ready, fits_at = st.counts, st.ready, self._fits_at
        for node, option, n in self.policy.place(st, self):
            if n <= 0:
                raise EngineError(f"policy {self.policy.name} placed no task of {st.name}")
            fits_at[node] = None
            need = st.options[option].resources
            key = (option, nodes[node].speed)
            while n > 0 and ready:
                rng = ready[0]
                a = rng[0]
                b = a + n
                if b >= rng[1]:
                    b = rng[1]
                    ready.popleft()
                else:
                    rng[0] = b
                k = b - a
                n -= k
                grants = allocate(node, need, k)
                if parts is not None:
                    parts.take(st.scope, node, need, k)
                rec = groups.get(key)
                if rec is None:
                    rec = self._open_launch(st, node, option, a, b, grants, out)
                    if self.grouped:
                        groups[key] = rec
                rec.parts.append((node, a, b, grants))
                rec.running += k
                on_node[node].add(rec.id)
                counts[R] -= k  # READY -> RUNNING, always a legal transition
                counts[RUN] += k
            if not counts[R]:
                break

    def _open_launch(
        self, st: SetState, node: int, option: int, a: int, b: int, grants: GpuGrants, out: list[Instruction]
    ) -> LaunchRecord:
        """A new launch record. A default engine announces it as a Launch at once; a grouped one when the pass over
        the set is done (more parts may join it)."""
        opt, nd = st.options[option], self.ledger.nodes[node]
        need, dur = opt.resources, opt.runtime / nd.speed
        rec = LaunchRecord(self._next_launch, st, option, need, self.now + dur)
        self._next_launch += 1
        self._launches[rec.id] = rec
        if not self.grouped:
            out.append(
                Launch(rec.id, st.name, a, b, nd.name, option, need.cores, need.gpu_units, need.memory, dur, grants)
            )
        return rec

    def _add_node(self, node: Node) -> None:
        if node.name in self.node_index and self.ledger.alive[self.node_index[node.name]]:
            raise EngineError(f"node {node.name!r} joined twice")
        self.node_index[node.name] = self.ledger.add(node)
        self._on_node.append(set())
        self._fits_at.append(None)
        if self.partitions is not None:
            self.partitions.add(node)


def _add_ready(st: SetState, index: int) -> None:
    """Append a ready index, extending the last range when it is its neighbour (so they launch together)."""
    if st.ready and st.ready[-1][1] == index:
        st.ready[-1][1] += 1
    else:
        st.ready.append([index, index + 1])


def parents_outside(s: TaskSet, local: set[str]) -> list[str]:
    """Parents of s that were submitted in an earlier batch."""
    return [p for p in s.after if p not in local]


def _own(st: SetState) -> float:
    return min(o.runtime for o in st.options)


def _bad(st: SetState) -> bool:
    return bool(st.counts[F] or st.counts[S] or st.counts[C])


def _letters(i: int) -> str:
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name
