"""The run report (`paddleseg-imbalance report SAVE_DIR`): one self-contained HTML page
of a run's evaluations, plots and error panels. Reads files only; no paddle."""
from paddleseg_imbalance.report.page import REPORT_FILE, SECTIONS, render, write_report
from paddleseg_imbalance.report.run_files import ReportInputError

__all__ = ["REPORT_FILE", "SECTIONS", "ReportInputError", "render", "write_report"]
