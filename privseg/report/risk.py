"""The re-identification risk report (``privseg risk``) as text, JSON, Markdown or
self-contained HTML with a class-size chart."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from privseg.anonymity.measures import RiskReport

__all__ = ["RiskFormat", "render", "summary_lines"]


class RiskFormat(StrEnum):
    """Formats of ``privseg risk``."""

    TEXT = "text"
    JSON = "json"
    MD = "md"
    HTML = "html"


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def summary_lines(report: RiskReport) -> list[str]:
    """The figures as short lines for people (text format, and the run report)."""
    pop = report.population
    lines = [
        f"quasi-identifiers ({report.quasi_source.value}): {', '.join(report.quasi_identifiers)}",
        f"rows: {report.rows}, classes: {report.classes}",
        f"k-anonymity: {report.k_anonymity} (smallest class)",
        f"sample uniques: {_pct(report.sample_uniques)} of records alone in their class",
        f"records below k={report.k}: {_pct(report.records_below_k)}",
        f"prosecutor risk: max {report.prosecutor_max:.3g}, mean {report.prosecutor_mean:.3g}",
        f"population uniques ({pop.model.value}, population {pop.population}, sampling fraction "
        f"{pop.sampling_fraction:.3g}): {pop.uniques:.1f} ({_pct(pop.share)})",
    ]
    lines += [f"l-diversity of {c}: {v}" for c, v in report.l_diversity.items()]
    return lines


def _context(report: RiskReport) -> dict[str, Any]:
    from privseg._templates import markup
    from privseg.report.charts import class_sizes

    return {
        "r": report,
        "pop": report.population,
        "chart": markup(class_sizes(report.class_size_histogram, report.k)),
    }


def render(report: RiskReport, fmt: RiskFormat | str) -> str:
    """The report in ``fmt``; JSON is the contract of ``RiskReport.to_dict``."""
    kind = RiskFormat(fmt)
    if kind is RiskFormat.JSON:
        return json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if kind is RiskFormat.TEXT:
        return f"re-identification risk of {report.source}\n" + "".join(
            f"  {line}\n" for line in summary_lines(report)
        )
    from privseg._templates import render_template

    return render_template(f"risk.{kind.value}.j2", **_context(report))
