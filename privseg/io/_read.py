"""Reading tables whole or in chunks, sniffing and fingerprinting them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from privseg._files import file_sha256
from privseg.errors import (
    UnsupportedFormatError,
)
from privseg.io._formats import (
    iter_csv_arrow,
    iter_parquet,
    jsonl_frames,
    parquet_file,
    read_csv_arrow,
    read_parquet,
    read_xlsx,
    selected,
)
from privseg.io._source import (
    STDIO,
    Fingerprint,
    Source,
    SourceInfo,
    TableFormat,
    encoding_for,
    is_stdio,
    no_rows,
    normalize_encoding,
    resolve,
    to_pandas,
)


def read_table(
    source: str | Path, *, fmt: TableFormat | None = None, encoding: str | None = None
) -> pd.DataFrame:
    r"""Read a whole table; ``-`` reads CSV from standard input.

    Raises a :class:`privseg.errors.InputError` subclass naming the file, line and column.
    CSV, TSV and JSONL cells stay text exactly as written (leading zeros kept, empty = missing):

    >>> with open("c.csv", "w", encoding="utf-8") as f:
    ...     _ = f.write("外部联系人ID,邮编\nwm1,010010\nwm2,\n")
    >>> privseg.read_table("c.csv")
      外部联系人ID      邮编
    0      wm1  010010
    1      wm2     NaN
    """
    src, resolved = resolve(source, fmt)
    enc = encoding_for(src, resolved, encoding)
    if resolved is TableFormat.XLSX:
        return read_xlsx(src)
    if resolved is TableFormat.JSONL:
        assert enc is not None
        df = next(jsonl_frames(src, enc, None))
    elif resolved is TableFormat.PARQUET:
        df = to_pandas(read_parquet(src))
    else:
        assert enc is not None
        df = to_pandas(read_csv_arrow(src, resolved, enc))
    if len(df) == 0:
        raise no_rows(src, resolved)
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
    src, resolved = resolve(source, fmt)
    enc = encoding_for(src, resolved, encoding)
    info = SourceInfo(src.path or Path(STDIO), resolved, enc)
    return TableStream(info, _chunks(src, resolved, enc, chunk_rows, columns))


def _chunks(
    src: Source,
    fmt: TableFormat,
    encoding: str | None,
    chunk_rows: int,
    columns: Sequence[str] | None = None,
) -> Iterator[pd.DataFrame]:
    frames: Iterator[pd.DataFrame]
    if fmt is TableFormat.XLSX:
        whole = read_xlsx(src)
        whole = whole[selected([str(c) for c in whole.columns], columns, src)]
        frames = (whole.iloc[i : i + chunk_rows] for i in range(0, len(whole), chunk_rows))
    elif fmt is TableFormat.JSONL:
        assert encoding is not None
        frames = jsonl_frames(src, encoding, chunk_rows)
        if columns is not None:
            frames = (f[selected([str(c) for c in f.columns], columns, src)] for f in frames)
    elif fmt is TableFormat.PARQUET:
        frames = (to_pandas(t) for t in iter_parquet(src, chunk_rows, columns))
    else:
        assert encoding is not None
        tables = iter_csv_arrow(src, fmt, encoding, chunk_rows, columns)
        frames = (to_pandas(t) for t in tables)
    offset = 0
    for frame in frames:
        if len(frame) == 0:
            continue
        frame.index = pd.RangeIndex(offset, offset + len(frame))
        offset += len(frame)
        yield frame
    if offset == 0:
        raise no_rows(src, fmt)


def iter_table(
    source: str | Path,
    *,
    chunk_rows: int = 100_000,
    fmt: TableFormat | None = None,
    encoding: str | None = None,
    columns: Sequence[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """Stream a table in chunks of ``chunk_rows`` rows (the last may be shorter).

    >>> _ = privseg.write_table(pd.DataFrame({"id": [str(i) for i in range(5)]}), "ids.csv")
    >>> [len(chunk) for chunk in privseg.iter_table("ids.csv", chunk_rows=2)]
    [2, 2, 1]

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
    if is_stdio(source):
        resolved = TableFormat(fmt) if fmt is not None else TableFormat.CSV
        enc = None if encoding is None else normalize_encoding(encoding, Source("<stdin>", None))
        return SourceInfo(Path(STDIO), resolved, enc)
    src, resolved = resolve(source, fmt)
    assert src.path is not None
    return SourceInfo(src.path, resolved, encoding_for(src, resolved, encoding))


def fingerprint(path: str | Path) -> Fingerprint:
    """SHA-256 of a table file's bytes with its row count and column names (streams the file)."""
    if is_stdio(path):
        raise UnsupportedFormatError("a fingerprint needs a file, not standard input")
    src, resolved = resolve(path, None)
    assert src.path is not None  # standard input was refused above
    sha256 = file_sha256(src.path)
    if resolved is TableFormat.PARQUET:
        meta = parquet_file(src)
        columns = tuple(meta.schema_arrow.names)
        rows = meta.metadata.num_rows
        if rows == 0:
            raise no_rows(src, resolved)
    else:
        rows = 0
        columns = ()
        for chunk in iter_table(path):
            rows += len(chunk)
            columns = tuple(str(c) for c in chunk.columns)
    return Fingerprint(sha256, rows, columns)
