"""The origin of a real multi-site run: where the session runs, where the workflow's own input files are and where
its final outputs must end (the sites file's `origin:`).

The session runs at the origin, so the workflow's input files (read by some task, written by none: WfFormat input
files without a producer, native `input_files:`) are taken from its working directory and uploaded to each site that
reads them (faas/stager.py), and the final outputs (written by some task, read by none) are brought back from where
they were written into a folder of the origin when the run ends. A missing input file is one SpecError before
anything runs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hetflow.errors import SpecError
from hetflow.spec.data import final_outputs, origin_files
from hetflow.spec.workflow import Workflow

ORIGIN_SITE = "origin"  # the origin's name when no sites file names one (a run over --endpoints)


@dataclass(frozen=True)
class Origin:
    """site: the origin's name (in transfers); inputs: file name -> its path here; outputs: the names of the final
    outputs; into: the folder they are brought back to."""

    site: str
    inputs: dict[str, Path]
    outputs: tuple[str, ...]
    into: Path


def workflow_inputs(wf: Workflow) -> dict[str, int]:
    """The workflow's own input files, name -> declared bytes, over its sets that run a command (only commands run
    in a working folder of staged files; a function reads what it is given)."""
    by_name = {s.name: s for s in wf.sets}
    out: dict[str, int] = {}
    for s in wf.sets:
        if s.command is not None:
            out.update(origin_files(s, [by_name[p] for p in s.after if p in by_name]))
    return out


def origin_of(
    wf: Workflow, site: str = "", root: str | os.PathLike[str] = ".", into: str | os.PathLike[str] | None = None
) -> Origin:
    """The origin of a run of wf: its input files found in root (SpecError naming the first missing one), its final
    outputs to be brought back into `into` (default root)."""
    base = Path(root).absolute()
    inputs = {name: base / name for name in workflow_inputs(wf)}
    missing = [name for name, path in inputs.items() if not path.is_file()]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise SpecError(
            f"the workflow's input file {missing[0]!r} is not in {base}{more}",
            source=wf.source,
            place="input_files",
            fix="run from the folder that holds the workflow's input files, or create them there",
        )
    target = Path(into).absolute() if into is not None else base
    return Origin(site or ORIGIN_SITE, inputs, final_outputs(wf.sets), target)
