"""CLI commands of the segment stage: ``segment assign``, ``segment tags``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import click

from privseg import audit
from privseg.cli._common import F, encoding_option, operator_option, quiet_option, trail_option
from privseg.cli._engine import engine_option
from privseg.engines import engine as engines
from privseg.engines.engine import Engine
from privseg.io import write_table
from privseg.publish import guard_output
from privseg.segments import default_schemes_path, load_schemes, plan_tags

COMMANDS: list[click.Command] = []


@click.group("segment")
def segment() -> None:
    """Assign customer segments and plan the WeChat tags that carry them.

    \b
    Examples:
      privseg segment assign --customers c.csv --orders o.csv --interactions i.csv --out labels.csv
      privseg segment tags --out tag-plan.csv
    """


def _schemes_option(f: F) -> F:
    return click.option(
        "--schemes",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Segment scheme file (default: the shipped policies/segments.yaml).",
    )(f)


def _table_option(name: str, what: str) -> Callable[[F], F]:
    return click.option(
        f"--{name}",
        required=True,
        type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
        help=f"{what} table (CSV, TSV, Parquet, XLSX, JSONL), raw or pseudonymized.",
    )


@segment.command("assign")
@_table_option("customers", "Customers")
@_table_option("orders", "Orders")
@_table_option("interactions", "Interactions")
@_schemes_option
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Reference day (YYYY-MM-DD); windows end with it. Default: today.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="Label table to write atomically (format from the extension; '-' is CSV on stdout).",
)
@engine_option
@encoding_option
@quiet_option
@trail_option
@operator_option
def assign(
    customers: Path,
    orders: Path,
    interactions: Path,
    schemes: Path | None,
    as_of: datetime | None,
    out: Path,
    engine: Engine,
    encoding: str | None,
    quiet: bool,
    trail: Path | None,
    operator: str | None,
) -> None:
    """Compute each customer's segment labels and write one row per customer.

    The output has the unit column (e.g. 外部联系人ID tokens), one label column per scheme,
    named after it (rfm, lifecycle, value_tier, activity, channel, region, city_tier,
    generation, social, service_priority, loyalty, behaviour), the R/F/M scores with the recency,
    frequency and monetary values they come from, and the kept public dimensions (e.g. 省份).
    Thresholds and column names come from the scheme file; a scheme with more labels than a
    WeChat official account's 100 tags draws a warning. The table holds per-customer data:
    keep it inside the data team; share DP releases of it instead (privseg release).

    \b
    Examples:
      privseg segment assign --customers customers.csv --orders orders.csv \\
          --interactions interactions.csv --as-of 2026-06-30 --out labels.csv
      privseg segment assign --customers c.parquet --orders o.parquet --interactions i.parquet \\
          --schemes policies/my-segments.yaml --out labels.parquet
      privseg segment assign --customers c.csv --orders o.csv --interactions i.csv \\
          --engine spark --out labels.csv

    Files of any size: the local engine partitions the three tables by a hash of the unit
    (rows then come grouped by partition) and assigns the partitions on two processes.
    """
    schemes_path = schemes if schemes is not None else default_schemes_path()
    scheme_set = load_schemes(schemes_path)
    day: date = as_of.date() if as_of is not None else date.today()
    sources = (customers, orders, interactions)
    with audit.run("segment assign", trail=trail, operator=operator) as record:
        written = out if str(out) == "-" else record.stage(out)
        rows, columns = engines.assign_segments(
            engine, sources, scheme_set, as_of=day, out=written, record=record, encoding=encoding
        )
        record.add_input(schemes_path)
        record.set_metric("as_of", day.isoformat())
        if str(out) != "-":
            record.add_output(out, rows=rows, columns=columns)
    if not quiet and str(out) != "-":
        click.echo(f"{rows} customers, {len(columns)} columns -> {out}", err=True)


@segment.command("tags")
@_schemes_option
@click.option(
    "--limit",
    type=click.IntRange(1, 100),
    default=None,
    help="Plan within this many tags (default: the scheme file's tags.limit, at most 100).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="Tag plan to write atomically: tag_group, tag, rule ('-': CSV on stdout).",
)
@click.option(
    "--labels",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    default=None,
    help="A label table from 'segment assign': also write each customer's tags (--assignments).",
)
@click.option(
    "--assignments",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --labels: the unit and its ';'-separated tags per customer.",
)
@encoding_option
@quiet_option
@trail_option
@operator_option
def tags(
    schemes: Path | None,
    limit: int | None,
    out: Path,
    labels: Path | None,
    assignments: Path | None,
    encoding: str | None,
    quiet: bool,
    trail: Path | None,
    operator: str | None,
) -> None:
    """Plan the WeChat tags that carry the segment labels, within the 100-tag limit.

    The scheme file's 'tags' section declares tag groups (one per scheme, nested under a
    parent group: the tag_group column reads parent/group), the tag name of each label,
    labels that get no tag, and combinations that get a tag of their own (e.g. platinum or
    gold customers in decline). The plan is refused (exit 2) when it has more tags than the
    limit (an official account holds 100), a tag name twice or one over 30 characters. The
    CSV (tag_group, tag, rule) is what an operator creates in WeCom's admin console; each
    rule says which label(s) the tag stands for and the scheme's thresholds.

    \b
    Examples:
      privseg segment tags --out tag-plan.csv
      privseg segment tags --schemes my-segments.yaml --limit 60 --out tag-plan.csv
      privseg segment tags --out tag-plan.csv --labels labels.csv --assignments tags.csv
    """
    if (labels is None) != (assignments is None):
        raise click.UsageError("--labels and --assignments go together")
    schemes_path = schemes if schemes is not None else default_schemes_path()
    scheme_set = load_schemes(schemes_path)
    plan = plan_tags(scheme_set, limit=limit)
    sources = [schemes_path] if labels is None else [schemes_path, labels]
    guard_output(out, sources)
    write_table(plan.rows(), out, neutralize_formulas=True)  # operators open it in Excel
    if labels is not None and assignments is not None:
        guard_output(assignments, [*sources, out])
        with audit.run("segment tags", trail=trail, operator=operator) as record:
            table = engines.read_recorded(labels, record, encoding=encoding)
            tagged = plan.assign(table, scheme_set.columns.unit)
            write_table(tagged, record.stage(assignments), neutralize_formulas=True)
            record.add_input(schemes_path)
            record.set_metric("tags", len(plan.tags))
            record.add_output(assignments, rows=len(tagged), columns=list(tagged.columns))
    if not quiet and str(out) != "-":
        groups = len({tag.group for tag in plan.tags})
        click.echo(
            f"{len(plan.tags)} tags in {groups} groups (limit {plan.limit}) -> {out}", err=True
        )


COMMANDS.append(segment)
