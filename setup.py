"""The build: hetflow is pure Python, and the modules in COMPILED are also compiled to C with mypyc when it can.

The flat simulation kernel runs a million one-task sets in about a second only compiled; interpreted it gives the
same schedules, slower. So a build without a C compiler, or with HETFLOW_PURE=1 in its environment, installs the
same package uncompiled instead of failing. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup

COMPILED = ["src/hetflow/sim/flat.py"]


def compiled() -> list[Extension]:
    """The mypyc extensions of COMPILED, each optional (a failed C build leaves that module interpreted)."""
    if os.environ.get("HETFLOW_PURE"):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:  # a build environment without mypy (pyproject.toml asks for it)
        print("hetflow: mypy is not in the build environment: installing without the compiled kernel", file=sys.stderr)
        return []
    extensions: list[Extension] = mypycify(COMPILED, opt_level="3")
    for extension in extensions:
        extension.optional = True
    return extensions


setup(ext_modules=compiled())
