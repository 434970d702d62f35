"""Checks shared by every DP release and mechanism (k-means included): epsilon, declared
bounds, input columns and the test-only seed.

Bounds and keys are always declared (options or policy), never taken from the data: a
missing or malformed declaration raises InputError naming the column.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from privseg.dp.types import RandomState
from privseg.errors import InputError

__all__ = [
    "MAX_ABS_BOUND",
    "check_bounds",
    "check_epsilon",
    "check_features",
    "measure_bounds",
    "require_columns",
    "seeded",
]

FloatArray = npt.NDArray[np.float64]
#: Declared bounds beyond this magnitude are refused (grids and sums would lose precision).
MAX_ABS_BOUND = 1e15


class _HasColumns(Protocol):
    @property
    def columns(self) -> Sequence[str]: ...


def check_epsilon(epsilon: float) -> None:
    """Raise InputError unless ``epsilon`` is a positive finite number."""
    if not (
        isinstance(epsilon, int | float | np.floating) and math.isfinite(epsilon) and epsilon > 0
    ):
        raise InputError(f"epsilon must be a positive number, got {epsilon!r}")


def seeded(random_state: RandomState) -> np.random.RandomState | None:
    """None stays None (secure noise); a test seed becomes one RandomState shared by all draws."""
    if random_state is None or isinstance(random_state, np.random.RandomState):
        return random_state
    return np.random.RandomState(random_state)


def require_columns(df: _HasColumns, columns: Sequence[str]) -> None:
    """Raise InputError naming the first of ``columns`` that ``df`` lacks."""
    for column in columns:
        if column not in df.columns:
            raise InputError("no such column in the input", column=column)


def measure_bounds(column: str, bounds: Mapping[str, tuple[float, float]]) -> tuple[float, float]:
    """The declared ``(lo, hi)`` of a measure; raises InputError if undeclared or not finite."""
    if column not in bounds:
        raise InputError(
            "no declared bounds for this measure (use --bounds COL=LO:HI or the policy's "
            "release.bounds); bounds are never inferred from the data",
            column=column,
        )
    lo, hi = (float(b) for b in bounds[column])
    if not _ordered(lo, hi):
        raise InputError(f"bounds must be finite with LO < HI, got {lo:g}:{hi:g}", column=column)
    if max(abs(lo), abs(hi)) > MAX_ABS_BOUND:
        raise InputError(
            f"bounds must lie within +-{MAX_ABS_BOUND:g}, got {lo:g}:{hi:g}", column=column
        )
    return lo, hi


def check_bounds(bounds: Sequence[tuple[float, float]] | None) -> tuple[FloatArray, FloatArray]:
    """Declared ``(low, high)`` pairs, one per feature, as arrays of lows and highs."""
    if bounds is None or isinstance(bounds, str) or len(bounds) == 0:
        raise InputError("bounds are required: one (low, high) pair per feature, declared")
    pairs: list[tuple[float, float]] = []
    for i, pair in enumerate(bounds):
        try:
            low, high = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise InputError(f"bounds[{i}] must be a (low, high) pair of numbers") from None
        if not _ordered(low, high):
            raise InputError(f"bounds[{i}] must be finite with low < high")
        if max(abs(low), abs(high)) > MAX_ABS_BOUND:
            raise InputError(f"bounds[{i}] must lie within +-{MAX_ABS_BOUND:g}")
        pairs.append((low, high))
    arr = np.asarray(pairs, dtype=np.float64)
    return arr[:, 0].copy(), arr[:, 1].copy()


def check_features(X: npt.ArrayLike, d: int) -> FloatArray:
    """Rows of ``d`` finite numeric features as a float array."""
    try:
        data = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("features must be numeric") from None
    if data.ndim != 2 or data.shape[1] != d:
        raise InputError(f"features must be a 2-D array with {d} columns (one per bound)")
    if not np.isfinite(data).all():
        raise InputError("features contain missing or non-finite values")
    return data


def _ordered(lo: float, hi: float) -> bool:
    return math.isfinite(lo) and math.isfinite(hi) and lo < hi
