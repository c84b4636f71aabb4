"""Workflow, platform and resource models, and the loaders that build them from files (validated once, here)."""

from hetflow.spec.load import load_platform, load_workflow, read_document, recorded_platform
from hetflow.spec.local import local_platform
from hetflow.spec.platform import Node, NodeType, Platform
from hetflow.spec.resources import GPU_UNIT, Resources, format_memory, parse_cores, parse_gpus, parse_memory
from hetflow.spec.workflow import Analysis, FileRef, TaskSet, Variant, Workflow

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
