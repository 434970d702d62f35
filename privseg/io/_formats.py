"""Readers of each format: CSV/TSV (pyarrow, with a diagnostic pass), JSONL, Parquet, XLSX."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from privseg.errors import (
    EmptyInputError,
    EncodingError,
    InputError,
    LimitError,
    MalformedInputError,
    UnsupportedFormatError,
)
from privseg.io._source import PREFIX_BYTES, Source, TableFormat, check_columns, decoded_lines
from privseg.limits import MAX_CELL_BYTES, MAX_RECORD_BYTES, check_xlsx

XLSX_MAX_ROWS: Final = 1_048_576


XLSX_MAX_COLUMNS: Final = 16_384


def _csv_header(src: Source, encoding: str, delimiter: str) -> list[str]:
    """Column names from the first record, parsed by the standard library."""
    size = PREFIX_BYTES
    while True:
        with src.open() as f:
            head = f.read(size)
            at_end = not f.read(1)
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(head, final=at_end)
        except UnicodeDecodeError as error:
            line = head.count(b"\n", 0, error.start) + 1
            raise EncodingError(
                f"bytes that do not decode as {encoding}", source=src.name, line=line
            ) from None
        text = text.removeprefix("\ufeff")
        lines = io.StringIO(text, newline="").readlines()
        reader = csv.reader(lines, delimiter=delimiter)
        row: list[str] = []
        try:
            for row in reader:
                if row:
                    break
        except csv.Error:
            raise _too_large(src, 1) from None
        if not row or not "".join(row).strip():
            if at_end:
                raise EmptyInputError("the file has no header", source=src.name)
        elif at_end or reader.line_num < len(lines):
            return check_columns(row, src, line=reader.line_num)
        if size > MAX_RECORD_BYTES:
            raise _too_large(src, 1)
        size *= 4


def _csv_options(
    names: Sequence[str], encoding: str, delimiter: str, *, block_size: int | None = None
) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    arrow_encoding = "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding
    read = pacsv.ReadOptions(encoding=arrow_encoding, autogenerate_column_names=False)
    if block_size is not None:
        read.block_size = block_size
    parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    convert = pacsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.large_string()),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        null_values=[""],
        check_utf8=True,
    )
    return read, parse, convert


def _diagnose_csv(src: Source, encoding: str, delimiter: str, expected: int) -> InputError:
    """Find why pyarrow refused a CSV: the first undecodable line, ragged record or record
    past ``MAX_RECORD_BYTES``, with the line it starts on."""
    csv.field_size_limit(MAX_CELL_BYTES)  # characters: never more than the bytes
    consumed = 0

    def lines() -> Iterator[str]:
        nonlocal consumed
        for _, text in decoded_lines(src, encoding):
            consumed += len(text.encode(encoding, "replace"))
            yield text

    reader = csv.reader(lines(), delimiter=delimiter)
    start, start_bytes = 1, 0
    try:
        for row in reader:  # the reader pulls exactly the lines of each record
            cells = [len(field.encode(encoding, "replace")) for field in row]
            if consumed - start_bytes > MAX_RECORD_BYTES or max(cells, default=0) > MAX_CELL_BYTES:
                return _too_large(src, start)
            if row and len(row) != expected and reader.line_num > 1:
                return MalformedInputError(
                    f"ragged row: expected {expected} fields, found {len(row)}",
                    source=src.name,
                    line=start,
                )
            start, start_bytes = reader.line_num + 1, consumed
    except csv.Error as error:
        if "field limit" in str(error):
            return _too_large(src, start)
        return MalformedInputError("not valid CSV", source=src.name, line=start)
    return MalformedInputError(
        "could not be parsed as CSV (an unclosed quote?)", source=src.name, line=start
    )


def _too_large(src: Source, line: int) -> LimitError:
    return LimitError(
        f"a cell or record larger than the {MAX_RECORD_BYTES >> 20} MiB limit",
        source=src.name,
        line=line,
    )


def _check_cells(
    table: pa.Table | pa.RecordBatch, src: Source, encoding: str, delimiter: str, expected: int
) -> None:
    """The diagnosis (with its line) if a cell is larger than ``MAX_CELL_BYTES``. A chunk no
    larger than the limit cannot hold such a cell, so only unusual chunks are measured."""
    for column in table.columns:
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        for chunk in chunks:
            if chunk.nbytes <= MAX_CELL_BYTES:
                continue
            longest = pc.max(pc.binary_length(chunk)).as_py()
            if longest is not None and longest > MAX_CELL_BYTES:
                raise _diagnose_csv(src, encoding, delimiter, expected)


def _arrow_failure(
    error: Exception, src: Source, encoding: str, delimiter: str, expected: int
) -> InputError:
    if isinstance(error, InputError):
        return error
    return _diagnose_csv(src, encoding, delimiter, expected)


def read_csv_arrow(src: Source, fmt: TableFormat, encoding: str) -> pa.Table:
    names = _csv_header(src, encoding, fmt.delimiter)
    read, parse, convert = _csv_options(names, encoding, fmt.delimiter)
    try:
        table = pacsv.read_csv(
            src.arrow_input(), read_options=read, parse_options=parse, convert_options=convert
        )
    except (pa.ArrowException, UnicodeDecodeError, ValueError) as error:
        raise _arrow_failure(error, src, encoding, fmt.delimiter, len(names)) from None
    _check_arrow_names(table.column_names, names, src)
    _check_cells(table, src, encoding, fmt.delimiter, len(names))
    return table


def _check_arrow_names(got: Sequence[str], expected: Sequence[str], src: Source) -> None:
    if list(got) != list(expected):
        raise MalformedInputError("the header could not be parsed consistently", source=src.name)


def iter_csv_arrow(
    src: Source,
    fmt: TableFormat,
    encoding: str,
    chunk_rows: int,
    columns: Sequence[str] | None = None,
) -> Iterator[pa.Table]:
    header = _csv_header(src, encoding, fmt.delimiter)
    names = selected(header, columns, src)
    read, parse, convert = _csv_options(header, encoding, fmt.delimiter)
    convert.include_columns = names

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            reader = pacsv.open_csv(
                src.arrow_input(),
                read_options=read,
                parse_options=parse,
                convert_options=convert,
            )
            _check_arrow_names(reader.schema.names, names, src)
            for batch in reader:
                _check_cells(batch, src, encoding, fmt.delimiter, len(header))
                yield batch
        except (pa.ArrowException, UnicodeDecodeError, ValueError) as error:
            raise _arrow_failure(error, src, encoding, fmt.delimiter, len(header)) from None

    schema = pa.schema([(name, pa.large_string()) for name in names])
    yield from _rechunk(batches(), schema, chunk_rows)


def selected(names: Sequence[str], columns: Sequence[str] | None, src: Source) -> list[str]:
    """The ``columns`` to read, in the file's order (all when None); unknown ones raise."""
    if columns is None:
        return list(names)
    missing = sorted(set(columns) - set(names))
    if missing:
        raise MalformedInputError(f"the table has no column(s) {missing}", source=src.name)
    wanted = set(columns)
    return [n for n in names if n in wanted]


