"""The results table holds the results' own numbers, and the gain against the sync run of the same policy."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from hetflow.metrics.result import asynchronicity_gain
from hetflow.report import print_table, result_rows, results_table, table_text
from hetflow.report.table import GAIN, NO_VALUE, result_columns
from hetflow.sim.simulator import SimResult, run_simulation
from hetflow.spec.platform import Platform
from hetflow.spec.workflow import Workflow


def _cells(results: list[SimResult], row: tuple[str, ...]) -> dict[str, str]:
    return dict(zip(result_columns(results), row, strict=True))


def test_rows_hold_the_numbers_of_the_results(seed_results: list[SimResult]) -> None:
    rows = result_rows(seed_results)
    assert len(rows) == len(seed_results)
    for row, r in zip(rows, seed_results, strict=True):
        c = _cells(seed_results, row)
        assert (c["workflow"], c["platform"], c["mode"], c["policy"]) == ("arbitrary", "summit-30", r.mode, "fifo")
        assert float(c["makespan s"]) == pytest.approx(r.makespan_s, abs=0.05)
        assert float(c["lower bound s"]) == pytest.approx(r.lower_bound_s, abs=0.05)
        assert float(c["CPU %"]) == pytest.approx(100 * r.cpu_utilization, abs=0.05)
        assert float(c["GPU %"]) == pytest.approx(100 * r.gpu_utilization, abs=0.05)
        assert int(c["tasks"]) == r.tasks == 2420
    assert [_cells(seed_results, row)["makespan s"] for row in rows] == ["2000.0", "1800.0", "1700.0"]


def test_gain_is_against_the_sync_run(seed_results: list[SimResult]) -> None:
    sync = seed_results[0]
    gains = [_cells(seed_results, row)["gain vs sync"] for row in result_rows(seed_results)]
    assert gains[0] == NO_VALUE  # the sync run itself
    for cell, r in zip(gains[1:], seed_results[1:], strict=True):
        assert float(cell.rstrip("%")) == pytest.approx(100 * asynchronicity_gain(r, sync), abs=0.05)
    assert gains[1:] == ["10.0%", "15.0%"]


def test_gain_needs_a_sync_run_of_the_same_policy(
    seed_results: list[SimResult], seed_workflow: Workflow, seed_platform: Platform
) -> None:
    heft = run_simulation(seed_workflow, seed_platform, "task", "heft")
    three = [seed_results[2], seed_results[0], heft]
    rows = result_rows(three)
    assert _cells(three, rows[0])["gain vs sync"] == "15.0%"  # sync listed after it still counts
    assert _cells(three, rows[2])["gain vs sync"] == NO_VALUE  # no sync run under heft
    # no row has a sync run to be compared with: no gain column at all, in rows, table or text
    assert GAIN not in result_columns(seed_results[1:]) and GAIN not in result_columns([heft, seed_results[0]])
    assert all(len(row) == len(result_columns(seed_results[1:])) for row in result_rows(seed_results[1:]))
    assert GAIN not in table_text(seed_results[1:]) and GAIN not in table_text([seed_results[0]])


def test_text_and_console_show_every_row(seed_results: list[SimResult]) -> None:
    text = table_text(seed_results)
    assert "arbitrary on summit-30" in text
    for header in ("makespan s", "lower bound s", "CPU %", "GPU %", "gain vs sync"):
        assert header in text
    for value in ("2000.0", "1800.0", "1700.0", "10.0%", "15.0%"):
        assert value in text
    assert "\x1b[" not in text  # plain text, no colour codes

    buffer = io.StringIO()
    print_table(seed_results, Console(file=buffer, width=200, color_system=None))
    assert buffer.getvalue() == text
    assert results_table(seed_results).row_count == 3
