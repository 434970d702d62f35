"""The one place a release is charged and stamped: check before charge, stamps per kind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from privseg.dp.charge import charge, record_prediction, stamp
from privseg.dp.commit import ReplayAccount
from privseg.dp.counts import release_counts
from privseg.dp.kmeans_release import release_kmeans
from privseg.dp.ledger import Ledger, PrivacyBudget, SpendState
from privseg.dp.means import release_means
from privseg.dp.quantiles import release_quantiles
from privseg.dp.types import Account, Bounding, Mechanism, ReleaseKind, ReleasePlan
from privseg.errors import BudgetExceededError, InputError

PROVENANCE = {"mechanism", "epsilon", "noise_scale", "method", "postprocessing", "guarantee"}


@pytest.fixture
def account(tmp_path: Path) -> Account:
    ledger = Ledger(tmp_path / "budget.db")
    ledger.set_budget("crm", PrivacyBudget(1.0))
    return Account(ledger, "crm", "default")


@pytest.mark.parametrize("epsilon", [0.0, -1.0, float("nan"), float("inf")])
def test_a_bad_epsilon_is_refused_before_anything_is_charged(
    account: Account, epsilon: float
) -> None:
    with pytest.raises(InputError, match="epsilon"):
        charge(account, epsilon, ReleaseKind.COUNTS)
    assert account.ledger.status("crm").history == ()


def test_charge_records_one_spend_and_refuses_an_overspend(account: Account) -> None:
    (spend,) = charge(account, 0.75, ReleaseKind.MEANS, 0.9)
    assert (spend.kind, spend.predicted_value) == ("means", 0.9)
    with pytest.raises(BudgetExceededError):
        charge(account, 0.5, ReleaseKind.COUNTS)
    assert len(account.ledger.status("crm").history) == 1
    assert charge(None, 0.5, ReleaseKind.COUNTS) == ()


def test_a_prediction_made_after_the_draw_goes_to_the_last_spend(account: Account) -> None:
    spends = charge(account, 0.1, ReleaseKind.SIZE_ESTIMATE) + charge(
        account, 0.2, ReleaseKind.COUNTS
    )
    record_prediction(account, spends, 0.87)
    history = account.ledger.status("crm").history
    assert [s.predicted_value for s in history] == [None, 0.87]


def test_stamp_adds_the_provenance_columns_of_the_kind_in_order() -> None:
    plan = ReleasePlan(
        kind=ReleaseKind.KMEANS,
        mechanism=Mechanism.DP_KMEANS,
        epsilon=0.5,
        split=(("kmeans", 0.5),),
        sensitivity=1,
        noise_scale=float("nan"),
        expected_abs_error=float("nan"),
        ci95_half_width=float("nan"),
        bounding=Bounding("id"),
    )
    table = pd.DataFrame({"cluster": [0, 1]})
    stamp(table, plan, method="hybrid", postprocessing="sizes clamped to >= 0")
    assert list(table.columns) == [
        "cluster",
        "mechanism",
        "method",
        "epsilon",
        "postprocessing",
        "guarantee",
    ]
    assert table["guarantee"].iloc[0].startswith("0.5-DP, neighbours: add/remove one customer")


def test_every_release_ends_with_its_stamps_and_costs_its_epsilon(account: Account) -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"tier": rng.choice(["a", "b"], 200), "x": rng.uniform(0, 10, 200)})
    keys, bounds = {"tier": ["a", "b"]}, {"x": (0.0, 10.0)}
    releases = [
        release_counts(df, by=["tier"], keys=keys, epsilon=0.1, account=account, random_state=1),
        release_means(
            df, by=["tier"], keys=keys, value="x", bounds=bounds, epsilon=0.1, account=account
        ),
        release_quantiles(
            df, value="x", quantiles=[0.5], bounds=bounds, epsilon=0.1, account=account
        ),
        release_kmeans(df, features=["x"], bounds=bounds, k=2, epsilon=0.1, account=account),
    ]
    for release in releases:
        tail = [c for c in release.table.columns if c in PROVENANCE]
        assert tail == list(release.table.columns[-len(tail) :])
        assert tail[-1] == "guarantee"
        assert release.epsilon_spent == pytest.approx(0.1)
    spent = account.ledger.status("crm").spent
    assert float(spent.epsilon) == pytest.approx(0.4)


def test_an_account_names_its_purpose(tmp_path: Path) -> None:
    """No silent 'default' purpose: the budget an Account draws on is always named."""
    with pytest.raises(TypeError):
        Account(Ledger(tmp_path / "b.db"), "crm")  # type: ignore[call-arg]


def test_a_redone_release_reuses_its_charges_in_order_and_makes_those_it_never_reached(
    account: Account,
) -> None:
    """A run killed between its two charges: the redo reuses the first and makes the second
    (with the same replay), refuses a different first charge, and sees the budget as the
    original run did."""
    ledger, replay = account.ledger, b'{"seed": "secret"}'
    first = ledger.spend(
        "crm", PrivacyBudget("0.25"), kind="counts", state=SpendState.CHARGED, replay=replay
    )
    kept, charged = ledger.replay(first.id)
    assert kept == replay and charged == (first,)
    other = ReplayAccount(ledger, "crm", "default", SpendState.CHARGED, replay, charged)
    with pytest.raises(InputError, match="differs"):
        other.spend(0.5, ReleaseKind.COUNTS)
    redo = ReplayAccount(ledger, "crm", "default", SpendState.CHARGED, replay, charged)
    assert redo.remaining_epsilon() == pytest.approx(1.0)
    assert redo.spend(0.25, ReleaseKind.COUNTS) == first
    assert redo.remaining_epsilon() == pytest.approx(0.75)
    second = redo.spend(0.5, ReleaseKind.QUANTILES)
    assert second.id != first.id and second.state is SpendState.CHARGED
    assert ledger.replay(first.id) == (replay, (first, second))
    assert float(ledger.remaining("crm", "default").epsilon) == pytest.approx(0.25)
