"""Table I/O: read and write CSV/TSV, Parquet, XLSX and JSONL; stream large files; write atomically.

CSV, TSV and JSONL cells are read as text exactly as written (pandas ``str`` dtype, empty
cells become missing); Parquet and XLSX keep their native types. CSV encodings UTF-8,
UTF-8 with BOM and GB18030 (a superset of GBK and GB2312) are detected from the first
64 KiB; bytes further on that do not decode still raise :class:`EncodingError` with a line.

CSV goes through pyarrow's multithreaded reader. When it fails, a slower diagnostic pass with
the standard library finds the line and reason, so error messages name a line and never
quote cell values.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from privseg._files import atomic_path, file_sha256
from privseg.errors import (
    EmptyInputError,
    EncodingError,
    InputError,
    MalformedInputError,
    SourceNotFoundError,
    UnsupportedFormatError,
)

__all__ = [
    "STDIO",
    "Fingerprint",
    "SourceInfo",
    "TableFormat",
    "TableStream",
    "TableWriter",
    "atomic_path",
    "fingerprint",
    "iter_table",
    "open_table",
    "open_table_writer",
    "read_table",
    "sniff",
    "write_table",
]

#: The path that means standard input (when reading) or standard output (when writing).
STDIO: Final = "-"

_PREFIX_BYTES: Final = 64 * 1024
_DETECT_ORDER: Final = ("utf-8", "gb18030")
_XLSX_MAX_ROWS: Final = 1_048_576
_XLSX_MAX_COLUMNS: Final = 16_384


class TableFormat(StrEnum):
    """File formats privseg reads and writes."""

    CSV = "csv"
    TSV = "tsv"
    PARQUET = "parquet"
    XLSX = "xlsx"
    JSONL = "jsonl"

    @property
    def delimiter(self) -> str:
        """Field separator of a delimited text format."""
        return "\t" if self is TableFormat.TSV else ","

    @property
    def is_text(self) -> bool:
        """Whether cells are text that privseg decodes itself (CSV, TSV, JSONL)."""
        return self in (TableFormat.CSV, TableFormat.TSV, TableFormat.JSONL)


_EXTENSIONS: Final[dict[str, TableFormat]] = {
    ".csv": TableFormat.CSV,
    ".tsv": TableFormat.TSV,
    ".tab": TableFormat.TSV,
    ".parquet": TableFormat.PARQUET,
    ".pq": TableFormat.PARQUET,
    ".xlsx": TableFormat.XLSX,
    ".jsonl": TableFormat.JSONL,
    ".ndjson": TableFormat.JSONL,
}
_STDIO_FORMATS: Final = (TableFormat.CSV, TableFormat.TSV, TableFormat.JSONL)


@dataclass(frozen=True)
class SourceInfo:
    """What a table source is: its path (``-`` for stdin), format and text encoding."""

    path: Path
    format: TableFormat
    encoding: str | None


@dataclass(frozen=True)
class Fingerprint:
    """Identity of a table file: SHA-256 of its bytes, its row count and column names."""

    sha256: str
    rows: int
    columns: tuple[str, ...]


# --------------------------------------------------------------------------------------------
# Sources


@dataclass(frozen=True)
class _Source:
    """A resolved input: a file on disk, or the bytes of standard input."""

    name: str
    path: Path | None
    data: bytes | None = None

    def open(self) -> IO[bytes]:
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return self.path.open("rb")

    def arrow_input(self) -> Any:
        if self.data is not None:
            return pa.BufferReader(self.data)
        return str(self.path)

    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.path is not None
        return self.path.stat().st_size


def _is_stdio(target: str | Path) -> bool:
    return str(target) == STDIO


def _format_of(path: Path, fmt: TableFormat | None) -> TableFormat:
    if fmt is not None:
        return TableFormat(fmt)
    suffix = path.suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    hint = " (save it as .xlsx)" if suffix == ".xls" else ""
    known = ", ".join(sorted(_EXTENSIONS))
    raise UnsupportedFormatError(
        f"unsupported file extension {suffix or '(none)'!r}{hint}; use one of {known}",
        source=path,
    )


def _resolve(source: str | Path, fmt: TableFormat | None) -> tuple[_Source, TableFormat]:
    if _is_stdio(source):
        resolved = TableFormat(fmt) if fmt is not None else TableFormat.CSV
        if resolved not in _STDIO_FORMATS:
            raise UnsupportedFormatError(
                f"standard input can only be read as csv, tsv or jsonl, not {resolved}",
                source="<stdin>",
            )
        src = _Source("<stdin>", None, sys.stdin.buffer.read())
    else:
        path = Path(source)
        if not path.exists():
            raise SourceNotFoundError("no such file", source=path)
        if not path.is_file():
            raise SourceNotFoundError("not a regular file", source=path)
        resolved = _format_of(path, fmt)
        src = _Source(str(path), path)
    if src.size() == 0:
        raise EmptyInputError("the file is empty", source=src.name)
    return src, resolved


# --------------------------------------------------------------------------------------------
# Encodings


def _normalize_encoding(encoding: str, src: _Source) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise EncodingError(f"unknown encoding {encoding!r}", source=src.name) from None


def _detect_encoding(src: _Source) -> str:
    """UTF-8 with BOM, UTF-8 or GB18030, judged from the first 64 KiB."""
    with src.open() as f:
        head = f.read(_PREFIX_BYTES)
        at_end = not f.read(1)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    furthest = 0
    for encoding in _DETECT_ORDER:
        try:
            # final=False: a multi-byte character cut by the prefix boundary is not an error.
            codecs.getincrementaldecoder(encoding)().decode(head, final=at_end)
        except UnicodeDecodeError as error:
            furthest = max(furthest, error.start)
            continue
        return encoding
    line = head.count(b"\n", 0, furthest) + 1
    raise EncodingError(
        "bytes are neither UTF-8 nor GB18030; pass --encoding", source=src.name, line=line
    )


def _encoding_for(src: _Source, fmt: TableFormat, encoding: str | None) -> str | None:
    if not fmt.is_text:
        return None
    if encoding is not None:
        return _normalize_encoding(encoding, src)
    return _detect_encoding(src)


def _decoded_lines(src: _Source, encoding: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line; undecodable bytes raise EncodingError with the line."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lineno = 1
    pending = ""
    with src.open() as f:
        for raw in f:
            try:
                text = decoder.decode(raw)
            except UnicodeDecodeError:
                raise EncodingError(
                    f"bytes that do not decode as {encoding}"
                    + ("; pass --encoding if the file is not UTF-8" if encoding == "utf-8" else ""),
                    source=src.name,
                    line=lineno + pending.count("\n"),
                ) from None
            pending += text
            while "\n" in pending:
                line, _, pending = pending.partition("\n")
                yield lineno, line + "\n"
                lineno += 1
        try:
            pending += decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise EncodingError(
                f"the file ends inside a character ({encoding})", source=src.name, line=lineno
            ) from None
    if pending:
        yield lineno, pending


# --------------------------------------------------------------------------------------------
# Column names


def _check_columns(names: Sequence[object], src: _Source, *, line: int | None = 1) -> list[str]:
    seen: dict[str, int] = {}
    out: list[str] = []
    for position, raw in enumerate(names, start=1):
        name = "" if raw is None else str(raw)
        if not name.strip():
            raise MalformedInputError(
                f"column {position} has an empty name", source=src.name, line=line
            )
        if name in seen:
            raise MalformedInputError(
                f"duplicate column name {name!r} (columns {seen[name]} and {position})",
                source=src.name,
                line=line,
            )
        seen[name] = position
        out.append(name)
    if not out:
        raise EmptyInputError("no columns", source=src.name)
    return out


# --------------------------------------------------------------------------------------------
# CSV / TSV


def _csv_header(src: _Source, encoding: str, delimiter: str) -> list[str]:
    """Column names from the first record, parsed by the standard library."""
    size = _PREFIX_BYTES
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
        for row in reader:
            if row:
                break
        if not row or not "".join(row).strip():
            if at_end:
                raise EmptyInputError("the file has no header", source=src.name)
        elif at_end or reader.line_num < len(lines):
            return _check_columns(row, src, line=reader.line_num)
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


def _diagnose_csv(src: _Source, encoding: str, delimiter: str, expected: int) -> InputError:
    """Find why pyarrow refused a CSV: the first undecodable line or ragged record."""
    csv.field_size_limit(2**31 - 1)
    line_numbers: list[int] = []

    def lines() -> Iterator[str]:
        for lineno, text in _decoded_lines(src, encoding):
            line_numbers.append(lineno)
            yield text

    reader = csv.reader(lines(), delimiter=delimiter)
    start = 1
    try:
        for row in reader:
            if row and len(row) != expected and reader.line_num > 1:
                return MalformedInputError(
                    f"ragged row: expected {expected} fields, found {len(row)}",
                    source=src.name,
                    line=start,
                )
            start = reader.line_num + 1
    except csv.Error:
        return MalformedInputError("not valid CSV", source=src.name, line=start)
    return MalformedInputError(
        "could not be parsed as CSV (an unclosed quote?)", source=src.name, line=start
    )


def _arrow_failure(
    error: Exception, src: _Source, encoding: str, delimiter: str, expected: int
) -> InputError:
    if isinstance(error, InputError):
        return error
    return _diagnose_csv(src, encoding, delimiter, expected)


def _read_csv_arrow(src: _Source, fmt: TableFormat, encoding: str) -> pa.Table:
    names = _csv_header(src, encoding, fmt.delimiter)
    read, parse, convert = _csv_options(names, encoding, fmt.delimiter)
    try:
        table = pacsv.read_csv(
            src.arrow_input(), read_options=read, parse_options=parse, convert_options=convert
        )
    except (pa.ArrowException, UnicodeDecodeError, ValueError) as error:
        raise _arrow_failure(error, src, encoding, fmt.delimiter, len(names)) from None
    _check_arrow_names(table.column_names, names, src)
    return table


def _check_arrow_names(got: Sequence[str], expected: Sequence[str], src: _Source) -> None:
    if list(got) != list(expected):
        raise MalformedInputError("the header could not be parsed consistently", source=src.name)


def _iter_csv_arrow(
    src: _Source,
    fmt: TableFormat,
    encoding: str,
    chunk_rows: int,
    columns: Sequence[str] | None = None,
) -> Iterator[pa.Table]:
    header = _csv_header(src, encoding, fmt.delimiter)
    names = _selected(header, columns, src)
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
            yield from reader
        except (pa.ArrowException, UnicodeDecodeError, ValueError) as error:
            raise _arrow_failure(error, src, encoding, fmt.delimiter, len(header)) from None

    schema = pa.schema([(name, pa.large_string()) for name in names])
    yield from _rechunk(batches(), schema, chunk_rows)


def _selected(names: Sequence[str], columns: Sequence[str] | None, src: _Source) -> list[str]:
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


# --------------------------------------------------------------------------------------------
# JSONL


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


def _parse_json_record(text: str, src: _Source, lineno: int) -> dict[str, Any]:
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
    src: _Source, encoding: str, chunk_rows: int | None
) -> Iterator[tuple[list[str], dict[str, list[str | None]], int]]:
    """Chunks of (columns, values per column, row count); columns are fixed by the first chunk."""
    columns: list[str] | None = None
    values: dict[str, list[str | None]] = {}
    order: list[str] = []
    rows = 0
    for lineno, text in _decoded_lines(src, encoding):
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
                _check_columns([*order, key], src, line=lineno)
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


def _jsonl_frames(src: _Source, encoding: str, chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    for columns, values, rows in _iter_jsonl(src, encoding, chunk_rows):
        if not columns:
            raise EmptyInputError("no records", source=src.name)
        yield pd.DataFrame(
            {c: pd.array(values[c], dtype="str") for c in columns}, index=pd.RangeIndex(rows)
        )


# --------------------------------------------------------------------------------------------
# Parquet


def _parquet_file(src: _Source) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(src.arrow_input())
    except (pa.ArrowException, OSError):
        raise MalformedInputError("not a valid Parquet file", source=src.name) from None


def _iter_parquet(
    src: _Source, chunk_rows: int, columns: Sequence[str] | None = None
) -> Iterator[pa.Table]:
    pf = _parquet_file(src)
    _check_columns(pf.schema_arrow.names, src, line=None)
    names = _selected(pf.schema_arrow.names, columns, src)
    schema = pa.schema([pf.schema_arrow.field(n) for n in names])
    try:
        batches = pf.iter_batches(batch_size=chunk_rows, columns=names)
        yield from _rechunk(batches, schema, chunk_rows)
    except pa.ArrowException:
        raise MalformedInputError("corrupt Parquet data", source=src.name) from None


def _read_parquet(src: _Source) -> pa.Table:
    pf = _parquet_file(src)
    _check_columns(pf.schema_arrow.names, src, line=None)
    try:
        return pf.read()
    except pa.ArrowException:
        raise MalformedInputError("corrupt Parquet data", source=src.name) from None


# --------------------------------------------------------------------------------------------
# XLSX


def _xlsx_rows(src: _Source) -> Iterator[tuple[Any, ...]]:
    import openpyxl

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


def _read_xlsx(src: _Source) -> pd.DataFrame:
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
    names = _check_columns(header[:width], src, line=1)
    if not data:
        raise EmptyInputError("the sheet has a header but no rows", source=src.name)
    columns = list(zip(*data, strict=True))
    return pd.DataFrame(
        {name: _xlsx_column(list(col)) for name, col in zip(names, columns, strict=True)}
    )


# --------------------------------------------------------------------------------------------
# Reading


def _to_pandas(table: pa.Table, offset: int = 0) -> pd.DataFrame:
    df = table.to_pandas()
    if offset or not isinstance(df.index, pd.RangeIndex) or df.index.start != 0:
        df.index = pd.RangeIndex(offset, offset + len(df))
    return df


def _no_rows(src: _Source, fmt: TableFormat) -> EmptyInputError:
    what = "a header" if fmt in (TableFormat.CSV, TableFormat.TSV) else "columns"
    return EmptyInputError(f"the file has {what} but no rows", source=src.name)


def read_table(
    source: str | Path, *, fmt: TableFormat | None = None, encoding: str | None = None
) -> pd.DataFrame:
    """Read a whole table; ``-`` reads CSV from standard input.

    Raises a :class:`privseg.errors.InputError` subclass naming the file, line and column.
    """
    src, resolved = _resolve(source, fmt)
    enc = _encoding_for(src, resolved, encoding)
    if resolved is TableFormat.XLSX:
        return _read_xlsx(src)
    if resolved is TableFormat.JSONL:
        assert enc is not None
        df = next(_jsonl_frames(src, enc, None))
    elif resolved is TableFormat.PARQUET:
        df = _to_pandas(_read_parquet(src))
    else:
        assert enc is not None
        df = _to_pandas(_read_csv_arrow(src, resolved, enc))
    if len(df) == 0:
        raise _no_rows(src, resolved)
    return df


@dataclass(frozen=True)
class TableStream:
    """An opened table: what it is (``info``) and its chunks, read lazily (once)."""

    info: SourceInfo
    chunks: Iterator[pd.DataFrame]

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return self.chunks


def open_table(
    source: str | Path,
    *,
    chunk_rows: int = 100_000,
    fmt: TableFormat | None = None,
    encoding: str | None = None,
    columns: Sequence[str] | None = None,
) -> TableStream:
    """Open a table for streaming: check the file and detect its encoding now, read lazily.

    Unlike :func:`sniff` followed by :func:`iter_table`, this reads standard input only once.
    ``columns`` reads only those columns (in the file's order; CSV and Parquet readers skip
    converting the others); naming a column the table lacks raises MalformedInputError.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    src, resolved = _resolve(source, fmt)
    enc = _encoding_for(src, resolved, encoding)
    info = SourceInfo(src.path or Path(STDIO), resolved, enc)
    return TableStream(info, _chunks(src, resolved, enc, chunk_rows, columns))


