"""``screen()``: classify every column of a table or file.

By default each column is screened on a reproducible sample (:mod:`.sampling`) with presidio
(:mod:`.engine`) plus vectorized vocabulary and shape detectors; ``full=True`` runs the
vectorized detectors over every value instead and never calls presidio per cell.
"""

from __future__ import annotations

import contextlib
import os
import threading
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from privseg import io
from privseg.errors import InputError
from privseg.screening.custom import CustomRecognizers
from privseg.screening.detectors import Values, scan_patterns
from privseg.screening.lexicon import header_hits
from privseg.screening.prose import scan_prose
from privseg.screening.report import ColumnVerdict, ScreenReport
from privseg.screening.sampling import sample_positions
from privseg.screening.shapes import scan_shapes, split_opaque
from privseg.screening.subjects import ANIMAL_FACTS, animal_column, veterinary_table
from privseg.screening.verdict import decide

__all__ = ["DEFAULT_SAMPLE", "fits_in_memory", "screen", "screen_columns", "warm_up"]

DEFAULT_SAMPLE = 1000


def warm_up() -> threading.Thread:
    """Import presidio and build the analyzer in a thread while the table is read (pyarrow
    parses without the GIL); a failure here is left for the screen itself to raise."""

    def build() -> None:
        with contextlib.suppress(Exception):
            from privseg.screening.engine import build_analyzer

            build_analyzer()

    thread = threading.Thread(target=build, name="privseg-presidio", daemon=True)
    thread.start()
    return thread


#: A table read whole takes about this many times its file size in memory (pyarrow + pandas).
_MEMORY_PER_FILE_BYTE = 2.5


