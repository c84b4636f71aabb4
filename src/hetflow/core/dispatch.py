"""Dispatch: the queue of sets with ready tasks, in priority order, and the scheduling pass that asks the policy
where they go and turns its placements into allocations and launches.

The queue is split into lanes, one per shape (the set's ways to run and its partition), each a heap by the policy's key
(a deque while sets come in key order, as fifo's do); a pass merges the lanes in key order. With a greedy policy (one
that places every ready task that fits now, and only those: fifo, critical-path, best-fit) a set that keeps ready tasks
after its turn proves that nothing of its shape fits until the pass ends (the ledger only shrinks within one), so its
lane is done for the pass, and a lane whose sets need more cores than any node has free is not visited at all: a pass
costs the sets it places plus a turn per lane that may fit, not the whole queue, which matters when thousands of
one-task sets wait.
Any other policy (heft reserves nodes even for sets it cannot place now) gets one lane, visited in full.

A default engine announces one Launch per node and ready range; a grouped one (the simulator's) one LaunchGroup per
set, pass, variant and node speed, whose tasks all end at the same instant.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterator
from operator import index
from typing import Any

from hetflow.core.estimate import Availability
from hetflow.core.instructions import Instruction, Launch, LaunchGroup, launch
from hetflow.core.launches import Launches, LaunchRecord
from hetflow.core.ledger import MANY, Ledger
from hetflow.core.partitions import Partitions
from hetflow.core.placement import LedgerView, NodeFilter
from hetflow.core.policy import Policy
from hetflow.core.sets import NO_RANGES, ONE_READY, SetState
from hetflow.core.staging import Staging
from hetflow.core.states import TaskState
from hetflow.errors import EngineError
from hetflow.spec.resources import GpuGrant

Entry = tuple[Any, int, SetState]  # (key, tick, set): ties in key go in the order the sets were queued
# A lane: a deque while its sets came in key order (fifo's release order: a burst of one-task calls queues thousands,
# and a heap would cost log n comparisons of keys per set), else a heap. Either way lane[0] is its first set.
Lane = list[Entry] | deque[Entry]


def first(item: tuple[Lane, object]) -> Entry:
    """The first set of a (lane, key) pair, by which lanes compare."""
    return item[0][0]


NO_GROUPS: dict[tuple[int, float, float], LaunchRecord] = {}  # a default engine's launches in a pass: never written
READY_AT, RUNNING_AT = (
    int(TaskState.READY),
    int(TaskState.RUNNING),
)  # indexes into a set's counts, as plain ints (hot loops)


class Dispatcher:
    """The ready queue and the scheduling pass; one placement view per partition."""

    def __init__(
        self,
        ledger: Ledger,
        launches: Launches,
        estimate: Availability,
        policy: Policy,
        grouped: bool,
        staging: Staging | None = None,
    ) -> None:
        self.ledger = ledger
        self.launches = launches
        self.policy = policy
        self.grouped = grouped
        self.now = 0.0
        self.passes = 0  # scheduling passes so far
        self.queued = 0  # sets in the queue
        # with sites, sets of one shape may differ in where their inputs are: no lane is done for a pass early
        self._greedy = bool(getattr(policy, "greedy", False)) and staging is None
        self._staging = staging
        self._not_before: Callable[[SetState, LedgerView], float] | None = getattr(policy, "not_before", None)
        self.hold: Callable[[SetState, float], None] | None = None  # the engine's: keep a set out until a time
        self._lanes: dict[tuple[int, int] | None, Lane] = {}  # (shape, partition) -> its queued sets; None: one lane
        self._tick = 0
        self._needing_nothing = 0  # queued sets with a way to run that takes no core and no GPU
        self._estimate = estimate
        self._filter = NodeFilter(ledger)
        self._parts: Partitions | None = None
        self._views: list[LedgerView] = [LedgerView(ledger, estimate, self._filter, staging=staging)]

    def use_partitions(self, partitions: Partitions) -> None:
        """From now on every set is placed within its partition (the default one unless it names one)."""
        self._parts = partitions
        self._views = []

    def view(self, st: SetState) -> LedgerView:
        """The placement view of the set's partition."""
        parts, views = self._parts, self._views
        if parts is None:
            return views[0]
        while len(views) <= st.scope:  # a partition added by a resize
            v = LedgerView(self.ledger, self._estimate, self._filter, parts, len(views), self._staging)
            v.now, v.passes = self.now, self.passes
            views.append(v)
        return views[st.scope]

    def set_now(self, now: float) -> None:
        self.now = self._estimate.now = now
        for v in self._views:
            v.now = now

    def released(self, st: SetState) -> None:
        """A set was released with ready tasks: the policy orders it, and it joins the queue, or waits out the time
        before which its policy says it may not start (holding nothing)."""
        view = self._views[0] if self._parts is None else self.view(st)
        policy: Any = self.policy  # its key as it gives it (compiled, a declared tuple would be checked as one)
        st.key = policy.priority(st, view)
        self._estimate.deployments.note(st.variants)
        if self._not_before is not None and self.hold is not None:
            t = self._not_before(st, view)
            if t > self.now:
                self.hold(st, t)
                return
        self.queue(st)

    def queue(self, st: SetState) -> None:
        """The set has ready tasks (again): put it in the queue, by its key, unless it is there."""
        if st.in_ready:
            return
        st.in_ready = True
        self._needing_nothing += st.needs_nothing
        self.queued += 1
        shape = (st.shape, st.scope) if self._greedy else None
        lane = self._lanes.get(shape)
        self._tick += 1
        entry = (st.key, self._tick, st)
        if lane is None:
            self._lanes[shape] = deque((entry,))
        elif isinstance(lane, deque):
            if lane[-1] < entry:  # in order: it goes last
                lane.append(entry)
            else:  # out of order: the lane becomes a heap (a sorted list is one)
                heap = self._lanes[shape] = list(lane)
                heapq.heappush(heap, entry)
        else:
            heapq.heappush(lane, entry)

    def schedule(self, out: list[Instruction]) -> None:
        """One scheduling pass over the queue, in priority order: again and again the lane whose first set has the
        smallest key (lists compare by their first entry, whose ticks differ) gives that set its turn."""
        if not self.queued:
            return
        self.passes += 1
        for v in self._views:
            v.passes = self.passes
        led, ready_state, greedy = self.ledger, READY_AT, self._greedy
        heappop = heapq.heappop
        lanes = self._lanes
        # the most free cores of a node, to pass over lanes that cannot fit: worth knowing with several lanes only
        # (a lane that fits nowhere places nothing anyway, and a greedy pass then drops it all the same)
        bound = greedy and len(lanes) > 1
        free = led.free_cores
        most, roomiest = self._most_free() if bound else (MANY, -1)
        # the lanes still visited, with their keys: the one whose first set comes first takes its turn
        live = [(lane, key) for key, lane in lanes.items() if lane[0][2].least_cores <= most]
        kept: list[Entry] = []  # sets of a non-greedy lane that keep ready tasks, visited already
        while live:
            if not (led.total_free_cores or led.total_free_gpu or self._needing_nothing):
                break  # nothing is free and every waiting set needs something: stop the pass
            item = min(live, key=first) if len(live) > 1 else live[0]
            lane = item[0]
            entry = lane[0]
            st = entry[2]
            need0 = st.variants[0].resources
            placed = False
            if len(st.variants) > 1 or (need0.cores <= led.total_free_cores and need0.gpu_units <= led.total_free_gpu):
                ran = st.counts[ready_state]
                self._place(st, out)
                placed = st.counts[ready_state] != ran
            if st.counts[ready_state]:
                if greedy:  # nothing of its shape fits until the pass ends
                    live.remove(item)
                    continue
                kept.append(entry)
            else:
                st.in_ready = False
                self._needing_nothing -= st.needs_nothing
                self.queued -= 1
            if isinstance(lane, deque):
                lane.popleft()
            else:
                heappop(lane)
            if not lane:
                live.remove(item)
                del lanes[item[1]]
            if placed and bound and roomiest >= 0 and free[roomiest] != most:  # else the most free is as it was
                most, roomiest = self._most_free()
                live = [item for item in live if item[0][0][2].least_cores <= most]
        if kept:
            heap = lanes[None] = [*lanes.get(None, ()), *kept]
            heapq.heapify(heap)

    def _most_free(self) -> tuple[int, int]:
        """The most free cores of a node, and the first node with that many (-1: no node has a free core). Gone nodes
        have none free, so that node is a live one. Over every node's counter when most nodes have a free core (one
        call, no per-node lookup), else over the nodes with a free core only (few while the cluster is busy)."""
        led = self.ledger
        free, open_nodes = led.free_cores, led.open_nodes
        dense = 2 * len(open_nodes) > len(free)
        most = max(free) if dense else max(map(free.__getitem__, open_nodes), default=0)
        return most, free.index(most) if most else -1

    def _place(self, st: SetState, out: list[Instruction]) -> None:
        """Take the policy's placements of one set, one at a time (the policy sees each one's effect): allocate
        each, and record the launches."""
        led, grouped, parts = self.ledger, self.grouped, self._parts
        nodes, allocate, on_node, memo = led.nodes, led.allocate, self.launches.on_node, self._estimate.memo
        counts, ready, variants = st.counts, st.ready, st.variants
        deploy = self._estimate.deployments if self._estimate.deployments.declared else None
        delay, now = 0.0, self.now
        groups: dict[tuple[int, float, float], LaunchRecord] = {} if grouped else NO_GROUPS
        view = self._views[0] if parts is None else self.view(st)
        # a policy's placements as Python would take them (numpy integers, lists): this module runs compiled, where a
        # tuple of three ints is checked as such
        policy: Any = self.policy
        placements: Iterator[Any] = policy.place(st, view)
        for placed in placements:
            node, variant, n = index(placed[0]), index(placed[1]), index(placed[2])
            if n <= 0:
                raise EngineError(f"policy {self.policy.name} placed no task of {st.name}")
            memo[node] = None
            if self._staging is not None and self._staging.arrival(st.sid, node, self.now) > self.now:
                raise EngineError(
                    f"policy {self.policy.name} placed {st.name} on {nodes[node].name} before its inputs arrive there"
                )
            v = variants[variant]
            need = v.resources
            if deploy is not None:  # its image deployed on the node from now (core/deploy.py)
                delay = deploy.delay(st.name, v, node, now)
                deploy.use(st.name, v, node, now, delay, now + delay + v.runtime / nodes[node].speed)
            speed = nodes[node].speed
            while n > 0 and ready:
                rng = ready[0]
                a = rng[0]
                b = a + n
                if b > rng[1]:
                    b = rng[1]
                k = b - a
                if parts is not None and parts.fit(st.scope, node, need, k) < k:  # before anything is taken
                    raise EngineError(
                        f"policy {self.policy.name} placed {k} tasks of {st.name} on {nodes[node].name}, beyond "
                        f"what partition {parts.label(st.scope)} holds there"
                    )
                grants = allocate(node, need, k)  # raises, taking nothing, when the node cannot hold them
                if b != rng[1]:
                    rng[0] = b
                elif ready is ONE_READY:  # shared (core/sets.py): the set's one task is placed, nothing is left
                    ready = NO_RANGES
                else:
                    ready.popleft()
                n -= k
                if parts is not None:
                    parts.take(st.scope, node, need, k)
                rec = groups.get((variant, speed, delay)) if grouped else None
                if rec is None:  # a new launch: a default engine announces it at once, a grouped one after the set
                    rec = self.launches.open(st, need, now + delay + v.runtime / speed)
                    if grouped:
                        groups[variant, speed, delay] = rec
                    else:
                        out.append(self._launch(rec, node, variant, a, b, grants, delay))
                rec.parts.append((node, a, b, grants))
                if self._staging is not None:
                    self._staging.placed(st, node)
                rec.running += k
                on_node[node].add(rec.id)
                counts[READY_AT] -= k  # READY -> RUNNING, always a legal transition
                counts[RUNNING_AT] += k
            if not counts[READY_AT]:
                break
        if not ready:
            st.ready = NO_RANGES  # its deque goes
        for (variant, speed, wait), rec in groups.items():
            need, dur = rec.need, variants[variant].runtime / speed
            out.append(
                LaunchGroup(
                    rec.id, st.name, variant, need.cores, need.gpu_units, need.memory, dur, tuple(rec.parts), wait
                )
            )

    def _launch(
        self, rec: LaunchRecord, node: int, variant: int, a: int, b: int, grants: tuple[GpuGrant, ...], delay: float
    ) -> Launch:
        """How a default engine announces a new launch record (delay: s its image's deployment waits first)."""
        st, nd = rec.set, self.ledger.nodes[node]
        need, dur = rec.need, st.variants[variant].runtime / nd.speed
        return launch(
            rec.id, st.name, a, b, nd.name, variant, need.cores, need.gpu_units, need.memory, dur, grants, delay
        )
