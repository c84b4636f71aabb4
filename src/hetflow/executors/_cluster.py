"""What the Dask and Ray executors share: naming the nodes of a cluster, following them as they come and go, and how
what run_task (executors/_remote.py) returned becomes an Outcome.

A worker (Dask) or node (Ray) is known by an id that changes when it restarts (its address, its node id) and by a
label that does not (the worker's name; for Ray, the `hetflow-node:NAME` resource of a node started for hetflow).
A label seen before names the same engine node again when it comes back; a new label becomes a new node, named
TYPE-INDEX like the nodes of a platform (TYPE: the label's NAME of NAME-INDEX, else "worker", and the shape appended
when one type already has another shape).
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hetflow.executors.api import DONE, FAILED, LOST, TIMEOUT, CommandResult, NodeChange, Outcome, TaskRun
from hetflow.spec.platform import Node, NodeType, Platform
from hetflow.spec.resources import GPU_UNIT


@dataclass(frozen=True, slots=True)
class Seen:
    """One worker or node of a cluster as the cluster describes it."""

    label: str
    cores: int
    gpu_units: int
    memory: int

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.cores, self.gpu_units, self.memory)


def node_kind(label: str) -> str:
    """The node type a worker stands for: NAME of a worker labelled NAME-INDEX (as the local clusters shaped like a
    platform label theirs, and as `dask worker --name gpu-3` does), else "worker"."""
    head, sep, tail = label.rpartition("-")
    return head if sep and head and tail.isdigit() else "worker"


class Membership:
    """The cluster's workers as engine nodes: which id runs which node now, and what changed since it was asked."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.node_of: dict[str, str] = {}  # worker id -> node name, for the workers alive now
        self.id_of: dict[str, str] = {}  # node name -> worker id, alive now
        self.nodes: dict[str, Node] = {}  # node name -> its shape (alive or not)
        self._by_label: dict[str, str] = {}  # label -> node name, forever
        self._types: dict[str, tuple[int, int, int]] = {}  # type name -> shape
        self._count: dict[str, int] = {}  # type name -> nodes named so far
        self._changes: list[NodeChange] = []

    def first(self, name: str, found: Mapping[str, Seen], shape: Platform | None) -> Platform:
        """The platform of the workers there are at the start. With shape (a cluster started for it, labels named
        after its nodes) the platform is shape itself; else one NodeType per type and shape, nodes ordered by label."""
        with self.lock:
            if shape is not None:
                by_label = {s.label: wid for wid, s in found.items()}
                for node in shape.nodes():
                    self._types.setdefault(node.type, (node.cores, node.gpu_units, node.memory))
                    self._count[node.type] = self._count.get(node.type, 0) + 1
                    self._by_label[node.name] = node.name
                    self.nodes[node.name] = node
                    wid = by_label.get(node.name)
                    if wid is not None:
                        self.node_of[wid] = node.name
                        self.id_of[node.name] = wid
                return shape
            for wid, seen in sorted(found.items(), key=lambda kv: _label_order(kv[1].label)):
                self._join(wid, seen, record=False)
            counts: dict[str, int] = {}
            for node in self.nodes.values():
                counts[node.type] = counts.get(node.type, 0) + 1
            types = tuple(NodeType(t, counts[t], *self._types[t]) for t in counts)
            return Platform(name, types)

    def update(self, found: Mapping[str, Seen]) -> bool:
        """Take the workers there are now; True when some joined or left."""
        with self.lock:
            gone = [wid for wid in self.node_of if wid not in found]
            for wid in gone:
                node = self.node_of.pop(wid)
                del self.id_of[node]
                self._changes.append(NodeChange(node))
            new = [wid for wid in found if wid not in self.node_of]
            for wid in sorted(new, key=lambda w: _label_order(found[w].label)):
                self._join(wid, found[wid], record=True)
            return bool(gone or new)

    def lose(self, wid: str) -> bool:
        """A worker is known to be gone (before the cluster says so); True when it was alive."""
        with self.lock:
            node = self.node_of.pop(wid, None)
            if node is None:
                return False
            del self.id_of[node]
            self._changes.append(NodeChange(node))
            return True

    def changes(self) -> list[NodeChange]:
        with self.lock:
            out, self._changes = self._changes, []
            return out

    def alive(self, node: str) -> bool:
        with self.lock:
            return node in self.id_of

    def _join(self, wid: str, seen: Seen, record: bool) -> None:
        name = self._by_label.get(seen.label)
        if name is None or name in self.id_of:  # a new label (or a second worker with one label): a new node
            kind = node_kind(seen.label)
            tname = kind
            if self._types.get(tname, seen.shape) != seen.shape:
                tname = f"{kind}-{seen.cores}c{seen.gpu_units / GPU_UNIT:g}g"
            self._types.setdefault(tname, seen.shape)
            k = self._count.get(tname, 0)
            self._count[tname] = k + 1
            name = f"{tname}-{k}"
            self._by_label.setdefault(seen.label, name)
            self.nodes[name] = Node(name, tname, seen.cores, seen.gpu_units, seen.memory)
        else:
            old = self.nodes[name]
            self.nodes[name] = Node(name, old.type, seen.cores, seen.gpu_units, seen.memory, old.speed)
        self.node_of[wid] = name
        self.id_of[name] = wid
        if record:
            self._changes.append(NodeChange(name, self.nodes[name]))


def _label_order(label: str) -> tuple[str, int, str]:
    head, sep, tail = label.rpartition("-")
    if sep and tail.isdigit():
        return (head, int(tail), label)
    return (label, -1, label)


def declared(resources: Mapping[str, float], threads: int, memory: int) -> tuple[int, int, int]:
    """(cores, GPU units, memory) of a worker: its declared resources `cores`, `gpus` (or `GPU`) and `memory` when it
    has them (so that a CPU-only machine can stand for GPU nodes), else its threads, no GPU and its memory limit."""
    cores = int(resources.get("cores", threads))
    gpus = float(resources.get("gpus", resources.get("GPU", 0)))
    mem = int(resources.get("memory", memory or 0))
    return cores, round(gpus * GPU_UNIT), mem


def shape_resources(node: Node) -> dict[str, float]:
    """The resources a worker standing for this node declares."""
    out: dict[str, float] = {"cores": float(node.cores)}
    if node.gpu_units:
        out["gpus"] = node.gpu_units / GPU_UNIT
    if node.memory:
        out["memory"] = float(node.memory)
    return out


def outcome(key: int, run: TaskRun, value: tuple[Any, ...]) -> Outcome:
    """The Outcome of what run_task returned (a command's result becomes a CommandResult)."""
    status, start, end, blob, error, exc, tb = value
    if run.command is not None and blob is not None:
        rc, out_path, err_path = pickle.loads(blob)
        blob = pickle.dumps(CommandResult(rc, out_path, err_path))
    kind = {"done": DONE, "timeout": TIMEOUT, "lost": LOST}.get(status, FAILED)
    return Outcome(key, kind, start, end, blob, error, exc, tb)
