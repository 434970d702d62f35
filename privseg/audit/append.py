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
    signer_id,
    verify_signature,
    write_checkpoint,
    write_exclusive,
)
from privseg.errors import IntegrityError, PrivsegError

__all__ = [
    "append",
    "check_head",
    "default_trail",
    "locked",
    "public_key_path",
    "repair",
    "write_line",
]

_TAIL_BLOCK = 65536


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
    checkpoint = read_checkpoint(cp_path, trail, key)
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
        raise IntegrityError(f"{trail}: no checkpoint at {cp_path}; run 'privseg audit verify'")
    current = checkpoint.count == record.seq + 1 and checkpoint.head == head
    lagging = checkpoint.count == record.seq and checkpoint.head == record.prev
    if not (current or lagging):
        raise IntegrityError(
            f"{trail}: tail does not match its checkpoint (truncated or altered); "
            "run 'privseg audit verify'"
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
        fd = os.open(trail, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            write_line(fd, line + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            fsync_dir(trail.parent)
        write_checkpoint(cp_path, trail, seq + 1, sha256_hex(line), private)
    return signed


def repair(trail: Path | None = None) -> bool:
    """Drop a torn (unterminated) last line left by a crash; True if one was dropped.

    Only that line goes: it was never checkpointed, so no committed record is lost. Anything
    else wrong with the trail is left for ``verify`` to report.
    """
    trail = trail or default_trail()
    with locked(trail):
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
