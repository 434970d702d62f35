"""Statistical checks of released counts: the claimed epsilon holds on neighbouring datasets.

Draws are pooled across cells: every cell's noise is independent and its distribution depends
only on that cell's count, so a release of M cells that all hold c rows gives M draws of a
count-c cell through the real release path, and the same with c + 1 rows gives the neighbour.
"""

from __future__ import annotations

import math
import multiprocessing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta

from privseg.dp.counts import release_counts
from privseg.dp.ledger import Ledger, PrivacyBudget
from privseg.dp.types import Account, Bounding
from privseg.errors import BudgetExceededError

EPSILON = 1.0
CELLS = 4000
BASE = 3


def _table(rows_per_cell: int, *, extra_rows_of_one_unit: int = 0) -> pd.DataFrame:
    """CELLS cells with ``rows_per_cell`` distinct customers each, plus optionally one more
    customer per cell who has ``extra_rows_of_one_unit`` rows."""
    cells = np.repeat(np.arange(CELLS), rows_per_cell)
    units = [f"u{i}" for i in range(len(cells))]
    if extra_rows_of_one_unit:
        extra = np.repeat(np.arange(CELLS), extra_rows_of_one_unit)
        cells = np.concatenate([cells, extra])
        units += [f"extra{c}" for c in extra]
    return pd.DataFrame({"unit": units, "segment": [f"s{c}" for c in cells]})


KEYS = {"segment": [f"s{c}" for c in range(CELLS)]}


def _draws(df: pd.DataFrame, bounding: Bounding, *, releases: int, seed: int) -> np.ndarray:
    out = [
        release_counts(
            df,
            by=["segment"],
            keys=KEYS,
            epsilon=EPSILON,
            account=None,
            bounding=bounding,
            random_state=seed + i,
        ).table["count"]
        for i in range(releases)
    ]
    return np.concatenate([c.to_numpy(dtype=np.int64) for c in out])


def _clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    a = (1 - level) / 2
    low = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return low, high


def _epsilon_lower_bound(d: np.ndarray, d_prime: np.ndarray) -> float:
    """Black-box lower bound on epsilon (DESIGN.md): pick the event {output >= t} on one half
    of the runs, bound ln(P[E|D'] / P[E|D]) from below with Clopper-Pearson on the other half."""
    half = len(d) // 2
    pick_d, test_d = d[:half], d[half:]
    pick_p, test_p = d_prime[:half], d_prime[half:]
    best_t, best_ratio = None, -math.inf
    for t in range(int(d.min()), int(d_prime.max()) + 1):
        p, q = (pick_p >= t).mean(), (pick_d >= t).mean()
        if min((pick_p >= t).sum(), (pick_d >= t).sum()) >= 100 and math.log(p / q) > best_ratio:
            best_t, best_ratio = t, math.log(p / q)
    assert best_t is not None
    low_p, _ = _clopper_pearson(int((test_p >= best_t).sum()), len(test_p))
    _, high_d = _clopper_pearson(int((test_d >= best_t).sum()), len(test_d))
    return math.log(low_p / high_d)


@pytest.fixture(scope="module")
def neighbour_draws() -> tuple[np.ndarray, np.ndarray]:
    bounding = Bounding(unit="unit")
    d = _draws(_table(BASE), bounding, releases=4, seed=100)
    d_prime = _draws(_table(BASE, extra_rows_of_one_unit=1), bounding, releases=4, seed=200)
    return d, d_prime


def test_output_frequency_ratios_within_e_epsilon(
    neighbour_draws: tuple[np.ndarray, np.ndarray],
) -> None:
    d, d_prime = neighbour_draws
    assert len(d) == len(d_prime) == 4 * CELLS
    checked = 0
    for value in range(0, BASE + 6):
        f, g = (d == value).mean(), (d_prime == value).mean()
        if min((d == value).sum(), (d_prime == value).sum()) < 400:
            continue
        checked += 1
        ratio = f / g
        assert math.exp(-EPSILON) / 1.25 <= ratio <= math.exp(EPSILON) * 1.25, (value, ratio)
    assert checked >= 4


def test_clopper_pearson_lower_bound_stays_below_claimed_epsilon(
    neighbour_draws: tuple[np.ndarray, np.ndarray],
) -> None:
    d, d_prime = neighbour_draws
    lower = _epsilon_lower_bound(d, d_prime)
    # Below the claim, and close to it: the test has the power to see a violation.
    assert 0.6 * EPSILON < lower <= EPSILON


def test_without_a_unit_one_customer_with_many_rows_breaks_the_claim() -> None:
    """Negative control: the same check catches an unbounded contribution (3 rows, no unit)."""
    d = _draws(_table(BASE), Bounding(), releases=2, seed=300)
    d_prime = _draws(_table(BASE, extra_rows_of_one_unit=3), Bounding(), releases=2, seed=400)
    assert _epsilon_lower_bound(d, d_prime) > EPSILON
    # Bounded to one row per customer, the same neighbours respect the claim.
    bounded = Bounding(unit="unit")
    d = _draws(_table(BASE), bounded, releases=2, seed=500)
    d_prime = _draws(_table(BASE, extra_rows_of_one_unit=3), bounded, releases=2, seed=600)
    assert _epsilon_lower_bound(d, d_prime) <= EPSILON


def _race(path: str, barrier: object, results: object) -> None:
    df = pd.DataFrame({"unit": ["a", "b", "c"], "segment": ["s0", "s1", "s1"]})
    account = Account(Ledger(path), "crm", "marketing")
    barrier.wait()  # type: ignore[attr-defined]
    try:
        release_counts(
            df,
            by=["segment"],
            keys={"segment": ["s0", "s1"]},
            epsilon=0.3,
            account=account,
            bounding=Bounding(unit="unit"),
        )
        results.put("released")
    except BudgetExceededError:
        results.put("refused")


def test_concurrent_processes_never_overspend(tmp_path: Path) -> None:
    path = tmp_path / "budget.db"
    ledger = Ledger(path)
    ledger.set_budget("crm", PrivacyBudget(1.0), purpose="marketing")
    ctx = multiprocessing.get_context("fork")
    workers = 8
    barrier = ctx.Barrier(workers)
    results: multiprocessing.Queue[str] = ctx.Queue()
    procs = [ctx.Process(target=_race, args=(str(path), barrier, results)) for _ in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    outcomes = sorted(results.get(timeout=5) for _ in range(workers))
    assert outcomes.count("released") == 3
    assert outcomes.count("refused") == workers - 3
    status = ledger.status("crm", "marketing")
    assert status.spent.fits_in(status.total)
    assert status.spent == PrivacyBudget("0.9")
    assert len(status.history) == 3
