"""DP quantiles of a clipped measure, overall or per declared segment: the exponential
mechanism over a finite candidate grid fixed by the declared bounds and a resolution
(``QuantileGrid``, as OpenDP's candidate-based quantile), with integer scores
(``quantile_scores``) and exact sampling (``exact.exponential_choice``) from a stream keyed
by a secret seed drawn once (``QuantileTask``), so engines holding the rows elsewhere (Spark)
release what the local engine releases. Whatever the data, the output is one of the grid's
values: no floating-point leak (the earlier ``a + u*(b-a)`` point inside an interval reached
values only some datasets could produce), and tied values release the tied value.
``QUANTILE_COUNT_SHARE`` of epsilon buys each segment's noisy row count (released as
``count``: it sizes the segment and feeds the predicted value,
``value.predict_quantile_value``); the rest is split evenly across the quantiles; segments are
disjoint (parallel composition).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Protocol

import numpy as np
import pandas as pd

from privseg.dp.cells import (
    bound_rows,
    cell_frame,
    cell_index,
    cells_of_rows,
    declared_mask,
    to_float,
)
from privseg.dp.charge import charge, record_prediction, stamp
from privseg.dp.exact import StreamBits, exact_epsilon, exponential_choice
from privseg.dp.noise import geometric, seeded_bits
from privseg.dp.types import (
    MEANS_SANITY,
    PER_ROW,
    Account,
    Bounding,
    Mechanism,
    RandomState,
    Release,
    ReleaseKind,
    ReleasePlan,
)
from privseg.dp.validation import (
    MAX_ABS_BOUND,
    check_epsilon,
    measure_bounds,
    require_columns,
    seeded,
)
from privseg.dp.value import means_value, predict_quantile_value
from privseg.errors import InputError

__all__ = [
    "MAX_QUANTILE_CANDIDATES",
    "QUANTILE_COUNT_SHARE",
    "QUANTILE_STEPS",
    "QuantileGrid",
    "QuantileRows",
    "QuantileTask",
    "quantile_scores",
    "quantile_seed",
    "quantile_sensitivity",
    "release_quantiles",
]


#: Candidates of a quantile grid by default: the declared range in this many steps.
QUANTILE_STEPS = 1_000
#: At most this many candidates per quantile (a finer resolution is refused).
MAX_QUANTILE_CANDIDATES = 100_001
#: Share of a quantile release's epsilon spent on the segments' noisy row counts.
QUANTILE_COUNT_SHARE = Fraction(1, 10)


@dataclass(frozen=True)
class QuantileGrid:
    """The finite candidate set of a quantile release, fixed by public parameters only:
    ``lo + j * step`` for ``j = 0 .. size - 2`` and ``hi`` (exact fractions, each rounded to
    the nearest double once). Whatever the data, a release is one of these values."""

    lo: Fraction
    hi: Fraction
    step: Fraction

    @classmethod
    def of(cls, lo: float, hi: float, resolution: float | None = None) -> QuantileGrid:
        """The grid of declared bounds and ``resolution`` (default: ``QUANTILE_STEPS`` steps);
        raises InputError for absurd bounds or a resolution giving too many candidates."""
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise InputError(f"quantile bounds must be finite with LO < HI, got {lo:g}:{hi:g}")
        if max(abs(lo), abs(hi)) > MAX_ABS_BOUND:
            raise InputError(
                f"quantile bounds must lie within +-{MAX_ABS_BOUND:g}, got {lo:g}:{hi:g}"
            )
        low, high = Fraction(repr(lo)), Fraction(repr(hi))
        if resolution is None:
            step = (high - low) / QUANTILE_STEPS
        else:
            if not (math.isfinite(resolution) and resolution > 0):
                raise InputError(
                    f"a quantile resolution must be a positive number, got {resolution:g}"
                )
            step = Fraction(repr(float(resolution)))
        grid = cls(low, high, step)
        if grid.size > MAX_QUANTILE_CANDIDATES:
            raise InputError(
                f"resolution {float(step):g} over {lo:g}:{hi:g} gives {grid.size} candidates, "
                f"more than {MAX_QUANTILE_CANDIDATES}; choose a coarser --resolution"
            )
        return grid

    @property
    def size(self) -> int:
        """Number of candidates."""
        return math.ceil((self.hi - self.lo) / self.step) + 1

    def candidates(self) -> np.ndarray:
        """The candidate values, ascending (a read-only array, computed once)."""
        return _candidates(self.lo, self.hi, self.step)


@functools.lru_cache(maxsize=8)
def _candidates(lo: Fraction, hi: Fraction, step: Fraction) -> np.ndarray:
    size = math.ceil((hi - lo) / step)
    out = np.array([*(float(lo + j * step) for j in range(size)), float(hi)], dtype=float)
    out.flags.writeable = False
    return out


def quantile_scores(sorted_values: np.ndarray, candidates: np.ndarray, q: Fraction) -> list[int]:
    """Integer utility of each candidate for the ``q``-quantile (lower is better):
    ``|(den - num) * #(x < c) - num * #(x > c)|`` with ``q = num/den`` (OpenDP's
    ``make_quantile_score_candidates``). Values tied at a candidate count on neither side, so
    a candidate equal to the tied values scores best. Adding or removing one value moves a
    score by at most ``max(num, den - num)``."""
    below = np.searchsorted(sorted_values, candidates, side="left")
    above = len(sorted_values) - np.searchsorted(sorted_values, candidates, side="right")
    a, b = q.numerator, q.denominator
    return [abs((b - a) * int(lt) - a * int(gt)) for lt, gt in zip(below, above, strict=True)]


def quantile_sensitivity(q: Fraction, max_rows_per_unit: int) -> int:
    """Sensitivity of ``quantile_scores`` when one customer adds or removes up to
    ``max_rows_per_unit`` values."""
    return max_rows_per_unit * max(q.numerator, q.denominator - q.numerator)


def quantile_seed(random_state: RandomState = None) -> bytes:
    """The secret 32-byte seed of a quantile release's randomness (``noise.StreamBits``):
    from ``secrets`` (or the release's stream, ``noise.drawing_from``); a seed or RandomState
    is for tests only."""
    if random_state is None:
        return seeded_bits(None).randbelow(1 << 256).to_bytes(32, "big")
    state = seeded(random_state)
    assert isinstance(state, np.random.RandomState)
    return bytes(state.bytes(32))


@dataclass(frozen=True, eq=False)
class QuantileTask:
    """All a quantile release's output depends on besides the rows, fixed on the driver before
    any value is read: declared cells (``index``; None: one overall cell), the measure, its
    candidate grid (declared bounds and resolution), the quantiles with their epsilon each,
    the bounding, the secret ``seed`` and each cell's count noise. Engines bound the rows,
    group them by declared cell and call ``outputs`` on each group; the draws of quantile ``j`` in cell ``c`` come from
    the stream (``seed``, ``j:c``), so every engine releases the same values.
    """

    value: str
    by: tuple[str, ...]
    index: pd.MultiIndex | None
    quantiles: tuple[float, ...]
    epsilon_each: Fraction
    grid: QuantileGrid
    bounding: Bounding
    seed: bytes
    count_noise: np.ndarray

    @property
    def cells(self) -> int:
        """Number of declared cells."""
        return 1 if self.index is None else len(self.index)

    def released(self, cell: int, values: pd.Series) -> np.ndarray:
        """The released quantiles of cell number ``cell`` from its rows' raw measure (text or
        numbers; missing values and non-numbers are dropped), clipped to the declared bounds:
        for each quantile, a candidate drawn by the exponential mechanism
        (``noise.exponential_choice``) on the integer ``quantile_scores``."""
        candidates = self.grid.candidates()
        numbers = to_float(values)
        ordered = np.sort(np.clip(numbers[~np.isnan(numbers)], candidates[0], candidates[-1]))
        out = []
        for j, q in enumerate(self.quantiles):
            alpha = Fraction(repr(q))
            scores = quantile_scores(ordered, candidates, alpha)
            bits = StreamBits(self.seed, f"{j}:{cell}".encode())
            sensitivity = quantile_sensitivity(alpha, self.bounding.max_rows_per_unit)
            out.append(candidates[exponential_choice(scores, self.epsilon_each, sensitivity, bits)])
        return np.array(out, dtype=float)

    def outputs(self, cell: int, values: pd.Series) -> np.ndarray:
        """``released`` followed by the cell's noisy row count (its rows plus its noise)."""
        return np.append(self.released(cell, values), len(values) + self.count_noise[cell])


