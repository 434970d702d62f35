"""The audit record: one JSON line per run that reads personal data, its canonical bytes
(sorted keys, UTF-8, no NaN, no spaces), and the checks that keep raw values out of it.

Records never hold raw values: only counts, ids, hashes, category ids and column names, and
free-form fields are refused when they look like personal data.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from privseg._files import file_sha256
from privseg.errors import InputError, PrivsegError
from privseg.rawvalues import raw_shape
from privseg.taxonomy import Category

__all__ = [
    "ENV_KEY",
    "ENV_OPERATOR",
    "ENV_TRAIL",
    "FORMAT",
    "GENESIS",
    "SUCCESS",
    "AuditRecord",
    "ColumnEntry",
    "DatasetRef",
    "FingerprintLike",
    "Metric",
    "canonical",
    "parse_line",
    "refuse_raw",
    "sha256_hex",
    "valid_key_id",
    "valid_metric",
    "valid_number",
]

#: Version of the record layout.
FORMAT = 1
#: ``prev`` of the first record.
GENESIS = "0" * 64
#: ``outcome`` of a run that finished without error.
SUCCESS = "success"
ENV_TRAIL = "PRIVSEG_TRAIL"
ENV_KEY = "PRIVSEG_AUDIT_KEY"
ENV_OPERATOR = "PRIVSEG_OPERATOR"

_HEX64 = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,63}")
_MAX_TEXT = 200

Metric = int | float | str | bool


def refuse_raw(name: str, value: str) -> str:
    """Return ``value`` unless it looks like a raw personal value (never quoted in the error)."""
    if len(value) > _MAX_TEXT:
        raise PrivsegError(f"audit field {name!r} is longer than {_MAX_TEXT} characters")
    if any(ord(c) < 32 for c in value):
        raise PrivsegError(f"audit field {name!r} holds control characters")
    shape = raw_shape(value)
    if shape is not None:
        raise InputError(
            f"audit field {name!r} looks like a raw value ({shape}); "
            "records hold only counts, ids, hashes, category ids and column names"
        )
    return value


def _operator(value: str) -> str:
    """An operator is a login or e-mail of staff: short and printable (not a customer value)."""
    if not value or len(value) > 64 or not value.isprintable():
        raise PrivsegError("audit field 'operator' must be 1-64 printable characters")
    return value


def _opt_text(name: str, value: str | None) -> str | None:
    return None if value is None else refuse_raw(name, value)


def _ident(name: str, value: str) -> str:
    if not _ID.fullmatch(value):
        raise PrivsegError(f"audit field {name!r} must be an id ([A-Za-z_][A-Za-z0-9_.:-]*)")
    return refuse_raw(name, value)


def valid_key_id(value: str) -> str:
    """``value`` unless it is not a key id (16 lowercase hex: the first 8 bytes of a SHA-256)."""
    if not _KEY_ID.fullmatch(value):
        raise PrivsegError("audit field 'key_id' must be a key id (16 lowercase hex characters)")
    return value


def _sha(name: str, value: str) -> str:
    if not _HEX64.fullmatch(value):
        raise PrivsegError(f"audit field {name!r} must be a lowercase hex SHA-256")
    return value


def valid_number(name: str, value: float | None) -> float | None:
    """``value`` as a float unless it is not a finite number (None stays None)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PrivsegError(f"audit field {name!r} must be a finite number")
    return float(value)


def valid_metric(name: str, value: Metric) -> Metric:
    """``value`` unless the metric name is not an id or the value is not a number, flag or safe text."""
    _ident("metrics", name)
    if isinstance(value, str):
        refuse_raw(f"metrics.{name}", value)
    elif not isinstance(value, bool):
        valid_number(f"metrics.{name}", value)
    return value


