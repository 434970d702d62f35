"""Screening report: the screening stage's own renderer, fed from a table or a saved screen JSON.

``privseg report screen`` either screens a table or reads the JSON that ``privseg screen
--format json`` wrote (issue 3 contract); both end in :func:`privseg.screening.render.render`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from privseg._templates import ReportFormat
from privseg.errors import InputError, MalformedInputError, SourceNotFoundError
from privseg.screening.report import ColumnVerdict, Detector, Evidence, ScreenReport
from privseg.taxonomy import Category

__all__ = ["is_screen_json", "load_screen_json", "render_screening"]


def is_screen_json(path: Path) -> bool:
    """True when ``path`` names a saved screening report (by its ``.json`` extension)."""
    return path.suffix.lower() == ".json"


def _evidence(data: Mapping[str, Any]) -> Evidence:
    return Evidence(
        category=Category(data["category"]),
        detector=Detector(data["detector"]),
        rule=str(data["rule"]),
        matched=data.get("matched"),
        examined=data.get("examined"),
        examples=tuple(str(e) for e in data.get("examples", ())),
    )


def _verdict(data: Mapping[str, Any]) -> ColumnVerdict:
    return ColumnVerdict(
        name=str(data["name"]),
        categories=tuple(Category(c) for c in data["categories"]),
        sensitive=bool(data["sensitive"]),
        confidence=float(data["confidence"]),
        evidence=tuple(_evidence(e) for e in data.get("evidence", ())),
        sampled=bool(data.get("sampled", False)),
    )


def load_screen_json(path: Path) -> ScreenReport:
    """A :class:`ScreenReport` from the JSON of ``privseg screen --format json``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise SourceNotFoundError("screening report does not exist", source=path) from error
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(
            f"cannot read screening report ({type(error).__name__})", source=path
        ) from error
    try:
        data = json.loads(text)
        columns = data["columns"]
        report = ScreenReport(
            source=str(data["source"]),
            rows=int(data["rows"]),
            rows_examined=int(data["rows_examined"]),
            columns=tuple(_verdict(c) for c in columns),
            full=bool(data.get("full", False)),  # not in the issue 3 contract: unknown
        )
    except json.JSONDecodeError as error:
        raise MalformedInputError(
            f"not JSON (line {error.lineno}): expected the output of 'privseg screen --format json'",
            source=path,
        ) from error
    except (KeyError, TypeError, ValueError) as error:
        # The message names the field or value kind, never a value (it could be anything).
        what = f"missing field {error}" if isinstance(error, KeyError) else type(error).__name__
        raise MalformedInputError(
            f"not a privseg screening report ({what}); expected 'privseg screen --format json'",
            source=path,
        ) from error
    return report


def render_screening(report: ScreenReport, fmt: ReportFormat) -> str:
    """The screening report in HTML or Markdown (the screening stage's templates)."""
    from privseg.screening.render import render

    return render(report, ReportFormat(fmt).value)
