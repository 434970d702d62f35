"""DP releases: declared keys, bounded contributions, bounds required, post-processing, values."""

from __future__ import annotations

import warnings
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from diffprivlib.tools import quantile as dpl_quantile

from privseg.dp.cells import exact_sums, grid_units
from privseg.dp.counts import release_counts
from privseg.dp.exact import StreamBits, exponential_choice
from privseg.dp.kmeans_release import release_kmeans
from privseg.dp.ledger import Ledger, PrivacyBudget
from privseg.dp.means import release_means
from privseg.dp.noise import no_privacy_leak
from privseg.dp.quantiles import (
    QUANTILE_COUNT_SHARE,
    QuantileGrid,
    quantile_scores,
    quantile_seed,
    quantile_sensitivity,
    release_quantiles,
)
from privseg.dp.types import Account, Bounding
from privseg.dp.value import (
    distribution_value,
    epsilon_for_target,
    means_value,
    predict_distribution_value,
    segment_accuracy,
)
from privseg.errors import BudgetExceededError, InputError, PrivsegError

KEYS = {"tier": ["gold", "silver", "bronze"], "province": ["北京市", "上海市"]}


def _customers(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "unit": [f"wm{i:05d}" for i in range(n)],
            "tier": rng.choice(["gold", "silver", "bronze", "other"], n, p=[0.2, 0.3, 0.45, 0.05]),
            "province": rng.choice(["北京市", "上海市"], n),
            "spend": [f"{v:.2f}" for v in rng.gamma(2.0, 200.0, n)],
        }
    ).astype({"tier": "string", "province": "string", "spend": "string"})


@pytest.fixture
def account(tmp_path: Path) -> Account:
    ledger = Ledger(tmp_path / "budget.db")
    ledger.set_budget("crm", PrivacyBudget(3.0))
    return Account(ledger, "crm", "default")


def test_every_declared_key_appears_and_undeclared_rows_are_dropped(account: Account) -> None:
    df = _customers()
    keys = {**KEYS, "tier": ["platinum", *KEYS["tier"]]}  # platinum: declared, not in the data
    release = release_counts(
        df, by=["tier", "province"], keys=keys, epsilon=2.0, account=account, random_state=1
    )
    table = release.table
    assert len(table) == 4 * 2
    assert set(zip(table["tier"], table["province"], strict=True)) == {
        (t, p) for t in keys["tier"] for p in keys["province"]
    }
    platinum = table[table["tier"] == "platinum"]["count"]
    assert (platinum <= 6).all()  # zero rows plus noise, clamped at 0
    exact = df[df["tier"] == "gold"].groupby("province").size()
    released = table[table["tier"] == "gold"].set_index("province")["count"]
    for province in keys["province"]:
        assert abs(int(released[province]) - int(exact[province])) <= 10
    other = int((df["tier"] == "other").sum())
    assert release.undeclared_noisy is not None
    assert abs(release.undeclared_noisy - other) <= 10
    assert {"count_ci95_low", "count_ci95_high", "mechanism", "noise_scale"} <= set(table.columns)
    assert (table["mechanism"] == "geometric").all()
    assert table["guarantee"].str.contains("neighbours: add/remove one row;").all()  # no unit
    assert account.ledger.status("crm").spent == PrivacyBudget(2.0)


def test_keys_are_never_read_from_the_data(account: Account) -> None:
    with pytest.raises(InputError, match="no declared keys"):
        release_counts(
            _customers(), by=["tier", "province"], keys={"tier": KEYS["tier"]}, epsilon=1.0,
            account=account,
        )  # fmt: skip
    assert account.ledger.status("crm").spent == PrivacyBudget(0)


