"""Analytic value retained against epsilon: privseg's releases beside diffprivlib's plain ones.

On the demo data (``privseg.demo.generator.generate(20_000)``, segments by ``privseg.segments``):

- counts: segment distribution of ``lifecycle``; cross-tab: ``lifecycle`` x ``省份``
  (value = per-segment accuracy, ``privseg.dp.value.segment_accuracy``). privseg:
  ``release_counts`` (geometric noise, clamped at zero; the cross-tab smoothed); diffprivlib:
  a ``Laplace`` mechanism per cell, clamped.
- means: ``monetary`` per ``value_tier`` clipped to [0, 50000] (value = 1 - mean relative error
  with a sanity bound of 1% of the range). privseg: ``release_means`` (noisy sum / noisy count,
  add/remove neighbours); diffprivlib: ``tools.mean`` per segment with the whole epsilon, which
  treats each segment's count as public (a weaker guarantee: replace-one neighbours).
- k-means: k = 4 on (months since last order, orders, ln(1 + spend)) with the bounds of
  ``bench_kmeans.py`` (value = exact k-means cost / cost of the DP centroids). privseg:
  ``release_kmeans``; diffprivlib: ``models.KMeans`` as is.

The median over ``--runs`` runs is reported with privseg's predicted value. Results go to
``benchmarks/README.md`` (section "Analytic value") and a PNG plot.

Run: python benchmarks/bench_analytic_value.py [--runs 5] [--out benchmarks/analytic_value.png]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from diffprivlib import BudgetAccountant
from diffprivlib.mechanisms import Laplace
from diffprivlib.models import KMeans as DiffprivlibKMeans
from diffprivlib.tools import mean as dpl_mean
from sklearn.cluster import KMeans

from privseg import segments
from privseg.demo import generator
from privseg.dp import kmeans
from privseg.dp.counts import release_counts
from privseg.dp.kmeans_release import release_kmeans
from privseg.dp.means import release_means
from privseg.dp.types import MEANS_SANITY, Bounding
from privseg.dp.value import means_value, segment_accuracy
from privseg.policy import load_policy

EPSILONS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
UNIT = Bounding("外部联系人ID")
MONETARY = (0.0, 50_000.0)
KM_FEATURES = ["months", "frequency", "log_monetary"]
KM_BOUNDS = {"months": (0.0, 12.0), "frequency": (0.0, 24.0), "log_monetary": (0.0, 13.0)}
K = 4


def demo_labels() -> pd.DataFrame:
    """Segment labels of the demo customers, with the k-means features."""
    data = generator.generate(20_000)
    labels = segments.assign(
        data.customers, data.orders, data.interactions, as_of=generator.DEMO_AS_OF
    )
    return labels.assign(
        months=labels["recency"] / 30.0, log_monetary=np.log1p(labels["monetary"].astype(float))
    )


def _keys() -> dict[str, tuple[str, ...]]:
    keys = {kind.value: values for kind, values in segments.load_schemes().labels().items()}
    policy = load_policy(Path(__file__).parents[1] / "policies" / "wecom-marketing.yaml")
    assert policy.release is not None
    keys["省份"] = policy.release.keys["省份"]
    return keys


def _exact_counts(
    labels: pd.DataFrame, by: list[str], keys: dict[str, tuple[str, ...]]
) -> np.ndarray:
    index = pd.MultiIndex.from_product([keys[c] for c in by], names=by)
    return labels.groupby(by).size().reindex(index, fill_value=0).to_numpy()


def counts_rows(
    labels: pd.DataFrame, keys: dict[str, tuple[str, ...]], runs: int
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for kind, by in (("counts", ["lifecycle"]), ("cross-tab", ["lifecycle", "省份"])):
        exact = _exact_counts(labels, by, keys)
        for eps in EPSILONS:
            ours, predicted, plain = [], [], []
            for seed in range(runs):
                release = release_counts(
                    labels, by=by, keys=keys, epsilon=eps, account=None, bounding=UNIT,
                    evaluate=True, random_state=seed,
                )  # fmt: skip
                assert release.evaluation is not None
                ours.append(release.evaluation["realised_value"])
                predicted.append(release.plan.predicted_value)
                mech = Laplace(epsilon=eps, sensitivity=1, random_state=seed)
                noisy = np.clip([mech.randomise(float(c)) for c in exact], 0, None)
                plain.append(segment_accuracy(noisy, exact))
            rows.append(_row(kind, eps, ours, predicted, plain))
    return rows


def means_rows(
    labels: pd.DataFrame, keys: dict[str, tuple[str, ...]], runs: int
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    values = labels["monetary"].astype(float).clip(*MONETARY)
    tiers = keys["value_tier"]
    exact = np.array([values[labels["value_tier"] == t].mean() for t in tiers])
    sanity = MEANS_SANITY * (MONETARY[1] - MONETARY[0])
    for eps in EPSILONS:
        ours, predicted, plain = [], [], []
        for seed in range(runs):
            release = release_means(
                labels, by=["value_tier"], keys=keys, value="monetary",
                bounds={"monetary": MONETARY}, epsilon=eps, account=None, bounding=UNIT,
                evaluate=True, random_state=seed,
            )  # fmt: skip
            assert release.evaluation is not None
            ours.append(release.evaluation["realised_value"])
            predicted.append(release.plan.predicted_value)
            noisy = [
                dpl_mean(
                    values[labels["value_tier"] == t].to_numpy(),
                    epsilon=eps,
                    bounds=MONETARY,
                    random_state=seed,
                    accountant=BudgetAccountant(),
                )
                for t in tiers
            ]
            plain.append(means_value(noisy, exact, sanity=sanity))
        rows.append(_row("means", eps, ours, predicted, plain))
    return rows


def kmeans_rows(labels: pd.DataFrame, runs: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    lo, hi = np.array([KM_BOUNDS[f] for f in KM_FEATURES]).T
    X = np.clip(labels[KM_FEATURES].to_numpy(float), lo, hi)
    exact = KMeans(n_clusters=K, n_init=10, random_state=0).fit(X).inertia_
    for eps in EPSILONS:
        ours, predicted, plain = [], [], []
        for seed in range(runs):
            release = release_kmeans(
                labels, features=KM_FEATURES, bounds=KM_BOUNDS, k=K, epsilon=eps, account=None,
                bounding=UNIT, random_state=seed,
            )  # fmt: skip
            ours.append(exact / kmeans.cost(X, release.table[KM_FEATURES].to_numpy(float)))
            predicted.append(release.plan.predicted_value)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = DiffprivlibKMeans(
                    n_clusters=K, epsilon=eps, bounds=(lo, hi), random_state=seed,
                    accountant=BudgetAccountant(),
                ).fit(X)  # fmt: skip
            plain.append(exact / kmeans.cost(X, model.cluster_centers_))
        rows.append(_row("k-means", eps, ours, predicted, plain))
    return rows


def _row(
    kind: str, eps: float, ours: list[float], predicted: list[float | None], plain: list[float]
) -> dict[str, object]:
    known = [p for p in predicted if p is not None]
    return {
        "release": kind,
        "epsilon": eps,
        "privseg": float(np.median(ours)),
        "privseg predicted": float(np.median(known)) if known else None,
        "diffprivlib": float(np.median(plain)),
    }


def plot(results: pd.DataFrame, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = list(dict.fromkeys(results["release"]))
    fig, axes = plt.subplots(1, len(kinds), figsize=(4 * len(kinds), 3.4), sharey=True)
    for ax, kind in zip(np.atleast_1d(axes), kinds, strict=True):
        part = results[results["release"] == kind]
        ax.plot(part["epsilon"], part["privseg"], "o-", color="C0", label="privseg (realised)")
        if part["privseg predicted"].notna().any():
            ax.plot(
                part["epsilon"], part["privseg predicted"], "x--", color="C1",
                label="privseg (predicted)",
            )  # fmt: skip
        ax.plot(part["epsilon"], part["diffprivlib"], "s:", color="C2", label="diffprivlib plain")
        ax.axhline(0.85, color="grey", lw=0.8)
        ax.set_xscale("log")
        ax.set_title(kind)
        ax.set_xlabel("epsilon")
        ax.set_ylim(0, 1.02)
    np.atleast_1d(axes)[0].set_ylabel("analytic value retained")
    np.atleast_1d(axes)[0].legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def markdown(results: pd.DataFrame) -> str:
    lines = [
        "| release | epsilon | privseg realised | privseg predicted | diffprivlib plain |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in results.itertuples(index=False):
        predicted = "-" if pd.isna(row[3]) else f"{row[3]:.3f}"
        lines.append(f"| {row[0]} | {row[1]:g} | {row[2]:.3f} | {predicted} | {row[4]:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("analytic_value.png"))
    args = parser.parse_args()
    labels = demo_labels()
    keys = _keys()
    rows = counts_rows(labels, keys, args.runs) + means_rows(labels, keys, args.runs)
    rows += kmeans_rows(labels, args.runs)
    results = pd.DataFrame(rows)
    plot(results, args.out)
    print(markdown(results))


if __name__ == "__main__":
    main()
