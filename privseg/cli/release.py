"""CLI commands of the release stage: ``release counts|mean|quantile|kmeans``.

A thin layer over ``privseg.dp`` and ``privseg.engines.engine``: options become declared keys,
bounds, a unit and an engine. Every output is checked before the charge, the population is
traced from the input (``dp.population.resolve``), the library reads the input where the
engine runs, plans, charges the ledger and draws noise, and the release is stored,
published, audited and committed (``cli._release_run``, ``dp.commit``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from privseg.cli._common import (
    path_argument,
)
from privseg.cli._engine import engine_option
from privseg.cli._release_options import bounds_option, columns, keys_option, release_options
from privseg.cli._release_run import checked_setup, release_run
from privseg.dp.counts import release_counts
from privseg.dp.kmeans_release import release_kmeans
from privseg.dp.means import release_means
from privseg.dp.quantiles import release_quantiles
from privseg.engines import engine as engines
from privseg.engines.engine import Engine
from privseg.errors import InputError


# -- release ----------------------------------------------------------------------------------
@click.group("release")
def release_group() -> None:
    """Differentially private aggregates of segments, charged to the privacy-budget ledger.

    Every release bounds each customer's contribution, uses declared keys and bounds only,
    checks its outputs, then is charged to the budget of the population its input traces to
    (whatever --dataset or --purpose says) before exact integer noise is drawn; a release
    that would exceed the budget, or whose customers have none, exits with code 4 and writes
    nothing. A run that stops after the charge is finished by 'privseg budget recover'.

    \b
    Examples:
      privseg budget set crm --epsilon 5
      privseg release counts segments.csv --by lifecycle --keys lifecycle=introduction,growth,mature,decline --epsilon 0.5 --dataset crm --unit 外部联系人ID --out counts.csv
    """


@release_group.command("counts")
@path_argument("input_path")
@click.option(
    "--by", required=True, help="Grouping columns, comma-separated (segments, dimensions)."
)
@keys_option
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
@release_options
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
    if target is not None and not 0 < target < 1:  # before the size pilot is charged
        raise InputError(f"--target must be between 0 and 1, got {target:g}")
    setup = checked_setup(input_path, common, keys=keys)
    with release_run("release counts", setup, common) as run:
        exact = engines.count_input(
            engine,
            input_path,
            by=columns(by),
            keys=setup.keys,
            bounding=setup.bounding,
            record=run.recorder,
        )
        release = release_counts(
            exact,
            by=columns(by),
            keys=setup.keys,
            epsilon=epsilon,
            target=target,
            account=run.charge_to(input_path),
            bounding=setup.bounding,
            suppress_below=suppress_below,
            totals=totals,
            evaluate=common["evaluate"],
        )
        run.publish(release, by=columns(by))


@release_group.command("mean")
@path_argument("input_path")
@click.option("--by", required=True, help="Segment columns, comma-separated.")
@keys_option
@click.option("--value", required=True, help="Numeric measure column (clipped to --bounds).")
@bounds_option
@click.option("--epsilon", type=float, required=True, help="Epsilon to spend (counts and sums).")
@engine_option
@release_options
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
      privseg release mean rfm.csv --by value_tier --keys value_tier=platinum,gold,silver,bronze --value monetary --bounds monetary=0:50000 --epsilon 1 --dataset crm --unit 外部联系人ID --out means.csv
      privseg release mean orders.csv --by 省份 --policy policies/wecom-marketing.yaml --value 金额 --max-rows-per-unit 50 --epsilon 1 --dataset crm --out spend.csv
      privseg release mean rfm.parquet --by value_tier --keys value_tier=platinum,gold,silver,bronze --value monetary --bounds monetary=0:50000 --epsilon 1 --dataset crm --unit 外部联系人ID --engine spark --out means.csv

    With --engine spark the exact bounded counts and clipped sums per segment are computed
    on Spark; noise is drawn once, here, after the ledger is charged.
    """
    setup = checked_setup(input_path, common, keys=keys, bounds=bounds)
    with release_run("release mean", setup, common) as run:
        exact = engines.sums_input(
            engine,
            input_path,
            by=columns(by),
            keys=setup.keys,
            value=value,
            bounds=setup.bounds,
            bounding=setup.bounding,
            record=run.recorder,
        )
        release = release_means(
            exact,
            by=columns(by),
            keys=setup.keys,
            value=value,
            bounds=setup.bounds,
            epsilon=epsilon,
            account=run.charge_to(input_path),
            bounding=setup.bounding,
            evaluate=common["evaluate"],
        )
        run.publish(release, by=columns(by), measures=[value])


