"""Hash-chained, signed, append-only audit trail of every run that reads personal data.

One JSON line per run (``AuditRecord``), canonical bytes (sorted keys, UTF-8, no NaN, no
spaces). Each record carries its position ``seq`` (0-based), ``prev`` (SHA-256 of the previous
line; 64 zeros for the first) and an Ed25519 ``signature`` over its canonical bytes without the
signature. The signing key lives apart from the trail (``~/.config/privseg/audit-signing.key``
or ``PRIVSEG_AUDIT_KEY``; created on first use with mode 0600); its public key is written
beside the trail (``trail.jsonl.pub``, PEM).

A hash chain cannot show that its tail was cut off, so every append also rewrites a signed
checkpoint (record count and head hash) kept next to the signing key, in
``<key folder>/checkpoints/<sha256 of the trail's absolute path>.json``: deleting the last
records of the trail is then detected without coupling the trail to the budget ledger.

Appends take an ``fcntl.flock`` on ``trail.jsonl.lock``, read the head under the lock, write the
whole line with one ``os.write`` on an ``O_APPEND`` descriptor, fsync, then replace the
checkpoint atomically. A crash can leave at worst an unterminated last line (``verify`` reports
it as torn and appends refuse to build on it until ``repair`` drops it: it never was part of the
checkpointed trail), or a record written but not yet checkpointed (valid, signed and chained; the
checkpoint lags by one and the next append rolls it forward).

Records never hold raw values: only counts, ids, hashes, category ids and column names, and
free-form fields are refused when they look like personal data.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import math
import os
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from privseg import __version__
from privseg.errors import IntegrityError, KeyFileError, PrivsegError, SourceNotFoundError
from privseg.taxonomy import Category

if TYPE_CHECKING:
    from privseg.dp.types import Release
    from privseg.policy import Policy
    from privseg.screening import ScreenReport

__all__ = [
    "FORMAT",
    "GENESIS",
    "SUCCESS",
    "UNDECLARED",
    "AuditRecord",
    "ColumnEntry",
    "DatasetRef",
    "Problem",
    "RunRecorder",
    "VerifyResult",
    "append",
    "checkpoint_path",
    "default_key_path",
    "default_trail",
    "ensure_valid",
    "public_key_path",
    "read_records",
    "repair",
    "resolve_operator",
    "run",
    "verify",
]

#: Version of the record layout.
FORMAT = 1
#: ``prev`` of the first record.
GENESIS = "0" * 64
#: ``outcome`` of a run that finished without error.
SUCCESS = "success"
#: ``reason`` of a column dropped because the policy does not name it.
UNDECLARED = "not declared by the policy (PIPL Art. 6)"

ENV_TRAIL = "PRIVSEG_TRAIL"
ENV_KEY = "PRIVSEG_AUDIT_KEY"
ENV_OPERATOR = "PRIVSEG_OPERATOR"

_HEX64 = re.compile(r"[0-9a-f]{64}")
_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,63}")
_TAIL_BLOCK = 65536
_MAX_TEXT = 200

# Shapes of personal data that must never reach a record (checked on free-form strings).
_RAW_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email address", re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")),
    ("resident ID number", re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")),
    ("mobile number", re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")),
    ("card or account number", re.compile(r"(?<!\d)\d{12,19}(?!\d)")),
    ("IP address", re.compile(r"(?<!\d)(?:\d{1,3}\.){3}\d{1,3}(?!\d)")),
    ("coordinates", re.compile(r"-?\d{1,3}\.\d{3,}\s*,\s*-?\d{1,3}\.\d{3,}")),
    (
        "WeChat identifier",
        re.compile(
            r"(?<![A-Za-z0-9])(?:o[A-Za-z0-9_-]{27}|w[mo][A-Za-z0-9_-]{30})(?![A-Za-z0-9_-])"
        ),
    ),
)


Metric = int | float | str | bool


class Problem(StrEnum):
    """What ``verify`` found wrong, at the first bad record."""

    ALTERED = "altered"
    REMOVED = "removed"
    REORDERED = "reordered"
    INSERTED = "inserted"
    TRUNCATED = "truncated"
    TORN = "torn"
    CHECKPOINT = "checkpoint"
    KEY = "key"


# --------------------------------------------------------------------------- validation


def _refuse_raw(name: str, value: str) -> str:
    """Return ``value`` unless it looks like a raw personal value (never quoted in the error)."""
    if len(value) > _MAX_TEXT:
        raise PrivsegError(f"audit field {name!r} is longer than {_MAX_TEXT} characters")
    if any(ord(c) < 32 for c in value):
        raise PrivsegError(f"audit field {name!r} holds control characters")
    for shape, pattern in _RAW_SHAPES:
        if pattern.search(value):
            raise PrivsegError(
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
    return None if value is None else _refuse_raw(name, value)


def _ident(name: str, value: str) -> str:
    if not _ID.fullmatch(value):
        raise PrivsegError(f"audit field {name!r} must be an id ([A-Za-z_][A-Za-z0-9_.:-]*)")
    return _refuse_raw(name, value)


def _sha(name: str, value: str) -> str:
    if not _HEX64.fullmatch(value):
        raise PrivsegError(f"audit field {name!r} must be a lowercase hex SHA-256")
    return value


def _number(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PrivsegError(f"audit field {name!r} must be a finite number")
    return float(value)


def _metric(name: str, value: Metric) -> Metric:
    _ident("metrics", name)
    if isinstance(value, str):
        _refuse_raw(f"metrics.{name}", value)
    elif not isinstance(value, bool):
        _number(f"metrics.{name}", value)
    return value


# --------------------------------------------------------------------------- values


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
        _refuse_raw("path", self.path)
        _sha("sha256", self.sha256)
        if self.rows is not None and (
            isinstance(self.rows, bool) or not isinstance(self.rows, int) or self.rows < 0
        ):
            raise PrivsegError("audit field 'rows' must be a count")
        object.__setattr__(self, "columns", tuple(self.columns))
        for column in self.columns:
            _refuse_raw("columns", column)

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
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return cls(absolute, digest.hexdigest(), rows, tuple(str(c) for c in columns))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetRef:
        return cls(data["path"], data["sha256"], data["rows"], tuple(data["columns"]))

    @classmethod
    def from_manifest(cls, data: Mapping[str, Any]) -> DatasetRef:
        """From a fingerprint in an apply manifest (path made absolute)."""
        return cls.from_dict({**data, "path": str(Path(data["path"]).absolute())})


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
        _refuse_raw("column", self.name)
        cats = tuple(str(Category(c)) for c in self.categories)
        object.__setattr__(self, "categories", cats)
        _ident("action", self.action)
        object.__setattr__(self, "output_columns", tuple(self.output_columns))
        for column in self.output_columns:
            _refuse_raw("output_columns", column)
        _opt_text("source", self.source)
        _opt_text("reason", self.reason)
        _opt_text("consent", self.consent)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnEntry:
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
        _opt_text("key_id", self.key_id)
        _number("epsilon_spent", self.epsilon_spent)
        _number("epsilon_remaining", self.epsilon_remaining)
        for name, value in self.metrics:
            _metric(name, value)
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
        return _sha256(self.canonical())

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


# --------------------------------------------------------------------------- locations


def default_trail() -> Path:
    """``PRIVSEG_TRAIL`` or ``audits/trail.jsonl`` under the working folder."""
    env = os.environ.get(ENV_TRAIL)
    return Path(env) if env else Path.cwd() / "audits" / "trail.jsonl"


def default_key_path() -> Path:
    """``PRIVSEG_AUDIT_KEY`` or ``$XDG_CONFIG_HOME/privseg/audit-signing.key`` (~/.config)."""
    env = os.environ.get(ENV_KEY)
    if env:
        return Path(env)
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "privseg" / "audit-signing.key"


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


def public_key_path(trail: Path) -> Path:
    """Where the trail's public key lives: beside it, ``<trail>.pub``."""
    return trail.with_name(trail.name + ".pub")


