"""Analytic value of quantile and k-means releases, for a before/after comparison of a change.

On the demo data (``privseg.datasets.generate(20_000)``, segments by ``privseg.segments``):

- quantiles: the 0.2, 0.4, 0.6, 0.8 quantiles of ``monetary`` per ``value_tier`` (6 declared
  tiers) with bounds [0, 50000]; value = 1 - mean relative error over quantiles and tiers,
  each error capped at 1 with a denominator of at least 1% of the range (as for means);
  tiers without customers are left out;
- ties: the median of 100,000 amounts all equal to 500 (bounds [0, 1000]): how often the
  release falls within 400-600;
- k-means: k = 4 on (months since last order, orders, ln(1 + spend)) with the bounds of
  ``bench_kmeans.py``; value = exact cost / cost of the DP centroids (``--evaluate``).

It imports whichever privseg is first on the path, so the same script measures a checkout
before and after a change (both with the ``privseg.dp`` layout):

    git archive COMMIT privseg | tar -x -C /tmp/before
    PYTHONPATH=/tmp/before:benchmarks python benchmarks/bench_quantiles.py --runs 5
    python benchmarks/bench_quantiles.py --runs 5

Seeded runs (seed = run number); the median over runs is printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

import numpy as np
import pandas as pd
from bench_analytic_value import KM_BOUNDS, KM_FEATURES, demo_labels

import privseg
from privseg.dp.kmeans_release import release_kmeans
from privseg.dp.quantiles import release_quantiles
from privseg.dp.types import Bounding

QUANTILES = (0.2, 0.4, 0.6, 0.8)
MONETARY = (0.0, 50_000.0)
EPSILONS = (0.1, 0.3, 1.0, 3.0)
KM_EPSILONS = (0.1, 0.3, 1.0)
UNIT = Bounding("外部联系人ID")


def quantile_value(labels: pd.DataFrame, tiers: list[str], epsilon: float, seed: int) -> float:
    """1 - mean capped relative error of the released quantiles over non-empty tiers."""
    release = release_quantiles(
        labels, value="monetary", quantiles=QUANTILES, bounds={"monetary": MONETARY},
        epsilon=epsilon, account=None, by=["value_tier"], keys={"value_tier": tiers},
        bounding=UNIT, random_state=seed,
    )  # fmt: skip
    floor = 0.01 * (MONETARY[1] - MONETARY[0])
    values = labels["monetary"].astype(float).clip(*MONETARY)
    errors = []
    for _, row in release.table.iterrows():
        tier = values[labels["value_tier"] == row["value_tier"]]
        if tier.empty:
            continue
        for q in QUANTILES:
            exact = float(np.quantile(tier, q))
            errors.append(min(1.0, abs(row[f"q{q:g}"] - exact) / max(abs(exact), floor)))
    return 1.0 - float(np.mean(errors))


def ties_within(runs: int) -> int:
    """Releases of the median of 100,000 values of 500 that fall within 400-600."""
    df = pd.DataFrame({"unit": np.arange(100_000), "amount": 500.0})
    hits = 0
    for seed in range(runs):
        release = release_quantiles(
            df, value="amount", quantiles=[0.5], bounds={"amount": (0.0, 1000.0)}, epsilon=1.0,
            account=None, bounding=Bounding("unit"), random_state=seed,
        )  # fmt: skip
        hits += 400 <= float(release.table.loc[0, "q0.5"]) <= 600
    return hits


def kmeans_value(labels: pd.DataFrame, epsilon: float, seed: int) -> float:
    release = release_kmeans(
        labels, features=KM_FEATURES, bounds=KM_BOUNDS, k=4, epsilon=epsilon, account=None,
        bounding=UNIT, evaluate=True, random_state=seed,
    )  # fmt: skip
    evaluation: Any = release.evaluation
    return float(evaluation["realised_value"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    labels = demo_labels()
    tiers = ["platinum", "gold", "silver", "bronze", "no_purchase", "regular"]
    print(f"privseg from {privseg.__file__}")
    print("| release | epsilon | analytic value (median) |")
    print("|---|---:|---:|")
    for eps in EPSILONS:
        got = [quantile_value(labels, tiers, eps, seed) for seed in range(args.runs)]
        print(f"| quantiles | {eps:g} | {statistics.median(got):.3f} |")
    for eps in KM_EPSILONS:
        got = [kmeans_value(labels, eps, seed) for seed in range(args.runs)]
        print(f"| k-means | {eps:g} | {statistics.median(got):.3f} |")
    runs = 4 * args.runs
    print(f"\nmedian of 100,000 tied values of 500 within 400-600: {ties_within(runs)}/{runs}")


if __name__ == "__main__":
    main()
