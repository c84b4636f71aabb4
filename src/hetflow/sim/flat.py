"""The flat kernel: fifo on a workflow of one-task sets, in task mode, on flat arrays indexed by task and node id.

The engine pays tens of microseconds per task set (its set state, ready ranges, lanes of entries, launch records,
instructions); a converted trace is nothing but one-task sets, a million of them. This kernel runs the same schedule
on lists of ints and floats: children in CSR form; each node's free cores (and memory) as the leaves of a max tree,
so that first fit is a walk down it; the ready tasks in FIFO lanes, one per need (cores, memory), linked through an
int array, with the lanes (sorted by cores) the leaves of a min tree over their first task's release order; the
events a binary heap of task ids. It imports nothing but the standard library and is typed throughout, so that mypyc
compiles it to C; interpreted, it gives the same schedule, slower.

What it reproduces (sim/flatrun.py says which runs may use it, and tests hold it to the engine): after the tasks that
end at one instant (an event pop, as the simulator's loop does) give their resources back, the tasks whose parents
have all ended are released in id order; then one pass takes the ready tasks in release order and starts each on
the first node (by index) with enough free cores and memory; a task that fits nowhere waits for a later pass. Within
a pass nodes only fill up, so the next task it starts is the first released among those that fit now: the first
task of the lanes needing no more cores than the roomiest node has free (a lane whose first task finds no node for
its memory is set aside until the pass ends). A task ends at its start + run time / its node's speed; tasks ending
at the same instant end in one step, those that end at the instant they start (run time 0) in the next.
"""

from __future__ import annotations

from typing import Final

NONE: Final = 1 << 60  # the key of a lane with no ready task (keys are release order x lanes + lane, far below)
MAX_TABLE: Final = 1 << 16  # the most free cores of a node up to which lanes_within is a table


