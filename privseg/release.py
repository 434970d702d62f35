"""Differentially private releases of segment aggregates, charged to the privacy-budget ledger.

Every release is planned (mechanism, epsilon split, noise scale, expected error, predicted
analytic value), then charged to the ledger in one atomic transaction, then noise is drawn.

Guarantee: epsilon-DP for neighbouring datasets that differ by adding or removing one
customer (the privacy unit: ``unit`` column; without one, one row). Contributions are bounded
explicitly: at most ``max_rows_per_unit`` rows per customer are kept (the first ones in input
order), values are clipped to declared bounds, and keys are declared, never read from the data.
Rows whose keys are undeclared (or whose measure is missing) are dropped into one extra cell
that is released noisily beside the others at no extra cost (parallel composition).

Noise is exact and integer (``privseg.noise``: random integers from ``secrets``, rational
comparisons, no floating point), so the set of possible outputs never depends on the data:
- counts and sums: the two-sided geometric mechanism (sums on an integer grid of
  ``max|bound| / SUM_GRID``);
- quantiles: the exponential mechanism over a finite candidate grid of the declared bounds and
  a resolution (``QuantileGrid``) with integer scores (``quantile_scores``), sampled exactly
  from a stream keyed by a secret seed drawn once (``QuantileTask``), so Spark executors
  release what the local engine releases;
- a mean is noisy sum / noisy count (never diffprivlib's ``tools.mean``, which assumes a public
  count); its budget is split ``MEAN_COUNT_SHARE`` to the count and the rest to the sum.

Analytic value retained (see ``distribution_value``, ``means_value``, ``clustering_value``) is
predicted before the release from the noise scale and a DP size estimate, and can be measured
against the exact result by the data controller (``evaluate``): that measurement is internal.
"""

from __future__ import annotations

import functools
import math
import secrets
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from privseg.budget import DEFAULT_PURPOSE, Ledger, PrivacyBudget, Spend, SpendState
from privseg.errors import BudgetExceededError, InputError, PrivsegError
from privseg.noise import (
    SECURE,
    Bits,
    SeededBits,
    StreamBits,
    discrete_laplace,
    exact_epsilon,
    exponential_choice,
)

if TYPE_CHECKING:  # privseg.kmeans imports scikit-learn, slow: only k-means releases load it
    from privseg.kmeans import Synopses

__all__ = [
    "DEFAULT_EPSILON",
    "MAX_ABS_BOUND",
    "MAX_QUANTILE_CANDIDATES",
    "MEANS_SANITY",
    "MEAN_COUNT_SHARE",
    "PER_ROW",
    "QUANTILE_STEPS",
    "SIZE_PILOT_EPSILON",
    "SUM_GRID",
    "Account",
    "Bounding",
    "ExactCounts",
    "ExactSums",
    "KMeansSource",
    "Mechanism",
    "QuantileGrid",
    "QuantileRows",
    "QuantileTask",
    "Release",
    "ReleaseKind",
    "ReleasePlan",
    "cell_index",
    "distribution_value",
    "epsilon_for_target",
    "exact_counts",
    "exact_sums",
    "grid_units",
    "kmeans_rows",
    "means_value",
    "measure_bounds",
    "predict_distribution_value",
    "quantile_scores",
    "quantile_seed",
    "quantile_sensitivity",
    "release_counts",
    "release_kmeans",
    "release_means",
    "release_quantiles",
    "sum_grid",
]

DEFAULT_EPSILON = 1.0
SIZE_PILOT_EPSILON = 0.02
MEAN_COUNT_SHARE = 0.25
#: Sanity bound of the means' relative error, as a share of the declared range.
MEANS_SANITY = 0.01
SUM_GRID = 10_000
UNDECLARED = "(undeclared)"
_Z95 = 1.959963984540054
RandomState = int | np.random.RandomState | None


class Mechanism(StrEnum):
    """Noise mechanisms privseg releases with."""

    GEOMETRIC = "geometric"
    EXPONENTIAL = "exponential"
    DP_KMEANS = "dp-kmeans"


class ReleaseKind(StrEnum):
    """Kinds of release, as recorded in the ledger."""

    COUNTS = "counts"
    SIZE_ESTIMATE = "size-estimate"
    MEANS = "means"
    QUANTILES = "quantiles"
    KMEANS = "kmeans"


@dataclass(frozen=True)
class Account:
    """Where a release is charged: a ledger, a dataset and a purpose."""

    ledger: Ledger
    dataset: str
    purpose: str = DEFAULT_PURPOSE
    state: SpendState = SpendState.COMMITTED

    def spend(self, epsilon: float, kind: ReleaseKind, predicted: float | None = None) -> Spend:
        """Check and record ``epsilon`` atomically; raises BudgetExceededError, recording nothing.

        ``dataset`` names the population; the CLI charges with ``SpendState.CHARGED`` and
        commits once the release is published (``privseg.charge``).
        """
        return self.ledger.spend(
            self.dataset,
            PrivacyBudget(epsilon),
            purpose=self.purpose,
            kind=kind.value,
            predicted_value=predicted,
            state=self.state,
        )

    def remaining_epsilon(self) -> float:
        """The epsilon that remains (rounded down a hair so that it always fits)."""
        return float(self.ledger.remaining(self.dataset, self.purpose).epsilon) * (1 - 1e-12)


