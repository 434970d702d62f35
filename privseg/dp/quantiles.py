"""DP quantiles of a clipped measure, overall or per declared segment: the exponential
mechanism over the intervals between sorted clipped values (Smith 2011), as a pure function
of two secure uniforms per quantile and cell, so engines holding the rows elsewhere (Spark)
compute it from uniforms drawn once here. ``QUANTILE_COUNT_SHARE`` of epsilon buys each
segment's noisy row count (released as ``count``: it sizes the segment and feeds the predicted
value, ``value.predict_quantile_value``); the rest is split evenly across the quantiles;
segments are disjoint (parallel composition).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
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
from privseg.dp.noise import geometric
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
from privseg.dp.validation import check_epsilon, measure_bounds, require_columns, seeded
from privseg.dp.value import means_value, predict_quantile_value
from privseg.errors import InputError

__all__ = [
    "QUANTILE_COUNT_SHARE",
    "QuantileRows",
    "QuantileTask",
    "quantile_from_uniforms",
    "quantile_uniforms",
    "release_quantiles",
]


#: Share of a quantile release's epsilon spent on the segments' noisy row counts.
QUANTILE_COUNT_SHARE = 0.1
#: Candidates the prediction assumes for the exponential mechanism over the intervals: the
#: declared range in 1,000 steps.
_PREDICTION_CANDIDATES = 1_001


def quantile_from_uniforms(
    sorted_values: np.ndarray,
    q: float,
    epsilon: float,
    sensitivity: int,
    lo: float,
    hi: float,
    u_pick: float,
    u_within: float,
) -> float:
    """Smith's exponential-mechanism ``q``-quantile of values clipped to ``[lo, hi]`` and
    sorted, as a pure function of two uniforms in [0, 1).

    The ``n + 1`` intervals between ``lo``, the values and ``hi`` weigh
    ``gap_i * exp(-epsilon * |i - q n| / (2 * sensitivity))``; ``u_pick`` chooses one by the
    inverse of the normalised cumulative weights and ``u_within`` the point inside it, so with
    independent uniforms this is the exponential mechanism itself. Weights are computed in log
    space: diffprivlib's ``Exponential`` (used before) multiplies ``exp(utility)`` by the gaps
    in linear space, which underflows to 0/0 and fails when the best intervals are empty
    (thousands of tied values, e.g. a median of many identical amounts). Every engine draws
    the uniforms once (``quantile_uniforms``) and calls this on each cell's values.
    """
    n = len(sorted_values)
    points = np.concatenate([[lo], np.asarray(sorted_values, dtype=float), [hi]])
    gaps = np.diff(points)
    if not (lo < hi and (gaps >= 0).all()):
        raise InputError("quantile values must be sorted and within LO < HI")
    with np.errstate(divide="ignore"):  # an empty interval weighs exp(-inf) = 0
        log_weights = np.log(gaps) - epsilon * np.abs(np.arange(n + 1) - q * n) / (2 * sensitivity)
    cumulative = np.cumsum(np.exp(log_weights - log_weights.max()))
    cumulative /= cumulative[-1]  # the last is exactly 1 > u_pick: an interval of weight > 0
    idx = int(np.searchsorted(cumulative, u_pick, side="right"))
    return float(points[idx] + u_within * (points[idx + 1] - points[idx]))


def quantile_uniforms(quantiles: int, cells: int, random_state: RandomState = None) -> np.ndarray:
    """The uniforms in [0, 1) of a quantile release, shape ``(quantiles, cells, 2)``: for each
    quantile, for each cell, the pick then the point within (in that order from one source).

    ``None`` draws from ``secrets.SystemRandom`` (53-bit floats); a seed or RandomState is for
    tests only.
    """
    shape = (quantiles, cells, 2)
    if random_state is None:
        secure = secrets.SystemRandom()
        return np.array([secure.random() for _ in range(math.prod(shape))]).reshape(shape)
    state = seeded(random_state)
    assert isinstance(state, np.random.RandomState)
    return np.asarray(state.random_sample(shape), dtype=float)


@dataclass(frozen=True, eq=False)
class QuantileTask:
    """All a quantile release's output depends on besides the rows, fixed on the driver before
    any value is read: declared cells (``index``; None: one overall cell), the measure and its
    declared bounds, the quantiles with their epsilon each, the bounding and the uniforms
    (``quantile_uniforms``), and the count noise of each cell. Engines bound the rows, group
    them by declared cell and call ``outputs`` on each group.
    """

    value: str
    by: tuple[str, ...]
    index: pd.MultiIndex | None
    quantiles: tuple[float, ...]
    epsilon_each: float
    bounds: tuple[float, float]
    bounding: Bounding
    uniforms: np.ndarray
    count_noise: np.ndarray

    @property
    def cells(self) -> int:
        """Number of declared cells."""
        return 1 if self.index is None else len(self.index)

    def released(self, cell: int, values: pd.Series) -> np.ndarray:
        """The released quantiles of cell number ``cell`` from its rows' raw measure (text or
        numbers; missing values and non-numbers are dropped), clipped to the declared bounds."""
        lo, hi = self.bounds
        numbers = to_float(values)
        ordered = np.sort(np.clip(numbers[~np.isnan(numbers)], lo, hi))
        k = self.bounding.max_rows_per_unit
        return np.array(
            [
                quantile_from_uniforms(ordered, q, self.epsilon_each, k, lo, hi, *u[cell])
                for q, u in zip(self.quantiles, self.uniforms, strict=True)
            ]
        )

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
    evaluate: bool = False,
    random_state: RandomState = None,
) -> Release:
    """DP quantiles of a clipped measure, overall or per declared segment (exponential mechanism,
    ``quantile_from_uniforms``).

    ``QUANTILE_COUNT_SHARE`` of epsilon buys each segment's noisy row count (``count``), the
    rest is split evenly across the quantiles; segments are disjoint (parallel composition).
    The predicted value (``value.predict_quantile_value``) reads only those counts, the
    released quantiles and public parameters. ``df`` may be rows held elsewhere
    (``QuantileRows``, e.g. on Spark): the uniforms and count noise are drawn here, once, after
    the ledger is charged, and the same seed gives the same release. ``evaluate`` (local rows
    only) measures the released quantiles against the exact ones (internal).
    """
    random_state = seeded(random_state)
    check_epsilon(epsilon)
    lo, hi = measure_bounds(value, bounds)
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
    eps_count = epsilon * QUANTILE_COUNT_SHARE
    eps_each = (epsilon - eps_count) / len(qs)
    k = bounding.max_rows_per_unit
    plan = ReleasePlan(
        kind=ReleaseKind.QUANTILES,
        mechanism=Mechanism.EXPONENTIAL,
        epsilon=epsilon,
        split=(("count", eps_count), *((f"q{q:g}", eps_each) for q in qs)),
        sensitivity=k,
        noise_scale=2 * k / eps_each,
        expected_abs_error=float("nan"),
        ci95_half_width=float("nan"),
        bounding=bounding,
        notes=(
            f"values clipped to [{lo:g}, {hi:g}]; utility = -|rank - q*n| (sensitivity {k}); "
            "no value interval is released (it would depend on the data)",
            f"{QUANTILE_COUNT_SHARE:.0%} of epsilon on each segment's noisy row count; predicted "
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
        bounds=(lo, hi),
        bounding=bounding,
        uniforms=quantile_uniforms(len(qs), len(table), random_state),
        count_noise=geometric(np.zeros(len(table), dtype=np.int64), eps_count, k, random_state),
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
    predicted = _predict(released[:, :-1], counts, qs, float(eps_each), (lo, hi), k)
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
    bounds: tuple[float, float],
    k: int,
) -> float | None:
    """Mean over the quantiles of ``value.predict_quantile_value`` (post-processing)."""
    values = [
        predict_quantile_value(
            eps_each,
            q,
            counts,
            candidates=_PREDICTION_CANDIDATES,
            bounds=bounds,
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
