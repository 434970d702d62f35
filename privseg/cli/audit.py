"""CLI commands of the audit stage: ``audit verify``, ``checkpoint``, ``show``, ``export``,
``repair``, ``signers init|list|add|revoke|key`` and ``rotate-key``.

Commands that read personal data take ``@trail_option`` and ``@operator_option`` and wrap their
work in ``privseg.audit.run(...)``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from privseg import audit, lineage
from privseg._files import atomic_path

if TYPE_CHECKING:
    pass
from privseg.cli._common import (
    EXIT_UNCONFIRMED,
    F,
    OutputFormat,
    format_option,
    operator_option,
    trail_option,
)
from privseg.errors import IntegrityError


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
    """Verify, list, export and repair the tamper-evident audit trail; manage its signers.

    \b
    Examples:
      privseg audit verify
      privseg audit show --trail privseg-demo/audits/trail.jsonl
      privseg audit export --openlineage > lineage.jsonl
      privseg audit signers list
    """


@audit_group.command("verify")
@trail_option
@_key_option
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Pinned public key (PEM) the records must verify under; no private key needed.",
)
@click.option(
    "--signer",
    default=None,
    help="Pinned signer id (16+ hex digits, as printed by 'audit checkpoint'): the public key "
    "beside the trail must be this one.",
)
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Signed checkpoint handed over with the trail ('privseg audit checkpoint'): proves "
    "no record was cut from the end.",
)
def verify_command(
    trail: Path | None,
    key: Path | None,
    public_key: Path | None,
    signer: str | None,
    checkpoint: Path | None,
) -> None:
    """Check signatures, hash chain and checkpoint: OK (exit 0), UNCONFIRMED (exit 6) or
    TAMPERED (exit 5, naming the first bad record).

    UNCONFIRMED means nothing is wrong, but the signer or the completeness could not be
    checked: the records verify only under the public key beside the trail (pin it with
    --signer or --public-key), or there is no checkpoint (pass --checkpoint). An outside
    auditor needs only public material: the trail, the signer's public key or id, and a
    checkpoint exported by the owner.

    \b
    Examples:
      privseg audit verify
      privseg audit verify --trail privseg-demo/audits/trail.jsonl \\
          --audit-key privseg-demo/keys/audit-signing.key
      privseg audit verify --trail trail.jsonl --public-key signer.pem --checkpoint cp.json
      privseg audit verify --trail trail.jsonl --signer 0123456789abcdef --checkpoint cp.json
    """
    result = audit.verify(
        trail, key=key, public_key=public_key, signer=signer, checkpoint=checkpoint
    )
    if result.outcome is audit.Outcome.TAMPERED:
        raise IntegrityError(str(result))
    click.echo(str(result))
    if result.outcome is audit.Outcome.UNCONFIRMED:
        sys.exit(EXIT_UNCONFIRMED)


@audit_group.command("checkpoint")
@trail_option
@_key_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the signed checkpoint (JSON) to hand over with the trail.",
)
def checkpoint_command(trail: Path | None, key: Path | None, out: Path) -> None:
    """Export a signed checkpoint of the trail (it must verify OK) for outside auditors.

    The checkpoint names the trail by the hash of its first record, not by its path: it
    verifies the trail wherever it is copied. Hand it over with the trail and the public key
    (trail.jsonl.pub) or its signer id.

    \b
    Examples:
      privseg audit checkpoint --out cp.json
      privseg audit checkpoint --trail privseg-demo/audits/trail.jsonl \\
          --audit-key privseg-demo/keys/audit-signing.key --out cp.json
    """
    cp = audit.export_checkpoint(out, trail, key=key)
    click.echo(f"wrote {out}: {cp.count} records, signer {cp.signer}")


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
    lines = [f"{head}  by {record.operator} (key {record.signer})  run {record.run_id}"]
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
@_key_option
def repair_command(trail: Path | None, key: Path | None) -> None:
    """Recover after a crash or a lost checkpoint; never drops a complete signed record.

    Drops a torn last line (a crash in mid-write), checks every record, then signs a new
    checkpoint for the trail as it is and records the repair (and why: checkpoint missing,
    records cut from the end) in the trail. A trail whose records do not verify, or that does
    not extend its checkpoint, is refused (exit 5).

    \b
    Examples:
      privseg audit repair && privseg audit verify
      privseg audit repair --trail privseg-demo/audits/trail.jsonl \\
          --audit-key privseg-demo/keys/audit-signing.key
    """
    done = audit.repair(trail, key=key)
    for line in done or ["nothing to repair"]:
        click.echo(line)


@audit_group.group("signers")
def signers_group() -> None:
    """Who may sign the trail: list, add and revoke signers, print your own public key.

    The list is kept in the trail itself: every change is a signed record, made with a key
    that is authorized at that point. The trail's first signer is its bootstrap signer.

    \b
    Examples:
      privseg audit signers init --name wang.fang
      privseg audit signers key --out me.pub
      privseg audit signers add colleague.pub --name li.wei
      privseg audit signers list
      privseg audit signers revoke 3f2a9c0d11e4b7a8
    """


@signers_group.command("list")
@trail_option
@format_option(OutputFormat.TEXT, OutputFormat.JSON)
def signers_list_command(trail: Path | None, fmt: str) -> None:
    """List every key that was ever on the signer list and every change to it.

    \b
    Examples:
      privseg audit signers list
      privseg audit signers list --format json
    """
    book = audit.signer_book(trail)
    if fmt == OutputFormat.JSON:
        data = {
            "signers": [dataclasses.asdict(s) | {"active": s.active} for s in book.signers],
            "changes": [dataclasses.asdict(c) for c in book.changes],
        }
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for s in book.signers:
        until = "active" if s.active else f"revoked by record {s.until}"
        click.echo(f"{s.key_id}  {s.name}  added by record {s.since}, {until}")
    for c in book.changes:
        replaces = f" (replaces {c.replaces})" if c.replaces else ""
        click.echo(
            f"#{c.seq}  {c.started}  {c.action}  {c.key_id} {c.name}{replaces}  "
            f"by key {c.by} ({c.operator})"
        )


@signers_group.command("key")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the PEM public key to FILE instead of standard output.",
)
@click.option("--id", "only_id", is_flag=True, help="Print the key id only.")
@_key_option
def signers_key_command(out: Path | None, only_id: bool, key: Path | None) -> None:
    """Print your audit key's public key (PEM; the key is created 0600 on first use).

    Hand it to an authorized signer, who adds it with 'privseg audit signers add'.

    \b
    Examples:
      privseg audit signers key --out me.pub
      privseg audit signers key --id
    """
    key_id, pem = audit.own_public_pem(key)
    if only_id:
        click.echo(key_id)
    elif out is None:
        click.echo(pem.decode("ascii"), nl=False)
    else:
        with atomic_path(out, mode=0o644) as tmp:
            tmp.write_bytes(pem)
        click.echo(f"wrote {out} (key {key_id})", err=True)


@signers_group.command("init")
@click.option("--name", required=True, help="Login of the person or service owning your key.")
@trail_option
@_key_option
@operator_option
def signers_init_command(
    name: str, trail: Path | None, key: Path | None, operator: str | None
) -> None:
    """Start a new, empty trail with an explicit bootstrap: your key becomes its first signer.

    (Without it, the key of a trail's first record is its bootstrap signer.)

    \b
    Examples:
      privseg audit signers init --name wang.fang --trail shared/audits/trail.jsonl
    """
    change = audit.bootstrap_signer(name, trail=trail, key=key, operator=operator)
    click.echo(f"bootstrapped signer {change.key_id} ({change.name}) at record {change.seq}")


@signers_group.command("add")
@click.argument("public_key", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--name",
    required=True,
    help="Login of the person or service owning the key (not an e-mail address).",
)
@trail_option
@_key_option
@operator_option
def signers_add_command(
    public_key: Path, name: str, trail: Path | None, key: Path | None, operator: str | None
) -> None:
    """Authorize another key (its PEM public key) to sign the trail; your key must be
    authorized.

    \b
    Examples:
      privseg audit signers add colleague.pub --name li.wei
      privseg audit signers add pipeline.pub --name svc-pipeline --trail shared/audits/trail.jsonl
    """
    change = audit.add_signer(public_key, name, trail=trail, key=key, operator=operator)
    click.echo(f"added signer {change.key_id} ({change.name}) at record {change.seq}")


@signers_group.command("revoke")
@click.argument("key_id")
@trail_option
@_key_option
@operator_option
def signers_revoke_command(
    key_id: str, trail: Path | None, key: Path | None, operator: str | None
) -> None:
    """Revoke a signer by key id: its later records are refused (the last signer stays).

    \b
    Examples:
      privseg audit signers revoke 3f2a9c0d11e4b7a8
    """
    change = audit.revoke_signer(key_id, trail=trail, key=key, operator=operator)
    click.echo(f"revoked signer {change.key_id} ({change.name}) at record {change.seq}")


@audit_group.command("rotate-key")
@trail_option
@_key_option
@operator_option
def rotate_key_command(trail: Path | None, key: Path | None, operator: str | None) -> None:
    """Replace your audit key by a new one; records signed before stay verifiable.

    The old key signs the record that authorizes the new key and retires the old one; the
    key file then holds the new key.

    \b
    Examples:
      privseg audit rotate-key
    """
    change = audit.rotate_key(trail=trail, key=key, operator=operator)
    click.echo(
        f"rotated key {change.replaces} to {change.key_id} ({change.name}) at record {change.seq}"
    )


COMMANDS: list[click.Command] = [audit_group]
