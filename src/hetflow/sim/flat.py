"""The flat kernel: fifo on a workflow of one-task sets, in task mode, on flat arrays indexed by task and node id.

The engine pays tens of microseconds per task set (its set state, ready ranges, lanes of entries, launch records,
instructions); a converted trace is nothing but one-task sets, a million of them. This kernel runs the same schedule
on lists of ints and floats: children in CSR form; each node's free cores (and memory) as the leaves of a max tree,
so that first fit is a walk down it; the ready tasks in FIFO lanes, one per need (cores, memory), linked through an
int array, with the lanes (sorted by cores) the leaves of a min tree over their first task's release order; the
events a binary heap of task ids. Every array is a librt vec of i64 or float (mypyc's unboxed vectors: reading or
writing one allocates no int or float object, where a list would box each); it is typed throughout, so that mypyc
compiles it to C, and interpreted it gives the same schedule, slower.

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

from librt.vecs import append, pop, vec
from mypy_extensions import i64

NONE: Final[i64] = 1 << 60  # the key of a lane with no ready task (keys are release order x lanes + lane, far below)
MAX_TABLE: Final[i64] = 1 << 16  # the most free cores of a node up to which lanes_within is a table


def zeros(n: i64) -> vec[i64]:
    """n zeros."""
    out = vec[i64](capacity=n)
    for _ in range(n):
        out = append(out, 0)
    return out


def filled(n: i64, value: i64) -> vec[i64]:
    """n times value."""
    out = vec[i64](capacity=n)
    for _ in range(n):
        out = append(out, value)
    return out


def floats(n: i64) -> vec[float]:
    """n zeros, as floats."""
    out = vec[float](capacity=n)
    for _ in range(n):
        out = append(out, 0.0)
    return out


class FlatRun:
    """One simulation on flat arrays. advance() runs it a number of task ends at a time (the caller may show progress
    and be interrupted in between); then start, end, node and order (lists: results() makes them) hold each task's
    schedule and the tasks in the order they ended (ties in time: in the order they started), as the simulator
    records its intervals.

    Inputs, by task id: cores, memory (bytes; all zero when no task asks any: memory is then not tracked), run time,
    and parents (their ids, each once: Workflow.parent_ids). By node id: cores, memory and speed (memory counts only
    when some task asks for memory; a node that does not track it gives a number no sum of tasks' memory reaches, as
    the ledger does). Every amount fits in 62 bits (the gate declines others)."""

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
        n: i64 = len(cores)
        self.n = n
        self.cores = vec[i64](cores)
        self.memory = vec[i64](memory)
        self.runtime = vec[float](runtime)
        self.speed = vec[float](speed)
        self.track_memory = False
        for m in memory:
            if m:
                self.track_memory = True
                break
        self.left = zeros(n)  # parents not yet ended
        self.kid_start = zeros(n + 1)
        self.kids = children(parents, self.left, self.kid_start)
        # lanes, sorted by cores (then memory): the lanes [0, k) are those needing at most lane_cores[k - 1] cores
        self.lane = zeros(n)
        self.lane_cores = vec[i64]()
        self.lane_memory = vec[i64]()
        self.lane_cores, self.lane_memory = lanes(self.cores, self.memory, self.track_memory, self.lane)
        n_lanes: i64 = len(self.lane_cores)
        self.n_lanes = n_lanes
        self.head = filled(n_lanes, -1)  # each lane's first ready task (-1: none), then next_in_lane, in release order
        self.tail = filled(n_lanes, -1)
        self.next_in_lane = filled(n, -1)
        lane_size: i64 = 1
        while lane_size < n_lanes:
            lane_size *= 2
        self.lane_size = lane_size
        self.lane_tree = filled(2 * lane_size, NONE)  # min over lanes of release order x n_lanes + lane
        self.set_aside = vec[i64]()  # lanes whose first task found no node in this pass
        # how many lanes need at most c cores, for each c a node may have free (up to a bound: else looked up)
        widest: i64 = 0
        for c in node_cores:
            widest = max2(widest, c)
        self.within = vec[i64]()
        if widest <= MAX_TABLE:
            for c in range(widest + 1):
                self.within = append(self.within, lanes_within(self.lane_cores, c))
        size: i64 = 1
        while size < len(node_cores):
            size *= 2
        self.size = size
        # max trees over the nodes' free cores and free memory: leaves at size + node, -1 past the last node
        self.tree_cores = filled(2 * size, -1)
        self.tree_memory = filled(2 * size, -1)
        for i in range(len(node_cores)):
            self.tree_cores[size + i] = node_cores[i]
            self.tree_memory[size + i] = node_memory[i]
        v: i64 = size - 1
        while v > 0:
            self.tree_cores[v] = max2(self.tree_cores[2 * v], self.tree_cores[2 * v + 1])
            self.tree_memory[v] = max2(self.tree_memory[2 * v], self.tree_memory[2 * v + 1])
            v -= 1
        self.start_at = floats(n)
        self.end_at = floats(n)
        self.node_of = filled(n, -1)
        self.ended = vec[i64](capacity=n)  # tasks in the order they ended
        self.started = zeros(n)  # the order tasks started in (the simulator's launch id): ties between equal ends
        self.seq = zeros(n)  # release order
        self.events = vec[i64]()  # heap of running tasks by (end, started)
        self.released: list[int] = []  # tasks whose parents all ended in this step (a list: sorted in C)
        self.now = 0.0
        self.steps = 0  # the simulator's engine steps: the first, then one per instant at which tasks end
        self.done = 0  # tasks ended
        self.launched: i64 = 0
        self.n_released: i64 = 0
        self.begun = False

    def tasks_done(self) -> int:
        return self.done

    def results(self) -> tuple[list[float], list[float], list[int], list[int]]:
        """(start, end, node, order) as lists: what the result keeps (picklable, read from Python)."""
        return list(self.start_at), list(self.end_at), list(self.node_of), list(self.ended)

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
        ended = 0
        while len(self.events) > 0 and ended < budget:
            now = self.end_at[self.events[0]]
            self.now = now
            while len(self.events) > 0 and self.end_at[self.events[0]] == now:
                ended += 1
                self.finish(self.pop_event())
            self.release()
            self.schedule()
            self.steps += 1
        return len(self.events) == 0

    def finish(self, t: i64) -> None:
        """Task t ends now: its cores (and memory) go back to its node, and its children lose a parent."""
        self.ended = append(self.ended, t)
        self.done += 1
        i = self.node_of[t]
        size = self.size
        tree = self.tree_cores
        raise_leaf(tree, size, i, tree[size + i] + self.cores[t])
        if self.track_memory:
            tree = self.tree_memory
            raise_leaf(tree, size, i, tree[size + i] + self.memory[t])
        left, kids, released = self.left, self.kids, self.released
        for k in range(self.kid_start[t], self.kid_start[t + 1]):
            child = kids[k]
            n = left[child] - 1
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
        for task in released:
            t: i64 = task
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
        within = self.within
        tabled = len(within) > 0
        while True:
            most = tree_cores[1]
            if most < 0:  # no node at all
                break
            k = within[most] if tabled else lanes_within(lane_cores, most)
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
                    self.set_aside = append(self.set_aside, s)
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
        aside = self.set_aside
        if len(aside) > 0:
            for s in aside:
                lower_min(tree, size, s, seq[head[s]] * n_lanes + s)
            self.set_aside = vec[i64]()

    def start_task(self, t: i64, i: i64) -> None:
        """Task t starts now on node i."""
        size = self.size
        tree = self.tree_cores
        lower_leaf(tree, size, i, tree[size + i] - self.cores[t])
        if self.track_memory:
            tree = self.tree_memory
            lower_leaf(tree, size, i, tree[size + i] - self.memory[t])
        now = self.now
        e = now + self.runtime[t] / self.speed[i]
        self.start_at[t] = now
        end = self.end_at
        end[t] = e
        self.node_of[t] = i
        o = self.launched
        self.started[t] = o
        self.launched = o + 1
        # onto the event heap, by (end, started): it started last, so it goes above an equal end
        events = append(self.events, t)
        k: i64 = len(events) - 1
        while k > 0:
            p = (k - 1) >> 1
            if end[events[p]] <= e:
                break
            events[k] = events[p]
            k = p
        events[k] = t
        self.events = events

    def pop_event(self) -> i64:
        """The running task that ends first (of equal ends, the one started first)."""
        end, started = self.end_at, self.started
        top = self.events[0]
        events, last = pop(self.events)
        n: i64 = len(events)
        if n > 0:
            e = end[last]
            o = started[last]
            k: i64 = 0
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
        self.events = events
        return top


# ---- the inputs as the loop wants them -------------------------------------------------------------------------------
def children(parents: list[tuple[int, ...]], left: vec[i64], kid_start: vec[i64]) -> vec[i64]:
    """Each task's parents counted into left, and its children, in CSR form: the children of t are
    kids[kid_start[t]:kid_start[t + 1]], in id order."""
    n: i64 = len(parents)
    for t in range(n):
        ps = parents[t]
        left[t] = len(ps)
        for p in ps:
            kid_start[p + 1] += 1
    total: i64 = 0
    for t in range(n):
        total += kid_start[t + 1]
        kid_start[t + 1] = total
    fill = zeros(n)
    for t in range(n):
        fill[t] = kid_start[t]
    kids = zeros(total)
    for t in range(n):
        for p in parents[t]:
            f = fill[p]
            kids[f] = t
            fill[p] = f + 1
    return kids


def core_seconds(cores: list[int], start: list[float], end: list[float], order: list[int]) -> list[float]:
    """Each task's cores x its time running, in the order tasks ended (utilization adds them up in that order)."""
    return [cores[t] * (end[t] - start[t]) for t in order]


