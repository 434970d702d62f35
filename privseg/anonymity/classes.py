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
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from privseg.errors import InputError

__all__ = ["ClassCounts", "count_classes", "dense_ids", "spark_class_counts"]

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

    def codes(self, column: str) -> np.ndarray:
        """Integer code of ``column``'s value in every counted row (0: missing)."""
        index = self.counts.index
        assert isinstance(index, pd.MultiIndex)
        return np.asarray(index.codes[index.names.index(column)], dtype=np.int64) + 1

    @cached_property
    def class_ids(self) -> np.ndarray:
        """Dense equivalence-class id of every counted row."""
        return dense_ids([self.codes(c) for c in self.quasi])

    def class_sizes(self) -> np.ndarray:
        """Size of every equivalence class (records sharing all quasi-identifier values)."""
        if not self.sensitive:
            return np.asarray(self.counts.to_numpy(dtype=np.int64))
        return np.bincount(self.class_ids, weights=self.counts.to_numpy()).astype(np.int64)

    def l_diversity(self) -> dict[str, int]:
        """Per sensitive column, the fewest distinct values (missing counts as one) in a class."""
        if not self.sensitive:
            return {}
        ids = self.class_ids
        result = {}
        for column in self.sensitive:
            pairs = dense_ids([ids, self.codes(column)])
            first = np.unique(pairs, return_index=True)[1]
            result[column] = int(np.bincount(ids[first]).min())
        return result


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


class _Dictionary:
    """Text values of one column and their codes, shared by every chunk: 0 is missing,
    1, 2, ... the values in order of first sight."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def encode(self, values: pd.Series) -> np.ndarray:
        if not pd.api.types.is_string_dtype(values.dtype):
            values = values.astype("str").where(values.notna())
        local, uniques = pd.factorize(values)
        known = self.codes
        mapping = np.array([known.setdefault(str(u), len(known) + 1) for u in uniques] + [0])
        return np.asarray(mapping[local], dtype=np.int64)  # local -1 (missing) -> the 0 slot

    def levels(self) -> list[str]:
        return list(self.codes)


def dense_ids(columns: Sequence[np.ndarray]) -> np.ndarray:
    """Dense ids of the distinct rows of equally long, non-negative code arrays: the codes are
    combined in mixed radix (compacted first only where the product would overflow), then
    factorized once."""
    key = np.asarray(columns[0], dtype=np.int64)
    for codes in columns[1:]:
        radix = int(codes.max(initial=0)) + 1
        if (int(key.max(initial=0)) + 1) * radix >= 2**62:
            key = np.asarray(pd.factorize(key)[0], dtype=np.int64)
        key = key * radix + codes
    return np.asarray(pd.factorize(key)[0], dtype=np.int64)


def _reduce(codes: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``codes`` (rows x columns) and their summed weights."""
    ids = dense_ids(list(codes.T))
    first = np.unique(ids, return_index=True)[1]  # ids are 0..n-1: one row of each
    return codes[first], np.bincount(ids, weights=weights).astype(np.int64)


def count_classes(
    chunks: Iterable[pd.DataFrame], quasi: Sequence[str], sensitive: Sequence[str] = ()
) -> ClassCounts:
    """Count records per quasi-identifier (+ sensitive) combination over ``chunks`` of one table.

    Values are compared as text (a chunk may infer 1 where another holds "1"); each column's
    values are coded once in a dictionary shared by the chunks, each chunk is reduced to its
    distinct code rows, and partial counts are merged on integer codes, so memory grows with
    the number of distinct combinations, never with the number of rows.
    """
    keys = [*quasi, *sensitive]
    dictionaries = [_Dictionary() for _ in keys]
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    pending = merged = 0  # rows held by the parts, and by the last merge
    for chunk in chunks:
        _check_columns([str(c) for c in chunk.columns], quasi, sensitive)
        codes = np.column_stack(
            [d.encode(chunk[k]) for d, k in zip(dictionaries, keys, strict=True)]
        )
        parts.append(_reduce(codes, np.ones(len(codes), dtype=np.int64)))
        pending += len(parts[-1][1])
        if pending > _MERGE_ROWS + 2 * merged:  # doubling: each row is merged O(log n) times
            parts = [
                _reduce(
                    np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
                )
            ]
            pending = merged = len(parts[0][1])
    if not parts:
        raise InputError("no rows to measure")
    codes, weights = _reduce(
        np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    )
    index = pd.MultiIndex(
        levels=[pd.Index(d.levels(), dtype=object) for d in dictionaries],
        codes=list(codes.T - 1),  # missing (0) becomes -1: NaN in the index
        names=keys,
        verify_integrity=False,
    )
    return ClassCounts(tuple(quasi), tuple(sensitive), pd.Series(weights, index=index))


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
