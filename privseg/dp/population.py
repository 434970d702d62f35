"""Which population a release is about: traced through the signed audit trail, never a typed name.

A release's input file is identified by its SHA-256. The trail says which run wrote those
bytes; an ``apply`` run records the pseudonym key id and the policy's unit column (its
``unit`` metric), and a run without a key (``segment assign``) is traced further through its
table inputs. The customers behind an input are therefore the customers of the key ids and
units its lineage reaches (``trace``); a file registered in the ledger
(``privseg budget register``) stands for its population directly. ``resolve`` turns that into
the one ledger population to charge: the population bound to the key id and unit, else the
named one, bound now (first use), else a population created from the policy's budget. A
release whose input cannot be tied to exactly one population is refused
(``MissingBudgetError``, exit 4) with the reason and a command that fixes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from privseg import audit
from privseg.dp.ledger import DEFAULT_PURPOSE, Ledger, PrivacyBudget
from privseg.errors import IntegrityError, MissingBudgetError

__all__ = ["UNIT_METRIC", "Lineage", "Resolution", "resolve", "trace", "trail_records"]

#: The audit metric in which ``apply`` records the policy's unit column.
UNIT_METRIC = "unit"


@dataclass(frozen=True)
class Lineage:
    """Who an input is about: (key id, unit) pairs, registered populations, the table inputs
    its lineage could not explain (absolute paths) and the purposes of the keyed runs."""

    keys: frozenset[tuple[str, str | None]]
    registered: frozenset[str]
    untraced: tuple[str, ...]
    purposes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Resolution:
    """The population and purpose a release is charged to, and a note when the population
    is not the typed name."""

    population: str
    purpose: str
    note: str | None = None


def trace(sha256: str, path: str, records: Iterable[audit.AuditRecord], ledger: Ledger) -> Lineage:
    """The lineage of the bytes ``sha256`` (at ``path``) in successful audit ``records``."""
    producers: dict[str, list[audit.AuditRecord]] = {}
    for record in records:
        if record.ok:
            for output in record.outputs:
                producers.setdefault(output.sha256, []).append(record)
    keys: set[tuple[str, str | None]] = set()
    registered: set[str] = set()
    purposes: set[str] = set()
    untraced: list[str] = []
    seen: set[str] = set()
    todo = [(sha256, path)]
    while todo:
        digest, where = todo.pop()
        if digest in seen:
            continue
        seen.add(digest)
        population = ledger.registered(digest)
        if population is not None:
            registered.add(population)
            continue
        if digest not in producers:
            untraced.append(where)
            continue
        for record in producers[digest]:
            if record.key_id is not None:
                unit = dict(record.metrics).get(UNIT_METRIC)
                keys.add((record.key_id, None if unit is None else str(unit)))
                purposes.update([record.purpose] if record.purpose else [])
            else:  # tables only: a scheme or policy file read beside them is no population
                todo.extend((i.sha256, i.path) for i in record.inputs if i.rows is not None)
    return Lineage(frozenset(keys), frozenset(registered), tuple(untraced), frozenset(purposes))


def trail_records(trail: Path | None) -> list[audit.AuditRecord]:
    """The records of a trail whose signatures and chain verify (none if it does not exist)."""
    trail = trail or audit.default_trail()
    if not trail.exists():
        return []
    checked = audit.verify(trail)
    if not checked.ok:
        raise IntegrityError(f"cannot trace a population through the audit trail: {checked}")
    return audit.read_records(trail)


def resolve(
    ledger: Ledger,
    source: Path,
    sha256: str | None,
    *,
    trail: Path | None,
    dataset: str | None,
    purpose: str | None,
    policy_budget: PrivacyBudget | None,
) -> Resolution:
    """The population to charge for a release of ``source`` (its ``sha256``; None for
    standard input), binding or creating it when the lineage allows; raises
    ``MissingBudgetError`` with the reason otherwise. Without ``purpose``, the purpose is
    the one the input was pseudonymized for (if its lineage has exactly one), else
    ``DEFAULT_PURPOSE``."""
    if sha256 is None:
        raise MissingBudgetError(
            "standard input cannot be tied to a population (nothing identifies its bytes); "
            "release from a file"
        )
    lineage = trace(sha256, str(source.absolute()), trail_records(trail), ledger)
    if lineage.untraced:
        raise MissingBudgetError(
            f"{lineage.untraced[0]} cannot be tied to a population: no apply or segment run "
            f"in the audit trail wrote it and it is not registered; register it with "
            f"'privseg budget register NAME {lineage.untraced[0]} --ledger {ledger.path}'"
        )
    if purpose is None:
        only = sorted(lineage.purposes)
        purpose = only[0] if len(only) == 1 else DEFAULT_PURPOSE
    named = set(lineage.registered)
    unbound: list[tuple[str, str | None]] = []
    for key_id, unit in sorted(lineage.keys, key=str):
        population = ledger.population_of(key_id, unit)
        if population is None:
            unbound.append((key_id, unit))
        else:
            named.add(population.name)
    if len(named) + len(unbound) > 1:
        parts = sorted(named) + [f"key {k} (unit {u})" for k, u in unbound]
        raise MissingBudgetError(
            "the input mixes customers of several populations (" + ", ".join(parts) + "); "
            "release each population's data separately"
        )
    if not named and not unbound:
        raise MissingBudgetError(
            f"{source} cannot be tied to a population: its lineage in the audit trail reaches "
            f"no pseudonymized table; register it with 'privseg budget register NAME {source} "
            f"--ledger {ledger.path}'"
        )
    if named:
        (name,) = named
    else:
        (key_id, unit) = unbound[0]
        name = _bind(ledger, key_id, unit, dataset, purpose, policy_budget)
    if policy_budget is not None:
        ledger.ensure_budget(name, policy_budget, purpose=purpose)
    note = None
    if dataset is not None and dataset != name:
        note = (
            f"these customers' budget is population {name!r}: charged there, whatever "
            f"--dataset says ({dataset!r})"
        )
    return Resolution(name, purpose, note)


def _bind(
    ledger: Ledger,
    key_id: str,
    unit: str | None,
    dataset: str | None,
    purpose: str,
    policy_budget: PrivacyBudget | None,
) -> str:
    """Bind the named population (or a new one from the policy's budget) to ``key_id``."""
    name = dataset or f"customers-{key_id}"
    if ledger.population(name) is None:
        if policy_budget is None:
            unit_flag = "" if unit is None else f" --unit {unit}"
            raise MissingBudgetError(
                f"no privacy budget covers the customers of key {key_id} (unit {unit}); "
                f"create one (choose its total epsilon) with 'privseg budget set {name} --epsilon 1 "
                f"--key-id {key_id}"
                f"{unit_flag} --ledger {ledger.path}'"
            )
        ledger.ensure_budget(name, policy_budget, purpose=purpose)
    ledger.bind(name, key_id, unit)
    return name
