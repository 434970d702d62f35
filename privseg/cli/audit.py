"""CLI commands of the audit stage: ``audit verify``, ``show``, ``export``, ``repair``.

Commands that read personal data take ``@trail_option`` and ``@operator_option`` and wrap their
work in ``privseg.audit.run(...)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from privseg import audit, lineage

if TYPE_CHECKING:
    pass
from privseg.cli._common import F, OutputFormat, format_option, trail_option


def _key_option(f: F) -> F:
    return click.option(
        "--audit-key",
        "key",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar=audit.ENV_KEY,
        default=None,
        help="Audit signing key; its folder holds the checkpoints "
        "(default: ~/.config/privseg/audit-signing.key).",
    )(f)


@click.group("audit")
def audit_group() -> None:
    """Verify, list, export and repair the tamper-evident audit trail.

    \b
    Examples:
      privseg audit verify
      privseg audit show --trail privseg-demo/audits/trail.jsonl
      privseg audit export --openlineage > lineage.jsonl
    """


@audit_group.command("verify")
@trail_option
@_key_option
def verify_command(trail: Path | None, key: Path | None) -> None:
    """Check signatures, hash chain and checkpoint; print OK or the first bad record (exit 5).

    \b
    Examples:
      privseg audit verify
      privseg audit verify --trail privseg-demo/audits/trail.jsonl
    """
    click.echo(str(audit.ensure_valid(trail, key=key)))


@audit_group.command("show")
@trail_option
@format_option(OutputFormat.TEXT, OutputFormat.JSON)
def show_command(trail: Path | None, fmt: str) -> None:
    """List the runs in the trail (parsed, not verified: use ``audit verify``).

    \b
    Examples:
      privseg audit show
      privseg audit show --format json
    """
    records = audit.read_records(trail)
    if fmt == OutputFormat.JSON:
        click.echo(json.dumps([r.to_dict() for r in records], ensure_ascii=False, indent=2))
        return
    for record in records:
        click.echo(_describe(record))
    click.echo(f"{len(records)} runs")


def _describe(record: audit.AuditRecord) -> str:
    head = f"#{record.seq}  {record.started}  {record.command}  {record.outcome}"
    lines = [f"{head}  by {record.operator}  run {record.run_id}"]
    about = [
        f"purpose {record.purpose}" if record.purpose else "",
        f"policy {record.policy_sha256[:12]}" if record.policy_sha256 else "",
        f"key {record.key_id}" if record.key_id else "",
        f"ε spent {record.epsilon_spent:g}" if record.epsilon_spent is not None else "",
        f"ε remaining {record.epsilon_remaining:g}" if record.epsilon_remaining is not None else "",
    ]
    if any(about):
        lines.append("    " + ", ".join(a for a in about if a))
    for label, datasets in (("in ", record.inputs), ("out", record.outputs)):
        for d in datasets:
            rows = f"  {d.rows} rows" if d.rows is not None else ""
            lines.append(f"    {label} {d.path}{rows}  sha256 {d.sha256[:12]}")
    for c in record.columns:
        cats = f" [{', '.join(c.categories)}]" if c.categories else ""
        renamed = c.output_columns and c.output_columns != (c.name,)
        to = f" -> {', '.join(c.output_columns)}" if renamed else ""
        notes = "; ".join(n for n in (c.reason, c.consent and f"consent: {c.consent}") if n)
        lines.append(f"    col {c.name}{cats}: {c.action}{to}" + (f" ({notes})" if notes else ""))
    lines.extend(f"    {name} = {value}" for name, value in record.metrics)
    return "\n".join(lines)


@audit_group.command("export")
@click.option(
    "--openlineage",
    is_flag=True,
    help="Print OpenLineage RunEvents (START, then COMPLETE or FAIL) as JSON lines.",
)
@trail_option
def export_command(openlineage: bool, trail: Path | None) -> None:
    """Export the trail for lineage tools.

    \b
    Examples:
      privseg audit export --openlineage > lineage.jsonl
    """
    if not openlineage:
        raise click.UsageError("choose an export format: --openlineage")
    for event in lineage.events(audit.read_records(trail)):
        click.echo(json.dumps(event, ensure_ascii=False, sort_keys=True))


@audit_group.command("repair")
@trail_option
def repair_command(trail: Path | None) -> None:
    """Drop a torn last line left by a crash in mid-write (and nothing else).

    \b
    Examples:
      privseg audit repair && privseg audit verify
    """
    if audit.repair(trail):
        click.echo("dropped a torn last line; run 'privseg audit verify'")
    else:
        click.echo("no torn last line: nothing to repair")


COMMANDS: list[click.Command] = [audit_group]
