"""What the command line shows: labelled lines (through rich, or through click alone for validate, which must start
fast, styled as rich would), counts and lists of names, and option help that names what a registry holds. Only cli
imports it; nothing here imports more than click until it is called."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

import click

if TYPE_CHECKING:
    from rich.console import Console

    from hetflow.spec import Platform

LABEL_WIDTH = 15


class RegistryOption(click.Option):
    """An option whose help names what a registry holds (policies, backends), looked up only when the help is
    shown: importing the registry at startup would make every command pay for it. The help has one {} for the names."""

    def __init__(self, *args: Any, listing: Callable[[], Iterable[str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.listing = listing

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        template = self.help
        self.help = (template or "{}").format(", ".join(self.listing()))
        try:
            return super().get_help_record(ctx)
        finally:
            self.help = template


def policy_names() -> list[str]:
    """The placement policies by name (for --policy's help)."""
    from hetflow.policies import POLICIES, SITE_POLICIES

    return [*POLICIES, *SITE_POLICIES]


def backend_names() -> list[str]:
    """The executors by name (for --backend's help)."""
    from hetflow.executors import EXECUTORS

    return list(EXECUTORS)


def name_list(names: Sequence[str], limit: int = 8) -> str:
    """Names joined by commas, the first limit of them and how many more."""
    more = len(names) - limit
    return ", ".join(names[:limit]) + (f", … (+{more})" if more > 0 else "")


def path_text(names: Sequence[str], limit: int = 8) -> str:
    """A path of names joined by arrows, its middle elided when it is long."""
    if len(names) > limit:
        names = [*names[:4], f"… ({len(names) - 7} more)", *names[-3:]]
    return " -> ".join(names)


def plural(n: int, noun: str) -> str:
    """A count and its noun, e.g. 1 task, 2,420 tasks."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def line(console: Console, label: str, value: str) -> None:
    """One labelled line, the label bold in a column of its own."""
    from rich.text import Text

    console.print(Text.assemble((f"{label:<{LABEL_WIDTH}}", "bold"), value))


def echo_line(label: str, value: str, styled: bool) -> None:
    """One line of validate: what line prints, through click alone (importing rich would cost validate a fifth of
    its time)."""
    click.echo(click.style(f"{label:<{LABEL_WIDTH}}", bold=True) + value, color=styled)


def styled(stream: TextIO) -> bool:
    """Whether rich would style what is written to stream (its rules: TTY_COMPATIBLE, FORCE_COLOR, a terminal that
    is not a dumb one), so that validate looks like the commands that print through rich."""
    env = os.environ
    if env.get("TTY_COMPATIBLE", "") in ("0", "1"):
        terminal = env["TTY_COMPATIBLE"] == "1"
    elif "FORCE_COLOR" in env:
        terminal = env["FORCE_COLOR"] != ""
    else:
        try:
            terminal = stream.isatty()
        except ValueError:  # a closed stream
            terminal = False
    return terminal and env.get("TERM", "").lower() not in ("dumb", "unknown")


def describe_platform(p: Platform) -> str:
    """A platform in one line: its nodes, cores, GPUs and memory."""
    from hetflow.spec.resources import format_memory

    memory = sum(t.count * t.memory for t in p.node_types)
    parts = [plural(p.n_nodes, "node"), plural(p.cores, "core"), f"{p.gpus:,g} GPUs"]
    if memory:
        parts.append(format_memory(memory))
    return f"{p.name}: " + ", ".join(parts)


_UNITS = (("years", 365.25 * 86400), ("months", 30.44 * 86400), ("days", 86400.0), ("h", 3600.0), ("min", 60.0))


def human_duration(seconds: float) -> str:
    """A duration in the largest unit that keeps it at 1 or more, e.g. 42.0 s, 3.5 min, 4.2 months."""
    for unit, size in _UNITS:
        if seconds >= size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:,.1f} s"
