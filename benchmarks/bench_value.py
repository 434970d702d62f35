"""Predicted vs realised analytic value, and privseg vs plain noise vs diffprivlib, on CDNOW.

CDNOW (``benchmarks/cdnow.py``: 23,570 real customers, shipped in the ``lifetimes`` package)
was never produced by the demo generator: it is the held-out data. Every figure is the
median (or a share) over ``--runs`` runs with seeds 0..runs-1; values as defined in the
README ("Analytic value"):

- counts ``--target 0.85``: ``recency_segment`` (5 segments) on CDNOW and ``value_tier`` on
  the demo data: chosen epsilon, predicted and realised per-segment accuracy, share of runs
  realised >= target, share of runs where every segment holding >= 1% of customers is
  within 15% of its exact size;
- cross-tab ``first_week`` x ``last_month`` x ``spend_tier`` (12 x 18 x 7 = 1,512 cells):
  privseg (``release_counts``: geometric noise + structured smoothing) vs plain geometric
  noise per cell vs diffprivlib ``Laplace`` per cell, all clamped at zero;
- means: ``spend`` per ``recency_segment`` clipped to [0, 1000]: privseg (noisy sum / noisy
  count) vs diffprivlib ``tools.mean`` per segment (public counts: a weaker guarantee);
- quantiles: median ``spend`` per ``recency_segment`` (1 - relative error as for means);
- k-means: k = 4 on days since the last purchase, orders and ln(1 + spend) (declared
  bounds): privseg (automatic method) vs diffprivlib ``models.KMeans``; cost ratio.

Run: python benchmarks/bench_value.py [--runs 20] [--only counts,crosstab,means,quantiles,kmeans]
[--first-seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

import cdnow
from bench_kmeans import diffprivlib_centroids
from diffprivlib import BudgetAccountant
from diffprivlib.mechanisms import Geometric, Laplace
from diffprivlib.tools import mean as dpl_mean
from diffprivlib.tools import median as dpl_median
from sklearn.cluster import KMeans

from privseg import segments
from privseg.demo import generator
from privseg.dp import kmeans
from privseg.dp.counts import release_counts
from privseg.dp.kmeans_release import release_kmeans
from privseg.dp.means import release_means
from privseg.dp.quantiles import release_quantiles
from privseg.dp.types import MEANS_SANITY
from privseg.dp.value import FLOOR_SHARE, distribution_value, means_value, segment_accuracy

CROSSTAB = ["first_week", "last_month", "spend_tier"]
SPEND = (0.0, 1000.0)
K = 4


def _exact(table: pd.DataFrame, by: list[str], keys: dict[str, tuple[str, ...]]) -> np.ndarray:
    index = pd.MultiIndex.from_product([keys[c] for c in by], names=by)
    return table.groupby(by).size().reindex(index, fill_value=0).to_numpy()


def _within(released: np.ndarray, exact: np.ndarray, share: float, tolerance: float) -> bool:
    """Every cell holding >= ``share`` of the total is within ``tolerance`` of its size."""
    big = exact >= share * exact.sum()
    return bool((np.abs(released[big] - exact[big]) <= tolerance * exact[big]).all())


def _median(values: list[float]) -> str:
    return f"{float(np.median(values)):.3f}"


def bench_target(name: str, table: pd.DataFrame, by: str, keys: tuple[str, ...], runs: int) -> str:
    """One row of the ``--target 0.85`` table."""
    exact = _exact(table, [by], {by: keys})
    eps, predicted, realised, tvd, hit, within = [], [], [], [], 0, 0
    for run in range(runs):
        release = release_counts(
            table, by=[by], keys={by: keys}, target=0.85, account=None, random_state=run
        )
        counts = release.table["count"].fillna(0).to_numpy(dtype=float)
        eps.append(release.plan.epsilon)
        assert release.plan.predicted_value is not None
        predicted.append(release.plan.predicted_value)
        realised.append(segment_accuracy(counts, exact))
        tvd.append(distribution_value(counts, exact))
        hit += realised[-1] >= 0.85
        within += _within(counts, exact, FLOOR_SHARE, 0.15)
    return (
        f"| {name} | {len(keys)} | {int(exact.sum()):,} | {float(np.median(eps)):.4g} | "
        f"{_median(predicted)} | {_median(realised)} | {hit}/{runs} | {within}/{runs} | "
        f"{_median(tvd)} |"
    )


def _plain(exact: np.ndarray, epsilon: float, seed: int, mechanism: type) -> np.ndarray:
    mech = mechanism(epsilon=epsilon, sensitivity=1, random_state=seed)
    return np.clip([mech.randomise(int(c)) for c in exact], 0, None).astype(float)


def bench_crosstab(data: pd.DataFrame, runs: int) -> list[str]:
    """Rows of the cross-tab table: per-segment value (1 - TVD) of the three."""
    keys = {c: cdnow.KEYS[c] for c in CROSSTAB}
    exact = _exact(data, CROSSTAB, keys)
    rows = []
    for epsilon in (0.1, 0.3, 0.5, 1.0):
        got: dict[str, list[tuple[float, float]]] = {"privseg": [], "plain": [], "dpl": []}
        predicted = []
        for run in range(runs):
            release = release_counts(
                data, by=CROSSTAB, keys=keys, epsilon=epsilon, account=None, random_state=run
            )
            assert release.plan.predicted_value is not None
            predicted.append(release.plan.predicted_value)
            outputs = {
                "privseg": release.table["count"].fillna(0).to_numpy(dtype=float),
                "plain": _plain(exact, epsilon, 1000 + run, Geometric),
                "dpl": _plain(exact, epsilon, 2000 + run, Laplace),
            }
            for name, out in outputs.items():
                got[name].append((segment_accuracy(out, exact), distribution_value(out, exact)))
        cells = " | ".join(
            f"{_median([v[0] for v in got[n]])} ({_median([v[1] for v in got[n]])})"
            for n in ("privseg", "plain", "dpl")
        )
        rows.append(f"| {epsilon:g} | {_median(predicted)} | {cells} |")
    return rows


def _per_segment(
    tool: Callable[..., float], clipped: pd.DataFrame, epsilon: float, seed: int
) -> np.ndarray:
    """A diffprivlib tool (``mean``, ``median``) on each recency segment's clipped spend."""
    accountant = BudgetAccountant()
    return np.array(
        [
            tool(
                clipped.loc[clipped["recency_segment"] == s, "spend"].to_numpy(),
                epsilon=epsilon,
                bounds=SPEND,
                random_state=seed,
                accountant=accountant,
            )
            for s in cdnow.RECENCY
        ]
    )


