"""The runtime's clock: monotonic seconds to schedule by, wall-clock seconds to stamp the journal with.

The driver reads time only through a Clock, so a run can go on a FakeClock that a FakeExecutor
(hetflow.executors.fake) moves forward: retries, backoff, lost nodes and preemption are then tested in milliseconds.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Where the driver reads the time."""

    def now(self) -> float:
        """Monotonic seconds, for scheduling (backoff, timeouts, the engine's time)."""
        ...

    def time(self) -> float:
        """Wall-clock seconds since the epoch, for the journal and the intervals."""
        ...


class WallClock:
    """The machine's clocks."""

    def now(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()


class FakeClock:
    """A clock that moves only when told to (by a FakeExecutor, or a test). Its wall clock is epoch + now()."""

    def __init__(self, start: float = 0.0, epoch: float = 0.0) -> None:
        self._t = start
        self.epoch = epoch
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._t

    def time(self) -> float:
        return self.epoch + self._t

    def advance_to(self, t: float) -> None:
        """Move to t; never backwards."""
        with self._lock:
            if t > self._t:
                self._t = t

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._t += max(0.0, seconds)
