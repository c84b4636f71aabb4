"""The native workflow and platform formats (DESIGN.md, "Formats"), from the mapping a YAML or JSON file holds.

Plain documents take the fast paths, which never import pydantic: a workflow's plain records (spec/records.py) and a
platform of plain node types (name, count, cores, speed); everything else, and every error, goes through the models
(spec/models.py), which name the problem, e.g. `tasks[3] (T3).cores`.
"""

from __future__ import annotations

from typing import Any

from hetflow.errors import SpecError
from hetflow.spec import passes
from hetflow.spec.platform import NodeType, Platform
from hetflow.spec.records import NotPlain, plain_task_sets
from hetflow.spec.workflow import TaskSet, Workflow

PLAIN_NODE_KEYS = frozenset(("type", "count", "cores", "speed"))


def _mapping(data: object, kind: str, source: str | None, example: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise SpecError(
            f"expected a {kind} mapping, found {type(data).__name__}", source=source, fix=f"start it with {example}"
        )
    return data


def workflow_from_dict(data: object, source: str | None = None, default_name: str = "workflow") -> Workflow:
    """A workflow from the mapping of a native document; source names the file in errors."""
    doc = _mapping(data, "workflow", source, "`workflow: NAME` and a `tasks:` list")
    if "nodes" in doc and "tasks" not in doc:
        raise SpecError("this is a platform, not a workflow", source=source, fix="pass a workflow file here")
    name, sets = task_sets_from_dict(doc, source)
    return Workflow(name or default_name, tuple(sets), source=source)


def task_sets_from_dict(doc: dict[str, Any], source: str | None = None) -> tuple[str | None, list[TaskSet]]:
    """(name, task sets) of a native workflow document, validated: plain records a column at a time
    (spec/records.py), and when that path is not sure, every record through the models, which name the problem."""
    try:
        return plain_task_sets(doc, own_record)
    except NotPlain:
        from hetflow.spec.models import validated_task_sets

        return validated_task_sets(doc, source)


def own_record(record: dict[str, Any]) -> TaskSet:
    """The task set of a record with keys of its own (variants, a function), through its model; a ValueError (the
    models' ValidationError) when the model refuses it."""
    from hetflow.spec.models import TaskDoc

    return TaskDoc.model_validate(record).task_set()


def platform_from_dict(data: object, source: str | None = None, default_name: str = "platform") -> Platform:
    """A platform from the mapping of a native document; source names the file in errors."""
    doc = _mapping(data, "platform", source, "`platform: NAME` and a `nodes:` list")
    if "tasks" in doc and "nodes" not in doc:
        raise SpecError("this is a workflow, not a platform", source=source, fix="pass a platform file here")
    plain = plain_platform(doc, source, default_name)
    if plain is not None:
        return plain
    from hetflow.spec.models import validated_platform

    return validated_platform(doc, source, default_name)


def plain_platform(doc: dict[str, Any], source: str | None, default_name: str) -> Platform | None:
    """The platform of a document whose node types say only their name, count, cores and speed, each surely what the
    models accept (a Name, whole numbers >= 1 and >= 0, a finite number > 0), every type once; None for anything
    else (the models then decide, and word any error)."""
    name, nodes = doc.get("platform"), doc.get("nodes")
    if doc.keys() - {"platform", "nodes"} or type(nodes) is not list or not nodes:
        return None
    if name is not None and (type(name) is not str or not passes.is_name(name)):
        return None
    types: list[NodeType] = []
    seen: set[str] = set()
    for node in nodes:
        if type(node) is not dict or node.keys() - PLAIN_NODE_KEYS:
            return None
        kind, count, cores, speed = node.get("type"), node.get("count", 1), node.get("cores"), node.get("speed", 1.0)
        if type(kind) is not str or not passes.is_name(kind) or kind in seen:
            return None
        seen.add(kind)
        if type(count) is not int or count < 1 or type(cores) is not int or cores < 0:
            return None
        seconds = passes.seconds_of(speed)  # (a finite number >= 0, as a float)
        if not seconds > 0.0:
            return None
        types.append(NodeType(kind, count, cores, speed=seconds))
    return Platform(name or default_name, tuple(types), source=source)
