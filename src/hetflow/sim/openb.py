"""The Alibaba cluster-trace-gpu-v2023 "openb" format: a node list and a pod list, as CSV.

nodes: sn, cpu_milli, memory_mib, gpu (count), model (empty for CPU-only nodes).
pods: name, cpu_milli, memory_mib, num_gpu, gpu_milli (a share of one GPU when num_gpu is 1; 1000 = a whole GPU),
optionally gpu_spec ('|'-separated GPU models the pod may use; empty = any).

Cores are kept in milli-cores (the ledger counts units, whatever they are), memory in bytes, GPUs in GPU units.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hetflow.errors import SpecError
from hetflow.spec.platform import Node
from hetflow.spec.resources import GPU_UNIT, Resources

MIB = 1024**2
NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
POD_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")


@dataclass(frozen=True, slots=True)
class Pod:
    """One pod of the trace and what it needs (the GPU models it may use in need.gpu_models, empty: any)."""

    name: str
    need: Resources


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        f = path.open(newline="", encoding="utf-8")
    except OSError as e:
        raise SpecError(f"cannot read: {e.strerror}", source=str(path), fix="give an existing CSV file") from None
    with f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in (reader.fieldnames or ())]
        if missing:
            raise SpecError(
                f"missing column(s) {', '.join(missing)}",
                source=str(path),
                place="row 1",
                fix=f"the header must name {', '.join(columns)}",
            )
        for row in reader:
            yield reader.line_num, row


def _int(row: dict[str, str], col: str, path: Path, line: int) -> int:
    text = (row.get(col) or "").strip()
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise SpecError(
            f"{col} {text!r} is not a whole number >= 0",
            source=str(path),
            place=f"row {line}",
            fix=f"write {col} as an integer",
        )
    return value


def read_nodes(path: Path) -> list[Node]:
    """The nodes, typed and named by GPU model ("cpu" for CPU-only nodes; GPUs shared as under MPS), in file
    order."""
    nodes: list[Node] = []
    for line, row in _rows(path, NODE_COLUMNS):
        cpu, mem, gpu = (_int(row, c, path, line) for c in ("cpu_milli", "memory_mib", "gpu"))
        model = (row.get("model") or "").strip()
        if gpu and not model:
            raise SpecError(
                "a node with GPUs has no model", source=str(path), place=f"row {line}", fix="name its GPU model"
            )
        nodes.append(Node(row["sn"], model or "cpu", cpu, gpu * GPU_UNIT, mem * MIB, gpu_model=model or None))
    if not nodes:
        raise SpecError("no nodes", source=str(path), fix="list at least one node after the header")
    return nodes


def read_pods(path: Path) -> list[Pod]:
    """The pods, in file order."""
    pods: list[Pod] = []
    for line, row in _rows(path, POD_COLUMNS):
        cpu, mem, num, milli = (_int(row, c, path, line) for c in ("cpu_milli", "memory_mib", "num_gpu", "gpu_milli"))
        if milli > 1000 or (num and not milli) or (num > 1 and milli != 1000):
            raise SpecError(
                f"gpu_milli {milli} with num_gpu {num}",
                source=str(path),
                place=f"row {line}",
                fix="gpu_milli is 1-1000 for one GPU, 1000 for several",
            )
        units = num * GPU_UNIT if num > 1 else milli * (GPU_UNIT // 1000) if num else 0
        models = tuple(m.strip() for m in (row.get("gpu_spec") or "").split("|") if m.strip())
        pods.append(Pod(row["name"], Resources(cpu, units, mem * MIB, gpu_models=models)))
    if not pods:
        raise SpecError("no pods", source=str(path), fix="list at least one pod after the header")
    return pods
