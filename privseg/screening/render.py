"""Screening reports for people: a terminal table, Markdown and self-contained HTML.

Columns are listed by risk (sensitive first, then direct identifiers, then confidence) under
a summary: how many columns are sensitive and need separate consent (PIPL Art. 29; minors'
data needs a guardian's consent, Art. 31), and which are direct identifiers. Markdown and
HTML come from jinja2 templates in ``privseg/report/templates``; the HTML has inline CSS and
loads nothing from the network.
"""

from __future__ import annotations

import io as _io
import json
from dataclasses import dataclass
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from privseg._templates import environment
from privseg.screening.report import ColumnVerdict, Evidence, ScreenReport
from privseg.taxonomy import Category, info

__all__ = ["render", "render_html", "render_json", "render_markdown", "render_text", "renderable"]


@dataclass(frozen=True)
class _Row:
    name: str
    categories: str
    tags: tuple[tuple[str, bool], ...]
    articles: str
    confidence: str
    evidence: tuple[str, ...]
    sampled: bool
    sensitive: bool
    direct: bool


def _label(c: Category) -> str:
    i = info(c)
    return f"{c.value} ({i.label_zh})"


def _evidence_line(e: Evidence) -> str:
    counted = f" {e.matched}/{e.examined}" if e.matched is not None else ""
    examples = f" e.g. {', '.join(e.examples)}" if e.examples else ""
    return f"{e.category.value}: {e.detector.value} [{e.rule}]{counted}{examples}"


def _row(c: ColumnVerdict) -> _Row:
    articles = dict.fromkeys(info(x).article for x in c.categories)
    return _Row(
        name=c.name,
        categories=", ".join(_label(x) for x in c.categories) or "—",
        tags=tuple((_label(x), info(x).sensitive) for x in c.categories),
        articles=", ".join(articles) or "—",
        confidence=f"{c.confidence:.2f}" if c.categories else f"no PI {c.confidence:.2f}",
        evidence=tuple(_evidence_line(e) for e in c.evidence),
        sampled=c.sampled,
        sensitive=c.sensitive,
        direct=c.direct_identifier,
    )


def _summary(report: ScreenReport) -> dict[str, Any]:
    minors = [c.name for c in report.columns if Category.MINOR in c.categories]
    return {
        "source": report.source,
        "rows": report.rows,
        "rows_examined": report.rows_examined,
        "mode": "full scan" if report.full else "sample",
        "columns": len(report.columns),
        "personal": len(report.personal_columns),
        "sensitive": [c.name for c in report.sensitive_columns],
        "minors": minors,
        "direct": [c.name for c in report.direct_identifiers],
        "sampled": [c.name for c in report.sampled_columns],
    }


def _context(report: ScreenReport) -> dict[str, Any]:
    return {"summary": _summary(report), "rows": [_row(c) for c in report.by_risk()]}


def render_markdown(report: ScreenReport) -> str:
    """Markdown report."""
    return environment().get_template("screening.md.j2").render(**_context(report))


def render_html(report: ScreenReport) -> str:
    """Self-contained HTML report (inline CSS, no scripts, no external resources)."""
    return environment().get_template("screening.html.j2").render(**_context(report))


def render_json(report: ScreenReport) -> str:
    """The JSON contract, pretty-printed, non-ASCII kept."""
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"


def renderable(report: ScreenReport) -> Group:
    """The text report as rich renderables (summary lines, then the table by risk)."""
    s = _summary(report)
    lines = [
        Text(
            f"Screening of {s['source']}: {s['rows']} rows, {s['rows_examined']} examined "
            f"({s['mode']})",
            style="bold",
        ),
        Text(
            f"{s['personal']} of {s['columns']} columns hold personal information; "
            f"{len(s['sensitive'])} sensitive (PIPL Art. 28, separate consent Art. 29): "
            f"{', '.join(s['sensitive']) or 'none'}"
        ),
        Text(f"Direct identifiers: {', '.join(s['direct']) or 'none'}"),
    ]
    if s["minors"]:
        lines.append(Text(f"Minors under 14 (guardian consent, Art. 31): {', '.join(s['minors'])}"))
    if s["sampled"]:
        lines.append(Text(f"Only sampled: {', '.join(s['sampled'])}", style="dim"))
    table = Table(show_lines=True, expand=False)
    for header in ("column", "categories", "PIPL", "conf.", "evidence"):
        table.add_column(header, overflow="fold")
    for row in _context(report)["rows"]:
        style = "bold red" if row.sensitive else ("yellow" if row.direct else "")
        name = row.name + (" *" if row.sampled else "")
        table.add_row(
            Text(name, style=style),
            Text(row.categories),
            Text(row.articles),
            Text(row.confidence),
            Text("\n".join(row.evidence)),
        )
    return Group(*lines, table)


def render_text(report: ScreenReport, *, width: int = 140) -> str:
    """Plain-text report (no colour codes), for files and pipes."""
    buffer = _io.StringIO()
    Console(file=buffer, width=width, no_color=True, highlight=False).print(renderable(report))
    return buffer.getvalue()


def render(report: ScreenReport, fmt: str) -> str:
    """The report in one of ``text``, ``json``, ``md``, ``html``."""
    renderers = {
        "text": render_text,
        "json": render_json,
        "md": render_markdown,
        "html": render_html,
    }
    return renderers[fmt](report)
