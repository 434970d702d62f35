"""Analytic value retained by a release, and its prediction before the release.

Measures: counts keep ``distribution_value`` (1 - total variation distance), means keep
``means_value`` (1 - mean relative error with a sanity bound), k-means keeps the cost ratio
(``privseg.dp.kmeans.analytic_value``). Predictions use public quantities only (noise scale,
DP size estimates), never exact data; measuring against the exact result (``evaluate``) is
internal to the data controller.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from privseg.dp.noise import geometric_abs_mean, geometric_ci95
from privseg.dp.types import SUM_GRID
from privseg.errors import BudgetExceededError, InputError

__all__ = [
    "distribution_value",
    "epsilon_for_target",
    "means_value",
    "predict_distribution_value",
    "predict_means_value",
]


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
