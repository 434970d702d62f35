"""Statistical checks of the DP tree: released rules on neighbouring datasets stay within
e^epsilon, and each split's pick is within e^eps_level of its neighbour's."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from scipy.stats import beta

from privseg.dp import tree as dptree

EPSILON = 1.0
RUNS = 3000


def _clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    a = (1 - level) / 2
    low = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return low, high


def _rules(X: np.ndarray, y: np.ndarray, seed: int) -> tuple[object, ...]:
    tree = dptree.fit_tree(
        X,
        y,
        features=["x"],
        classes=["a", "b"],
        bounds=[(0.0, 1.0)],
        depth=1,
        epsilon=EPSILON,
        thresholds=2,  # candidates 1/3 and 2/3
        random_state=seed,
    )
    return tuple((r.conditions, r.prediction) for r in tree.rules())


# D: three customers; D' adds one more (a class-b customer at x = 0.5, between the candidates)
X_D = np.array([[0.1], [0.2], [0.9]])
Y_D = np.array([0, 1, 1])
X_N = np.vstack([X_D, [[0.5]]])
Y_N = np.append(Y_D, 1)


@pytest.mark.slow
def test_released_rules_of_neighbouring_datasets_stay_within_epsilon() -> None:
    """Black-box (DESIGN.md): the outcome (rule set) with the largest frequency ratio is picked
    on half the runs, and ln(P[E|D'] / P[E|D]) is bounded from below with Clopper-Pearson on
    the other half, both ways round; the bound must not exceed the claimed epsilon."""
    d = [_rules(X_D, Y_D, seed) for seed in range(RUNS)]
    n = [_rules(X_N, Y_N, seed) for seed in range(RUNS, 2 * RUNS)]
    half = RUNS // 2
    for first, second in ((d, n), (n, d)):
        pick_1, pick_2 = Counter(first[:half]), Counter(second[:half])
        events = [e for e in pick_1 if pick_1[e] >= 50 and pick_2[e] >= 50]
        assert events, "no outcome common enough to test"
        event = max(events, key=lambda e: pick_1[e] / pick_2[e])
        low, _ = _clopper_pearson(sum(r == event for r in first[half:]), RUNS - half)
        _, high = _clopper_pearson(sum(r == event for r in second[half:]), RUNS - half)
        assert math.log(low / high) <= EPSILON
    # the rules do depend on the data: the test is not vacuous
    assert Counter(d) != Counter(n)


def test_split_probabilities_move_by_at_most_e_to_the_level_epsilon() -> None:
    """Exact: the pick distribution of every node, for D and D' = D plus any one row."""
    rng = np.random.default_rng(5)
    level_epsilon = 0.4
    cuts = dptree.candidates([(0.0, 1.0), (0.0, 1.0)], 6)
    X = rng.random((60, 2))
    y = rng.integers(0, 3, 60)

    def probabilities(X: np.ndarray, y: np.ndarray) -> np.ndarray:
        node = (X[:, 0] > 0.5).astype(np.int64)  # two nodes, disjoint rows
        scores = dptree.split_scores(X, y, node, 2, 3, cuts)
        weights = np.exp(level_epsilon * (scores - scores.max(axis=1, keepdims=True)))
        return weights / weights.sum(axis=1, keepdims=True)

    p = probabilities(X, y)
    for _ in range(200):
        extra_x, extra_y = rng.random((1, 2)), rng.integers(0, 3, 1)
        q = probabilities(np.vstack([X, extra_x]), np.append(y, extra_y))
        assert np.abs(np.log(p / q)).max() <= level_epsilon + 1e-9


def test_exponential_pick_draws_in_proportion() -> None:
    scores = np.array([3.0, 2.0, 0.0, -np.inf])
    state = np.random.RandomState(0)
    picks = Counter(dptree.exponential_pick(scores, 1.0, state) for _ in range(20_000))
    expected = np.exp(scores[:3]) / np.exp(scores[:3]).sum()
    for i in range(3):
        assert abs(picks[i] / 20_000 - expected[i]) < 0.015
    assert picks[3] == 0
