"""The run API: ``run`` audits one command as one record, appended on success or failure;
the ``RunRecorder`` it yields collects what the command read, did and wrote, as plain data
(paths, fingerprints, column names, category ids, counts): audit depends on nothing above it.
"""

from __future__ import annotations

import getpass
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from privseg import __version__
from privseg.audit.append import append, check_head, default_trail
from privseg.audit.records import (
    ENV_OPERATOR,
    GENESIS,
    SUCCESS,
    AuditRecord,
    ColumnEntry,
    DatasetRef,
    FingerprintLike,
    Metric,
    valid_key_id,
    valid_metric,
    valid_number,
)
from privseg.audit.signing import default_key_path
from privseg.errors import PrivsegError
from privseg.lifecycle import critical
from privseg.publish import Staging
from privseg.taxonomy import Category

__all__ = ["RunRecorder", "resolve_operator", "run"]


def resolve_operator(operator: str | None = None) -> str:
    """``operator``, else ``PRIVSEG_OPERATOR``, else the OS user, else ``unknown``."""
    if operator:
        return operator
    env = os.environ.get(ENV_OPERATOR)
    if env:
        return env
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class RunRecorder:
    """Collects what one command did; ``run`` appends it as one record."""

    command: str
    operator: str
    purpose: str | None = None
    policy_sha256: str | None = None
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: str = field(default_factory=_now)
    inputs: list[DatasetRef] = field(default_factory=list)
    columns: list[ColumnEntry] = field(default_factory=list)
    outputs: list[DatasetRef] = field(default_factory=list)
    key_id: str | None = None
    epsilon_spent: float | None = None
    epsilon_remaining: float | None = None
    metrics: dict[str, Metric] = field(default_factory=dict)
    staging: Staging = field(default_factory=Staging)

    def stage(self, dest: str | Path) -> Path:
        """Where to write output ``dest``: a private staging path; ``run`` publishes it under
        ``dest`` only after this run's record is appended (``privseg.publish``)."""
        return self.staging.path(dest)

    def add_input(
        self,
        path: str | Path,
        fingerprint: FingerprintLike | None = None,
        *,
        rows: int | None = None,
        columns: Sequence[str] = (),
    ) -> None:
        """Record an input read: from ``privseg.io.fingerprint``, or its file hash plus the
        ``rows`` and ``columns`` of the table read (e.g. ``len(df), df.columns``)."""
        self.inputs.append(DatasetRef.of(path, fingerprint, rows=rows, columns=columns))

    def add_output(
        self,
        path: str | Path,
        fingerprint: FingerprintLike | None = None,
        *,
        rows: int | None = None,
        columns: Sequence[str] = (),
    ) -> None:
        """Record an output written (staged by ``stage`` or already in place); as ``add_input``."""
        ref = DatasetRef.of(self.staging.where(path), fingerprint, rows=rows, columns=columns)
        self.outputs.append(replace(ref, path=str(Path(path).absolute())))

    def add_column(
        self,
        name: str,
        categories: Sequence[Category | str] = (),
        action: str = "keep",
        *,
        output_columns: Sequence[str] = (),
        source: str | Path | None = None,
        reason: str | None = None,
        consent: str | None = None,
    ) -> None:
        """Record one column's findings, the action taken and the columns it became (none: dropped)."""
        self.columns.append(
            ColumnEntry(
                name,
                tuple(str(c) for c in categories),
                action,
                tuple(output_columns),
                None if source is None else str(Path(source).absolute()),
                reason,
                consent,
            )
        )

    def set_key_id(self, key_id: str) -> None:
        """Record the id (never the bytes) of the pseudonymization key used."""
        self.key_id = valid_key_id(key_id)

    def add_budget(self, spent: float, remaining: float) -> None:
        """Add epsilon spent by a release and set the budget remaining after it."""
        self.epsilon_spent = (self.epsilon_spent or 0.0) + (
            valid_number("epsilon_spent", spent) or 0.0
        )
        self.epsilon_remaining = valid_number("epsilon_remaining", remaining)

    def set_metric(self, name: str, value: Metric) -> None:
        """A count, number or id worth keeping (e.g. ``analytic_value``, ``k``)."""
        self.metrics[name] = valid_metric(name, value)

    def record(self, outcome: str) -> AuditRecord:
        """The unsigned record of this run with ``outcome``."""
        return AuditRecord(
            seq=0,
            prev=GENESIS,
            run_id=self.run_id,
            started=self.started,
            ended=_now(),
            version=__version__,
            operator=self.operator,
            command=self.command,
            purpose=self.purpose,
            policy_sha256=self.policy_sha256,
            inputs=tuple(self.inputs),
            columns=tuple(self.columns),
            key_id=self.key_id,
            epsilon_spent=self.epsilon_spent,
            epsilon_remaining=self.epsilon_remaining,
            metrics=tuple(sorted(self.metrics.items())),
            outputs=tuple(self.outputs),
            outcome=outcome,
        )


@contextmanager
def run(
    command: str,
    *,
    trail: Path | None = None,
    operator: str | None = None,
    purpose: str | None = None,
    policy_sha256: str | None = None,
    key: Path | None = None,
) -> Iterator[RunRecorder]:
    """Audit one command: append a record on success, or one with the error class and re-raise.

    The trail's head is checked before the body runs, so a broken trail stops a command before
    it reads any data (IntegrityError). Audit first, publish second: outputs written to
    ``recorder.stage(dest)`` are fingerprinted into the record (``add_output(dest)``) and
    renamed into place only after the success record is appended; outputs that would replace
    an input, a failure anywhere, or a record that cannot be appended leave nothing published.
    """
    trail = trail or default_trail()
    key_path = key or default_key_path()
    check_head(trail, key_path)
    recorder = RunRecorder(command, resolve_operator(operator), purpose, policy_sha256)
    staging = recorder.staging
    try:
        yield recorder
        staging.check_inputs(Path(ref.path) for ref in recorder.inputs)
    except BaseException as error:
        _failed(recorder, error, trail, key_path)
        raise
    with critical():  # SIGTERM waits until the record is appended and the outputs published
        try:
            append(recorder.record(SUCCESS), trail=trail, key=key_path)
        except BaseException as error:
            _failed(recorder, error, trail, key_path)
            raise
        staging.commit()


def _failed(recorder: RunRecorder, error: BaseException, trail: Path, key: Path) -> None:
    """Discard the run's staged outputs (no success record, no publication) and append a
    record of the failure, or note on ``error`` why it could not be appended."""
    recorder.staging.discard()
    try:
        append(recorder.record(type(error).__name__), trail=trail, key=key)
    except (PrivsegError, OSError) as audit_error:
        error.add_note(f"privseg: the failed run could not be audited: {audit_error}")
