"""The privacy-budget ledger: exact budgets, composition, refusal, history."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from privseg.dp.ledger import LEDGER_ENV, Ledger, PrivacyBudget, default_ledger_path
from privseg.errors import BudgetExceededError, InputError


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
    # Budgets are per dataset and purpose.
    with pytest.raises(BudgetExceededError, match="no privacy budget set"):
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
    with pytest.raises(InputError, match="no privacy-budget ledger"):
        Ledger(tmp_path / "missing.db").status("crm")
