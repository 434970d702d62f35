"""``screen()``: classify every column of a table or file.

By default each column is screened on a reproducible sample (:mod:`.sampling`) with presidio
(:mod:`.engine`) plus vectorized vocabulary and shape detectors; ``full=True`` runs the
vectorized detectors over every value instead and never calls presidio per cell.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from privseg import io
from privseg.screening.detectors import Values, scan_patterns, scan_shapes, split_opaque
from privseg.screening.lexicon import header_hits
from privseg.screening.report import ScreenReport
from privseg.screening.sampling import sample_positions
from privseg.screening.verdict import decide

__all__ = ["DEFAULT_SAMPLE", "screen"]

DEFAULT_SAMPLE = 1000


def _warm_up() -> threading.Thread:
    """Import presidio and build the analyzer in a thread while the table is read (pyarrow
    parses without the GIL); a failure here is left for the screen itself to raise."""

    def build() -> None:
        with contextlib.suppress(Exception):
            from privseg.screening.engine import build_analyzer

            build_analyzer()

    thread = threading.Thread(target=build, name="privseg-presidio", daemon=True)
    thread.start()
    return thread


def screen(
    table_or_path: pd.DataFrame | str | Path,
    *,
    sample: int | None = DEFAULT_SAMPLE,
    full: bool = False,
    encoding: str | None = None,
    as_of: date | None = None,
    source: str | None = None,
) -> ScreenReport:
    """Screen every column for PIPL sensitive categories and personal information.

    ``table_or_path`` is a DataFrame or a file privseg can read (``-`` for stdin).
    ``sample`` values per column are examined with presidio (``None``: all of them);
    ``full=True`` scans every value with vectorized detectors instead. ``as_of`` (default
    today) is the date against which holders under 14 are judged. The report never holds a
    raw value.
    """
    if sample is not None and sample <= 0:
        raise ValueError("sample must be a positive number of values")
    if isinstance(table_or_path, pd.DataFrame):
        table = table_or_path
        label = source or "<table>"
    else:
        warming = None if full else _warm_up()
        table = io.read_table(table_or_path, encoding=encoding)
        label = source or str(table_or_path)
        if warming is not None:
            warming.join()
    as_of = as_of or date.today()
    rows = len(table)
    touched = np.zeros(rows, dtype=bool)
    verdicts = []
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
        vals = Values.of(column.iloc[present])
        findings, rest = split_opaque(vals)
        if full:
            findings += scan_patterns(rest, name, as_of=as_of)
        else:
            from privseg.screening.engine import analyze_sample  # presidio loads lazily

            findings += analyze_sample(rest, name, as_of=as_of)
        findings += scan_shapes(rest, as_of=as_of)
        verdicts.append(
            decide(name, header_hits(name), findings, sampled=sampled, examined=vals.examined)
        )
    return ScreenReport(
        source=label,
        rows=rows,
        rows_examined=rows if full else int(touched.sum()),
        columns=tuple(verdicts),
        full=full,
    )