class FingerprintLike(Protocol):
    """What ``privseg.io.fingerprint`` returns: a file's hash, rows and column names."""

    @property
    def sha256(self) -> str: ...
    @property
    def rows(self) -> int: ...
    @property
    def columns(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class DatasetRef:
    """An input or output of a run: absolute path, SHA-256 of its bytes, rows and columns.

    ``rows`` is None and ``columns`` empty for outputs that are not tables (reports, JSON).
    """

    path: str
    sha256: str
    rows: int | None = None
    columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        refuse_raw("path", self.path)
        _sha("sha256", self.sha256)
        if self.rows is not None and (
            isinstance(self.rows, bool) or not isinstance(self.rows, int) or self.rows < 0
        ):
            raise PrivsegError("audit field 'rows' must be a count")
        object.__setattr__(self, "columns", tuple(self.columns))
        for column in self.columns:
            refuse_raw("columns", column)

    @classmethod
    def of(
        cls,
        path: str | Path,
        fingerprint: FingerprintLike | None = None,
        *,
        rows: int | None = None,
        columns: Sequence[str] = (),
    ) -> DatasetRef:
        """Reference ``path``: from a table fingerprint, or by hashing the file's bytes (with
        the ``rows`` and ``columns`` of the table already in memory, if given)."""
        absolute = str(Path(path).absolute())
        if fingerprint is not None:
            return cls(
                absolute, fingerprint.sha256, int(fingerprint.rows), tuple(fingerprint.columns)
            )
        return cls(absolute, file_sha256(path), rows, tuple(str(c) for c in columns))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetRef:
        """From its JSON object."""
        return cls(data["path"], data["sha256"], data["rows"], tuple(data["columns"]))


@dataclass(frozen=True)
class ColumnEntry:
    """What a run found in one input column and did with it.

    ``categories`` are taxonomy ids (strongest first); ``action`` an id such as ``keep``,
    ``drop``, ``pseudonymize``, ``generalize``; ``output_columns`` the output columns it became
    (none when dropped); ``source`` the input path it came from (None: the run's first input); ``reason``
    a short why (e.g. the policy clause); ``consent`` the id of a consent record.
    """

    name: str
    categories: tuple[str, ...] = ()
    action: str = "keep"
    output_columns: tuple[str, ...] = ()
    source: str | None = None
    reason: str | None = None
    consent: str | None = None

    def __post_init__(self) -> None:
        refuse_raw("column", self.name)
        cats = tuple(str(Category(c)) for c in self.categories)
        object.__setattr__(self, "categories", cats)
        _ident("action", self.action)
        object.__setattr__(self, "output_columns", tuple(self.output_columns))
        for column in self.output_columns:
            refuse_raw("output_columns", column)
        _opt_text("source", self.source)
        _opt_text("reason", self.reason)
        _opt_text("consent", self.consent)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnEntry:
        """From its JSON object."""
        return cls(
            data["name"],
            tuple(data["categories"]),
            data["action"],
            tuple(data["output_columns"]),
            data["source"],
            data["reason"],
            data["consent"],
        )


@dataclass(frozen=True)
class AuditRecord:
    """One run in the trail. ``to_dict``/``canonical`` give the JSON line."""

    seq: int
    prev: str
    run_id: str
    started: str
    ended: str
    version: str
    operator: str
    command: str
    purpose: str | None
    policy_sha256: str | None
    inputs: tuple[DatasetRef, ...]
    columns: tuple[ColumnEntry, ...]
    key_id: str | None
    epsilon_spent: float | None
    epsilon_remaining: float | None
    metrics: tuple[tuple[str, Metric], ...]
    outputs: tuple[DatasetRef, ...]
    outcome: str
    signer: str = ""
    signature: str = ""
    format: int = FORMAT

    def __post_init__(self) -> None:
        if self.seq < 0:
            raise PrivsegError("audit field 'seq' must be >= 0")
        _sha("prev", self.prev)
        uuid.UUID(self.run_id)
        for name in ("started", "ended"):
            datetime.fromisoformat(getattr(self, name))
        _operator(self.operator)
        _ident("command", self.command.replace(" ", "_"))
        _opt_text("purpose", self.purpose)
        if self.policy_sha256 is not None:
            _sha("policy_sha256", self.policy_sha256)
        if self.key_id is not None:
            valid_key_id(self.key_id)
        valid_number("epsilon_spent", self.epsilon_spent)
        valid_number("epsilon_remaining", self.epsilon_remaining)
        for name, value in self.metrics:
            valid_metric(name, value)
        _ident("outcome", self.outcome)

    @property
    def ok(self) -> bool:
        """True when the run succeeded."""
        return self.outcome == SUCCESS

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["metrics"] = dict(self.metrics)
        return data

    def unsigned_bytes(self) -> bytes:
        """Canonical bytes that the signature covers (the record without ``signature``)."""
        data = self.to_dict()
        del data["signature"]
        return canonical(data)

    def canonical(self) -> bytes:
        """The record's line in the trail, without the newline."""
        return canonical(self.to_dict())

    def digest(self) -> str:
        """SHA-256 of the canonical line: the next record's ``prev``."""
        return sha256_hex(self.canonical())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditRecord:
        """Rebuild a record from its JSON object; raises on missing or unknown fields."""
        expected = {f for f in cls.__dataclass_fields__}
        if set(data) != expected:
            raise ValueError("record fields differ from the record layout")
        if data["format"] != FORMAT:
            raise ValueError("unknown record format")
        return cls(
            **{
                **data,
                "inputs": tuple(DatasetRef.from_dict(d) for d in data["inputs"]),
                "columns": tuple(ColumnEntry.from_dict(c) for c in data["columns"]),
                "outputs": tuple(DatasetRef.from_dict(d) for d in data["outputs"]),
                "metrics": tuple(sorted(data["metrics"].items())),
            }
        )


def canonical(data: Mapping[str, Any]) -> bytes:
    """Canonical JSON bytes: sorted keys, UTF-8, compact separators, NaN refused."""
    return json.dumps(
        data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data`` as lowercase hex."""
    return hashlib.sha256(data).hexdigest()


def parse_line(line: bytes) -> AuditRecord:
    """A record from its line; ValueError unless it parses, fits the layout and is canonical."""
    data = json.loads(line.decode("utf-8"), parse_constant=_no_constants)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    record = AuditRecord.from_dict(data)
    if record.canonical() != line:
        raise ValueError("not in canonical form")
    return record


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")
