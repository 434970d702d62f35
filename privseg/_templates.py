"""The jinja2 environment of every report: templates in ``report/templates/``, HTML autoescaped.

A leaf module, so that screening renders its report without importing the report package.

Templates named ``*.html.j2`` are autoescaped; Markdown templates (``*.md.j2``) escape text
explicitly with the ``md`` filter, which also neutralizes inline HTML (a Markdown viewer would
otherwise run a column named ``<script>``).
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

__all__ = ["TEMPLATES", "ReportFormat", "environment", "markup", "md", "render_template"]

TEMPLATES = Path(__file__).resolve().parent / "report" / "templates"


class ReportFormat(StrEnum):
    """Formats every report renders to."""

    HTML = "html"
    MD = "md"

    @property
    def suffix(self) -> str:
        """Template suffix: ``.html.j2`` or ``.md.j2``."""
        return f".{self.value}.j2"


# Characters with Markdown meaning inside a table cell (< > & are HTML-escaped first).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md(value: object) -> str:
    """Text safe inside a Markdown table cell: HTML-escaped, Markdown specials backslashed."""
    text = " ".join(str(value).split())  # newlines would end the table row
    text = str(escape(text))  # &, <, >, quotes -> entities (no inline HTML survives)
    return _MD_SPECIAL.sub(r"\\\1", text)


def _num(value: float | None, digits: int = 4) -> str:
    """A number for people: ``—`` for None, else ``digits`` significant digits."""
    return "—" if value is None else f"{value:.{digits}g}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The shared environment (autoescape on for ``.html.j2``, strict undefined)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "html.j2"], default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = md
    env.filters["num"] = _num
    env.filters["pct"] = _pct
    return env


def render_template(name: str, **context: Any) -> str:
    """Render one template of ``templates/``."""
    return environment().get_template(name).render(**context)


def markup(svg: str) -> Markup:
    """Mark an SVG built by :mod:`privseg.report.charts` (every text in it escaped) as safe."""
    return Markup(svg)
