"""Appending to the trail: its paths, the locked append and the repair of a torn line.

Appends take an ``fcntl.flock`` on ``trail.jsonl.lock``, read the trail under the lock (its
signer list, replayed by ``signers``, must authorize the key; its last record must be signed
by a key authorized then), write the whole line with one ``os.write`` on an ``O_APPEND``
descriptor, fsync, then replace the signing key's checkpoint atomically. Each key folder keeps
its own checkpoint: other signers' records may follow it, but at most one of its own (below).
A crash can leave at worst an unterminated last line (``verify`` reports it as torn and appends
refuse to build on it until ``repair`` drops it: it never was part of the checkpointed trail),
or a record written but not yet checkpointed (valid, signed and chained; the checkpoint lags by
one and the next append rolls it forward).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from privseg._files import atomic_path, fsync_dir
from privseg.audit.records import ENV_TRAIL, GENESIS, AuditRecord, parse_line, sha256_hex
from privseg.audit.signers import SignerBook
from privseg.audit.signing import (
    Checkpoint,
    checkpoint_path,
    default_key_path,
    load_private_key,
    load_public_pem,
    private_pem,
    public_pem,
    read_checkpoint,
    signed_checkpoint,
    signer_id,
    trail_id,
    write_checkpoint,
    write_exclusive,
)
from privseg.errors import IntegrityError, PrivsegError, UnauthorizedSignerError
from privseg.lifecycle import critical

__all__ = [
    "append",
    "check_head",
    "current_trail_id",
    "default_trail",
    "drop_torn_line",
    "first_line",
    "line_hash",
    "locked",
    "own_checkpoint",
    "public_key_path",
    "signed_by",
    "trail_lines",
    "write_line",
]

_TAIL_BLOCK = 65536
_MAX_LINE = 16 << 20


def default_trail() -> Path:
    """``PRIVSEG_TRAIL`` or ``audits/trail.jsonl`` under the working folder."""
    env = os.environ.get(ENV_TRAIL)
    return Path(env) if env else Path.cwd() / "audits" / "trail.jsonl"


def public_key_path(trail: Path) -> Path:
    """Where the trail's public key lives: beside it, ``<trail>.pub``."""
    return trail.with_name(trail.name + ".pub")


def _lock_path(trail: Path) -> Path:
    return trail.with_name(trail.name + ".lock")


@contextmanager
def locked(trail: Path) -> Iterator[None]:
    """Hold the trail's lock (``trail.jsonl.lock``) for the block."""
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


def first_line(trail: Path) -> bytes | None:
    """The trail's first line without its newline (None when empty or missing)."""
    try:
        with trail.open("rb") as handle:
            line = handle.readline(_MAX_LINE)
    except FileNotFoundError:
        return None
    return line.rstrip(b"\n") or None


def current_trail_id(trail: Path) -> str | None:
    """The id of the trail (hash of its first line), None while it is empty."""
    first = first_line(trail)
    return None if first is None else trail_id(first)


def trail_lines(trail: Path) -> tuple[list[bytes], bool]:
    """The trail's lines (without newlines; none if it does not exist) and whether the last
    one is torn."""
    try:
        data = trail.read_bytes()
    except FileNotFoundError:
        return [], False
    if not data:
        return [], False
    torn = not data.endswith(b"\n")
    lines = data.split(b"\n")
    if not torn:
        lines.pop()
    return lines, torn


def line_hash(lines: Sequence[bytes], index: int) -> str:
    """SHA-256 of line ``index`` (GENESIS before the first)."""
    return GENESIS if index < 0 else sha256_hex(lines[index])


def _bootstrap_key(trail: Path, own: Ed25519PublicKey, empty: bool) -> Ed25519PublicKey:
    """The bootstrap signer's public key beside the trail; the first signer of an empty trail
    writes its own there."""
    pub = public_key_path(trail)
    if empty and not pub.exists():
        write_exclusive(pub, public_pem(own), 0o644)
    if not pub.exists():
        raise IntegrityError(f"{pub}: the trail's public key is missing")
    return load_public_pem(pub)


def signed_by(lines: Sequence[bytes], key_ids: Sequence[str], start: int = 0) -> list[int]:
    """Indexes of the lines from ``start`` on whose record is signed by one of ``key_ids``."""
    found = []
    needles = [key_id.encode("ascii") for key_id in key_ids]
    for index in range(start, len(lines)):
        if any(needle in lines[index] for needle in needles):
            try:
                if parse_line(lines[index]).signer in key_ids:
                    found.append(index)
            except (ValueError, KeyError, TypeError, PrivsegError):
                continue
    return found


def own_checkpoint(
    cp_path: Path, trail: Path, key: Ed25519PublicKey, book: SignerBook
) -> tuple[Checkpoint | None, tuple[str, ...]]:
    """The signing key's checkpoint and the key ids whose records it covers: the key's and,
    after a rotation, its previous key's (a rotation interrupted before the checkpoint was
    signed again leaves one signed by the previous key)."""
    mine = book.lineage(signer_id(key))
    tid = current_trail_id(trail)
    try:
        return read_checkpoint(cp_path, key, trail_id=tid, trail=trail), mine
    except IntegrityError:
        previous = book.key(mine[-1]) if len(mine) > 1 else None
        if previous is None:
            raise
        return read_checkpoint(cp_path, previous, trail_id=tid, trail=trail), mine


