"""CLI commands of the screen stage: ``privseg screen``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console

from privseg.cli._common import (
    F,
    OutputFormat,
    emit,
    encoding_option,
    format_option,
    operator_option,
    path_argument,
    report_out_option,
    trail_option,
)

if TYPE_CHECKING:
    from privseg.audit import RunRecorder
    from privseg.screening import ScreenReport

COMMANDS: list[click.Command] = []


def sample_options(f: F) -> F:
    """``--sample N`` and ``--full`` (they exclude each other)."""
    f = click.option(
        "--full",
        is_flag=True,
        help="Scan every value with vectorized detectors instead of a sample.",
    )(f)
    return click.option(
        "--sample",
        type=click.IntRange(min=1),
        default=None,
        help="Values examined per column (default 1000): the first half in file order, the "
        "rest drawn reproducibly (seeded by the column name).",
    )(f)


@contextmanager
def screened(
    command: str,
    input_path: Path,
    *,
    sample: int | None,
    full: bool,
    encoding: str | None,
    trail: Path | None,
    operator: str | None,
) -> Iterator[tuple[ScreenReport, RunRecorder]]:
    """Screen ``input_path`` inside an audited run of ``command``; yields the report and the
    run's recorder (to add outputs)."""
    from privseg import audit
    from privseg.screening import DEFAULT_SAMPLE, screen

    if full and sample is not None:
        raise click.UsageError("--sample and --full exclude each other")
    with audit.run(command, trail=trail, operator=operator) as record:
        report = screen(input_path, sample=sample or DEFAULT_SAMPLE, full=full, encoding=encoding)
        record.add_screening(report, input_path)
        yield report, record


@click.command("screen")
@path_argument("input_path")
@format_option(*OutputFormat)
@report_out_option
@sample_options
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
    from privseg.screening.render import render, renderable

    run = screened(
        "screen",
        input_path,
        sample=sample,
        full=full,
        encoding=encoding,
        trail=trail,
        operator=operator,
    )
    with run as (report, record):
        if out is None and fmt == OutputFormat.TEXT and sys.stdout.isatty():
            Console().print(renderable(report))
            return
        emit(render(report, fmt), out)
        if out is not None:
            record.add_output(out)


COMMANDS.append(screen_command)
