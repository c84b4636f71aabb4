"""The placement knobs of a run across sites (--deadline, --max-slowdown) and the site policy they shape."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from hetflow.errors import SpecError

if TYPE_CHECKING:
    from hetflow.cli.footprint import Accounting
    from hetflow.core.policy import Policy
    from hetflow.spec.workflow import Workflow

F = TypeVar("F", bound=Callable[..., Any])


def placement_options(f: F) -> F:
    """--deadline TIME and --max-slowdown FRACTION."""
    f = click.option(
        "--max-slowdown",
        type=click.FloatRange(min=0),
        default=0.05,
        show_default=True,
        metavar="FRACTION",
        help="carbon: a set may finish this much later than at its fastest site (0.05: 5%).",
    )(f)
    return click.option(
        "--deadline",
        metavar="TIME",
        help="carbon-wait: finish within this time of the start, e.g. 24h (default: no waiting).",
    )(f)


def deadline_s(text: str | None) -> float | None:
    """Seconds of a --deadline such as 24h, 90min or 3600."""
    if text is None:
        return None
    from hetflow.spec.sites import parse_latency

    try:
        return parse_latency(float(text) if text.replace(".", "", 1).isdigit() else text)
    except SpecError:
        raise SpecError(f"{text!r} is not a time", place="--deadline", fix="write e.g. 24h, 90min or 3600") from None


def site_policy(name: str, wf: Workflow, accounting: Accounting, mode: str, knobs: tuple[str | None, float]) -> Policy:
    """The policy of that name for a simulated run across the sites from --start (else the first CSV's year),
    shaped by --deadline and --max-slowdown."""
    from hetflow.sim.sites import site_policy as shaped
    from hetflow.sites.intensity import default_start

    start = accounting.start if accounting.start is not None else default_start(accounting.sites)
    deadline, slowdown = knobs
    if not math.isfinite(slowdown):
        raise SpecError(f"{slowdown} is not a fraction", place="--max-slowdown", fix="give a finite number >= 0")
    series = accounting.series(start)
    return shaped(wf, accounting.sites, name, series, mode=mode, deadline=deadline_s(deadline), max_slowdown=slowdown)
