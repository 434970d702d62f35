"""One CLI release run, charged and committed (``privseg.dp.commit``): options and policy
checked with every output before the charge (``checked_setup``), the population traced from the
input (``ReleaseRun.charge_to``), the released values stored, published, audited and
committed (``ReleaseRun.publish``, ``release_run``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from privseg import audit
from privseg.dp.commit import Publication, preflight
from privseg.dp.ledger import Ledger, PrivacyBudget, SpendState
from privseg.dp.population import resolve
from privseg.dp.types import Account, Bounding, Release
from privseg.errors import InputError
from privseg.policy import Policy, load_policy

__all__ = [
    "ReleaseRun",
    "Setup",
    "checked_setup",
    "parse_bounds",
    "parse_keys",
    "parse_resolution",
    "release_run",
]


def parse_keys(specs: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """``["COL=k1,k2", ...]`` -> ``{"COL": ("k1", "k2")}``."""
    keys: dict[str, tuple[str, ...]] = {}
    for spec in specs:
        column, sep, values = spec.partition("=")
        parsed = tuple(v.strip() for v in values.split(",") if v.strip())
        if not sep or not column.strip() or not parsed:
            raise InputError(f"--keys must look like COL=k1,k2,..., got {spec!r}")
        if len(set(parsed)) != len(parsed):
            raise InputError("--keys lists a key twice", column=column.strip())
        keys[column.strip()] = parsed
    return keys


def _items(specs: Sequence[str], form: str) -> Iterator[tuple[str, str]]:
    """``COL=VALUE`` items of comma-separated specs; raises InputError naming ``form``."""
    for spec in specs:
        for item in filter(None, (s.strip() for s in spec.split(","))):
            column, sep, value = item.partition("=")
            if not (sep and column.strip()):
                raise InputError(f"--{form}, got {item!r}")
            yield column.strip(), value


def parse_bounds(specs: Sequence[str]) -> dict[str, tuple[float, float]]:
    """``["a=LO:HI,b=LO:HI", ...]`` -> ``{"a": (LO, HI), "b": (LO, HI)}``."""
    bounds: dict[str, tuple[float, float]] = {}
    form = "bounds must look like COL=LO:HI"
    for column, rng in _items(specs, form):
        lo, colon, hi = rng.partition(":")
        try:
            if not colon:
                raise ValueError
            bounds[column] = (float(lo), float(hi))
        except ValueError:
            raise InputError(f"--{form}, got {column}={rng!r}") from None
    return bounds


def parse_resolution(specs: Sequence[str]) -> dict[str, float]:
    """``["a=STEP", ...]`` -> ``{"a": STEP}``."""
    form = "resolution must look like COL=STEP"
    try:
        return {column: float(step) for column, step in _items(specs, form)}
    except ValueError:
        raise InputError(f"--{form}") from None


@dataclass(frozen=True)
class Setup:
    """What a release command takes from options and an optional policy (no data read)."""

    ledger: Ledger
    dataset: str | None
    purpose: str | None
    keys: Mapping[str, tuple[str, ...]]
    bounds: Mapping[str, tuple[float, float]]
    resolution: Mapping[str, float]
    bounding: Bounding
    policy: Policy | None = None


def checked_setup(
    source: Path,
    common: Mapping[str, Any],
    *,
    keys: Sequence[str] = (),
    bounds: Sequence[str] = (),
) -> Setup:
    """Options and policy merged and checked, and every output checked writable: whatever
    can fail without the data fails here, before any budget is spent."""
    policy_path: Path | None = common["policy_path"]
    policy: Policy | None = load_policy(policy_path) if policy_path is not None else None
    spec = policy.release if policy is not None else None
    merged_keys = dict(spec.keys) if spec is not None else {}
    merged_keys.update(parse_keys(keys))
    merged_bounds = dict(spec.bounds) if spec is not None else {}
    merged_bounds.update(parse_bounds(bounds))
    resolution = dict(spec.resolution) if spec is not None else {}
    resolution.update(parse_resolution(common.get("resolution", ())))
    unit = common["unit"] or (policy.unit if policy is not None else None)
    if unit is not None and common["row_level"]:
        raise click.UsageError("--row-level releases have no unit: drop --unit (or the policy)")
    if unit is None and not common["row_level"]:
        raise InputError(
            "no privacy unit: give --unit COL (the column identifying one customer), a --policy "
            "with a unit, or --row-level to protect single rows only (weaker: a customer with "
            "several rows is not protected as one)"
        )
    max_rows = common["max_rows"]
    ceiling = spec.max_orders_per_customer if spec is not None else None
    if ceiling is not None and max_rows > ceiling:
        raise InputError(
            f"--max-rows-per-unit {max_rows} exceeds the policy's max_orders_per_customer "
            f"({ceiling})"
        )
    preflight([common["out"], common["report"]], [source])
    return Setup(
        Ledger(common["ledger"]),
        common["dataset"],
        common["purpose"],
        merged_keys,
        merged_bounds,
        resolution,
        Bounding(unit, max_rows),
        policy,
    )


class ReleaseRun:
    """One audited release: traces the population, then stores, publishes and commits."""

    def __init__(self, command: str, setup: Setup, common: Mapping[str, Any]) -> None:
        self.command = command
        self.setup = setup
        self.common = common
        self.record: audit.RunRecorder | None = None
        self.account: Account | None = None
        self.publication: Publication | None = None

    @property
    def recorder(self) -> audit.RunRecorder:
        """The audit recorder of the run."""
        assert self.record is not None
        return self.record

    def charge_to(self, source: Path) -> Account:
        """The account of the population ``source`` is about (read and recorded first)."""
        assert self.record is not None
        sha = next((i.sha256 for i in self.record.inputs), None) if str(source) != "-" else None
        spec = self.setup.policy.release if self.setup.policy is not None else None
        found = resolve(
            self.setup.ledger,
            source,
            sha,
            trail=self.common["trail"],
            dataset=self.setup.dataset,
            purpose=self.setup.purpose
            or (self.setup.policy.purpose if self.setup.policy is not None else None),
            policy_budget=None
            if spec is None
            else PrivacyBudget(spec.budget.epsilon, spec.budget.delta),
        )
        if found.note is not None:
            click.echo(f"privseg: note: {found.note}", err=True)
        self.record.purpose = found.purpose
        self.record.set_metric("dataset", found.population)
        self.account = Account(
            self.setup.ledger, found.population, found.purpose, SpendState.CHARGED
        )
        return self.account

    def publish(
        self, release: Release, *, by: Sequence[str] = (), measures: Sequence[str] = ()
    ) -> None:
        """Store the released values with the spends, write the outputs, record them."""
        assert self.record is not None and self.account is not None
        self.publication = Publication.of(
            self.command, release, self.common["out"], self.common["report"]
        )
        if release.spends:
            self.publication.store(self.setup.ledger)
        self.publication.write(self.record)
        remaining = self.setup.ledger.remaining(self.account.dataset, self.account.purpose)
        release.record_to(self.record, float(remaining.epsilon), by=by, measures=measures)
        _summary(release, self.account, float(remaining.epsilon), self.common["out"])


@contextmanager
def release_run(command: str, setup: Setup, common: Mapping[str, Any]) -> Iterator[ReleaseRun]:
    """Audit one release (one record on success or failure); commit its spends after the
    record is appended."""
    run = ReleaseRun(command, setup, common)
    with audit.run(
        command,
        trail=common["trail"],
        operator=common["operator"],
        purpose=setup.purpose or (setup.policy.purpose if setup.policy is not None else None),
        policy_sha256=None if setup.policy is None else setup.policy.sha256,
    ) as record:
        run.record = record
        yield run
    if run.publication is not None and run.publication.spend_ids:
        setup.ledger.commit(run.publication.spend_ids)


def _summary(release: Release, account: Account, remaining: float, out: Path) -> None:
    """What was released, on stderr."""
    plan = release.plan
    scale = "" if math.isnan(plan.noise_scale) else f" noise (scale {plan.noise_scale:g})"
    click.echo(
        f"privseg: released {len(release.table)} rows to {out}: {plan.kind.value}, "
        f"{plan.mechanism.value}{scale}, epsilon "
        f"{release.epsilon_spent:g} spent, {remaining:g} remaining "
        f"for {account.dataset}/{account.purpose}",
        err=True,
    )
    click.echo(
        f"privseg: {plan.bounding.describe()}; neighbours: {plan.bounding.neighbours}", err=True
    )
    if plan.predicted_value is not None:
        click.echo(
            f"privseg: predicted analytic value {plan.predicted_value:.3f} "
            f"({plan.kind.value_measure})",
            err=True,
        )
    for note in plan.notes:
        click.echo(f"privseg: {note}", err=True)
    if release.undeclared_noisy is not None:
        interval = release.undeclared_ci95
        shown = "" if interval is None else f", 95% interval {interval[0]}-{interval[1]}"
        click.echo(
            f"privseg: rows dropped for undeclared keys or missing values: an estimate of "
            f"{release.undeclared_noisy}{shown} (a noisy count, not exact)",
            err=True,
        )
    if release.evaluation is not None:
        values = ", ".join(f"{k} {v:.4f}" for k, v in release.evaluation.items())
        click.echo(
            f"privseg: INTERNAL evaluation, not a DP release, do not share: {values}", err=True
        )