def _chunks(
    src: _Source,
    fmt: TableFormat,
    encoding: str | None,
    chunk_rows: int,
    columns: Sequence[str] | None = None,
) -> Iterator[pd.DataFrame]:
    frames: Iterator[pd.DataFrame]
    if fmt is TableFormat.XLSX:
        whole = _read_xlsx(src)
        whole = whole[_selected([str(c) for c in whole.columns], columns, src)]
        frames = (whole.iloc[i : i + chunk_rows] for i in range(0, len(whole), chunk_rows))
    elif fmt is TableFormat.JSONL:
        assert encoding is not None
        frames = _jsonl_frames(src, encoding, chunk_rows)
        if columns is not None:
            frames = (f[_selected([str(c) for c in f.columns], columns, src)] for f in frames)
    elif fmt is TableFormat.PARQUET:
        frames = (_to_pandas(t) for t in _iter_parquet(src, chunk_rows, columns))
    else:
        assert encoding is not None
        tables = _iter_csv_arrow(src, fmt, encoding, chunk_rows, columns)
        frames = (_to_pandas(t) for t in tables)
    offset = 0
    for frame in frames:
        if len(frame) == 0:
            continue
        frame.index = pd.RangeIndex(offset, offset + len(frame))
        offset += len(frame)
        yield frame
    if offset == 0:
        raise _no_rows(src, fmt)


