"""Run report: an evidence pack for a personal information protection impact assessment
(PIPL Art. 55-56), built from the audit trail and the manifests written beside outputs.

It shows whether the trail verifies, which runs read personal data, the data flow from source
columns to outputs, what was dropped and why (Art. 6 minimum necessary), the sensitive
categories found and their consent records (Art. 28-29, 31), the de-identification measures
taken (Art. 51, 73) and the keys used, by id only. Like the trail, it holds no data values.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup

from privseg._templates import ReportFormat, markup, render_template
from privseg.audit import (
    AuditRecord,
    ColumnEntry,
    DatasetRef,
    SignerAction,
    SignerChange,
    VerifyResult,
    changes_of,
)
from privseg.policy import Action
from privseg.report.charts import FlowRow, flow
from privseg.taxonomy import Category, info

__all__ = [
    "MEASURES",
    "ColumnFinding",
    "FlowGroup",
    "Measure",
    "RiskRow",
    "RunRow",
    "SignerRow",
    "render_run",
    "run_context",
]

#: Action id of columns a screening run only looked at.
SCREEN = "screen"
#: Action ids of a policy (``apply``); other actions (``group_by``, ``counts``...) are releases.
POLICY_ACTIONS = frozenset(a.value for a in Action)

#: What each de-identification action does, in the words of the report.
MEASURES: dict[str, str] = {
    "pseudonymize": "replaced by keyed tokens (HMAC-SHA-256 under a per-purpose key); "
    "de-identification under PIPL Art. 73: whoever holds the key can re-link the tokens, "
    "so the output remains personal information (not anonymization)",
    "generalize": "coarsened to a broader level (e.g. birth date to age band, city to province)",
    "mask": "characters replaced so that the value no longer identifies a person on its own",
    "bucketize": "numbers replaced by declared ranges",
    "clip": "numbers clipped to bounds declared in the policy",
}

#: Metrics holding a release's analytic value, preferred first (realised, else predicted).
_VALUE_METRICS = ("analytic_value", "realised_value", "predicted_value")

_CONSENT_LABELS = {
    "separate_consent": "separate consent (Art. 29)",
    "guardian_consent": "guardian consent (Art. 31)",
}


@dataclass(frozen=True)
class RunRow:
    """One audited run, for the run table."""

    seq: int
    started: str
    command: str
    operator: str
    purpose: str
    policy: str
    key_id: str
    signer: str
    outcome: str
    ok: bool
    inputs: int
    outputs: int
    epsilon_spent: float | None
    epsilon_remaining: float | None
    analytic_value: float | None


@dataclass(frozen=True)
class SignerRow:
    """One audit signing key: its owner on the signer list, who ran the records it signed,
    which records, and whether it is still on the list."""

    key_id: str
    name: str
    operators: tuple[str, ...]
    records: tuple[int, ...]
    status: str


@dataclass(frozen=True)
class DatasetRow:
    """An input or output file: name, hash, rows and column count."""

    name: str
    path: str
    sha256: str
    rows: int | None
    columns: int
    runs: tuple[int, ...]


@dataclass(frozen=True)
class FlowGroup:
    """The columns of one source file in one processing run, with their diagram."""

    seq: int
    command: str
    source: str
    rows: tuple[FlowRow, ...]
    diagram: Markup


@dataclass(frozen=True)
class ColumnFinding:
    """One column of one source: what it holds, what was done, the consent recorded."""

    source: str
    column: str
    categories: tuple[tuple[str, bool], ...]
    articles: str
    action: str
    outputs: tuple[str, ...]
    reason: str
    consent: tuple[str, ...]
    missing_consent: tuple[str, ...]


@dataclass(frozen=True)
class Measure:
    """One de-identification measure: the action, what it does, and where it was applied."""

    action: str
    description: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class RiskRow:
    """Re-identification risk of one output (apply's gate) or one measured table (``risk``):
    k required, k-anonymity, sample uniques and records below k before and after, records
    suppressed and the ladder level chosen per quasi-identifier (0: the policy's action)."""

    seq: int
    command: str
    dataset: str
    quasi_identifiers: str
    k_required: int | None
    k_before: int | None
    k_after: int | None
    uniques_before: float | None
    uniques_after: float | None
    below_before: float | None
    below_after: float | None
    suppressed: int | None
    levels: str


def _label(category: str) -> str:
    i = info(category)
    return f"{i.category.value} ({i.label_zh})"


def _path_labels(records: Sequence[AuditRecord]) -> Callable[[str | None], str]:
    """Labels for the files a report names: paths relative to the folder they all share, so
    files of the same name in different folders (raw and pseudonymized) stay apart."""
    paths = {ref.path for r in records for ref in (*r.inputs, *r.outputs) if ref.path}
    paths |= {c.source for r in records for c in r.columns if c.source}
    folders = [str(Path(p).parent) for p in paths if Path(p).is_absolute()]
    root = os.path.commonpath(folders) if folders else None

    def label(path: str | None) -> str:
        if not path:
            return "(standard input)"
        if root is not None and Path(path).is_absolute():
            return os.path.relpath(path, root)
        return path

    return label


def _when(stamp: str) -> str:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _source(record: AuditRecord, entry: ColumnEntry) -> str:
    if entry.source is not None:
        return entry.source
    return record.inputs[0].path if record.inputs else ""


def _processing(record: AuditRecord) -> list[ColumnEntry]:
    """Columns a run acted on (a screening run only looks)."""
    return [c for c in record.columns if c.action != SCREEN]


def _run_row(record: AuditRecord) -> RunRow:
    metrics = dict(record.metrics)
    value = next((metrics[m] for m in _VALUE_METRICS if m in metrics), None)
    return RunRow(
        seq=record.seq,
        started=_when(record.started),
        command=record.command,
        operator=record.operator,
        purpose=record.purpose or "—",
        policy=record.policy_sha256[:12] if record.policy_sha256 else "—",
        key_id=record.key_id or "—",
        signer=record.signer,
        outcome=record.outcome,
        ok=record.ok,
        inputs=len(record.inputs),
        outputs=len(record.outputs),
        epsilon_spent=record.epsilon_spent,
        epsilon_remaining=record.epsilon_remaining,
        analytic_value=float(value)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else None,
    )


def _datasets(
    records: Sequence[AuditRecord], outputs: bool, name: Callable[[str | None], str]
) -> tuple[DatasetRow, ...]:
    seen: dict[tuple[str, str], tuple[DatasetRef, list[int]]] = {}
    for record in records:
        for ref in record.outputs if outputs else record.inputs:
            seen.setdefault((ref.path, ref.sha256), (ref, []))[1].append(record.seq)
    return tuple(
        DatasetRow(name(ref.path), ref.path, ref.sha256, ref.rows, len(ref.columns), tuple(runs))
        for ref, runs in seen.values()
    )


def _dropped(action: str, outputs: Sequence[str]) -> bool:
    """A policy acted on the column and nothing of it reached an output."""
    return action in POLICY_ACTIONS and not outputs


def _flows(
    records: Sequence[AuditRecord], name: Callable[[str | None], str]
) -> tuple[FlowGroup, ...]:
    groups: list[FlowGroup] = []
    for record in records:
        by_source: dict[str, list[FlowRow]] = {}
        for entry in _processing(record):
            row = FlowRow(
                entry.name,
                entry.action,
                entry.output_columns,
                any(info(c).sensitive for c in entry.categories),
                _dropped(entry.action, entry.output_columns),
            )
            by_source.setdefault(_source(record, entry), []).append(row)
        for source, rows in by_source.items():
            groups.append(
                FlowGroup(record.seq, record.command, name(source), tuple(rows), markup(flow(rows)))
            )
    return tuple(groups)


def _findings(
    records: Sequence[AuditRecord], name: Callable[[str | None], str]
) -> tuple[ColumnFinding, ...]:
    """The latest word on each (source, column): categories from any run, action from processing."""
    categories: dict[tuple[str, str], dict[str, None]] = {}
    acted: dict[tuple[str, str], ColumnEntry] = {}
    for record in records:
        for entry in record.columns:
            key = (_source(record, entry), entry.name)
            categories.setdefault(key, {}).update(dict.fromkeys(entry.categories))
            if entry.action != SCREEN:
                acted[key] = entry
    findings = []
    for key, cats in categories.items():
        done = acted.get(key)
        consent = tuple(filter(None, (done.consent or "").split(","))) if done else ()
        sensitive = [c for c in cats if info(c).sensitive]
        kept = done is not None and bool(done.output_columns)
        missing = []
        if kept and sensitive and "separate_consent" not in consent:
            missing.append(_CONSENT_LABELS["separate_consent"])
        if kept and Category.MINOR.value in cats and "guardian_consent" not in consent:
            missing.append(_CONSENT_LABELS["guardian_consent"])
        findings.append(
            ColumnFinding(
                source=name(key[0]),
                column=key[1],
                categories=tuple((_label(c), info(c).sensitive) for c in cats),
                articles=", ".join(dict.fromkeys(info(c).article for c in cats)) or "—",
                action=done.action if done else SCREEN,
                outputs=done.output_columns if done else (),
                reason=(done.reason or "") if done else "",
                consent=tuple(_CONSENT_LABELS.get(c, c) for c in consent),
                missing_consent=tuple(missing),
            )
        )
    return tuple(findings)


def _measures(findings: Sequence[ColumnFinding]) -> tuple[Measure, ...]:
    measures = []
    for action, description in MEASURES.items():
        columns = tuple(f"{f.source}: {f.column}" for f in findings if f.action == action)
        if columns:
            measures.append(Measure(action, description, columns))
    return tuple(measures)


def _reversible_keys(record: AuditRecord) -> list[str]:
    """Reversible-key ids named by the manifests a run wrote (``*.manifest.json`` outputs),
    only from manifests whose bytes still have the sha256 the signed record holds: a manifest
    edited (or replaced) since the run is not evidence."""
    found = []
    for ref in record.outputs:
        if not ref.path.endswith(".manifest.json"):
            continue
        try:
            raw = Path(ref.path).read_bytes()
            if hashlib.sha256(raw).hexdigest() != ref.sha256:
                continue  # altered since the run: the trail does not vouch for it
            data: Any = json.loads(raw.decode("utf-8"))
        except (OSError, ValueError):
            continue  # a manifest moved or removed since the run: the trail still names the key
        value = data.get("reversible_key_id") if isinstance(data, dict) else None
        if isinstance(value, str) and value:
            found.append(value)
    return found


def _keys(records: Sequence[AuditRecord]) -> tuple[tuple[str, str], ...]:
    """Key ids (never key bytes) and where each was used."""
    keys: dict[str, list[str]] = {}
    for record in records:
        where = f"{record.command}, run {record.seq}"
        if record.key_id:
            keys.setdefault(record.key_id, []).append(f"pseudonym key: {where}")
        for key_id in _reversible_keys(record):
            keys.setdefault(key_id, []).append(f"reversible key: {where}")
    return tuple((key_id, "; ".join(uses)) for key_id, uses in keys.items())


def _signers(
    records: Sequence[AuditRecord], changes: Sequence[SignerChange]
) -> tuple[SignerRow, ...]:
    """Every signing key: from the signer changes, then any key that signed without one."""
    names: dict[str, str] = {}
    status: dict[str, str] = {}
    for c in changes:
        if c.action is SignerAction.REVOKE:
            status[c.key_id] = f"revoked by record {c.seq}"
            continue
        names[c.key_id] = c.name
        status[c.key_id] = "active"
        if c.replaces is not None:
            status[c.replaces] = f"rotated to {c.key_id} by record {c.seq}"
    signed: dict[str, list[AuditRecord]] = {key_id: [] for key_id in names}
    for record in records:
        signed.setdefault(record.signer, []).append(record)
    return tuple(
        SignerRow(
            key_id,
            names.get(key_id, "—"),
            tuple(dict.fromkeys(r.operator for r in mine)),
            tuple(r.seq for r in mine),
            status.get(key_id, "not on the signer list"),
        )
        for key_id, mine in signed.items()
    )


def _number(metrics: dict[str, Any], name: str) -> Any:
    value = metrics.get(name)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _risks(
    records: Sequence[AuditRecord], name: Callable[[str | None], str]
) -> tuple[RiskRow, ...]:
    """Risk rows from the runs' metrics (the apply gate's ``risk_*``, the risk command's)."""
    rows = []
    for record in records:
        m = dict(record.metrics)
        datasets = [r for r in record.outputs if not r.path.endswith(".manifest.json")]
        dataset = name(datasets[0].path if datasets else None)
        if "risk_k_required" in m:
            rows.append(
                RiskRow(
                    record.seq,
                    record.command,
                    dataset,
                    str(m.get("risk_quasi_identifiers", "")),
                    _number(m, "risk_k_required"),
                    _number(m, "risk_k_before"),
                    _number(m, "risk_k_after"),
                    _number(m, "risk_sample_uniques_before"),
                    _number(m, "risk_sample_uniques_after"),
                    _number(m, "risk_records_below_k_before"),
                    _number(m, "risk_records_below_k_after"),
                    _number(m, "risk_suppressed"),
                    str(m.get("risk_levels", "")),
                )
            )
        elif record.command == "risk" and "k_anonymity" in m:
            measured = name(record.inputs[0].path if record.inputs else None)
            rows.append(
                RiskRow(
                    record.seq,
                    record.command,
                    measured,
                    str(m.get("quasi_identifiers", "")),
                    _number(m, "k"),
                    None,
                    _number(m, "k_anonymity"),
                    None,
                    _number(m, "sample_uniques"),
                    None,
                    _number(m, "records_below_k"),
                    None,
                    "measured only",
                )
            )
    return tuple(rows)


def run_context(
    records: Sequence[AuditRecord], verification: VerifyResult, *, trail: str
) -> dict[str, Any]:
    """Everything the run templates show."""
    name = _path_labels(records)
    findings = _findings(records, name)
    processing = [r for r in records if _processing(r)]
    dropped = [f for f in findings if _dropped(f.action, f.outputs)]
    sensitive = [f for f in findings if any(s for _, s in f.categories)]
    purposes = sorted({r.purpose for r in records if r.purpose})
    policies = sorted({r.policy_sha256 for r in records if r.policy_sha256})
    changes = changes_of(records)
    return {
        "trail": trail,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "verification": verification,
        "runs": tuple(_run_row(r) for r in records),
        "failed": sum(not r.ok for r in records),
        "purposes": purposes,
        "policies": policies,
        "inputs": _datasets(records, False, name),
        "outputs": _datasets(records, True, name),
        "flows": _flows(processing, name),
        "dropped": tuple(dropped),
        "sensitive": tuple(sensitive),
        "missing_consent": sum(bool(f.missing_consent) for f in sensitive),
        "measures": _measures(findings),
        "keys": _keys(records),
        "signers": _signers(records, changes),
        "signer_changes": tuple(replace(c, started=_when(c.started)) for c in changes),
        "risks": _risks(records, name),
        "releases": tuple(_run_row(r) for r in records if r.epsilon_spent is not None),
    }


def render_run(
    records: Sequence[AuditRecord], verification: VerifyResult, fmt: ReportFormat, *, trail: str
) -> str:
    """The run report (impact-assessment evidence pack) of ``records``."""
    context = run_context(records, verification, trail=trail)
    return render_template("run" + ReportFormat(fmt).suffix, **context)
