"""Reports for compliance officers, in self-contained HTML and Markdown.

- screening report: per column categories, PIPL article, confidence and evidence
  (:func:`render_screening`, the screening stage's renderer);
- run report: an evidence pack for a personal information protection impact assessment
  (PIPL Art. 55-56), built from the audit trail (:func:`render_run`);
- privacy-budget report: per dataset and purpose, totals, a chart of cumulative epsilon and every
  release with its analytic value, from the ledger (:func:`render_budget`).

HTML reports carry inline CSS and inline SVG charts only, a Content-Security-Policy that
forbids scripts and network loads, and print styles. No report holds a data value.
"""

from __future__ import annotations

from privseg._templates import ReportFormat
from privseg.report.budget import render_budget
from privseg.report.run import render_run
from privseg.report.screening import load_screen_json, render_screening

__all__ = ["ReportFormat", "load_screen_json", "render_budget", "render_run", "render_screening"]
