"""Task states and the explicit table of legal transitions between them."""

from __future__ import annotations

from enum import IntEnum

from hetflow.errors import IllegalTransition


class TaskState(IntEnum):
    PENDING = 0  # waiting for its dependencies or its mode's gate
    READY = 1  # released, waiting for resources
    RUNNING = 2
    DONE = 3
    FAILED = 4  # gave up after its retries
    SKIPPED = 5  # a dependency failed or was cancelled
    CANCELLED = 6


TERMINAL = frozenset({TaskState.DONE, TaskState.FAILED, TaskState.SKIPPED, TaskState.CANCELLED})

TRANSITIONS: frozenset[tuple[TaskState, TaskState]] = frozenset(
    {
        (TaskState.PENDING, TaskState.READY),
        (TaskState.PENDING, TaskState.SKIPPED),
        (TaskState.PENDING, TaskState.CANCELLED),
        (TaskState.READY, TaskState.RUNNING),
        (TaskState.READY, TaskState.CANCELLED),
        (TaskState.RUNNING, TaskState.DONE),
        (TaskState.RUNNING, TaskState.FAILED),
        (TaskState.RUNNING, TaskState.READY),  # retried, or its node was lost
        (TaskState.RUNNING, TaskState.CANCELLED),
    }
)


# The same tables indexed by state number, for the engine's hot paths (an enum member hashes in Python).
LEGAL: tuple[tuple[bool, ...], ...] = tuple(tuple((a, b) in TRANSITIONS for b in TaskState) for a in TaskState)
IS_TERMINAL: tuple[bool, ...] = tuple(s in TERMINAL for s in TaskState)


def check_transition(frm: TaskState, to: TaskState) -> None:
    """Raise IllegalTransition unless the table allows frm -> to."""
    if not LEGAL[frm][to]:
        raise IllegalTransition(f"a task cannot go from {frm.name} to {to.name}")
