"""YAML documents to data, strictly: a safe loader that refuses a key given twice. Apart from spec/load.py so that
loading a JSON file does not import PyYAML."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml

from hetflow.errors import SpecError

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _Loader(_SafeLoader):
    """A safe YAML loader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[str] = set()
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise SpecError(
                        f"key {key.value!r} appears twice in one mapping",
                        place=f"line {key.start_mark.line + 1}",
                        fix="keep one of them",
                    )
                seen.add(key.value)
        return super().construct_mapping(node, deep)


def parse_yaml(text: str, source: str) -> object:
    """The data of a YAML text, refusing a key given twice in one mapping; SpecError naming the line if malformed."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise SpecError(
            f"malformed YAML: {problem}",
            source=source,
            place=f"line {mark.line + 1}, column {mark.column + 1}" if mark else None,
            fix="correct the YAML syntax there (indentation, a missing colon or quote)",
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"malformed YAML: {exc}", source=source, fix="correct the YAML syntax") from None
