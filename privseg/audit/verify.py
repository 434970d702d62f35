"""Reading and verifying the trail: signatures, chain, order and the checkpoint; the first bad
record is reported with what is wrong with it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from privseg.audit.append import (
    default_trail,
    line_hash,
    own_checkpoint,
    public_key_path,
    signed_by,
    trail_lines,
)
from privseg.audit.records import GENESIS, AuditRecord, parse_line, sha256_hex
from privseg.audit.signers import SignerBook
from privseg.audit.signing import (
    checkpoint_path,
    default_key_path,
    load_private_key,
    load_public_pem,
    read_checkpoint,
    verify_signature,
)
from privseg.errors import IntegrityError, PrivsegError, SourceNotFoundError

__all__ = ["Problem", "VerifyResult", "ensure_valid", "first_bad", "read_records", "verify"]


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
    UNAUTHORIZED = "unauthorized"


def read_records(trail: Path | None = None) -> list[AuditRecord]:
    """All records, in order (parsing only; ``verify`` checks the chain and signatures)."""
    trail = trail or default_trail()
    if not trail.exists():
        raise SourceNotFoundError("audit trail does not exist", source=trail)
    lines, torn = trail_lines(trail)
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


def _bootstrap_key(trail: Path, key_path: Path) -> Ed25519PublicKey | str:
    """The bootstrap signer's key (beside the trail, else the signing key's) or a problem."""
    pub = public_key_path(trail)
    if pub.exists():
        return load_public_pem(pub)
    if key_path.exists():
        return load_private_key(key_path, create=False).public_key()
    return "no signing key and no public key beside the trail"


def verify(trail: Path | None = None, *, key: Path | None = None) -> VerifyResult:
    """Check signatures, chain, order and the checkpoint; report the first bad record."""
    trail = trail or default_trail()
    key_path = key or default_key_path()
    name = str(trail)
    public = _bootstrap_key(trail, key_path)
    if isinstance(public, str):
        if not trail.exists():
            raise SourceNotFoundError("audit trail does not exist", source=trail)
        return VerifyResult(name, 0, Problem.KEY, detail=public)
    own = load_private_key(key_path, create=False).public_key() if key_path.exists() else public
    cp_path = checkpoint_path(trail, key_path)
    if not trail.exists():
        try:
            checkpoint = read_checkpoint(cp_path, trail, own)
        except IntegrityError as error:
            return VerifyResult(name, 0, Problem.CHECKPOINT, detail=str(error))
        if checkpoint is None:
            raise SourceNotFoundError("audit trail does not exist", source=trail)
        held = f"trail missing; checkpoint holds {checkpoint.count} records"
        return VerifyResult(name, 0, Problem.TRUNCATED, 1, held)
    lines, torn = trail_lines(trail)
    complete = lines[:-1] if torn else lines
    count = len(complete)
    book = SignerBook(public)
    found = first_bad(name, complete, book)
    if found is not None:
        return found
    try:
        checkpoint, mine = own_checkpoint(cp_path, trail, own, book)
    except IntegrityError as error:
        return VerifyResult(name, 0, Problem.CHECKPOINT, detail=str(error))
    if torn:
        why = "unterminated last line (crash in mid-write); 'privseg audit repair' drops it"
        return VerifyResult(name, count, Problem.TORN, count + 1, why)
    if checkpoint is None:
        if count == 0 or not signed_by(complete, mine):
            return VerifyResult(name, count, detail=_signers_detail(book))
        why = f"no checkpoint at {cp_path}: a cut tail could not be detected"
        return VerifyResult(name, count, Problem.CHECKPOINT, detail=why)
    if count < checkpoint.count:
        why = f"{checkpoint.count - count} records cut from the tail ({checkpoint.count} checkpointed)"
        return VerifyResult(name, count, Problem.TRUNCATED, count + 1, why)
    if line_hash(complete, checkpoint.count - 1) != checkpoint.head:
        why = f"trail head does not match the checkpoint ({checkpoint.count} records)"
        return VerifyResult(name, count, Problem.CHECKPOINT, detail=why)
    newer = signed_by(complete, mine, checkpoint.count)
    if len(newer) > 1:
        why = f"{len(newer)} records of key {mine[0]} after its checkpoint ({checkpoint.count} records)"
        return VerifyResult(name, count, Problem.CHECKPOINT, detail=why)
    if newer:
        why = "last record not yet checkpointed (crash after write); the next append records it"
        return VerifyResult(name, count, detail=why)
    return VerifyResult(name, count, detail=_signers_detail(book))


def _signers_detail(book: SignerBook) -> str:
    """'n signers' once a trail has more than its bootstrap signer, else nothing."""
    return f"{len(book.signers)} signers" if len(book.signers) > 1 else ""


def _signed_record(line: bytes, book: SignerBook) -> AuditRecord | None:
    """The record on ``line`` if it parses and its signature verifies under a key the signer
    list has known so far, else None."""
    try:
        record = parse_line(line)
    except (ValueError, KeyError, TypeError, PrivsegError):
        return None
    key = book.key(record.signer)
    if key is None or not verify_signature(key, record.signature, record.unsigned_bytes()):
        return None
    return record


def first_bad(name: str, lines: Sequence[bytes], book: SignerBook) -> VerifyResult | None:
    """Walk the records, each against the signer list in force at that point (``book`` is
    brought up to date); classify the first one that is not the expected next record."""
    first = _signer_of(lines[0]) if lines else ""
    if first and book.key(first) is None:
        why = "the public key beside the trail did not sign the first record"
        return VerifyResult(name, 0, Problem.KEY, detail=why)
    parsed: list[AuditRecord | None] = []
    for i, line in enumerate(lines):
        parsed.append(_signed_record(line, book))
        record = parsed[i]
        if record is None or record.seq != i or record.prev != line_hash(lines, i - 1):
            parsed.extend(_signed_record(rest, book) for rest in lines[i + 1 :])
            found = _classify(name, lines, parsed, i)
            signer = _signer_of(line)
            if found.problem is Problem.ALTERED and signer and book.key(signer) is None:
                why = f"signed by key {signer}, which is not on the signer list"
                return replace(found, problem=Problem.UNAUTHORIZED, detail=why)
            return found
        if not book.authorized(record.signer):
            why = f"signed by key {record.signer}, which was not an authorized signer then"
            return VerifyResult(name, i, Problem.UNAUTHORIZED, i + 1, why)
        try:
            book.apply(record)
        except (ValueError, IntegrityError):
            why = "a signer change that does not apply to the signer list"
            return VerifyResult(name, i, Problem.ALTERED, i + 1, why)
    return None


def _signer_of(line: bytes) -> str:
    try:
        return parse_line(line).signer
    except (ValueError, KeyError, TypeError, PrivsegError):
        return ""


def _classify(
    name: str, lines: Sequence[bytes], parsed: Sequence[AuditRecord | None], i: int
) -> VerifyResult:
    """What is wrong with record ``i``, the first that is not the expected next record."""
    record = parsed[i]
    prev = line_hash(lines, i - 1)
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


def ensure_valid(trail: Path | None = None, *, key: Path | None = None) -> VerifyResult:
    """``verify``, raising IntegrityError with the first bad record unless the trail is OK."""
    result = verify(trail, key=key)
    if not result.ok:
        raise IntegrityError(str(result))
    return result
