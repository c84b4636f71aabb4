"""Workflow, platform and resource models, and the loaders that build them from files (validated once, here).

Importable piecemeal: the models (dag, resources, platform, workflow, trace) need neither pydantic nor yaml, and the
names below are imported on first use (hetflow.lazy), so only a caller that loads a file pays for the loaders.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hetflow.spec.load import load_platform, load_workflow, read_document, recorded_platform
    from hetflow.spec.local import local_platform
    from hetflow.spec.platform import Node, NodeType, Platform
    from hetflow.spec.resources import GPU_UNIT, Resources, format_memory, parse_cores, parse_gpus, parse_memory
    from hetflow.spec.workflow import Analysis, FileRef, TaskSet, Variant, Workflow
else:
    from hetflow.lazy import exports

    __getattr__ = exports(
        __name__,
        {
            "hetflow.spec.load": ["load_platform", "load_workflow", "read_document", "recorded_platform"],
            "hetflow.spec.local": ["local_platform"],
            "hetflow.spec.platform": ["Node", "NodeType", "Platform"],
            "hetflow.spec.resources": [
                "GPU_UNIT",
                "Resources",
                "format_memory",
                "parse_cores",
                "parse_gpus",
                "parse_memory",
            ],
            "hetflow.spec.workflow": ["Analysis", "FileRef", "TaskSet", "Variant", "Workflow"],
        },
    )

__all__ = [
    "GPU_UNIT",
    "Analysis",
    "FileRef",
    "Node",
    "NodeType",
    "Platform",
    "Resources",
    "TaskSet",
    "Variant",
    "Workflow",
    "format_memory",
    "load_platform",
    "load_workflow",
    "local_platform",
    "parse_cores",
    "parse_gpus",
    "parse_memory",
    "read_document",
    "recorded_platform",
]
