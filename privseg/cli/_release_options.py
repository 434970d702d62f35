"""Options shared by the ``release`` commands (counts, mean, quantile, kmeans, tree)."""

from __future__ import annotations

from pathlib import Path

import click

from privseg.cli._common import (
    F,
    ledger_option,
    operator_option,
    purpose_option,
    trail_option,
)


def columns(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


# -- shared options ---------------------------------------------------------------------------
def release_options(f: F) -> F:
    """Options every release command shares."""
    for option in reversed(
        (
            click.option(
                "--dataset",
                default=None,
                help="Population name: checked against the input's lineage, which decides; "
                "binds a new population on first use.",
            ),
            purpose_option,
            click.option(
                "--policy",
                "policy_path",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Policy giving keys, bounds, unit, purpose and the budget.",
            ),
            click.option("--unit", help="Column identifying one customer (default: the policy's)."),
            click.option(
                "--row-level",
                is_flag=True,
                help="No unit: protect single rows only (a customer with several rows is not "
                "protected as one). Needed explicitly when no --unit or policy unit is given.",
            ),
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


def keys_option(f: F) -> F:
    return click.option(
        "--keys",
        multiple=True,
        metavar="COL=k1,k2,...",
        help="Declared keys of a grouping column (repeatable); every key appears in the output.",
    )(f)


def bounds_option(f: F) -> F:
    return click.option(
        "--bounds",
        multiple=True,
        metavar="COL=LO:HI,...",
        help="Declared clipping bounds (repeatable); required for every measure.",
    )(f)