def test_one_row_per_customer_keeps_the_first() -> None:
    df = pd.DataFrame({"unit": ["a", "a", "a", "b"], "tier": ["gold", "silver", "silver", "gold"]})
    release = release_counts(
        df, by=["tier"], keys={"tier": ["gold", "silver"]}, epsilon=50.0, account=None,
        bounding=Bounding("unit"), random_state=0,
    )  # fmt: skip
    assert release.table.set_index("tier")["count"].to_dict() == {"gold": 2, "silver": 0}
    two = release_counts(
        df, by=["tier"], keys={"tier": ["gold", "silver"]}, epsilon=50.0, account=None,
        bounding=Bounding("unit", max_rows_per_unit=2), random_state=0,
    )  # fmt: skip
    assert two.table.set_index("tier")["count"].to_dict() == {"gold": 2, "silver": 1}
    assert two.plan.sensitivity == 2


def test_suppression_and_consistent_totals() -> None:
    release = release_counts(
        _customers(), by=["tier", "province"], keys=KEYS, epsilon=1.0, account=None,
        suppress_below=400, totals=True, random_state=3,
    )  # fmt: skip
    table = release.table
    cells = table[(table["tier"] != "*") & (table["province"] != "*")]
    assert cells["suppressed"].any() and not cells["suppressed"].all()
    assert cells.loc[cells["suppressed"], "count"].isna().all()
    grand = table[(table["tier"] == "*") & (table["province"] == "*")]["count"].iloc[0]
    by_tier = table[(table["tier"] != "*") & (table["province"] == "*")]["count"].sum()
    assert grand == by_tier
    assert (table["postprocessing"].str.contains("suppressed|total")).all()


def test_undeclared_bounds_are_refused(account: Account) -> None:
    df = _customers()
    with pytest.raises(InputError, match="no declared bounds"):
        release_means(df, by=["tier"], keys=KEYS, value="spend", bounds={}, epsilon=1.0,
                      account=account)  # fmt: skip
    with pytest.raises(InputError, match="no declared bounds"):
        release_quantiles(df, value="spend", quantiles=[0.5], bounds={}, epsilon=1.0,
                          account=account)  # fmt: skip
    with pytest.raises(InputError, match="no declared bounds"):
        release_kmeans(df, features=["spend"], bounds={}, k=2, epsilon=1.0, account=account)
    with pytest.raises(InputError, match="LO < HI"):
        release_means(df, by=["tier"], keys=KEYS, value="spend", bounds={"spend": (5, 5)},
                      epsilon=1.0, account=account)  # fmt: skip
    assert account.ledger.status("crm").spent == PrivacyBudget(0)


def test_privacy_leak_warning_becomes_an_error() -> None:
    with pytest.raises(PrivsegError, match="privacy leak"), no_privacy_leak():
        dpl_quantile(np.arange(10.0), 0.5, epsilon=1.0)  # no bounds: diffprivlib warns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with no_privacy_leak():
            pass


def test_means_are_noisy_sum_over_noisy_count(account: Account) -> None:
    df = _customers(6000)
    release = release_means(
        df, by=["tier"], keys={"tier": KEYS["tier"]}, value="spend", bounds={"spend": (0, 2000)},
        epsilon=2.0, account=account, evaluate=True, random_state=4,
    )  # fmt: skip
    table = release.table.set_index("tier")
    exact = df.assign(v=df["spend"].astype(float).clip(0, 2000)).groupby("tier")["v"].mean()
    for tier in KEYS["tier"]:
        assert table.loc[tier, "mean_ci95_low"] <= exact[tier] <= table.loc[tier, "mean_ci95_high"]
        assert table.loc[tier, "mean"] == pytest.approx(
            table.loc[tier, "sum"] / table.loc[tier, "count"]
        )
    assert (table["method"] == "mean = noisy sum / noisy count").all()
    assert dict(release.plan.split) == {"counts": 0.5, "sums": 1.5}
    assert release.evaluation is not None and release.evaluation["realised_value"] >= 0.95
    assert release.plan.predicted_value is not None and release.plan.predicted_value >= 0.9
    history = account.ledger.status("crm").history
    assert history[-1].kind == "means" and history[-1].predicted_value is not None


