"""Per-segment accuracy: the analytic value of a count table as a marketer uses it.

A marketer sizes each segment, so a count table keeps its value when every cell is close to
its exact size. The value of a release is

    mean over cells of 1 - min(1, |released - exact| / max(exact, floor))

with ``floor = value_floor(total, cells)``: the smaller of 1% of the table's total and its
average cell, at least 1. A segment holding 1% of the customers or more is judged by its own
relative error; smaller cells by their error against the floor, so a cell of 3 released as 5
is not a 67% miss. 1 - total variation distance (``distribution_value``) is kept as a
secondary figure: large cells dominate it, so it cannot tell a useless table from a good one.

Predictions read only public or DP quantities (the noise, a DP total, noisy counts). Before
a release (``--target``), the worst case is assumed: every cell at the floor, where the
relative error of additive noise is largest (a larger cell is judged against itself, a
smaller one against the floor and helped by clamping at zero), so the realised value is at
least the prediction in most runs whatever the table's shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from privseg.errors import BudgetExceededError, InputError

__all__ = [
    "FLOOR_SHARE",
    "epsilon_for_counts_target",
    "epsilon_for_value",
    "geometric_noise",
    "predict_counts_value",
    "predict_segment_accuracy",
    "segment_accuracy",
    "value_floor",
    "worst_case_sizes",
]

#: Segments holding at least this share of the table's total are judged by their own size.
FLOOR_SHARE = 0.01
_MC_DRAWS = 400

Sizes = Sequence[float] | np.ndarray


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
