"""Nodes described by discovery: a platform whose node types declared no features take those found on their nodes.

Declared features win (a platform file may describe machines other than the ones that emulate them); a node type
whose nodes were not asked keeps none, so variants that require features do not go there. Executors call these at
start-up: the local backend with this machine's features (every node it runs is this machine), Dask with what
`client.run` found on each worker, Ray with what a task pinned to each node found.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from hetflow.discover.machine import local_features
from hetflow.spec.features import Features
from hetflow.spec.platform import Node, Platform


def fill_features(platform: Platform, found: Mapping[str, Features]) -> Platform:
    """The platform with each undescribed node type given found[type] (the features found on its first node)."""
    if all(t.features is not None or t.type not in found for t in platform.node_types):
        return platform
    types = tuple(
        replace(t, features=found[t.type]) if t.features is None and t.type in found else t for t in platform.node_types
    )
    return replace(platform, node_types=types)


def by_type(found: Mapping[str, Features], nodes: Mapping[str, Node]) -> dict[str, Features]:
    """Features per node type from features per node name (the first node of a type answers for it)."""
    out: dict[str, Features] = {}
    for name in sorted(found):
        node = nodes.get(name)
        if node is not None:
            out.setdefault(node.type, found[name])
    return out


def with_local_features(platform: Platform) -> Platform:
    """The platform with every undescribed node type given this machine's features (the local backend)."""
    here = local_features()
    return fill_features(platform, {t.type: here for t in platform.node_types})