def _lock_path(trail: Path) -> Path:
    return trail.with_name(trail.name + ".lock")


def checkpoint_path(trail: Path, key: Path) -> Path:
    """The trail's signed checkpoint, next to the signing key (apart from the trail)."""
    tag = hashlib.sha256(str(trail.absolute()).encode("utf-8")).hexdigest()[:32]
    return key.parent / "checkpoints" / f"{tag}.json"


# --------------------------------------------------------------------------- keys


def _write_temp(path: Path, data: bytes, mode: int) -> Path:
    """Write ``data`` to a fresh, fsynced temp file beside ``path``; return its path."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        _write_line(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return tmp


def _write_exclusive(path: Path, data: bytes, mode: int) -> bool:
    """Create ``path`` with ``data`` atomically (temp + link); False if it already existed."""
    tmp = _write_temp(path, data, mode)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink()


def _load_private_key(path: Path, *, create: bool) -> Ed25519PrivateKey:
    """Load the signing key (refusing loose permissions); create it 0600 when asked."""
    if not path.exists():
        if not create:
            raise KeyFileError("audit signing key does not exist", source=path)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_exclusive(path, pem, 0o600)
    if path.stat().st_mode & 0o077:
        raise KeyFileError(
            "audit signing key is readable by group or others (chmod 600)", source=path
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as error:
        raise KeyFileError(
            "audit signing key is not a PEM Ed25519 private key", source=path
        ) from error
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError("audit signing key is not an Ed25519 key", source=path)
    return key


def _public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _signer_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _load_public_pem(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except ValueError as error:
        raise IntegrityError(f"{path}: not a PEM public key") from error
    if not isinstance(key, Ed25519PublicKey):
        raise IntegrityError(f"{path}: not an Ed25519 public key")
    return key


def _verify_sig(key: Ed25519PublicKey, signature: str, data: bytes) -> bool:
    try:
        key.verify(bytes.fromhex(signature), data)
    except (InvalidSignature, ValueError):
        return False
    return True


# --------------------------------------------------------------------------- checkpoint


@dataclass(frozen=True)
class _Checkpoint:
    trail: str
    count: int
    head: str
    signer: str
    signature: str = ""

    def unsigned_bytes(self) -> bytes:
        data = asdict(self)
        del data["signature"]
        return canonical(data)


def _read_checkpoint(path: Path, trail: Path, key: Ed25519PublicKey) -> _Checkpoint | None:
    """The checkpoint, None if absent; IntegrityError if forged or for another trail."""
    try:
        data = json.loads(path.read_bytes())
        cp = _Checkpoint(**data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as error:
        raise IntegrityError(f"checkpoint {path} does not parse") from error
    if not _verify_sig(key, cp.signature, cp.unsigned_bytes()):
        raise IntegrityError(f"checkpoint {path}: signature does not verify")
    if cp.trail != str(trail.absolute()):
        raise IntegrityError(f"checkpoint {path} belongs to another trail")
    return cp


def _write_checkpoint(
    path: Path, trail: Path, count: int, head: str, key: Ed25519PrivateKey
) -> None:
    cp = _Checkpoint(str(trail.absolute()), count, head, _signer_id(key.public_key()))
    cp = replace(cp, signature=key.sign(cp.unsigned_bytes()).hex())
    os.replace(_write_temp(path, canonical(asdict(cp)) + b"\n", 0o600), path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- appending


@contextmanager
def _locked(trail: Path) -> Iterator[None]:
    trail.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(_lock_path(trail), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _tail(trail: Path) -> tuple[bytes | None, bool]:
    """The last line of the trail (without newline) and whether it is torn (unterminated)."""
    try:
        fd = os.open(trail, os.O_RDONLY)
    except FileNotFoundError:
        return None, False
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return None, False
        torn = os.pread(fd, 1, size - 1) != b"\n"
        pos = size if torn else size - 1  # the last line ends here
        buf = b""
        while pos > 0:
            step = min(_TAIL_BLOCK, pos)
            pos -= step
            buf = os.pread(fd, step, pos) + buf
            cut = buf.rfind(b"\n")
            if cut >= 0:
                return buf[cut + 1 :], torn
        return buf, torn
    finally:
        os.close(fd)


def _parse_line(line: bytes) -> AuditRecord:
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


def _check_pubfile(trail: Path, key: Ed25519PublicKey) -> None:
    """Write the public key beside the trail; IntegrityError if another key is there."""
    pub = public_key_path(trail)
    pem = _public_pem(key)
    if (pub.exists() or not _write_exclusive(pub, pem, 0o644)) and pub.read_bytes() != pem:
        raise IntegrityError(f"{pub}: the trail was signed with another key")


def _head(trail: Path, cp_path: Path, key: Ed25519PublicKey) -> tuple[int, str]:
    """Next ``seq`` and ``prev``, after checking the trail's tail against its checkpoint."""
    last, torn = _tail(trail)
    if torn:
        raise IntegrityError(
            f"{trail}: last line is torn (a crash in mid-write); run 'privseg audit repair'"
        )
    checkpoint = _read_checkpoint(cp_path, trail, key)
    if last is None:
        if checkpoint is not None and checkpoint.count > 0:
            raise IntegrityError(f"{trail}: truncated: checkpoint holds {checkpoint.count} records")
        return 0, GENESIS
    try:
        record = _parse_line(last)
    except (ValueError, KeyError, TypeError, PrivsegError) as error:
        raise IntegrityError(
            f"{trail}: last record does not parse; run 'privseg audit verify'"
        ) from error
    if not _verify_sig(key, record.signature, record.unsigned_bytes()):
        raise IntegrityError(f"{trail}: last record's signature does not verify")
    head = _sha256(last)
    if checkpoint is None:
        raise IntegrityError(f"{trail}: no checkpoint at {cp_path}; run 'privseg audit verify'")
    current = checkpoint.count == record.seq + 1 and checkpoint.head == head
    lagging = checkpoint.count == record.seq and checkpoint.head == record.prev
    if not (current or lagging):
        raise IntegrityError(
            f"{trail}: tail does not match its checkpoint (truncated or altered); "
            "run 'privseg audit verify'"
        )
    return record.seq + 1, head


