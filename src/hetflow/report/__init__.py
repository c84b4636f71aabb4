"""What a person looks at after a run: a terminal table, plots and an HTML report.

The names below are imported on first use (hetflow.lazy): the table needs rich, the plots matplotlib, and a command
that prints a table should not wait for matplotlib.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hetflow.report.html import write_report
    from hetflow.report.plots import gantt_figure, save_png, utilization_figure
    from hetflow.report.table import print_table, result_rows, results_table, table_text, with_skipped
else:
    from hetflow.lazy import exports

    __getattr__ = exports(
        __name__,
        {
            "hetflow.report.html": ["write_report"],
            "hetflow.report.plots": ["gantt_figure", "save_png", "utilization_figure"],
            "hetflow.report.table": ["print_table", "result_rows", "results_table", "table_text", "with_skipped"],
        },
    )

__all__ = [
    "gantt_figure",
    "print_table",
    "result_rows",
    "results_table",
    "save_png",
    "table_text",
    "utilization_figure",
    "with_skipped",
    "write_report",
]
