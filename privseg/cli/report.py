"""CLI commands of the reports: ``privseg report screen|run|budget``."""

from __future__ import annotations

from pathlib import Path

import click

from privseg.cli._common import (
    F,
    emit,
    encoding_option,
    ledger_option,
    operator_option,
    path_argument,
    recognizers_option,
    report_out_option,
    sample_options,
    screened,
    trail_option,
)
from privseg.report import ReportFormat


def _report_options(f: F) -> F:
    """``--format html|md`` and ``--out FILE``."""
    f = report_out_option(f)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice([f.value for f in ReportFormat]),
        default=ReportFormat.HTML.value,
        show_default=True,
        help="Report format.",
    )(f)


@click.group("report")
def report_group() -> None:
    """Reports for compliance officers: screening, run (impact assessment), privacy budget.

    HTML reports are self-contained (inline CSS and SVG, no scripts, nothing loaded from the
    network) and print cleanly; Markdown suits tickets and wikis. No report holds a data value.

    \b
    Examples:
      privseg report screen customers.csv --out screening.html
      privseg report run --trail privseg-demo/audits/trail.jsonl --out run.html
      privseg report budget --ledger privseg-demo/audits/budget.db --format md
    """


@report_group.command("screen")
@path_argument("input_path")
@_report_options
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
    """Screening report of INPUT: per column categories, PIPL article, confidence, evidence.

    INPUT is a table (screened now, and audited like ``privseg screen``) or a ``.json``
    report saved by ``privseg screen --format json`` (read as is; no data is touched).

    \b
    Examples:
      privseg report screen customers.csv --out screening.html
      privseg report screen customers.xlsx --full --format md --out screening.md
      privseg screen customers.csv --format json --out screen.json
      privseg report screen screen.json --out screening.html
    """
    from privseg.report import load_screen_json, render_screening
    from privseg.report.screening import is_screen_json

    if is_screen_json(input_path):
        if full or sample is not None or encoding is not None or recognizers is not None:
            raise click.UsageError(
                "--sample, --full, --recognizers and --encoding apply to tables, not JSON"
            )
        emit(
            render_screening(load_screen_json(input_path), ReportFormat(fmt)),
            out,
            inputs=[input_path],
        )
        return
    run = screened(
        "report screen",
        input_path,
        sample=sample,
        full=full,
        encoding=encoding,
        trail=trail,
        operator=operator,
        recognizers=recognizers,
    )
    with run as (report, record):
        emit(render_screening(report, ReportFormat(fmt)), out, record=record)


@report_group.command("run")
@_report_options
@trail_option
@click.option(
    "--audit-key",
    "key",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="PRIVSEG_AUDIT_KEY",
    default=None,
    help="Audit signing key whose folder holds the checkpoint "
    "(default: ~/.config/privseg/audit-signing.key; without it the public key beside the "
    "trail is used).",
)
@click.option(
    "--run",
    "runs",
    multiple=True,
    help="Only the run with this run id or sequence number (repeatable; default: every run).",
)
def run_command(
    fmt: str, out: Path | None, trail: Path | None, key: Path | None, runs: tuple[str, ...]
) -> None:
    """Run report: evidence for a personal information protection impact assessment.

    Built from the audit trail (PIPL Art. 55-56), which must verify first (exit 5 otherwise):
    runs, inputs and outputs by fingerprint, the data flow from source columns to outputs,
    dropped columns (Art. 6), sensitive categories and their consent records (Art. 28-29, 31),
    de-identification measures (Art. 51, 73) and keys by id.

    \b
    Examples:
      privseg report run --out run.html
      privseg report run --trail privseg-demo/audits/trail.jsonl --format md
      privseg report run --run 3 --run 4 --out apply-runs.html
    """
    from privseg import audit
    from privseg.errors import InputError
    from privseg.report import render_run

    path = trail or audit.default_trail()
    verification = audit.ensure_valid(path, key=key)
    records = audit.read_records(path)
    if runs:
        wanted = set(runs)
        records = [r for r in records if r.run_id in wanted or str(r.seq) in wanted]
        missing = wanted - {r.run_id for r in records} - {str(r.seq) for r in records}
        if missing:
            raise InputError(f"no run {', '.join(sorted(missing))} in the trail", source=path)
    text = render_run(records, verification, ReportFormat(fmt), trail=str(path))
    emit(text, out, inputs=[path, audit.public_key_path(path)])


@report_group.command("budget")
@_report_options
@ledger_option
@click.option("--dataset", default=None, help="Only budgets of this dataset.")
@click.option("--purpose", default=None, help="Only budgets of this purpose.")
def budget_command(
    fmt: str, out: Path | None, ledger: Path | None, dataset: str | None, purpose: str | None
) -> None:
    """Privacy-budget report: total, spent and remaining per dataset and purpose.

    Charts cumulative epsilon over time and lists every release with its epsilon and
    predicted analytic value, from the ledger's spend history.

    \b
    Examples:
      privseg report budget --out budget.html
      privseg report budget --ledger privseg-demo/audits/budget.db --format md
      privseg report budget --dataset customers --purpose marketing --out b.html
    """
    from privseg.dp.ledger import Ledger
    from privseg.errors import InputError, SourceNotFoundError
    from privseg.report import render_budget

    book = Ledger(ledger)
    if not book.path.exists():
        raise SourceNotFoundError("privacy-budget ledger does not exist", source=book.path)
    statuses = [
        s
        for s in book.statuses()
        if (dataset is None or s.dataset == dataset) and (purpose is None or s.purpose == purpose)
    ]
    if not statuses and (dataset is not None or purpose is not None):
        raise InputError("no budget matches --dataset/--purpose", source=book.path)
    emit(render_budget(statuses, ReportFormat(fmt), source=str(book.path)), out, inputs=[book.path])


COMMANDS: list[click.Command] = [report_group]
