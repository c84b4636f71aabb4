"""`hetflow compare A B`: is A faster than B? Each side is samples of a time: a result file (`hetflow bench --json`,
`hetflow simulate --repeat N --json`), a JSON list of numbers, a text or CSV column, or journals of real runs (one
makespan each: a journal file, a folder of them, a glob). The answer is hetflow.stats.compare's sentence."""

from __future__ import annotations

import csv
import glob
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hetflow.cli.group import main
from hetflow.errors import SpecError

if TYPE_CHECKING:
    from hetflow.stats import Comparison, Summary

SQLITE_MAGIC = b"SQLite format 3\x00"
MAX_BYTES = 64 * 1024 * 1024  # a result file larger than this is not samples of a time
USAGE_FIX = "give two result files (hetflow compare A B) or two groups (hetflow compare --a J1 J2 ... --b K1 K2 ...)"


def split_sides(tokens: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The paths of side A and side B: `A B`, or `--a P... --b P...` (a folder, a glob or files each)."""
    if "--a" not in tokens and "--b" not in tokens:
        if len(tokens) != 2:
            raise SpecError(f"compare takes two inputs, A and B; {len(tokens)} given", fix=USAGE_FIX)
        return [tokens[0]], [tokens[1]]
    sides: dict[str, list[str]] = {}
    current: list[str] | None = None
    for t in tokens:
        if t in ("--a", "--b"):
            if t in sides:
                raise SpecError(f"{t} given twice", place=t, fix="list all of a side's inputs after one --a or --b")
            current = sides[t] = []
        elif current is None:
            raise SpecError(f"{t!r} before --a", fix=USAGE_FIX)
        else:
            current.append(t)
    if not sides.get("--a") or not sides.get("--b"):
        raise SpecError("--a and --b each need at least one input", fix=USAGE_FIX)
    return sides["--a"], sides["--b"]


def expand(patterns: list[str]) -> list[Path]:
    """Paths: a folder gives its journals (*.db, sorted), a glob the files it matches; each must exist."""
    out: list[Path] = []
    for pattern in patterns:
        p = Path(pattern)
        if p.is_dir():
            found = sorted(p.glob("*.db"))
            if not found:
                raise SpecError("a folder without journals (*.db)", source=pattern, fix="give journals or result files")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        elif glob.has_magic(pattern) and (matches := sorted(glob.glob(pattern))):
            out.extend(Path(m) for m in matches if Path(m).is_file())
        else:
            raise SpecError("no such file", source=pattern, fix="check the path (quote a glob: 'runs/*.db')")
    return out


def journal_makespan(path: Path) -> float:
    """The makespan of the one finished run a journal records, every task done."""
    from hetflow.journal.read import read_journal
    from hetflow.metrics.journaled import journal_result

    view = read_journal(path)
    if len(view.runs) != 1:
        raise SpecError(
            f"the journal records {len(view.runs)} runs (resumed): its makespan spans the pause",
            source=str(path),
            fix="compare journals of single, uninterrupted runs",
        )
    counts = view.counts()
    if not view.complete() or set(counts) != {"done"}:
        states = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        raise SpecError(f"not a run whose tasks all ended done ({states})", source=str(path), fix="leave it out")
    return journal_result(view).makespan_s


def file_samples(path: Path, metric: str) -> list[float]:
    """The samples of one file: a journal's makespan, a result file's samples[metric], a JSON list, a column."""
    source = str(path)
    if path.stat().st_size > MAX_BYTES:
        raise SpecError(f"over {MAX_BYTES // 2**20} MiB", source=source, fix="give a result file or journals")
    with path.open("rb") as f:
        if f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC:
            if metric != "makespan_s":
                raise SpecError(f"a journal gives makespan_s, not {metric}", source=source, fix="drop --metric")
            return [journal_makespan(path)]
    text = path.read_text(errors="replace")
    try:
        data: Any = json.loads(text)
    except ValueError:
        return column(text, metric, source)
    if isinstance(data, dict) and isinstance(data.get("samples"), dict):
        if metric not in data["samples"]:
            have = ", ".join(data["samples"]) or "none"
            raise SpecError(f"no samples of {metric} (it has: {have})", source=source, fix="choose one with --metric")
        data = data["samples"][metric]
    if not isinstance(data, list) or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in data):
        raise SpecError(
            "JSON that is neither a result file nor a list of numbers",
            source=source,
            fix='give {"samples": {"makespan_s": [...]}} or [12.1, 11.8, ...]',
        )
    return [float(v) for v in data]


def column(text: str, metric: str, source: str) -> list[float]:
    """A text or CSV column of numbers: one per line, or the column named `metric` (or the only one) under a header.
    Blank lines and lines starting with # are skipped."""
    rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text)) if r and not r[0].lstrip().startswith("#")]
    if not rows:
        raise SpecError("no samples in the file", source=source, fix="give one number per line")
    at = 0
    if not all(is_number(c) for c in rows[0]):  # a header
        header, rows = rows[0], rows[1:]
        names = (metric, metric.removesuffix("_s"))
        found = [i for i, h in enumerate(header) if h in names]
        if not found and len(header) != 1:
            raise SpecError(
                f"no column {metric} (columns: {', '.join(header)})", source=source, fix="name it, or give --metric"
            )
        at = found[0] if found else 0
    elif len(rows[0]) > 1:
        raise SpecError("several columns and no header", source=source, fix=f"add a header naming {metric}")
    out = []
    for k, r in enumerate(rows, 1):
        if at >= len(r) or not is_number(r[at]):
            raise SpecError(f"not a number: {','.join(r)!r}", source=source, place=f"value {k}", fix="fix that row")
        out.append(float(r[at]))
    return out


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def side_samples(paths: list[Path], metric: str) -> list[float]:
    return [v for p in paths for v in file_samples(p, metric)]


