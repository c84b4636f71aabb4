"""The command group `main` and what every command shares: its error handling, logging and verbosity, output checks
and input loading."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hetflow.errors import HetflowError, SpecError

if TYPE_CHECKING:
    from hetflow.spec import Platform, Workflow

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports a command that SIGINT ended
LABEL_WIDTH = 15


class HetflowGroup(click.Group):
    """A command group that turns a HetflowError into one line and exit status 2, and Ctrl-C into exit status 130,
    unless --debug is given."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # Ctrl-C before a command had anything to stop (run handles its own)
            if ctx.params.get("debug"):
                raise
            click.echo("interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
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
@click.option(
    "--verbose", "-v", count=True, help="Log what the runtime does on stderr (-v: runs, retries, nodes; -vv: more)."
)
@click.option("--quiet", "-q", is_flag=True, help="Print errors and results only: no progress, no warnings.")
@click.option("--log-file", metavar="FILE", help="Also append the log to FILE (INFO, or DEBUG with -vv).")
@click.version_option(package_name="hetflow")
@click.pass_context
def main(ctx: click.Context, debug: bool, verbose: int, quiet: bool, log_file: str | None) -> None:
    """hetflow: run and simulate workflows of heterogeneous tasks.

    Shell completion: eval "$(_HETFLOW_COMPLETE=bash_source hetflow)" in ~/.bashrc (zsh_source, fish_source too).
    """
    if quiet and verbose:
        raise SpecError("--quiet and --verbose together", place="--quiet", fix="give one of them")
    ctx.call_on_close(configure_logging(verbose, quiet, output_file(log_file, "--log-file")))


def configure_logging(verbose: int, quiet: bool, log_file: Path | None) -> Callable[[], None]:
    """Send the hetflow logger's records to stderr (WARNING; -v INFO, -vv DEBUG; --quiet ERROR) and to the log file;
    what undoes it (the command line may run again in the same process, as tests do)."""
    import logging  # here: `hetflow --help` does without it

    logger = logging.getLogger("hetflow")
    levels = (logging.WARNING, logging.INFO, logging.DEBUG)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.ERROR if quiet else levels[min(verbose, 2)])
    console.setFormatter(logging.Formatter("hetflow: %(message)s"))
    handlers: list[logging.Handler] = [console]
    if log_file is not None:
        file = logging.FileHandler(log_file, encoding="utf-8")
        file.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)
        file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handlers.append(file)
    before = logger.level
    logger.setLevel(min(h.level for h in handlers))
    for h in handlers:
        logger.addHandler(h)

    def undo() -> None:
        for h in handlers:
            logger.removeHandler(h)
            h.close()
        logger.setLevel(before)

    return undo


def is_quiet() -> bool:
    """Whether --quiet was given: then only errors and results are printed (no progress, no notes on stderr)."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.find_root().params.get("quiet"))


def note(text: str) -> None:
    """A line for the person watching on stderr (a warning, where a report went), unless --quiet."""
    if not is_quiet():
        click.echo(text, err=True)


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
