"""The 85% target on the demo data: releases at the default epsilon keep >= 0.85 of the value.

Realised values are measured in evaluation mode (internal), over a few independent releases;
the prediction made before spending must also be honest (close to, or below, what is realised).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from privseg.demo.generator import DEMO_AS_OF, generate
from privseg.dp.counts import release_counts
from privseg.dp.kmeans_release import release_kmeans
from privseg.dp.means import release_means
from privseg.dp.types import DEFAULT_EPSILON, Bounding
from privseg.dp.value import segment_accuracy
from privseg.policy import load_policy
from privseg.segments import assign, load_schemes

TARGET = 0.85
RUNS = 5
UNIT = Bounding("外部联系人ID")


@pytest.fixture(scope="module")
def labels() -> pd.DataFrame:
    demo = generate()
    return assign(demo.customers, demo.orders, demo.interactions, load_schemes(), as_of=DEMO_AS_OF)


@pytest.fixture(scope="module")
def keys() -> dict[str, tuple[str, ...]]:
    declared = {kind.value: values for kind, values in load_schemes().labels().items()}
    policy = load_policy("policies/wecom-marketing.yaml")
    assert policy.release is not None
    declared["省份"] = policy.release.keys["省份"]
    return declared


@pytest.mark.parametrize("by", [["lifecycle"], ["value_tier"], ["lifecycle", "省份"], ["rfm"]])
def test_counts_and_cross_tabs_keep_85_percent(
    labels: pd.DataFrame, keys: dict[str, tuple[str, ...]], by: list[str]
) -> None:
    for seed in range(RUNS):
        release = release_counts(
            labels, by=by, keys=keys, epsilon=DEFAULT_EPSILON, account=None, bounding=UNIT,
            evaluate=True, random_state=seed,
        )  # fmt: skip
        assert release.evaluation is not None
        assert release.evaluation["realised_value"] >= TARGET
        assert release.plan.predicted_value is not None
        assert abs(release.plan.predicted_value - release.evaluation["realised_value"]) < 0.05


@pytest.mark.parametrize(
    ("value", "bounds"), [("monetary", (0, 50_000)), ("frequency", (0, 100)), ("recency", (0, 365))]
)
def test_segment_means_keep_85_percent(
    labels: pd.DataFrame, keys: dict[str, tuple[str, ...]], value: str, bounds: tuple[float, float]
) -> None:
    realised = []
    for seed in range(RUNS):
        release = release_means(
            labels, by=["value_tier"], keys=keys, value=value, bounds={value: bounds},
            epsilon=DEFAULT_EPSILON, account=None, bounding=UNIT, evaluate=True,
            random_state=seed,
        )  # fmt: skip
        assert release.evaluation is not None
        realised.append(release.evaluation["realised_value"])
    assert min(realised) >= TARGET


def test_target_mode_reaches_the_target(
    labels: pd.DataFrame, keys: dict[str, tuple[str, ...]]
) -> None:
    realised = []
    for seed in range(RUNS * 2):
        release = release_counts(
            labels, by=["lifecycle", "省份"], keys=keys, target=TARGET, account=None,
            bounding=UNIT, evaluate=True, random_state=seed,
        )  # fmt: skip
        assert release.evaluation is not None
        assert release.plan.epsilon < DEFAULT_EPSILON
        realised.append(release.evaluation["realised_value"])
    # The prediction is conservative: the target is met on average and nearly always.
    assert np.mean(realised) >= TARGET
    assert np.mean(np.array(realised) >= TARGET - 0.02) >= 0.8


@pytest.mark.slow
def test_kmeans_release_keeps_85_percent(labels: pd.DataFrame) -> None:
    """The features of benchmarks/bench_kmeans.py: months since the last order, orders, log spend."""
    features = ["months", "frequency", "log_monetary"]
    table = labels.assign(
        months=labels["recency"] / 30.0, log_monetary=np.log1p(labels["monetary"].astype(float))
    )
    bounds = {"months": (0, 12), "frequency": (0, 24), "log_monetary": (0, 13)}
    realised = []
    for seed in range(3):
        release = release_kmeans(
            table, features=features, bounds=bounds, k=4, epsilon=DEFAULT_EPSILON,
            account=None, bounding=UNIT, evaluate=True, random_state=seed,
        )  # fmt: skip
        assert release.evaluation is not None
        realised.append(release.evaluation["realised_value"])
        assert list(release.table.columns[1:5]) == [*features, "size"]
        assert abs(int(release.table["size"].sum()) - len(labels)) < 0.05 * len(labels)
    assert np.median(realised) >= TARGET


def test_target_sizes_every_tier_holding_1_percent_within_15_percent(
    labels: pd.DataFrame, keys: dict[str, tuple[str, ...]]
) -> None:
    """The issue's run: --target 0.85 on the value tiers of 20,000 demo customers."""
    exact = labels["value_tier"].value_counts().reindex(keys["value_tier"], fill_value=0)
    big = (exact >= 0.01 * exact.sum()).to_numpy()
    runs, within, reached = 30, 0, 0
    for seed in range(runs):
        release = release_counts(
            labels, by=["value_tier"], keys=keys, target=TARGET, account=None, bounding=UNIT,
            evaluate=True, random_state=seed,
        )  # fmt: skip
        assert release.evaluation is not None
        counts = release.table["count"].fillna(0).to_numpy(dtype=float)
        error = np.abs(counts - exact.to_numpy()) / exact.to_numpy()
        within += bool((error[big] <= 0.15).all())
        reached += release.evaluation["realised_value"] >= TARGET
    assert within >= 0.6 * runs  # most runs (22 of 30 with these seeds)
    assert reached >= 0.9 * runs


def test_structured_cross_tab_beats_plain_noise_at_low_epsilon(
    labels: pd.DataFrame, keys: dict[str, tuple[str, ...]]
) -> None:
    by = ["lifecycle", "省份", "value_tier"]
    index = pd.MultiIndex.from_product([keys[c] for c in by])
    exact = labels.groupby(by).size().reindex(index, fill_value=0).to_numpy()
    privseg, plain = [], []
    rng = np.random.default_rng(0)
    for seed in range(6):
        release = release_counts(
            labels, by=by, keys=keys, epsilon=0.1, account=None, bounding=UNIT, evaluate=True,
            random_state=seed,
        )  # fmt: skip
        assert release.evaluation is not None
        privseg.append(release.evaluation["realised_value"])
        noise = rng.laplace(0, 1 / 0.1, exact.shape)
        plain.append(segment_accuracy(np.clip(np.rint(exact + noise), 0, None), exact))
    assert np.median(privseg) > np.median(plain) + 0.03
