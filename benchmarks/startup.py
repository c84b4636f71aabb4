"""Startup benchmark: how long the command line takes to print, beside a bare `python -c pass` in the same run.

Each command runs --runs times as a fresh process (interleaved, so a busy moment of the machine hits them all
alike); the median wall time is reported, and its ratio to `python -c pass`, so the figures compare across
machines. `hetflow` is the console script beside this Python, else `python -c "from hetflow.cli import main;
main()"`. The hetflow imported is the one on this Python's path: run it with PYTHONPATH=src to measure a checkout.
With PYTHONDONTWRITEBYTECODE set, a checkout's modules are compiled again at every start (about 20 ms more for
validate); unset it to measure what an installed hetflow costs ("bytecode_cached" in the output says which).
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = [str(ROOT / "examples/seed/arbitrary-workflow.yaml"), "--platform", str(ROOT / "examples/seed/summit-30.yaml")]


def hetflow_command() -> list[str]:
    script = Path(sys.executable).parent / "hetflow"
    return [str(script)] if script.exists() else [sys.executable, "-c", "from hetflow.cli import main; main()"]


def commands() -> dict[str, list[str]]:
    cli = hetflow_command()
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import hetflow": [sys.executable, "-c", "import hetflow"],
        "hetflow --help": [*cli, "--help"],
        "hetflow validate SEED": [*cli, "validate", *SEED],
        "hetflow simulate SEED": [*cli, "simulate", *SEED],
    }


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15, help="runs of each command; the median is reported")
    args = parser.parse_args()
    todo = commands()
    for argv in todo.values():  # warm the file cache, and fail early on a command that does not work
        wall(argv)
    times: dict[str, list[float]] = {name: [] for name in todo}
    for _ in range(args.runs):
        for name, argv in todo.items():
            times[name].append(wall(argv))
    base = statistics.median(times["python -c pass"])
    results = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "runs": args.runs,
        "bytecode_cached": not sys.flags.dont_write_bytecode,
        "hetflow": " ".join(Path(a).name if i == 0 else a for i, a in enumerate(hetflow_command())),
        "commands": {
            name: {"median_s": round(statistics.median(t), 4), "vs_python": round(statistics.median(t) / base, 2)}
            for name, t in times.items()
        },
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
