"""hetflow compare: result files in every accepted form, journal groups of real runs, refusals in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from hetflow.cli import main

PLATFORM = "platform: two\nnodes:\n  - {type: n, cores: 2}\n"


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def samples(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(16)
    fast, slow = rng.lognormal(np.log(100), 0.05, 10), rng.lognormal(np.log(120), 0.05, 10)
    out = {name: tmp_path / name for name in ("fgd.json", "fifo.json", "list.json", "col.csv", "plain.txt")}
    out["fgd.json"].write_text(json.dumps({"format": "hetflow-samples/1", "samples": {"makespan_s": list(fast)}}))
    out["fifo.json"].write_text(json.dumps({"format": "hetflow-samples/1", "samples": {"makespan_s": list(slow)}}))
    out["list.json"].write_text(json.dumps(list(slow)))
    out["col.csv"].write_text("run,makespan_s\n" + "".join(f"{i},{v}\n" for i, v in enumerate(slow)))
    out["plain.txt"].write_text("# makespans\n" + "".join(f"{v}\n" for v in slow))
    return out


def test_result_files_give_the_sentence_and_the_table(samples: dict[str, Path]) -> None:
    r = invoke("compare", samples["fgd.json"], samples["fifo.json"])
    assert r.exit_code == 0, r.output
    sentence = r.stdout.strip().splitlines()[-1]
    assert sentence.startswith("fgd's median makespan is 0.8") and sentence.endswith("): fgd is faster.")
    assert "n = 10 and 10" in sentence and "95% CI" in sentence
    assert "median [95% CI]" in r.stdout and r.stdout.count(" 10 ") >= 2


@pytest.mark.parametrize("other", ["fifo.json", "list.json", "col.csv", "plain.txt"])
def test_every_form_of_b_reads_the_same_samples(samples: dict[str, Path], other: str) -> None:
    r = invoke("compare", samples["fgd.json"], samples[other], "--json", "--names", "fgd", "fifo")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    slow = json.loads(samples["list.json"].read_text())
    assert d["n"] == [10, 10] and d["summaries"][1]["median"] == pytest.approx(float(np.median(slow)))
    assert d["verdict"] == "faster" and d["significant"] and d["sentence"].startswith("fgd's median makespan")
    assert d["ratio_ci"][0] < d["ratio"] < d["ratio_ci"][1] < 1


def test_confidence_and_paired(samples: dict[str, Path]) -> None:
    d = json.loads(invoke("compare", samples["fgd.json"], samples["fifo.json"], "--json", "--paired",
                          "--confidence", "0.99").stdout)  # fmt: skip
    assert d["confidence"] == 0.99 and "99% CI" in d["sentence"] and d["geomean_ratio"] is not None
    assert d["paired"] and d["test"] == "Wilcoxon signed-rank, two-sided, exact" and "run for run" in d["sentence"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2, 3]", "too few samples to compare: n = 10 and 3 (fix: give at least 5 runs per side"),
        ('{"samples": {"cpu": [1, 2]}}', "no samples of makespan_s (it has: cpu)"),
        ('{"x": 1}', "JSON that is neither a result file nor a list of numbers"),
        ("a,b\n1,2\n", "no column makespan_s (columns: a, b)"),
        ("1\n2\nfast\n", "value 3: not a number: 'fast'"),
        ("[1, 2, 3, 4, 0]", "B's samples include a value <= 0"),
    ],
)
def test_bad_or_thin_input_is_refused_in_one_line(
    samples: dict[str, Path], tmp_path: Path, content: str, message: str
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(content)
    r = invoke("compare", samples["fgd.json"], bad, "--names", "A", "B")
    assert r.exit_code == 2 and message in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr


def test_usage_errors(samples: dict[str, Path]) -> None:
    assert "two inputs, A and B; 1 given" in invoke("compare", samples["fgd.json"]).stderr
    assert "no such file" in invoke("compare", samples["fgd.json"], "nowhere.json").stderr
    assert "--a and --b each need" in invoke("compare", "--a", samples["fgd.json"]).stderr
    assert "--a given twice" in invoke("compare", "--a", "x", "--a", "y", "--b", "z").stderr


@pytest.fixture(scope="module")
def journals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five real runs each of a short and a long nap, made by hetflow bench: journals of real runs."""
    root = tmp_path_factory.mktemp("journals")
    (root / "two.yaml").write_text(PLATFORM)
    for name, nap in (("short", 0.01), ("long", 1.5)):  # far apart: a loaded machine adds tenths of a second
        (root / f"{name}.yaml").write_text(f"workflow: {name}\ntasks:\n  - {{name: a, command: 'sleep {nap}'}}\n")
        r = invoke("bench", root / f"{name}.yaml", "-n", "5", "-p", root / "two.yaml", "--journals", root / name)
        assert r.exit_code == 0, r.output
    return root


def test_journal_folders_globs_and_files(journals: Path) -> None:
    short, long = journals / "short", journals / "long"
    by_folder = invoke("compare", short, long)
    assert by_folder.exit_code == 0, by_folder.output
    sentence = by_folder.stdout.strip().splitlines()[-1]  # 5 and 5 apart: the exact p is 2 / C(10, 5)
    assert sentence.startswith("short's median makespan is 0.") and "p = 0.0079, n = 5 and 5" in sentence
    assert "short is faster." in by_folder.stdout
    files = [str(p) for p in sorted(short.glob("*.db"))]
    by_files = invoke("compare", "--a", *files, "--b", str(long / "*.db"), "--json")
    d = json.loads(by_files.stdout)
    assert d["n"] == [5, 5] and d["p_value"] == pytest.approx(2 / 252) and d["names"] == ["A", "B"]
    assert 0.01 / 1.5 < d["ratio"] < 1


def test_a_journal_of_a_failed_run_is_refused(journals: Path, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("workflow: bad\ntasks:\n  - {name: a, command: 'exit 3'}\n")
    r = invoke("run", tmp_path / "bad.yaml", "-p", journals / "two.yaml", "--journal", tmp_path / "bad.db")
    assert r.exit_code == 1
    c = invoke(
        "compare", "--a", journals / "short", "--b", tmp_path / "bad.db", *sorted((journals / "long").glob("*.db"))
    )
    assert c.exit_code == 2 and "bad.db: not a run whose tasks all ended done (1 failed)" in c.stderr
    m = invoke("compare", journals / "short", journals / "long", "--metric", "cpu_s")
    assert m.exit_code == 2 and "a journal gives makespan_s, not cpu_s" in m.stderr
