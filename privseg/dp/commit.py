"""Charge and commit: a release's outputs, audit record and ledger entry agree.

A CLI release runs in five steps:

1. ``preflight``, before the charge: every output is a writable, supported path (format by
   extension, an existing folder where a file can be created, not an input, not each other);
   everything that can fail without revealing the data fails here, charging nothing;
2. the charge: the ledger records the spend as ``charged`` (``Account`` with
   ``SpendState.CHARGED``) and, in the same transaction, its ``Replay``: a fresh secret
   32-byte seed (``new_seed``, from ``secrets``), the command and its options, the input path
   and its SHA-256 (never the data); then every noise value is drawn from
   ``StreamBits(seed)`` (``noise.drawing_from``);
3. ``Publication.store``: the released values (the DP output, never the exact data) are
   stored with the spends, which become ``drawn``;
4. ``Publication.write``: the outputs are staged privately, the audit record is appended with
   their fingerprints, then ``audit.run`` publishes them (``privseg.publish``);
5. the spends are marked ``committed``.

A crash after step 3 leaves ``drawn`` spends: ``privseg budget recover ID`` (``recover``)
writes the same outputs from the stored values, appends the audit record and commits, so
the budget spent is never lost with its result. A crash between steps 2 and 3 leaves a
``charged`` spend without values: nothing was published; ``privseg budget recover ID``
re-reads the input, and if its SHA-256 is unchanged redoes the release with the same seed
(the same noise, so the same output: nothing new is revealed), stores, publishes, audits and
commits it. Only an input that is gone or changed (or a spend without a replay) makes
``recover`` mark the spend ``lost``; the budget stays spent (never refunded: the failure
could depend on the noise). The seed lives only in the ledger (a 0600 file): it is never
printed, logged or put in the audit trail.
"""

from __future__ import annotations

import base64
import io as bytes_io
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd

from privseg import audit, io
from privseg.dp.exact import StreamBits
from privseg.dp.ledger import Ledger, PrivacyBudget, Spend, SpendState
from privseg.dp.types import Account, Release, ReleaseKind
from privseg.errors import InputError
from privseg.publish import check_target, guard_output

__all__ = ["Publication", "Replay", "ReplayAccount", "new_seed", "preflight", "recover"]

_FORMAT_VERSION = 1


def preflight(outputs: Sequence[Path | None], inputs: Sequence[Path]) -> None:
    """Check, before any budget is spent, that every output (``-``: standard output) can be
    written: a supported extension for the table (the first output), a regular file or
    nothing in an existing folder where a file can be created, and neither an input
    (``publish.guard_output``) nor another output."""
    seen: list[Path] = []
    for number, out in enumerate(outputs):
        if out is None or str(out) == io.STDIO:
            continue
        if number == 0:
            io.table_format(out)
        check_target(out)
        probe = out.parent / f".privseg-probe.{secrets.token_hex(6)}"
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            probe.unlink()
        except OSError as error:
            raise InputError(
                f"cannot write in the output folder ({error.strerror})", source=out.parent
            ) from None
        guard_output(out, inputs)
        if any(os.path.realpath(out) == os.path.realpath(other) for other in seen):
            raise InputError("an output would overwrite another output", source=out)
        seen.append(out)


def new_seed() -> bytes:
    """A release's fresh secret noise seed (tests replace it to compare runs)."""
    return secrets.token_bytes(32)


@dataclass(frozen=True)
class Replay:
    """What redoes a CLI release after a crash, kept with its charge: the secret ``seed`` of
    its noise, the command (names under ``privseg``) and its options, the input and its
    SHA-256 (None for standard input: not redoable)."""

    seed: bytes = field(repr=False)
    command: tuple[str, ...]
    params: dict[str, Any]
    source: str
    sha256: str | None

    def bits(self) -> StreamBits:
        """The release's noise stream."""
        return StreamBits(self.seed, b"release")

    def source_problem(self, sha256: str | None = None) -> str | None:
        """Why the input cannot be read again as it was (gone; changed: ``sha256``, as the
        redone run recorded it, differs), or None."""
        if self.sha256 is None:
            return "the input was standard input"
        if not Path(self.source).exists():
            return f"the input {self.source} is gone"
        if sha256 is not None and sha256 != self.sha256:
            return f"the input {self.source} changed since the release (its SHA-256 differs)"
        return None

    def to_bytes(self) -> bytes:
        """JSON bytes (the seed as hex)."""
        fields = {
            "version": _FORMAT_VERSION,
            "seed": self.seed.hex(),
            "command": list(self.command),
            "params": self.params,
            "source": self.source,
            "sha256": self.sha256,
        }
        return json.dumps(fields, ensure_ascii=False, sort_keys=True).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> Replay:
        """Inverse of ``to_bytes``."""
        fields = json.loads(data.decode("utf-8"))
        if fields.pop("version", None) != _FORMAT_VERSION:
            raise InputError("stored replay of an unknown format version")
        seed = bytes.fromhex(fields.pop("seed"))
        return cls(seed=seed, command=tuple(fields.pop("command")), **fields)