def _write_line(fd: int, line: bytes) -> None:
    """Write a whole line with one ``os.write`` (loops only if the kernel writes short)."""
    view = memoryview(line)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def append(
    record: AuditRecord, *, trail: Path | None = None, key: Path | None = None
) -> AuditRecord:
    """Chain, sign and append ``record`` (its seq/prev/signature are set here); return it."""
    trail = trail or default_trail()
    key_path = key or default_key_path()
    private = _load_private_key(key_path, create=True)
    public = private.public_key()
    cp_path = checkpoint_path(trail, key_path)
    with _locked(trail):
        _check_pubfile(trail, public)
        seq, prev = _head(trail, cp_path, public)
        chained = replace(record, seq=seq, prev=prev, signer=_signer_id(public), signature="")
        signed = replace(chained, signature=private.sign(chained.unsigned_bytes()).hex())
        line = signed.canonical()
        created = not trail.exists()
        fd = os.open(trail, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            _write_line(fd, line + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(trail.parent)
        _write_checkpoint(cp_path, trail, seq + 1, _sha256(line), private)
    return signed


def repair(trail: Path | None = None) -> bool:
    """Drop a torn (unterminated) last line left by a crash; True if one was dropped.

    Only that line goes: it was never checkpointed, so no committed record is lost. Anything
    else wrong with the trail is left for ``verify`` to report.
    """
    trail = trail or default_trail()
    with _locked(trail):
        last, torn = _tail(trail)
        if not torn or last is None:
            return False
        size = trail.stat().st_size
        fd = os.open(trail, os.O_WRONLY)
        try:
            os.ftruncate(fd, size - len(last))
            os.fsync(fd)
        finally:
            os.close(fd)
        return True


# --------------------------------------------------------------------------- the run API


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
        """Record an output written (call after the file is in place); as ``add_input``."""
        self.outputs.append(DatasetRef.of(path, fingerprint, rows=rows, columns=columns))

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

    def add_screening(self, report: ScreenReport, path: str | Path) -> None:
        """Record a screening: the input (hashed unless ``-``) and each column's categories."""
        source = None if str(path) == "-" else path
        if source is not None:
            self.add_input(source, rows=report.rows, columns=[c.name for c in report.columns])
        for verdict in report.columns:
            self.add_column(verdict.name, verdict.categories, "screen", source=source)
        self.set_metric("rows_examined", report.rows_examined)
        self.set_metric("full_scan", report.full)

    def add_manifest(self, manifest: Mapping[str, Any], policy: Policy | None = None) -> None:
        """Record a ``privseg.policy.apply_file`` run from its manifest: input, key id, each
        column's categories, action and outputs (why undeclared ones were dropped, consent
        flags from ``policy``), output."""
        source = manifest["input"]["path"]
        self.inputs.append(DatasetRef.from_manifest(manifest["input"]))
        self.set_key_id(manifest["key_id"])
        for column in manifest["columns"]:
            rule = None if policy is None else policy.fields.get(column["column"])
            consent = [
                name
                for name in ("separate_consent", "guardian_consent")
                if rule is not None and getattr(rule, name)
            ]
            self.add_column(
                column["column"],
                column["categories"],
                column["action"],
                output_columns=column["output_columns"],
                source=source,
                reason=None if column["declared"] else UNDECLARED,
                consent=",".join(consent) or None,
            )
        self.outputs.append(DatasetRef.from_manifest(manifest["output"]))

    def add_release(
        self,
        release: Release,
        remaining_epsilon: float,
        *,
        by: Sequence[str] = (),
        measures: Sequence[str] = (),
    ) -> None:
        """Record a DP release: its group-by and measure columns, epsilon spent and remaining
        after it, kind, mechanism and predicted analytic value (outputs: ``add_output``)."""
        plan = release.plan
        out_columns = {str(c) for c in release.table.columns}
        for column in by:
            kept = [column] if column in out_columns else []
            self.add_column(column, (), "group_by", output_columns=kept)
        for column in measures:
            self.add_column(column, (), plan.kind.value)
        self.add_budget(release.epsilon_spent, remaining_epsilon)
        self.set_metric("release_kind", plan.kind.value)
        self.set_metric("mechanism", plan.mechanism.value)
        if plan.predicted_value is not None:
            self.set_metric("predicted_value", plan.predicted_value)

    def set_key_id(self, key_id: str) -> None:
        """Record the id (never the bytes) of the pseudonymization key used."""
        self.key_id = _refuse_raw("key_id", key_id)

    def add_budget(self, spent: float, remaining: float) -> None:
        """Add epsilon spent by a release and set the budget remaining after it."""
        self.epsilon_spent = (self.epsilon_spent or 0.0) + (_number("epsilon_spent", spent) or 0.0)
        self.epsilon_remaining = _number("epsilon_remaining", remaining)

    def set_metric(self, name: str, value: Metric) -> None:
        """A count, number or id worth keeping (e.g. ``analytic_value``, ``k``)."""
        self.metrics[name] = _metric(name, value)

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
    it reads any data (IntegrityError).
    """
    trail = trail or default_trail()
    key_path = key or default_key_path()
    public = _load_private_key(key_path, create=True).public_key()
    with _locked(trail):
        _check_pubfile(trail, public)
        _head(trail, checkpoint_path(trail, key_path), public)
    recorder = RunRecorder(command, resolve_operator(operator), purpose, policy_sha256)
    try:
        yield recorder
    except BaseException as error:
        try:
            append(recorder.record(type(error).__name__), trail=trail, key=key_path)
        except PrivsegError as audit_error:
            error.add_note(f"privseg: the failed run could not be audited: {audit_error}")
        raise
    append(recorder.record(SUCCESS), trail=trail, key=key_path)


# --------------------------------------------------------------------------- reading, verifying


def _lines(trail: Path) -> tuple[list[bytes], bool]:
    """The trail's lines (without newlines) and whether the last one is torn."""
    data = trail.read_bytes()
    if not data:
        return [], False
    torn = not data.endswith(b"\n")
    lines = data.split(b"\n")
    if not torn:
        lines.pop()
    return lines, torn


def read_records(trail: Path | None = None) -> list[AuditRecord]:
    """All records, in order (parsing only; ``verify`` checks the chain and signatures)."""
    trail = trail or default_trail()
    if not trail.exists():
        raise SourceNotFoundError("audit trail does not exist", source=trail)
    lines, torn = _lines(trail)
    if torn:
        raise IntegrityError(f"{trail}: line {len(lines)}: torn; run 'privseg audit repair'")
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            records.append(_parse_line(line))
        except (ValueError, KeyError, TypeError, PrivsegError) as error:
            raise IntegrityError(f"{trail}: line {number}: record does not parse") from error
    return records


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of ``verify``: OK, or the first bad record (``line`` 1-based; record ``line - 1``).

    ``records`` counts the records verified before the problem; ``line`` is None for problems
    that belong to no line (key, checkpoint).
    """

    trail: str
    records: int
    problem: Problem | None = None
    line: int | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.problem is None

    def __str__(self) -> str:
        if self.ok:
            extra = f" ({self.detail})" if self.detail else ""
            return f"OK: {self.trail}: {self.records} records verified{extra}"
        where = "" if self.line is None else f": line {self.line} (seq {self.line - 1})"
        return f"{self.trail}{where}: {self.problem}: {self.detail}"


def _public_key_for(trail: Path, key_path: Path) -> Ed25519PublicKey | str:
    """The key to verify with (the signing key's, else the one beside the trail) or a problem."""
    pub = public_key_path(trail)
    if key_path.exists():
        public = _load_private_key(key_path, create=False).public_key()
        if pub.exists() and _public_pem(_load_public_pem(pub)) != _public_pem(public):
            return f"{pub} is not the signing key's public key"
        return public
    if pub.exists():
        return _load_public_pem(pub)
    return "no signing key and no public key beside the trail"


def verify(trail: Path | None = None, *, key: Path | None = None) -> VerifyResult:
    """Check signatures, chain, order and the checkpoint; report the first bad record."""
    trail = trail or default_trail()
    key_path = key or default_key_path()
    name = str(trail)
    public = _public_key_for(trail, key_path)
    if isinstance(public, str):
        if not trail.exists():
            raise SourceNotFoundError("audit trail does not exist", source=trail)
        return VerifyResult(name, 0, Problem.KEY, detail=public)
    cp_path = checkpoint_path(trail, key_path)
    try:
        checkpoint = _read_checkpoint(cp_path, trail, public)
    except IntegrityError as error:
        return VerifyResult(name, 0, Problem.CHECKPOINT, detail=str(error))
    if not trail.exists():
        if checkpoint is None:
            raise SourceNotFoundError("audit trail does not exist", source=trail)
        held = f"trail missing; checkpoint holds {checkpoint.count} records"
        return VerifyResult(name, 0, Problem.TRUNCATED, 1, held)
    lines, torn = _lines(trail)
    complete = lines[:-1] if torn else lines
    count = len(complete)
    found = _first_bad(name, complete, public)
    if found is not None:
        return found
    if torn:
        why = "unterminated last line (crash in mid-write); 'privseg audit repair' drops it"
        return VerifyResult(name, count, Problem.TORN, count + 1, why)
    if checkpoint is None:
        if count == 0:
            return VerifyResult(name, 0)
        why = f"no checkpoint at {cp_path}: a cut tail could not be detected"
        return VerifyResult(name, count, Problem.CHECKPOINT, detail=why)
    if count < checkpoint.count:
        why = f"{checkpoint.count - count} records cut from the tail ({checkpoint.count} checkpointed)"
        return VerifyResult(name, count, Problem.TRUNCATED, count + 1, why)
    if count == checkpoint.count and _line_hash(complete, count - 1) == checkpoint.head:
        return VerifyResult(name, count)
    if count == checkpoint.count + 1 and _line_hash(complete, count - 2) == checkpoint.head:
        why = "last record not yet checkpointed (crash after write); the next append records it"
        return VerifyResult(name, count, detail=why)
    why = f"trail head does not match the checkpoint ({checkpoint.count} records)"
    return VerifyResult(name, count, Problem.CHECKPOINT, detail=why)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _line_hash(lines: Sequence[bytes], index: int) -> str:
    return GENESIS if index < 0 else _sha256(lines[index])


def _signed_record(line: bytes, public: Ed25519PublicKey) -> AuditRecord | None:
    """The record on ``line`` if it parses and its signature verifies, else None."""
    try:
        record = _parse_line(line)
    except (ValueError, KeyError, TypeError, PrivsegError):
        return None
    return record if _verify_sig(public, record.signature, record.unsigned_bytes()) else None


def _first_bad(name: str, lines: Sequence[bytes], public: Ed25519PublicKey) -> VerifyResult | None:
    """Walk the records; classify the first one that is not the expected next record."""
    parsed = [_signed_record(line, public) for line in lines]
    for i, record in enumerate(parsed):
        prev = _line_hash(lines, i - 1)
        if record is not None and record.seq == i and record.prev == prev:
            continue
        following = parsed[i + 1] if i + 1 < len(parsed) else None
        skipped = following is not None and following.seq == i and following.prev == prev
        if record is None:
            problem = Problem.INSERTED if skipped else Problem.ALTERED
            why = "does not parse or its signature does not verify"
        elif lines.count(lines[i]) > 1:
            problem, why = Problem.INSERTED, f"a copy of record {record.seq}"
        elif skipped and record.prev not in {GENESIS, *map(_sha256, lines)}:
            problem, why = Problem.INSERTED, "a record from another chain"
        elif record.seq > i and any(r is not None and r.seq == i for r in parsed[i + 1 :]):
            problem, why = Problem.REORDERED, f"record {record.seq} found where {i} belongs"
        elif record.seq > i:
            problem, why = Problem.REMOVED, f"records {i}..{record.seq - 1} are missing"
        elif record.seq < i:
            problem, why = Problem.REORDERED, f"record {record.seq} found where {i} belongs"
        else:
            problem, why = Problem.ALTERED, "replaced: its prev hash does not match the chain"
        return VerifyResult(name, i, problem, i + 1, why)
    return None


def ensure_valid(trail: Path | None = None, *, key: Path | None = None) -> VerifyResult:
    """``verify``, raising IntegrityError with the first bad record unless the trail is OK."""
    result = verify(trail, key=key)
    if not result.ok:
        raise IntegrityError(str(result))
    return result