@dataclass(frozen=True)
class Bounding:
    """How each customer's contribution is bounded."""

    unit: str | None = None
    max_rows_per_unit: int = 1

    def __post_init__(self) -> None:
        if self.max_rows_per_unit < 1:
            raise InputError(f"max rows per unit must be at least 1, got {self.max_rows_per_unit}")

    def describe(self) -> str:
        """One sentence stating the bound, printed with every release."""
        if self.unit is None:
            return (
                "privacy unit: one row (row-level: a customer with several rows is protected "
                "only as several neighbours)"
            )
        return f"privacy unit: one customer ({self.unit}), at most {self.max_rows_per_unit} row(s) each"

    @property
    def neighbours(self) -> str:
        """The neighbouring datasets the guarantee holds for, as the unit actually used."""
        if self.unit is None:
            return "add/remove one row"
        return f"add/remove one customer ({self.unit})"


@dataclass(frozen=True)
class ReleasePlan:
    """What a release will do, known before any budget is spent."""

    kind: ReleaseKind
    mechanism: Mechanism
    epsilon: float
    split: tuple[tuple[str, float], ...]
    sensitivity: float
    noise_scale: float
    expected_abs_error: float
    ci95_half_width: float
    bounding: Bounding
    size_estimate: int | None = None
    predicted_value: float | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly plan."""
        return {
            "kind": self.kind.value,
            "mechanism": self.mechanism.value,
            "epsilon": self.epsilon,
            "split": dict(self.split),
            "sensitivity": self.sensitivity,
            "noise_scale": self.noise_scale,
            "expected_abs_error": self.expected_abs_error,
            "ci95_half_width": self.ci95_half_width,
            "neighbours": self.bounding.neighbours,
            "bounding": self.bounding.describe(),
            "size_estimate": self.size_estimate,
            "predicted_value": self.predicted_value,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Release:
    """A released table (one row per cell) with its plan and what it cost.

    ``evaluation`` is filled only in evaluation mode: the realised analytic value against the
    exact result, INTERNAL to the data controller and never part of the DP artefact.
    """

    plan: ReleasePlan
    table: pd.DataFrame
    spends: tuple[Spend, ...]
    undeclared_noisy: int | None
    evaluation: Mapping[str, float] | None = field(default=None)

    @property
    def epsilon_spent(self) -> float:
        """Total epsilon charged for this release (pilot included)."""
        return float(sum(s.budget.epsilon for s in self.spends))

    def to_dict(self) -> dict[str, Any]:
        """Release metadata (not the table) for reports; never includes the evaluation."""
        out: dict[str, Any] = {
            "plan": self.plan.to_dict(),
            "epsilon_spent": self.epsilon_spent,
            "ledger_spends": [s.id for s in self.spends],
            "undeclared_rows_noisy": self.undeclared_noisy,
        }
        return out


# -- analytic value -------------------------------------------------------------------------
def distribution_value(
    noisy: Sequence[float] | np.ndarray, exact: Sequence[float] | np.ndarray
) -> float:
    """1 - total variation distance between the normalized noisy and exact distributions."""
    p = np.clip(np.asarray(noisy, dtype=float), 0, None)
    q = np.asarray(exact, dtype=float)
    if q.sum() <= 0:
        raise InputError("the exact distribution is empty; analytic value undefined")
    if p.sum() <= 0:
        return 0.0
    return float(1 - 0.5 * np.abs(p / p.sum() - q / q.sum()).sum())


def means_value(
    noisy: Sequence[float] | np.ndarray, exact: Sequence[float] | np.ndarray, *, sanity: float = 0.0
) -> float:
    """1 - mean relative error of segment means, each error capped at 1 (NaN exact means skipped).

    Relative error is |noisy - exact| / max(|exact|, sanity): the sanity bound (Xiao, Wang and
    Gehrke 2010) keeps a segment whose exact mean is zero (e.g. the spend of customers without
    orders) from counting as a total loss for any noise; releases use ``MEANS_SANITY`` of the
    declared range.
    """
    n = np.asarray(noisy, dtype=float)
    e = np.asarray(exact, dtype=float)
    keep = ~np.isnan(e)
    if not keep.any():
        raise InputError("no segment has exact data; analytic value undefined")
    n, e = n[keep], e[keep]
    scale = np.maximum(np.abs(e), sanity)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(scale == 0, (n != e).astype(float), np.abs(n - e) / scale)
    rel = np.where(np.isnan(rel), 1.0, np.minimum(rel, 1.0))
    return float(1 - rel.mean())


def _geometric_alpha(epsilon: float, sensitivity: float) -> float:
    return math.exp(-epsilon / sensitivity)


def _geometric_abs_mean(epsilon: float, sensitivity: float) -> float:
    a = _geometric_alpha(epsilon, sensitivity)
    return 2 * a / (1 - a * a)


def _geometric_ci95(epsilon: float, sensitivity: float, *, level: float = 0.95) -> int:
    """Smallest t with P(|Z| > t) <= 1 - level for two-sided geometric noise."""
    a = _geometric_alpha(epsilon, sensitivity)
    return max(0, math.ceil(math.log((1 - level) / 2 * (1 + a)) / math.log(a)) - 1)


def _geometric_var(epsilon: float, sensitivity: float) -> float:
    a = _geometric_alpha(epsilon, sensitivity)
    return 2 * a / (1 - a) ** 2


_MC_DRAWS = 400


def predict_distribution_value(
    epsilon: float, sizes: Sequence[float] | np.ndarray, *, sensitivity: int = 1
) -> float:
    """Expected 1 - TVD of a noisy histogram whose cells hold about ``sizes`` rows.

    A Monte-Carlo on the noise only: ``sizes`` must be DP estimates (a pilot or the released
    noisy counts), never exact data. Fixed common random numbers keep it monotone in epsilon.
    """
    shape = np.clip(np.asarray(sizes, dtype=float), 0, None)
    if shape.sum() <= 0:
        return 0.0
    uniforms = np.random.default_rng(0).random((2, _MC_DRAWS, len(shape)))
    log_alpha = -epsilon / sensitivity
    g = np.floor(np.log(uniforms) / log_alpha)  # geometric on {0, 1, ...}: P(G >= k) = alpha^k
    noisy = np.clip(shape + g[0] - g[1], 0, None)
    totals = noisy.sum(axis=1, keepdims=True)
    p = np.divide(noisy, totals, out=np.zeros_like(noisy), where=totals > 0)
    tvd = 0.5 * np.abs(p - shape / shape.sum()).sum(axis=1)
    tvd[totals[:, 0] <= 0] = 1.0
    return float(1 - tvd.mean())


def epsilon_for_target(
    target: float, sizes: Sequence[float] | np.ndarray, *, sensitivity: int = 1, ceiling: float
) -> float:
    """Smallest epsilon predicted to reach ``target`` (3 significant digits, rounded up).

    Raises BudgetExceededError with the reason when even ``ceiling`` (the remaining budget)
    is predicted to fall short.
    """
    if not 0 < target < 1:
        raise InputError(f"target must be between 0 and 1, got {target}")
    reach = (
        predict_distribution_value(ceiling, sizes, sensitivity=sensitivity) if ceiling > 0 else 0.0
    )
    if reach < target:
        raise BudgetExceededError(
            f"target {target:g} unreachable: the remaining epsilon {ceiling:g} predicts "
            f"{reach:.3f} for about {int(np.clip(sizes, 0, None).sum())} rows over {len(sizes)} "
            "cells (segments too small for the remaining budget)"
        )
    lo, hi = 0.0, ceiling
    for _ in range(50):
        mid = (lo + hi) / 2
        if predict_distribution_value(mid, sizes, sensitivity=sensitivity) >= target:
            hi = mid
        else:
            lo = mid
    step = 10.0 ** (math.floor(math.log10(hi)) - 2)
    rounded = float(f"{math.ceil(hi / step) * step:.3g}")
    return rounded if hi <= rounded <= ceiling else hi


# -- input preparation ------------------------------------------------------------------------
@contextmanager
def _no_privacy_leak() -> Iterator[None]:
    """Turn diffprivlib's PrivacyLeakWarning into an error (it must never fire)."""
    from diffprivlib.utils import PrivacyLeakWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", PrivacyLeakWarning)
        try:
            yield
        except PrivacyLeakWarning as warning:
            raise PrivsegError(f"diffprivlib reported a privacy leak: {warning}") from warning