def side_name(patterns: list[str], fallback: str) -> str:
    """A side's name in the sentence: its one file's or folder's name without suffix, else A or B."""
    return Path(patterns[0].rstrip("/")).stem if len(patterns) == 1 and not glob.has_magic(patterns[0]) else fallback


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("inputs", nargs=-1, type=click.UNPROCESSED, metavar="A B | --a PATH... --b PATH...")
@click.option("--confidence", type=click.FloatRange(0.5, 1, max_open=True), default=0.95, show_default=True)
@click.option("--metric", default="makespan_s", show_default=True, help="Which samples of a result file.")
@click.option("--paired", is_flag=True, help="Run i of A and run i of B share their inputs or seed.")
@click.option("--names", nargs=2, metavar="NAME_A NAME_B", help="The two sides' names in the sentence.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison and both summaries as JSON.")
def compare(
    inputs: tuple[str, ...],
    confidence: float,
    metric: str,
    paired: bool,
    names: tuple[str, str] | None,
    as_json: bool,
) -> None:
    """Is A faster than B? The ratio of median times with its interval, a Mann-Whitney U test and the A12 effect
    size, in one sentence to cite (Hoefler & Belli, SC'15). Refuses, exit 2, with fewer than 5 samples a side.

    A and B: result files of hetflow bench --json or simulate --repeat N --json, JSON lists of numbers, text or CSV
    columns, or journals (a file, a folder, a quoted glob: one makespan each); several per side with --a ... --b ..."""
    from hetflow.stats import compare as compare_samples
    from hetflow.stats import describe

    a_patterns, b_patterns = split_sides(inputs)
    a = side_samples(expand(a_patterns), metric)
    b = side_samples(expand(b_patterns), metric)
    if names is None:
        names = (side_name(a_patterns, "A"), side_name(b_patterns, "B"))
        if names[0] == names[1]:
            names = ("A", "B")
    label = metric.removesuffix("_s").replace("_", " ")
    result = compare_samples(a, b, confidence, paired=paired, names=names, metric=label)
    summaries = (describe(a, confidence), describe(b, confidence))
    if as_json:
        doc = {**result.as_dict(), "summaries": [s.as_dict() for s in summaries]}
        doc["inputs"] = [a_patterns, b_patterns]
        click.echo(json.dumps(doc, indent=2))
    else:
        print_comparison(result, summaries)


def print_comparison(result: Comparison, summaries: tuple[Summary, Summary]) -> None:
    from rich.console import Console

    from hetflow.cli.bench import summary_table

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
    console.print(summary_table(list(zip(result.names, summaries, strict=True))))
    console.print()
    console.print(result.sentence(), soft_wrap=True)
