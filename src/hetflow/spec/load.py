"""Load workflows and platforms from files (.yaml, .yml, .json), from parsed mappings, or as ready models.

The format is told by content: a WfCommons WfFormat instance or a native document (DESIGN.md, "Formats").
Every problem, from an unreadable file to a malformed line, is a SpecError naming the file. The WfFormat models
are imported only when a document is one, so loading a native file does not build them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hetflow.errors import SpecError
from hetflow.spec import passes
from hetflow.spec.gcpause import gc_paused as gc_paused  # where the loaders' callers have always found it
from hetflow.spec.native import platform_from_dict, workflow_from_dict
from hetflow.spec.platform import Platform
from hetflow.spec.workflow import Workflow

if TYPE_CHECKING:
    from hetflow.spec.sebsflow import Flow

PathLike = str | os.PathLike[str]
_SUFFIXES = (".yaml", ".yml", ".json")


def _parse_json(text: str, source: str) -> object:
    try:
        return json.loads(text, object_pairs_hook=passes.unique_keys)
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"malformed JSON: {exc.msg}",
            source=source,
            place=f"line {exc.lineno}, column {exc.colno}",
            fix="correct the JSON syntax there",
        ) from None


def read_document(path: PathLike) -> object:
    """The data a workflow or platform file holds, by its suffix; SpecError when it cannot be read or parsed."""
    source = os.fspath(path)
    file = Path(source)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("no such file", source=source, fix="check the path") from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a file", source=source, fix="give a .yaml, .yml or .json file") from None
    except PermissionError:
        raise SpecError("cannot be read: permission denied", source=source, fix="make it readable") from None
    except UnicodeDecodeError:
        raise SpecError("is not UTF-8 text", source=source, fix="give a YAML or JSON text file") from None
    except OSError as exc:
        raise SpecError(f"cannot be read: {exc.strerror}", source=source, fix="check the path") from None
    suffix = file.suffix.lower()
    if suffix not in _SUFFIXES:
        kind = f"unknown file type {suffix!r}" if suffix else "the file name has no suffix"
        raise SpecError(kind, source=source, fix="name it .yaml, .yml or .json")
    try:
        if suffix == ".json":
            data = _parse_json(text, source)
        else:  # PyYAML loads only for a YAML file
            from hetflow.spec.yamltext import parse_yaml

            data = parse_yaml(text, source)
    except SpecError as exc:
        raise exc.at(source) from None
    if data is None:
        raise SpecError("the file is empty", source=source, fix="write a workflow or platform in it")
    return data


def _document(source: PathLike | Mapping[str, Any]) -> tuple[object, str | None, str | None]:
    """(data, file name for errors, default name) of a path or a mapping."""
    if isinstance(source, Mapping):
        return dict(source), None, None
    return read_document(source), os.fspath(source), Path(source).stem


def is_wfformat(data: object) -> bool:
    """True when a parsed document looks like a WfFormat instance rather than a native workflow."""
    return isinstance(data, dict) and ("schemaVersion" in data or isinstance(data.get("workflow"), dict))


def is_sebsflow(data: object) -> bool:
    """True when a parsed document has the shape of a SeBS-Flow definition: a root and a mapping of states."""
    return isinstance(data, dict) and "root" in data and isinstance(data.get("states"), dict)


def load_workflow(source: PathLike | Mapping[str, Any] | Workflow) -> Workflow:
    """A workflow from a file, a parsed mapping (native or WfFormat), or a Workflow (returned as is)."""
    if isinstance(source, Workflow):
        return source
    with gc_paused():
        data, name, stem = _document(source)
        return _workflow(data, name, stem)


def _workflow(data: object, name: str | None, stem: str | None) -> Workflow:
    if is_wfformat(data):
        from hetflow.spec.wfformat import workflow_from_wfformat

        return workflow_from_wfformat(data, name)
    if is_sebsflow(data):
        raise SpecError(
            "is a SeBS-Flow definition (root and states), not a workflow of task sets",
            source=name,
            fix="hetflow run FILE --functions MODULE runs it; hetflow simulate FILE --side SIDE.yaml simulates it",
        )
    return workflow_from_dict(data, name, stem or "workflow")


def load_definition(source: PathLike | Mapping[str, Any]) -> Workflow | Flow:
    """A workflow, or a SeBS-Flow definition (hetflow.spec.sebsflow), told by its shape, from one reading."""
    with gc_paused():
        data, name, stem = _document(source)
        if is_sebsflow(data):
            from hetflow.spec.sebsflow import flow_from_dict

            return flow_from_dict(data, name, stem or "flow")
        return _workflow(data, name, stem)


def load_platform(source: PathLike | Mapping[str, Any] | Platform) -> Platform:
    """A platform from a file, a parsed mapping (native, or the machines of a WfFormat instance), or a Platform."""
    if isinstance(source, Platform):
        return source
    with gc_paused():
        data, name, stem = _document(source)
        if not is_wfformat(data):
            return platform_from_dict(data, name, stem or "platform")
        from hetflow.spec.wfformat import platform_from_wfformat

        recorded = platform_from_wfformat(data, name)
    if recorded is None:
        raise SpecError("the instance records no machines", source=name, fix="give a platform file")
    return recorded


def recorded_platform(source: PathLike | Mapping[str, Any]) -> Platform | None:
    """The machines a WfFormat instance records, as a platform; None for a native workflow or no machines."""
    with gc_paused():
        data, name, _ = _document(source)
        if not is_wfformat(data):
            return None
        from hetflow.spec.wfformat import platform_from_wfformat

        return platform_from_wfformat(data, name)