def lanes(cores: vec[i64], memory: vec[i64], track: bool, lane: vec[i64]) -> tuple[vec[i64], vec[i64]]:
    """A lane per distinct need (cores, and memory when tracked), numbered in order of cores, then memory: each
    task's lane, and each lane's cores and memory."""
    lane_cores = vec[i64]()
    lane_memory = vec[i64]()
    n: i64 = len(cores)
    if not track:
        by_cores: dict[int, int] = {}
        for t in range(n):
            by_cores[cores[t]] = 0
        for c in sorted(by_cores):
            by_cores[c] = len(lane_cores)
            lane_cores = append(lane_cores, c)
            lane_memory = append(lane_memory, 0)
        for t in range(n):
            lane[t] = by_cores[cores[t]]
        return lane_cores, lane_memory
    by_need: dict[tuple[int, int], int] = {}
    for t in range(n):
        by_need[(cores[t], memory[t])] = 0
    for need in sorted(by_need):
        by_need[need] = len(lane_cores)
        lane_cores = append(lane_cores, need[0])
        lane_memory = append(lane_memory, need[1])
    for t in range(n):
        lane[t] = by_need[(cores[t], memory[t])]
    return lane_cores, lane_memory


# ---- the lanes' min tree -----------------------------------------------------------------------------------------
def lanes_within(lane_cores: vec[i64], most: i64) -> i64:
    """How many lanes need at most `most` cores (lane_cores is sorted)."""
    lo: i64 = 0
    hi: i64 = len(lane_cores)
    while lo < hi:
        mid = (lo + hi) >> 1
        if lane_cores[mid] <= most:
            lo = mid + 1
        else:
            hi = mid
    return lo