def _require_columns(df: pd.DataFrame | QuantileRows, columns: Sequence[str]) -> None:
    for column in columns:
        if column not in df.columns:
            raise InputError("no such column in the input", column=column)


def _bound_rows(df: pd.DataFrame, bounding: Bounding) -> pd.DataFrame:
    """Keep at most ``max_rows_per_unit`` rows per unit (the first ones); drop rows without a unit."""
    if bounding.unit is None:
        return df
    _require_columns(df, [bounding.unit])
    units = df[bounding.unit]
    df = df[units.notna()]
    rank = df.groupby(bounding.unit, sort=False).cumcount()
    return df[(rank < bounding.max_rows_per_unit).to_numpy()]


def _declared_mask(
    df: pd.DataFrame, by: Sequence[str], keys: Mapping[str, Sequence[str]]
) -> tuple[np.ndarray, pd.MultiIndex]:
    """Rows whose every ``by`` value is declared, and the full product of declared keys."""
    _require_columns(df, by)
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


def _cells_of_rows(df: pd.DataFrame, by: Sequence[str], index: pd.MultiIndex) -> np.ndarray:
    """Position in ``index`` of each (declared) row's cell."""
    frame = pd.DataFrame({c: df[c].astype("string").astype(object) for c in by})
    return np.asarray(index.get_indexer(pd.MultiIndex.from_frame(frame)), dtype=np.int64)


def measure_bounds(column: str, bounds: Mapping[str, tuple[float, float]]) -> tuple[float, float]:
    """The declared ``(lo, hi)`` of a measure; raises InputError if undeclared or not finite."""
    if column not in bounds:
        raise InputError(
            "no declared bounds for this measure (use --bounds COL=LO:HI or the policy's "
            "release.bounds); bounds are never inferred from the data",
            column=column,
        )
    lo, hi = (float(b) for b in bounds[column])
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise InputError(f"bounds must be finite with LO < HI, got {lo:g}:{hi:g}", column=column)
    if max(abs(lo), abs(hi)) > MAX_ABS_BOUND:
        raise InputError(
            f"bounds must lie within +-{MAX_ABS_BOUND:g}, got {lo:g}:{hi:g}", column=column
        )
    return lo, hi


def _numeric(df: pd.DataFrame, column: str) -> np.ndarray:
    _require_columns(df, [column])
    return _to_float(df[column])


def _to_float(values: pd.Series) -> np.ndarray:
    """Numbers of a column; text that is not a number becomes NaN."""
    numbers = pd.to_numeric(values, errors="coerce")
    return np.asarray(numbers.to_numpy(dtype=float, na_value=np.nan), dtype=float)


