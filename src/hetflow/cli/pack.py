"""`hetflow pack PODS.csv --nodes NODES.csv`: replay a cluster trace (Alibaba openb format) with packing policies and
report the unallocated GPUs as pods arrive (sim/pack.py), the way the FGD paper evaluates GPU packing."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

from hetflow.cli.group import main, note, output_dir
from hetflow.errors import SpecError

SEEDS_FIX = "write seeds as 42, 42-51 or 1,5,9"


def parse_seeds(text: str) -> list[int]:
    """Seeds from "42", "42-51" (inclusive) or "1,5,9"."""
    seeds: list[int] = []
    for part in text.split(","):
        a, dash, b = part.strip().partition("-")
        try:
            lo = int(a)
            hi = int(b) if dash else lo
        except ValueError:
            raise SpecError(f"bad seeds {text!r}", place="--seeds", fix=SEEDS_FIX) from None
        if hi < lo or hi - lo > 10_000:
            raise SpecError(f"bad seed range {part!r}", place="--seeds", fix=SEEDS_FIX)
        seeds.extend(range(lo, hi + 1))
    return seeds


def policy_names(text: str) -> list[str]:
    """`all` (every packing policy) or names separated by commas, each a known policy."""
    from hetflow.policies import PACKING, POLICIES

    names = list(PACKING) if text == "all" else [t.strip() for t in text.split(",") if t.strip()]
    for n in names:
        if n not in POLICIES:
            raise SpecError(f"unknown policy {n!r}", place="--policy", fix=f"use all or some of {', '.join(PACKING)}")
    return names


@main.command()
@click.argument("pods", type=click.Path(dir_okay=False))
@click.option("--nodes", "nodes_path", required=True, type=click.Path(dir_okay=False), help="The node list (CSV).")
@click.option("--policy", default="all", show_default=True, help="A policy, several (a,b) or all.")
@click.option("--seeds", default="42", show_default=True, help="Seeds of the draws: 42, 42-51 or 1,5,9.")
@click.option(
    "--inflate",
    default=1.3,
    show_default=True,
    type=float,
    help="Draw pods until their GPUs reach this x the cluster's.",
)
@click.option("--workers", default=0, type=int, help="Processes (0: one per core).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per policy, as a list.")
@click.option(
    "--report", "report", default=None, help="Write pack.png (the curves of all policies) and pack.json here."
)
def pack(
    pods: str, nodes_path: str, policy: str, seeds: str, inflate: float, workers: int, as_json: bool, report: str | None
) -> None:
    """Replay the pods of a cluster trace onto its nodes with packing policies; report unallocated GPUs."""
    from hetflow.sim.openb import read_nodes, read_pods
    from hetflow.sim.pack import pack as replay_all

    if not 1.0 <= inflate <= 10.0:
        raise SpecError(f"--inflate {inflate} is out of range", place="--inflate", fix="give 1.0 to 10.0, e.g. 1.3")
    names, seed_list = policy_names(policy), parse_seeds(seeds)
    folder = output_dir(report, "--report")
    nodes, pod_list = read_nodes(Path(nodes_path)), read_pods(Path(pods))
    if not any(n.gpu_units for n in nodes):
        raise SpecError("no node has a GPU", source=nodes_path, fix="give a node list with GPU nodes")
    t0 = time.perf_counter()
    results = replay_all(nodes, pod_list, names, seed_list, inflate, workers or os.cpu_count() or 1)
    wall = time.perf_counter() - t0
    rows = [r.to_json() for r in results]
    for row in rows:
        row["wall_seconds"] = round(wall, 2)
    if folder is not None:
        from hetflow.report.plots import packing_curves, save_png

        folder.mkdir(parents=True, exist_ok=True)
        curves = {r.policy: (r.median_curve, *r.band) for r in results}
        title = f"{Path(pods).name}, {len(seed_list)} seed(s), inflate {inflate:g}"
        save_png(packing_curves(curves, title), folder / "pack.png")
        (folder / "pack.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
        note(f"report: {folder / 'pack.png'}")
    if as_json:
        json.dump(rows, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return
    click.echo(f"{'policy':<16} {'unallocated GPU % at 100% arrived':>34} {'failed pods':>12}")
    for row in rows:
        spread = f"[{row['unallocated_gpu_pct_at_100_min']}, {row['unallocated_gpu_pct_at_100_max']}]"
        click.echo(f"{row['policy']:<16} {row['unallocated_gpu_pct_at_100']:>14} {spread:>19} {row['failed_pods']:>12}")
    click.echo(f"{len(names)} policies x {len(seed_list)} seeds in {wall:.1f} s")