@dataclass(frozen=True)
class ReplayAccount(Account):
    """The account of a release being redone: hands out its ``charged`` spends in order
    instead of charging again (the same epsilons and kinds, or it refuses); a spend the
    original run did not reach is charged now (with the same ``replay``), as it would have."""

    charged: tuple[Spend, ...] = ()
    used: list[Spend] = field(default_factory=list, repr=False)

    def spend(self, epsilon: float, kind: ReleaseKind, predicted: float | None = None) -> Spend:
        """The next charged spend, which must be for ``epsilon`` and ``kind``."""
        if len(self.used) >= len(self.charged):
            return super().spend(epsilon, kind, predicted)
        spend = self.charged[len(self.used)]
        if spend.kind != kind.value or spend.budget != PrivacyBudget(epsilon):
            raise InputError(f"the redone release differs from spend {spend.id}")
        self.used.append(spend)
        return spend

    def remaining_epsilon(self) -> float:
        """What remained when the original run asked (its later spends not yet made)."""
        later = sum((s.budget.epsilon for s in self.charged[len(self.used) :]), Fraction(0))
        remaining = self.ledger.remaining(self.dataset, self.purpose).epsilon
        return float(remaining + later) * (1 - 1e-12)


@dataclass(frozen=True)
class Publication:
    """What a release publishes, kept with its spends until the outputs are written: the DP
    table, the JSON report, where each goes, and what the audit record says of it."""

    command: str
    table: pd.DataFrame
    out: str
    report: str | None
    report_text: str | None
    kind: str
    mechanism: str
    predicted_value: float | None
    epsilon_spent: float
    spend_ids: tuple[int, ...]

    @classmethod
    def of(cls, command: str, release: Release, out: Path, report: Path | None) -> Publication:
        """The publication of ``release`` to ``out`` (and its JSON ``report``)."""
        text = None
        if report is not None:
            text = json.dumps(release.to_dict(), ensure_ascii=False, indent=2)
        return cls(
            command,
            release.table,
            str(out),
            None if report is None else str(report),
            text,
            release.plan.kind.value,
            release.plan.mechanism.value,
            release.plan.predicted_value,
            release.epsilon_spent,
            tuple(s.id for s in release.spends),
        )

    def to_bytes(self) -> bytes:
        """Self-contained bytes: JSON with the table as base64 Parquet (dtypes kept)."""
        buffer = bytes_io.BytesIO()
        self.table.to_parquet(buffer, index=False)
        fields: dict[str, Any] = {
            "version": _FORMAT_VERSION,
            "command": self.command,
            "table_parquet": base64.b64encode(buffer.getvalue()).decode("ascii"),
            "out": self.out,
            "report": self.report,
            "report_text": self.report_text,
            "kind": self.kind,
            "mechanism": self.mechanism,
            "predicted_value": self.predicted_value,
            "epsilon_spent": self.epsilon_spent,
            "spend_ids": list(self.spend_ids),
        }
        return json.dumps(fields, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> Publication:
        """Inverse of ``to_bytes``."""
        fields = json.loads(data.decode("utf-8"))
        if fields.get("version") != _FORMAT_VERSION:
            raise InputError("stored release of an unknown format version")
        table = pd.read_parquet(bytes_io.BytesIO(base64.b64decode(fields.pop("table_parquet"))))
        fields.pop("version")
        fields["spend_ids"] = tuple(fields["spend_ids"])
        return cls(table=table, **fields)

    def store(self, ledger: Ledger) -> None:
        """Step 3: keep the released values with the spends (``drawn``)."""
        ledger.store(self.spend_ids, self.to_bytes())

    def write(self, record: audit.RunRecorder) -> None:
        """Step 4: stage the table (CSV formulas neutralized) and the report, and record them
        as outputs; ``audit.run`` publishes them after appending the record
        (``privseg.publish``)."""
        written = self.out if self.out == io.STDIO else record.stage(self.out)
        io.write_table(self.table, written, neutralize_formulas=True)
        if self.out != io.STDIO:
            record.add_output(self.out, rows=len(self.table), columns=list(self.table.columns))
        if self.report is not None and self.report_text is not None:
            record.stage(self.report).write_text(self.report_text, "utf-8")
            record.add_output(self.report)


def recover(
    ledger: Ledger, spend_id: int, *, trail: Path | None, operator: str | None
) -> Publication | None:
    """Finish a release whose run died after the charge: re-publish the values stored with
    ``spend_id`` (same outputs, same noise), audit it and commit; None when no values were
    stored (the spend is marked ``lost``: nothing was published, the budget stays spent).
    A release redone from its ``Replay`` (``cli._release_run.redo``) has stored them first."""
    spend, stored = ledger.stored_release(spend_id)
    if spend.state is SpendState.CHARGED and stored is None:
        ledger.mark_lost([spend_id])
        return None
    if spend.state is not SpendState.DRAWN or stored is None:
        raise InputError(f"spend {spend_id} is {spend.state.value}: nothing to recover")
    publication = Publication.from_bytes(stored)
    with audit.run(
        "budget recover", trail=trail, operator=operator, purpose=spend.purpose
    ) as record:
        record.set_metric("dataset", spend.dataset)
        record.set_metric("recovered_command", publication.command)
        publication.write(record)
        remaining = ledger.remaining(spend.dataset, spend.purpose)
        record.add_budget(publication.epsilon_spent, float(remaining.epsilon))
        record.set_metric("release_kind", publication.kind)
        record.set_metric("mechanism", publication.mechanism)
    ledger.commit(publication.spend_ids)
    return publication
