"""Whether every `function:` of a workflow names something a worker can call: the module imports and the name after
the colon is a callable in it.

Importing a module runs its code, so this is not part of loading (a simulation of a trace must not import the
user's modules): `hetflow validate` and `hetflow run` ask for it, the one before a run is planned, the other before
anything is recorded. It imports with this process's sys.path, which is what the local executor's workers get.
"""

from __future__ import annotations

import importlib
from typing import Any

from hetflow.errors import SpecError
from hetflow.spec.workflow import Workflow


def check_functions(wf: Workflow) -> None:
    """SpecError (file, task set, fix) for the first `function:` that cannot be imported or called."""
    for i, s in enumerate(wf.sets):
        if s.function is not None:
            problem, fix = why_not_callable(s.function)
            if problem:
                raise SpecError(problem, source=wf.source, place=f"tasks[{i}] ({s.name}).function", fix=fix)


def why_not_callable(ref: str) -> tuple[str, str]:
    """What is wrong with a "pkg.mod:func" reference, and the fix; ("", "") when it names a callable."""
    module, sep, qualname = ref.partition(":")
    if not sep or not module or not qualname:
        return f"{ref!r} is not a reference", 'write "package.module:function"'
    try:
        obj: Any = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or module
        return (
            f"cannot import {module}: no module named {missing!r}",
            "install it, or run from the folder that holds it (or add that folder to PYTHONPATH)",
        )
    except Exception as exc:  # the module's own code failed: any exception of the user's
        return f"importing {module} failed: {type(exc).__name__}: {exc}", f"make `import {module}` work"
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            return f"module {module} has no {qualname!r}", f"check the name after the colon in {ref!r}"
    if not callable(obj):
        return f"{ref} is a {type(obj).__name__}, not a function", "name a function (or another callable)"
    return "", ""
