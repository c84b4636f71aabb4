"""Progress of long work as lines on stderr, each with the time of day: what a batch job's log keeps (a live bar
needs a terminal), and what tells someone running a long simulation that it moves. Work that ends within the first
interval prints nothing; --quiet prints none."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import click

from hetflow.cli.group import is_quiet, note
from hetflow.terminal import human_duration, plural

if TYPE_CHECKING:
    from hetflow.predict import Eta
    from hetflow.runtime import Progress, WorkflowRun
    from hetflow.sim.result import Running
    from hetflow.spec import Platform, Workflow

FIRST_S = 2.0  # the first line comes after this (or the interval, when shorter): short work stays quiet
LONG_BOUND_S = 30 * 86400.0  # a lower bound over this gets a warning before the work starts
PROGRESS_HELP = "Seconds between progress lines on stderr (the first after 2 s; 0: none)."


def every_option(f: Callable[..., object]) -> Callable[..., object]:
    """--progress-every: how often a progress line is printed."""
    return click.option(
        "--progress-every", "every", type=click.FloatRange(min=0), default=10.0, show_default=True, help=PROGRESS_HELP
    )(f)


class Ticker:
    """Says when the next progress line is due: after the first interval, then every `every` seconds."""

    def __init__(self, every: float) -> None:
        self.every = every if every > 0 and not is_quiet() else math.inf
        self._next = time.monotonic() + (min(FIRST_S, every) if self.every < math.inf else math.inf)

    def due(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.every
        return True

    @staticmethod
    def say(text: str) -> None:
        click.echo(f"{time.strftime('%H:%M:%S')} {text}", err=True)


def simulation_ticker(every: float, label: str, total: int) -> Callable[[Running], None] | None:
    """A run_simulation `progress` callback that prints a line when one is due: tasks done of total and the virtual
    time; None when no line will ever be printed. The simulation calls it every 256 engine steps (the flat kernel:
    every few thousand task ends), and it counts the tasks done only when a line is due."""
    ticker = Ticker(every)
    if ticker.every == math.inf:
        return None

    def tick(sim: Running) -> None:
        if ticker.due():
            done = sim.tasks_done()
            ticker.say(f"simulating {label}: {done:,}/{total:,} tasks done, at {human_duration(sim.now)} simulated")

    return tick


def warn_long(wf: Workflow, pf: Platform) -> None:
    """A warning before work whose lower bound is months: it is likely a mistake (a unit, a count)."""
    bound = pf.lower_bound(wf)
    if LONG_BOUND_S < bound < math.inf:  # inf: a task fits nowhere, which the run reports itself
        note(
            f"warning: lower bound: {human_duration(bound)} on {pf.name} "
            f"({plural(wf.n_tasks, 'task')}): the workflow cannot end sooner"
        )


def run_eta(run: WorkflowRun, p: Progress, expected: Mapping[str, float] | None = None) -> Eta | None:
    """The ETA of a running workflow: its tasks' expected run times (`expected` per set: predicted; else declared;
    a set declared without one: the mean its done tasks took, else that of every done task), the actual / expected
    ratio of those done so far, and the cores. A running task counts whole: the tasks that end first are the short
    ones, so the ratio so far runs low, and what a running task has done makes up for it. None while nothing is
    known: no run time declared or predicted, and no task done yet."""
    from hetflow.predict import eta

    took: dict[str, list[float]] = {}
    for iv in list(run.group.intervals):
        if iv.status == "done":
            took.setdefault(iv.set, []).extend([iv.end - iv.start] * iv.n)
    every = [d for ds in took.values() for d in ds]
    overall = sum(every) / len(every) if every else 0.0
    times: dict[str, float] = {}
    for s in run.workflow.sets:
        seen = took.get(s.name)
        times[s.name] = (expected or {}).get(s.name) or s.runtime or (sum(seen) / len(seen) if seen else overall)
    if not every and not any(times.values()):
        return None
    ended = [(times[name], d) for name, ds in took.items() if name in times for d in ds]
    remaining = [
        (times[s.name], s.resources.cores, max(s.count - len(took.get(s.name, ())), 0)) for s in run.workflow.sets
    ]
    return eta(ended, remaining, p.cores)


def eta_text(e: Eta | None) -> str:
    """'ETA 4.0 min (3.1 min - 5.2 min)', or 'ETA ?' while nothing is known."""
    if e is None:
        return "ETA ?"
    return f"ETA {human_duration(e.p50)} ({human_duration(e.p10)} - {human_duration(e.p90)})"
