"""Writing tables atomically in any format, whole or chunk by chunk."""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from privseg._files import atomic_path
from privseg.errors import (
    EmptyInputError,
    MalformedInputError,
    UnsupportedFormatError,
)
from privseg.io._formats import XLSX_MAX_COLUMNS, XLSX_MAX_ROWS
from privseg.io._source import STDIO_FORMATS, TableFormat, format_of, is_stdio


def _to_arrow(df: pd.DataFrame) -> pa.Table:
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise MalformedInputError(f"duplicate column names {dupes} in the table to write")
    arrays = []
    for _, column in df.items():
        try:
            array = pa.array(column, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            array = pa.array(
                [None if pd.isna(v) else str(v) for v in column], type=pa.large_string()
            )
        if pa.types.is_null(array.type):
            array = array.cast(pa.large_string())
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=names)


def _cast_to(table: pa.Table, schema: pa.Schema) -> pa.Table:
    if table.schema.names != schema.names:
        raise ValueError("every chunk written to a table must have the same columns")
    return table if table.schema.equals(schema) else table.cast(schema)


class TableWriter:
    """Writes a table chunk by chunk; the file appears only when the writer closes cleanly."""

    def __init__(
        self, sink: IO[bytes], fmt: TableFormat, name: str, *, neutralize_formulas: bool = False
    ) -> None:
        self._sink = sink
        self._fmt = fmt
        self._name = name
        self._neutralize = neutralize_formulas and fmt in (TableFormat.CSV, TableFormat.TSV)
        self._schema: pa.Schema | None = None
        self._writer: Any = None
        self.rows = 0

    def write(self, df: pd.DataFrame) -> None:
        """Append the rows of ``df`` (same columns as the first chunk)."""
        if self._fmt is TableFormat.JSONL:
            self._write_jsonl(df)
        elif self._fmt is TableFormat.XLSX:
            self._write_xlsx(df)
        else:
            table = _to_arrow(df)
            if self._neutralize:
                table = neutralize_formulas(table)
            if self._schema is None:
                self._schema = table.schema
                self._writer = self._open_arrow_writer(table.schema)
            self._writer.write_table(self._prepare(_cast_to(table, self._schema)))
        self.rows += len(df)

    def _open_arrow_writer(self, schema: pa.Schema) -> Any:
        if self._fmt is TableFormat.PARQUET:
            return pq.ParquetWriter(self._sink, schema)
        options = pacsv.WriteOptions(delimiter=self._fmt.delimiter)
        return pacsv.CSVWriter(self._sink, self._prepare_schema(schema), write_options=options)

    def _prepare_schema(self, schema: pa.Schema) -> pa.Schema:
        if len(schema) == 1 and self._fmt is not TableFormat.PARQUET:
            return pa.schema([pa.field(schema.names[0], pa.large_string())])
        return schema

    def _prepare(self, table: pa.Table) -> pa.Table:
        """A one-column CSV needs ``""`` for missing cells: an empty line would be skipped."""
        if table.num_columns == 1 and self._fmt is not TableFormat.PARQUET:
            column = table.column(0).cast(pa.large_string()).fill_null("")
            return pa.table({table.column_names[0]: column})
        return table

    def _write_jsonl(self, df: pd.DataFrame) -> None:
        if len(df):
            text = df.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
            self._sink.write(text.encode("utf-8"))
            if not text.endswith("\n"):
                self._sink.write(b"\n")

    def _write_xlsx(self, df: pd.DataFrame) -> None:
        if self._writer is None:
            import openpyxl

            self._writer = openpyxl.Workbook(write_only=True)
            sheet = self._writer.create_sheet()
            if len(df.columns) > XLSX_MAX_COLUMNS:
                raise UnsupportedFormatError("too many columns for XLSX", source=self._name)
            sheet.append([self._xlsx_cell(sheet, str(c), str(c)) for c in df.columns])
        sheet = self._writer.worksheets[0]
        if self.rows + len(df) + 1 > XLSX_MAX_ROWS:
            raise UnsupportedFormatError("too many rows for XLSX", source=self._name)
        names = [str(c) for c in df.columns]
        columns = [_xlsx_values(df[c]) for c in df.columns]
        for row in zip(*columns, strict=True):
            sheet.append([self._xlsx_cell(sheet, v, n) for v, n in zip(row, names, strict=True)])

    def _xlsx_cell(self, sheet: Any, value: Any, column: str) -> Any:
        """A cell whose text is always text (never a formula, whatever it starts with)."""
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.utils.exceptions import IllegalCharacterError

        try:
            cell = WriteOnlyCell(sheet, value=value)
        except IllegalCharacterError:
            raise MalformedInputError(
                "a cell or name holds a control character (e.g. NUL) that XLSX cannot store; "
                "write CSV or Parquet instead",
                source=self._name,
                column=column,
            ) from None
        if isinstance(value, str):
            cell.data_type = "s"
        return cell

    def abort(self) -> None:
        """Release the format writer after a failure (its output is about to be deleted)."""
        if self._writer is None:
            return
        closers = (
            [sheet.close for sheet in self._writer.worksheets]
            if self._fmt is TableFormat.XLSX
            else [self._writer.close]
        )
        for close in closers:
            with contextlib.suppress(Exception):
                close()
        self._writer = None

    def close(self) -> None:
        """Finish the file (writes headers of an empty table, footers, workbooks)."""
        if self._fmt is TableFormat.XLSX:
            if self._writer is None:
                raise EmptyInputError("no columns to write", source=self._name)
            self._writer.save(self._sink)
        elif self._writer is not None:
            self._writer.close()


