"""`hetflow discover`: this machine's features (hetflow.discover), as a person reads them or as JSON."""

from __future__ import annotations

import importlib.util
import json
import sys
from functools import partial

import click

from hetflow.cli.group import main
from hetflow.terminal import echo_line, styled


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the features as JSON (a --system for specialize).")
def discover(as_json: bool) -> None:
    """Show this machine's features: architecture, CPU model, vector extensions, cores, memory, GPUs (through NVML,
    with the gpu extra), compilers, MPI and BLAS/FFT libraries.

    Looked up afresh each time (well under a second). The JSON is what a node's `features:` in a platform file
    holds, and what `hetflow specialize --system` reads.
    """
    from hetflow.discover.machine import discover as found_here
    from hetflow.discover.machine import isa_level
    from hetflow.spec.resources import format_memory

    f = found_here()
    if as_json:
        click.echo(json.dumps(f.as_dict(), indent=2))
        return
    say = partial(echo_line, styled=styled(sys.stdout))
    level = isa_level(f)
    say("architecture", f"{f.arch}" + (f" ({level})" if level else ""))
    say("cpu", f.cpu_model or "unknown")
    say("vector", " ".join(sorted(f.isa)) or "none found")
    say("cores", f"{f.cores}")
    say("memory", format_memory(f.memory) if f.memory else "unknown")
    if not f.gpus:
        nvml = importlib.util.find_spec("pynvml") is not None
        say("gpus", "none found" + ("" if nvml else " (NVML needs the gpu extra: pip install 'hetflow[gpu]')"))
    for i, g in enumerate(f.gpus):
        memory = format_memory(g.memory) if g.memory else "? memory"
        say(
            "gpus" if i == 0 else "",
            f"{i}: {g.model}, {memory}, compute {g.compute_capability or '?'}, "
            f"driver {g.driver or '?'}, CUDA {g.cuda or '?'}",
        )
    software = [f"{name} {version}".strip() for name, version in sorted(f.libs.items())]
    say("software", ", ".join(software) or "none found")
