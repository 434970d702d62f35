"""Reading and verifying the trail: signatures, chain, order and the checkpoint; the first bad
record is reported with what is wrong with it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from privseg.audit.append import default_trail, public_key_path
from privseg.audit.records import GENESIS, AuditRecord, parse_line, sha256_hex
from privseg.audit.signing import (
    checkpoint_path,
    default_key_path,
    load_private_key,
    load_public_pem,
    public_pem,
    read_checkpoint,
    verify_signature,
)
from privseg.errors import IntegrityError, PrivsegError, SourceNotFoundError

__all__ = ["Problem", "VerifyResult", "ensure_valid", "read_records", "verify"]


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
            records.append(parse_line(line))
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
        public = load_private_key(key_path, create=False).public_key()
        if pub.exists() and public_pem(load_public_pem(pub)) != public_pem(public):
            return f"{pub} is not the signing key's public key"
        return public
    if pub.exists():
        return load_public_pem(pub)
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
        checkpoint = read_checkpoint(cp_path, trail, public)
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


def _line_hash(lines: Sequence[bytes], index: int) -> str:
    return GENESIS if index < 0 else sha256_hex(lines[index])


def _signed_record(line: bytes, public: Ed25519PublicKey) -> AuditRecord | None:
    """The record on ``line`` if it parses and its signature verifies, else None."""
    try:
        record = parse_line(line)
    except (ValueError, KeyError, TypeError, PrivsegError):
        return None
    return record if verify_signature(public, record.signature, record.unsigned_bytes()) else None


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
        elif skipped and record.prev not in {GENESIS, *map(sha256_hex, lines)}:
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