def test_exact_sums_bound_rows_clip_and_round_to_the_grid() -> None:
    df = pd.DataFrame(
        {
            "u": ["a", "b", "a", "a", "c", None, "b", "c", "a"],
            "tier": ["gold", "silver", "gold", "silver", "other", "gold", "gold", "silver", "gold"],
            "spend": ["120.5", "-80", "abc", "3000", "40", "10", None, "0.025", "7"],
        },
        dtype="string",
    )
    got = exact_sums(
        df, by=["tier"], keys={"tier": ["gold", "silver", "bronze"]}, value="spend",
        bounds={"spend": (-50, 500)}, bounding=Bounding("u", 2),
    )  # fmt: skip
    # kept: a's first two rows, b's two, c's two (no unit: dropped); grid 500/10000 = 0.05:
    # 120.5 -> 2410, -80 -> -50 -> -1000, 0.025 -> 0.5 -> 0 (half to even); "abc", missing
    # and the undeclared "other" go to the last count
    assert got.counts.tolist() == [1, 2, 0, 3]
    assert got.sums.tolist() == [2410, -1000, 0]
    assert got.bounds == (-50.0, 500.0) and got.value == "spend"
    units = grid_units(pd.Series(["1.5", "inf", "-inf", "x", "0.075"]), 0.0, 1.0)
    np.testing.assert_array_equal(units[:3], [10000.0, 10000.0, 0.0])
    assert np.isnan(units[3]) and units[4] == 750.0
    with pytest.raises(InputError, match="other cells, measure or bounds"):
        release_means(
            got, by=["tier"], keys={"tier": ["gold", "silver"]}, value="spend",
            bounds={"spend": (-50, 500)}, epsilon=1.0, account=None,
        )  # fmt: skip


def test_quantiles_per_segment(account: Account) -> None:
    df = _customers(6000)
    release = release_quantiles(
        df, value="spend", quantiles=[0.5], bounds={"spend": (0, 5000)}, epsilon=1.0,
        account=account, by=["tier"], keys={"tier": KEYS["tier"]}, random_state=5,
    )  # fmt: skip
    exact = df.assign(v=df["spend"].astype(float)).groupby("tier")["v"].median()
    for _, row in release.table.iterrows():
        assert abs(row["q0.5"] - exact[row["tier"]]) < 0.1 * exact[row["tier"]]
    assert (release.table["mechanism"] == "exponential").all()


def test_quantiles_release_noisy_counts_and_a_conservative_prediction(account: Account) -> None:
    """10% of epsilon buys the noisy segment counts; the predicted value (recorded in the
    ledger) is reached by the realised one in most runs."""
    df = _customers(4000)
    spec: dict[str, Any] = {
        "value": "spend", "quantiles": [0.5], "bounds": {"spend": (0, 5000)}, "epsilon": 0.3,
        "by": ["tier"], "keys": {"tier": KEYS["tier"]}, "evaluate": True,
    }  # fmt: skip
    release = release_quantiles(df, **spec, account=account, random_state=0)
    assert dict(release.plan.split)["count"] == pytest.approx(0.3 * QUANTILE_COUNT_SHARE)
    exact = df.groupby("tier").size()
    for _, row in release.table.iterrows():
        assert abs(row["count"] - exact.get(row["tier"], 0)) < 200  # scale 1 / 0.03
    predicted = release.plan.predicted_value
    assert predicted is not None and 0 < predicted < 1
    assert account.ledger.status("crm").history[-1].predicted_value == predicted
    assert release.evaluation is not None and release.evaluation["predicted_value"] == predicted
    runs = [release_quantiles(df, **spec, account=None, random_state=s) for s in range(10)]
    hits = [r.evaluation["realised_value"] >= r.plan.predicted_value for r in runs]  # type: ignore[index,operator]
    assert sum(hits) >= 8


