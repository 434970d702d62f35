"""Privacy-budget values: exact (epsilon, delta) budgets, populations, spends and statuses.

Frozen, validated values with arithmetic (as Tumult Analytics' ``PrivacyBudget``); the
persistent ledger that stores them is ``privseg.dp.ledger.Ledger``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from privseg.errors import BudgetExceededError, InputError

__all__ = [
    "ZERO",
    "BudgetStatus",
    "Population",
    "PrivacyBudget",
    "Spend",
    "SpendState",
    "total_of",
]


def _exact(value: float | int | str | Fraction | Decimal, what: str) -> Fraction:
    """An exact, finite, non-negative fraction; floats are read by their shortest decimal spelling."""
    if isinstance(value, bool):
        raise InputError(f"{what} must be a number, not a boolean")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{what} must be finite, got {value}")
        value = repr(value)
    try:
        exact = Fraction(value)
    except (ValueError, ZeroDivisionError, TypeError) as error:
        raise InputError(f"{what} must be a number, got {value!r}") from error
    if exact < 0:
        raise InputError(f"{what} must be non-negative, got {float(exact)}")
    return exact


@dataclass(frozen=True, order=False)
class PrivacyBudget:
    """An (epsilon, delta) privacy budget: a frozen, validated, exact value with arithmetic.

    ``PrivacyBudget(1.0)``, ``PrivacyBudget("0.5", 1e-6)``; ``a + b`` composes sequentially,
    ``a - b`` raises if ``b`` does not fit in ``a``, ``b.fits_in(a)`` tests without raising.

    >>> total = privseg.PrivacyBudget("0.5") + privseg.PrivacyBudget(0.25)
    >>> total.epsilon, privseg.PrivacyBudget(1).fits_in(total)
    (Fraction(3, 4), False)
    """

    epsilon: Fraction
    delta: Fraction = Fraction(0)

    def __init__(
        self,
        epsilon: float | int | str | Fraction | Decimal,
        delta: float | int | str | Fraction | Decimal = 0,
    ) -> None:
        eps = _exact(epsilon, "epsilon")
        dlt = _exact(delta, "delta")
        if dlt > 1:
            raise InputError(f"delta must be at most 1, got {float(dlt)}")
        object.__setattr__(self, "epsilon", eps)
        object.__setattr__(self, "delta", dlt)

    def __add__(self, other: PrivacyBudget) -> PrivacyBudget:
        return PrivacyBudget(self.epsilon + other.epsilon, self.delta + other.delta)

    def __sub__(self, other: PrivacyBudget) -> PrivacyBudget:
        if not other.fits_in(self):
            raise BudgetExceededError(f"cannot subtract {other} from {self}")
        return PrivacyBudget(self.epsilon - other.epsilon, self.delta - other.delta)

    def fits_in(self, other: PrivacyBudget) -> bool:
        """True when spending ``self`` stays within ``other`` in both epsilon and delta."""
        return self.epsilon <= other.epsilon and self.delta <= other.delta

    @property
    def is_zero(self) -> bool:
        """True for the empty budget."""
        return self.epsilon == 0 and self.delta == 0

    def __str__(self) -> str:
        return f"epsilon={float(self.epsilon):g}, delta={float(self.delta):g}"

    def to_dict(self) -> dict[str, float]:
        """JSON-friendly floats."""
        return {"epsilon": float(self.epsilon), "delta": float(self.delta)}


ZERO = PrivacyBudget(0)


class SpendState(StrEnum):
    """Where a spend stands between the charge and the published release."""

    CHARGED = "charged"  # budget spent; no released values stored (nothing was published)
    DRAWN = "drawn"  # the released values are stored with the spend: recoverable
    COMMITTED = "committed"  # outputs and audit record written (or a Python API spend)
    LOST = "lost"  # a charged spend whose run died before storing values: stays counted


@dataclass(frozen=True)
class Spend:
    """One recorded spend: population (``dataset``), purpose, when, what kind of release,
    how much, the value it predicted and its state."""

    id: int
    dataset: str
    purpose: str
    at: str
    kind: str
    budget: PrivacyBudget
    predicted_value: float | None
    note: str
    state: SpendState = SpendState.COMMITTED

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly record."""
        return {
            "id": self.id,
            "at": self.at,
            "purpose": self.purpose,
            "kind": self.kind,
            **self.budget.to_dict(),
            "predicted_value": self.predicted_value,
            "note": self.note,
            "state": self.state.value,
        }


@dataclass(frozen=True)
class Population:
    """A population's budget: its name, what it is bound to (None: not yet) and its total."""

    name: str
    key_id: str | None
    unit: str | None
    total: PrivacyBudget

    @property
    def bound(self) -> bool:
        """True once tied to a pseudonym key id and unit column."""
        return self.key_id is not None

    def describe(self) -> str:
        """One phrase naming the population (ids and a column name only)."""
        if self.key_id is None:
            return f"population {self.name!r} (not yet bound to a key)"
        return f"population {self.name!r} (key {self.key_id}, unit {self.unit})"


@dataclass(frozen=True)
class BudgetStatus:
    """What one purpose (or, with purpose ``"*"``, the whole population) may still spend.

    ``total`` and ``spent`` are the purpose's allocation (the population total when it has
    none) and its spends; ``population_total`` and ``population_spent`` cover every purpose.

    >>> ledger = privseg.Ledger("budget.db")
    >>> _ = ledger.set_budget("crm", privseg.PrivacyBudget(1), purpose="wecom-marketing")
    >>> status = ledger.status("crm", "wecom-marketing")
    >>> status.total.epsilon, status.spent.epsilon, status.remaining.epsilon
    (Fraction(1, 1), Fraction(0, 1), Fraction(1, 1))
    """

    dataset: str
    purpose: str
    total: PrivacyBudget
    spent: PrivacyBudget
    history: tuple[Spend, ...]
    population_total: PrivacyBudget | None = None
    population_spent: PrivacyBudget | None = None

    @property
    def remaining(self) -> PrivacyBudget:
        """What can still be spent under this purpose (never negative)."""
        pairs = [(self.total, self.spent)]
        if self.population_total is not None and self.population_spent is not None:
            pairs.append((self.population_total, self.population_spent))
        return PrivacyBudget(
            max(min(t.epsilon - s.epsilon for t, s in pairs), Fraction(0)),
            max(min(t.delta - s.delta for t, s in pairs), Fraction(0)),
        )

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of one purpose in ``privseg budget status --format json``."""
        return {
            "dataset": self.dataset,
            "purpose": self.purpose,
            "total": self.total.to_dict(),
            "spent": self.spent.to_dict(),
            "remaining": self.remaining.to_dict(),
            "releases": len(self.history),
            "history": [spend.to_dict() for spend in self.history],
        }


def total_of(history: tuple[Spend, ...]) -> PrivacyBudget:
    """Sequential composition of every recorded spend."""
    total = ZERO
    for spend in history:
        total = total + spend.budget
    return total
