"""DP decision trees: the structure, the rules, the budget split, the accounting."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from privseg.dp import tree as dptree
from privseg.dp.ledger import Ledger, PrivacyBudget
from privseg.dp.types import Account, Bounding
from privseg.errors import BudgetExceededError, InputError

FEATURES = ("recency", "frequency")
BOUNDS = {"recency": (0.0, 365.0), "frequency": (0.0, 50.0)}
CLASSES = ("loyal", "lapsed")


def _labels(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Customers whose class follows a rule the tree can find: lapsed if recency > 180."""
    rng = np.random.default_rng(seed)
    recency = rng.uniform(0, 365, n)
    frequency = rng.uniform(0, 50, n)
    lapsed = (recency > 180) ^ (rng.random(n) < 0.05)
    return pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(n)],
            "recency": recency.round(1).astype(str),
            "frequency": frequency.round(1).astype(str),
            "loyalty": np.where(lapsed, "lapsed", "loyal"),
        }
    )


def _release(df: pd.DataFrame, **kw: object) -> dptree.TreeRelease:
    args: dict[str, object] = {
        "target": "loyalty",
        "classes": CLASSES,
        "features": FEATURES,
        "bounds": BOUNDS,
        "epsilon": 1.0,
        "account": None,
        "random_state": 3,
    }
    args.update(kw)
    return dptree.release_tree(df, **args)  # type: ignore[arg-type]


def test_finds_the_rule_and_releases_it_as_text_and_json() -> None:
    release = _release(_labels(), depth=2)
    rules = release.tree.rules()
    root_feature, root_threshold = release.tree.splits[0]
    assert FEATURES[root_feature] == "recency"
    assert abs(root_threshold - 180) < 365 / 32
    text = release.text()
    assert text.startswith("if recency <= ")
    assert "then loyalty = loyal" in text and "then loyalty = lapsed" in text
    assert "1-DP" in text
    data = release.to_dict()
    assert data["classes"] == list(CLASSES)
    assert [r["then"] for r in data["rules"]] == [r.prediction for r in rules]
    assert 0.8 < data["estimated_accuracy"] <= 1
    assert 0 < data["predicted_value"] <= 1
    assert "evaluation" not in str(data)
    table = release.table
    assert list(table.columns[:3]) == ["rule", "conditions", "loyalty"]
    assert {"count_loyal", "count_lapsed", "text", "guarantee", "epsilon"} <= set(table.columns)
    assert list(table["text"]) == [r.text("loyalty") for r in rules]


def test_rules_never_contradict_themselves_and_siblings_merge() -> None:
    release = _release(_labels(), depth=4, epsilon=0.5)
    for rule in release.tree.rules():
        lows = {f: v for f, op, v in rule.conditions if op == ">"}
        highs = {f: v for f, op, v in rule.conditions if op == "<="}
        assert all(lows[f] < highs[f] for f in lows.keys() & highs.keys()), rule
    # merging is post-processing: every row gets the same class from rules and from leaves
    assert len(release.tree.rules()) < 2**4


def test_evaluate_holds_out_rows_and_compares_with_a_non_private_tree() -> None:
    release = _release(_labels(), depth=2, evaluate=True)
    ev = release.evaluation
    assert ev is not None
    assert set(ev) == {"heldout_accuracy", "nonprivate_heldout_accuracy", "realised_value"}
    assert ev["realised_value"] == pytest.approx(
        ev["heldout_accuracy"] / ev["nonprivate_heldout_accuracy"]
    )
    assert ev["realised_value"] > 0.85
    assert "realised" not in str(release.to_dict())


def test_the_budget_is_split_over_levels_and_leaves_and_charged_once(tmp_path: object) -> None:
    from pathlib import Path

    ledger = Ledger(Path(str(tmp_path)) / "b.db")
    ledger.set_budget("crm", PrivacyBudget(2.0))
    account = Account(ledger, "crm", "default")
    release = _release(_labels(300), account=account, epsilon=0.8, depth=4)
    plan = release.plan
    assert math.isclose(sum(share for _, share in plan.split), 0.8)
    assert [name for name, _ in plan.split][-1] == "leaf counts"
    assert release.epsilon_spent == pytest.approx(0.8)
    assert float(ledger.remaining("crm").epsilon) == pytest.approx(1.2)
    with pytest.raises(BudgetExceededError):
        _release(_labels(300), account=account, epsilon=1.5)
    assert float(ledger.remaining("crm").epsilon) == pytest.approx(1.2)


def test_each_mechanism_spends_its_share(monkeypatch: pytest.MonkeyPatch) -> None:
    """Per level, every node's pick uses eps_level (disjoint rows); the leaves use the rest."""
    spent: list[tuple[str, float]] = []
    pick, noise = dptree.exponential_pick, dptree.geometric

    def recording_pick(scores: np.ndarray, epsilon: float, state: object) -> int:
        spent.append(("pick", epsilon))
        return pick(scores, epsilon, state)  # type: ignore[arg-type]

    def recording_noise(values: np.ndarray, epsilon: float, sens: int, state: object) -> np.ndarray:
        spent.append(("leaves", epsilon))
        assert sens == 1
        return noise(values, epsilon, sens, state)  # type: ignore[arg-type]

    monkeypatch.setattr(dptree, "exponential_pick", recording_pick)
    monkeypatch.setattr(dptree, "geometric", recording_noise)
    _release(_labels(300), epsilon=0.9, depth=3)
    picks = [e for kind, e in spent if kind == "pick"]
    assert len(picks) == 1 + 2 + 4  # one per node
    assert set(np.round(picks, 12)) == {round(0.9 * dptree.SPLIT_SHARE / 3, 12)}
    assert [e for kind, e in spent if kind == "leaves"] == [pytest.approx(0.45)]
    # sequential over levels, parallel within: 3 levels x 0.15 + 0.45 = 0.9


def test_bounds_classes_and_features_are_declared_never_read() -> None:
    df = _labels(100)
    with pytest.raises(InputError, match="bounds"):
        _release(df, bounds={"recency": (0.0, 365.0)})
    with pytest.raises(InputError, match="two distinct classes"):
        _release(df, classes=("loyal",))
    with pytest.raises(InputError, match="target"):
        _release(df, features=("recency", "loyalty"), bounds={**BOUNDS, "loyalty": (0.0, 1.0)})
    with pytest.raises(InputError, match="depth"):
        _release(df, depth=7)
    with pytest.raises(InputError, match="one row per customer"):
        _release(df, bounding=Bounding("id", 2))


def test_undeclared_classes_and_missing_features_are_left_out() -> None:
    df = _labels(200)
    df.loc[:9, "loyalty"] = "unknown"
    df.loc[10:19, "recency"] = None
    release = _release(df, depth=1, epsilon=50.0)  # nearly exact counts
    assert abs(int(release.tree.counts.sum()) - 180) <= 3
