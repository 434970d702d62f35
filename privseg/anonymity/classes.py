"""Equivalence classes: records counted per combination of quasi-identifier values.

Every re-identification measure is a function of one group-by count over the quasi-identifiers
(and, for l-diversity, the sensitive columns), so a table of any size reduces to a
:class:`ClassCounts`: chunks are counted one by one and the partial counts merged, and Spark
computes the same count with one ``groupBy``. A missing value is a value of its own (a class
of records whose city is unknown is still a class).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from privseg.errors import InputError

__all__ = ["ClassCounts", "count_classes", "spark_class_counts"]

#: Partial counts are merged once they hold this many rows (bounds memory on unique data).
_MERGE_ROWS = 2_000_000


@dataclass(frozen=True, eq=False)
class ClassCounts:
    """Records per distinct combination of ``quasi`` + ``sensitive`` values.

    ``counts`` is indexed by those columns (a MultiIndex, levels named after the columns)
    and holds positive integers; its sum is the number of records.
    """

    quasi: tuple[str, ...]
    sensitive: tuple[str, ...]
    counts: pd.Series

    @property
    def rows(self) -> int:
        """Number of records counted."""
        return int(self.counts.sum())

    def class_sizes(self) -> np.ndarray:
        """Size of every equivalence class (records sharing all quasi-identifier values)."""
        if not self.sensitive:
            return np.asarray(self.counts.to_numpy(dtype=np.int64))
        sizes = self.counts.groupby(level=list(self.quasi), dropna=False, sort=False).sum()
        return np.asarray(sizes.to_numpy(dtype=np.int64))

    def l_diversity(self) -> dict[str, int]:
        """Per sensitive column, the fewest distinct values (missing counts as one) in a class."""
        if not self.sensitive:
            return {}
        frame = self.counts.index.to_frame(index=False)
        groups = frame.groupby(list(self.quasi), dropna=False, sort=False)
        return {
            column: int(groups[column].nunique(dropna=False).min()) for column in self.sensitive
        }


def _check_columns(columns: Sequence[str], quasi: Sequence[str], sensitive: Sequence[str]) -> None:
    if not quasi:
        raise InputError("no quasi-identifiers to measure: name them (--quasi or the policy)")
    missing = [c for c in (*quasi, *sensitive) if c not in columns]
    if missing:
        raise InputError(f"table lacks the columns {missing} named for the risk measures")
    overlap = sorted(set(quasi) & set(sensitive))
    if overlap or len(set(quasi)) != len(quasi) or len(set(sensitive)) != len(sensitive):
        raise InputError(
            f"quasi-identifiers and sensitive columns must be distinct and unrepeated ({overlap})"
        )


def _count(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    # Values are compared as text (a chunk may infer 1 where another holds "1"), nulls kept.
    text = frame[keys].astype("str").where(frame[keys].notna(), None)
    counts = text.groupby(keys, dropna=False, sort=False, observed=True).size()
    return counts.astype(np.int64)


def _merge(parts: list[pd.Series], keys: list[str]) -> pd.Series:
    if len(parts) == 1:
        return parts[0]
    merged = pd.concat(parts).groupby(level=keys, dropna=False, sort=False).sum()
    return merged.astype(np.int64)


def count_classes(
    chunks: Iterable[pd.DataFrame], quasi: Sequence[str], sensitive: Sequence[str] = ()
) -> ClassCounts:
    """Count records per quasi-identifier (+ sensitive) combination over ``chunks`` of one table.

    Chunks are counted one by one and partial counts merged, so memory grows with the number
    of distinct combinations, never with the number of rows.
    """
    keys = [*quasi, *sensitive]
    parts: list[pd.Series] = []
    pending = 0
    for chunk in chunks:
        _check_columns([str(c) for c in chunk.columns], quasi, sensitive)
        part = _count(chunk, keys)
        parts.append(part)
        pending += len(part)
        if pending > _MERGE_ROWS and len(parts) > 1:
            parts = [_merge(parts, keys)]
            pending = len(parts[0])
    if not parts:
        raise InputError("no rows to measure")
    counts = _merge(parts, keys)
    if not isinstance(counts.index, pd.MultiIndex):
        counts.index = pd.MultiIndex.from_arrays([counts.index], names=keys)
    return ClassCounts(tuple(quasi), tuple(sensitive), counts)


def spark_class_counts(df: Any, quasi: Sequence[str], sensitive: Sequence[str] = ()) -> ClassCounts:
    """:func:`count_classes` on a PySpark DataFrame: one ``groupBy().count()``, only the
    distinct combinations reach the driver."""
    keys = [*quasi, *sensitive]
    _check_columns(list(df.columns), quasi, sensitive)
    from pyspark.sql import functions as F

    grouped = df.select(*[F.col(f"`{c}`").cast("string").alias(c) for c in keys])
    rows = grouped.groupBy(*keys).agg(F.count(F.lit(1)).alias("__privseg_n")).toPandas()
    if rows.empty:
        raise InputError("no rows to measure")
    index = pd.MultiIndex.from_frame(rows[keys].astype(object).where(rows[keys].notna(), None))
    counts = pd.Series(rows["__privseg_n"].to_numpy(dtype=np.int64), index=index)
    return ClassCounts(tuple(quasi), tuple(sensitive), counts)
