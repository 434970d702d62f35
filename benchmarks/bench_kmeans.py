"""Analytic value of DP k-means against epsilon on the demo data's per-customer RFM features.

Features (declared bounds, never taken from the data): recency in 30-day months [0, 12],
orders in the last year [0, 24], ln(1 + yuan spent in the last year) [0, 13], from
``privseg.segments.assign`` on ``privseg.demo.generator.generate(20_000)``. Analytic value = exact
k-means cost (sklearn, 10 k-means++ inits) / cost of the DP centroids, on the clipped rows;
median over ``--runs`` runs. Methods: privseg's ``grid`` / ``lloyd`` / ``hybrid`` and
diffprivlib's ``models.KMeans`` as is.

``--predictions``: instead, predicted vs realised cost ratio of the automatic method (k = 4,
both in the unit box of the bounds, where the prediction is defined), seeds 100 onwards.

Run: python benchmarks/bench_kmeans.py [--runs 5] [--out benchmarks/kmeans.png] [--predictions]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from diffprivlib import BudgetAccountant
from diffprivlib.models import KMeans as DiffprivlibKMeans
from sklearn.cluster import KMeans

from privseg import segments
from privseg.demo import generator
from privseg.dp import kmeans

EPSILONS = (0.1, 0.3, 0.5, 1.0, 2.0, 4.0)
KS = (3, 4, 5)
BOUNDS = ((0.0, 12.0), (0.0, 24.0), (0.0, 13.0))


def demo_features(customers: int = 20_000) -> np.ndarray:
    """The clipped benchmark features of the demo customers."""
    data = generator.generate(customers)
    labels = segments.assign(
        data.customers, data.orders, data.interactions, as_of=generator.DEMO_AS_OF
    )
    X = np.column_stack(
        [
            labels["recency"].to_numpy(float) / 30.0,
            labels["frequency"].to_numpy(float),
            np.log1p(labels["monetary"].to_numpy(float)),
        ]
    )
    lo, hi = np.array(BOUNDS).T
    return np.clip(X, lo, hi)


def diffprivlib_centroids(
    X: np.ndarray,
    k: int,
    epsilon: float,
    seed: int,
    bounds: Sequence[tuple[float, float]] = BOUNDS,
) -> np.ndarray:
    """diffprivlib's ``models.KMeans`` as is (its own accountant, warnings silenced)."""
    lo, hi = np.array(bounds).T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = DiffprivlibKMeans(
            n_clusters=k,
            epsilon=epsilon,
            bounds=(lo, hi),
            random_state=seed,
            accountant=BudgetAccountant(),
        )
        model.fit(X)
    return np.asarray(model.cluster_centers_)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("kmeans.png"))
    parser.add_argument("--predictions", action="store_true")
    args = parser.parse_args()
    X = demo_features()
    if args.predictions:
        predictions(X, args.runs)
        return
    methods = [m.value for m in kmeans.KMeansMethod] + ["diffprivlib"]
    results: dict[tuple[str, int, float], float] = {}
    seconds: dict[str, list[float]] = {m: [] for m in methods}
    for k in KS:
        exact = KMeans(n_clusters=k, n_init=10, random_state=0).fit(X).inertia_
        for eps in EPSILONS:
            for method in methods:
                values = []
                for seed in range(args.runs):
                    start = time.perf_counter()
                    if method == "diffprivlib":
                        centroids = diffprivlib_centroids(X, k, eps, seed)
                    else:
                        centroids = kmeans.fit(
                            X,
                            bounds=BOUNDS,
                            k=k,
                            epsilon=eps,
                            method=kmeans.KMeansMethod(method),
                            random_state=seed,
                        ).centroids
                    seconds[method].append(time.perf_counter() - start)
                    values.append(exact / kmeans.cost(X, centroids))
                results[(method, k, eps)] = float(np.median(values))
                print(
                    f"k={k} eps={eps:<4} {method:<12} {results[(method, k, eps)]:.3f}", flush=True
                )
    print()
    print("| k | method | " + " | ".join(f"ε={e:g}" for e in EPSILONS) + " |")
    print("|---|---|" + "---|" * len(EPSILONS))
    for k in KS:
        for method in methods:
            row = " | ".join(f"{results[(method, k, e)]:.3f}" for e in EPSILONS)
            print(f"| {k} | {method} | {row} |")
    print()
    for method in methods:
        print(f"{method}: median {np.median(seconds[method]):.2f} s per fit")
    plot(results, methods, args.out)


def predictions(X: np.ndarray, runs: int, k: int = 4) -> None:
    """Print predicted vs realised cost ratio (unit box) of ``auto`` per epsilon."""
    lo, hi = np.array(BOUNDS).T
    exact = KMeans(n_clusters=k, n_init=10, random_state=0).fit((X - lo) / (hi - lo)).inertia_
    print("| epsilon | predicted | realised | runs realised >= predicted |\n|---:|---:|---:|---:|")
    for eps in (0.03, 0.1, 0.3, 1.0):
        predicted, realised = [], []
        for seed in range(100, 100 + runs):
            result = kmeans.fit(X, bounds=BOUNDS, k=k, epsilon=eps, random_state=seed)
            predicted.append(result.predicted_value or 0.0)
            realised.append(exact / kmeans.cost(X, result.centroids, bounds=BOUNDS))
        hits = sum(r >= p for r, p in zip(realised, predicted, strict=True))
        print(
            f"| {eps:g} | {np.median(predicted):.3f} | {np.median(realised):.3f} | {hits}/{runs} |"
        )


def plot(results: dict[tuple[str, int, float], float], methods: list[str], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(KS), figsize=(4 * len(KS), 3.4), sharey=True)
    for ax, k in zip(axes, KS, strict=True):
        for method in methods:
            ax.plot(EPSILONS, [results[(method, k, e)] for e in EPSILONS], marker="o", label=method)
        ax.axhline(0.85, color="grey", linestyle="--", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_title(f"k = {k}")
        ax.set_xlabel("epsilon")
    axes[0].set_ylabel("analytic value (exact cost / DP cost)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"plot: {out}")


if __name__ == "__main__":
    main()
