"""Engine tests drive the engine with stimuli and read its instructions; the ledger is validated after every step."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from hetflow.core.engine import Engine
from hetflow.core.instructions import Instruction, Launch
from hetflow.core.stimuli import Stimulus
from hetflow.policies import make_policy
from hetflow.spec.platform import Node
from hetflow.spec.resources import GPU_UNIT, Resources
from hetflow.spec.workflow import TaskSet


def node(name: str, cores: int = 4, gpus: float = 0, memory: int = 0, speed: float = 1.0) -> Node:
    return Node(name, name.split("-")[0], cores, int(gpus * GPU_UNIT), memory, speed)


def ts(
    name: str, count: int = 1, cores: int = 1, gpus: float = 0, runtime: float = 10, after: Sequence[str] = (), **kw
):  # type: ignore[no-untyped-def]
    return TaskSet(name, count, Resources.of(cores, gpus), runtime, tuple(after), **kw)


class Driver:
    """An engine plus the checks every engine test wants."""

    def __init__(self, nodes: Sequence[Node], mode: str = "task", policy: str = "fifo") -> None:
        self.engine = Engine(nodes, mode, make_policy(policy))

    def __call__(self, now: float, *stimuli: Stimulus) -> list[Instruction]:
        out = self.engine.handle(now, list(stimuli))
        self.engine.validate()
        return out

    @staticmethod
    def launches(out: Sequence[Instruction]) -> list[Launch]:
        return [i for i in out if isinstance(i, Launch)]


@pytest.fixture
def make_driver() -> Iterator[type[Driver]]:
    made: list[Driver] = []

    class Tracked(Driver):
        def __init__(self, *a, **kw) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*a, **kw)
            made.append(self)

    yield Tracked
    for d in made:  # and once more at the end of every test
        d.engine.validate()
