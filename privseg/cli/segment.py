"""CLI commands of the segment stage: ``segment assign``."""

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
from privseg.segments import default_schemes_path, load_schemes

COMMANDS: list[click.Command] = []


@click.group("segment")
def segment() -> None:
    """Assign customer segments (RFM, lifecycle, value tier, activity, channel).

    \b
    Examples:
      privseg segment assign --customers c.csv --orders o.csv --interactions i.csv --out labels.csv
    """


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
@click.option(
    "--schemes",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Segment scheme file (default: the shipped policies/segments.yaml).",
)
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

    The output has the unit column (e.g. 外部联系人ID tokens), one label column per scheme
    (rfm, lifecycle, value_tier, activity, channel), the R/F/M scores with the recency,
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


COMMANDS.append(segment)
