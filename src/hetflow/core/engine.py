"""The engine: a pure scheduler. Stimuli in, instructions out; no clock, no I/O.

This module is the facade and the stimulus handlers; the parts live beside it: core/sets.py (task sets, their
counts, release), core/launches.py (running launches, the one way a task stops), core/dispatch.py (the ready queue
and the scheduling pass), core/placement.py and core/view.py (what a policy sees), core/estimate.py (when a task
would fit on a busy node), core/ledger.py and core/partitions.py (capacity).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence

from hetflow.core.backoff import Waiting, backoff_delay
from hetflow.core.dispatch import Dispatcher
from hetflow.core.estimate import Availability
from hetflow.core.instructions import NODE_LOST, PREEMPTION, REFUSAL, Cancel, Failed, Instruction, Retried
from hetflow.core.launches import Launches, LaunchRecord, Memo
from hetflow.core.ledger import Ledger
from hetflow.core.modes import make_gate
from hetflow.core.partitions import Partitions, Share
from hetflow.core.policy import Policy
from hetflow.core.sets import NO_RANGES, SetBook, SetState
from hetflow.core.staging import Staging
from hetflow.core.states import TaskState
from hetflow.core.stimuli import (
    CancelRequested,
    NodeJoined,
    NodeLost,
    Resize,
    Stimulus,
    TaskFailed,
    TaskFinished,
    TaskRefused,
    TasksSubmitted,
)
from hetflow.core.view import Links
from hetflow.errors import EngineError
from hetflow.spec.data import Transfer
from hetflow.spec.platform import Node
from hetflow.spec.resources import Resources

READY, RUNNING, DONE = TaskState.READY, TaskState.RUNNING, TaskState.DONE
FAILED, CANCELLED = TaskState.FAILED, TaskState.CANCELLED


class Engine:
    """Owns task states, the ledger, the mode's gate and the policy calls.

    grouped (the simulator's choice): the tasks of a set placed in one scheduling pass on nodes of one speed with one
    variant become one LaunchGroup, a launch that ends as a whole, instead of one Launch per node.
    partitions: named shares of every node that task sets may target (core/partitions.py); resized by Resize.
    retry_backoff: a failed task that is retried may not start before backoff_delay(retry_backoff, attempt) s after
    its failure (core/backoff.py); it holds nothing meanwhile, and wake_at says when a driver must call handle again.
    links: the network between the sites of the nodes (spec.site.Sites): a set's tasks are placed at a site only
    once its inputs are there (core/staging.py), and `transfers` records what moved. A policy may hold a released
    set until a time (its `not_before`, core/policy.py); like a retried task, it holds nothing meanwhile.
    forget (a long-lived session's choice, in task mode without links): `forget_ended()` drops the sets that ended,
    so that a run of a million one-task calls keeps what it held at the start (core/sets.py SetBook).
    releases: announce each set's release as a Released instruction; a run that records no releases (the simulator,
    a session without a journal) turns it off and spares one instruction a set.
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
        links: Links | None = None,
        forget: bool = False,
        releases: bool = True,
    ) -> None:
        self.mode = mode
        self.grouped = grouped
        self.policy = policy
        self.retry_backoff = retry_backoff
        self.ledger = Ledger()
        self.node_index: dict[str, int] = {}
        self.now = 0.0
        self._book = SetBook(make_gate(mode), forget and links is None, releases)
        self.sets: Mapping[str, SetState] = self._book.by_name
        memo: Memo = []
        self._launches = Launches(self.ledger, memo)
        self._estimate = Availability(self.ledger, self._launches, memo)
        self._staging = None if links is None else Staging(links)
        self._waiting = Waiting(self._book)
        self._dispatch = Dispatcher(self.ledger, self._launches, self._estimate, policy, grouped, self._staging)
        self._dispatch.hold = self._waiting.hold
        self.partitions: Partitions | None = None
        if partitions:
            self._use_partitions(Partitions(partitions))
        for node in nodes:
            self._add_node(node)

    # ---- driving -------------------------------------------------------------------------------------------------
    def handle(self, now: float, stimuli: Sequence[Stimulus]) -> list[Instruction]:
        """Apply stimuli at time now, release what may start, place what fits; return the instructions."""
        self.now = now
        self._dispatch.set_now(now)
        if self.ledger.paused:
            self.ledger.resume(now)
        out: list[Instruction] = []
        for s in stimuli:
            if isinstance(s, TaskFinished):
                self._finished(s, out)
            elif isinstance(s, TasksSubmitted):
                self._book.submit(s.sets, self.partitions, out)
            elif isinstance(s, TaskFailed):
                self._failed(s, out)
            elif isinstance(s, TaskRefused):
                self._refused(s, out)
            elif isinstance(s, NodeJoined):
                self._add_node(s.node)
            elif isinstance(s, NodeLost):
                self._lose_node(s.node, out)
            elif isinstance(s, CancelRequested):
                self._cancel(s, out)
            elif isinstance(s, Resize):
                self._resize(s, out)
            else:  # pragma: no cover - the Stimulus union is closed
                raise EngineError(f"unknown stimulus {s!r}")
        for st in self._waiting.wake(now):
            self._dispatch.queue(st)
        self._book.release(out, self._dispatch.released if self._staging is None else self._released)
        self._dispatch.schedule(out)
        return out

    def _released(self, st: SetState) -> None:
        """A set is released in a run with sites: it is woken when its inputs reach each site, then queued."""
        assert self._staging is not None
        parents = [self.sets[p] for p in dict.fromkeys(st.spec.after) if p in self.sets]
        for t in self._staging.plan(st, parents, self.now):
            self._waiting.wake_set(st, t)
        self._dispatch.released(st)

    @property
    def unfinished(self) -> int:
        """Tasks not yet in a terminal state."""
        return self._book.unfinished

    @property
    def passes(self) -> int:
        """Scheduling passes so far."""
        return self._dispatch.passes

    @property
    def idle(self) -> bool:
        """No launch runs; with unfinished > 0 and wake_at None this means the run is stuck (nothing fits)."""
        return not self._launches.records

    @property
    def wake_at(self) -> float | None:
        """The earliest not-before time of a task waiting for its retry backoff, of a set held by its policy, of
        a set's inputs reaching a site or of a paused node's pause ending (None: none waits). A driver must call
        handle(t, []) at some t >= wake_at; handle then makes what is due placeable."""
        t, paused = self._waiting.next_at, self.ledger.paused
        if not paused:
            return t
        end = min(paused.values())
        return end if t is None else min(t, end)

    @property
    def transfers(self) -> list[Transfer]:
        """The data moved between sites so far (none without links)."""
        return [] if self._staging is None else self._staging.transfers

    # ---- views for drivers and tests ------------------------------------------------------------------------------
    @property
    def nodes(self) -> list[Node]:
        return self.ledger.nodes

    def launches(self) -> Iterable[LaunchRecord]:
        return self._launches.records.values()

    def available_at(self, node: int, need: Resources, partition: str | None = None) -> float:
        """Estimated time one task needing `need` fits on the node, within a partition when the run has them (the
        default one when None), as heft sees it (core/estimate.py)."""
        parts = self.partitions
        k = -1 if parts is None else parts.index[partition or ""]
        return self._estimate.available_at(node, need, k)

    def ended(self, name: str) -> bool:
        """Whether every task of the set is in a terminal state (False for a set the engine has not been given; True
        for one it forgot)."""
        st = self.sets.get(name)
        return st.ended if st is not None else self._book.forget

    def forget_ended(self) -> None:
        """Forget the sets that ended so far, when the engine forgets (else nothing): a driver calls it once it has
        read their counts. Later, their names are unknown here and count() raises for them."""
        self._book.forget_ended()

    def count(self, name: str, state: TaskState) -> int:
        """How many tasks of the set are in that state now."""
        return self.sets[name].counts[state]

    def state_counts(self) -> dict[TaskState, int]:
        tot = list(self._book.gone_counts)
        for st in self._book.by_sid:
            for i, n in enumerate(st.counts):
                tot[i] += n
            tot[READY] += len(st.waiting)  # waiting for their backoff: READY, not yet placeable
        return {TaskState(i): n for i, n in enumerate(tot)}

    def validate(self) -> None:
        """Check the ledger, that it agrees with the running launches, and the task counts of every set."""
        led = self.ledger
        led.validate()
        self._launches.validate()
        if self.partitions is not None:
            self.partitions.validate(led.used_cores, led.gpu_asked())
        self._waiting.validate()
        for st in self._book.by_sid:
            if sum(st.counts) + len(st.waiting) != st.count or min(st.counts) < 0:
                raise EngineError(f"task counts of {st.name} out of balance: {st.counts} + {len(st.waiting)} waiting")
            if sum(b - a for a, b in st.ready) != st.counts[READY]:
                raise EngineError(f"ready ranges of {st.name} disagree with its count of ready tasks")

    # ---- stimuli --------------------------------------------------------------------------------------------------
    def _finished(self, s: TaskFinished, out: list[Instruction]) -> None:
        rec = self._launches.get(s.launch)
        if self._staging is not None:
            self._staging.finished(rec, s.index, self.now)
        n = self._launches.stop(rec, s.index)
        self._book.move(rec.set, RUNNING, DONE, n)
        self._book.maybe_end(rec.set, out)

    def _failed(self, s: TaskFailed, out: list[Instruction]) -> None:
        rec = self._launches.get(s.launch)
        st = rec.set
        self._launches.stop(rec, s.index)
        attempt = st.failed_attempt(s.index)
        if s.retry and attempt <= st.spec.retries:
            pause = backoff_delay(self.retry_backoff, attempt)
            if pause > 0:  # READY, but placeable only from now + pause; it holds nothing meanwhile
                self._waiting.defer(st, s.index, self.now + pause)
            else:
                self._requeue(st, s.index)
            out.append(Retried(st.name, s.index, attempt, s.error, self.now + pause))
            return
        self._book.move(st, RUNNING, FAILED, 1)
        out.append(Failed(st.name, s.index, s.error))
        self._book.maybe_end(st, out)

    def _refused(self, s: TaskRefused, out: list[Instruction]) -> None:
        """Back to the ready queue at once without spending an attempt; the node that refused it, with every node of
        its site (one endpoint answers for them all), takes no new work before not_before: the task goes elsewhere
        now if it fits there, and may come back only after the pause."""
        rec = self._launches.get(s.launch)
        st = rec.set
        node = rec.part_of(s.index)[0]
        self._launches.stop(rec, s.index)
        led, site = self.ledger, self.ledger.nodes[node].site
        if s.not_before > self.now:
            for i in range(len(led.nodes)) if site is not None else (node,):
                if i == node or led.nodes[i].site == site:
                    led.pause(i, s.not_before)
        self._requeue(st, s.index)
        out.append(Retried(st.name, s.index, st.attempts.get(s.index, 0), s.reason, self.now, REFUSAL))

    def _lose_node(self, name: str, out: list[Instruction]) -> None:
        i = self.node_index.get(name)
        if i is None or not self.ledger.alive[i]:
            raise EngineError(f"node {name!r} is not part of the run")
        launches = self._launches
        for lid in sorted(launches.on_node[i]):
            rec = launches.records[lid]
            lost = rec.live_indices(i)
            for idx in lost:
                self._requeue(rec.set, idx)
                attempt = rec.set.attempts.get(idx, 0)
                out.append(Retried(rec.set.name, idx, attempt, f"node {name} lost", self.now, NODE_LOST))
            if len(lost) == rec.running:
                launches.stop(rec, None)
                out.append(Cancel(lid))
                continue
            for idx in lost:  # a group that also runs on other nodes: only the lost node's tasks stop
                launches.stop(rec, idx)
                out.append(Cancel(lid, idx))
            launches.leave(rec, i)
        self._estimate.memo[i] = None
        self.ledger.remove(i)
        if self.partitions is not None:
            self.partitions.remove(i)

    def _cancel(self, s: CancelRequested, out: list[Instruction]) -> None:
        st = self.sets.get(s.set)
        if st is None and self._book.forget:
            return  # it ended, and was forgotten
        if st is None:
            raise EngineError(f"cannot cancel unknown task set {s.set!r}")
        if st.ended:
            return
        wanted = range(st.count) if s.index is None else range(s.index, s.index + 1)
        if not st.released:
            self._book.cancel_pending(st, wanted)
            self._book.maybe_end(st, out)
            return
        keep = [
            [lo, hi]
            for a, b in st.ready
            for lo, hi in ((a, max(a, min(b, wanted.start))), (max(a, wanted.stop), b))
            if lo < hi
        ]
        n_gone = st.counts[READY] - sum(b - a for a, b in keep)
        st.ready = deque(keep) if keep else NO_RANGES  # a set's own, never the shared ONE_READY
        self._book.move(st, READY, CANCELLED, n_gone)
        if st.waiting:  # waiting for their backoff: READY too
            self._waiting.cancel(st, wanted)
        launches = self._launches
        for rec in [r for r in launches.records.values() if r.set is st]:
            for idx in [i for _, a, b, _ in rec.parts for i in range(max(a, wanted.start), min(b, wanted.stop))]:
                if idx not in rec.done:
                    launches.stop(rec, idx)
                    self._book.move(st, RUNNING, CANCELLED, 1)
                    out.append(Cancel(rec.id, idx))
        self._book.maybe_end(st, out)

    def _resize(self, s: Resize, out: list[Instruction]) -> None:
        """New partition shares; with preempt, the newest tasks over a shrunk quota go back to the ready queue."""
        parts = self.partitions
        if parts is None:
            parts = Partitions({})
            for node in self.ledger.nodes:
                parts.add(node)
            for i, alive in enumerate(self.ledger.alive):
                if not alive:
                    parts.remove(i)
            for rec in self._launches.records.values():  # what runs now runs in the default partition
                for part in rec.parts:
                    i, _, _, _ = part
                    parts.take(0, i, rec.need, len(rec.live(part)))
            self._use_partitions(parts)
        parts.resize(dict(s.shares))
        memo = self._estimate.memo
        memo[:] = [None] * len(memo)  # every node's quotas were cut again
        if not s.preempt:
            return
        for k in range(len(parts.names)):
            for i in range(len(self.ledger.nodes)):
                if parts.over(k, i):
                    self._preempt(parts, k, i, out)

    def _preempt(self, parts: Partitions, k: int, i: int, out: list[Instruction]) -> None:
        """Stop partition k's newest tasks on node i until it is within its quota; they go back to the ready queue."""
        why = f"preempted: partition {parts.label(k)} shrank"
        launches = self._launches
        for lid in sorted(launches.on_node[i], reverse=True):
            rec = launches.records[lid]
            if rec.set.scope != k:
                continue
            for part in rec.parts_on(i):
                _, start, _, _ = part
                for off in reversed(rec.live(part)):
                    if not parts.over(k, i):
                        break
                    idx = start + off
                    launches.stop(rec, idx)
                    self._requeue(rec.set, idx)
                    out.append(Retried(rec.set.name, idx, rec.set.attempts.get(idx, 0), why, self.now, PREEMPTION))
                    out.append(Cancel(lid, idx))
            if rec.running and not rec.live_indices(i):
                launches.leave(rec, i)
            if not parts.over(k, i):
                return

    # ---- bookkeeping ----------------------------------------------------------------------------------------------
    def _requeue(self, st: SetState, index: int) -> None:
        """A running task goes back to the ready queue at once (a lost node, a preemption, a retry without pause)."""
        self._book.move(st, RUNNING, READY, 1)
        st.add_ready(index)
        self._dispatch.queue(st)

    def _use_partitions(self, parts: Partitions) -> None:
        self.partitions = parts
        self._launches.partitions = parts
        self._dispatch.use_partitions(parts)

    def _add_node(self, node: Node) -> None:
        if node.name in self.node_index and self.ledger.alive[self.node_index[node.name]]:
            raise EngineError(f"node {node.name!r} joined twice")
        self.node_index[node.name] = self.ledger.add(node)
        self._launches.add_node()
        self._estimate.memo.append(None)
        if self._staging is not None:
            self._staging.add_node(node)
        self._estimate.deployments.add_node(node)
        if self.partitions is not None:
            self.partitions.add(node)
