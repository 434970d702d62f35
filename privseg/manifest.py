"""The manifest of an ``apply`` run (any engine), written beside its output as
``OUT.manifest.json``: input and output fingerprints, the policy's sha256, per-column action
and categories found, key ids (never keys)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privseg import __version__
from privseg.audit import RunRecorder
from privseg.io import Fingerprint
from privseg.policy import Action, Plan, Policy, PolicyKeys
from privseg.publish import Staging
from privseg.taxonomy import Category

__all__ = ["UNDECLARED", "Manifest", "ManifestColumn", "manifest_path", "output_columns"]

#: Audit ``reason`` of a column dropped because the policy does not name it.
UNDECLARED = "not declared by the policy (PIPL Art. 6)"


def manifest_path(out: str | Path) -> Path:
    """Where ``apply`` writes the manifest of ``out``: ``OUT.manifest.json``."""
    path = Path(out)
    return path.with_name(path.name + ".manifest.json")


def output_columns(the_plan: Plan) -> list[str]:
    """The output table's columns, in order."""
    return [c for step in the_plan.columns for c in step.output_columns]


@dataclass(frozen=True)
class ManifestColumn:
    """What ``apply`` did with one input column."""

    column: str
    action: Action
    declared: bool
    categories: tuple[Category, ...]
    output_columns: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The column's entry in the manifest file."""
        return {
            "column": self.column,
            "action": self.action.value,
            "declared": self.declared,
            "categories": [c.value for c in self.categories],
            "output_columns": list(self.output_columns),
        }


@dataclass(frozen=True)
class Manifest:
    """An ``apply`` run: what was read, under which policy and keys, and what was written."""

    input_path: Path
    input: Fingerprint
    policy_path: Path
    purpose: str
    policy_sha256: str
    key_id: str
    reversible_key_id: str | None
    columns: tuple[ManifestColumn, ...]
    output_path: Path
    output: Fingerprint
    privseg_version: str = __version__
    #: the policy's risk gate: requirement, risk before and after, levels chosen
    #: (``privseg.anonymity.gate.GateResult.to_dict``); None without a gate
    risk: Mapping[str, Any] | None = None

    @classmethod
    def of(
        cls,
        the_plan: Plan,
        keys: PolicyKeys,
        source: Path,
        input_fp: Fingerprint,
        out: Path,
        output_fp: Fingerprint,
    ) -> Manifest:
        """The manifest of ``the_plan`` enforced with ``keys`` from ``source`` to ``out``."""
        policy = the_plan.policy
        return cls(
            input_path=source,
            input=input_fp,
            policy_path=policy.path,
            purpose=policy.purpose,
            policy_sha256=policy.sha256,
            key_id=keys.master.key_id,
            reversible_key_id=keys.reversible.key_id if keys.reversible else None,
            columns=tuple(
                ManifestColumn(
                    step.column, step.action, step.declared, step.categories, step.output_columns
                )
                for step in the_plan.columns
            ),
            output_path=out,
            output=output_fp,
        )

    @property
    def dropped(self) -> tuple[str, ...]:
        """Input columns without an output."""
        return tuple(c.column for c in self.columns if not c.output_columns)

    @property
    def dropped_undeclared(self) -> tuple[str, ...]:
        """Input columns the policy does not name (dropped by default, PIPL Art. 6)."""
        return tuple(c.column for c in self.columns if not c.declared)

    def to_dict(self) -> dict[str, Any]:
        """The manifest file's JSON object."""
        return {
            "privseg_version": self.privseg_version,
            "command": "apply",
            "input": _table(self.input_path, self.input),
            "policy": {
                "path": str(self.policy_path),
                "purpose": self.purpose,
                "sha256": self.policy_sha256,
            },
            "key_id": self.key_id,
            "reversible_key_id": self.reversible_key_id,
            "columns": [c.to_dict() for c in self.columns],
            "dropped": list(self.dropped),
            "dropped_undeclared": list(self.dropped_undeclared),
            "output": _table(self.output_path, self.output),
            **({} if self.risk is None else {"risk": dict(self.risk)}),
        }

    def record_to(self, record: RunRecorder, policy: Policy | None = None) -> None:
        """Audit this apply run: input, key id, each column's categories, action and outputs
        (why undeclared ones were dropped, consent flags from ``policy``), output."""
        record.add_input(self.input_path, self.input)
        record.set_key_id(self.key_id)
        for column in self.columns:
            rule = None if policy is None else policy.fields.get(column.column)
            consent = [
                name
                for name in ("separate_consent", "guardian_consent")
                if rule is not None and getattr(rule, name)
            ]
            record.add_column(
                column.column,
                column.categories,
                column.action.value,
                output_columns=column.output_columns,
                source=self.input_path,
                reason=None if column.declared else UNDECLARED,
                consent=",".join(consent) or None,
            )
        record.add_output(self.output_path, self.output)
        if self.risk is not None:
            _record_risk(record, self.risk)

    def write(self, staging: Staging) -> Path:
        """Stage ``OUT.manifest.json`` in ``staging`` (published with the output); its path."""
        path = manifest_path(self.output_path)
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"
        staging.path(path).write_text(text, encoding="utf-8")
        return path


def _table(path: Path, fp: Fingerprint) -> dict[str, Any]:
    return {"path": str(path), "sha256": fp.sha256, "rows": fp.rows, "columns": list(fp.columns)}


def _record_risk(record: RunRecorder, risk: Mapping[str, Any]) -> None:
    """The risk gate's figures (never values) as the run's metrics."""
    record.set_metric("risk_k_required", risk["requirement"]["k"])
    record.set_metric("risk_quasi_identifiers", ",".join(risk["levels"]))
    for when in ("before", "after"):
        report = risk[when]
        record.set_metric(f"risk_k_{when}", report["k_anonymity"])
        record.set_metric(f"risk_sample_uniques_{when}", report["sample_uniques"])
        record.set_metric(f"risk_records_below_k_{when}", report["records_below_k"])
    record.set_metric("risk_suppressed", risk["suppressed"])
    steps = risk["generalized"]
    chosen = [f"{column}: {steps.get(column, 'as the policy')}" for column in risk["levels"]]
    record.set_metric("risk_levels", "; ".join(chosen))