def _geometric(
    values: np.ndarray, epsilon: float, sensitivity: int, random_state: RandomState
) -> np.ndarray:
    """Add exact two-sided geometric noise to integers (``noise.discrete_laplace``)."""
    bits = _bits(random_state)
    eps = exact_epsilon(epsilon)
    return np.array(
        [int(v) + discrete_laplace(eps, int(sensitivity), bits) for v in values], dtype=np.int64
    )


def _bits(random_state: RandomState) -> Bits:
    """The secure source, or a seeded one in tests."""
    if random_state is None:
        return SECURE
    state = _seeded(random_state)
    assert isinstance(state, np.random.RandomState)
    return SeededBits(state)


def _cell_frame(index: pd.MultiIndex) -> pd.DataFrame:
    return index.to_frame(index=False).astype(object)


def _guarantee(epsilon: float, bounding: Bounding) -> str:
    return f"{epsilon:g}-DP, neighbours: {bounding.neighbours}; {bounding.describe()}"


# -- counts -----------------------------------------------------------------------------------
#: One row is the privacy unit (no unit column).
PER_ROW = Bounding()


@dataclass(frozen=True)
class ExactCounts:
    """Exact bounded counts per declared cell (``index`` order) plus, last, the rows with an
    undeclared key: what a count release adds noise to, never released as is.

    Made by ``exact_counts`` here, or out of core (``privseg.partitioned``) or on Spark
    (``privseg.spark``); parts of a table split by unit add up.
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
    bounding: Bounding = Bounding(),
) -> ExactCounts:
    """Exact counts per declared cell of ``by`` after keeping each unit's first rows."""
    bounded = _bound_rows(df, bounding)
    mask, index = _declared_mask(bounded, by, keys)
    cell_of_row = np.full(len(bounded), len(index), dtype=np.int64)  # last cell: undeclared
    cell_of_row[mask] = _cells_of_rows(bounded[mask], by, index)
    return ExactCounts(np.bincount(cell_of_row, minlength=len(index) + 1), index, bounding)


def release_counts(
    df: pd.DataFrame | ExactCounts,
    *,
    by: Sequence[str],
    keys: Mapping[str, Sequence[str]],
    epsilon: float | None = None,
    target: float | None = None,
    account: Account | None,
    bounding: Bounding = Bounding(),
    suppress_below: int | None = None,
    totals: bool = False,
    evaluate: bool = False,
    random_state: RandomState = None,
) -> Release:
    """Noisy counts per declared key combination of ``by`` (segments and public dimensions).

    Give ``epsilon`` or ``target`` (analytic value to reach, e.g. 0.85): the target mode first
    spends ``SIZE_PILOT_EPSILON`` on a DP total (charged as its own ledger entry), then the
    smallest epsilon predicted to reach the target within the remaining budget, or refuses. ``account=None`` draws without
    charging any ledger (the caller answers for the budget). ``df`` may be the table or its
    ``ExactCounts`` (computed out of core or on Spark; its bounding then applies).
    """
    random_state = _seeded(random_state)
    if (epsilon is None) == (target is None):
        raise InputError("give exactly one of epsilon or target")
    if isinstance(df, ExactCounts):
        if not df.index.equals(cell_index(by, keys)):
            raise InputError("the exact counts were made for other cells than by and keys")
        counted = df
    else:
        counted = exact_counts(df, by=by, keys=keys, bounding=bounding)
    exact, index, bounding = counted.counts, counted.index, counted.bounding
    sensitivity = bounding.max_rows_per_unit
    spends: list[Spend] = []
    pilot_sizes: np.ndarray | None = None
    notes: list[str] = []
    if target is not None:
        if account is not None:
            spends.append(account.spend(SIZE_PILOT_EPSILON, ReleaseKind.SIZE_ESTIMATE))
        noisy_total = _geometric(
            np.array([exact[:-1].sum()]), SIZE_PILOT_EPSILON, sensitivity, random_state
        )[0]
        # Conservative shape: the lower 95% bound of the DP total, spread evenly (an even
        # spread maximizes the error left after clamping at zero).
        low = max(0, noisy_total - _geometric_ci95(SIZE_PILOT_EPSILON, sensitivity))
        pilot_sizes = np.full(len(index), low / len(index))
        ceiling = account.remaining_epsilon() if account is not None else 10.0
        try:
            epsilon = epsilon_for_target(
                target, pilot_sizes, sensitivity=sensitivity, ceiling=ceiling
            )
        except BudgetExceededError as error:
            raise BudgetExceededError(
                f"{error}; the DP size estimate spent epsilon {SIZE_PILOT_EPSILON:g}"
            ) from error
        notes.append(
            f"epsilon {epsilon:g} chosen for target {target:g} from a DP total, evenly spread "
            f"(pilot epsilon {SIZE_PILOT_EPSILON:g}, charged separately)"
        )
    assert epsilon is not None
    _check_epsilon(epsilon)
    predicted = (
        None
        if pilot_sizes is None
        else predict_distribution_value(epsilon, pilot_sizes, sensitivity=sensitivity)
    )
    plan = ReleasePlan(
        kind=ReleaseKind.COUNTS,
        mechanism=Mechanism.GEOMETRIC,
        epsilon=epsilon,
        split=(("counts", epsilon),),
        sensitivity=sensitivity,
        noise_scale=sensitivity / epsilon,
        expected_abs_error=_geometric_abs_mean(epsilon, sensitivity),
        ci95_half_width=_geometric_ci95(epsilon, sensitivity),
        bounding=bounding,
        size_estimate=None if pilot_sizes is None else int(np.clip(pilot_sizes, 0, None).sum()),
        predicted_value=predicted,
        notes=tuple(notes),
    )
    if account is not None:
        spends.append(account.spend(epsilon, ReleaseKind.COUNTS, predicted))
    noisy = _geometric(exact, epsilon, sensitivity, random_state)
    if predicted is None:  # post-processing of the noisy output: costs nothing
        predicted = predict_distribution_value(epsilon, noisy[:-1], sensitivity=sensitivity)
        plan = replace(plan, predicted_value=predicted)
        if account is not None:
            account.ledger.record_prediction(spends[-1].id, predicted)
    table = _cell_frame(index)
    _fill_count_columns(table, noisy[:-1], plan, suppress_below)
    if totals:
        table = _with_totals(table, by, plan)
    evaluation = None
    if evaluate:
        evaluation = {
            "realised_value": distribution_value(noisy[:-1], exact[:-1]),
            "predicted_value": predicted,
        }
    return Release(plan, table, tuple(spends), max(0, int(noisy[-1])), evaluation)


