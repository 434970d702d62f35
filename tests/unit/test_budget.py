"""The privacy-budget ledger: exact budgets, one total per population shared by purposes,
binding, registered files, charge states, migration, refusal, history."""

from __future__ import annotations

import sqlite3
from fractions import Fraction
from pathlib import Path

import pytest

from privseg.dp.ledger import LEDGER_ENV, Ledger, PrivacyBudget, SpendState, default_ledger_path
from privseg.errors import BudgetExceededError, InputError, MissingBudgetError


def test_budget_values_are_exact_and_validated() -> None:
    assert PrivacyBudget(0.1).epsilon == Fraction(1, 10)
    total = PrivacyBudget(0)
    for _ in range(10):
        total = total + PrivacyBudget(0.1)
    assert total == PrivacyBudget(1.0)
    assert PrivacyBudget(1.0) - PrivacyBudget(0.25, 0) == PrivacyBudget("0.75")
    with pytest.raises(BudgetExceededError):
        PrivacyBudget(0.5) - PrivacyBudget(0.6)
    for bad in (-1, float("nan"), float("inf"), "abc"):
        with pytest.raises(InputError):
            PrivacyBudget(bad)
    with pytest.raises(InputError):
        PrivacyBudget(1, 1.5)


def test_composition_spend_history_and_remaining(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "budget.db")
    ledger.set_budget("crm", PrivacyBudget(1.0, 1e-6), purpose="marketing")
    for _ in range(3):
        ledger.spend(
            "crm", PrivacyBudget(0.3), purpose="marketing", kind="counts", predicted_value=0.9
        )
    status = ledger.status("crm", "marketing")
    assert status.spent == PrivacyBudget("0.9")
    assert status.remaining == PrivacyBudget("0.1", 1e-6)
    assert [s.kind for s in status.history] == ["counts"] * 3
    assert status.history[0].predicted_value == 0.9
    with pytest.raises(
        BudgetExceededError, match=r"requested epsilon=0\.2.*remaining epsilon=0\.1"
    ):
        ledger.spend("crm", PrivacyBudget(0.2), purpose="marketing", kind="counts")
    assert len(ledger.status("crm", "marketing").history) == 3  # nothing written
    ledger.spend("crm", PrivacyBudget(0.1), purpose="marketing", kind="means")
    assert ledger.remaining("crm", "marketing").epsilon == 0
    # Another purpose name opens no new budget: the population's total is spent.
    with pytest.raises(BudgetExceededError, match="population 'crm', purpose 'analytics'"):
        ledger.spend("crm", PrivacyBudget(0.1), purpose="analytics", kind="counts")


def test_budget_cannot_drop_below_spent_and_policy_budget_does_not_override(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path / "budget.db")
    ledger.ensure_budget("crm", PrivacyBudget(2.0))
    ledger.spend("crm", PrivacyBudget(1.5), kind="counts")
    with pytest.raises(InputError, match="already spent"):
        ledger.set_budget("crm", PrivacyBudget(1.0))
    assert ledger.ensure_budget("crm", PrivacyBudget(9.0)).total == PrivacyBudget(2.0)
    assert ledger.set_budget("crm", PrivacyBudget(3.0)).remaining == PrivacyBudget(1.5)
    assert [s.dataset for s in ledger.statuses()] == ["crm"]


def test_default_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(LEDGER_ENV, raising=False)
    assert default_ledger_path() == tmp_path / "audits" / "budget.db"
    monkeypatch.setenv(LEDGER_ENV, str(tmp_path / "x.db"))
    assert default_ledger_path() == tmp_path / "x.db"
    assert default_ledger_path("y.db") == Path("y.db")
    with pytest.raises(MissingBudgetError, match="no privacy-budget ledger"):
        Ledger(tmp_path / "missing.db").status("crm")


def test_purposes_share_the_population_total_within_their_allocations(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "budget.db")
    ledger.set_budget("crm", PrivacyBudget(2))
    ledger.set_budget("crm", PrivacyBudget("0.5"), purpose="bi")  # a cap inside the total
    ledger.spend("crm", PrivacyBudget("0.5"), purpose="bi", kind="counts")
    with pytest.raises(BudgetExceededError, match="purpose 'bi'"):
        ledger.spend("crm", PrivacyBudget("0.1"), purpose="bi", kind="counts")
    for purpose in ("marketing", "renamed", "another-name"):  # no allocation: the total binds
        ledger.spend("crm", PrivacyBudget("0.5"), purpose=purpose, kind="counts")
    with pytest.raises(BudgetExceededError, match="population total epsilon=2"):
        ledger.spend("crm", PrivacyBudget("0.01"), purpose="fresh", kind="counts")
    assert ledger.remaining("crm", None) == PrivacyBudget(0)
    assert ledger.status("crm", "marketing").remaining == PrivacyBudget(0)
    assert [s.purpose for s in ledger.statuses()] == ["another-name", "bi", "marketing", "renamed"]