#: Characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
_FORMULA_START: Final = r"^[=+\-@\t\r]"


def neutralize_formulas(table: pa.Table) -> pa.Table:
    """OWASP's rule for CSV opened in a spreadsheet: text cells and column names starting
    with ``=``, ``+``, ``-``, ``@``, tab or carriage return get a leading ``'``, so they
    are shown as text, never run as formulas. Numeric columns are left alone."""
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.match_substring_regex(column, _FORMULA_START)
            quote, empty = pa.scalar("'", column.type), pa.scalar("", column.type)
            quoted = pc.binary_join_element_wise(quote, column, empty)
            column = pc.if_else(risky, quoted, column)
        columns.append(column)
    names = [("'" + n) if re.match(_FORMULA_START, n) else n for n in table.column_names]
    return pa.Table.from_arrays(columns, names=names)


def _xlsx_values(column: pd.Series) -> list[Any]:
    if pd.api.types.is_datetime64_any_dtype(column):
        values: list[Any] = [None if pd.isna(v) else v.to_pydatetime() for v in column]
    else:
        values = [None if _isna(v) else v for v in column.tolist()]
    return values


def _isna(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


@contextlib.contextmanager
def open_table_writer(
    dest: str | Path, *, fmt: TableFormat | None = None, neutralize_formulas: bool = False
) -> Iterator[TableWriter]:
    """Context manager giving a :class:`TableWriter`; ``dest`` appears atomically on clean exit.

    ``-`` writes CSV (or ``fmt`` csv/tsv/jsonl) to standard output. ``neutralize_formulas``
    applies :func:`neutralize_formulas` to CSV/TSV output (XLSX cells are always text).
    """
    if is_stdio(dest):
        resolved = TableFormat(fmt) if fmt is not None else TableFormat.CSV
        if resolved not in STDIO_FORMATS:
            raise UnsupportedFormatError(
                f"cannot write {resolved} to standard output", source="<stdout>"
            )
        stdout = sys.stdout.buffer
        with _finishing(
            TableWriter(stdout, resolved, "<stdout>", neutralize_formulas=neutralize_formulas)
        ) as writer:
            yield writer
        stdout.flush()
        return
    target = Path(dest)
    resolved = format_of(target, fmt)
    with (
        atomic_path(target) as tmp,
        tmp.open("wb") as sink,
        _finishing(
            TableWriter(sink, resolved, str(target), neutralize_formulas=neutralize_formulas)
        ) as writer,
    ):
        yield writer


@contextlib.contextmanager
def _finishing(writer: TableWriter) -> Iterator[TableWriter]:
    try:
        yield writer
    except BaseException:
        writer.abort()
        raise
    writer.close()


def write_table(
    df: pd.DataFrame,
    dest: str | Path,
    *,
    fmt: TableFormat | None = None,
    neutralize_formulas: bool = False,
) -> Path:
    """Write ``df`` atomically (``-`` writes CSV to standard output); returns the path.

    The format follows the extension; missing folders are created. ``neutralize_formulas``:
    see :func:`open_table_writer`.

    >>> privseg.write_table(pd.DataFrame({"省份": ["上海市"]}), "out/regions.parquet")
    PosixPath('out/regions.parquet')
    """
    with open_table_writer(dest, fmt=fmt, neutralize_formulas=neutralize_formulas) as writer:
        writer.write(df)
    return Path(dest)