def test_quantile_grid_comes_from_declared_parameters_and_refuses_absurd_ones() -> None:
    assert QuantileGrid.of(0, 100, 10).candidates().tolist() == [float(10 * j) for j in range(11)]
    assert QuantileGrid.of(0, 10, 3).candidates().tolist() == [0.0, 3.0, 6.0, 9.0, 10.0]
    default = QuantileGrid.of(-2, 6)
    assert default.size == 1001 and default.candidates()[[0, 500, -1]].tolist() == [-2, 2, 6]
    assert QuantileGrid.of(0, 1, 0.1).candidates()[3] == 0.3  # exact fractions, rounded once
    for lo, hi, step in [
        (-1.7e308, 1.7e308, None), (0, float("inf"), None), (5, 5, None), (float("nan"), 1, None),
        (0, 100, 0.0), (0, 100, -1.0), (0, 50_000, 0.1),
    ]:  # fmt: skip
        with pytest.raises(InputError):
            QuantileGrid.of(lo, hi, step)


def test_quantile_scores_are_integers_of_bounded_sensitivity() -> None:
    values = np.sort(np.array([1.0, 3.0, 3.0, 3.0, 4.5, 9.0]))
    candidates = QuantileGrid.of(0, 10, 0.5).candidates()
    for q in (0.5, 0.3, 0.9):
        alpha = Fraction(repr(q))
        scores = quantile_scores(values, candidates, alpha)
        assert all(isinstance(s, int) and s >= 0 for s in scores)
        bound = quantile_sensitivity(alpha, 1)
        for extra in (0.0, 3.0, 3.2, 10.0):  # a neighbour with one more value
            other = quantile_scores(np.sort(np.append(values, extra)), candidates, alpha)
            assert max(abs(a - b) for a, b in zip(scores, other, strict=True)) <= bound
    # ties: every value at 3 makes 3 the only perfect candidate of the median
    tied = quantile_scores(np.full(5, 3.0), candidates, Fraction(1, 2))
    assert tied.index(0) == 6 and tied.count(0) == 1


def test_many_tied_values_release_the_tied_value() -> None:
    """100,000 amounts of 500 (the audit's case): the median released is 500, not a point of
    a zero-width interval's neighbourhood."""
    df = pd.DataFrame({"unit": range(100_000), "spend": 500.0})
    for seed in range(5):
        release = release_quantiles(
            df, value="spend", quantiles=[0.5], bounds={"spend": (0, 1000)}, epsilon=1.0,
            account=None, bounding=Bounding("unit"), random_state=seed,
        )  # fmt: skip
        assert release.table.loc[0, "q0.5"] == 500.0


def test_quantile_release_is_the_task_applied_to_each_cell(account: Account) -> None:
    """The local engine: bounded rows grouped by declared cell (an empty one too), each
    quantile and cell drawn from its own stream of the release's seed, ledger charged once."""
    df = _customers(800)
    keys = {"tier": ["gold", "silver", "platinum"]}
    spec: dict[str, Any] = {
        "value": "spend", "quantiles": [0.2, 0.8], "bounds": {"spend": (0, 900)},
        "epsilon": 0.5, "by": ["tier"], "keys": keys, "bounding": Bounding("unit"),
        "resolution": 5.0,
    }  # fmt: skip
    release = release_quantiles(df, **spec, account=account, random_state=3)
    seed = quantile_seed(3)
    candidates = QuantileGrid.of(0, 900, 5.0).candidates()
    for c, tier in enumerate(keys["tier"]):
        spend = np.sort(np.clip(df.loc[df["tier"] == tier, "spend"].astype(float), 0, 900))
        for j, q in enumerate((0.2, 0.8)):
            alpha = Fraction(repr(q))
            pick = exponential_choice(
                quantile_scores(spend, candidates, alpha), Fraction(9, 40),  # 0.5 * 90% / 2
                quantile_sensitivity(alpha, 1), StreamBits(seed, f"{j}:{c}".encode()),
            )  # fmt: skip
            assert release.table.loc[c, f"q{q:g}"] == candidates[pick]
    assert set(release.table[["q0.2", "q0.8"]].to_numpy().ravel()) <= set(candidates)
    assert account.ledger.status("crm").spent == PrivacyBudget(0.5)
    secure = [release_quantiles(df, **spec, account=None).table["q0.2"] for _ in range(3)]
    assert not (secure[0].equals(secure[1]) and secure[1].equals(secure[2]))