def test_a_missing_population_is_its_own_error_with_a_command_that_fixes_it(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path / "budget.db")
    ledger.set_budget("other", PrivacyBudget(1))
    with pytest.raises(MissingBudgetError) as caught:
        ledger.spend("crm", PrivacyBudget("0.1"), purpose="wecom-marketing", kind="counts")
    assert not isinstance(caught.value, BudgetExceededError)
    hint = str(caught.value).split("'")[-2]
    assert hint == (
        f"privseg budget set crm --epsilon 1 --purpose wecom-marketing --ledger {ledger.path}"
    )
    words = hint.split()
    ledger.set_budget(words[3], PrivacyBudget(words[5]), purpose=words[7])  # what the CLI does
    ledger.spend("crm", PrivacyBudget("0.1"), purpose="wecom-marketing", kind="counts")


def test_one_population_per_key_and_unit(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "budget.db")
    ledger.set_budget("crm", PrivacyBudget(1), key_id="k1", unit="外部联系人ID")
    ledger.set_budget("copy", PrivacyBudget(1))
    with pytest.raises(MissingBudgetError, match="already have their budget in population 'crm'"):
        ledger.bind("copy", "k1", "外部联系人ID")
    with pytest.raises(MissingBudgetError, match="bound to other customers"):
        ledger.bind("crm", "k2", "外部联系人ID")
    assert ledger.bind("copy", "k1", "手机号").unit == "手机号"  # another unit: other people
    found = ledger.population_of("k1", "外部联系人ID")
    assert found is not None and found.name == "crm" and found.bound
    ledger.register("copy", "ab" * 32, "/data/x.csv")
    assert ledger.registered("ab" * 32) == "copy" and ledger.registered("cd" * 32) is None
    with pytest.raises(MissingBudgetError, match="already registered"):
        ledger.register("crm", "ab" * 32, "/data/x.csv")


def test_spends_move_from_charged_to_committed(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "budget.db")
    ledger.set_budget("crm", PrivacyBudget(1))
    a = ledger.spend("crm", PrivacyBudget("0.1"), kind="counts", state=SpendState.CHARGED)
    b = ledger.spend("crm", PrivacyBudget("0.1"), kind="counts", state=SpendState.CHARGED)
    assert [s.id for s in ledger.pending()] == [a.id, b.id]
    ledger.store([a.id], b"released values")
    assert ledger.stored_release(a.id)[1] == b"released values"
    assert ledger.stored_release(a.id)[0].state is SpendState.DRAWN
    with pytest.raises(InputError, match="cannot become lost"):
        ledger.mark_lost([a.id])
    ledger.commit([a.id])
    ledger.mark_lost([b.id])
    assert ledger.pending() == ()
    assert [s.state for s in ledger.status("crm").history] == [
        SpendState.COMMITTED,
        SpendState.LOST,
    ]
    assert ledger.remaining("crm").epsilon == Fraction(4, 5)  # a lost spend stays spent


def test_a_ledger_of_the_earlier_schema_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE budgets (dataset TEXT, purpose TEXT, epsilon TEXT, delta TEXT, "
            "set_at TEXT); CREATE TABLE spends (id INTEGER PRIMARY KEY, dataset TEXT, "
            "purpose TEXT, at TEXT, kind TEXT, epsilon TEXT, delta TEXT, predicted_value REAL, "
            "note TEXT);"
            "INSERT INTO budgets VALUES ('crm', 'a', '1', '0', 't'), ('crm', 'b', '2', '0', 't');"
            "INSERT INTO spends VALUES (1, 'crm', 'a', 't', 'counts', '1/2', '0', 0.9, '');"
        )
    ledger = Ledger(path)
    with pytest.raises(InputError, match="older privseg"):
        ledger.status("crm", "a")
    ledger.set_budget("other", PrivacyBudget(1))  # any write migrates
    assert ledger.status("crm", None).total == PrivacyBudget(3)
    assert ledger.status("crm", "a").remaining == PrivacyBudget("0.5")
    assert ledger.status("crm", "b").total == PrivacyBudget(2)
