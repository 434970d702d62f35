"""CLI commands about input tables: ``info``."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from privseg.cli._common import OutputFormat, encoding_option, format_option, path_argument
from privseg.tableinfo import TableInfo, describe

COMMANDS: list[click.Command] = []


def _render_text(info: TableInfo) -> None:
    console = Console(highlight=False, soft_wrap=False)
    console.print(f"source:   {info.source}", markup=False)
    console.print(f"format:   {info.format.value}", markup=False)
    console.print(f"encoding: {info.encoding or '-'}", markup=False)
    console.print(f"rows:     {info.rows}", markup=False)
    table = Table(show_header=True, header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("column")
    table.add_column("type")
    table.add_column("nulls", justify="right")
    for position, column in enumerate(info.columns, start=1):
        table.add_row(str(position), column.name, column.type.value, str(column.nulls))
    console.print(table, markup=False)


@click.command("info")
@path_argument("source")
@format_option(OutputFormat.TEXT, OutputFormat.JSON)
@encoding_option
def info(source: Path, fmt: str, encoding: str | None) -> None:
    """Show a table's format, encoding, row count, and column types and null counts.

    Reads CSV/TSV (UTF-8, UTF-8 with BOM or GB18030, detected), Parquet, XLSX and JSONL;
    SOURCE '-' reads CSV from standard input. Types of CSV and JSONL columns are inferred from
    the text (integer, float, boolean, date, datetime, string; empty when every cell is
    missing). Cell values are never printed.

    \b
    Examples:
      privseg info customers.csv
      privseg info wecom_export.xlsx --format json
      privseg info orders_gbk.csv --encoding gb18030
      cat customers.csv | privseg info -
    """
    summary = describe(source, encoding=encoding)
    if OutputFormat(fmt) is OutputFormat.JSON:
        click.echo(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2))
    else:
        _render_text(summary)


COMMANDS.append(info)