def test_target_picks_epsilon_and_refuses_when_out_of_budget(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "b.db")
    ledger.set_budget("crm", PrivacyBudget(1.0))
    account = Account(ledger, "crm", "default")
    release = release_counts(
        _customers(), by=["tier"], keys={"tier": KEYS["tier"]}, target=0.9, account=account,
        evaluate=True,
    )  # fmt: skip
    assert release.plan.predicted_value is not None and release.plan.predicted_value >= 0.9
    assert [s.kind for s in ledger.status("crm").history] == ["size-estimate", "counts"]
    assert release.epsilon_spent == pytest.approx(0.02 + release.plan.epsilon)
    # Tiny segments and a tiny remaining budget: refused with the reason.
    ledger.set_budget("tiny", PrivacyBudget(0.03))
    with pytest.raises(BudgetExceededError, match="segments too small"):
        release_counts(
            _customers(40), by=["tier"], keys={"tier": KEYS["tier"]}, target=0.99,
            account=Account(ledger, "tiny", "default"),
        )  # fmt: skip


def test_over_budget_spends_nothing(account: Account) -> None:
    release_counts(_customers(), by=["tier"], keys=KEYS, epsilon=2.5, account=account)
    with pytest.raises(BudgetExceededError, match=r"requested epsilon=1, .*remaining epsilon=0\.5"):
        release_counts(_customers(), by=["tier"], keys=KEYS, epsilon=1.0, account=account)
    assert len(account.ledger.status("crm").history) == 1


def test_analytic_value_measures() -> None:
    assert distribution_value([10, 10], [10, 10]) == 1.0
    assert distribution_value([20, 0], [10, 10]) == pytest.approx(0.5)
    assert distribution_value([0, 0], [10, 10]) == 0.0
    assert means_value([110.0, 50.0], [100.0, 100.0]) == pytest.approx(1 - (0.1 + 0.5) / 2)
    assert means_value([1e9, np.nan], [1.0, np.nan]) == 0.0  # capped at 1
    low = predict_distribution_value(0.01, [500] * 10)
    high = predict_distribution_value(1.0, [500] * 10)
    assert 0 < low < high <= 1
    eps = epsilon_for_target(0.85, [500] * 10, ceiling=5.0)
    assert predict_distribution_value(eps, [500] * 10) >= 0.85
    assert predict_distribution_value(eps * 0.9, [500] * 10) < 0.85


def test_demo_step_releases_segment_counts_under_the_demo_ledger(tmp_path: Path) -> None:
    from privseg.demo import pipeline
    from privseg.demo.generator import DEMO_AS_OF, generate
    from privseg.segments import assign, load_schemes

    demo = generate(1500)
    labels = assign(
        demo.customers, demo.orders, demo.interactions, load_schemes(), as_of=DEMO_AS_OF
    )
    labels_path = tmp_path / "labels.csv"
    labels.to_csv(labels_path, index=False)
    # one demo run per folder (run_demo refuses an earlier run's folder without force=True)
    run = pipeline.DemoRun(tmp_path, 1500, 0, outputs={"segment_labels": labels_path})
    pipeline._release_segment_counts(run)
    status = Ledger(tmp_path / "audits" / "budget.db").status("demo", "wecom-marketing")
    assert status.spent == PrivacyBudget(2.0) and len(status.history) == 2
    declared = {kind.value: set(values) for kind, values in load_schemes().labels().items()}
    table = pd.read_csv(run.outputs["release_lifecycle_by_province"])
    assert set(table["lifecycle"]) == declared["lifecycle"]
    assert len(table) == len(declared["lifecycle"]) * 34 and table["count"].ge(0).all()
    tiers = pd.read_csv(run.outputs["release_value_tier"])
    assert set(tiers["value_tier"]) == declared["value_tier"]
    assert "releases:" in run.lines[-1]


