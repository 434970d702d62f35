"""Cells of a release and the exact synopses noise is added to.

A release's cells are the product of the declared keys of its ``by`` columns (``cell_index``);
rows whose keys are undeclared (or whose measure is missing) go to one extra cell, released
noisily beside the others at no extra cost (parallel composition). ``ExactCounts`` and
``ExactSums`` are made here from a table, or out of core (``privseg.engines.partitioned``) or
on Spark (``privseg.engines.spark``): only they reach the release, where noise is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from privseg.dp.types import PER_ROW, SUM_GRID, Bounding
from privseg.dp.validation import measure_bounds, require_columns
from privseg.errors import InputError

__all__ = [
    "ExactCounts",
    "ExactSums",
    "bound_rows",
    "cell_frame",
    "cell_index",
    "cells_of_rows",
    "declared_mask",
    "exact_counts",
    "exact_sums",
    "grid_units",
    "numeric",
    "sum_grid",
    "to_float",
]


def bound_rows(df: pd.DataFrame, bounding: Bounding) -> pd.DataFrame:
    """Keep at most ``max_rows_per_unit`` rows per unit (the first ones); drop rows without a unit."""
    if bounding.unit is None:
        return df
    require_columns(df, [bounding.unit])
    units = df[bounding.unit]
    df = df[units.notna()]
    rank = df.groupby(bounding.unit, sort=False).cumcount()
    return df[(rank < bounding.max_rows_per_unit).to_numpy()]


def declared_mask(
    df: pd.DataFrame, by: Sequence[str], keys: Mapping[str, Sequence[str]]
) -> tuple[np.ndarray, pd.MultiIndex]:
    """Rows whose every ``by`` value is declared, and the full product of declared keys."""
    require_columns(df, by)
    index = cell_index(by, keys)
    mask = np.ones(len(df), dtype=bool)
    for i, column in enumerate(by):
        values = index.unique(level=i)
        mask &= df[column].astype("string").isin(values).fillna(False).to_numpy(dtype=bool)
    return mask, index


def cell_index(by: Sequence[str], keys: Mapping[str, Sequence[str]]) -> pd.MultiIndex:
    """The cells of a count release: the product of the declared keys of ``by``, in order."""
    if not by:
        raise InputError("at least one column to group by is needed")
    levels = []
    for column in by:
        declared = keys.get(column)
        if not declared:
            raise InputError(
                "no declared keys for this column (use --keys COL=k1,k2 or the policy's release.keys);"
                " keys are never read from the data",
                column=column,
            )
        levels.append(tuple(dict.fromkeys(str(k) for k in declared)))
    return pd.MultiIndex.from_product(levels, names=list(by))


def cells_of_rows(df: pd.DataFrame, by: Sequence[str], index: pd.MultiIndex) -> np.ndarray:
    """Position in ``index`` of each (declared) row's cell."""
    frame = pd.DataFrame({c: df[c].astype("string").astype(object) for c in by})
    return np.asarray(index.get_indexer(pd.MultiIndex.from_frame(frame)), dtype=np.int64)


def numeric(df: pd.DataFrame, column: str) -> np.ndarray:
    """The numbers of ``df[column]`` (NaN where missing or not a number)."""
    require_columns(df, [column])
    return to_float(df[column])


def to_float(values: pd.Series) -> np.ndarray:
    """Numbers of a column; text that is not a number becomes NaN."""
    numbers = pd.to_numeric(values, errors="coerce")
    return np.asarray(numbers.to_numpy(dtype=float, na_value=np.nan), dtype=float)


def cell_frame(index: pd.MultiIndex) -> pd.DataFrame:
    """One row per cell, a column per ``by`` column: the key columns of a released table."""
    return index.to_frame(index=False).astype(object)


@dataclass(frozen=True)
class ExactCounts:
    """Exact bounded counts per declared cell (``index`` order) plus, last, the rows with an
    undeclared key: what a count release adds noise to, never released as is.

    Made by ``exact_counts`` here, or out of core (``privseg.engines.partitioned``) or on Spark
    (``privseg.engines.spark``); parts of a table split by unit add up.
    """

    counts: np.ndarray
    index: pd.MultiIndex
    bounding: Bounding

    def __add__(self, other: ExactCounts) -> ExactCounts:
        if not self.index.equals(other.index) or self.bounding != other.bounding:
            raise InputError("cannot add exact counts of different cells or bounding")
        return ExactCounts(self.counts + other.counts, self.index, self.bounding)


def exact_counts(
    df: pd.DataFrame,
    *,
    by: Sequence[str],
    keys: Mapping[str, Sequence[str]],
    bounding: Bounding = PER_ROW,
) -> ExactCounts:
    """Exact counts per declared cell of ``by`` after keeping each unit's first rows."""
    bounded = bound_rows(df, bounding)
    mask, index = declared_mask(bounded, by, keys)
    cell_of_row = np.full(len(bounded), len(index), dtype=np.int64)  # last cell: undeclared
    cell_of_row[mask] = cells_of_rows(bounded[mask], by, index)
    return ExactCounts(np.bincount(cell_of_row, minlength=len(index) + 1), index, bounding)


def sum_grid(lo: float, hi: float) -> float:
    """The step of the integer grid sums are drawn on: ``max(|lo|, |hi|) / SUM_GRID``."""
    return max(abs(lo), abs(hi)) / SUM_GRID


def grid_units(values: pd.Series, lo: float, hi: float) -> np.ndarray:
    """Each value parsed, clipped to ``[lo, hi]`` and rounded to the sum grid (half to even),
    in grid units; NaN where the value is missing or not a number.

    The one per-row step of a mean release, shared by the local and Spark engines.
    """
    return np.asarray(np.rint(np.clip(to_float(values), lo, hi) / sum_grid(lo, hi)), dtype=float)


@dataclass(frozen=True)
class ExactSums:
    """Exact bounded counts and grid sums per declared cell (``index`` order) of a measure
    clipped to ``bounds``: what a mean release adds noise to, never released as is.

    ``counts`` has one more entry, last: the kept rows with an undeclared key or a missing
    measure. ``sums`` are in units of ``sum_grid(*bounds)``. Made by ``exact_sums`` here or on
    Spark (``privseg.engines.spark``).
    """

    counts: np.ndarray
    sums: np.ndarray
    index: pd.MultiIndex
    value: str
    bounds: tuple[float, float]
    bounding: Bounding


def exact_sums(
    df: pd.DataFrame,
    *,
    by: Sequence[str],
    keys: Mapping[str, Sequence[str]],
    value: str,
    bounds: Mapping[str, tuple[float, float]],
    bounding: Bounding = PER_ROW,
) -> ExactSums:
    """Exact counts and clipped grid sums of ``value`` per declared cell of ``by``, after
    keeping each unit's first rows (rows with a missing measure go to the last count)."""
    lo, hi = measure_bounds(value, bounds)
    bounded = bound_rows(df, bounding)
    mask, index = declared_mask(bounded, by, keys)
    require_columns(bounded, [value])
    units = grid_units(bounded[value], lo, hi)
    mask &= ~np.isnan(units)
    cell_of_row = cells_of_rows(bounded[mask], by, index)
    counts = np.bincount(cell_of_row, minlength=len(index))
    sums = np.bincount(cell_of_row, weights=units[mask], minlength=len(index)).astype(np.int64)
    undeclared = len(bounded) - int(mask.sum())
    return ExactSums(np.append(counts, undeclared), sums, index, value, (lo, hi), bounding)
