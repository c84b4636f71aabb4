"""Data a task set moves: the bytes it reads from each parent (native `inputs`/`outputs`, WfFormat file sizes), and
the record of one transfer between two sites.

A dependency on a set is on every task of it, so by default a dependent reads all its parent's output (the parent's
tasks x `outputs`); `inputs: {P: size}` says how much each of its tasks reads from P instead (at most all of P's
output: what tasks share is moved once). A WfFormat task reads the files of its parents whose names it lists as
inputs, at their sizeInBytes; the input files none of its parents writes are the workflow's inputs, at the origin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hetflow.spec.workflow import TaskSet


def reads(child: TaskSet, parent: TaskSet) -> int:
    """Bytes the tasks of `child` read from `parent`'s output, in all (0: nothing to move)."""
    if any(f.link == "input" for f in child.files) and parent.files:
        made = {f.name: f.size for f in parent.files if f.link == "output"}
        wanted = {f.name for f in child.files if f.link == "input"}
        return sum(size for name, size in made.items() if name in wanted)
    out = parent.count * parent.outputs
    for name, size in child.inputs:
        if name == parent.name:
            total = child.count * size
            return min(total, out) if out else total
    return out


def external_reads(child: TaskSet, parents: Sequence[TaskSet]) -> int:
    """Bytes of the WfFormat input files of `child` that none of its parents writes: the workflow's own inputs,
    which start at the origin site."""
    if not child.files:
        return 0
    made = {f.name for p in parents for f in p.files if f.link == "output"}
    sizes = {f.name: f.size for f in child.files if f.link == "input" and f.name not in made}
    return sum(sizes.values())


def staged_inputs(child: TaskSet, parents: Sequence[TaskSet]) -> tuple[str, ...]:
    """The files a task of `child` finds in its working folder in a multi-site run: its input files (WfFormat), else
    every file its parents write (native `outputs: {name: size}`, {index} expanded over each parent's tasks)."""
    named = tuple(f.name for f in child.files if f.link == "input")
    if named:
        return named
    return tuple(
        name
        for p in parents
        for f in p.files
        if f.link == "output"
        for name in dict.fromkeys(f.name.replace("{index}", str(i)) for i in range(p.count))
    )


def staged_outputs(spec: TaskSet, index: int) -> tuple[str, ...]:
    """The files task `index` of the set writes, collected where it ran after it ends ({index} expanded)."""
    return tuple(f.name.replace("{index}", str(index)) for f in spec.files if f.link == "output")


@dataclass(frozen=True, slots=True)
class Transfer:
    """The output of src_set held at src_site moved to dst_site for dst_set: `size` bytes from start to end (s, on
    the clock of the run's intervals): latency + size / bandwidth of the link."""

    src_set: str
    src_site: str
    dst_set: str
    dst_site: str
    size: int
    start: float
    end: float