def bench_means(data: pd.DataFrame, runs: int) -> list[str]:
    """Rows of the means table."""
    by, keys = ["recency_segment"], {"recency_segment": cdnow.RECENCY}
    clipped = data.assign(spend=data["spend"].clip(*SPEND))
    exact = clipped.groupby("recency_segment")["spend"].mean().reindex(cdnow.RECENCY).to_numpy()
    sanity = MEANS_SANITY * (SPEND[1] - SPEND[0])
    rows = []
    for epsilon in (0.1, 0.3, 1.0):
        predicted, realised, plain = [], [], []
        for run in range(runs):
            release = release_means(
                data,
                by=by,
                keys=keys,
                value="spend",
                bounds={"spend": SPEND},
                epsilon=epsilon,
                account=None,
                random_state=run,
            )
            if release.plan.predicted_value is not None:
                predicted.append(release.plan.predicted_value)
            means = release.table["mean"].fillna(0).to_numpy(dtype=float)
            realised.append(means_value(means, exact, sanity=sanity))
            dpl = _per_segment(dpl_mean, clipped, epsilon, 3000 + run)
            plain.append(means_value(dpl, exact, sanity=sanity))
        rows.append(
            f"| {epsilon:g} | {_median(predicted)} | {_median(realised)} | "
            f"{sum(r >= p for r, p in zip(realised, predicted, strict=False))}/{runs} | "
            f"{_median(plain)} |"
        )
    return rows


def bench_quantiles(data: pd.DataFrame, runs: int, first_seed: int = 0) -> list[str]:
    """Rows of the quantiles table (median spend per recency segment)."""
    clipped = data.assign(spend=data["spend"].clip(*SPEND))
    exact = clipped.groupby("recency_segment")["spend"].median().reindex(cdnow.RECENCY).to_numpy()
    sanity = MEANS_SANITY * (SPEND[1] - SPEND[0])
    rows = []
    for epsilon in (0.1, 0.3, 1.0):
        predicted, realised, plain = [], [], []
        for run in range(first_seed, first_seed + runs):
            release = release_quantiles(
                data,
                value="spend",
                quantiles=[0.5],
                bounds={"spend": SPEND},
                epsilon=epsilon,
                account=None,
                by=["recency_segment"],
                keys={"recency_segment": cdnow.RECENCY},
                random_state=run,
            )
            if release.plan.predicted_value is not None:
                predicted.append(release.plan.predicted_value)
            realised.append(means_value(release.table["q0.5"].to_numpy(), exact, sanity=sanity))
            dpl = _per_segment(dpl_median, clipped, epsilon, 4000 + run)
            plain.append(means_value(dpl, exact, sanity=sanity))
        rows.append(
            f"| {epsilon:g} | {_median(predicted) if predicted else '-'} | {_median(realised)} | "
            f"{sum(r >= p for r, p in zip(realised, predicted, strict=False))}/{runs} | "
            f"{_median(plain)} |"
        )
    return rows