def _available_memory() -> int:
    """Bytes of memory available to new allocations (MemAvailable; free pages elsewhere)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open("/proc/meminfo", encoding="ascii") as f:
            line = next(x for x in f if x.startswith("MemAvailable:"))
        return int(line.split()[1]) * 1024
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def fits_in_memory(path: str | Path) -> bool:
    """Whether ``path`` read whole would take at most half the memory available now."""
    if str(path) == io.STDIO:
        return True  # standard input is read once, whole
    size = Path(path).stat().st_size if Path(path).exists() else 0
    return size * _MEMORY_PER_FILE_BYTE <= _available_memory() / 2


def screen(
    table_or_path: pd.DataFrame | str | Path,
    *,
    sample: int | None = DEFAULT_SAMPLE,
    full: bool = False,
    encoding: str | None = None,
    as_of: date | None = None,
    source: str | None = None,
    recognizers: CustomRecognizers | None = None,
) -> ScreenReport:
    """Screen every column for PIPL sensitive categories and personal information.

    ``table_or_path`` is a DataFrame or a file privseg can read (``-`` for stdin).
    ``sample`` values per column are examined with presidio (``None``: all of them);
    ``full=True`` scans every value with vectorized detectors instead. ``as_of`` (default
    today) is the date against which holders under 14 are judged. The report never holds a
    raw value. ``recognizers`` adds the user's own patterns, vocabulary and header words
    (:func:`~privseg.screening.custom.load_recognizers`). A file is read whole when that takes at most half the available memory
    (:func:`fits_in_memory`); a larger one is sampled in two streamed passes (count the
    non-empty cells, then pick the same sample), with the same report.

    >>> table = pd.DataFrame({"手机号": ["13812345678", "13912345679"], "金额": ["12.5", "3"]})
    >>> [(c.name, [x.value for x in c.categories]) for c in privseg.screen(table).columns]
    [('手机号', ['phone_number']), ('金额', [])]
    """
    if sample is not None and sample <= 0:
        raise ValueError("sample must be a positive number of values")
    as_of = as_of or date.today()
    custom = recognizers or CustomRecognizers()
    if isinstance(table_or_path, pd.DataFrame):
        return _screen_table(table_or_path, source or "<table>", sample, full, as_of, custom)
    label = source or str(table_or_path)
    warming = None if full else warm_up()
    in_memory = full or sample is None or fits_in_memory(table_or_path)
    try:
        if in_memory:
            table = io.read_table(table_or_path, encoding=encoding)
        else:
            assert sample is not None
            rows, columns = _streamed_sample(table_or_path, sample, encoding)
    finally:
        if warming is not None:
            warming.join()  # before any analysis: the analyzer is built once
    if in_memory:
        return _screen_table(table, label, sample, full, as_of, custom)
    return screen_columns(label, rows, columns, as_of=as_of, recognizers=custom)


def screen_columns(
    source: str,
    rows: int,
    columns: list[tuple[str, pd.Series, bool]],
    *,
    as_of: date,
    recognizers: CustomRecognizers | None = None,
) -> ScreenReport:
    """The report of sampled columns: (name, non-empty values indexed by row, sampled?)."""
    custom = recognizers or CustomRecognizers()
    vet = veterinary_table(name for name, _, _ in columns)
    verdicts = [
        _verdict(name, values, sampled, False, as_of, custom, animal_column(name, veterinary=vet))
        for name, values, sampled in columns
    ]
    touched = np.unique(np.concatenate([v.index.to_numpy() for _, v, _ in columns] or [[]]))
    return ScreenReport(
        source=source, rows=rows, rows_examined=len(touched), columns=tuple(verdicts), full=False
    )


def _screen_table(
    table: pd.DataFrame,
    label: str,
    sample: int | None,
    full: bool,
    as_of: date,
    custom: CustomRecognizers,
) -> ScreenReport:
    rows = len(table)
    touched = np.zeros(rows, dtype=bool)
    verdicts = []
    vet = veterinary_table(str(c) for c in table.columns)
    for i, raw_name in enumerate(table.columns):
        name = str(raw_name)
        column = table.iloc[:, i]
        present = np.flatnonzero(column.notna().to_numpy())
        limit = None if full else sample
        if limit is not None and len(present) > limit:
            present = present[sample_positions(len(present), limit, name)]
            sampled = True
        else:
            sampled = False
        touched[present] = True
        animal = animal_column(name, veterinary=vet)
        verdicts.append(_verdict(name, column.iloc[present], sampled, full, as_of, custom, animal))
    return ScreenReport(
        source=label,
        rows=rows,
        rows_examined=rows if full else int(touched.sum()),
        columns=tuple(verdicts),
        full=full,
    )


def _verdict(
    name: str,
    values: pd.Series,
    sampled: bool,
    full: bool,
    as_of: date,
    custom: CustomRecognizers,
    animal: bool = False,
) -> ColumnVerdict:
    """One column's verdict from the values examined (non-empty cells); a column about an
    animal (:mod:`.subjects`) carries no health, age or birth date."""
    vals = Values.of(values)
    findings, rest = split_opaque(vals)
    if full:
        findings += scan_patterns(rest, name, as_of=as_of)
    else:
        from privseg.screening.engine import analyze_sample  # presidio loads lazily

        findings += analyze_sample(rest, name, as_of=as_of)
    if custom.specs:
        findings += scan_patterns(rest, name, as_of=as_of, specs=custom.specs)
    findings += scan_shapes(rest, as_of=as_of) + scan_prose(rest, custom.vocabularies)
    header = header_hits(name) + custom.header_hits(name)
    if animal:
        findings = [f for f in findings if f.category not in ANIMAL_FACTS]
        header = tuple(h for h in header if h.category not in ANIMAL_FACTS)
    return decide(name, header, findings, sampled=sampled, examined=vals.examined)


def _streamed_sample(
    path: str | Path, sample: int, encoding: str | None
) -> tuple[int, list[tuple[str, pd.Series, bool]]]:
    """Rows, and per column (name, sampled non-empty values indexed by row, sampled?), in
    two passes over ``path``: the same cells as ``sample_positions`` picks on the whole table."""
    counts: np.ndarray | None = None
    names: list[str] = []
    rows = 0
    for chunk in io.iter_table(path, encoding=encoding):
        present = chunk.notna().to_numpy().sum(axis=0)
        counts = present if counts is None else counts + present
        names = [str(c) for c in chunk.columns]
        rows += len(chunk)
    assert counts is not None  # iter_table raises on a table without rows
    wanted = [
        sample_positions(int(n), sample, name) if n > sample else None
        for name, n in zip(names, counts, strict=True)
    ]
    seen = np.zeros(len(names), dtype=np.int64)
    pieces: list[list[pd.Series]] = [[] for _ in names]
    again = 0
    for chunk in io.iter_table(path, encoding=encoding):
        again += len(chunk)
        for j in range(len(names)):
            column = chunk.iloc[:, j]
            present = np.flatnonzero(column.notna().to_numpy())
            keep = wanted[j]
            if keep is not None:
                lo, hi = np.searchsorted(keep, [seen[j], seen[j] + len(present)])
                picked = present[keep[lo:hi] - seen[j]]
            else:
                picked = present
            seen[j] += len(present)
            pieces[j].append(column.iloc[picked])
    if again != rows or not np.array_equal(seen, counts):
        raise InputError("the file changed while it was being screened", source=str(path))
    columns = [
        (name, pd.concat(parts), keep is not None)
        for name, parts, keep in zip(names, pieces, wanted, strict=True)
    ]
    return rows, columns
