"""One CLI release run, charged and committed (``privseg.dp.commit``): options and policy
checked with every output before the charge (``checked_setup``), the population traced from the
input (``ReleaseRun.charge_to``, which keeps the run's ``Replay`` with the charge), the
released values stored, published, audited and committed (``ReleaseRun.publish``,
``release_run``); a run cut short between the charge and the store is redone with the same
seed by ``redo`` (``privseg budget recover``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import click

from privseg import audit
from privseg.dp.commit import Publication, Replay, ReplayAccount, new_seed, preflight
from privseg.dp.ledger import Ledger, PrivacyBudget, Spend, SpendState
from privseg.dp.noise import drawing_from
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
    "redo",
    "release_run",
]

#: The release being redone (``redo``) and its charged spends, else None.
_REDOING: ContextVar[tuple[Replay, tuple[Spend, ...]] | None] = ContextVar("redoing", default=None)


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


class _SourceChanged(InputError):
    """The input of a release being redone is not the one it was charged for."""


class ReleaseRun:
    """One audited release: traces the population, then stores, publishes and commits."""

    def __init__(
        self, command: str, setup: Setup, common: Mapping[str, Any], replay: Replay
    ) -> None:
        self.command = command
        self.setup = setup
        self.common = common
        self.replay = replay
        self.redoing = _REDOING.get()
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
        if self.redoing is not None:
            replay, charged = self.redoing
            problem = replay.source_problem(sha)
            if problem is not None:
                raise _SourceChanged(problem)
            first = charged[0]
            self.account = ReplayAccount(
                self.setup.ledger,
                first.dataset,
                first.purpose,
                SpendState.CHARGED,
                replay.to_bytes(),
                charged,
            )
            return self.account
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
        replay = Replay(self.replay.seed, self.replay.command, self.replay.params, str(source), sha)
        self.account = Account(
            self.setup.ledger,
            found.population,
            found.purpose,
            SpendState.CHARGED,
            replay.to_bytes() if sha is not None else None,
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
        if self.redoing is not None:
            return
        self.publication.write(self.record)
        remaining = self.setup.ledger.remaining(self.account.dataset, self.account.purpose)
        release.record_to(self.record, float(remaining.epsilon), by=by, measures=measures)
        _summary(release, self.account, float(remaining.epsilon), self.common["out"])


@contextmanager
def release_run(command: str, setup: Setup, common: Mapping[str, Any]) -> Iterator[ReleaseRun]:
    """Audit one release (one record on success or failure); commit its spends after the
    record is appended. Noise is drawn from the run's seeded stream (``Replay``); a release
    being redone (``redo``) is neither audited nor committed here."""
    ctx = click.get_current_context()
    names: list[str] = []
    while ctx.parent is not None:
        names.insert(0, ctx.info_name or "")
        ctx = ctx.parent
    redoing = _REDOING.get()
    seed = new_seed() if redoing is None else redoing[0].seed
    params = {k: _plain(v) for k, v in click.get_current_context().params.items()}
    run = ReleaseRun(command, setup, common, Replay(seed, tuple(names), params, "-", None))
    if redoing is not None:
        with drawing_from(run.replay.bits()):
            run.record = audit.RunRecorder(command, "privseg budget recover")
            yield run
        return
    with (
        drawing_from(run.replay.bits()),
        audit.run(
            command,
            trail=common["trail"],
            operator=common["operator"],
            purpose=setup.purpose or (setup.policy.purpose if setup.policy is not None else None),
            policy_sha256=None if setup.policy is None else setup.policy.sha256,
        ) as record,
    ):
        run.record = record
        yield run
    if run.publication is not None and run.publication.spend_ids:
        setup.ledger.commit(run.publication.spend_ids)


def _plain(value: Any) -> Any:
    """An option's value as JSON (paths absolute, so a redo works from any folder)."""
    if isinstance(value, Path):
        return str(value) if str(value) == "-" else os.path.abspath(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def redo(ledger: Ledger, spend_id: int) -> str | None:
    """Redo the release of charged ``spend_id`` from its ``Replay`` (same options, input and
    seed: the same noisy values) and store them (its spends become ``drawn``). Returns why it
    cannot (the input is gone or changed), or None (redone, or nothing to redo)."""
    kept, charged = ledger.replay(spend_id)
    if kept is None or spend_id not in {s.id for s in charged}:
        return None
    replay = Replay.from_bytes(kept)
    problem = replay.source_problem()
    if problem is not None:
        return problem
    root = click.get_current_context().find_root()
    command: click.Command | None = root.command
    for name in replay.command:
        assert isinstance(command, click.Group)
        command = command.get_command(root, name)
    assert command is not None
    ctx = click.Context(command, info_name=replay.command[-1], parent=root)
    params = {**replay.params, "ledger": str(ledger.path)}
    for param in command.params:
        assert param.name is not None
        ctx.params[param.name] = param.process_value(ctx, params.get(param.name))
    token = _REDOING.set((replay, charged))
    try:
        with ctx:
            command.invoke(ctx)
    except _SourceChanged as error:
        return str(error)
    finally:
        _REDOING.reset(token)
    return None


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
