"""CLI commands of the release stage: ``release counts|mean|quantile|kmeans``.

A thin layer over ``privseg.dp`` and ``privseg.engines.engine``: options become declared keys,
bounds, a unit, a ledger account and an engine; the library reads the input where the engine
runs, plans, charges the ledger, then draws noise.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from privseg import audit, io
from privseg.cli._common import (
    F,
    ledger_option,
    operator_option,
    path_argument,
    purpose_option,
    trail_option,
)
from privseg.cli._engine import engine_option
from privseg.dp.counts import release_counts
from privseg.dp.kmeans_release import release_kmeans
from privseg.dp.ledger import DEFAULT_PURPOSE, Ledger, PrivacyBudget
from privseg.dp.means import release_means
from privseg.dp.quantiles import release_quantiles
from privseg.dp.types import Account, Bounding, Release
from privseg.engines import engine as engines
from privseg.engines.engine import Engine
from privseg.errors import InputError
from privseg.policy import Policy, load_policy
from privseg.publish import guard_output


# -- option parsing ---------------------------------------------------------------------------
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


def parse_bounds(specs: Sequence[str]) -> dict[str, tuple[float, float]]:
    """``["a=LO:HI,b=LO:HI", ...]`` -> ``{"a": (LO, HI), "b": (LO, HI)}``."""
    bounds: dict[str, tuple[float, float]] = {}
    for spec in specs:
        for item in filter(None, (s.strip() for s in spec.split(","))):
            column, sep, rng = item.partition("=")
            lo, colon, hi = rng.partition(":")
            try:
                if not (sep and colon and column.strip()):
                    raise ValueError
                bounds[column.strip()] = (float(lo), float(hi))
            except ValueError:
                raise InputError(f"--bounds must look like COL=LO:HI, got {item!r}") from None
    return bounds


def _columns(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


@dataclass(frozen=True)
class _Setup:
    """What a release command takes from options and an optional policy."""

    account: Account
    keys: Mapping[str, tuple[str, ...]]
    bounds: Mapping[str, tuple[float, float]]
    bounding: Bounding
    policy: Policy | None = None


def _setup(
    *,
    dataset: str,
    purpose: str | None,
    policy_path: Path | None,
    ledger: Path | None,
    unit: str | None,
    max_rows: int,
    keys: Sequence[str] = (),
    bounds: Sequence[str] = (),
) -> _Setup:
    policy: Policy | None = load_policy(policy_path) if policy_path is not None else None
    spec = policy.release if policy is not None else None
    merged_keys = dict(spec.keys) if spec is not None else {}
    merged_keys.update(parse_keys(keys))
    merged_bounds = dict(spec.bounds) if spec is not None else {}
    merged_bounds.update(parse_bounds(bounds))
    purpose = purpose or (policy.purpose if policy is not None else DEFAULT_PURPOSE)
    account = Account(Ledger(ledger), dataset, purpose)
    if spec is not None:
        account.ledger.ensure_budget(
            dataset, PrivacyBudget(spec.budget.epsilon, spec.budget.delta), purpose=purpose
        )
    unit = unit or (policy.unit if policy is not None else None)
    return _Setup(account, merged_keys, merged_bounds, Bounding(unit, max_rows), policy)


@contextmanager
def _audited(
    command: str, setup: _Setup, common: Mapping[str, Any], source: Path
) -> Iterator[audit.RunRecorder]:
    """Audit one release (``privseg.audit``): one record on success or failure. An output
    that is the input is refused first, before the ledger is charged."""
    for dest in (common["out"], common.get("report")):
        if dest is not None:
            guard_output(dest, [source])
    with audit.run(
        command,
        trail=common["trail"],
        operator=common["operator"],
        purpose=setup.account.purpose,
        policy_sha256=None if setup.policy is None else setup.policy.sha256,
    ) as record:
        record.set_metric("dataset", setup.account.dataset)
        yield record


def _publish(
    release: Release,
    setup: _Setup,
    out: Path,
    report: Path | None,
    record: audit.RunRecorder,
    *,
    by: Sequence[str] = (),
    measures: Sequence[str] = (),
) -> None:
    """Stage the DP table (CSV formulas neutralized) and an optional JSON report, published
    after the run's audit record (``privseg.publish``), and print a summary on stderr."""
    written = out if str(out) == "-" else record.stage(out)
    io.write_table(release.table, written, neutralize_formulas=True)
    if report is not None:
        text = json.dumps(release.to_dict(), ensure_ascii=False, indent=2)
        record.stage(report).write_text(text, "utf-8")
    plan = release.plan
    remaining = setup.account.ledger.remaining(setup.account.dataset, setup.account.purpose)
    if str(out) != "-":
        record.add_output(out, rows=len(release.table), columns=list(release.table.columns))
    if report is not None:
        record.add_output(report)
    release.record_to(record, float(remaining.epsilon), by=by, measures=measures)
    scale = "" if math.isnan(plan.noise_scale) else f" noise (scale {plan.noise_scale:g})"
    click.echo(
        f"privseg: released {len(release.table)} rows to {out}: {plan.kind.value}, "
        f"{plan.mechanism.value}{scale}, epsilon "
        f"{release.epsilon_spent:g} spent, {float(remaining.epsilon):g} remaining "
        f"for {setup.account.dataset}/{setup.account.purpose}",
        err=True,
    )
    click.echo(
        f"privseg: {plan.bounding.describe()}; neighbours: add/remove one customer", err=True
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


# -- shared options ---------------------------------------------------------------------------
def _release_options(f: F) -> F:
    """Options every release command shares."""
    for option in reversed(
        (
            click.option("--dataset", required=True, help="Dataset name the budget is kept for."),
            purpose_option,
            click.option(
                "--policy",
                "policy_path",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Policy giving keys, bounds, unit, purpose and the budget.",
            ),
            click.option("--unit", help="Column identifying one customer (default: the policy's)."),
            click.option(
                "--max-rows-per-unit",
                "max_rows",
                type=click.IntRange(min=1),
                default=1,
                show_default=True,
                help="Rows kept per customer (the first ones); bounds each customer's contribution.",
            ),
            ledger_option,
            trail_option,
            operator_option,
            click.option(
                "--out",
                required=True,
                type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
                help="Output table (CSV, Parquet, XLSX, JSONL by extension).",
            ),
            click.option(
                "--report",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Also write the release plan and cost as JSON.",
            ),
            click.option(
                "--evaluate",
                is_flag=True,
                help="Data controller only: also print the realised analytic value against the "
                "exact result (INTERNAL, never part of the release).",
            ),
        )
    ):
        f = option(f)
    return f


def _keys_option(f: F) -> F:
    return click.option(
        "--keys",
        multiple=True,
        metavar="COL=k1,k2,...",
        help="Declared keys of a grouping column (repeatable); every key appears in the output.",
    )(f)


def _bounds_option(f: F) -> F:
    return click.option(
        "--bounds",
        multiple=True,
        metavar="COL=LO:HI,...",
        help="Declared clipping bounds (repeatable); required for every measure.",
    )(f)


# -- release ----------------------------------------------------------------------------------
@click.group("release")
def release_group() -> None:
    """Differentially private aggregates of segments, charged to the privacy-budget ledger.

    Every release bounds each customer's contribution, uses declared keys and bounds only,
    draws noise from a secure source and is charged to the ledger before noise is drawn; a
    release that would exceed the budget exits with code 4 and writes nothing.

    \b
    Examples:
      privseg budget set crm --epsilon 5
      privseg release counts segments.csv --by lifecycle --keys lifecycle=introduction,growth,mature,decline --epsilon 0.5 --dataset crm --out counts.csv
    """


@release_group.command("counts")
@path_argument("input_path")
@click.option(
    "--by", required=True, help="Grouping columns, comma-separated (segments, dimensions)."
)
@_keys_option
@click.option("--epsilon", type=float, help="Epsilon to spend.")
@click.option(
    "--target",
    type=float,
    help="Per-segment accuracy to reach (e.g. 0.85): picks epsilon for the worst table.",
)
@click.option(
    "--suppress-below", type=click.IntRange(min=1), help="Blank cells whose noisy count is below N."
)
@click.option("--totals", is_flag=True, help="Add margins summed from the released cells.")
@engine_option
@_release_options
def counts_command(
    input_path: Path,
    by: str,
    keys: tuple[str, ...],
    epsilon: float | None,
    target: float | None,
    suppress_below: int | None,
    totals: bool,
    engine: Engine,
    **common: Any,
) -> None:
    """Noisy counts per segment, or per cross-tab of segments and public dimensions.

    Every declared key combination appears in OUT (with a count also when the data has none);
    rows with undeclared keys are dropped and their number reported as a noisy count. OUT has
    the --by columns, `count`, `count_ci95_low`/`count_ci95_high`, mechanism, epsilon,
    noise_scale and post-processing columns.

    \b
    Examples:
      privseg release counts segments.csv --by lifecycle,省份 --keys lifecycle=introduction,growth,mature,decline --keys 省份=北京市,上海市 --epsilon 0.5 --dataset crm --unit 外部联系人ID --out counts.csv
      privseg release counts segments.csv --by value_tier --policy policies/wecom-marketing.yaml --target 0.85 --dataset crm --out tiers.csv
      privseg release counts labels.parquet --by lifecycle --policy policies/wecom-marketing.yaml --epsilon 0.5 --dataset crm --engine spark --out l.csv

    Inputs of any size: the exact bounded counts are computed out of core (partitions by
    unit) or on Spark; noise is drawn once, here, after the ledger is charged.
    """
    if (epsilon is None) == (target is None):
        raise click.UsageError("give exactly one of --epsilon or --target")
    setup, rest = _common_setup(common, keys=keys)
    with _audited("release counts", setup, rest, input_path) as record:
        release = release_counts(
            engines.count_input(
                engine,
                input_path,
                by=_columns(by),
                keys=setup.keys,
                bounding=setup.bounding,
                record=record,
            ),
            by=_columns(by),
            keys=setup.keys,
            epsilon=epsilon,
            target=target,
            account=setup.account,
            bounding=setup.bounding,
            suppress_below=suppress_below,
            totals=totals,
            evaluate=rest["evaluate"],
        )
        _publish(release, setup, rest["out"], rest["report"], record, by=_columns(by))


@release_group.command("mean")
@path_argument("input_path")
@click.option("--by", required=True, help="Segment columns, comma-separated.")
@_keys_option
@click.option("--value", required=True, help="Numeric measure column (clipped to --bounds).")
@_bounds_option
@click.option("--epsilon", type=float, required=True, help="Epsilon to spend (counts and sums).")
@engine_option
@_release_options
def mean_command(
    input_path: Path,
    by: str,
    keys: tuple[str, ...],
    value: str,
    bounds: tuple[str, ...],
    epsilon: float,
    engine: Engine,
    **common: Any,
) -> None:
    """Noisy count, sum and mean of a clipped measure per segment (mean = noisy sum / noisy count).

    \b
    Examples:
      privseg release mean rfm.csv --by value_tier --keys value_tier=platinum,gold,silver,bronze --value monetary --bounds monetary=0:50000 --epsilon 1 --dataset crm --out means.csv
      privseg release mean orders.csv --by 省份 --policy policies/wecom-marketing.yaml --value 金额 --max-rows-per-unit 50 --epsilon 1 --dataset crm --out spend.csv
      privseg release mean rfm.parquet --by value_tier --keys value_tier=platinum,gold,silver,bronze --value monetary --bounds monetary=0:50000 --epsilon 1 --dataset crm --engine spark --out means.csv

    With --engine spark the exact bounded counts and clipped sums per segment are computed
    on Spark; noise is drawn once, here, after the ledger is charged.
    """
    setup, rest = _common_setup(common, keys=keys, bounds=bounds)
    with _audited("release mean", setup, rest, input_path) as record:
        release = release_means(
            engines.sums_input(
                engine,
                input_path,
                by=_columns(by),
                keys=setup.keys,
                value=value,
                bounds=setup.bounds,
                bounding=setup.bounding,
                record=record,
            ),
            by=_columns(by),
            keys=setup.keys,
            value=value,
            bounds=setup.bounds,
            epsilon=epsilon,
            account=setup.account,
            bounding=setup.bounding,
            evaluate=rest["evaluate"],
        )
        _publish(
            release, setup, rest["out"], rest["report"], record, by=_columns(by), measures=[value]
        )


@release_group.command("quantile")
@path_argument("input_path")
@click.option("--value", required=True, help="Numeric measure column (clipped to --bounds).")
@click.option(
    "--quantiles", default="0.5", show_default=True, help="Quantiles in [0, 1], comma-separated."
)
@click.option("--by", default="", help="Optional segment columns, comma-separated.")
@_keys_option
@_bounds_option
@click.option(
    "--epsilon", type=float, required=True, help="Epsilon to spend (split over quantiles)."
)
@engine_option
@_release_options
def quantile_command(
    input_path: Path,
    value: str,
    quantiles: str,
    by: str,
    keys: tuple[str, ...],
    bounds: tuple[str, ...],
    epsilon: float,
    engine: Engine,
    **common: Any,
) -> None:
    """DP quantiles of a clipped measure (exponential mechanism), e.g. to set RFM thresholds.

    OUT has the --by columns, each segment's noisy row `count` (10% of epsilon), a `q<q>`
    column per quantile and the provenance columns; the predicted value is printed.

    \b
    Examples:
      privseg release quantile rfm.csv --value monetary --bounds monetary=0:50000 --quantiles 0.2,0.4,0.6,0.8 --epsilon 0.5 --dataset crm --out thresholds.csv
      privseg release quantile rfm.parquet --by value_tier --keys value_tier=platinum,gold,silver,bronze --value monetary --bounds monetary=0:50000 --quantiles 0.5 --epsilon 0.5 --dataset crm --engine spark --out medians.csv

    With --engine spark each segment's values stay on Spark (one segment must fit in one
    executor's memory); the randomness is drawn once, here, after the ledger is charged, and
    only the released quantiles come back.
    """
    try:
        qs = [float(q) for q in _columns(quantiles)]
    except ValueError:
        raise InputError("--quantiles must be numbers in [0, 1], comma-separated") from None
    if engine is Engine.SPARK and common["evaluate"]:
        raise click.UsageError("--evaluate for quantiles needs the rows here: use --engine local")
    setup, rest = _common_setup(common, keys=keys, bounds=bounds)
    with (
        _audited("release quantile", setup, rest, input_path) as record,
        engines.quantile_input(engine, input_path, record) as rows,
    ):
        release = release_quantiles(
            rows,
            value=value,
            quantiles=qs,
            bounds=setup.bounds,
            epsilon=epsilon,
            account=setup.account,
            by=_columns(by),
            keys=setup.keys,
            bounding=setup.bounding,
            evaluate=rest["evaluate"],
        )
        _publish(
            release, setup, rest["out"], rest["report"], record, by=_columns(by), measures=[value]
        )


@release_group.command("kmeans")
@path_argument("input_path")
@click.option("--features", required=True, help="Numeric feature columns, comma-separated.")
@_bounds_option
@click.option("--k", "k", type=click.IntRange(min=1), required=True, help="Number of clusters.")
@click.option("--epsilon", type=float, required=True, help="Epsilon to spend.")
@engine_option
@_release_options
def kmeans_command(
    input_path: Path,
    features: str,
    bounds: tuple[str, ...],
    k: int,
    epsilon: float,
    engine: Engine,
    **common: Any,
) -> None:
    """DP k-means over clipped features: one row per cluster, a column per feature, `size`.

    \b
    Examples:
      privseg release kmeans rfm.csv --features recency,frequency,monetary --bounds recency=0:365,frequency=0:100,monetary=0:50000 --k 4 --epsilon 1 --dataset crm --unit 外部联系人ID --out clusters.csv
      privseg release kmeans rfm.parquet --features recency,frequency --bounds recency=0:365,frequency=0:100 --k 4 --epsilon 1 --dataset crm --unit 外部联系人ID --engine spark --out clusters.csv

    With --engine spark the rows stay on Spark: each step of the fit brings only exact counts
    per grid cell or per cluster (and per-cluster sums) here, where the noise is drawn after
    the ledger is charged. --evaluate needs the rows here: local engine only.
    """
    if engine is Engine.SPARK and common["evaluate"]:
        raise click.UsageError("--evaluate for k-means needs the rows here: use --engine local")
    setup, rest = _common_setup(common, bounds=bounds)
    with _audited("release kmeans", setup, rest, input_path) as record:
        with engines.kmeans_input(
            engine,
            input_path,
            features=_columns(features),
            bounds=setup.bounds,
            bounding=setup.bounding,
            record=record,
        ) as rows:
            release = release_kmeans(
                rows,
                features=_columns(features),
                bounds=setup.bounds,
                k=k,
                epsilon=epsilon,
                account=setup.account,
                bounding=setup.bounding,
                evaluate=rest["evaluate"],
            )
        _publish(release, setup, rest["out"], rest["report"], record, measures=_columns(features))


def _common_setup(
    common: Mapping[str, Any], *, keys: Sequence[str] = (), bounds: Sequence[str] = ()
) -> tuple[_Setup, Mapping[str, Any]]:
    setup = _setup(
        dataset=common["dataset"],
        purpose=common["purpose"],
        policy_path=common["policy_path"],
        ledger=common["ledger"],
        unit=common["unit"],
        max_rows=common["max_rows"],
        keys=keys,
        bounds=bounds,
    )
    return setup, common


COMMANDS: list[click.Command] = [release_group]
