"""DP means per declared segment: noisy sum / noisy count of a clipped measure.

The sum is drawn on an integer grid of ``max(|lo|, |hi|) / SUM_GRID`` with geometric noise;
the count is noisy too (add/remove-one-customer neighbours; never diffprivlib's
``tools.mean``, which assumes a public count). Budget: ``MEAN_COUNT_SHARE`` of epsilon to the
counts, the rest to the sums.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from privseg.dp.cells import ExactSums, cell_frame, cell_index, exact_sums, sum_grid
from privseg.dp.charge import charge, record_prediction, stamp
from privseg.dp.noise import geometric, geometric_abs_mean, geometric_ci95, geometric_interval
from privseg.dp.types import (
    MEAN_COUNT_SHARE,
    MEANS_SANITY,
    PER_ROW,
    SUM_GRID,
    Account,
    Bounding,
    Mechanism,
    RandomState,
    Release,
    ReleaseKind,
    ReleasePlan,
)
from privseg.dp.validation import check_epsilon, measure_bounds, seeded
from privseg.dp.value import means_value, predict_means_value
from privseg.errors import InputError

__all__ = ["release_means"]


def release_means(
    df: pd.DataFrame | ExactSums,
    *,
    by: Sequence[str],
    keys: Mapping[str, Sequence[str]],
    value: str,
    bounds: Mapping[str, tuple[float, float]],
    epsilon: float,
    account: Account | None,
    bounding: Bounding = PER_ROW,
    evaluate: bool = False,
    random_state: RandomState = None,
) -> Release:
    """Noisy count, sum and mean of a clipped measure per declared segment.

    The sum is drawn on an integer grid of ``max(|lo|, |hi|) / SUM_GRID`` with geometric noise;
    mean = noisy sum / noisy count (add/remove-one-customer neighbours), clipped to the bounds.
    Budget: ``MEAN_COUNT_SHARE`` of epsilon to the counts, the rest to the sums. ``df`` may be
    the table or its ``ExactSums`` (computed on Spark; its bounding then applies).

    ``account=None`` charges no ledger (see ``release_counts`` for one that does):

    >>> orders = pd.DataFrame({"tier": ["gold"] * 100 + ["silver"] * 200,
    ...                        "amount": [str(i % 500) for i in range(300)]})
    >>> release = privseg.release_means(
    ...     orders, by=["tier"], keys={"tier": ["gold", "silver"]}, value="amount",
    ...     bounds={"amount": (0, 500)}, epsilon=1, account=None)
    >>> list(release.table.columns[:6])
    ['tier', 'count', 'sum', 'sum_ci95_low', 'sum_ci95_high', 'mean']
    """
    random_state = seeded(random_state)
    check_epsilon(epsilon)
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
        expected_abs_error=geometric_abs_mean(eps_sum, sum_sensitivity) * grid,
        ci95_half_width=geometric_ci95(eps_sum, sum_sensitivity) * grid,
        bounding=bounding,
        notes=(
            f"values clipped to [{lo:g}, {hi:g}] and rounded to a grid of {grid:g}",
            "mean = noisy sum / noisy count; predicted value is post-processing of the noisy output",
        ),
    )
    spends = charge(account, epsilon, ReleaseKind.MEANS)
    noisy_n = geometric(exact.counts, eps_count, k, random_state)
    noisy_s = geometric(exact_s, eps_sum, sum_sensitivity, random_state)
    n_pos = np.clip(noisy_n[:-1], 0, None)
    sums = noisy_s * grid
    means = np.clip(sums / np.maximum(n_pos, 1), lo, hi)
    means = np.where(n_pos > 0, means, np.nan)
    mean_low, mean_high = _mean_interval(noisy_s, noisy_n[:-1], eps_count, eps_sum, k, grid, lo, hi)
    table = cell_frame(index)
    table["count"] = pd.array(n_pos, dtype="Int64")
    table["sum"] = sums
    s_half = plan.ci95_half_width
    table["sum_ci95_low"] = sums - s_half
    table["sum_ci95_high"] = sums + s_half
    table["mean"] = means
    table["mean_ci95_low"] = mean_low
    table["mean_ci95_high"] = mean_high
    stamp(
        table,
        plan,
        method="mean = noisy sum / noisy count",
        postprocessing="count clamped to >= 0; mean clipped to bounds, empty if count is 0",
    )
    sanity = MEANS_SANITY * (hi - lo)
    predicted = predict_means_value(n_pos, means, eps_count, eps_sum, k, grid, sanity)
    plan = replace(plan, predicted_value=predicted)
    record_prediction(account, spends, predicted)
    evaluation = None
    if evaluate:
        with np.errstate(divide="ignore", invalid="ignore"):
            exact_means = np.where(exact_n > 0, np.clip(exact_s * grid / exact_n, lo, hi), np.nan)
        realised = means_value(np.nan_to_num(means, nan=0.0), exact_means, sanity=sanity)
        evaluation = {"realised_value": realised}
        if predicted is not None:
            evaluation["predicted_value"] = predicted
    dropped = int(noisy_n[-1])
    interval = geometric_interval(dropped, eps_count, k)
    return Release(plan, table, spends, max(0, dropped), evaluation, interval)


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
    ts = geometric_ci95(eps_sum, k * SUM_GRID, level=0.975) * grid
    tc = geometric_ci95(eps_count, k, level=0.975)
    s = noisy_s * grid
    n_low = noisy_n - tc
    n_high = noisy_n + tc
    with np.errstate(divide="ignore", invalid="ignore"):
        cands = np.stack([(s - ts) / n_low, (s - ts) / n_high, (s + ts) / n_low, (s + ts) / n_high])
    low = np.where(n_low > 0, np.clip(cands.min(axis=0), lo, hi), lo)
    high = np.where(n_low > 0, np.clip(cands.max(axis=0), lo, hi), hi)
    return low, high
