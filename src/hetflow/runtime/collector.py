"""The cycle collector while sessions are open: a young generation of YOUNG objects instead of CPython's 700.

A program that calls a task once per item submits faster than the tasks run, so each call's objects (its future,
TaskSet, SetInfo, SetState and queue entry) live until its task ends, thousands of them at a time. With 700 the
collector walks them again at every young collection, promotes them, and starts full collections over the whole
heap every few thousand calls (about 3 us of each call's 70 here). A larger young generation lets most of them
die by reference counting before any collection sees them, as CPython 3.13 started doing by raising its own default
to 2,000. Only the first threshold changes, only upwards, only while a session is open: the first session to start
sets it and the last to close puts back what it found, unless the program set another meanwhile (its own wins). A
program that set 0 (no automatic collection) or a larger one is left alone.
"""

from __future__ import annotations

import gc
import threading

YOUNG = 10_000  # objects allocated (net) between two young collections while a session is open

_lock = threading.Lock()
_open = 0  # sessions open
_found: tuple[int, int, int] | None = None  # the thresholds found when the first one opened (None: left alone)
_set: tuple[int, int, int] | None = None  # what was set then


def session_opened() -> None:
    """A session starts: the first one raises the young generation's threshold to YOUNG."""
    global _open, _found, _set
    with _lock:
        _open += 1
        if _open > 1:
            return
        found = gc.get_threshold()
        if 0 < found[0] < YOUNG:
            _found, _set = found, (YOUNG, found[1], found[2])
            gc.set_threshold(*_set)


def session_closed() -> None:
    """A session closes: the last one puts back the thresholds it found, unless the program changed them since."""
    global _open, _found, _set
    with _lock:
        _open = max(0, _open - 1)
        if _open or _found is None:
            return
        if gc.get_threshold() == _set:
            gc.set_threshold(*_found)
        _found = _set = None
