"""Persistent privacy-budget ledger: check -> spend -> remaining, safe across processes.

The ledger is one SQLite file (default ``audits/budget.db`` under the working folder, or
``PRIVSEG_LEDGER``, or an explicit path). It holds, per dataset and purpose, a total budget
(epsilon, delta) and the history of every spend. A spend is checked and recorded in one
``BEGIN IMMEDIATE`` transaction, so concurrent processes serialize on the write lock and can
never overspend together. Budgets are exact: epsilons are kept as fractions of their decimal
spelling (``0.1`` is exactly 1/10), so ten spends of 0.1 fit a total of 1.0.
"""

from __future__ import annotations

import math
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from privseg.errors import BudgetExceededError, InputError

__all__ = [
    "DEFAULT_PURPOSE",
    "LEDGER_ENV",
    "BudgetStatus",
    "Ledger",
    "PrivacyBudget",
    "Spend",
    "default_ledger_path",
]

LEDGER_ENV = "PRIVSEG_LEDGER"
DEFAULT_PURPOSE = "default"
_BUSY_TIMEOUT_S = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS budgets (
    dataset TEXT NOT NULL,
    purpose TEXT NOT NULL,
    epsilon TEXT NOT NULL,
    delta TEXT NOT NULL,
    set_at TEXT NOT NULL,
    PRIMARY KEY (dataset, purpose)
);
CREATE TABLE IF NOT EXISTS spends (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset TEXT NOT NULL,
    purpose TEXT NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    epsilon TEXT NOT NULL,
    delta TEXT NOT NULL,
    predicted_value REAL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS spends_by_budget ON spends (dataset, purpose);
"""


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


@dataclass(frozen=True)
class Spend:
    """One recorded spend: when, what kind of release, how much, and the value it predicted."""

    id: int
    dataset: str
    purpose: str
    at: str
    kind: str
    budget: PrivacyBudget
    predicted_value: float | None
    note: str

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly record."""
        return {
            "id": self.id,
            "at": self.at,
            "kind": self.kind,
            **self.budget.to_dict(),
            "predicted_value": self.predicted_value,
            "note": self.note,
        }


@dataclass(frozen=True)
class BudgetStatus:
    """Total, spent and remaining budget of one dataset and purpose."""

    dataset: str
    purpose: str
    total: PrivacyBudget
    spent: PrivacyBudget
    history: tuple[Spend, ...]

    @property
    def remaining(self) -> PrivacyBudget:
        """What can still be spent (never negative)."""
        return PrivacyBudget(
            max(self.total.epsilon - self.spent.epsilon, Fraction(0)),
            max(self.total.delta - self.spent.delta, Fraction(0)),
        )

    def to_dict(self) -> dict[str, object]:
        """The JSON shape printed by ``privseg budget status --format json``."""
        return {
            "dataset": self.dataset,
            "purpose": self.purpose,
            "total": self.total.to_dict(),
            "spent": self.spent.to_dict(),
            "remaining": self.remaining.to_dict(),
            "releases": len(self.history),
            "history": [spend.to_dict() for spend in self.history],
        }


def default_ledger_path(explicit: str | Path | None = None) -> Path:
    """``explicit``, else ``$PRIVSEG_LEDGER``, else ``audits/budget.db`` under the working folder."""
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get(LEDGER_ENV)
    if env:
        return Path(env)
    return Path.cwd() / "audits" / "budget.db"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Ledger:
    """The persistent ledger of one SQLite file. Cheap to construct; each call opens a connection."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = default_ledger_path(path)

    # -- plumbing -------------------------------------------------------------------------
    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        if write:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise InputError(
                "no privacy-budget ledger here; create one with 'privseg budget set'",
                source=self.path,
            )
        try:
            conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as error:
            raise InputError(f"cannot open ledger ({error})", source=self.path) from error
        with closing(conn):
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                if write:
                    for statement in filter(str.strip, _SCHEMA.split(";")):
                        conn.execute(statement)
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    @staticmethod
    def _total(conn: sqlite3.Connection, dataset: str, purpose: str) -> PrivacyBudget | None:
        row = conn.execute(
            "SELECT epsilon, delta FROM budgets WHERE dataset = ? AND purpose = ?",
            (dataset, purpose),
        ).fetchone()
        return None if row is None else PrivacyBudget(Fraction(row[0]), Fraction(row[1]))

    @staticmethod
    def _history(conn: sqlite3.Connection, dataset: str, purpose: str) -> tuple[Spend, ...]:
        rows = conn.execute(
            "SELECT id, at, kind, epsilon, delta, predicted_value, note FROM spends "
            "WHERE dataset = ? AND purpose = ? ORDER BY id",
            (dataset, purpose),
        ).fetchall()
        return tuple(
            Spend(
                r[0],
                dataset,
                purpose,
                r[1],
                r[2],
                PrivacyBudget(Fraction(r[3]), Fraction(r[4])),
                r[5],
                r[6],
            )
            for r in rows
        )

    def _status(self, conn: sqlite3.Connection, dataset: str, purpose: str) -> BudgetStatus:
        total = self._total(conn, dataset, purpose)
        if total is None:
            raise BudgetExceededError(
                f"no privacy budget set for dataset {dataset!r}, purpose {purpose!r} "
                f"in {self.path}; set one with 'privseg budget set {dataset} --epsilon E'"
            )
        history = self._history(conn, dataset, purpose)
        return BudgetStatus(dataset, purpose, total, _total_of(history), history)

    # -- budgets --------------------------------------------------------------------------
    def set_budget(
        self, dataset: str, total: PrivacyBudget, *, purpose: str = DEFAULT_PURPOSE
    ) -> BudgetStatus:
        """Set (or change) the total budget; refuses a total below what is already spent."""
        _check_name(dataset, "dataset")
        _check_name(purpose, "purpose")
        with self._transaction(write=True) as conn:
            history = self._history(conn, dataset, purpose)
            spent = _total_of(history)
            if not spent.fits_in(total):
                raise InputError(
                    f"cannot set the budget of {dataset!r}/{purpose!r} to {total}: "
                    f"{spent} is already spent"
                )
            conn.execute(
                "INSERT INTO budgets (dataset, purpose, epsilon, delta, set_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (dataset, purpose) DO UPDATE SET epsilon = excluded.epsilon, "
                "delta = excluded.delta, set_at = excluded.set_at",
                (dataset, purpose, str(total.epsilon), str(total.delta), _now()),
            )
            return BudgetStatus(dataset, purpose, total, spent, history)

    def ensure_budget(
        self, dataset: str, total: PrivacyBudget, *, purpose: str = DEFAULT_PURPOSE
    ) -> BudgetStatus:
        """Set the budget only if none is set yet (a policy's budget); the ledger's own wins."""
        with self._transaction(write=True) as conn:
            if self._total(conn, dataset, purpose) is None:
                conn.execute(
                    "INSERT INTO budgets (dataset, purpose, epsilon, delta, set_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (dataset, purpose, str(total.epsilon), str(total.delta), _now()),
                )
            return self._status(conn, dataset, purpose)

    def status(self, dataset: str, purpose: str = DEFAULT_PURPOSE) -> BudgetStatus:
        """Total, spent, remaining and history of one budget."""
        with self._transaction(write=False) as conn:
            return self._status(conn, dataset, purpose)

    def remaining(self, dataset: str, purpose: str = DEFAULT_PURPOSE) -> PrivacyBudget:
        """What remains of one budget."""
        return self.status(dataset, purpose).remaining

    def statuses(self) -> tuple[BudgetStatus, ...]:
        """Every budget of the ledger, sorted by dataset and purpose."""
        if not self.path.exists():
            return ()
        with self._transaction(write=False) as conn:
            try:
                keys = conn.execute(
                    "SELECT dataset, purpose FROM budgets ORDER BY dataset, purpose"
                ).fetchall()
            except sqlite3.OperationalError:
                return ()
            return tuple(self._status(conn, d, p) for d, p in keys)

    def check(
        self, dataset: str, request: PrivacyBudget, *, purpose: str = DEFAULT_PURPOSE
    ) -> BudgetStatus:
        """Raise BudgetExceededError unless ``request`` fits in what remains (spends nothing)."""
        status = self.status(dataset, purpose)
        _refuse_unless_fits(status, request)
        return status

    def spend(
        self,
        dataset: str,
        request: PrivacyBudget,
        *,
        purpose: str = DEFAULT_PURPOSE,
        kind: str,
        predicted_value: float | None = None,
        note: str = "",
    ) -> Spend:
        """Check and record ``request`` in one transaction; raise (recording nothing) if it does not fit."""
        with self._transaction(write=True) as conn:
            status = self._status(conn, dataset, purpose)
            _refuse_unless_fits(status, request)
            at = _now()
            cursor = conn.execute(
                "INSERT INTO spends (dataset, purpose, at, kind, epsilon, delta, predicted_value, note)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    dataset,
                    purpose,
                    at,
                    kind,
                    str(request.epsilon),
                    str(request.delta),
                    predicted_value,
                    note,
                ),
            )
            spend_id = cursor.lastrowid
            assert spend_id is not None
            return Spend(spend_id, dataset, purpose, at, kind, request, predicted_value, note)

    def record_prediction(self, spend_id: int, predicted_value: float) -> None:
        """Attach a predicted analytic value to a recorded spend (computed after it, e.g. for means)."""
        with self._transaction(write=True) as conn:
            conn.execute(
                "UPDATE spends SET predicted_value = ? WHERE id = ?", (predicted_value, spend_id)
            )


def _total_of(history: tuple[Spend, ...]) -> PrivacyBudget:
    """Sequential composition of every recorded spend."""
    total = ZERO
    for spend in history:
        total = total + spend.budget
    return total


def _check_name(value: str, what: str) -> None:
    if not value or not value.strip():
        raise InputError(f"{what} must not be empty")


def _refuse_unless_fits(status: BudgetStatus, request: PrivacyBudget) -> None:
    remaining = status.remaining
    if not request.fits_in(remaining):
        raise BudgetExceededError(
            f"privacy budget exceeded for dataset {status.dataset!r}, purpose {status.purpose!r}: "
            f"requested {request}, remaining {remaining} (total {status.total})"
        )
