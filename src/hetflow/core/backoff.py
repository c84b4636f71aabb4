"""Not before: the tasks and sets that may not be placed before a time, and holding nothing meanwhile. A retried task
waits out its backoff (how long: backoff_delay, both clocks use this rule); a whole set may be held until a time a
policy chose (carbon-wait) or woken when its inputs reach another site (core/staging.py)."""

from __future__ import annotations

import heapq

from hetflow.core.sets import NONE_WAITING, SetBook, SetState
from hetflow.core.states import TaskState, check_transition
from hetflow.errors import EngineError

MAX_BACKOFF_S = 60.0  # the longest pause between two attempts


def backoff_delay(retry_backoff: float, attempt: int) -> float:
    """Seconds between the end of failed attempt `attempt` (1 = the first) and the earliest start of the next one:
    retry_backoff doubled per failure, at most MAX_BACKOFF_S; 0 when retry_backoff is 0."""
    if retry_backoff <= 0 or attempt < 1:
        return 0.0
    return min(MAX_BACKOFF_S, retry_backoff * 2.0 ** (attempt - 1))


class Waiting:
    """The tasks waiting out a retry backoff: each in its set's `waiting` (index -> not-before time) and in one heap by
    time, out of the ready ranges and out of every count a policy reads (they hold nothing and cannot be placed). Every
    state change of a waiting task goes through here, so the set's counts, `waiting` and the heap stay one story.

    The same heap holds sets (index -1): a set held until a time keeps its READY tasks in its ready ranges but stays
    out of the ready queue (`held`) until then; a set woken at a time (its inputs reach a site) is queued again then,
    so a scheduling pass runs. Such an entry is stale once the set has no ready task left."""

    def __init__(self, book: SetBook) -> None:
        self._book = book
        self._heap: list[tuple[float, int, int]] = []  # (not before, set id, index or -1); stale once cancelled
        self.held: dict[int, float] = {}  # set id -> the time before which the set is not queued

    def hold(self, st: SetState, until: float) -> None:
        """A released set may not be placed before `until`: it stays out of the ready queue, holding nothing."""
        self.held[st.sid] = until
        heapq.heappush(self._heap, (until, st.sid, -1))

    def wake_set(self, st: SetState, at: float) -> None:
        """Queue the set again at `at` (something it waits for, such as its inputs, is there then)."""
        heapq.heappush(self._heap, (at, st.sid, -1))

    def defer(self, st: SetState, index: int, until: float) -> None:
        """A running task failed and will be retried, not before `until`: RUNNING -> READY, placeable from then."""
        check_transition(TaskState.RUNNING, TaskState.READY)
        if not st.counts[TaskState.RUNNING]:
            raise EngineError(f"{st.name}: no running task {index} to retry")
        st.counts[TaskState.RUNNING] -= 1
        if st.waiting is NONE_WAITING:  # shared while none waits: the set gets its own
            st.waiting = {}
        st.waiting[index] = until
        heapq.heappush(self._heap, (until, st.sid, index))

    def cancel(self, st: SetState, wanted: range) -> None:
        """Cancel the waiting tasks of st whose index is in wanted (READY -> CANCELLED; their heap entries go stale)."""
        gone = [i for i in st.waiting if i in wanted]
        if not gone:
            return
        check_transition(TaskState.READY, TaskState.CANCELLED)
        for i in gone:
            del st.waiting[i]
        st.counts[TaskState.CANCELLED] += len(gone)
        self._book.unfinished -= len(gone)

    def wake(self, now: float) -> list[SetState]:
        """The tasks whose backoff is over by now join their sets' ready ranges; returns those sets (to be queued)."""
        heap, by_sid, woken = self._heap, self._book.by_sid, []
        while heap and heap[0][0] <= now:
            t, sid, idx = heapq.heappop(heap)
            st = by_sid[sid]
            if idx < 0:
                if self.held.get(sid) == t:
                    del self.held[sid]
                if st.counts[TaskState.READY] and sid not in self.held:
                    woken.append(st)
                continue
            if st.waiting.get(idx) != t:
                continue  # cancelled while it waited
            del st.waiting[idx]
            st.counts[TaskState.READY] += 1
            st.add_ready(idx)
            woken.append(st)
        return woken

    @property
    def next_at(self) -> float | None:
        """The earliest not-before time of a task still waiting (None: none waits)."""
        heap, by_sid = self._heap, self._book.by_sid
        while heap:
            t, sid, idx = heap[0]
            if by_sid[sid].waiting.get(idx) == t if idx >= 0 else by_sid[sid].counts[TaskState.READY]:
                return t
            heapq.heappop(heap)  # cancelled while it waited
            if idx < 0 and self.held.get(sid) == t:
                del self.held[sid]
        return None

    def validate(self) -> None:
        """Every waiting task is in the heap at its own time."""
        queued = {(sid, idx, t) for t, sid, idx in self._heap}
        if any((sid, -1, t) not in queued for sid, t in self.held.items()):
            raise EngineError("a set is held outside the not-before queue")
        for st in self._book.by_sid:
            if any((st.sid, idx, t) not in queued for idx, t in st.waiting.items()):
                raise EngineError(f"a task of {st.name} waits for its backoff outside the backoff queue")
