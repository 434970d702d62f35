"""Persistent privacy-budget ledger: one budget per population, purposes share it.

A **population** is a set of people: the customers identified by one pseudonym key (its key
id) in one unit column (the policy's unit recorded by ``apply``). It has one total budget
(epsilon, delta); every release about those customers, whatever dataset or purpose name is
typed, is charged to it. A purpose may get an **allocation**, a cap inside the total: a spend
must fit both the purpose's allocation (if any) and what remains of the total. A population
is created with ``set_budget`` (``privseg budget set``), either already **bound** to a key id
and unit or bound by the first release that traces its input to them
(``privseg.dp.population``); at most one population is bound to a key id and unit. Files without
lineage in the audit trail are tied to a population by **registering** their SHA-256.

The ledger is one SQLite file (default ``audits/budget.db`` under the working folder, or
``PRIVSEG_LEDGER``, or an explicit path). A spend is checked and recorded in one
``BEGIN IMMEDIATE`` transaction, so concurrent processes serialize on the write lock and can
never overspend together. Budgets are exact: epsilons are kept as fractions of their decimal
spelling (``0.1`` is exactly 1/10), so ten spends of 0.1 fit a total of 1.0.

Spends move ``charged`` -> ``drawn`` (released values stored) -> ``committed`` (see
``privseg.dp.commit``); a charge keeps what redoes it (``replay``: a secret seed), so the
file is 0600. Ledgers of the earlier schema are migrated on first write (``_migrate``).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

from privseg._files import private_file
from privseg.dp.budget import (
    ZERO,
    BudgetStatus,
    Population,
    PrivacyBudget,
    Spend,
    SpendState,
    total_of,
)
from privseg.errors import BudgetExceededError, InputError, MissingBudgetError

__all__ = [
    "DEFAULT_PURPOSE",
    "LEDGER_ENV",
    "BudgetStatus",
    "Ledger",
    "Population",
    "PrivacyBudget",
    "Spend",
    "SpendState",
    "default_ledger_path",
]

LEDGER_ENV = "PRIVSEG_LEDGER"
DEFAULT_PURPOSE = "default"
_BUSY_TIMEOUT_S = 60.0
_SELECT_SPENDS = (
    "SELECT id, population, purpose, at, kind, epsilon, delta, predicted_value, note, state "
    "FROM charges"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS populations (
    name TEXT PRIMARY KEY,
    key_id TEXT,
    unit TEXT,
    epsilon TEXT NOT NULL,
    delta TEXT NOT NULL,
    set_at TEXT NOT NULL,
    UNIQUE (key_id, unit)
);
CREATE TABLE IF NOT EXISTS allocations (
    population TEXT NOT NULL REFERENCES populations (name),
    purpose TEXT NOT NULL,
    epsilon TEXT NOT NULL,
    delta TEXT NOT NULL,
    set_at TEXT NOT NULL,
    PRIMARY KEY (population, purpose)
);
CREATE TABLE IF NOT EXISTS sources (
    sha256 TEXT PRIMARY KEY,
    population TEXT NOT NULL REFERENCES populations (name),
    path TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS charges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    population TEXT NOT NULL REFERENCES populations (name),
    purpose TEXT NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    epsilon TEXT NOT NULL,
    delta TEXT NOT NULL,
    predicted_value REAL,
    note TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    release BLOB,
    replay BLOB
);
CREATE INDEX IF NOT EXISTS charges_by_population ON charges (population, purpose);
"""


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
    """The persistent ledger of one SQLite file. Cheap to construct; each call opens a connection.

    A release checks and records its spend in one transaction before any noise is drawn:

    >>> ledger = privseg.Ledger("budget.db")
    >>> _ = ledger.set_budget("crm", privseg.PrivacyBudget(1), purpose="wecom-marketing")
    >>> for _ in range(10):  # exact fractions: ten spends of 0.1 fit a budget of 1
    ...     _ = ledger.spend("crm", privseg.PrivacyBudget("0.1"), purpose="wecom-marketing", kind="counts")
    >>> ledger.remaining("crm", "wecom-marketing").epsilon
    Fraction(0, 1)
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = default_ledger_path(path)

    # -- plumbing -------------------------------------------------------------------------
    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        if write:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            private_file(self.path)  # it keeps secret seeds
        elif not self.path.exists():
            raise MissingBudgetError(
                f"no privacy-budget ledger at {self.path}; create a budget with "
                "'privseg budget set NAME --epsilon E'"
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
                    _migrate(conn)
                elif _has_table(conn, "budgets") and not _has_table(conn, "populations"):
                    raise InputError(
                        "ledger of an older privseg: any 'privseg budget set' migrates it",
                        source=self.path,
                    )
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    @staticmethod
    def _population(conn: sqlite3.Connection, name: str) -> Population | None:
        if not _has_table(conn, "populations"):
            return None
        row = conn.execute(
            "SELECT name, key_id, unit, epsilon, delta FROM populations WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else _population_of(row)

    @staticmethod
    def _allocation(conn: sqlite3.Connection, name: str, purpose: str) -> PrivacyBudget | None:
        row = conn.execute(
            "SELECT epsilon, delta FROM allocations WHERE population = ? AND purpose = ?",
            (name, purpose),
        ).fetchone()
        return None if row is None else PrivacyBudget(Fraction(row[0]), Fraction(row[1]))

    @staticmethod
    def _history(conn: sqlite3.Connection, name: str, purpose: str | None) -> tuple[Spend, ...]:
        query = _SELECT_SPENDS + " WHERE population = ?"
        args: tuple[str, ...] = (name,)
        if purpose is not None:
            query += " AND purpose = ?"
            args = (name, purpose)
        rows = conn.execute(query + " ORDER BY id", args).fetchall()
        return tuple(_spend_of(r) for r in rows)

    def _require(self, conn: sqlite3.Connection, name: str, purpose: str | None) -> Population:
        population = self._population(conn, name)
        if population is None:
            flag = "" if purpose in (None, DEFAULT_PURPOSE) else f" --purpose {purpose}"
            raise MissingBudgetError(
                f"no privacy budget for population {name!r} in {self.path}; create it (choose "
                f"its total epsilon) with 'privseg budget set {name} --epsilon 1{flag} "
                f"--ledger {self.path}'"
            )
        return population

    def _status(self, conn: sqlite3.Connection, name: str, purpose: str | None) -> BudgetStatus:
        population = self._require(conn, name, purpose)
        everything = self._history(conn, name, None)
        if purpose is None:
            spent = total_of(everything)
            return BudgetStatus(name, "*", population.total, spent, everything)
        allocation = self._allocation(conn, name, purpose)
        history = tuple(s for s in everything if s.purpose == purpose)
        return BudgetStatus(
            name,
            purpose,
            allocation or population.total,
            total_of(history),
            history,
            population.total,
            total_of(everything),
        )

    # -- populations and purposes ---------------------------------------------------------
    def set_budget(
        self,
        dataset: str,
        total: PrivacyBudget,
        *,
        purpose: str | None = None,
        key_id: str | None = None,
        unit: str | None = None,
    ) -> BudgetStatus:
        """Set population ``dataset``'s total (without ``purpose``) or ``purpose``'s allocation
        inside it; a new population gets ``total`` either way. ``key_id`` and ``unit`` bind it
        (``bind``). Refuses a total or allocation below what is already spent."""
        _check_name(dataset, "population")
        if purpose is not None:
            _check_name(purpose, "purpose")
        with self._transaction(write=True) as conn:
            population = self._population(conn, dataset)
            if population is None:
                conn.execute(
                    "INSERT INTO populations (name, epsilon, delta, set_at) VALUES (?, ?, ?, ?)",
                    (dataset, str(total.epsilon), str(total.delta), _now()),
                )
            if key_id is not None:
                self._bind(conn, dataset, key_id, unit)
            spent = total_of(self._history(conn, dataset, purpose))
            if not spent.fits_in(total):
                raise InputError(
                    f"cannot set the budget of {dataset!r}"
                    f"{'' if purpose is None else '/' + repr(purpose)} to {total}: "
                    f"{spent} is already spent"
                )
            if purpose is None:
                conn.execute(
                    "UPDATE populations SET epsilon = ?, delta = ?, set_at = ? WHERE name = ?",
                    (str(total.epsilon), str(total.delta), _now(), dataset),
                )
            else:
                _put_allocation(conn, dataset, purpose, total)
            return self._status(conn, dataset, purpose)

    def ensure_budget(
        self, dataset: str, total: PrivacyBudget, *, purpose: str = DEFAULT_PURPOSE
    ) -> BudgetStatus:
        """A policy's budget: create the population with ``total`` if it is new, and give
        ``purpose`` an allocation of ``total`` (at most the population's total) if it has
        none; what the ledger holds wins."""
        with self._transaction(write=True) as conn:
            population = self._population(conn, dataset)
            if population is None:
                conn.execute(
                    "INSERT INTO populations (name, epsilon, delta, set_at) VALUES (?, ?, ?, ?)",
                    (dataset, str(total.epsilon), str(total.delta), _now()),
                )
            elif not total.fits_in(population.total):
                total = PrivacyBudget(
                    min(total.epsilon, population.total.epsilon),
                    min(total.delta, population.total.delta),
                )
            if self._allocation(conn, dataset, purpose) is None:
                _put_allocation(conn, dataset, purpose, total)
            return self._status(conn, dataset, purpose)

    def bind(self, dataset: str, key_id: str, unit: str | None) -> Population:
        """Tie population ``dataset`` to a pseudonym key id and unit column (once, for good)."""
        with self._transaction(write=True) as conn:
            self._require(conn, dataset, None)
            self._bind(conn, dataset, key_id, unit)
            population = self._population(conn, dataset)
            assert population is not None
            return population

    def _bind(self, conn: sqlite3.Connection, name: str, key_id: str, unit: str | None) -> None:
        other = conn.execute(
            "SELECT name FROM populations WHERE key_id = ? AND unit IS ?", (key_id, unit)
        ).fetchone()
        if other is not None and other[0] != name:
            raise MissingBudgetError(
                f"the customers of key {key_id} (unit {unit}) already have their budget in "
                f"population {other[0]!r}; one population per key and unit"
            )
        population = self._population(conn, name)
        assert population is not None
        if population.bound and (population.key_id, population.unit) != (key_id, unit):
            raise MissingBudgetError(
                f"{population.describe()} is bound to other customers than key {key_id} "
                f"(unit {unit})"
            )
        conn.execute(
            "UPDATE populations SET key_id = ?, unit = ? WHERE name = ?", (key_id, unit, name)
        )

    def population(self, dataset: str) -> Population | None:
        """The population named ``dataset``, or None."""
        if not self.path.exists():
            return None
        with self._transaction(write=False) as conn:
            return self._population(conn, dataset)

    def population_of(self, key_id: str, unit: str | None) -> Population | None:
        """The population bound to ``key_id`` and ``unit``, or None."""
        if not self.path.exists():
            return None
        with self._transaction(write=False) as conn:
            if not _has_table(conn, "populations"):
                return None
            row = conn.execute(
                "SELECT name, key_id, unit, epsilon, delta FROM populations "
                "WHERE key_id = ? AND unit IS ?",
                (key_id, unit),
            ).fetchone()
            return None if row is None else _population_of(row)

    def register(self, dataset: str, sha256: str, path: str) -> None:
        """Tie a file (by its SHA-256) to population ``dataset``; a file is tied once."""
        with self._transaction(write=True) as conn:
            self._require(conn, dataset, None)
            row = conn.execute("SELECT population FROM sources WHERE sha256 = ?", (sha256,))
            found = row.fetchone()
            if found is not None and found[0] != dataset:
                raise MissingBudgetError(f"{path} is already registered to population {found[0]!r}")
            conn.execute(
                "INSERT OR REPLACE INTO sources (sha256, population, path, at) VALUES (?, ?, ?, ?)",
                (sha256, dataset, path, _now()),
            )

    def registered(self, sha256: str) -> str | None:
        """The population a file was registered to, or None."""
        if not self.path.exists():
            return None
        with self._transaction(write=False) as conn:
            if not _has_table(conn, "sources"):
                return None
            row = conn.execute("SELECT population FROM sources WHERE sha256 = ?", (sha256,))
            found = row.fetchone()
            return None if found is None else str(found[0])

    def status(self, dataset: str, purpose: str | None = DEFAULT_PURPOSE) -> BudgetStatus:
        """What ``purpose`` of population ``dataset`` may spend (None: the whole population)."""
        with self._transaction(write=False) as conn:
            return self._status(conn, dataset, purpose)

    def remaining(self, dataset: str, purpose: str | None = DEFAULT_PURPOSE) -> PrivacyBudget:
        """What remains for ``purpose`` (None: the whole population)."""
        return self.status(dataset, purpose).remaining

    def populations(self) -> tuple[Population, ...]:
        """Every population, sorted by name."""
        if not self.path.exists():
            return ()
        with self._transaction(write=False) as conn:
            if not _has_table(conn, "populations"):
                return ()
            rows = conn.execute(
                "SELECT name, key_id, unit, epsilon, delta FROM populations ORDER BY name"
            ).fetchall()
            return tuple(_population_of(r) for r in rows)

    def statuses(self) -> tuple[BudgetStatus, ...]:
        """Per population, each purpose with an allocation or a spend (the whole population,
        purpose ``"*"``, while it has none), sorted by population and purpose."""
        out: list[BudgetStatus] = []
        for population in self.populations():
            with self._transaction(write=False) as conn:
                purposes = {
                    r[0]
                    for r in conn.execute(
                        "SELECT purpose FROM allocations WHERE population = ? UNION "
                        "SELECT purpose FROM charges WHERE population = ?",
                        (population.name, population.name),
                    )
                }
                for purpose in sorted(purposes) or [None]:
                    out.append(self._status(conn, population.name, purpose))
        return tuple(out)

    # -- spends ---------------------------------------------------------------------------
    def spend(
        self,
        dataset: str,
        request: PrivacyBudget,
        *,
        purpose: str = DEFAULT_PURPOSE,
        kind: str,
        predicted_value: float | None = None,
        note: str = "",
        state: SpendState = SpendState.COMMITTED,
        replay: bytes | None = None,
    ) -> Spend:
        """Check and record ``request`` in one transaction; raise (recording nothing) if it
        does not fit the purpose's allocation and the population's total. A CLI release
        records ``CHARGED`` with its secret ``replay``, commits later (``store``, ``commit``)."""
        with self._transaction(write=True) as conn:
            status = self._status(conn, dataset, purpose)
            _refuse_unless_fits(status, request)
            at = _now()
            row = (dataset, purpose, at, kind, str(request.epsilon), str(request.delta))
            cursor = conn.execute(
                "INSERT INTO charges (population, purpose, at, kind, epsilon, delta, "
                "predicted_value, note, state, replay) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, predicted_value, note, state.value, replay),
            )
            spend_id = cursor.lastrowid
            assert spend_id is not None
            return Spend(
                spend_id, dataset, purpose, at, kind, request, predicted_value, note, state
            )

    def record_prediction(self, spend_id: int, predicted_value: float) -> None:
        """Attach a predicted analytic value to a recorded spend (computed after it, e.g. for means)."""
        with self._transaction(write=True) as conn:
            conn.execute(
                "UPDATE charges SET predicted_value = ? WHERE id = ?", (predicted_value, spend_id)
            )

    def store(self, spend_ids: Sequence[int], release: bytes) -> None:
        """Keep the released values (the DP output) with charged spends: they become ``DRAWN``."""
        self._set_state(spend_ids, SpendState.DRAWN, (SpendState.CHARGED,), release)

    def commit(self, spend_ids: Sequence[int]) -> None:
        """Mark spends ``COMMITTED``: their outputs and audit record are written."""
        self._set_state(spend_ids, SpendState.COMMITTED, (SpendState.DRAWN, SpendState.COMMITTED))

    def mark_lost(self, spend_ids: Sequence[int]) -> None:
        """Mark charged spends without stored values ``LOST``: nothing was released, the budget
        stays spent."""
        self._set_state(spend_ids, SpendState.LOST, (SpendState.CHARGED,))

    def _set_state(
        self,
        spend_ids: Sequence[int],
        state: SpendState,
        allowed: tuple[SpendState, ...],
        release: bytes | None = None,
    ) -> None:
        with self._transaction(write=True) as conn:
            for spend_id in spend_ids:
                found = conn.execute("SELECT state FROM charges WHERE id = ?", (spend_id,))
                row = found.fetchone()
                if row is None or row[0] not in allowed:
                    have = "no such spend" if row is None else f"it is {row[0]}"
                    raise InputError(f"spend {spend_id} cannot become {state.value}: {have}")
                if release is None:
                    conn.execute("UPDATE charges SET state = ? WHERE id = ?", (state, spend_id))
                else:
                    conn.execute(
                        "UPDATE charges SET state = ?, release = ? WHERE id = ?",
                        (state, release, spend_id),
                    )

    def pending(self) -> tuple[Spend, ...]:
        """Spends not committed (``CHARGED`` or ``DRAWN``): runs that died after the charge."""
        if not self.path.exists():
            return ()
        with self._transaction(write=False) as conn:
            if not _has_table(conn, "charges"):
                return ()
            rows = conn.execute(
                _SELECT_SPENDS + " WHERE state IN (?, ?) ORDER BY id",
                (SpendState.CHARGED.value, SpendState.DRAWN.value),
            ).fetchall()
            return tuple(_spend_of(r) for r in rows)

    def stored_release(self, spend_id: int) -> tuple[Spend, bytes | None]:
        """A spend and the released values stored with it (None if none were stored)."""
        with self._transaction(write=False) as conn:
            row = conn.execute(
                _SELECT_SPENDS.replace(" FROM", ", release FROM") + " WHERE id = ?", (spend_id,)
            ).fetchone()
            if row is None:
                raise InputError(f"no spend {spend_id} in {self.path}")
            return _spend_of(row[:10]), None if row[10] is None else bytes(row[10])

    def replay(self, spend_id: int) -> tuple[bytes | None, tuple[Spend, ...]]:
        """What redoes ``spend_id``'s release (None: not kept) and its charged spends, in order."""
        with self._transaction(write=True) as conn:  # migrates a ledger without replays
            row = conn.execute("SELECT replay FROM charges WHERE id = ?", (spend_id,)).fetchone()
            if row is None or row[0] is None:
                return None, ()
            query = _SELECT_SPENDS + " WHERE replay = ? AND state = ? ORDER BY id"
            rows = conn.execute(query, (row[0], SpendState.CHARGED.value)).fetchall()
            return bytes(row[0]), tuple(_spend_of(r) for r in rows)


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return found.fetchone() is not None


def _population_of(row: Sequence[object]) -> Population:
    name, key_id, unit, epsilon, delta = row
    return Population(
        str(name),
        None if key_id is None else str(key_id),
        None if unit is None else str(unit),
        PrivacyBudget(Fraction(str(epsilon)), Fraction(str(delta))),
    )


def _spend_of(row: Sequence[object]) -> Spend:
    spend_id, population, purpose, at, kind, epsilon, delta, predicted, note, state = row
    return Spend(
        int(str(spend_id)),
        str(population),
        str(purpose),
        str(at),
        str(kind),
        PrivacyBudget(Fraction(str(epsilon)), Fraction(str(delta))),
        None if predicted is None else float(str(predicted)),
        str(note),
        SpendState(str(state)),
    )


def _put_allocation(
    conn: sqlite3.Connection, population: str, purpose: str, total: PrivacyBudget
) -> None:
    conn.execute(
        "INSERT INTO allocations (population, purpose, epsilon, delta, set_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (population, purpose) DO UPDATE SET "
        "epsilon = excluded.epsilon, delta = excluded.delta, set_at = excluded.set_at",
        (population, purpose, str(total.epsilon), str(total.delta), _now()),
    )


def _migrate(conn: sqlite3.Connection) -> None:
    """Add ``charges.replay`` if missing. Move a ledger of the earlier schema (``budgets``
    and ``spends`` per dataset and purpose) into populations: total = sum of the purposes'
    totals, allocations = those totals, spends kept as committed charges (once)."""
    if all(column[1] != "replay" for column in conn.execute("PRAGMA table_info(charges)")):
        conn.execute("ALTER TABLE charges ADD COLUMN replay BLOB")
    if not _has_table(conn, "budgets"):
        return
    rows = conn.execute("SELECT dataset, purpose, epsilon, delta FROM budgets").fetchall()
    totals: dict[str, PrivacyBudget] = {}
    for dataset, purpose, epsilon, delta in rows:
        budget = PrivacyBudget(Fraction(epsilon), Fraction(delta))
        totals[dataset] = totals.get(dataset, ZERO) + budget
        _put_allocation(conn, dataset, purpose, budget)
    for dataset, total in totals.items():
        conn.execute(
            "INSERT INTO populations (name, epsilon, delta, set_at) VALUES (?, ?, ?, ?)",
            (dataset, str(total.epsilon), str(total.delta), _now()),
        )
    conn.execute(
        "INSERT INTO charges (population, purpose, at, kind, epsilon, delta, predicted_value, "
        "note, state) SELECT dataset, purpose, at, kind, epsilon, delta, predicted_value, note, "
        "? FROM spends ORDER BY id",
        (SpendState.COMMITTED.value,),
    )
    conn.execute("DROP TABLE spends")
    conn.execute("DROP TABLE budgets")


def _check_name(value: str, what: str) -> None:
    if not value or not value.strip():
        raise InputError(f"{what} must not be empty")


def _refuse_unless_fits(status: BudgetStatus, request: PrivacyBudget) -> None:
    remaining = status.remaining
    if not request.fits_in(remaining):
        raise BudgetExceededError(
            f"privacy budget exceeded for population {status.dataset!r}, purpose "
            f"{status.purpose!r}: requested {request}, remaining {remaining} (purpose "
            f"allocation {status.total}, population total {status.population_total or status.total})"
        )
