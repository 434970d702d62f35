"""Analytic value retained by a release, measured the way its user uses it, and its
prediction from public or DP quantities only.

Measures (README, "Analytic value"):

- counts and cross-tabs: ``segment_accuracy``, a marketer sizes each segment:

      mean over cells of 1 - min(1, |released - exact| / max(exact, floor))

  with ``floor = value_floor(total, cells)``: the smaller of 1% of the table's total and its
  average cell, at least 1. A segment holding 1% of the customers or more is judged by its
  own relative error; smaller cells by their error against the floor, so a cell of 3 released
  as 5 is not a 67% miss. 1 - total variation distance (``distribution_value``) is kept as a
  secondary figure: large cells dominate it, so it cannot tell a useless table from a good
  one;
- means: ``means_value`` (1 - mean relative error with a sanity bound);
- quantiles: ``means_value`` of the released quantiles against the exact ones, predicted by
  ``predict_quantile_value`` from the exponential mechanism's utility bound;
- k-means: the cost ratio (``privseg.dp.kmeans.analytic_value``), predicted by
  ``predict_cost_ratio`` as a lower quantile over the noise.

Predictions read only public or DP quantities (the noise, a DP total, noisy counts), never
exact data. Before a count release (``--target``), the worst case is assumed: every cell at
the floor, where the relative error of additive noise is largest (a larger cell is judged
against itself, a smaller one against the floor and helped by clamping at zero), so the
realised value is at least the prediction in most runs whatever the table's shape.
Measuring against the exact result (``evaluate``) is internal to the data controller.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from privseg.dp.noise import geometric_abs_mean, geometric_ci95
from privseg.dp.types import MEANS_SANITY, SUM_GRID
from privseg.errors import BudgetExceededError, InputError

__all__ = [
    "FLOOR_SHARE",
    "VALUE_QUANTILE",
    "distribution_value",
    "epsilon_for_counts_target",
    "epsilon_for_target",
    "epsilon_for_value",
    "geometric_noise",
    "means_value",
    "predict_cost_ratio",
    "predict_counts_value",
    "predict_distribution_value",
    "predict_means_value",
    "predict_quantile_value",
    "predict_segment_accuracy",
    "quantile_rank_error",
    "segment_accuracy",
    "value_floor",
    "worst_case_sizes",
]

Sizes = Sequence[float] | np.ndarray
_MC_DRAWS = 400


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
    draws = geometric_noise(epsilon, sensitivity)(np.random.default_rng(0), (_MC_DRAWS, len(shape)))
    noisy = np.clip(shape + draws, 0, None)
    totals = noisy.sum(axis=1, keepdims=True)
    p = np.divide(noisy, totals, out=np.zeros_like(noisy), where=totals > 0)
    tvd = 0.5 * np.abs(p - shape / shape.sum()).sum(axis=1)
    tvd[totals[:, 0] <= 0] = 1.0
    return float(1 - tvd.mean())


def epsilon_for_target(
    target: float, sizes: Sequence[float] | np.ndarray, *, sensitivity: int = 1, ceiling: float
) -> float:
    """Smallest epsilon predicted to reach ``target`` as 1 - TVD (the secondary figure; count
    releases aim at per-segment accuracy: ``epsilon_for_counts_target``)."""
    shape = np.clip(np.asarray(sizes, dtype=float), 0, None)
    return epsilon_for_value(
        target,
        lambda eps: predict_distribution_value(eps, shape, sensitivity=sensitivity),
        ceiling=ceiling,
        what=f"about {int(shape.sum())} rows over {len(shape)} cells (segments too small for "
        "the remaining budget)",
    )


def predict_means_value(
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
    ok = (n > geometric_ci95(eps_count, k)) & ~np.isnan(means)
    if not ok.any():
        return None
    e_s = geometric_abs_mean(eps_sum, k * SUM_GRID) * grid
    e_c = geometric_abs_mean(eps_count, k)
    m = np.abs(means[ok])
    abs_error = (e_s + m * e_c) / n[ok]
    return float(1 - np.minimum(1.0, abs_error / np.maximum(m, sanity)).mean())


#: Segments holding at least this share of the table's total are judged by their own size.
FLOOR_SHARE = 0.01


def value_floor(total: float, cells: int) -> float:
    """The smallest size a cell's error is judged against: min(1% of total, total / cells), >= 1."""
    if cells < 1:
        raise InputError("a table needs at least one cell")
    total = max(float(total), 0.0)
    return max(1.0, min(FLOOR_SHARE * total, total / cells))