def _rechunk(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema, chunk_rows: int
) -> Iterator[pa.Table]:
    """Regroup record batches into tables of exactly ``chunk_rows`` rows (the last may be short)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        count += batch.num_rows
        while count >= chunk_rows:
            table = pa.Table.from_batches(pending, schema)
            yield table.slice(0, chunk_rows)
            rest = table.slice(chunk_rows)
            pending = rest.to_batches()
            count = rest.num_rows
    if count:
        yield pa.Table.from_batches(pending, schema)


def _json_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _parse_json_record(text: str, src: Source, lineno: int) -> dict[str, Any]:
    try:
        record = json.loads(
            text,
            parse_int=str,
            parse_float=str,
            parse_constant=str,
            object_pairs_hook=_no_duplicate_keys,
        )
    except _DuplicateKey as dup:
        raise MalformedInputError(
            f"duplicate key {dup.key!r} in a record", source=src.name, line=lineno
        ) from None
    except json.JSONDecodeError as error:
        raise MalformedInputError(
            f"not valid JSON ({error.msg} at character {error.colno})",
            source=src.name,
            line=lineno,
        ) from None
    if not isinstance(record, dict):
        raise MalformedInputError("expected a JSON object", source=src.name, line=lineno)
    if any(isinstance(v, dict | list) for v in record.values()):
        # Nested values were parsed with numbers as text; reparse to keep their JSON form.
        plain = json.loads(text)
        record = {k: plain[k] if isinstance(v, dict | list) else v for k, v in record.items()}
    return record


def _iter_jsonl(
    src: Source, encoding: str, chunk_rows: int | None
) -> Iterator[tuple[list[str], dict[str, list[str | None]], int]]:
    """Chunks of (columns, values per column, row count); columns are fixed by the first chunk."""
    columns: list[str] | None = None
    values: dict[str, list[str | None]] = {}
    order: list[str] = []
    rows = 0
    for lineno, text in decoded_lines(src, encoding):
        text = text.strip().removeprefix("\ufeff")
        if not text:
            continue
        record = _parse_json_record(text, src, lineno)
        for key in record:
            if key not in values:
                if columns is not None:
                    raise MalformedInputError(
                        f"field not present in the first {chunk_rows} records",
                        source=src.name,
                        line=lineno,
                        column=key,
                    )
                check_columns([*order, key], src, line=lineno)
                values[key] = [None] * rows
                order.append(key)
        for key in order:
            values[key].append(_json_text(record.get(key)))
        rows += 1
        if chunk_rows is not None and rows >= chunk_rows:
            columns = columns or list(order)
            yield columns, values, rows
            values = {key: [] for key in columns}
            rows = 0
    if rows or columns is None:
        yield (columns or order), values, rows


def jsonl_frames(src: Source, encoding: str, chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    for columns, values, rows in _iter_jsonl(src, encoding, chunk_rows):
        if not columns:
            raise EmptyInputError("no records", source=src.name)
        yield pd.DataFrame(
            {c: pd.array(values[c], dtype="str") for c in columns}, index=pd.RangeIndex(rows)
        )


def _flat(kind: pa.DataType) -> bool:
    """Whether a Parquet column type is one privseg reads (no nesting, no raw bytes)."""
    binary = (pa.types.is_binary, pa.types.is_large_binary, pa.types.is_fixed_size_binary)
    return not pa.types.is_nested(kind) and not any(test(kind) for test in binary)


def parquet_file(src: Source) -> pq.ParquetFile:
    """The Parquet file, its column names checked and its types flat (else exit 2)."""
    try:
        pf = pq.ParquetFile(src.arrow_input())
    except (pa.ArrowException, OSError):
        raise MalformedInputError("not a valid Parquet file", source=src.name) from None
    check_columns(pf.schema_arrow.names, src, line=None)
    for field in pf.schema_arrow:
        if not _flat(field.type):
            raise UnsupportedFormatError(
                f"Parquet type {field.type} is not supported (flat columns of text, numbers, "
                "dates and booleans only)",
                source=src.name,
                column=field.name,
            )
    return pf


def iter_parquet(
    src: Source, chunk_rows: int, columns: Sequence[str] | None = None
) -> Iterator[pa.Table]:
    pf = parquet_file(src)
    names = selected(pf.schema_arrow.names, columns, src)
    schema = pa.schema([pf.schema_arrow.field(n) for n in names])
    try:
        batches = pf.iter_batches(batch_size=chunk_rows, columns=names)
        yield from _rechunk(batches, schema, chunk_rows)
    except pa.ArrowException:
        raise MalformedInputError("corrupt Parquet data", source=src.name) from None


def read_parquet(src: Source) -> pa.Table:
    pf = parquet_file(src)
    try:
        return pf.read()
    except pa.ArrowException:
        raise MalformedInputError("corrupt Parquet data", source=src.name) from None


def _xlsx_rows(src: Source) -> Iterator[tuple[Any, ...]]:
    import openpyxl

    if src.path is not None:
        check_xlsx(src.path, src.name)
    else:
        with src.open() as handle:
            check_xlsx(handle, src.name)
    try:
        workbook = openpyxl.load_workbook(
            src.path if src.path is not None else src.open(), read_only=True, data_only=True
        )
    except Exception:  # openpyxl raises zipfile, KeyError, XML and its own errors
        raise MalformedInputError("not a valid XLSX workbook", source=src.name) from None
    try:
        sheet = workbook.worksheets[0]
        yield from sheet.iter_rows(values_only=True)
    except Exception:
        raise MalformedInputError("corrupt XLSX worksheet", source=src.name) from None
    finally:
        workbook.close()


def _xlsx_column(values: list[Any]) -> pd.Series:
    present = [v for v in values if v is not None]
    kinds = {type(v) for v in present}
    if present and kinds <= {bool}:
        return pd.Series(values, dtype="boolean")
    if present and kinds <= {int}:
        return pd.Series(values, dtype="Int64" if len(present) < len(values) else "int64")
    if present and kinds <= {int, float}:
        return pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
    if present and kinds <= {dt.datetime}:
        return pd.Series(pd.to_datetime(values))
    return pd.Series([_xlsx_text(v) for v in values], dtype="str")


def _xlsx_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_xlsx(src: Source) -> pd.DataFrame:
    rows = _xlsx_rows(src)
    header = next(rows, None)
    if header is None:
        raise EmptyInputError("the workbook's first sheet is empty", source=src.name)
    width = len(header)
    while width and header[width - 1] in (None, ""):
        width -= 1
    data: list[tuple[Any, ...]] = []
    for lineno, row in enumerate(rows, start=2):
        row = row + (None,) * (width - len(row))
        extra = row[width:]
        if any(v not in (None, "") for v in extra):
            raise MalformedInputError(
                f"a value beyond the {width} named columns", source=src.name, line=lineno
            )
        data.append(row[:width])
    while data and all(v in (None, "") for v in data[-1]):
        data.pop()
    if width == 0:
        raise EmptyInputError("the workbook's first sheet has no header", source=src.name)
    names = check_columns(header[:width], src, line=1)
    if not data:
        raise EmptyInputError("the sheet has a header but no rows", source=src.name)
    columns = list(zip(*data, strict=True))
    return pd.DataFrame(
        {name: _xlsx_column(list(col)) for name, col in zip(names, columns, strict=True)}
    )