def _head(trail: Path, cp_path: Path, key: Ed25519PublicKey) -> tuple[int, str, SignerBook]:
    """Next ``seq`` and ``prev`` and the signer list, after checking the trail's signer
    changes and last record (signed by a key authorized then), that ``key`` may sign, and the
    trail against ``key``'s checkpoint."""
    lines, torn = trail_lines(trail)
    if torn:
        raise IntegrityError(
            f"{trail}: last line is torn (a crash in mid-write); run 'privseg audit repair'"
        )
    book = SignerBook(_bootstrap_key(trail, key, not lines))
    try:
        book.replay(lines)
    except IntegrityError as error:
        raise IntegrityError(f"{trail}: {error}; run 'privseg audit verify'") from error
    own = signer_id(key)
    checkpoint, mine = own_checkpoint(cp_path, trail, key, book)
    if not lines:
        book.require(own, trail=str(trail))
        if checkpoint is not None and checkpoint.count > 0:
            raise IntegrityError(f"{trail}: truncated: checkpoint holds {checkpoint.count} records")
        return 0, GENESIS, book
    record = parse_line(lines[-1])  # replayed above: it parses and its signer may sign it
    book.require(own, trail=str(trail))
    if checkpoint is None:
        if signed_by(lines, mine):
            raise IntegrityError(
                f"{trail}: no checkpoint at {cp_path}; 'privseg audit repair' checks the trail "
                "and checkpoints it again (it drops no record)"
            )
    elif (
        checkpoint.count > len(lines)
        or line_hash(lines, checkpoint.count - 1) != checkpoint.head
        or len(signed_by(lines, mine, checkpoint.count)) > 1
    ):
        raise IntegrityError(
            f"{trail}: tail does not match its checkpoint (truncated or altered); "
            "run 'privseg audit verify', then 'privseg audit repair'"
        )
    return record.seq + 1, line_hash(lines, len(lines) - 1), book


def write_line(fd: int, line: bytes) -> None:
    """Write a whole line with one ``os.write`` (loops only if the kernel writes short)."""
    view = memoryview(line)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def check_head(trail: Path, key_path: Path) -> None:
    """Check, under the lock, that the trail's head matches its checkpoint and that the key
    (created on first use) may sign it: a broken trail raises IntegrityError, an unauthorized
    key UnauthorizedSignerError, before a run reads data."""
    public = load_private_key(key_path, create=True).public_key()
    with locked(trail):
        _signing_head(trail, key_path, public)


def _next_key_path(key_path: Path) -> Path:
    """Where a rotation keeps the new key until its record is written: ``<key>.next``."""
    return key_path.with_name(key_path.name + ".next")


def _promote_next_key(key_path: Path) -> None:
    """Replace the key file by the new key a rotation wrote beside it."""
    os.replace(_next_key_path(key_path), key_path)
    fsync_dir(key_path.parent)


def _signing_head(
    trail: Path, key_path: Path, public: Ed25519PublicKey
) -> tuple[int, str, SignerBook]:
    """``_head`` for the key in ``key_path``, pointing at the new key an interrupted rotation
    left beside it when the old one is refused."""
    try:
        return _head(trail, checkpoint_path(trail, key_path), public)
    except UnauthorizedSignerError as error:
        pending = _next_key_path(key_path)
        if not pending.exists():
            raise
        raise UnauthorizedSignerError(
            f"{error}; an interrupted 'privseg audit rotate-key' left the new key in {pending}: "
            f"move it to {key_path}"
        ) from error


def append(
    record: AuditRecord,
    *,
    trail: Path | None = None,
    key: Path | None = None,
    amend: Callable[[SignerBook, AuditRecord], AuditRecord] | None = None,
    successor: Ed25519PrivateKey | None = None,
) -> AuditRecord:
    """Chain, sign and append ``record`` (its seq/prev/signature are set here); return it.

    ``amend`` sees the signer list under the lock and returns the record to write (or raises
    if it may not go in); ``successor`` (a rotation) waits in ``<key>.next`` until the record
    is written, then replaces the key file and signs the checkpoint.
    """
    trail = trail or default_trail()
    key_path = key or default_key_path()
    private = load_private_key(key_path, create=True)
    public = private.public_key()
    cp_path = checkpoint_path(trail, key_path)
    with locked(trail):
        seq, prev, book = _signing_head(trail, key_path, public)
        if amend is not None:
            record = amend(book, record)
        if successor is not None:
            with atomic_path(_next_key_path(key_path), mode=0o600) as tmp:
                tmp.write_bytes(private_pem(successor))
        chained = replace(record, seq=seq, prev=prev, signer=signer_id(public), signature="")
        signed = replace(chained, signature=private.sign(chained.unsigned_bytes()).hex())
        line = signed.canonical()
        created = not trail.exists()
        with critical():  # SIGTERM waits: never half a line, never a line without checkpoint
            try:
                _write_record(trail, line, created)
            except BaseException:
                _next_key_path(key_path).unlink(missing_ok=True)  # the old key stays in force
                raise
            if successor is not None:
                _promote_next_key(key_path)
                private = successor
            tid = current_trail_id(trail) or trail_id(line)
            write_checkpoint(cp_path, signed_checkpoint(tid, seq + 1, sha256_hex(line), private))
    return signed


def _write_record(trail: Path, line: bytes, created: bool) -> None:
    """Append ``line`` and a newline with one write, fsynced; cut off again if it fails."""
    fd = os.open(trail, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        try:
            write_line(fd, line + b"\n")
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, size)  # a full disk leaves no torn line behind
            raise
    finally:
        os.close(fd)
    if created:
        fsync_dir(trail.parent)


def drop_torn_line(trail: Path) -> bool:
    """Drop a torn (unterminated) last line left by a crash; True if one was dropped (call
    under ``locked``). Only that line goes: it is not a complete signed record."""
    last, torn = _tail(trail)
    if not torn or last is None:
        return False
    fd = os.open(trail, os.O_WRONLY)
    try:
        os.ftruncate(fd, os.fstat(fd).st_size - len(last))
        os.fsync(fd)
    finally:
        os.close(fd)
    return True
