"""The build: hetflow is pure Python, and the modules in COMPILED are also compiled to C with mypyc when it can.

The flat simulation kernel runs a million one-task sets in about a second only compiled, and the engine's per-set
path (a set's state, its release, the ready queue, placement, the ledger, launches) costs a program that calls a task
once per item half as much compiled; interpreted they give the same schedules, slower. So a build without a C
compiler, or with HETFLOW_PURE=1 in its environment, installs the same package uncompiled instead of failing.
Everything else is in pyproject.toml.
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup

COMPILED = [  # one per line: the Makefile reads them
    "src/hetflow/sim/flat.py",
    "src/hetflow/spec/passes.py",
    "src/hetflow/core/sets.py",
    "src/hetflow/core/dispatch.py",
    "src/hetflow/core/ledger.py",
    "src/hetflow/core/launches.py",
    "src/hetflow/core/placement.py",
    "src/hetflow/runtime/sets.py",
    "src/hetflow/runtime/admission.py",
    "src/hetflow/runtime/submitting.py",
]
# The build environment has mypy but not hetflow's dependencies: the packages around a compiled module are read for
# their types only, and what they import from outside is Any (the full check is `make lint`'s).
MYPY_OPTIONS = ["--follow-imports=silent", "--ignore-missing-imports"]


def compiled() -> list[Extension]:
    """The mypyc extensions of COMPILED, each optional (a failed C build leaves that module interpreted)."""
    if os.environ.get("HETFLOW_PURE"):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:  # a build environment without mypy (pyproject.toml asks for it)
        print("hetflow: mypy is not in the build environment: installing without the compiled kernel", file=sys.stderr)
        return []
    try:
        extensions: list[Extension] = mypycify([*MYPY_OPTIONS, *COMPILED], opt_level="3")
    except (Exception, SystemExit) as exc:  # mypy refused the module: the install goes on without compiling it
        print(f"hetflow: not compiled ({exc}): installing it interpreted", file=sys.stderr)
        return []
    for extension in extensions:
        extension.optional = True
    return extensions


setup(ext_modules=compiled())
