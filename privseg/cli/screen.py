"""CLI commands of the screen stage: ``privseg screen``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console

from privseg.cli._common import (
    OutputFormat,
    emit,
    encoding_option,
    format_option,
    operator_option,
    path_argument,
    recognizers_option,
    report_out_option,
    sample_options,
    screened,
    trail_option,
)

if TYPE_CHECKING:
    pass

COMMANDS: list[click.Command] = []


@click.command("screen")
@path_argument("input_path")
@format_option(*OutputFormat)
@report_out_option
@sample_options
@recognizers_option
@encoding_option
@trail_option
@operator_option
def screen_command(
    input_path: Path,
    fmt: str,
    out: Path | None,
    sample: int | None,
    full: bool,
    recognizers: Path | None,
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
      privseg screen crm.csv --recognizers company-recognizers.yaml
    """
    from privseg.screening.render import render, renderable

    run = screened(
        "screen",
        input_path,
        sample=sample,
        full=full,
        encoding=encoding,
        trail=trail,
        operator=operator,
        recognizers=recognizers,
    )
    with run as (report, record):
        if out is None and fmt == OutputFormat.TEXT and sys.stdout.isatty():
            Console().print(renderable(report))
            return
        emit(render(report, fmt), out, record=record)


COMMANDS.append(screen_command)