def segment_accuracy(released: Sizes, exact: Sizes, *, floor: float | None = None) -> float:
    """Mean per-cell accuracy of ``released`` counts against ``exact`` (see the module doc).

    ``floor`` defaults to ``value_floor`` of the exact table: the measured (internal) value.
    """
    r = np.asarray(released, dtype=float)
    e = np.asarray(exact, dtype=float)
    if r.shape != e.shape or e.ndim != 1 or len(e) == 0:
        raise InputError("released and exact counts must be two equal, non-empty vectors")
    if floor is None:
        floor = value_floor(float(e.sum()), len(e))
    miss = np.abs(np.nan_to_num(r, nan=0.0) - e) / np.maximum(e, floor)
    return float(1 - np.minimum(1.0, miss).mean())


def worst_case_sizes(total: float, cells: int) -> np.ndarray:
    """The table shape a prediction before the release assumes: every cell at the floor."""
    return np.full(cells, value_floor(total, cells))


def predict_segment_accuracy(
    noise: Callable[[np.random.Generator, tuple[int, int]], np.ndarray],
    sizes: Sizes,
    *,
    floor: float,
) -> float:
    """Expected per-segment accuracy of cells of about ``sizes`` after ``noise`` and clamping
    at zero: a Monte-Carlo on the noise only (``sizes`` must be DP or worst-case sizes, never
    exact data). ``noise(rng, shape)`` draws the additive noise; a fixed generator (common
    random numbers) keeps predictions monotone in the noise scale.
    """
    shape = np.clip(np.asarray(sizes, dtype=float), 0, None)
    if len(shape) == 0:
        raise InputError("a table needs at least one cell")
    draws = noise(np.random.default_rng(0), (_MC_DRAWS, len(shape)))
    released = np.clip(shape + draws, 0, None)
    miss = np.abs(released - shape) / np.maximum(shape, floor)
    return float(1 - np.minimum(1.0, miss).mean())


def epsilon_for_value(
    target: float, predict: Callable[[float], float], *, ceiling: float, what: str
) -> float:
    """Smallest epsilon (3 significant digits, rounded up) whose ``predict(epsilon)`` reaches
    ``target``; ``predict`` must grow with epsilon.

    Raises BudgetExceededError naming ``what`` when even ``ceiling`` (the remaining budget)
    is predicted to fall short.
    """
    if not 0 < target < 1:
        raise InputError(f"target must be between 0 and 1, got {target}")
    reach = predict(ceiling) if ceiling > 0 else 0.0
    if reach < target:
        raise BudgetExceededError(
            f"target {target:g} unreachable: the remaining epsilon {ceiling:g} predicts "
            f"{reach:.3f} for {what}"
        )
    lo, hi = 0.0, ceiling
    for _ in range(50):
        mid = (lo + hi) / 2
        if predict(mid) >= target:
            hi = mid
        else:
            lo = mid
    step = 10.0 ** (math.floor(math.log10(hi)) - 2)
    rounded = float(f"{math.ceil(hi / step) * step:.3g}")
    return rounded if hi <= rounded <= ceiling else hi