class FlatRun:
    """One simulation on flat arrays. advance() runs it a number of task ends at a time (the caller may show progress
    and be interrupted in between); start, end and node then hold each task's schedule, and order the tasks in the
    order they ended (ties in time: in the order they started), as the simulator records its intervals.

    Inputs, by task id: cores, memory (bytes; all zero when no task asks any: memory is then not tracked), run time,
    and parents (their ids, each once: Workflow.parent_ids). By node id: cores, memory and
    speed (memory counts only when some task asks for memory; a node that does not track it gives a number no sum
    of tasks' memory reaches, as the ledger does)."""

    def __init__(
        self,
        cores: list[int],
        memory: list[int],
        runtime: list[float],
        parents: list[tuple[int, ...]],
        node_cores: list[int],
        node_memory: list[int],
        speed: list[float],
    ) -> None:
        n = len(cores)
        self.n = n
        self.cores = cores
        self.memory = memory
        self.runtime = runtime
        self.speed = speed
        self.track_memory = False
        for m in memory:
            if m:
                self.track_memory = True
                break
        self.left = [0] * n  # parents not yet ended
        self.kid_start = [0] * (n + 1)
        self.kids: list[int] = []
        children(parents, self.left, self.kid_start, self.kids)
        # lanes, sorted by cores (then memory): the lanes [0, k) are those needing at most lane_cores[k - 1] cores
        self.lane = [0] * n
        self.lane_cores: list[int] = []
        self.lane_memory: list[int] = []
        lanes(cores, memory, self.track_memory, self.lane, self.lane_cores, self.lane_memory)
        n_lanes = len(self.lane_cores)
        self.n_lanes = n_lanes
        self.head = [-1] * n_lanes  # each lane's first ready task (-1: none), then next_in_lane, in release order
        self.tail = [-1] * n_lanes
        self.next_in_lane = [-1] * n
        lane_size = 1
        while lane_size < n_lanes:
            lane_size *= 2
        self.lane_size = lane_size
        self.lane_tree = [NONE] * (2 * lane_size)  # min over lanes of release order x n_lanes + lane
        self.set_aside: list[int] = []  # lanes whose first task found no node in this pass
        # how many lanes need at most c cores, for each c a node may have free (up to a bound: else looked up)
        widest = 0
        for c in node_cores:
            widest = max2(widest, c)
        self.within = [lanes_within(self.lane_cores, c) for c in range(widest + 1)] if widest <= MAX_TABLE else []
        size = 1
        while size < len(node_cores):
            size *= 2
        self.size = size
        # max trees over the nodes' free cores and free memory: leaves at size + node, -1 past the last node
        self.tree_cores: list[int] = [-1] * (2 * size)
        self.tree_memory: list[int] = [-1] * (2 * size)
        for i in range(len(node_cores)):
            self.tree_cores[size + i] = node_cores[i]
            self.tree_memory[size + i] = node_memory[i]
        for v in range(size - 1, 0, -1):
            self.tree_cores[v] = max2(self.tree_cores[2 * v], self.tree_cores[2 * v + 1])
            self.tree_memory[v] = max2(self.tree_memory[2 * v], self.tree_memory[2 * v + 1])
        self.start: list[float] = [0.0] * n
        self.end: list[float] = [0.0] * n
        self.node: list[int] = [-1] * n
        self.order: list[int] = []  # tasks in the order they ended
        self.started = [0] * n  # the order tasks started in (the simulator's launch id): ties between equal ends
        self.seq = [0] * n  # release order
        self.events: list[int] = []  # heap of running tasks by (end, started)
        self.released: list[int] = []  # tasks whose parents all ended in this step
        self.now = 0.0
        self.steps = 0  # the simulator's engine steps: the first, then one per instant at which tasks end
        self.done = 0  # tasks ended
        self.launched = 0
        self.n_released = 0
        self.begun = False

    def tasks_done(self) -> int:
        return self.done

    # ---- the loop --------------------------------------------------------------------------------------------------
    def advance(self, budget: int) -> bool:
        """Run steps until at least `budget` tasks ended in this call, or nothing runs; True when nothing runs (the
        run is over: every task ended, or those left can never start)."""
        if not self.begun:
            self.begun = True
            left, released = self.left, self.released
            for t in range(self.n):
                if left[t] == 0:
                    released.append(t)
            self.release()
            self.schedule()
            self.steps += 1
        events, end = self.events, self.end
        ended = 0
        while events and ended < budget:
            now = end[events[0]]
            self.now = now
            while events and end[events[0]] == now:
                ended += 1
                self.finish(self.pop_event())
            self.release()
            self.schedule()
            self.steps += 1
        return not events

    def finish(self, t: int) -> None:
        """Task t ends now: its cores (and memory) go back to its node, and its children lose a parent."""
        self.order.append(t)
        self.done += 1
        i = self.node[t]
        size = self.size
        tree = self.tree_cores
        raise_leaf(tree, size, i, tree[size + i] + self.cores[t])
        if self.track_memory:
            tree = self.tree_memory
            raise_leaf(tree, size, i, tree[size + i] + self.memory[t])
        left, kids, released = self.left, self.kids, self.released
        for k in range(self.kid_start[t], self.kid_start[t + 1]):
            child = kids[k]
            n = left[child] - 1  # (x[i] -= 1 would be a generic Python operation once compiled)
            left[child] = n
            if n == 0:
                released.append(child)

    def release(self) -> None:
        """The tasks released in this step join their lanes, in id order (the engine's release order)."""
        released = self.released
        if not released:
            return
        if len(released) > 1:
            released.sort()
        lane, head, tail, nxt, seq = self.lane, self.head, self.tail, self.next_in_lane, self.seq
        tree, size, n_lanes = self.lane_tree, self.lane_size, self.n_lanes
        for t in released:
            q = self.n_released
            seq[t] = q
            self.n_released = q + 1
            s = lane[t]
            last = tail[s]
            if last < 0:
                head[s] = t
                lower_min(tree, size, s, q * n_lanes + s)
            else:
                nxt[last] = t
            tail[s] = t
        released.clear()

    def schedule(self) -> None:
        """One pass: again and again, the first released of the ready tasks that may fit starts on the first node
        it fits on, until none may; a lane whose first task fits nowhere is set aside until the pass ends."""
        tree, size, n_lanes = self.lane_tree, self.lane_size, self.n_lanes
        lane_cores, head, nxt, seq = self.lane_cores, self.head, self.next_in_lane, self.seq
        tree_cores, tree_memory, track = self.tree_cores, self.tree_memory, self.track_memory
        aside, within = self.set_aside, self.within
        while True:
            most = tree_cores[1]
            if most < 0:  # no node at all
                break
            k = within[most] if within else lanes_within(lane_cores, most)
            if k == 0:
                break
            key = prefix_min(tree, size, k)
            if key >= NONE:
                break
            s = key % n_lanes
            t = head[s]
            if track:
                i = first_fit(tree_cores, tree_memory, self.size, lane_cores[s], self.lane_memory[s])
                if i < 0:
                    aside.append(s)
                    raise_min(tree, size, s, NONE)
                    continue
            else:
                i = first_fit_cores(tree_cores, self.size, lane_cores[s])
            self.start_task(t, i)
            nt = nxt[t]
            head[s] = nt
            if nt < 0:
                self.tail[s] = -1
                raise_min(tree, size, s, NONE)
            else:
                raise_min(tree, size, s, seq[nt] * n_lanes + s)
        if aside:
            for s in aside:
                lower_min(tree, size, s, seq[head[s]] * n_lanes + s)
            aside.clear()

    def start_task(self, t: int, i: int) -> None:
        """Task t starts now on node i."""
        size = self.size
        tree = self.tree_cores
        lower_leaf(tree, size, i, tree[size + i] - self.cores[t])
        if self.track_memory:
            tree = self.tree_memory
            lower_leaf(tree, size, i, tree[size + i] - self.memory[t])
        now = self.now
        e = now + self.runtime[t] / self.speed[i]
        self.start[t] = now
        self.end[t] = e
        self.node[t] = i
        o = self.launched
        self.started[t] = o
        self.launched = o + 1
        # onto the event heap, by (end, started): it started last, so it goes above an equal end
        events, end = self.events, self.end
        k = len(events)
        events.append(t)
        while k > 0:
            p = (k - 1) >> 1
            if end[events[p]] <= e:
                break
            events[k] = events[p]
            k = p
        events[k] = t

    def pop_event(self) -> int:
        """The running task that ends first (of equal ends, the one started first)."""
        events, end, started = self.events, self.end, self.started
        top = events[0]
        last = events.pop()
        n = len(events)
        if n:
            e = end[last]
            o = started[last]
            k = 0
            while True:
                c = 2 * k + 1
                if c >= n:
                    break
                tc = events[c]
                ec = end[tc]
                if c + 1 < n:
                    tr = events[c + 1]
                    er = end[tr]
                    if er < ec or (er == ec and started[tr] < started[tc]):
                        c += 1
                        tc = tr
                        ec = er
                if ec > e or (ec == e and started[tc] > o):
                    break
                events[k] = tc
                k = c
            events[k] = last
        return top


