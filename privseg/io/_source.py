"""Sources of tables: formats, standard input, encodings and column names."""

from __future__ import annotations

import codecs
import io
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Final

import pandas as pd
import pyarrow as pa

from privseg.errors import (
    EmptyInputError,
    EncodingError,
    LimitError,
    MalformedInputError,
    UnsupportedFormatError,
)
from privseg.limits import (
    MAX_RECORD_BYTES,
    check_column_count,
    check_column_name,
    require_regular,
)

#: The path that means standard input (when reading) or standard output (when writing).
STDIO: Final = "-"


PREFIX_BYTES: Final = 64 * 1024


_DETECT_ORDER: Final = ("utf-8", "gb18030")


class TableFormat(StrEnum):
    """File formats privseg reads and writes; chosen by the file extension unless given.

    >>> [f.value for f in privseg.TableFormat]
    ['csv', 'tsv', 'parquet', 'xlsx', 'jsonl']
    >>> df = pd.DataFrame({"外部联系人ID": ["wm1"]})
    >>> privseg.write_table(df, "no-extension", fmt=privseg.TableFormat.PARQUET).name
    'no-extension'
    """

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


STDIO_FORMATS: Final = (TableFormat.CSV, TableFormat.TSV, TableFormat.JSONL)


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


@dataclass(frozen=True)
class Source:
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


def is_stdio(target: str | Path) -> bool:
    return str(target) == STDIO


def format_of(path: Path, fmt: TableFormat | None) -> TableFormat:
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


def table_format(path: str | Path) -> TableFormat:
    """The table format of ``path`` by its extension; raises UnsupportedFormatError."""
    return format_of(Path(path), None)


def resolve(source: str | Path, fmt: TableFormat | None) -> tuple[Source, TableFormat]:
    if is_stdio(source):
        resolved = TableFormat(fmt) if fmt is not None else TableFormat.CSV
        if resolved not in STDIO_FORMATS:
            raise UnsupportedFormatError(
                f"standard input can only be read as csv, tsv or jsonl, not {resolved}",
                source="<stdin>",
            )
        src = Source("<stdin>", None, sys.stdin.buffer.read())
    else:
        path = Path(source)
        require_regular(path)
        resolved = format_of(path, fmt)
        src = Source(str(path), path)
    if src.size() == 0:
        raise EmptyInputError("the file is empty", source=src.name)
    return src, resolved


def normalize_encoding(encoding: str, src: Source) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise EncodingError(f"unknown encoding {encoding!r}", source=src.name) from None


def _detect_encoding(src: Source) -> str:
    """UTF-8 with BOM, UTF-8 or GB18030, judged from the first 64 KiB."""
    with src.open() as f:
        head = f.read(PREFIX_BYTES)
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


def encoding_for(src: Source, fmt: TableFormat, encoding: str | None) -> str | None:
    if not fmt.is_text:
        return None
    if encoding is not None:
        return normalize_encoding(encoding, src)
    return _detect_encoding(src)


def decoded_lines(src: Source, encoding: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line; undecodable bytes raise EncodingError with the line."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lineno = 1
    pending = ""
    with src.open() as f:
        for raw in iter(lambda: f.readline(MAX_RECORD_BYTES + 1), b""):
            if len(raw) > MAX_RECORD_BYTES:
                raise LimitError(
                    f"a line longer than the {MAX_RECORD_BYTES >> 20} MiB limit",
                    source=src.name,
                    line=lineno + pending.count("\n"),
                )
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


def check_columns(names: Sequence[object], src: Source, *, line: int | None = 1) -> list[str]:
    seen: dict[str, int] = {}
    out: list[str] = []
    check_column_count(len(names), src.name)
    for position, raw in enumerate(names, start=1):
        name = "" if raw is None else str(raw)
        check_column_name(name, position, src.name, line)
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


def no_rows(src: Source, fmt: TableFormat) -> EmptyInputError:
    what = "a header" if fmt in (TableFormat.CSV, TableFormat.TSV) else "columns"
    return EmptyInputError(f"the file has {what} but no rows", source=src.name)


def to_pandas(table: pa.Table, offset: int = 0) -> pd.DataFrame:
    df = table.to_pandas()
    if offset or not isinstance(df.index, pd.RangeIndex) or df.index.start != 0:
        df.index = pd.RangeIndex(offset, offset + len(df))
    return df
