"""Screening results as frozen values, and their JSON contract (issue 3, item 3).

A report never holds a raw cell value: evidence carries counts, the rule that fired and at
most a few masked examples (see :mod:`privseg.screening.masking`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from privseg.audit import RunRecorder
from privseg.taxonomy import Category, info

__all__ = ["ColumnVerdict", "Detector", "Evidence", "ScreenReport"]


class Detector(StrEnum):
    """Kind of detector that produced a piece of evidence."""

    HEADER = "header lexicon"
    PATTERN = "value pattern"
    VALIDATED = "value pattern + validator"
    VOCABULARY = "vocabulary"
    SHAPE = "shape"
    DERIVED = "derived"


@dataclass(frozen=True)
class Evidence:
    """One detector's support for one category in one column.

    ``matched`` of ``examined`` non-empty values supported the category (both ``None`` for
    header evidence); ``rule`` names the lexicon term, pattern, validator or vocabulary.
    Examples are masked, never raw:

    >>> ids = ["110105199003071239", "440305201506150024", "310104198512310089"]
    >>> column = privseg.screen(pd.DataFrame({"col_1": ids})).columns[0]
    >>> [c.value for c in column.categories]  # one holder is under 14
    ['minor', 'national_id']
    >>> [(e.category.value, e.detector.value, e.matched, e.examined) for e in column.evidence]
    [('minor', 'derived', 1, 3), ('national_id', 'value pattern + validator', 3, 3)]
    >>> column.evidence[1].examples[0]
    '110***********1239'
    """

    category: Category
    detector: Detector
    rule: str
    matched: int | None = None
    examined: int | None = None
    examples: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "category": self.category.value,
            "detector": self.detector.value,
            "rule": self.rule,
            "matched": self.matched,
            "examined": self.examined,
            "examples": list(self.examples),
        }


@dataclass(frozen=True)
class ColumnVerdict:
    """What one column holds: categories strongest first, with the evidence.

    >>> report = privseg.screen(pd.DataFrame({"宗教信仰": ["佛教", "基督教", "伊斯兰教"]}))
    >>> verdict = report.columns[0]
    >>> [c.value for c in verdict.categories], verdict.sensitive
    (['religious_belief'], True)
    """

    name: str
    categories: tuple[Category, ...]
    sensitive: bool
    confidence: float
    evidence: tuple[Evidence, ...]
    sampled: bool
    examined: int = 0

    @property
    def direct_identifier(self) -> bool:
        """True when a category identifies a person on its own (name, ID, phone...)."""
        return any(info(c).direct_identifier for c in self.categories)

    @property
    def risk(self) -> tuple[int, int, int, float]:
        """Sort key, highest risk first when sorted in reverse."""
        sensitive = [c for c in self.categories if info(c).sensitive]
        return (
            int(self.sensitive),
            int(self.direct_identifier),
            len(sensitive) + len(self.categories),
            self.confidence,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form (issue 3 contract, plus ``sampled``)."""
        return {
            "name": self.name,
            "categories": [c.value for c in self.categories],
            "sensitive": self.sensitive,
            "confidence": round(self.confidence, 3),
            "evidence": [e.to_dict() for e in self.evidence],
            "sampled": self.sampled,
        }


@dataclass(frozen=True)
class ScreenReport:
    """Column-by-column screening result of one table; ``to_dict()`` is the JSON contract.

    >>> table = pd.DataFrame({"手机号": ["13812345678", "13912345679"], "金额": ["12.5", "3"]})
    >>> report = privseg.screen(table, source="customers.csv")
    >>> [c.name for c in report.personal_columns], [c.name for c in report.sensitive_columns]
    (['手机号'], [])
    >>> sorted(report.to_dict())
    ['columns', 'rows', 'rows_examined', 'source']
    """

    source: str
    rows: int
    rows_examined: int
    columns: tuple[ColumnVerdict, ...]
    full: bool = False

    @property
    def sensitive_columns(self) -> tuple[ColumnVerdict, ...]:
        """Columns holding PIPL Art. 28 sensitive personal information (need separate consent)."""
        return tuple(c for c in self.columns if c.sensitive)

    @property
    def personal_columns(self) -> tuple[ColumnVerdict, ...]:
        """Columns holding any personal information."""
        return tuple(c for c in self.columns if c.categories)

    @property
    def direct_identifiers(self) -> tuple[ColumnVerdict, ...]:
        """Columns that identify a person on their own."""
        return tuple(c for c in self.columns if c.direct_identifier)

    @property
    def sampled_columns(self) -> tuple[ColumnVerdict, ...]:
        """Columns of which only a sample was examined."""
        return tuple(c for c in self.columns if c.sampled)

    def record_to(self, record: RunRecorder, path: str | Path) -> None:
        """Audit this screening of ``path``: the input (hashed unless ``-``) and each
        column's categories."""
        source = None if str(path) == "-" else path
        if source is not None:
            record.add_input(source, rows=self.rows, columns=[c.name for c in self.columns])
        for verdict in self.columns:
            record.add_column(verdict.name, verdict.categories, "screen", source=source)
        record.set_metric("rows_examined", self.rows_examined)
        record.set_metric("full_scan", self.full)

    def by_risk(self) -> tuple[ColumnVerdict, ...]:
        """Columns, highest risk first (stable for ties)."""
        return tuple(sorted(self.columns, key=lambda c: c.risk, reverse=True))

    def column(self, name: str) -> ColumnVerdict:
        """The verdict of one column by its header."""
        for verdict in self.columns:
            if verdict.name == name:
                return verdict
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``privseg screen --format json``."""
        return {
            "source": self.source,
            "rows": self.rows,
            "rows_examined": self.rows_examined,
            "columns": [c.to_dict() for c in self.columns],
        }