def _seeded(random_state: RandomState) -> RandomState:
    """None stays None (secure noise); a test seed becomes one RandomState shared by all draws."""
    return np.random.RandomState(random_state) if isinstance(random_state, int) else random_state


def _check_epsilon(epsilon: float) -> None:
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise InputError(f"epsilon must be a positive number, got {epsilon}")


def _fill_count_columns(
    table: pd.DataFrame, noisy: np.ndarray, plan: ReleasePlan, suppress_below: int | None
) -> None:
    """Post-processing (no budget): clamp at zero, CI, suppression; all marked in columns."""
    half = int(plan.ci95_half_width)
    count = np.clip(noisy, 0, None)
    suppressed = (
        count < suppress_below if suppress_below is not None else np.zeros(len(count), dtype=bool)
    )
    table["count"] = pd.array(np.where(suppressed, 0, count), dtype="Int64")
    table.loc[suppressed, "count"] = pd.NA
    table["count_ci95_low"] = pd.array(np.clip(noisy - half, 0, None), dtype="Int64")
    table["count_ci95_high"] = pd.array(np.clip(noisy + half, 0, None), dtype="Int64")
    table.loc[suppressed, ["count_ci95_low", "count_ci95_high"]] = pd.NA
    table["suppressed"] = suppressed
    post = "clamped to >= 0 integers"
    if suppress_below is not None:
        post += f"; cells below {suppress_below} suppressed"
    table["postprocessing"] = post
    table["mechanism"] = plan.mechanism.value
    table["epsilon"] = plan.epsilon
    table["noise_scale"] = plan.noise_scale
    table["guarantee"] = _guarantee(plan.epsilon, plan.bounding)


def _with_totals(table: pd.DataFrame, by: Sequence[str], plan: ReleasePlan) -> pd.DataFrame:
    """Append margins summed from the released cells (consistent by construction, no budget)."""
    cells = table.assign(_count=table["count"].fillna(0))
    var = _geometric_var(plan.epsilon, plan.sensitivity)
    rows = []
    groupings: list[list[str]] = [[c] for c in by] if len(by) > 1 else []
    groupings.append([])
    for keep in groupings:
        groups = cells.groupby(keep, sort=False) if keep else [((), cells)]
        for key, part in groups:
            key = key if isinstance(key, tuple) else (key,)
            row: dict[str, object] = {c: "*" for c in by}
            row.update(dict(zip(keep, key, strict=True)))
            total = int(part["_count"].sum())
            half = math.ceil(_Z95 * math.sqrt(var * len(part)))
            row.update(
                count=total,
                count_ci95_low=max(0, total - half),
                count_ci95_high=total + half,
                suppressed=False,
                postprocessing="total: sum of released cells (normal-approximation CI)",
            )
            rows.append(row)
    margins = pd.DataFrame(rows)
    for column in ("mechanism", "epsilon", "noise_scale", "guarantee"):
        margins[column] = table[column].iloc[0]
    out = pd.concat([table, margins], ignore_index=True)
    for column in ("count", "count_ci95_low", "count_ci95_high"):
        out[column] = out[column].astype("Int64")
    return out


# -- sums and means ---------------------------------------------------------------------------
def sum_grid(lo: float, hi: float) -> float:
    """The step of the integer grid sums are drawn on: ``max(|lo|, |hi|) / SUM_GRID``."""
    return max(abs(lo), abs(hi)) / SUM_GRID


def grid_units(values: pd.Series, lo: float, hi: float) -> np.ndarray:
    """Each value parsed, clipped to ``[lo, hi]`` and rounded to the sum grid (half to even),
    in grid units; NaN where the value is missing or not a number.

    The one per-row step of a mean release, shared by the local and Spark engines.
    """
    return np.asarray(np.rint(np.clip(_to_float(values), lo, hi) / sum_grid(lo, hi)), dtype=float)


@dataclass(frozen=True)
class ExactSums:
    """Exact bounded counts and grid sums per declared cell (``index`` order) of a measure
    clipped to ``bounds``: what a mean release adds noise to, never released as is.

    ``counts`` has one more entry, last: the kept rows with an undeclared key or a missing
    measure. ``sums`` are in units of ``sum_grid(*bounds)``. Made by ``exact_sums`` here or on
    Spark (``privseg.spark``).
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
    bounding: Bounding = Bounding(),
) -> ExactSums:
    """Exact counts and clipped grid sums of ``value`` per declared cell of ``by``, after
    keeping each unit's first rows (rows with a missing measure go to the last count)."""
    lo, hi = measure_bounds(value, bounds)
    bounded = _bound_rows(df, bounding)
    mask, index = _declared_mask(bounded, by, keys)
    _require_columns(bounded, [value])
    units = grid_units(bounded[value], lo, hi)
    mask &= ~np.isnan(units)
    cell_of_row = _cells_of_rows(bounded[mask], by, index)
    counts = np.bincount(cell_of_row, minlength=len(index))
    sums = np.bincount(cell_of_row, weights=units[mask], minlength=len(index)).astype(np.int64)
    undeclared = len(bounded) - int(mask.sum())
    return ExactSums(np.append(counts, undeclared), sums, index, value, (lo, hi), bounding)


