"""Reading and verifying the trail: signatures, chain, order and the checkpoint; the first bad
record is reported with what is wrong with it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from privseg.audit.append import (
    current_trail_id,
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
    Checkpoint,
    checkpoint_path,
    default_key_path,
    load_private_key,
    load_public_pem,
    public_pem,
    read_checkpoint,
    signer_id,
    verify_signature,
)
from privseg.errors import IntegrityError, PrivsegError, SourceNotFoundError
from privseg.limits import require_regular

__all__ = [
    "Outcome",
    "Problem",
    "VerifyResult",
    "ensure_valid",
    "first_bad",
    "read_records",
    "verify",
]


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
    require_regular(trail, "audit trail")
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


class Outcome(StrEnum):
    """What ``verify`` concludes (``privseg audit verify`` exits 0, 6 and 5)."""

    OK = "OK"
    UNCONFIRMED = "UNCONFIRMED"
    TAMPERED = "TAMPERED"


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of ``verify``: OK, or the first bad record (``line`` 1-based; record ``line - 1``).

    ``records`` counts the records verified before the problem; ``line`` is None for problems
    that belong to no line (key, checkpoint). ``unconfirmed`` lists what could not be checked
    although nothing is wrong: completeness (no checkpoint) or the signer (a key nobody pinned).
    """

    trail: str
    records: int
    problem: Problem | None = None
    line: int | None = None
    detail: str = ""
    unconfirmed: tuple[str, ...] = ()
    signer: str = ""

    @property
    def ok(self) -> bool:
        """Nothing wrong was found (the outcome is OK or UNCONFIRMED)."""
        return self.problem is None

    @property
    def outcome(self) -> Outcome:
        if self.problem is not None:
            return Outcome.TAMPERED
        return Outcome.UNCONFIRMED if self.unconfirmed else Outcome.OK

    def __str__(self) -> str:
        if self.problem is not None:
            where = "" if self.line is None else f": line {self.line} (seq {self.line - 1})"
            return f"TAMPERED: {self.trail}{where}: {self.problem}: {self.detail}"
        extra = f" ({self.detail})" if self.detail else ""
        by = f", signer {self.signer}" if self.signer else ""
        done = f"{self.trail}: {self.records} records verified{by}{extra}"
        if self.unconfirmed:
            return f"UNCONFIRMED: {done}; but " + "; ".join(self.unconfirmed)
        return f"OK: {done}"


@dataclass(frozen=True)
class _Verifier:
    """The bootstrap signer's key (the signer list in the chain starts from it), whether
    anyone vouches for it, and the owner's signing key (file and public key), whose folder
    holds its checkpoints."""

    key: Ed25519PublicKey
    pinned: bool  # the owner's signing key, or pinned by --public-key / --signer
    owner: Path | None
    own: Ed25519PublicKey | None = None


def _matches(key: Ed25519PublicKey, signer: str) -> bool:
    """Whether ``signer`` (a signer id of 16 or more hex digits) names ``key``."""
    wanted = signer.strip().lower()
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    full = sha256_hex(raw)
    return len(wanted) >= len(signer_id(key)) and full.startswith(wanted)


def _verifier(
    trail: Path, key: Path | None, public_key: Path | None, signer: str | None
) -> _Verifier | str:
    """The verifying key (pinned, the owner's, else the one beside the trail) or a problem."""
    pub = public_key_path(trail)
    beside = load_public_pem(pub) if pub.exists() else None
    if public_key is not None:
        pinned = load_public_pem(public_key)
        if signer is not None and not _matches(pinned, signer):
            return f"{public_key} is key {signer_id(pinned)}, not the pinned signer {signer}"
        return _Verifier(pinned, True, None)
    if signer is not None:
        if beside is None:
            raise SourceNotFoundError(
                "no public key beside the trail to check --signer against; pass --public-key",
                source=pub,
            )
        if not _matches(beside, signer):
            return f"{pub} is key {signer_id(beside)}, not the pinned signer {signer}"
        return _Verifier(beside, True, None)
    key_path = key or default_key_path()
    if key_path.exists():
        owner = load_private_key(key_path, create=False).public_key()
        if beside is None or public_pem(beside) == public_pem(owner):
            return _Verifier(owner, True, key_path, owner)
        # another signer bootstrapped the trail: the owner's checkpoint, if it signed here,
        # confirms the key beside it
        return _Verifier(beside, False, key_path, owner)
    if beside is not None:
        return _Verifier(beside, False, None)
    if not trail.exists():
        raise SourceNotFoundError("audit trail does not exist", source=trail)
    raise SourceNotFoundError(
        "no key to verify with: no signing key and no public key beside the trail; "
        "pass --public-key",
        source=trail,
    )


def _checkpoint(
    trail: Path, verifier: _Verifier, handed: Path | None, book: SignerBook
) -> tuple[Checkpoint | None, tuple[str, ...]]:
    """The checkpoint handed over (``--checkpoint``, signed by any key of the signer list),
    else the owner's local one (found by the trail's path, or by its id when the trail was
    moved), and the key ids whose records it covers; IntegrityError if forged."""
    tid = current_trail_id(trail)
    if handed is not None:
        signer = _checkpoint_signer(handed)
        key = book.key(signer)
        if key is None:
            raise IntegrityError(f"checkpoint {handed}: signed by key {signer}, not a signer")
        found = read_checkpoint(handed, key, trail_id=tid, trail=trail)
        if found is None:
            raise SourceNotFoundError("checkpoint file does not exist", source=handed)
        return found, book.lineage(signer)
    if verifier.owner is None or verifier.own is None:
        return None, ()
    local, mine = own_checkpoint(checkpoint_path(trail, verifier.owner), trail, verifier.own, book)
    if local is not None or tid is None:
        return local, mine
    for path in sorted((verifier.owner.parent / "checkpoints").glob("*.json")):
        try:
            return read_checkpoint(path, verifier.own, trail_id=tid), mine
        except IntegrityError:
            continue  # another trail's checkpoint
    return None, mine