# ---- the inputs as the loop wants them -------------------------------------------------------------------------------
def children(parents: list[tuple[int, ...]], left: list[int], kid_start: list[int], kids: list[int]) -> None:
    """Each task's parents counted into left, and its children into kids, in CSR form: the children of t are
    kids[kid_start[t]:kid_start[t + 1]], in id order."""
    n = len(parents)
    for t in range(n):
        ps = parents[t]
        left[t] = len(ps)
        for p in ps:
            kid_start[p + 1] = kid_start[p + 1] + 1  # (x[i] += 1 would be a generic Python operation once compiled)
    total = 0
    for t in range(n):
        total += kid_start[t + 1]
        kid_start[t + 1] = total
    fill = kid_start[:n]
    kids.extend([0] * total)
    for t in range(n):
        for p in parents[t]:
            f = fill[p]
            kids[f] = t
            fill[p] = f + 1


def core_seconds(cores: list[int], start: list[float], end: list[float], order: list[int]) -> list[float]:
    """Each task's cores x its time running, in the order tasks ended (utilization adds them up in that order)."""
    return [cores[t] * (end[t] - start[t]) for t in order]


def lanes(
    cores: list[int], memory: list[int], track: bool, lane: list[int], lane_cores: list[int], lane_memory: list[int]
) -> None:
    """A lane per distinct need (cores, and memory when tracked), numbered in order of cores, then memory."""
    if not track:
        by_cores: dict[int, int] = {}
        for c in cores:
            by_cores[c] = 0
        for c in sorted(by_cores):
            by_cores[c] = len(lane_cores)
            lane_cores.append(c)
            lane_memory.append(0)
        for t in range(len(cores)):
            lane[t] = by_cores[cores[t]]
        return
    by_need: dict[tuple[int, int], int] = {}
    for t in range(len(cores)):
        by_need[(cores[t], memory[t])] = 0
    for need in sorted(by_need):
        by_need[need] = len(lane_cores)
        lane_cores.append(need[0])
        lane_memory.append(need[1])
    for t in range(len(cores)):
        lane[t] = by_need[(cores[t], memory[t])]