def test_cross_tab_cells_are_smoothed_within_their_interval_and_never_negative() -> None:
    rng = np.random.default_rng(4)
    n = 4000
    df = pd.DataFrame(
        {
            "a": rng.choice([f"a{i}" for i in range(12)], n),
            "b": rng.choice([f"b{i}" for i in range(10)], n),
            "c": rng.choice(["x", "y", "z"], n),
        }
    ).astype("string")
    keys = {
        "a": [f"a{i}" for i in range(12)],
        "b": [f"b{i}" for i in range(10)],
        "c": ["x", "y", "z"],
    }
    exact = df.groupby(["a", "b", "c"]).size()
    smoothed, plain = [], []
    for seed in range(4):
        release = release_counts(
            df, by=["a", "b", "c"], keys=keys, epsilon=0.1, account=None, evaluate=True,
            random_state=seed,
        )  # fmt: skip
        table = release.table
        assert (table["count"] >= 0).all()
        assert (table["count"] >= table["count_ci95_low"]).all()
        assert (table["count"] <= table["count_ci95_high"]).all()
        assert "smoothed" in table["postprocessing"].iloc[0]
        assert release.evaluation is not None
        assert 0 <= release.evaluation["realised_1_minus_tvd"] <= 1
        smoothed.append(release.evaluation["realised_value"])
        index = pd.MultiIndex.from_frame(table[["a", "b", "c"]])
        truth = exact.reindex(index, fill_value=0).to_numpy()
        noisy = (table["count_ci95_low"] + table["count_ci95_high"]) / 2  # the clamped noisy count
        plain.append(segment_accuracy(np.clip(noisy.to_numpy(dtype=float), 0, None), truth))
    # independent columns: the marginal model explains the table, smoothing gains a lot
    assert np.median(smoothed) > np.median(plain) + 0.1


def test_one_column_counts_are_not_smoothed() -> None:
    release = release_counts(
        _customers(), by=["tier"], keys=KEYS, epsilon=1.0, account=None, random_state=0
    )
    assert "smoothed" not in release.table["postprocessing"].iloc[0]
    assert release.plan.to_dict()["value_measure"] == "per-segment accuracy"


def test_dropped_rows_are_an_estimate_with_an_interval(account: Account) -> None:
    df = _customers()
    release = release_counts(
        df, by=["tier"], keys=KEYS, epsilon=0.5, account=account, random_state=2
    )
    dropped = int((df["tier"] == "other").sum())
    assert release.undeclared_noisy is not None and release.undeclared_ci95 is not None
    low, high = release.undeclared_ci95
    assert low <= release.undeclared_noisy <= high and low <= dropped <= high
    assert release.to_dict()["undeclared_rows_ci95"] == [low, high]
    means = release_means(
        df, by=["tier"], keys=KEYS, value="spend", bounds={"spend": (0, 2000)}, epsilon=0.5,
        account=account, random_state=2,
    )  # fmt: skip
    assert means.undeclared_ci95 is not None
    assert means.undeclared_ci95[0] <= dropped <= means.undeclared_ci95[1]


def test_target_predicts_for_the_worst_table_and_names_its_floor() -> None:
    release = release_counts(
        _customers(), by=["tier"], keys=KEYS, target=0.85, account=None, random_state=1,
        evaluate=True,
    )  # fmt: skip
    assert release.plan.predicted_value is not None and release.plan.predicted_value >= 0.85
    assert any("every cell at the floor" in note for note in release.plan.notes)
    assert release.evaluation is not None
    assert release.evaluation["realised_value"] >= release.plan.predicted_value - 0.05


def test_kmeans_release_records_its_predicted_value(account: Account) -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.uniform(0, 10, 4000), "y": rng.uniform(0, 5, 4000)})
    release = release_kmeans(
        df, features=["x", "y"], bounds={"x": (0, 10), "y": (0, 5)}, k=3, epsilon=1.0,
        account=account, random_state=0,
    )  # fmt: skip
    assert release.plan.predicted_value is not None
    assert 0 < release.plan.predicted_value <= 1
    assert release.plan.to_dict()["value_measure"] == "exact cost / cost of the DP centroids"
    recorded = account.ledger.status("crm").history[-1]
    assert recorded.id == release.spends[0].id
    assert recorded.predicted_value == release.plan.predicted_value