@release_group.command("quantile")
@path_argument("input_path")
@click.option("--value", required=True, help="Numeric measure column (clipped to --bounds).")
@click.option(
    "--quantiles", default="0.5", show_default=True, help="Quantiles in [0, 1], comma-separated."
)
@click.option("--by", default="", help="Optional segment columns, comma-separated.")
@keys_option
@bounds_option
@click.option(
    "--resolution",
    multiple=True,
    metavar="COL=STEP",
    help="Spacing of the candidate values (default: the declared range in 1,000 steps); "
    "the release is always one of LO, LO+STEP, ..., HI.",
)
@click.option(
    "--epsilon", type=float, required=True, help="Epsilon to spend (split over quantiles)."
)
@engine_option
@release_options
def quantile_command(
    input_path: Path,
    value: str,
    quantiles: str,
    by: str,
    keys: tuple[str, ...],
    bounds: tuple[str, ...],
    resolution: tuple[str, ...],
    epsilon: float,
    engine: Engine,
    **common: Any,
) -> None:
    """DP quantiles of a clipped measure (exponential mechanism over a declared grid of
    candidates), e.g. to set RFM thresholds.

    OUT has the --by columns, each segment's noisy row `count` (10% of epsilon), a `q<q>`
    column per quantile and the provenance columns; the predicted value is printed.

    \b
    Examples:
      privseg release quantile rfm.csv --value monetary --bounds monetary=0:50000 --resolution monetary=50 --quantiles 0.2,0.4,0.6,0.8 --epsilon 0.5 --dataset crm --unit 外部联系人ID --out thresholds.csv
      privseg release quantile rfm.parquet --by value_tier --keys value_tier=platinum,gold,silver,bronze --value monetary --bounds monetary=0:50000 --quantiles 0.5 --epsilon 0.5 --dataset crm --unit 外部联系人ID --engine spark --out medians.csv

    With --engine spark each segment's values stay on Spark (one segment must fit in one
    executor's memory); the randomness is drawn once, here, after the ledger is charged, and
    only the released quantiles come back.
    """
    try:
        qs = [float(q) for q in columns(quantiles)]
    except ValueError:
        raise InputError("--quantiles must be numbers in [0, 1], comma-separated") from None
    if engine is Engine.SPARK and common["evaluate"]:
        raise click.UsageError("--evaluate for quantiles needs the rows here: use --engine local")
    setup = checked_setup(
        input_path, {**common, "resolution": resolution}, keys=keys, bounds=bounds
    )
    with (
        release_run("release quantile", setup, common) as run,
        engines.quantile_input(engine, input_path, run.recorder) as rows,
    ):
        release = release_quantiles(
            rows,
            value=value,
            quantiles=qs,
            bounds=setup.bounds,
            epsilon=epsilon,
            account=run.charge_to(input_path),
            by=columns(by),
            keys=setup.keys,
            bounding=setup.bounding,
            resolution=setup.resolution.get(value),
            evaluate=common["evaluate"],
        )
        run.publish(release, by=columns(by), measures=[value])


@release_group.command("kmeans")
@path_argument("input_path")
@click.option("--features", required=True, help="Numeric feature columns, comma-separated.")
@bounds_option
@click.option("--k", "k", type=click.IntRange(min=1), required=True, help="Number of clusters.")
@click.option("--epsilon", type=float, required=True, help="Epsilon to spend.")
@engine_option
@release_options
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
    setup = checked_setup(input_path, common, bounds=bounds)
    with release_run("release kmeans", setup, common) as run:
        with engines.kmeans_input(
            engine,
            input_path,
            features=columns(features),
            bounds=setup.bounds,
            bounding=setup.bounding,
            record=run.recorder,
        ) as rows:
            release = release_kmeans(
                rows,
                features=columns(features),
                bounds=setup.bounds,
                k=k,
                epsilon=epsilon,
                account=run.charge_to(input_path),
                bounding=setup.bounding,
                evaluate=common["evaluate"],
            )
        run.publish(release, measures=columns(features))


COMMANDS: list[click.Command] = [release_group]