def release_means(
    df: pd.DataFrame | ExactSums,
    *,
    by: Sequence[str],
    keys: Mapping[str, Sequence[str]],
    value: str,
    bounds: Mapping[str, tuple[float, float]],
    epsilon: float,
    account: Account | None,
    bounding: Bounding = Bounding(),
    evaluate: bool = False,
    random_state: RandomState = None,
) -> Release:
    """Noisy count, sum and mean of a clipped measure per declared segment.

    The sum is drawn on an integer grid of ``max(|lo|, |hi|) / SUM_GRID`` with geometric noise;
    mean = noisy sum / noisy count (add/remove-one-customer neighbours), clipped to the bounds.
    Budget: ``MEAN_COUNT_SHARE`` of epsilon to the counts, the rest to the sums. ``df`` may be
    the table or its ``ExactSums`` (computed on Spark; its bounding then applies).
    """
    random_state = _seeded(random_state)
    _check_epsilon(epsilon)
    lo, hi = measure_bounds(value, bounds)
    if isinstance(df, ExactSums):
        if not df.index.equals(cell_index(by, keys)) or (df.value, df.bounds) != (value, (lo, hi)):
            raise InputError("the exact sums were made for other cells, measure or bounds")
        exact = df
    else:
        exact = exact_sums(df, by=by, keys=keys, value=value, bounds=bounds, bounding=bounding)
    index, bounding = exact.index, exact.bounding
    exact_n, exact_s = exact.counts[:-1], exact.sums
    grid = sum_grid(lo, hi)
    eps_count = epsilon * MEAN_COUNT_SHARE
    eps_sum = epsilon - eps_count
    k = bounding.max_rows_per_unit
    sum_sensitivity = k * SUM_GRID
    plan = ReleasePlan(
        kind=ReleaseKind.MEANS,
        mechanism=Mechanism.GEOMETRIC,
        epsilon=epsilon,
        split=(("counts", eps_count), ("sums", eps_sum)),
        sensitivity=k * max(abs(lo), abs(hi)),
        noise_scale=sum_sensitivity / eps_sum * grid,
        expected_abs_error=_geometric_abs_mean(eps_sum, sum_sensitivity) * grid,
        ci95_half_width=_geometric_ci95(eps_sum, sum_sensitivity) * grid,
        bounding=bounding,
        notes=(
            f"values clipped to [{lo:g}, {hi:g}] and rounded to a grid of {grid:g}",
            "mean = noisy sum / noisy count; predicted value is post-processing of the noisy output",
        ),
    )
    spends = [account.spend(epsilon, ReleaseKind.MEANS)] if account is not None else []
    noisy_n = _geometric(exact.counts, eps_count, k, random_state)
    noisy_s = _geometric(exact_s, eps_sum, sum_sensitivity, random_state)
    n_pos = np.clip(noisy_n[:-1], 0, None)
    sums = noisy_s * grid
    means = np.clip(sums / np.maximum(n_pos, 1), lo, hi)
    means = np.where(n_pos > 0, means, np.nan)
    mean_low, mean_high = _mean_interval(noisy_s, noisy_n[:-1], eps_count, eps_sum, k, grid, lo, hi)
    table = _cell_frame(index)
    table["count"] = pd.array(n_pos, dtype="Int64")
    table["sum"] = sums
    s_half = plan.ci95_half_width
    table["sum_ci95_low"] = sums - s_half
    table["sum_ci95_high"] = sums + s_half
    table["mean"] = means
    table["mean_ci95_low"] = mean_low
    table["mean_ci95_high"] = mean_high
    table["mechanism"] = plan.mechanism.value
    table["epsilon"] = epsilon
    table["noise_scale"] = plan.noise_scale
    table["method"] = "mean = noisy sum / noisy count"
    table["postprocessing"] = "count clamped to >= 0; mean clipped to bounds, empty if count is 0"
    table["guarantee"] = _guarantee(epsilon, bounding)
    sanity = MEANS_SANITY * (hi - lo)
    predicted = _predict_means_value(n_pos, means, eps_count, eps_sum, k, grid, sanity)
    plan = replace(plan, predicted_value=predicted)
    if account is not None and predicted is not None:
        account.ledger.record_prediction(spends[0].id, predicted)
    evaluation = None
    if evaluate:
        with np.errstate(divide="ignore", invalid="ignore"):
            exact_means = np.where(exact_n > 0, np.clip(exact_s * grid / exact_n, lo, hi), np.nan)
        realised = means_value(np.nan_to_num(means, nan=0.0), exact_means, sanity=sanity)
        evaluation = {"realised_value": realised}
        if predicted is not None:
            evaluation["predicted_value"] = predicted
    return Release(plan, table, tuple(spends), max(0, int(noisy_n[-1])), evaluation)


