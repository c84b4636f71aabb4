"""Launch records: what the engine knows about the tasks it launched and that have not ended yet."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hetflow.core.instructions import Part
from hetflow.errors import EngineError
from hetflow.spec.resources import Resources

if TYPE_CHECKING:
    from hetflow.core.engine import SetState


class LaunchRecord:
    """One launch: tasks of one set, run with one variant, that are expected to end together.

    parts holds (node, start, stop, per-task GPU grants), one node each; a default engine makes one part per launch.
    """

    __slots__ = ("_by_node", "done", "est_end", "id", "need", "option", "parts", "running", "set")

    def __init__(self, lid: int, st: SetState, option: int, need: Resources, est_end: float) -> None:
        self.id = lid
        self.set = st
        self.option = option
        self.need = need
        self.est_end = est_end
        self.parts: list[Part] = []
        self.running = 0
        self.done: set[int] = set()  # indices that ended one by one
        self._by_node: tuple[int, dict[int, list[Part]]] = (0, {})  # (parts indexed, node -> its parts)

    def parts_on(self, node: int) -> list[Part]:
        """The parts on one node (indexed when first asked, and again after parts were added)."""
        n, by_node = self._by_node
        if n != len(self.parts):
            by_node = {}
            for part in self.parts:
                by_node.setdefault(part[0], []).append(part)
            self._by_node = (len(self.parts), by_node)
        return by_node.get(node, [])

    def part_of(self, index: int) -> Part:
        """The part that holds a running task index."""
        if index not in self.done:
            for part in self.parts:
                if part[1] <= index < part[2]:
                    return part
        raise EngineError(f"task {index} of launch {self.id} is not running")

    def live(self, part: Part) -> list[int]:
        """Offsets within a part of the tasks still running."""
        a = part[1]
        return [k for k in range(part[2] - a) if a + k not in self.done]
