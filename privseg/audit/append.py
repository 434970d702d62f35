"""Appending to the trail: its paths, the locked append and the repair of a torn line.

Appends take an ``fcntl.flock`` on ``trail.jsonl.lock``, read the head under the lock, write the
whole line with one ``os.write`` on an ``O_APPEND`` descriptor, fsync, then replace the
checkpoint atomically. A crash can leave at worst an unterminated last line (``verify`` reports
it as torn and appends refuse to build on it until ``repair`` drops it: it never was part of the
checkpointed trail), or a record written but not yet checkpointed (valid, signed and chained; the
checkpoint lags by one and the next append rolls it forward).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from privseg._files import fsync_dir
from privseg.audit.records import ENV_TRAIL, GENESIS, AuditRecord, parse_line, sha256_hex
from privseg.audit.signing import (
    checkpoint_path,
    default_key_path,
    load_private_key,
    public_pem,
    read_checkpoint,
    signed_checkpoint,
    signer_id,
    trail_id,
    verify_signature,
    write_checkpoint,
    write_exclusive,
)
from privseg.errors import IntegrityError, PrivsegError
from privseg.lifecycle import critical

__all__ = [
    "append",
    "check_head",
    "current_trail_id",
    "default_trail",
    "drop_torn_line",
    "first_line",
    "locked",
    "public_key_path",
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


def _check_pubfile(trail: Path, key: Ed25519PublicKey) -> None:
    """Write the public key beside the trail; IntegrityError if another key is there."""
    pub = public_key_path(trail)
    pem = public_pem(key)
    if (pub.exists() or not write_exclusive(pub, pem, 0o644)) and pub.read_bytes() != pem:
        raise IntegrityError(f"{pub}: the trail was signed with another key")


def _head(trail: Path, cp_path: Path, key: Ed25519PublicKey) -> tuple[int, str]:
    """Next ``seq`` and ``prev``, after checking the trail's tail against its checkpoint."""
    last, torn = _tail(trail)
    if torn:
        raise IntegrityError(
            f"{trail}: last line is torn (a crash in mid-write); run 'privseg audit repair'"
        )
    checkpoint = read_checkpoint(cp_path, key, trail_id=current_trail_id(trail), trail=trail)
    if last is None:
        if checkpoint is not None and checkpoint.count > 0:
            raise IntegrityError(f"{trail}: truncated: checkpoint holds {checkpoint.count} records")
        return 0, GENESIS
    try:
        record = parse_line(last)
    except (ValueError, KeyError, TypeError, PrivsegError) as error:
        raise IntegrityError(
            f"{trail}: last record does not parse; run 'privseg audit verify'"
        ) from error
    if not verify_signature(key, record.signature, record.unsigned_bytes()):
        raise IntegrityError(f"{trail}: last record's signature does not verify")
    head = sha256_hex(last)
    if checkpoint is None:
        raise IntegrityError(
            f"{trail}: no checkpoint at {cp_path}; 'privseg audit repair' checks the trail and "
            "checkpoints it again (it drops no record)"
        )
    current = checkpoint.count == record.seq + 1 and checkpoint.head == head
    lagging = checkpoint.count == record.seq and checkpoint.head == record.prev
    if not (current or lagging):
        raise IntegrityError(
            f"{trail}: tail does not match its checkpoint (truncated or altered); "
            "run 'privseg audit verify', then 'privseg audit repair'"
        )
    return record.seq + 1, head


def write_line(fd: int, line: bytes) -> None:
    """Write a whole line with one ``os.write`` (loops only if the kernel writes short)."""
    view = memoryview(line)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def check_head(trail: Path, key_path: Path) -> None:
    """Check, under the lock, that the trail's head matches its checkpoint and key (the key
    is created on first use): a broken trail raises IntegrityError before a run reads data."""
    public = load_private_key(key_path, create=True).public_key()
    with locked(trail):
        _check_pubfile(trail, public)
        _head(trail, checkpoint_path(trail, key_path), public)


def append(
    record: AuditRecord, *, trail: Path | None = None, key: Path | None = None
) -> AuditRecord:
    """Chain, sign and append ``record`` (its seq/prev/signature are set here); return it."""
    trail = trail or default_trail()
    key_path = key or default_key_path()
    private = load_private_key(key_path, create=True)
    public = private.public_key()
    cp_path = checkpoint_path(trail, key_path)
    with locked(trail):
        _check_pubfile(trail, public)
        seq, prev = _head(trail, cp_path, public)
        chained = replace(record, seq=seq, prev=prev, signer=signer_id(public), signature="")
        signed = replace(chained, signature=private.sign(chained.unsigned_bytes()).hex())
        line = signed.canonical()
        created = not trail.exists()
        with critical():  # SIGTERM waits: never half a line, never a line without checkpoint
            _write_record(trail, line, created)
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
