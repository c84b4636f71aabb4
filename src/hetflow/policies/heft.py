"""heft: the set with the longest remaining path first; each task where it finishes earliest, over nodes of
different speed and over the set's variants. A task waits for a busy node when that still finishes it sooner.
hha (`Hha`) is heft with each finish counting the expected cold start of the task's image on the node (core/deploy.py).

Each task goes to the smallest candidate (finish, waits, node, variant): finish = now + run time on a node where it
fits now (waits = 0), else when the node frees enough room, or is done with the tasks that chose to wait for it in
this scheduling pass, plus the run time (waits = 1). Candidates are scanned by variant, then node; a waiting candidate
is not even looked at when nothing runs, or when starting now would not beat the best so far (`_scan`).

That scan is the definition; `place` finds the same answer without rescanning every candidate for every task (it
took 80 s for 10,000 tasks on 40 nodes: docs/benchmarks.md, "heft at scale"). Between two tasks of a set only the
candidates of one node change (the node just given a task, or just reserved), so the candidates live in a heap, each
under a lower bound of its finish (now + run time; for a reserved node, the reservation + run time) until it reaches
the top and is worked out (view.available_at: core/estimate.py remembers its answers). The smallest candidate is the
scan's answer unless the scan skipped it, which needs a waiting candidate whose finish equals now + run time (it would
start now: a launch overran its estimate, or took no time): then the scan itself decides.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from hetflow.core.policy import Placement
from hetflow.core.view import PlacementView, ReadySet
from hetflow.spec.platform import Node
from hetflow.spec.resources import Resources

Candidate = tuple[float, int, int, int]  # (finish, waits, node, variant)
_INF = float("inf")
_MANY = 1 << 30


class Heft:
    name = "heft"
    deployments = False  # whether a finish counts the expected deployment of the task's image (core/deploy.py)

    def __init__(self) -> None:
        self._pass = -1
        self._reserved: dict[int, float] = {}  # node -> when the tasks that chose to wait for it are done

    def priority(self, s: ReadySet, view: PlacementView) -> tuple[float, ...]:
        return (-s.rank, s.seq)

    def place(self, s: ReadySet, view: PlacementView) -> Iterator[Placement]:
        now = view.now
        if view.passes != self._pass:  # reservations last one scheduling pass
            self._pass, self._reserved = view.passes, {}
        reserved = self._reserved
        nodes, cold = view.nodes, view.cold_start if self.deployments else None
        by_node: dict[int, list[tuple[int, float]]] = {}  # node -> (variant, run time there) of the variants it serves
        for variant, v in enumerate(s.variants):
            for i in view.usable_nodes(s, variant):
                d = v.runtime / nodes[i].speed
                by_node.setdefault(i, []).append((variant, d if cold is None else d + cold(s, variant, i)))
        needs = [v.resources for v in s.variants]
        fit_count, available_at = view.fit_count, view.available_at
        heappush, heappop, heapreplace = heapq.heappush, heapq.heappop, heapq.heapreplace
        stamp = dict.fromkeys(by_node, 0)  # a node's heap entries with an older stamp are stale
        ready_at: dict[tuple[int, int], float] = {}  # (node, variant) -> available_at, until a task goes to the node
        # heap entries: (finish or a lower bound of it, waits, node, variant, worked out, stamp, run time)

        def fresh() -> list[tuple[float, int, int, int, bool, int, float]]:
            heap = [(now + d, 0, i, vi, False, stamp[i], d) for i, variants in by_node.items() for vi, d in variants]
            heapq.heapify(heap)
            return heap

        def smallest(idle: bool) -> tuple[float, int, int, int, float] | None:
            """The smallest candidate and its run time (none waits when nothing runs: no event would end a wait)."""
            while heap:
                f, w, i, vi, known, st, d = heap[0]
                if st != stamp[i]:
                    heappop(heap)
                elif known:
                    return f, w, i, vi, d
                elif i not in reserved and fit_count(i, needs[vi], 1):
                    heapreplace(heap, (f, 0, i, vi, True, st, d))  # it fits now: the bound was the finish
                elif idle:
                    heappop(heap)
                else:  # it waits: for room on the node, and for the tasks that wait for the node
                    at = ready_at.get((i, vi))
                    if at is None:
                        at = ready_at[i, vi] = available_at(i, needs[vi])
                    heapreplace(heap, (max(at, reserved.get(i, now)) + d, 1, i, vi, True, st, d))
            return None

        idle = view.idle
        heap = fresh()
        waiting = 0  # tasks of this set that chose to wait for a busy node
        left = s.n_ready  # the engine applies each placement in full before asking for the next
        while left > waiting:
            if view.idle != idle:  # the first launch started: waiting candidates count from now on
                idle = view.idle
                heap = fresh()
            top = smallest(idle)
            if top is None:
                return
            finish, waits, node, variant, dur = top
            if waits and finish == now + dur:  # it would start now: the scan may have skipped it, let it decide
                best = self._scan(s, view)
                assert best is not None  # it saw this candidate, or a smaller one
                finish, waits, node, variant = best
            st = stamp[node] = stamp[node] + 1
            if waits:  # waiting for that node finishes sooner: hold the task, and the node for it
                after = reserved[node] = self._hold(node, view.nodes[node], needs[variant], finish)
                waiting += 1
                for vi, d in by_node[node]:  # every variant waits there now: until `after` at least
                    heappush(heap, (max(now, after) + d, 1, node, vi, False, st, d))
                continue
            k = fit_count(node, needs[variant], left - waiting)
            yield node, variant, k
            left -= k
            for vi, d in by_node[node]:  # the node has less room now: work its candidates out again when needed
                ready_at.pop((node, vi), None)
                heappush(heap, (now + d, 0, node, vi, False, st, d))

    def _hold(self, node: int, nd: Node, need: Resources, finish: float) -> float:
        """A task waits for the node and ends at `finish`: when the next task that waits for it may start (heft: one
        after the other)."""
        return finish

    def _scan(self, s: ReadySet, view: PlacementView) -> Candidate | None:
        """The smallest candidate the way the scan finds it: variants in order, nodes in order, a waiting candidate
        skipped when nothing runs or when starting now would not beat the best so far."""
        now, reserved, nodes = view.now, self._reserved, view.nodes
        best: Candidate | None = None
        for variant, v in enumerate(s.variants):
            need = v.resources
            for i in view.usable_nodes(s, variant):
                dur = v.runtime / nodes[i].speed + (view.cold_start(s, variant, i) if self.deployments else 0.0)
                cand: Candidate
                if i not in reserved and view.fit_count(i, need, 1):
                    cand = (now + dur, 0, i, variant)
                elif view.idle or (best is not None and now + dur >= best[0]):
                    continue  # nothing runs, so no event would end a wait; or it could not beat the best
                else:
                    start = max(view.available_at(i, need), reserved.get(i, now))
                    cand = (start + dur, 1, i, variant)
                if best is None or cand < best:
                    best = cand
        return best


class Hha(Heft):
    """hha, heterogeneity-aware: heft whose finish times count the expected deployment (cold start) of each way to
    run on each node, so a task weighs a fast but cold node against a slower warm one, and the sets not yet started
    move to nodes that join (GPU nodes) as soon as they finish there sooner, cold start included: the engine binds a
    task to a node only when it launches it, and a joining node starts a scheduling pass.

    Tasks that wait for a busy node wait in as many lanes as the empty node holds of them (a node of 6 GPUs: 6 GPU
    tasks at once), not one after the other as heft's estimate has it; else a queue for a few GPU nodes looks so long
    that most intensive tasks stay on the CPU."""

    name = "hha"
    deployments = True

    def __init__(self) -> None:
        super().__init__()
        self._lanes: dict[int, list[float]] = {}  # node -> when each lane's waiting task ends, this pass
        self._lanes_pass = -1

    def _hold(self, node: int, nd: Node, need: Resources, finish: float) -> float:
        if self._lanes_pass != self._pass:
            self._lanes_pass, self._lanes = self._pass, {}
        lanes, n = self._lanes.setdefault(node, []), lanes_of(nd, need)
        if len(lanes) < n:
            heapq.heappush(lanes, finish)
        else:
            heapq.heapreplace(lanes, finish)
        return lanes[0] if len(lanes) >= n else -_INF  # a lane still free: the next starts when the node has room


def lanes_of(nd: Node, need: Resources) -> int:
    """How many tasks of that need the node holds when nothing runs on it (at least 1)."""
    fits = [nd.cores // need.cores if need.cores else _MANY]
    if need.gpu_units:
        fits.append(nd.gpu_units // need.gpu_units)
    if need.memory and nd.memory:
        fits.append(nd.memory // need.memory)
    return max(1, min(fits))
