"""Statistical checks of released quantiles: the exponential mechanism over the declared grid,
an output set that never depends on the data, and the claimed epsilon on neighbouring datasets.

Draws are pooled across cells, as for counts: each cell draws from its own stream and its
output depends only on its own values, so a release of CELLS identical cells gives CELLS
independent draws through the real release path (``release_quantiles`` -> ``QuantileTask``
-> ``noise.exponential_choice``). The grid of bounds [0, 100] at resolution 10 has 11
candidates; each candidate is its own bin.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chisquare
from test_dp_counts import _clopper_pearson

from privseg.dp.quantiles import QUANTILE_COUNT_SHARE, release_quantiles
from privseg.dp.types import Bounding

EPSILON = 1.0
CELLS = 4000
GRID = np.arange(0.0, 101.0, 10.0)
#: The audit's case: five customers, and the same plus one (D').
BASE = (12.5, 31.0, 47.0, 63.0, 88.0)
EXTRA = 3.7
Q = 0.25


def _table(values: tuple[float, ...], *, extra: float | None = None, rows: int = 1) -> pd.DataFrame:
    """CELLS cells holding one customer per value, plus optionally one more customer per cell
    with ``rows`` rows of value ``extra``."""
    cells = np.repeat(np.arange(CELLS), len(values))
    spend = np.tile(values, CELLS)
    units = [f"u{i}" for i in range(len(cells))]
    if extra is not None:
        cells = np.concatenate([cells, np.repeat(np.arange(CELLS), rows)])
        spend = np.concatenate([spend, np.full(CELLS * rows, extra)])
        units += [f"extra{c}" for c in np.repeat(np.arange(CELLS), rows)]
    return pd.DataFrame({"unit": units, "segment": [f"s{c}" for c in cells], "spend": spend})


def _draws(
    df: pd.DataFrame, bounding: Bounding, q: float, *, releases: int, seed: int
) -> np.ndarray:
    """Released q-quantiles of every cell of ``releases`` seeded releases."""
    column = f"q{q:g}"
    return np.concatenate(
        [
            release_quantiles(
                df, value="spend", quantiles=[q], bounds={"spend": (0.0, 100.0)}, epsilon=EPSILON,
                account=None, by=["segment"], keys={"segment": [f"s{c}" for c in range(CELLS)]},
                bounding=bounding, resolution=10.0, random_state=seed + i,
            ).table[column].to_numpy()
            for i in range(releases)
        ]
    )  # fmt: skip


def _probabilities(values: tuple[float, ...], q: float, rows_per_unit: int = 1) -> np.ndarray:
    """The mechanism's exact output probability per candidate, written out independently:
    utility -|(1 - q) #below - q #above|, sensitivity rows * max(q, 1 - q)."""
    below = np.array([sum(v < c for v in values) for c in GRID])
    above = np.array([sum(v > c for v in values) for c in GRID])
    utility = -np.abs((1 - q) * below - q * above)
    eps = EPSILON * (1 - float(QUANTILE_COUNT_SHARE))  # the rest buys the noisy counts
    weights = np.exp(eps * utility / (2 * rows_per_unit * max(q, 1 - q)))
    return np.asarray(weights / weights.sum())


def _histogram(draws: np.ndarray) -> np.ndarray:
    return np.array([(draws == c).sum() for c in GRID])


def _epsilon_lower_bound(d: np.ndarray, d_prime: np.ndarray) -> float:
    """Black-box lower bound on epsilon: pick the candidate and direction of largest log ratio
    on one half of the draws, bound it from below with Clopper-Pearson on the other half."""
    half = len(d) // 2
    pick_d, pick_p = _histogram(d[:half]), _histogram(d_prime[:half])
    test_d, test_p = _histogram(d[half:]), _histogram(d_prime[half:])
    ok = np.minimum(pick_d, pick_p) >= 30
    ratios = np.where(ok, np.log(np.maximum(pick_p, 1) / np.maximum(pick_d, 1)), 0.0)
    b = int(np.argmax(np.abs(ratios)))
    num, den = (test_p, test_d) if ratios[b] > 0 else (test_d, test_p)
    low, _ = _clopper_pearson(int(num[b]), len(d) - half)
    _, high = _clopper_pearson(int(den[b]), len(d) - half)
    return math.log(low / high)


@pytest.fixture(scope="module")
def neighbour_draws() -> tuple[np.ndarray, np.ndarray]:
    bounding = Bounding(unit="unit")
    d = _draws(_table(BASE), bounding, Q, releases=2, seed=100)
    d_prime = _draws(_table(BASE, extra=EXTRA), bounding, Q, releases=2, seed=200)
    return d, d_prime


def test_released_quantiles_follow_the_exponential_mechanism(
    neighbour_draws: tuple[np.ndarray, np.ndarray],
) -> None:
    for draws, values in zip(neighbour_draws, (BASE, (*BASE, EXTRA)), strict=True):
        observed = _histogram(draws)
        assert observed.sum() == len(draws) == 2 * CELLS  # nothing outside the grid
        assert chisquare(observed, _probabilities(values, Q) * len(draws)).pvalue > 1e-3


def test_no_output_is_possible_under_one_neighbour_only(
    neighbour_draws: tuple[np.ndarray, np.ndarray],
) -> None:
    """The audit's floating-point event: with ``a + u*(b-a)`` an output seen under D' (5
    customers plus one) was impossible under D in 13% of runs. Here both output sets are the
    declared grid: every value D' produced, D produced too, and no value is off the grid."""
    d, d_prime = neighbour_draws
    assert set(d_prime) <= set(GRID) and set(d) <= set(GRID)
    assert set(d_prime) <= set(d)
    assert (_probabilities(BASE, Q) > 0).all()  # every candidate possible under D


def test_output_frequency_ratios_within_e_epsilon(
    neighbour_draws: tuple[np.ndarray, np.ndarray],
) -> None:
    d, d_prime = neighbour_draws
    checked = 0
    for f, g in zip(_histogram(d), _histogram(d_prime), strict=True):
        if min(f, g) < 100:
            continue
        checked += 1
        low_f, high_f = _clopper_pearson(int(f), len(d), level=0.999)
        low_g, high_g = _clopper_pearson(int(g), len(d_prime), level=0.999)
        assert low_f / high_g <= math.exp(EPSILON) and low_g / high_f <= math.exp(EPSILON)
    assert checked >= 6


def test_clopper_pearson_lower_bound_stays_below_claimed_epsilon(
    neighbour_draws: tuple[np.ndarray, np.ndarray],
) -> None:
    assert _epsilon_lower_bound(*neighbour_draws) <= EPSILON


def test_without_a_unit_one_customer_with_many_rows_breaks_the_claim() -> None:
    """Negative control: the same check catches an unbounded contribution (6 rows, no unit;
    exact loss 2.9 epsilon at candidate 10)."""
    d = _draws(_table(BASE), Bounding(), 0.5, releases=2, seed=300)
    d_prime = _draws(_table(BASE, extra=3.0, rows=6), Bounding(), 0.5, releases=2, seed=400)
    assert _epsilon_lower_bound(d, d_prime) > EPSILON
    # Bounded to one row per customer, the same neighbours respect the claim.
    bounded = Bounding(unit="unit")
    d = _draws(_table(BASE), bounded, 0.5, releases=1, seed=500)
    d_prime = _draws(_table(BASE, extra=3.0, rows=6), bounded, 0.5, releases=1, seed=600)
    assert _epsilon_lower_bound(d, d_prime) <= EPSILON
