"""What a simulation gives back (SimResult), and what a progress callback sees of one while it runs (Running)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from hetflow.core.engine import Engine
from hetflow.metrics.result import RunResult


@dataclass
class SimResult(RunResult):
    """A simulated run: its result, how many engine steps it took, and the engine it ended with (None when the flat
    kernel of one-task sets ran it, sim/flatrun.py: there is no engine then; `steps` counts the same steps)."""

    steps: int = 0
    engine: Engine | None = field(default=None, repr=False)


class Running(Protocol):
    """A simulation while it runs, as run_simulation's `progress` callback sees it: its virtual time, and how many
    tasks are done (worked out when asked: over an engine's sets, it is a pass over all of them)."""

    @property
    def now(self) -> float: ...

    def tasks_done(self) -> int: ...
