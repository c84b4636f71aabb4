"""What the engine answers: instructions for the executor and notices for the journal."""

from __future__ import annotations

from dataclasses import dataclass, fields

from hetflow.spec.resources import GpuGrant

Part = tuple[int, int, int, tuple[GpuGrant, ...]]
"""(node, start, stop, grants): tasks start..stop-1 of a launch on one node (by index), with each task's GPU grant
(empty: no GPUs). Read it by unpacking, `node, start, stop, grants = part`. A plain tuple, not a NamedTuple: one is
made per placement and unpacked at every end, and a NamedTuple made the 1M-task simulation 5-8% slower."""


@dataclass(frozen=True, slots=True)
class Launch:
    """Run tasks start..stop-1 of a set on one node, each with the given resources, as one launch.

    gpus holds, per task, the (GPU index on the node, GPU units) pairs it was given; empty for CPU-only tasks.
    duration is the engine's estimate: the chosen variant's run time divided by the node's speed. cold_start: the s
    it is expected to wait first for its image to be deployed on the node (core/deploy.py; a real executor pays its
    own, measured).
    """

    launch: int
    set: str
    start: int
    stop: int
    node: str
    variant: int
    cores: int
    gpu_units: int
    memory: int
    duration: float
    gpus: tuple[GpuGrant, ...] = ()
    cold_start: float = 0.0

    @property
    def n(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True, slots=True)
class LaunchGroup:
    """A grouped engine's launch (the simulator's): the tasks of one set placed in one scheduling pass, with one
    variant, on nodes of one speed, waiting alike for deployment. It ends as a whole, cold_start + duration after
    its placement (the simulator applies the wait); parts say which tasks run where.
    """

    launch: int
    set: str
    variant: int
    cores: int
    gpu_units: int
    memory: int
    duration: float
    parts: tuple[Part, ...]
    cold_start: float = 0.0


@dataclass(frozen=True, slots=True)
class Cancel:
    """Stop task `index` of a launch (every task of it when None)."""

    launch: int
    index: int | None = None


FAILURE, NODE_LOST, PREEMPTION = "failure", "node-lost", "preemption"  # why a task was retried (Retried.cause)
REFUSAL = "refusal"  # it never started: where it was sent refused it (TaskRefused)


@dataclass(frozen=True, slots=True)
class Retried:
    """A failed or lost task went back to the ready queue; attempt counts the failures so far. It may not start
    before not_before (the engine's time of the failure plus its retry backoff; that time itself when there is no
    pause: a lost node or a preemption, or a retry_backoff of 0). cause says which: FAILURE, NODE_LOST, PREEMPTION or
    REFUSAL (reason is words for people: a task's own error text may say anything)."""

    set: str
    index: int
    attempt: int
    reason: str
    not_before: float
    cause: str = FAILURE


@dataclass(frozen=True, slots=True)
class Failed:
    """A task gave up: it failed and has no retries left."""

    set: str
    index: int
    error: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """Every task of a set is skipped because a dependency failed or was cancelled."""

    set: str
    count: int
    reason: str


@dataclass(frozen=True, slots=True)
class Released:
    """A set's tasks became ready (dependencies and the mode's gate are satisfied)."""

    set: str


Instruction = Launch | LaunchGroup | Cancel | Retried | Failed | Skipped | Released

# A frozen dataclass's __init__ stores each field through object.__setattr__, a Python-level call per field; the
# engine makes a Launch per placement and a Released per set where releases are announced (a program's call is a set
# of its own), so it makes them through their slots' setters instead: the same objects, in about half the time.
NEW = object.__new__
LAUNCH_FIELDS = tuple(getattr(Launch, f.name).__set__ for f in fields(Launch))
SET_RELEASED = Released.__dict__["set"].__set__  # its slot (Released.set reads as the field to type checkers)


def launch(
    lid: int,
    name: str,
    start: int,
    stop: int,
    node: str,
    variant: int,
    cores: int,
    gpu_units: int,
    memory: int,
    duration: float,
    gpus: tuple[GpuGrant, ...],
    cold_start: float,
) -> Launch:
    """Launch(...) with every field given, made through its slots (see above)."""
    ins: Launch = NEW(Launch)
    s = LAUNCH_FIELDS
    s[0](ins, lid)
    s[1](ins, name)
    s[2](ins, start)
    s[3](ins, stop)
    s[4](ins, node)
    s[5](ins, variant)
    s[6](ins, cores)
    s[7](ins, gpu_units)
    s[8](ins, memory)
    s[9](ins, duration)
    s[10](ins, gpus)
    s[11](ins, cold_start)
    return ins


def released(name: str) -> Released:
    """Released(name), made through its slot (see above)."""
    ins: Released = NEW(Released)
    SET_RELEASED(ins, name)
    return ins
