"""CLI commands of the screen stage: ``privseg screen``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from privseg.cli._common import OutputFormat, encoding_option, format_option, path_argument
from privseg.cli.audit import operator_option, trail_option

COMMANDS: list[click.Command] = []


@click.command("screen")
@path_argument("input_path")
@format_option(*OutputFormat)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the report to FILE (atomically) instead of standard output.",
)
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    default=None,
    help="Values examined per column (default 1000): the first half in file order, the rest "
    "drawn reproducibly (seeded by the column name).",
)
@click.option(
    "--full", is_flag=True, help="Scan every value with vectorized detectors instead of a sample."
)
@encoding_option
@trail_option
@operator_option
def screen_command(
    input_path: Path,
    fmt: str,
    out: Path | None,
    sample: int | None,
    full: bool,
    encoding: str | None,
    trail: Path | None,
    operator: str | None,
) -> None:
    """Classify every column of INPUT for PIPL sensitive categories and personal information.

    Reads CSV/TSV (UTF-8, UTF-8 with BOM, GB18030), Parquet, XLSX or JSONL; ``-`` reads CSV
    from standard input. Evidence comes from the header (Chinese, English, pinyin) and from
    the values; reports never contain raw values, only masked examples. The run is recorded
    in the audit trail (input hash and each column's categories).

    \b
    Examples:
      privseg screen customers.csv                         # table on the terminal
      privseg screen customers.xlsx --format html --out screening.html
      privseg screen export.csv --format json --full       # every value, JSON contract
      privseg screen gbk.csv --encoding gb18030 --sample 5000 --format md
    """
    from privseg import audit
    from privseg.io import atomic_path
    from privseg.screening import DEFAULT_SAMPLE, screen
    from privseg.screening.render import render, renderable

    if full and sample is not None:
        raise click.UsageError("--sample and --full exclude each other")
    with audit.run("screen", trail=trail, operator=operator) as record:
        report = screen(input_path, sample=sample or DEFAULT_SAMPLE, full=full, encoding=encoding)
        record.add_screening(report, input_path)
        if out is not None:
            with atomic_path(out) as tmp:
                tmp.write_text(render(report, fmt), encoding="utf-8")
            record.add_output(out)
            click.echo(f"wrote {out}", err=True)
        elif fmt == OutputFormat.TEXT and sys.stdout.isatty():
            Console().print(renderable(report))
        else:
            click.echo(render(report, fmt), nl=False)


COMMANDS.append(screen_command)