def prefix_min(tree: vec[i64], size: i64, k: i64) -> i64:
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


def lower_min(tree: vec[i64], size: i64, s: i64, key: i64) -> None:
    """Lane s's key drops to key: the minima above it drop to it where they were higher."""
    v = size + s
    tree[v] = key
    v >>= 1
    while v and tree[v] > key:
        tree[v] = key
        v >>= 1


def raise_min(tree: vec[i64], size: i64, s: i64, key: i64) -> None:
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
def max2(a: i64, b: i64) -> i64:
    return a if a >= b else b


def first_fit_cores(tree: vec[i64], size: i64, c: i64) -> i64:
    """The first node (by index) with at least c free cores; -1: none."""
    if tree[1] < c:
        return -1
    v: i64 = 1
    while v < size:
        v = 2 * v
        if tree[v] < c:
            v += 1
    return v - size


def first_fit(cores: vec[i64], memory: vec[i64], size: i64, c: i64, m: i64) -> i64:
    """The first node (by index) with at least c free cores and m free memory; -1: none. A subtree whose most free
    cores or most free memory falls short is passed over; one where each suffices, but on different nodes, is left
    for the next subtree to its right."""
    if cores[1] < c or memory[1] < m:
        return -1
    v: i64 = 1
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


def lower_leaf(tree: vec[i64], size: i64, i: i64, value: i64) -> None:
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


def raise_leaf(tree: vec[i64], size: i64, i: i64, value: i64) -> None:
    """Node i's leaf rises to value: the maxima above it rise to it where they were lower."""
    v = size + i
    tree[v] = value
    v >>= 1
    while v and tree[v] < value:
        tree[v] = value
        v >>= 1
