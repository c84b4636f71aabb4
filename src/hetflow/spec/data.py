"""Data a task set moves: the bytes it reads from each parent (native `inputs`/`outputs`, WfFormat file sizes), and
the record of one transfer between two sites.

A dependency on a set is on every task of it, so by default a dependent reads all its parent's output (the parent's
tasks x `outputs`); `inputs: {P: size}` says how much each of its tasks reads from P instead (at most all of P's
output: what tasks share is moved once). A WfFormat task reads the files of its parents whose names it lists as
inputs, at their sizeInBytes; the input files none of its parents writes are the workflow's inputs, at the origin
(native: `input_files: {name: size}`, FileRefs with link ORIGIN). The files tasks write that no task reads are the
workflow's final outputs, which a real multi-site run brings back to the origin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hetflow.spec.workflow import TaskSet

ORIGIN = "origin"  # FileRef.link of a native `input_files:` entry: a file no task writes, read at the origin


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


def origin_files(child: TaskSet, parents: Sequence[TaskSet]) -> dict[str, int]:
    """The workflow's own input files `child` reads (name -> bytes): its WfFormat input files none of its parents
    writes, and its native `input_files:`; they start at the origin."""
    if not child.files:
        return {}
    made = {name for p in parents for name in written(p)}
    return {f.name: f.size for f in child.files if f.link in ("input", ORIGIN) and f.name not in made}


def external_reads(child: TaskSet, parents: Sequence[TaskSet]) -> int:
    """Bytes of the workflow's own input files `child` reads (origin_files), which start at the origin site."""
    return sum(origin_files(child, parents).values())


def written(spec: TaskSet) -> tuple[str, ...]:
    """The files the tasks of a set write, {index} expanded over its tasks."""
    names = [f.name for f in spec.files if f.link == "output"]
    if not any("{index}" in n for n in names):
        return tuple(dict.fromkeys(names))
    return tuple(dict.fromkeys(n.replace("{index}", str(i)) for n in names for i in range(spec.count)))


def staged_inputs(child: TaskSet, parents: Sequence[TaskSet]) -> tuple[str, ...]:
    """The files a task of `child` finds in its working folder in a multi-site run: its input files (WfFormat), else
    every file its parents write (native `outputs: {name: size}`, {index} expanded over each parent's tasks) and its
    native `input_files:`."""
    named = tuple(f.name for f in child.files if f.link == "input")
    if named:
        return named
    own = (f.name for f in child.files if f.link == ORIGIN)
    return tuple(dict.fromkeys([*(name for p in parents for name in written(p)), *own]))


def final_outputs(sets: Sequence[TaskSet]) -> tuple[str, ...]:
    """The files tasks write that no task reads: the workflow's results, brought back to the origin at the end."""
    by_name = {s.name: s for s in sets}
    read = {n for s in sets for n in staged_inputs(s, [by_name[p] for p in s.after if p in by_name])}
    return tuple(name for s in sets for name in written(s) if name not in read)


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
