"""DP counts per declared key combination (segments and public dimensions): two-sided
geometric noise (integers, immune to floating-point attacks), sensitivity
``max_rows_per_unit``; cross-tabs smoothed (``privseg.dp.consistency``); optional target mode,
suppression and consistent margins."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from privseg.dp.cells import ExactCounts, cell_frame, cell_index, exact_counts
from privseg.dp.charge import charge, record_prediction, stamp
from privseg.dp.consistency import smooth
from privseg.dp.ledger import Spend
from privseg.dp.noise import (
    Z95,
    geometric,
    geometric_abs_mean,
    geometric_ci95,
    geometric_interval,
    geometric_var,
)
from privseg.dp.types import (
    PER_ROW,
    SIZE_PILOT_EPSILON,
    Account,
    Bounding,
    Mechanism,
    RandomState,
    Release,
    ReleaseKind,
    ReleasePlan,
)
from privseg.dp.validation import check_epsilon, seeded
from privseg.dp.value import (
    distribution_value,
    epsilon_for_counts_target,
    predict_counts_value,
    segment_accuracy,
    value_floor,
    worst_case_sizes,
)
from privseg.errors import BudgetExceededError, InputError

__all__ = ["release_counts"]


def release_counts(
    df: pd.DataFrame | ExactCounts,
    *,
    by: Sequence[str],
    keys: Mapping[str, Sequence[str]],
    epsilon: float | None = None,
    target: float | None = None,
    account: Account | None,
    bounding: Bounding = PER_ROW,
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

    >>> ledger = privseg.Ledger("budget.db")
    >>> _ = ledger.set_budget("crm", privseg.PrivacyBudget(3), purpose="wecom-marketing")
    >>> account = privseg.Account(ledger, "crm", "wecom-marketing")
    >>> labels = pd.DataFrame({"uid": [f"u{i}" for i in range(300)],
    ...                        "tier": ["gold"] * 100 + ["silver"] * 200,
    ...                        "spend": [str(i) for i in range(300)]})
    >>> release = privseg.release_counts(
    ...     labels, by=["tier"], keys={"tier": ["gold", "silver", "bronze"]}, epsilon=0.5,
    ...     account=account, bounding=privseg.Bounding(unit="uid"))
    >>> release.table["tier"].tolist()  # every declared key, even one without customers
    ['gold', 'silver', 'bronze']
    >>> ledger.remaining("crm", "wecom-marketing").epsilon
    Fraction(5, 2)
    """
    random_state = seeded(random_state)
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
    pilot_total: int | None = None
    notes: list[str] = []
    if target is not None:
        spends.extend(charge(account, SIZE_PILOT_EPSILON, ReleaseKind.SIZE_ESTIMATE))
        noisy_total = geometric(
            np.array([exact[:-1].sum()]), SIZE_PILOT_EPSILON, sensitivity, random_state
        )[0]
        # the lower 95% bound of the DP total: fewer rows means a lower floor, more noise
        pilot_total = max(0, int(noisy_total) - geometric_ci95(SIZE_PILOT_EPSILON, sensitivity))
        ceiling = account.remaining_epsilon() if account is not None else 10.0
        try:
            epsilon = epsilon_for_counts_target(
                target, pilot_total, len(index), sensitivity=sensitivity, ceiling=ceiling
            )
        except BudgetExceededError as error:
            raise BudgetExceededError(
                f"{error}; the DP size estimate spent epsilon {SIZE_PILOT_EPSILON:g}"
            ) from error
        notes.append(
            f"epsilon {epsilon:g} chosen for target {target:g} as predicted for the worst table "
            f"of a DP total of {pilot_total} rows: every cell at the floor of "
            f"{value_floor(pilot_total, len(index)):g} (pilot epsilon {SIZE_PILOT_EPSILON:g}, "
            "charged separately)"
        )
    assert epsilon is not None
    check_epsilon(epsilon)
    predicted = (
        None
        if pilot_total is None
        else predict_counts_value(
            epsilon, worst_case_sizes(pilot_total, len(index)), sensitivity=sensitivity
        )
    )
    plan = ReleasePlan(
        kind=ReleaseKind.COUNTS,
        mechanism=Mechanism.GEOMETRIC,
        epsilon=epsilon,
        split=(("counts", epsilon),),
        sensitivity=sensitivity,
        noise_scale=sensitivity / epsilon,
        expected_abs_error=geometric_abs_mean(epsilon, sensitivity),
        ci95_half_width=geometric_ci95(epsilon, sensitivity),
        bounding=bounding,
        size_estimate=pilot_total,
        predicted_value=predicted,
        notes=tuple(notes),
    )
    spends.extend(charge(account, epsilon, ReleaseKind.COUNTS, predicted))
    noisy = geometric(exact, epsilon, sensitivity, random_state)
    if predicted is None:  # post-processing of the noisy output: costs nothing
        predicted = predict_counts_value(epsilon, noisy[:-1], sensitivity=sensitivity)
        plan = replace(plan, predicted_value=predicted)
        record_prediction(account, tuple(spends), predicted)
    released = _estimate_cells(noisy[:-1], index, plan)
    table = cell_frame(index)
    _fill_count_columns(
        table, noisy[:-1], released, plan, suppress_below, smoothed=index.nlevels > 1
    )
    if totals:
        table = _with_totals(table, by, plan)
    evaluation = None
    if evaluate:
        evaluation = {
            "realised_value": segment_accuracy(released, exact[:-1]),
            "predicted_value": predicted,
            "realised_1_minus_tvd": distribution_value(released, exact[:-1]),
        }
    dropped = int(noisy[-1])
    interval = geometric_interval(dropped, epsilon, sensitivity)
    return Release(plan, table, tuple(spends), max(0, dropped), evaluation, interval)


def _estimate_cells(noisy: np.ndarray, index: pd.MultiIndex, plan: ReleasePlan) -> np.ndarray:
    """Released cell counts: the noisy counts clamped at zero; a cross-tab of two or more
    columns is smoothed (``privseg.dp.consistency``) and kept within each cell's 95%
    interval. Post-processing only."""
    if index.nlevels < 2:
        return np.asarray(np.clip(noisy, 0, None), dtype=np.int64)
    variance = geometric_var(plan.epsilon, plan.sensitivity)
    smoothed = np.rint(smooth(noisy.reshape(index.levshape), variance).ravel())
    half = plan.ci95_half_width
    kept = np.clip(smoothed, np.clip(noisy - half, 0, None), np.clip(noisy + half, 0, None))
    return np.asarray(kept, dtype=np.int64)


def _fill_count_columns(
    table: pd.DataFrame,
    noisy: np.ndarray,
    count: np.ndarray,
    plan: ReleasePlan,
    suppress_below: int | None,
    *,
    smoothed: bool,
) -> None:
    """Post-processing (no budget): the released ``count`` (clamped, smoothed), the CI
    around each ``noisy`` count, suppression; all marked in columns."""
    half = int(plan.ci95_half_width)
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
    if smoothed:
        post += "; smoothed towards the model of its marginals, within the 95% interval"
    if suppress_below is not None:
        post += f"; cells below {suppress_below} suppressed"
    stamp(table, plan, postprocessing=post)


def _with_totals(table: pd.DataFrame, by: Sequence[str], plan: ReleasePlan) -> pd.DataFrame:
    """Append margins summed from the released cells (consistent by construction, no budget)."""
    cells = table.assign(_count=table["count"].fillna(0))
    var = geometric_var(plan.epsilon, plan.sensitivity)
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
            half = math.ceil(Z95 * math.sqrt(var * len(part)))
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
