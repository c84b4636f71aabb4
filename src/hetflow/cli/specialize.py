"""`hetflow specialize`: the best build of an application per node type, from its specialization points (XaaS JSON)
and the nodes' features (hetflow.discover.specialize)."""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hetflow.cli.group import main
from hetflow.terminal import echo_line, styled

if TYPE_CHECKING:
    from hetflow.discover.specialize import Build
    from hetflow.spec.features import Features


@main.command()
@click.argument("points")
@click.option("--system", metavar="SYSTEM.json", help="A node's features, as `hetflow discover --json` prints them.")
@click.option("--platform", "-p", "platform", metavar="P", help="A platform file whose node types have `features:`.")
@click.option("--json", "as_json", is_flag=True, help="Print the builds as JSON.")
@click.option(
    "--emit-variants", "emit", metavar="SET", help="Print the variants of task set SET (YAML), one per build."
)
def specialize(points: str, system: str | None, platform: str | None, as_json: bool, emit: str | None) -> None:
    """Pick the best build of an application for each node type.

    POINTS is the application's specialization points in the XaaS JSON shape (gpu_build, gpu_backends with minimum
    versions and flags, simd_vectorization, parallel, linear algebra and FFT libraries, architectures). Each node
    type's features (--platform, --system, else this machine's) choose the best vector level and GPU backend, and
    the libraries the node has; the flags that make that build are printed, with what the build requires of a node.
    --emit-variants SET prints, for task set SET, one variant per distinct build with that `requires:` (and a GPU
    for GPU builds), to paste under the set in a workflow: the engine then runs each build only where it fits.
    """
    from hetflow.discover.points import points_from_dict
    from hetflow.discover.specialize import build_for
    from hetflow.spec.load import read_document

    pts = points_from_dict(read_document(points), points)
    builds: list[tuple[str, Build | None]] = [
        (name, build_for(pts, name, features) if features is not None else None)
        for name, features in _node_types(system, platform)
    ]
    if emit is not None:
        click.echo(_variants(emit, points, [b for _, b in builds if b is not None]), nl=False)
    elif as_json:
        out = [b.as_dict() if b is not None else {"node_type": n, "supported": None} for n, b in builds]
        click.echo(json.dumps({"points": points, "builds": out}, indent=2))
    else:
        _print(builds)


def _node_types(system: str | None, platform: str | None) -> list[tuple[str, Features | None]]:
    """(node type, its features or None) from --system, --platform, else this machine."""
    from hetflow.errors import SpecError
    from hetflow.spec.features import features_from_dict

    if system is not None and platform is not None:
        raise SpecError("--system and --platform were both given", place="--system", fix="give one of them")
    if system is not None:
        from hetflow.spec.load import read_document

        try:
            return [(Path(system).stem, features_from_dict(read_document(system)))]
        except SpecError as exc:
            raise exc.at(system) from None
    if platform is not None:
        from hetflow.spec.load import load_platform

        return [(t.type, t.features) for t in load_platform(platform).node_types]
    from hetflow.discover.machine import discover

    return [("local", discover())]


def _print(builds: list[tuple[str, Build | None]]) -> None:
    say = partial(echo_line, styled=styled(sys.stdout))
    for name, b in builds:
        if b is None:
            say(name, "no features known (declare features: on the node type, or use hetflow discover --json there)")
            continue
        if not b.supported:
            say(name, "not supported: " + "; ".join(b.notes))
            continue
        parts = [b.simd or "no vector level", b.gpu_backend or "no GPU", *b.parallel]
        parts += [x for x in (b.linear_algebra, b.fft, b.gpu_fft) if x]
        say(name, ", ".join(parts))
        say("", " ".join(b.flags) if b.flags else "(the default build: no flags)")
        if b.requires is not None:
            say("", "requires " + json.dumps(b.requires.as_dict(), separators=(", ", ": ")))
        for note in b.notes:
            say("", f"note: {note}")


def _variants(task_set: str, points: str, builds: list[Build]) -> str:
    """YAML: the variants of a task set, one per distinct (requires, GPU) among the supported builds."""
    import yaml

    distinct: dict[str, tuple[dict[str, Any], list[str], tuple[str, ...]]] = {}
    for b in builds:
        if not b.supported:
            continue
        variant: dict[str, Any] = {}
        if b.gpu_backend is not None:
            variant["gpus"] = 1
        variant["requires"] = b.requires.as_dict() if b.requires is not None else {}
        key = json.dumps(variant, sort_keys=True)
        distinct.setdefault(key, (variant, [], b.flags))[1].append(b.node_type)
    lines = [f"# variants of {task_set} for {points}: one per distinct build, the flags of each above it", "variants:"]
    for variant, types, flags in distinct.values():
        lines.append(f"  # {', '.join(types)}: {' '.join(flags) or '(the default build)'}")
        body = yaml.safe_dump([variant], default_flow_style=None, sort_keys=False).rstrip("\n")
        lines += ["  " + line for line in body.splitlines()]
    return "\n".join(lines) + "\n"