def bench_kmeans(data: pd.DataFrame, runs: int, first_seed: int = 0) -> list[str]:
    """Rows of the k-means table (cost ratio in the unit box of the declared bounds)."""
    features = list(cdnow.KM_BOUNDS)
    box = [cdnow.KM_BOUNDS[f] for f in features]
    rows_x = data[features].to_numpy(dtype=float)
    lo, hi = np.array(box).T
    unit = (np.clip(rows_x, lo, hi) - lo) / (hi - lo)
    exact_cost = KMeans(n_clusters=K, n_init=10, random_state=0).fit(unit).inertia_

    def ratio(centroids: np.ndarray) -> float:
        return float(exact_cost / kmeans.cost(rows_x, centroids, bounds=box))

    rows = []
    for epsilon in (0.03, 0.1, 0.3, 1.0):
        predicted, realised, plain, methods = [], [], [], set()
        for run in range(first_seed, first_seed + runs):
            release = release_kmeans(
                data,
                features=features,
                bounds=cdnow.KM_BOUNDS,
                k=K,
                epsilon=epsilon,
                account=None,
                random_state=run,
            )
            if release.plan.predicted_value is not None:
                predicted.append(release.plan.predicted_value)
            methods.add(str(release.table["method"].iloc[0]))
            realised.append(ratio(release.table[features].to_numpy(dtype=float)))
            plain.append(ratio(diffprivlib_centroids(rows_x, K, epsilon, 5000 + run, bounds=box)))
        shown = _median(predicted) if predicted else "-"
        rows.append(
            f"| {epsilon:g} | {'/'.join(sorted(methods))} | {shown} | {_median(realised)} | "
            f"{sum(r >= p for r, p in zip(realised, predicted, strict=False))}/{runs} | "
            f"{_median(plain)} |"
        )
    return rows


def _demo_tiers() -> pd.DataFrame:
    demo = generator.generate(20_000)
    return segments.assign(
        demo.customers, demo.orders, demo.interactions, as_of=generator.DEMO_AS_OF
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", default="counts,crosstab,means,quantiles,kmeans")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="k-means and quantile runs use seeds from here"
    )
    args = parser.parse_args()
    only = set(args.only.split(","))
    data = cdnow.customers()
    sections: list[tuple[str, str, Callable[[], list[str]]]] = []
    if "counts" in only:
        tiers = segments.load_schemes().labels()[segments.SchemeKind.VALUE_TIER]
        sections.append(
            (
                "counts --target 0.85",
                "| table | segments | customers | epsilon chosen | predicted | realised "
                "| runs >= 0.85 | runs with every >= 1% segment within 15% | 1 - TVD |\n"
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
                lambda: [
                    bench_target(
                        "CDNOW recency_segment", data, "recency_segment", cdnow.RECENCY, args.runs
                    ),
                    bench_target(
                        "demo value_tier", _demo_tiers(), "value_tier", tuple(tiers), args.runs
                    ),
                ],
            )
        )
    if "crosstab" in only:
        sections.append(
            (
                "cross-tab, 1,512 cells: per-segment value (1 - TVD)",
                "| epsilon | privseg predicted | privseg | plain geometric | diffprivlib Laplace |\n"
                "|---:|---:|---:|---:|---:|",
                lambda: bench_crosstab(data, args.runs),
            )
        )
    if "means" in only:
        sections.append(
            (
                "means of spend per recency segment",
                "| epsilon | privseg predicted | privseg realised | runs realised >= predicted "
                "| diffprivlib tools.mean |\n|---:|---:|---:|---:|---:|",
                lambda: bench_means(data, args.runs),
            )
        )
    if "quantiles" in only:
        sections.append(
            (
                "median spend per recency segment",
                "| epsilon | privseg predicted | privseg realised | runs realised >= predicted "
                "| diffprivlib tools.median |\n|---:|---:|---:|---:|---:|",
                lambda: bench_quantiles(data, args.runs, args.first_seed),
            )
        )
    if "kmeans" in only:
        sections.append(
            (
                "k-means, k = 4: cost ratio",
                "| epsilon | privseg method | privseg predicted | privseg realised "
                "| runs realised >= predicted | diffprivlib KMeans |\n|---:|---|---:|---:|---:|---:|",
                lambda: bench_kmeans(data, args.runs, args.first_seed),
            )
        )
    for title, header, rows in sections:
        start = time.perf_counter()
        lines = rows()
        print(f"\n{title} ({args.runs} runs, {time.perf_counter() - start:.0f} s)\n\n{header}")
        print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
