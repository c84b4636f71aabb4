"""What a person looks at after a run: a terminal table, plots and an HTML report."""

from hetflow.report.html import write_report
from hetflow.report.plots import gantt_figure, save_png, utilization_figure
from hetflow.report.table import print_table, result_rows, results_table, table_text

__all__ = [
    "gantt_figure",
    "print_table",
    "result_rows",
    "results_table",
    "save_png",
    "table_text",
    "utilization_figure",
    "write_report",
]