def _mean_interval(
    noisy_s: np.ndarray,
    noisy_n: np.ndarray,
    eps_count: float,
    eps_sum: float,
    k: int,
    grid: float,
    lo: float,
    hi: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Joint 95% interval of sum/count from 97.5% intervals of each (Bonferroni), within bounds."""
    ts = _geometric_ci95(eps_sum, k * SUM_GRID, level=0.975) * grid
    tc = _geometric_ci95(eps_count, k, level=0.975)
    s = noisy_s * grid
    n_low = noisy_n - tc
    n_high = noisy_n + tc
    with np.errstate(divide="ignore", invalid="ignore"):
        cands = np.stack([(s - ts) / n_low, (s - ts) / n_high, (s + ts) / n_low, (s + ts) / n_high])
    low = np.where(n_low > 0, np.clip(cands.min(axis=0), lo, hi), lo)
    high = np.where(n_low > 0, np.clip(cands.max(axis=0), lo, hi), hi)
    return low, high


def _predict_means_value(
    n: np.ndarray,
    means: np.ndarray,
    eps_count: float,
    eps_sum: float,
    k: int,
    grid: float,
    sanity: float,
) -> float | None:
    """Expected value from the noisy sizes and means (first order), or None if nothing to go on.

    Segments whose noisy count is within the count noise of zero are left out, as the
    realised measure leaves out empty segments.
    """
    ok = (n > _geometric_ci95(eps_count, k)) & ~np.isnan(means)
    if not ok.any():
        return None
    e_s = _geometric_abs_mean(eps_sum, k * SUM_GRID) * grid
    e_c = _geometric_abs_mean(eps_count, k)
    m = np.abs(means[ok])
    abs_error = (e_s + m * e_c) / n[ok]
    return float(1 - np.minimum(1.0, abs_error / np.maximum(m, sanity)).mean())


# -- quantiles ----------------------------------------------------------------------------------
#: Candidates of a quantile grid by default: the declared range in this many steps.
QUANTILE_STEPS = 1_000
#: At most this many candidates per quantile (a finer resolution is refused).
MAX_QUANTILE_CANDIDATES = 100_001
#: Bounds of a quantile or mean beyond this magnitude are refused (the grid would lose precision).
MAX_ABS_BOUND = 1e15


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
    from ``secrets``; a seed or RandomState is for tests only."""
    if random_state is None:
        return secrets.token_bytes(32)
    state = _seeded(random_state)
    assert isinstance(state, np.random.RandomState)
    return bytes(state.bytes(32))


@dataclass(frozen=True, eq=False)
class QuantileTask:
    """All a quantile release's output depends on besides the rows, fixed on the driver before
    any value is read: declared cells (``index``; None: one overall cell), the measure, its
    candidate grid (declared bounds and resolution), the quantiles with their epsilon each,
    the bounding and the secret ``seed``. Engines bound the rows, group them by declared cell
    and call ``released`` on each group; the draws of quantile ``j`` in cell ``c`` come from
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
        numbers = _to_float(values)
        ordered = np.sort(np.clip(numbers[~np.isnan(numbers)], candidates[0], candidates[-1]))
        out = []
        for j, q in enumerate(self.quantiles):
            alpha = Fraction(repr(q))
            scores = quantile_scores(ordered, candidates, alpha)
            bits = StreamBits(self.seed, f"{j}:{cell}".encode())
            sensitivity = quantile_sensitivity(alpha, self.bounding.max_rows_per_unit)
            out.append(candidates[exponential_choice(scores, self.epsilon_each, sensitivity, bits)])
        return np.array(out, dtype=float)


class QuantileRows(Protocol):
    """Rows held elsewhere (``privseg.spark.SparkRows``) where each cell's quantiles are
    computed: only the released numbers come back."""

    @property
    def columns(self) -> Sequence[str]:
        """The columns of the rows."""
        ...

    def cell_quantiles(self, task: QuantileTask) -> np.ndarray:
        """``task.released`` of every declared cell: shape ``(task.cells, len(task.quantiles))``."""
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
    bounding: Bounding = Bounding(),
    resolution: float | None = None,
    random_state: RandomState = None,
) -> Release:
    """DP quantiles of a clipped measure, overall or per declared segment: the exponential
    mechanism over the finite candidate grid of the declared bounds and ``resolution``
    (``QuantileGrid``), integer scores, exact sampling (``QuantileTask.released``).

    Epsilon is split evenly across the quantiles; segments are disjoint (parallel composition).
    ``df`` may be rows held elsewhere (``QuantileRows``, e.g. on Spark): the seed is drawn
    here, once, after the ledger is charged, and the same seed gives the same release.
    """
    _check_epsilon(epsilon)
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
        _require_columns(df, [*by, value, *([bounding.unit] if bounding.unit else [])])
    table = pd.DataFrame(index=[0]) if index is None else _cell_frame(index)
    eps_each = exact_epsilon(epsilon) / len(qs)
    k = bounding.max_rows_per_unit
    sensitivity = max(quantile_sensitivity(Fraction(repr(q)), k) for q in qs)
    plan = ReleasePlan(
        kind=ReleaseKind.QUANTILES,
        mechanism=Mechanism.EXPONENTIAL,
        epsilon=epsilon,
        split=tuple((f"q{q:g}", float(eps_each)) for q in qs),
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
        ),
    )
    spends = [account.spend(epsilon, ReleaseKind.QUANTILES)] if account is not None else []
    task = QuantileTask(
        value=value,
        by=tuple(by),
        index=index,
        quantiles=qs,
        epsilon_each=eps_each,
        grid=grid,
        bounding=bounding,
        seed=quantile_seed(random_state),
    )
    if isinstance(df, pd.DataFrame):
        released = np.array([task.released(c, values) for c, values in enumerate(groups)])
    else:
        released = np.asarray(df.cell_quantiles(task), dtype=float)
    for j, q in enumerate(qs):
        table[f"q{q:g}"] = released[:, j]
    table["mechanism"] = plan.mechanism.value
    table["epsilon"] = epsilon
    table["noise_scale"] = plan.noise_scale
    table["postprocessing"] = "none"
    table["guarantee"] = _guarantee(epsilon, bounding)
    return Release(plan, table, tuple(spends), None, None)


def _cell_values(
    df: pd.DataFrame,
    value: str,
    by: Sequence[str],
    keys: Mapping[str, Sequence[str]],
    bounding: Bounding,
) -> list[pd.Series]:
    """The raw measure of each declared cell's rows (one cell without ``by``), after keeping
    each unit's first rows."""
    bounded = _bound_rows(df, bounding)
    _require_columns(bounded, [*by, value])
    if not by:
        return [bounded[value]]
    mask, index = _declared_mask(bounded, by, keys)
    cell_of_row = _cells_of_rows(bounded[mask], by, index)
    values = bounded[value][mask]
    order = np.argsort(cell_of_row, kind="stable")
    edges = np.searchsorted(cell_of_row[order], np.arange(len(index) + 1))
    return [values.iloc[rows] for rows in np.split(order, edges[1:-1])]


# -- k-means ------------------------------------------------------------------------------------
def kmeans_rows(
    df: pd.DataFrame, features: Sequence[str], box: Sequence[tuple[float, float]]
) -> np.ndarray:
    """The rows with every feature numeric, each feature clipped to its declared ``box`` pair.

    The one per-row step of a k-means release, shared by the local and Spark engines.
    """
    data = np.column_stack([_numeric(df, f) for f in features])
    lo, hi = [b[0] for b in box], [b[1] for b in box]
    return np.asarray(np.clip(data[~np.isnan(data).any(axis=1)], lo, hi), dtype=float)


@dataclass(frozen=True)
class KMeansSource:
    """The rows of a k-means release held elsewhere (``privseg.spark.kmeans_source``): their
    exact ``synopses`` (``privseg.kmeans.Synopses``), made from ``features`` clipped to
    ``bounds`` (declared, in order) after ``bounding``. Only the synopses reach ``release_kmeans``.
    """

    synopses: Synopses
    features: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]
    bounding: Bounding