def _checkpoint_signer(path: Path) -> str:
    """The key id a checkpoint file names as its signer (checked by ``read_checkpoint``)."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError as error:
        raise SourceNotFoundError("checkpoint file does not exist", source=path) from error
    except ValueError as error:
        raise IntegrityError(f"checkpoint {path} does not parse") from error
    signer = data.get("signer") if isinstance(data, dict) else None
    if not isinstance(signer, str):
        raise IntegrityError(f"checkpoint {path} names no signer")
    return signer


def verify(
    trail: Path | None = None,
    *,
    key: Path | None = None,
    public_key: Path | None = None,
    signer: str | None = None,
    checkpoint: Path | None = None,
) -> VerifyResult:
    """Check signatures, chain, order and the checkpoint; report the first bad record.

    The records must verify under a pinned key (``public_key`` PEM, or ``signer``: the signer
    id of the public key beside the trail), else the owner's signing key (``key``, default
    ``~/.config/privseg/audit-signing.key``), else the public key beside the trail, which
    leaves the signer unconfirmed. Completeness needs a checkpoint: ``checkpoint`` (a file
    exported by ``export_checkpoint``), else the owner's own; without one it is unconfirmed.
    """
    trail = trail or default_trail()
    name = str(trail)
    if trail.exists():
        require_regular(trail, "audit trail")
    try:
        verifier = _verifier(trail, key, public_key, signer)
    except IntegrityError as error:
        return VerifyResult(name, 0, Problem.KEY, detail=str(error))
    if isinstance(verifier, str):
        if not trail.exists():
            raise SourceNotFoundError("audit trail does not exist", source=trail)
        return VerifyResult(name, 0, Problem.KEY, detail=verifier)
    if not trail.exists():
        try:
            cp, _ = _checkpoint(trail, verifier, checkpoint, SignerBook(verifier.key))
        except IntegrityError as error:
            return VerifyResult(name, 0, Problem.CHECKPOINT, detail=str(error))
        if cp is None:
            raise SourceNotFoundError("audit trail does not exist", source=trail)
        held = f"trail missing; checkpoint holds {cp.count} records"
        return VerifyResult(name, 0, Problem.TRUNCATED, 1, held)
    lines, torn = trail_lines(trail)
    complete = lines[:-1] if torn else lines
    count = len(complete)
    book = SignerBook(verifier.key)
    found = first_bad(name, complete, book)
    if found is not None:
        return found
    try:
        cp, mine = _checkpoint(trail, verifier, checkpoint, book)
    except IntegrityError as error:
        return VerifyResult(name, 0, Problem.CHECKPOINT, detail=str(error))
    if torn:
        why = "unterminated last line (crash in mid-write); 'privseg audit repair' drops it"
        return VerifyResult(name, count, Problem.TORN, count + 1, why)
    who = signer_id(verifier.key)
    owner_signed = verifier.own is not None and bool(signed_by(complete, mine))
    # the owner's own checkpoint covers record 0, so it vouches for the key beside the trail
    confirmed = verifier.pinned or (cp is not None and checkpoint is None and owner_signed)
    unconfirmed = [] if confirmed else [_UNPINNED.format(who=who)]
    if cp is None:
        if count:
            unconfirmed.append(_NO_CHECKPOINT_OWNER if owner_signed else _NO_CHECKPOINT)
        return VerifyResult(name, count, unconfirmed=tuple(unconfirmed), signer=who)
    if count < cp.count:
        why = f"{cp.count - count} records cut from the tail ({cp.count} checkpointed)"
        return VerifyResult(name, count, Problem.TRUNCATED, count + 1, why)
    if line_hash(complete, cp.count - 1) != cp.head:
        why = f"trail head does not match the checkpoint ({cp.count} records)"
        return VerifyResult(name, count, Problem.CHECKPOINT, detail=why)
    detail = _signers_detail(book)
    if count > cp.count:
        newer = signed_by(complete, mine, cp.count)
        if checkpoint is not None:
            detail = f"{count - cp.count} records newer than the checkpoint"
        elif len(newer) > 1:
            why = f"{len(newer)} records of key {mine[0]} after its checkpoint (only one may be)"
            return VerifyResult(name, count, Problem.CHECKPOINT, detail=why)
        elif newer:
            detail = (
                "last record not yet checkpointed (crash after write); the next append records it"
            )
    return VerifyResult(name, count, detail=detail, unconfirmed=tuple(unconfirmed), signer=who)


def _signers_detail(book: SignerBook) -> str:
    """'n signers' once a trail has more than its bootstrap signer, else nothing."""
    return f"{len(book.signers)} signers" if len(book.signers) > 1 else ""


_UNPINNED = (
    "signer not confirmed: the records verify under the public key beside the trail "
    "(signer {who}), which whoever wrote the trail could have replaced; pin it with "
    "--signer {who} or --public-key FILE"
)
_NO_CHECKPOINT = (
    "completeness not confirmed: no checkpoint, so records cut from the end would go "
    "unnoticed; pass --checkpoint FILE (made by 'privseg audit checkpoint')"
)
_NO_CHECKPOINT_OWNER = (
    "completeness not confirmed: the checkpoint is missing; 'privseg audit repair' checks the "
    "trail and checkpoints it again"
)


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