class QuantileRows(Protocol):
    """Rows held elsewhere (``privseg.engines.spark.SparkRows``) where each cell's quantiles are
    computed: only the released numbers come back."""

    @property
    def columns(self) -> Sequence[str]:
        """The columns of the rows."""
        ...

    def cell_quantiles(self, task: QuantileTask) -> np.ndarray:
        """``task.outputs`` of every declared cell: shape ``(task.cells, len(task.quantiles) + 1)``."""
        ...


def release_quantiles(
    df: pd.DataFrame | QuantileRows,
    *,
    value: str,
    quantiles: Sequence[float],
    bounds: Mapping[str, tuple[float, float]],
    epsilon: float,
    account: Account | None,
    by: Sequence[str] = (),
    keys: Mapping[str, Sequence[str]] | None = None,
    bounding: Bounding = PER_ROW,
    resolution: float | None = None,
    evaluate: bool = False,
    random_state: RandomState = None,
) -> Release:
    """DP quantiles of a clipped measure, overall or per declared segment: the exponential
    mechanism over the finite candidate grid of the declared bounds and ``resolution``
    (``QuantileGrid``), integer scores, exact sampling (``QuantileTask.released``).

    ``QUANTILE_COUNT_SHARE`` of epsilon buys each segment's noisy row count (``count``), the
    rest is split evenly across the quantiles; segments are disjoint (parallel composition).
    The predicted value (``value.predict_quantile_value``) reads only those counts, the
    released quantiles and public parameters. ``df`` may be rows held elsewhere
    (``QuantileRows``, e.g. on Spark): the seed and the count noise are drawn here, once, after
    the ledger is charged, and the same seed gives the same release. ``evaluate`` (local rows
    only) measures the released quantiles against the exact ones (internal).

    >>> spend = pd.DataFrame({"monetary": [str(i * 10) for i in range(400)]})
    >>> release = privseg.release_quantiles(  # account=None: no ledger charged
    ...     spend, value="monetary", quantiles=[0.25, 0.5], bounds={"monetary": (0, 5000)},
    ...     epsilon=1, account=None)
    >>> list(release.table.columns[:3]), 0 <= float(release.table["q0.5"].iloc[0]) <= 5000
    (['count', 'q0.25', 'q0.5'], True)
    """
    check_epsilon(epsilon)
    lo, hi = measure_bounds(value, bounds)
    grid = QuantileGrid.of(lo, hi, resolution)
    qs = tuple(float(q) for q in quantiles)
    if not qs or any(not 0 <= q <= 1 for q in qs):
        raise InputError("quantiles must be numbers in [0, 1]")
    index = cell_index(by, keys or {}) if by else None
    groups: list[pd.Series] = []
    if isinstance(df, pd.DataFrame):
        groups = _cell_values(df, value, by, keys or {}, bounding)
    else:
        require_columns(df, [*by, value, *([bounding.unit] if bounding.unit else [])])
    table = pd.DataFrame(index=[0]) if index is None else cell_frame(index)
    if evaluate and not isinstance(df, pd.DataFrame):
        raise InputError(
            "evaluating quantiles needs the rows on this machine: use the local engine"
        )
    eps_count = exact_epsilon(epsilon) * QUANTILE_COUNT_SHARE
    eps_each = (exact_epsilon(epsilon) - eps_count) / len(qs)
    k = bounding.max_rows_per_unit
    sensitivity = max(quantile_sensitivity(Fraction(repr(q)), k) for q in qs)
    plan = ReleasePlan(
        kind=ReleaseKind.QUANTILES,
        mechanism=Mechanism.EXPONENTIAL,
        epsilon=epsilon,
        split=(("count", float(eps_count)), *((f"q{q:g}", float(eps_each)) for q in qs)),
        sensitivity=k,
        noise_scale=float(2 * sensitivity / eps_each),
        expected_abs_error=float("nan"),
        ci95_half_width=float("nan"),
        bounding=bounding,
        notes=(
            f"values clipped to [{lo:g}, {hi:g}]; candidates every {float(grid.step):g} "
            f"({grid.size} values); integer scores |(1-q)#below - q#above| (sensitivity "
            f"{k} x max(q, 1-q)), sampled exactly; no value interval is released (it would "
            "depend on the data)",
            f"{float(QUANTILE_COUNT_SHARE):.0%} of epsilon on each segment's noisy row count; predicted "
            "value from the exponential mechanism's utility bound (post-processing)",
        ),
    )
    spends = charge(account, epsilon, ReleaseKind.QUANTILES)
    task = QuantileTask(
        value=value,
        by=tuple(by),
        index=index,
        quantiles=qs,
        epsilon_each=eps_each,
        grid=grid,
        bounding=bounding,
        seed=quantile_seed(random_state),
        count_noise=geometric(
            np.zeros(len(table), dtype=np.int64), float(eps_count), k, seeded(random_state)
        ),
    )
    if isinstance(df, pd.DataFrame):
        released = np.array([task.outputs(c, values) for c, values in enumerate(groups)])
    else:
        released = np.asarray(df.cell_quantiles(task), dtype=float)
    counts = np.clip(released[:, -1], 0, None)
    table["count"] = pd.array(counts.astype(np.int64), dtype="Int64")
    for j, q in enumerate(qs):
        table[f"q{q:g}"] = released[:, j]
    stamp(table, plan, postprocessing="count clamped to >= 0")
    predicted = _predict(released[:, :-1], counts, qs, float(eps_each), grid, k)
    plan = replace(plan, predicted_value=predicted)
    record_prediction(account, spends, predicted)
    evaluation = None
    if evaluate:
        exact = np.array([_exact_quantiles(values, qs, lo, hi) for values in groups])
        sanity = MEANS_SANITY * (hi - lo)
        realised = [means_value(released[:, j], exact[:, j], sanity=sanity) for j in range(len(qs))]
        evaluation = {"realised_value": float(np.mean(realised))}
        if predicted is not None:
            evaluation["predicted_value"] = predicted
    return Release(plan, table, spends, None, evaluation)


