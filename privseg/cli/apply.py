"""CLI commands of the apply stage: ``apply``, ``keys new|rotate``, ``token``, ``reidentify``."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import click
import pandas as pd

from privseg import audit
from privseg.anonymity.gate import summary
from privseg.cli._common import (
    encoding_option,
    operator_option,
    path_argument,
    quiet_option,
    trail_option,
)
from privseg.cli._engine import engine_option
from privseg.dp.population import UNIT_METRIC
from privseg.engines import engine as engines
from privseg.engines.engine import Engine, read_recorded
from privseg.errors import InputError, PolicyError
from privseg.io import write_table
from privseg.manifest import manifest_path
from privseg.policy import Policy, PolicyKeys, load_policy
from privseg.pseudonym import (
    KEY_ENV,
    REVERSIBLE_SUFFIX,
    IdKind,
    Key,
    Pseudonymize,
    Tokenizer,
    load_key,
    new_key_file,
    read_key_file,
)
from privseg.reversible import ReversibleCipher, reidentify, rotate

COMMANDS: list[click.Command] = []

_insecure_option = click.option(
    "--insecure-key-permissions",
    is_flag=True,
    help="Accept key files that group or others can read (not recommended).",
)


def _policy_option(f: Any) -> Any:
    return click.option(
        "--policy",
        "policy_ref",
        required=True,
        help="Policy YAML file, or the name of a shipped policy (e.g. wecom-marketing).",
    )(f)


def _load_optional_key(path: Path | None, insecure: bool) -> Key | None:
    return None if path is None else read_key_file(path, insecure_permissions=insecure)


@click.command("apply")
@path_argument("source")
@_policy_option
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Pseudonym key file (default: the {KEY_ENV} environment variable).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Output table (format from the extension); OUT.manifest.json is written beside it.",
)
@click.option(
    "--reversible-key",
    "reversible_key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Second key for columns the policy pseudonymizes with reversible: true.",
)
@click.option("--full", is_flag=True, help="Screen every row instead of a sample.")
@engine_option
@encoding_option
@_insecure_option
@quiet_option
@trail_option
@operator_option
def apply_command(
    source: Path,
    policy_ref: str,
    key_path: Path | None,
    out: Path,
    reversible_key_path: Path | None,
    full: bool,
    engine: Engine,
    encoding: str | None,
    insecure_key_permissions: bool,
    quiet: bool,
    trail: Path | None,
    operator: str | None,
) -> None:
    """Keep only what a purpose needs: screen INPUT, check the policy, write OUT and a manifest.

    Columns the policy does not name are dropped. A column screened as PIPL Art. 28 sensitive
    is refused (exit 3, nothing written) unless the policy records separate consent and
    necessity (and guardian consent for minors) and pseudonymizes, generalizes or drops it.

    A policy with a risk: section then measures OUT on its quasi-identifiers; if k (or l) is
    missed, the fields' ladders are searched for the least information loss that meets it
    (suppressing at most max_suppression of the records), or apply refuses (exit 3) and
    removes OUT. The manifest and the audit record carry the risk before and after.

    INPUT is streamed in chunks of 100,000 rows (memory stays bounded at any size): the
    sampling screen looks at the first chunk, --full screens every chunk first. Tokens are
    computed on two processes.

    \b
    Examples:
      privseg keys new marketing.key
      privseg apply customers.csv --policy wecom-marketing --key marketing.key --out c.csv
      privseg apply orders.parquet --policy my-policy.yaml --key k --out orders.min.parquet
      PRIVSEG_MASTER_KEY=$(cat k) privseg apply interactions.csv --policy p.yaml --out i.csv
      privseg apply big.csv --policy wecom-marketing --key k --out big.min.csv --engine spark
    """
    if engine is Engine.SPARK and full:
        raise click.UsageError("--full needs --engine local (Spark screens the first rows)")
    policy = load_policy(policy_ref)
    with _audited("apply", policy, trail, operator) as record:
        keys = PolicyKeys(
            load_key(key_path, insecure_permissions=insecure_key_permissions),
            _load_optional_key(reversible_key_path, insecure_key_permissions),
        )
        manifest = engines.apply(
            engine,
            source,
            policy,
            keys,
            out,
            full=full,
            encoding=encoding,
            staging=record.staging,
        )
        manifest.record_to(record, policy)
        record.set_metric(UNIT_METRIC, policy.unit)  # with the key id: the population
        record.add_output(manifest_path(out))
    if not quiet:
        kept = len(manifest.columns) - len(manifest.dropped)
        click.echo(
            f"{out}: {manifest.output.rows} rows, {kept} of "
            f"{len(manifest.columns)} columns kept "
            f"({len(manifest.dropped_undeclared)} undeclared dropped); "
            f"key id {manifest.key_id}",
            err=True,
        )
        undeclared = manifest.dropped_undeclared
        if undeclared:
            click.echo(
                f"dropped {len(undeclared)} columns the policy does not declare (PIPL Art. 6): "
                f"{', '.join(map(repr, undeclared))}; declare them in the policy to keep them",
                err=True,
            )
        if manifest.risk is not None:
            click.echo(summary(manifest.risk), err=True)


@click.group("keys")
def keys_group() -> None:
    """Create pseudonym keys and rotate reversible pseudonyms to new keys.

    \b
    Examples:
      privseg keys new marketing.key
      privseg keys rotate c.csv --policy p.yaml --old-key old.key --new-key new.key \\
          --old-reversible-key old.rkey --new-reversible-key new.rkey --out c.rotated.csv
    """


@keys_group.command("new")
@click.argument("keyfile", type=click.Path(dir_okay=False, path_type=Path))
def keys_new(keyfile: Path) -> None:
    """Write a new random key to KEYFILE (64 hex characters, mode 0600; never overwrites).

    Prints the key id (first 16 hex characters of SHA-256 of the key), never the key.

    \b
    Examples:
      privseg keys new marketing.key
      privseg keys new reversible.key    # a separate key for reversible pseudonyms
    """
    key = new_key_file(keyfile)
    click.echo(f"{keyfile}: key id {key.key_id}")


def _audited(
    command: str, policy: Policy, trail: Path | None, operator: str | None
) -> AbstractContextManager[audit.RunRecorder]:
    """Audit one command run under ``policy`` (``privseg.audit``)."""
    return audit.run(
        command,
        trail=trail,
        operator=operator,
        purpose=policy.purpose,
        policy_sha256=policy.sha256,
    )


def _pseudonymized(policy: Policy, table: pd.DataFrame) -> list[str]:
    return [
        column
        for column, rule in policy.fields.items()
        if isinstance(rule.transform, Pseudonymize) and column in table.columns
    ]


@keys_group.command("rotate")
@path_argument("source")
@_policy_option
@click.option("--old-key", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--new-key", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--old-reversible-key", type=click.Path(dir_okay=False, path_type=Path), required=True
)
@click.option(
    "--new-reversible-key", type=click.Path(dir_okay=False, path_type=Path), required=True
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@_insecure_option
@trail_option
@operator_option
def keys_rotate(
    source: Path,
    policy_ref: str,
    old_key: Path,
    new_key: Path,
    old_reversible_key: Path,
    new_reversible_key: Path,
    out: Path,
    insecure_key_permissions: bool,
    trail: Path | None,
    operator: str | None,
) -> None:
    """Re-key a table written by ``apply`` whose tokens carry reversible ciphertexts.

    Every pseudonymized column C must have its C__reversible column: it is opened with the
    old reversible key, checked against the old tokens, and C (new key) and C__reversible
    (new reversible key) are recomputed.
    One-way tokens without ciphertexts cannot be rotated: re-run ``apply`` on the source with
    the new key (README, "Key rotation").

    \b
    Examples:
      privseg keys rotate c.csv --policy p.yaml --old-key old.key --new-key new.key \\
          --old-reversible-key old.rkey --new-reversible-key new.rkey --out c.rotated.csv
    """
    policy = load_policy(policy_ref)

    def read(path: Path) -> Key:
        return read_key_file(path, insecure_permissions=insecure_key_permissions)

    with _audited("keys rotate", policy, trail, operator) as record:
        table = read_recorded(source, record)
        columns = _pseudonymized(policy, table)
        if not columns:
            raise PolicyError(f"no column of the table is pseudonymized by {policy.path.name}")
        new = read(new_key)
        record.set_key_id(new.key_id)
        rotated = rotate(
            table,
            columns,
            old_tokenizer=Tokenizer(read(old_key), policy.purpose),
            old_cipher=ReversibleCipher(read(old_reversible_key), policy.purpose),
            new_tokenizer=Tokenizer(new, policy.purpose),
            new_cipher=ReversibleCipher(read(new_reversible_key), policy.purpose),
        )
        write_table(rotated, record.stage(out))
        for column in columns:
            outputs = [column, column + REVERSIBLE_SUFFIX]
            record.add_column(column, (), "pseudonymize", output_columns=outputs, reason="re-keyed")
        record.add_output(out, rows=len(rotated), columns=list(rotated.columns))
    click.echo(f"{out}: {len(columns)} pseudonymized columns re-keyed", err=True)


@click.command("token")
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Pseudonym key file (default: the {KEY_ENV} environment variable).",
)
@click.option("--purpose", required=True, help="Purpose id of the policy (e.g. wecom-marketing).")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in IdKind]),
    required=True,
    help="Kind of identifier: decides the normalization.",
)
@click.argument("values", nargs=-1, required=True)
@_insecure_option
def token_command(
    key_path: Path | None,
    purpose: str,
    kind: str,
    values: tuple[str, ...],
    insecure_key_permissions: bool,
) -> None:
    """Print the token of each VALUE, one per line: find a person's rows in pseudonymized data.

    This is how a data-subject request (PIPL Art. 44-47: access, correction, deletion) is
    served: compute the person's token, then search the outputs of that purpose for it.

    \b
    Examples:
      privseg token --key marketing.key --purpose wecom-marketing --kind mobile "+86 138-1234-5678"
      privseg token --key k --purpose wecom-marketing --kind wechat_id wmAbC123 wmXyZ789
    """
    tokenizer = Tokenizer(
        load_key(key_path, insecure_permissions=insecure_key_permissions), purpose
    )
    for value in values:
        click.echo(tokenizer.token(value, kind=kind))


@click.command("reidentify")
@path_argument("source")
@_policy_option
@click.option(
    "--reversible-key",
    "reversible_key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The reversible key used by apply.",
)
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Pseudonym key used by apply, to check each id against its row's token "
    f"(default: the {KEY_ENV} environment variable; needed when the token columns are there).",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@_insecure_option
@trail_option
@operator_option
def reidentify_command(
    source: Path,
    policy_ref: str,
    reversible_key_path: Path,
    key_path: Path | None,
    out: Path,
    insecure_key_permissions: bool,
    trail: Path | None,
    operator: str | None,
) -> None:
    """Authorized re-identification: decrypt C__reversible columns back to normalized ids.

    Each C__reversible column is replaced by C__id holding the normalized identifier, for
    activation (e.g. pushing a segment back to WeCom tags). Where the row also holds the
    token C, the id must give that token under --key: a ciphertext moved between rows or
    columns, or an altered token, is an integrity failure (exit 5) and nothing is written.
    OUT holds personal information again: keep it inside the systems that may process raw
    identifiers.

    \b
    Examples:
      privseg reidentify segment.csv --policy wecom-marketing --reversible-key r.key \\
          --key marketing.key --out ids.csv
    """
    policy = load_policy(policy_ref)
    with _audited("reidentify", policy, trail, operator) as record:
        key = read_key_file(reversible_key_path, insecure_permissions=insecure_key_permissions)
        record.set_key_id(key.key_id)
        table = read_recorded(source, record)
        encrypted = [
            c for c in _pseudonymized(policy, table) if c + REVERSIBLE_SUFFIX in table.columns
        ]
        if not encrypted:
            raise InputError(f"no {REVERSIBLE_SUFFIX} column to re-identify", source=source)
        tokenizer = None
        if any(c in table.columns for c in encrypted):
            master = load_key(key_path, insecure_permissions=insecure_key_permissions)
            tokenizer = Tokenizer(master, policy.purpose)
        out_table = reidentify(table, encrypted, ReversibleCipher(key, policy.purpose), tokenizer)
        for column in encrypted:
            record.add_column(
                column + REVERSIBLE_SUFFIX, (), "reidentify", output_columns=[column + "__id"]
            )
        write_table(out_table, record.stage(out))
        record.add_output(out, rows=len(out_table), columns=list(out_table.columns))
    click.echo(f"{out}: {len(encrypted)} columns re-identified, {len(table)} rows", err=True)


COMMANDS.extend([apply_command, keys_group, token_command, reidentify_command])