def release_kmeans(
    df: pd.DataFrame | KMeansSource,
    *,
    features: Sequence[str],
    bounds: Mapping[str, tuple[float, float]],
    k: int,
    epsilon: float,
    account: Account | None,
    bounding: Bounding = Bounding(),
    evaluate: bool = False,
    random_state: RandomState = None,
) -> Release:
    """DP k-means (``privseg.kmeans.fit``) over clipped features: centroids and noisy sizes.

    One row per customer (rows with a missing feature are excluded; their number is not
    released). Evaluation: exact k-means cost / cost of the DP centroids on the same rows.
    ``df`` may be a ``KMeansSource`` (rows on Spark; its bounding then applies): the fit reads
    only its exact synopses and draws all noise here, so a seed gives the local release.
    """
    from privseg import kmeans  # sklearn is slow to import; only k-means needs it

    random_state = _seeded(random_state)
    _check_epsilon(epsilon)
    if not features:
        raise InputError("at least one feature is needed")
    if isinstance(df, KMeansSource):
        bounding = df.bounding
    if bounding.max_rows_per_unit != 1:
        raise InputError("k-means takes one row per customer (max rows per unit 1)")
    box = [measure_bounds(f, bounds) for f in features]
    data: np.ndarray | None = None
    if isinstance(df, KMeansSource):
        if (df.features, df.bounds) != (tuple(features), tuple(box)):
            raise InputError("the k-means synopses were made for other features or bounds")
        if evaluate:
            raise InputError(
                "evaluating k-means needs the rows on this machine: use the local engine"
            )
        synopses = df.synopses
    else:
        data = kmeans_rows(_bound_rows(df, bounding), features, box)
        synopses = kmeans.ArraySynopses.from_rows(data, box)
    plan = ReleasePlan(
        kind=ReleaseKind.KMEANS,
        mechanism=Mechanism.DP_KMEANS,
        epsilon=epsilon,
        split=(("kmeans", epsilon),),
        sensitivity=1,
        noise_scale=float("nan"),
        expected_abs_error=float("nan"),
        ci95_half_width=float("nan"),
        bounding=bounding,
        notes=(
            "features clipped to their declared bounds; rows with a missing feature excluded",
            "no value is predicted before the release for k-means (use --evaluate internally)",
        ),
    )
    spends = [account.spend(epsilon, ReleaseKind.KMEANS)] if account is not None else []
    with _no_privacy_leak():
        result = kmeans.fit_synopses(
            synopses, bounds=box, k=k, epsilon=epsilon, random_state=random_state
        )
    table = pd.DataFrame(result.centroids, columns=list(features))
    table.insert(0, "cluster", np.arange(result.k))
    table["size"] = np.clip(result.sizes, 0, None)
    table["mechanism"] = plan.mechanism.value
    table["method"] = result.method.value
    table["epsilon"] = epsilon
    table["postprocessing"] = "sizes clamped to >= 0"
    table["guarantee"] = _guarantee(epsilon, bounding)
    evaluation = None
    if evaluate and data is not None:  # a KMeansSource was refused above
        evaluation = {"realised_value": kmeans.analytic_value(data, result.centroids, bounds=box)}
    return Release(plan, table, tuple(spends), None, evaluation)