def iter_table(
    source: str | Path,
    *,
    chunk_rows: int = 100_000,
    fmt: TableFormat | None = None,
    encoding: str | None = None,
    columns: Sequence[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """Stream a table in chunks of ``chunk_rows`` rows (the last may be shorter).

    A missing, empty or unreadable file raises at once; errors further into the file are
    raised when the reader gets there, so consume the whole iterator before trusting a result.
    The chunks' indexes continue one another, so ``pd.concat(iter_table(p))`` equals
    ``read_table(p)``. CSV, TSV, JSONL and Parquet are streamed; an XLSX sheet (at most about
    a million rows) is read whole and then sliced. ``columns`` reads only those (see
    :func:`open_table`).
    """
    stream = open_table(source, chunk_rows=chunk_rows, fmt=fmt, encoding=encoding, columns=columns)
    return stream.chunks


def sniff(
    source: str | Path, *, fmt: TableFormat | None = None, encoding: str | None = None
) -> SourceInfo:
    """Format and (for text formats) encoding of a source, from its name and first 64 KiB.

    For ``-`` this does not consume standard input and reports no encoding.
    """
    if _is_stdio(source):
        resolved = TableFormat(fmt) if fmt is not None else TableFormat.CSV
        enc = None if encoding is None else _normalize_encoding(encoding, _Source("<stdin>", None))
        return SourceInfo(Path(STDIO), resolved, enc)
    src, resolved = _resolve(source, fmt)
    assert src.path is not None
    return SourceInfo(src.path, resolved, _encoding_for(src, resolved, encoding))


def fingerprint(path: str | Path) -> Fingerprint:
    """SHA-256 of a table file's bytes with its row count and column names (streams the file)."""
    if _is_stdio(path):
        raise UnsupportedFormatError("a fingerprint needs a file, not standard input")
    src, resolved = _resolve(path, None)
    assert src.path is not None  # standard input was refused above
    sha256 = file_sha256(src.path)
    if resolved is TableFormat.PARQUET:
        meta = _parquet_file(src)
        columns = tuple(_check_columns(meta.schema_arrow.names, src, line=None))
        rows = meta.metadata.num_rows
        if rows == 0:
            raise _no_rows(src, resolved)
    else:
        rows = 0
        columns = ()
        for chunk in iter_table(path):
            rows += len(chunk)
            columns = tuple(str(c) for c in chunk.columns)
    return Fingerprint(sha256, rows, columns)


# --------------------------------------------------------------------------------------------
# Writing


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

    def __init__(self, sink: IO[bytes], fmt: TableFormat, name: str) -> None:
        self._sink = sink
        self._fmt = fmt
        self._name = name
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
        from openpyxl.cell import WriteOnlyCell

        if self._writer is None:
            import openpyxl

            self._writer = openpyxl.Workbook(write_only=True)
            sheet = self._writer.create_sheet()
            if len(df.columns) > _XLSX_MAX_COLUMNS:
                raise UnsupportedFormatError("too many columns for XLSX", source=self._name)
            sheet.append([str(c) for c in df.columns])
        sheet = self._writer.worksheets[0]
        if self.rows + len(df) + 1 > _XLSX_MAX_ROWS:
            raise UnsupportedFormatError("too many rows for XLSX", source=self._name)
        columns = [_xlsx_values(df[c]) for c in df.columns]
        for row in zip(*columns, strict=True):
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula, whatever the text starts with
                cells.append(cell)
            sheet.append(cells)

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


def _xlsx_values(column: pd.Series) -> list[Any]:
    if pd.api.types.is_datetime64_any_dtype(column):
        values: list[Any] = [None if pd.isna(v) else v.to_pydatetime() for v in column]
    else:
        values = [None if _isna(v) else v for v in column.tolist()]
    return values


def _isna(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


@contextlib.contextmanager
def open_table_writer(dest: str | Path, *, fmt: TableFormat | None = None) -> Iterator[TableWriter]:
    """Context manager giving a :class:`TableWriter`; ``dest`` appears atomically on clean exit.

    ``-`` writes CSV (or ``fmt`` csv/tsv/jsonl) to standard output.
    """
    if _is_stdio(dest):
        resolved = TableFormat(fmt) if fmt is not None else TableFormat.CSV
        if resolved not in _STDIO_FORMATS:
            raise UnsupportedFormatError(
                f"cannot write {resolved} to standard output", source="<stdout>"
            )
        stdout = sys.stdout.buffer
        with _finishing(TableWriter(stdout, resolved, "<stdout>")) as writer:
            yield writer
        stdout.flush()
        return
    target = Path(dest)
    resolved = _format_of(target, fmt)
    with (
        atomic_path(target) as tmp,
        tmp.open("wb") as sink,
        _finishing(TableWriter(sink, resolved, str(target))) as writer,
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


def write_table(df: pd.DataFrame, dest: str | Path, *, fmt: TableFormat | None = None) -> Path:
    """Write ``df`` atomically (``-`` writes CSV to standard output); returns the path."""
    with open_table_writer(dest, fmt=fmt) as writer:
        writer.write(df)
    return Path(dest)