def geometric_noise(
    epsilon: float, sensitivity: float = 1.0
) -> Callable[[np.random.Generator, tuple[int, int]], np.ndarray]:
    """A ``predict_segment_accuracy`` noise: two-sided geometric, P(|Z| >= k) ~ alpha^k with
    ``alpha = exp(-epsilon / sensitivity)``."""

    def draw(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        u = rng.random((2, *shape))
        g = np.floor(np.log(u) / (-epsilon / sensitivity))
        return np.asarray(g[0] - g[1], dtype=float)

    return draw


def predict_counts_value(epsilon: float, sizes: Sizes, *, sensitivity: int = 1) -> float:
    """Predicted per-segment accuracy of a geometric-noise count release over cells of about
    ``sizes`` (DP or worst-case sizes), the floor taken from their total."""
    shape = np.clip(np.asarray(sizes, dtype=float), 0, None)
    return predict_segment_accuracy(
        geometric_noise(epsilon, sensitivity), shape, floor=value_floor(shape.sum(), len(shape))
    )


def epsilon_for_counts_target(
    target: float, total: float, cells: int, *, sensitivity: int = 1, ceiling: float
) -> float:
    """Smallest epsilon whose predicted per-segment accuracy on the worst table of ``total``
    rows (a DP lower bound) over ``cells`` cells reaches ``target`` (see the module doc)."""
    sizes = worst_case_sizes(total, cells)
    return epsilon_for_value(
        target,
        lambda eps: predict_counts_value(eps, sizes, sensitivity=sensitivity),
        ceiling=ceiling,
        what=f"about {int(total)} rows over {cells} cells, every cell at the floor of "
        f"{value_floor(total, cells):g} (segments too small for the remaining budget)",
    )


#: Predictions of k-means and quantile releases are this lower quantile of the value over the
#: noise (k-means) or hold with at least 1 - this probability (quantiles): the realised value
#: reaches them in most runs (checked on held-out data, benchmarks/README.md).
VALUE_QUANTILE = 0.05


def predict_cost_ratio(
    cost: float,
    cost_sd: float,
    sizes: Sizes,
    moved: Sizes,
    *,
    d: int,
    level: float = VALUE_QUANTILE,
) -> float | None:
    """A lower ``level`` quantile of a DP clustering's cost ratio, from public quantities only.

    For fixed clusters, cost(DP centroids) = optimal cost + sum over clusters of size x the
    squared distance of the DP centroid from the cluster's mean. ``cost`` is the DP
    centroids' cost estimated on a noisy synopsis with standard deviation ``cost_sd`` (from
    the noise), ``sizes`` the noisy cluster sizes and ``moved`` each centroid's expected
    squared displacement by the noise (summed over the ``d`` features, taken as ``moved``
    x chi-square(d) / d). A Monte-Carlo on these with a fixed generator (common random
    numbers) gives the distribution of 1 - loss / cost; None when the cost is not positive.
    """
    if cost <= 0 or not 0 < level < 1:
        return None
    n = np.maximum(np.asarray(sizes, dtype=float), 1.0)
    spread = np.asarray(moved, dtype=float)
    rng = np.random.default_rng(0)
    loss = (n * spread * rng.chisquare(d, (_MC_DRAWS, len(n))) / d).sum(axis=1)
    costs = np.maximum(cost + cost_sd * rng.standard_normal(_MC_DRAWS), 1e-12)
    return float(np.quantile(np.clip(1.0 - loss / costs, 0.0, 1.0), level))


def quantile_rank_error(
    epsilon: float,
    candidates: int,
    q: float,
    *,
    max_rows_per_unit: int = 1,
    beta: float = VALUE_QUANTILE,
) -> float:
    """Rank error (in values) that an exponential-mechanism ``q``-quantile over
    ``candidates`` candidates exceeds with probability at most ``beta``.

    The mechanism's utility bound: with probability 1 - beta the released candidate's score
    is within (2 s / epsilon)(ln |C| + ln 1/beta) of the best, where the score
    |(1 - q) #below - q #above| changes by one per value passed and its sensitivity is
    s = max_rows_per_unit x max(q, 1 - q).
    """
    if epsilon <= 0 or candidates < 1 or not 0 < beta < 1 or not 0 <= q <= 1:
        raise InputError("a quantile rank error needs epsilon > 0, candidates, 0 < beta < 1")
    sensitivity = max_rows_per_unit * max(q, 1 - q)
    return 2 * sensitivity / epsilon * (math.log(candidates) + math.log(1 / beta))


def _exp_quantile(p: float) -> float:
    """The p-quantile of the unit exponential distribution (the shape a quantile's value
    error is judged on)."""
    return -math.log1p(-min(p, 0.999))


def predict_quantile_value(
    epsilon: float,
    q: float,
    sizes: Sizes,
    *,
    candidates: int,
    bounds: tuple[float, float],
    step: float | None = None,
    released: Sizes | None = None,
    max_rows_per_unit: int = 1,
    beta: float = VALUE_QUANTILE,
) -> float | None:
    """Predicted value (1 - mean relative error, as ``means_value``) of per-segment ``q``-
    quantiles released by the exponential mechanism over ``candidates`` candidates within
    ``bounds``, ``step`` apart (default: evenly spaced from end to end), from public quantities only: epsilon, the candidate count
    and spacing, the DP segment ``sizes`` and the ``released`` values (post-processing).

    Per segment the rank error is ``quantile_rank_error`` (exceeded with probability at most
    ``beta``), a share ``rho`` of the DP size; the data's shape is not public, so the value
    error is that of a unit exponential distribution (spread equal to its level, as spend
    and order counts) between its ``q -+ rho`` quantiles (``q`` taken within [0.01, 0.99]),
    plus half a candidate step, relative to the released value (at least ``MEANS_SANITY`` of
    the range). Segments with a DP size under one are left out; None if none is left.
    """
    lo, hi = bounds
    n = np.asarray(sizes, dtype=float)
    level = np.full(len(n), np.nan) if released is None else np.asarray(released, dtype=float)
    if candidates < 2 or not lo < hi or level.shape != n.shape:
        raise InputError("a quantile prediction needs 2+ candidates, LO < HI, one value per size")
    ok = n >= 1
    if not ok.any():
        return None
    sanity = MEANS_SANITY * (hi - lo)
    step = (hi - lo) / (candidates - 1) if step is None else step
    rank = quantile_rank_error(
        epsilon, candidates, q, max_rows_per_unit=max_rows_per_unit, beta=beta
    )
    p = min(max(q, 0.01), 0.99)
    errors = []
    for size, value in zip(n[ok], level[ok], strict=True):
        rho = rank / size
        centre = _exp_quantile(p)
        shape = max(_exp_quantile(p + rho) - centre, centre - _exp_quantile(max(p - rho, 0.0)))
        at = sanity if math.isnan(value) else abs(value)
        errors.append(min(1.0, (shape / centre * at + step / 2) / max(at, sanity)))
    return float(1 - np.mean(errors))
