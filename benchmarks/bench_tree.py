"""Analytic value of the DP decision tree against epsilon on the demo data.

Target ``lifecycle`` and ``value_tier`` from ``privseg.segments.assign`` on
``privseg.datasets.generate(20_000)``; features recency, frequency, monetary with declared
bounds [0, 365], [0, 50], [0, 50000]. Analytic value = held-out accuracy of the DP tree /
held-out accuracy of scikit-learn's non-private tree of the same depth (20% held out), median
over ``--runs`` runs, for privseg's tree (``privseg.dp.tree``) and diffprivlib's
``DecisionTreeClassifier`` as is (same depth, bounds and classes). Also the value privseg
predicts from the released counts.

Run: python benchmarks/bench_tree.py [--runs 5] [--depth 3]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from diffprivlib import BudgetAccountant
from diffprivlib.models import DecisionTreeClassifier as DiffprivlibTree
from sklearn.tree import DecisionTreeClassifier

from privseg import datasets, segments
from privseg.dp import tree as dptree

EPSILONS = (0.03, 0.1, 0.3, 1.0, 3.0)
FEATURES = ("recency", "frequency", "monetary")
BOUNDS = ((0.0, 365.0), (0.0, 50.0), (0.0, 50_000.0))
TARGETS = ("lifecycle", "value_tier")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--depth", type=int, default=dptree.DEFAULT_DEPTH)
    parser.add_argument("--customers", type=int, default=20_000)
    args = parser.parse_args()
    data = datasets.generate(args.customers)
    schemes = segments.load_schemes()
    labels = segments.assign(
        data.customers, data.orders, data.interactions, schemes, as_of=datasets.DEMO_AS_OF
    )
    lo, hi = np.array(BOUNDS).T
    X = np.clip(np.column_stack([labels[f].to_numpy(float) for f in FEATURES]), lo, hi)
    print("| target | epsilon | privseg realised | privseg predicted | diffprivlib realised |")
    print("|---|---:|---:|---:|---:|")
    started = time.perf_counter()
    for target in TARGETS:
        classes = segments.load_schemes().labels()[segments.SchemeKind(target)]
        y = np.array([classes.index(v) for v in labels[target]])
        for epsilon in EPSILONS:
            ours, predicted, theirs = [], [], []
            for run in range(args.runs):
                rng = np.random.default_rng(run)
                test = rng.random(len(X)) < dptree.HOLDOUT_SHARE
                exact = DecisionTreeClassifier(max_depth=args.depth, random_state=0)
                base = (exact.fit(X[~test], y[~test]).predict(X[test]) == y[test]).mean()
                tree = dptree.fit_tree(
                    X[~test],
                    y[~test],
                    features=FEATURES,
                    classes=classes,
                    bounds=BOUNDS,
                    depth=args.depth,
                    epsilon=epsilon,
                    random_state=run,
                )
                ours.append((tree.predict(X[test]) == y[test]).mean() / base)
                predicted.append(
                    tree.predicted_value(
                        dptree.SPLIT_SHARE * epsilon / args.depth,
                        (1 - dptree.SPLIT_SHARE) * epsilon,
                        len(FEATURES) * dptree.DEFAULT_THRESHOLDS,
                    )
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = DiffprivlibTree(
                        max_depth=args.depth,
                        epsilon=epsilon,
                        bounds=(lo, hi),
                        classes=list(range(len(classes))),
                        random_state=run,
                        accountant=BudgetAccountant(),
                    ).fit(X[~test], y[~test])
                theirs.append((model.predict(X[test]) == y[test]).mean() / base)
            print(
                f"| {target} | {epsilon:g} | {np.median(ours):.3f} | {np.median(predicted):.3f} "
                f"| {np.median(theirs):.3f} |"
            )
    print(f"\n{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
