"""What a table holds, without its values: format, encoding, rows, column types and null counts.

Text cells (CSV, TSV, JSONL) get a type inferred from how they are written; Parquet and XLSX
columns report their native type. The table is streamed, so any size works.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from privseg.io import TableFormat, open_table

__all__ = ["ColumnInfo", "ColumnType", "TableInfo", "describe"]


class ColumnType(StrEnum):
    """Inferred type of a column."""

    BOOLEAN = "boolean"
    INTEGER = "integer"
    FLOAT = "float"
    DATE = "date"
    DATETIME = "datetime"
    STRING = "string"
    EMPTY = "empty"


_DATE: Final = r"[0-9]{4}[-/](0?[1-9]|1[0-2])[-/](0?[1-9]|[12][0-9]|3[01])"
_TIME: Final = r"([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?"
_ZONE: Final = r"(Z|[+-][0-9]{2}:?[0-9]{2})?"
#: Text patterns, most specific first; the first pattern every value matches wins.
_TEXT_PATTERNS: Final[tuple[tuple[ColumnType, str], ...]] = (
    (ColumnType.BOOLEAN, r"^(?i:true|false)$"),
    (ColumnType.INTEGER, r"^[+-]?(0|[1-9][0-9]*)$"),
    (ColumnType.FLOAT, r"^[+-]?((0|[1-9][0-9]*)(\.[0-9]+)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"),
    (ColumnType.DATE, rf"^{_DATE}$"),
    (ColumnType.DATETIME, rf"^{_DATE}([ T]{_TIME}{_ZONE})?$"),
)
_PATTERNS: Final = dict(_TEXT_PATTERNS)


@dataclass(frozen=True)
class ColumnInfo:
    """One column: name, inferred type and number of missing cells."""

    name: str
    type: ColumnType
    nulls: int


@dataclass(frozen=True)
class TableInfo:
    """A table's shape; holds no cell values."""

    source: str
    format: TableFormat
    encoding: str | None
    rows: int
    columns: tuple[ColumnInfo, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``privseg info --format json``."""
        return {
            "source": self.source,
            "format": self.format.value,
            "encoding": self.encoding,
            "rows": self.rows,
            "columns": [
                {"name": c.name, "type": c.type.value, "nulls": c.nulls} for c in self.columns
            ],
        }


def _text_candidates(column: pd.Series, candidates: set[ColumnType]) -> set[ColumnType]:
    """The candidate types that every present value of ``column`` matches."""
    values = pc.drop_null(pa.array(column, type=pa.large_string(), from_pandas=True))
    survivors = set(candidates)
    # A small sample rules most types out cheaply; the survivors are checked on every value.
    for sample in (values.slice(0, 256), values):
        if len(sample) == 0:
            break
        survivors = {
            kind
            for kind in survivors
            if pc.all(pc.match_substring_regex(sample, _PATTERNS[kind])).as_py()
        }
        if not survivors:
            break
    return survivors


def _native_type(column: pd.Series) -> ColumnType:
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return ColumnType.BOOLEAN
    if pd.api.types.is_integer_dtype(dtype):
        return ColumnType.INTEGER
    if pd.api.types.is_float_dtype(dtype):
        return ColumnType.FLOAT
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return ColumnType.DATETIME
    present = column.dropna()
    if len(present) and all(
        isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in present
    ):
        return ColumnType.DATE
    return ColumnType.STRING


class _ColumnTally:
    def __init__(self, name: str, text: bool) -> None:
        self.name = name
        self.text = text
        self.nulls = 0
        self.present = 0
        self.candidates = {t for t, _ in _TEXT_PATTERNS}
        self.native: ColumnType | None = None

    def add(self, column: pd.Series) -> None:
        nulls = int(column.isna().sum())
        self.nulls += nulls
        self.present += len(column) - nulls
        if self.text:
            self.candidates = _text_candidates(column, self.candidates)
        elif len(column) - nulls:
            kind = _native_type(column)
            self.native = kind if self.native in (None, kind) else ColumnType.STRING

    def result(self) -> ColumnInfo:
        if self.present == 0:
            kind = ColumnType.EMPTY
        elif not self.text:
            kind = self.native or ColumnType.STRING
        else:
            order = [t for t, _ in _TEXT_PATTERNS if t in self.candidates]
            kind = order[0] if order else ColumnType.STRING
        return ColumnInfo(self.name, kind, self.nulls)


def describe(
    source: str | Path,
    *,
    fmt: TableFormat | None = None,
    encoding: str | None = None,
    chunk_rows: int = 200_000,
) -> TableInfo:
    """Format, encoding, row count and per-column type and null count of a table."""
    stream = open_table(source, chunk_rows=chunk_rows, fmt=fmt, encoding=encoding)
    tallies: list[_ColumnTally] = []
    rows = 0
    for chunk in stream:
        if not tallies:
            tallies = [_ColumnTally(str(c), stream.info.format.is_text) for c in chunk.columns]
        for tally, (_, column) in zip(tallies, chunk.items(), strict=True):
            tally.add(column)
        rows += len(chunk)
    return TableInfo(
        source=str(source),
        format=stream.info.format,
        encoding=stream.info.encoding,
        rows=rows,
        columns=tuple(t.result() for t in tallies),
    )
