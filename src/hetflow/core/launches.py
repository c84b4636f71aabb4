"""Launches: what the engine knows about the tasks it launched that have not ended yet, and the one way a task stops.

Every way a running task stops (it finished, failed, its node was lost, it was cancelled or preempted) goes through
Launches.stop: the ledger and the partition get its resources back, the launch forgets it, and a launch with nothing
left running ends. The availability estimate of every node touched is forgotten (core/estimate.py).
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet

from hetflow.core.instructions import Part
from hetflow.core.ledger import Ledger
from hetflow.core.partitions import Partitions
from hetflow.core.sets import SetState
from hetflow.errors import EngineError, LedgerError
from hetflow.spec.resources import Resources

Memo = list[dict[tuple[object, ...], float] | None]  # per node: core/estimate.py's answers (None: forgotten)
# What a new launch starts with, shared (most launches end whole, and never need their own)
NONE_DONE: AbstractSet[int] = frozenset()
UNINDEXED: tuple[int, dict[int, list[Part]]] = (0, {})  # never written to: parts_on makes a new dict


class LaunchRecord:
    """One launch: tasks of one set, run with one variant, that are expected to end together.

    parts holds one Part (node, start, stop, per-task GPU grants) per node and ready range; a default engine makes
    one part per launch.
    """

    __slots__ = ("_by_node", "done", "est_end", "id", "need", "parts", "running", "set")

    def __init__(self, lid: int, st: SetState, need: Resources, est_end: float) -> None:
        self.id = lid
        self.set = st
        self.need = need
        self.est_end = est_end
        self.parts: list[Part] = []
        self.running = 0
        self.done: AbstractSet[int] = NONE_DONE  # indices that ended one by one (a set once one has)
        self._by_node = UNINDEXED  # (parts indexed, node -> its parts)

    def parts_on(self, node: int) -> list[Part]:
        """The parts on one node (indexed when first asked, and again after parts were added)."""
        n, by_node = self._by_node
        if n != len(self.parts):
            by_node = {}
            for part in self.parts:
                on, _, _, _ = part
                by_node.setdefault(on, []).append(part)
            self._by_node = (len(self.parts), by_node)
        return by_node.get(node, [])

    def part_of(self, index: int) -> Part:
        """The part that holds a running task index."""
        if index not in self.done:
            for part in self.parts:
                _, start, stop, _ = part
                if start <= index < stop:
                    return part
        raise EngineError(f"task {index} of launch {self.id} is not running")

    def live(self, part: Part) -> list[int]:
        """Offsets within a part of the tasks still running."""
        _, start, stop, _ = part
        done = self.done
        return [k for k in range(stop - start) if start + k not in done]

    def live_indices(self, node: int) -> list[int]:
        """Task indices of it still running on a node."""
        out: list[int] = []
        for part in self.parts_on(node):
            _, start, _, _ = part
            out.extend(start + k for k in self.live(part))
        return out


class Launches:
    """The running launches, by id and by node."""

    def __init__(self, ledger: Ledger, memo: Memo) -> None:
        self.ledger = ledger
        self.partitions: Partitions | None = None  # set by the engine when the run has partitions
        self.records: dict[int, LaunchRecord] = {}
        self.on_node: list[set[int]] = []  # per node: ids of the launches with a part there
        self._memo = memo
        self._next = 0

    def add_node(self) -> None:
        self.on_node.append(set())

    def get(self, lid: int) -> LaunchRecord:
        rec = self.records.get(lid)
        if rec is None:
            raise EngineError(f"launch {lid} is not running")
        return rec

    def open(self, st: SetState, need: Resources, est_end: float) -> LaunchRecord:
        """A new launch, with no part yet (the dispatcher adds them as it allocates)."""
        rec = LaunchRecord(self._next, st, need, est_end)
        self._next += 1
        self.records[rec.id] = rec
        return rec

    def stop(self, rec: LaunchRecord, index: int | None) -> int:
        """Task `index` of a launch stops (every task still running when None): its resources go back, and the
        launch ends when nothing of it runs. Returns how many tasks stopped."""
        release, need, memo = self.ledger.release, rec.need, self._memo
        parts, scope = self.partitions, rec.set.scope
        if index is not None:
            node, a, _, grants = rec.part_of(index)
            memo[node] = None
            release(node, need, 1, (grants[index - a],) if grants else ())
            if parts is not None:
                parts.give(scope, node, need, 1)
            ended = rec.done if isinstance(rec.done, set) else set()
            ended.add(index)
            rec.done = ended
            rec.running -= 1
            if rec.running == 0:
                self._end(rec)
            return 1
        n, done, on_node, lid = rec.running, rec.done, self.on_node, rec.id
        for part in rec.parts:  # the launch ends: what still runs of it stops
            node, a, b, grants = part
            memo[node] = None
            on_node[node].discard(lid)
            if done:
                live = rec.live(part)
                k, grants = len(live), tuple([grants[x] for x in live]) if grants else ()
            else:
                k = b - a
            release(node, need, k, grants)
            if parts is not None and k:
                parts.give(scope, node, need, k)
        del self.records[lid]
        return n

    def leave(self, rec: LaunchRecord, node: int) -> None:
        """Nothing of a launch runs on the node any more (its other nodes still run some)."""
        self.on_node[node].discard(rec.id)
        self._memo[node] = None

    def _end(self, rec: LaunchRecord) -> None:
        del self.records[rec.id]
        on_node, memo = self.on_node, self._memo
        for node, _, _, _ in rec.parts:
            on_node[node].discard(rec.id)
            memo[node] = None

    def validate(self) -> None:
        """The ledger's cores in use are those of the running tasks."""
        cores = [0] * len(self.ledger.nodes)
        for rec in self.records.values():
            for part in rec.parts:
                node, _, _, _ = part
                cores[node] += rec.need.cores * len(rec.live(part))
        if cores != self.ledger.used_cores:
            raise LedgerError("ledger and running launches disagree")