# ---- the lanes' min tree -----------------------------------------------------------------------------------------
def lanes_within(lane_cores: list[int], most: int) -> int:
    """How many lanes need at most `most` cores (lane_cores is sorted)."""
    lo = 0
    hi = len(lane_cores)
    while lo < hi:
        mid = (lo + hi) >> 1
        if lane_cores[mid] <= most:
            lo = mid + 1
        else:
            hi = mid
    return lo


def prefix_min(tree: list[int], size: int, k: int) -> int:
    """The least key of the lanes [0, k)."""
    best = NONE
    lo = size
    hi = size + k
    while lo < hi:
        if lo & 1:
            if tree[lo] < best:
                best = tree[lo]
            lo += 1
        if hi & 1:
            hi -= 1
            if tree[hi] < best:
                best = tree[hi]
        lo >>= 1
        hi >>= 1
    return best


def lower_min(tree: list[int], size: int, s: int, key: int) -> None:
    """Lane s's key drops to key: the minima above it drop to it where they were higher."""
    v = size + s
    tree[v] = key
    v >>= 1
    while v and tree[v] > key:
        tree[v] = key
        v >>= 1


def raise_min(tree: list[int], size: int, s: int, key: int) -> None:
    """Lane s's key rises to key: the minima above it rise where it was theirs."""
    v = size + s
    tree[v] = key
    v >>= 1
    while v:
        a = tree[2 * v]
        b = tree[2 * v + 1]
        low = a if a <= b else b
        if tree[v] == low:
            break
        tree[v] = low
        v >>= 1


# ---- first fit on max trees over the nodes ---------------------------------------------------------------------------
def max2(a: int, b: int) -> int:
    return a if a >= b else b


def first_fit_cores(tree: list[int], size: int, c: int) -> int:
    """The first node (by index) with at least c free cores; -1: none."""
    if tree[1] < c:
        return -1
    v = 1
    while v < size:
        v = 2 * v
        if tree[v] < c:
            v += 1
    return v - size


def first_fit(cores: list[int], memory: list[int], size: int, c: int, m: int) -> int:
    """The first node (by index) with at least c free cores and m free memory; -1: none. A subtree whose most free
    cores or most free memory falls short is passed over; one where each suffices, but on different nodes, is left
    for the next subtree to its right."""
    if cores[1] < c or memory[1] < m:
        return -1
    v = 1
    while v < size:
        v = 2 * v
        if cores[v] >= c and memory[v] >= m:
            continue
        v += 1
        if cores[v] >= c and memory[v] >= m:
            continue
        while True:  # neither child holds it: up to the nearest subtree to the right not yet looked into
            v >>= 1
            if v == 1:
                return -1
            if v % 2 == 0 and cores[v + 1] >= c and memory[v + 1] >= m:
                v += 1
                break
    return v - size


def lower_leaf(tree: list[int], size: int, i: int, value: int) -> None:
    """Node i's leaf drops to value: the maxima above it drop where it was theirs."""
    v = size + i
    tree[v] = value
    v >>= 1
    while v:
        a = tree[2 * v]
        b = tree[2 * v + 1]
        top = a if a >= b else b
        if tree[v] == top:
            break
        tree[v] = top
        v >>= 1


def raise_leaf(tree: list[int], size: int, i: int, value: int) -> None:
    """Node i's leaf rises to value: the maxima above it rise to it where they were lower."""
    v = size + i
    tree[v] = value
    v >>= 1
    while v and tree[v] < value:
        tree[v] = value
        v >>= 1
