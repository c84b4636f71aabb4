"""The command group `main` and what every command shares: its error handling, output checks and input loading."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hetflow.errors import HetflowError, SpecError

if TYPE_CHECKING:
    from hetflow.spec import Platform, Workflow

EXIT_BAD_INPUT = 2
LABEL_WIDTH = 15


class HetflowGroup(click.Group):
    """A command group that turns a HetflowError into one line and exit status 2, unless --debug is given."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (HetflowError, OSError) as exc:
            if ctx.params.get("debug"):
                raise
            if isinstance(exc, OSError):  # a file we were told to write could not be
                text = f"{exc.filename}: {exc.strerror} (fix: check the path and its permissions)"
            else:
                text = exc.line() if isinstance(exc, SpecError) else str(exc)
            click.echo("error: " + " ".join(text.split()), err=True)
            ctx.exit(EXIT_BAD_INPUT)


def output_dir(path: str | None, option: str) -> Path | None:
    """A folder to write into (created when missing), checked before any work is done."""
    if path is None:
        return None
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise SpecError(f"{path} exists and is not a folder", place=option, fix="give a folder (created if missing)")
    return p


def output_file(path: str | None, option: str) -> Path | None:
    """A file to write, checked before any work is done."""
    if path is None:
        return None
    p = Path(path)
    if p.is_dir():
        raise SpecError(f"{path} is a folder", place=option, fix="give a file name")
    if not p.parent.is_dir():
        raise SpecError(f"folder {p.parent} does not exist", place=option, fix="create it or give another path")
    return p


@click.group(cls=HetflowGroup)
@click.option("--debug", is_flag=True, help="Show the traceback of an error instead of one line.")
@click.version_option(package_name="hetflow")
def main(debug: bool) -> None:
    """hetflow: run and simulate workflows of heterogeneous tasks."""


def load_inputs(workflow: str, platform: str | None) -> tuple[Workflow, Platform | None]:
    """The workflow, and the platform given, else the machines a WfFormat workflow file records, else None."""
    from hetflow.spec.load import load_platform, load_workflow, recorded_platform

    wf = load_workflow(workflow)
    return wf, load_platform(platform) if platform is not None else recorded_platform(workflow)


PARTITION_HELP = "A named share of every node, NAME=CORES[,GPUS] as fractions or percents (e.g. uq=0.5, dd=50%,100%)."


def partition_option(values: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """--partition values as the shares Session and run_simulation take (checked there)."""
    out: dict[str, dict[str, str]] = {}
    for v in values:
        name, sep, rest = v.partition("=")
        parts = rest.split(",")
        if not sep or not name.strip() or not 1 <= len(parts) <= 2 or not all(p.strip() for p in parts):
            raise SpecError(f"--partition {v!r}", place="--partition", fix="write NAME=CORES or NAME=CORES,GPUS")
        out[name.strip()] = dict(zip(("cores", "gpus"), (p.strip() for p in parts), strict=False))
    return out
