"""Files: the one atomic write and the one file hash, used by io, audit, pseudonym and reports."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from privseg.errors import InputError, SourceNotFoundError

__all__ = ["atomic_path", "file_sha256", "fsync_dir"]

_BLOCK = 1 << 22


@contextlib.contextmanager
def atomic_path(
    dest: str | Path, *, mode: int | None = None, exclusive: bool = False
) -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; on success move it to ``dest``, else remove it.

    The file is fsynced first and gets the usual umask permissions, or exactly ``mode`` (e.g.
    ``0o600`` for keys). ``exclusive`` links it into place instead of replacing: if ``dest``
    exists by then, FileExistsError is raised and nothing is changed.
    """
    target = Path(dest)
    if target.is_dir():
        raise InputError("is a directory", source=target)
    folder = target.parent
    if not folder.is_dir():
        raise SourceNotFoundError("the output folder does not exist", source=folder)
    tmp = folder / f".{target.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if mode is not None else 0o666)
    os.close(fd)
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
        if exclusive:
            os.link(tmp, target)
            tmp.unlink()
        else:
            os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename or link in it survives a crash)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hashlib releases the GIL, so this can run in a thread)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()