def _predict(
    released: np.ndarray,
    counts: np.ndarray,
    qs: Sequence[float],
    eps_each: float,
    grid: QuantileGrid,
    k: int,
) -> float | None:
    """Mean over the quantiles of ``value.predict_quantile_value`` (post-processing)."""
    values = [
        predict_quantile_value(
            eps_each,
            q,
            counts,
            candidates=grid.size,
            bounds=(float(grid.lo), float(grid.hi)),
            step=float(grid.step),
            released=released[:, j],
            max_rows_per_unit=k,
        )
        for j, q in enumerate(qs)
    ]
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def _exact_quantiles(values: pd.Series, qs: Sequence[float], lo: float, hi: float) -> np.ndarray:
    """The exact quantiles of a cell's clipped measure (NaN without values): evaluation only."""
    numbers = to_float(values)
    clipped = np.clip(numbers[~np.isnan(numbers)], lo, hi)
    if len(clipped) == 0:
        return np.full(len(qs), np.nan)
    return np.asarray(np.quantile(clipped, qs), dtype=float)


def _cell_values(
    df: pd.DataFrame,
    value: str,
    by: Sequence[str],
    keys: Mapping[str, Sequence[str]],
    bounding: Bounding,
) -> list[pd.Series]:
    """The raw measure of each declared cell's rows (one cell without ``by``), after keeping
    each unit's first rows."""
    bounded = bound_rows(df, bounding)
    require_columns(bounded, [*by, value])
    if not by:
        return [bounded[value]]
    mask, index = declared_mask(bounded, by, keys)
    cell_of_row = cells_of_rows(bounded[mask], by, index)
    values = bounded[value][mask]
    order = np.argsort(cell_of_row, kind="stable")
    edges = np.searchsorted(cell_of_row[order], np.arange(len(index) + 1))
    return [values.iloc[rows] for rows in np.split(order, edges[1:-1])]
