"""Files: the one atomic write and the one file hash, used by io, audit, pseudonym and reports."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from privseg.errors import InputError
from privseg.tempdirs import private_dir

__all__ = ["atomic_path", "file_sha256", "fsync_dir", "make_parent", "private_file"]

_BLOCK = 1 << 22


def make_parent(dest: str | Path) -> Path:
    """Create the folder ``dest`` goes into (and its parents) if missing; return it."""
    folder = Path(dest).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(
            f"cannot create the output folder ({error.strerror})", source=folder
        ) from None
    return folder


@contextlib.contextmanager
def atomic_path(
    dest: str | Path, *, mode: int | None = None, exclusive: bool = False
) -> Iterator[Path]:
    """Yield a temporary path for ``dest`` in a private 0700 folder beside it
    (``privseg.tempdirs``); on success move it to ``dest``; the folder goes on any exit.

    Missing parent folders are created. The file is fsynced first and gets the usual umask permissions, or exactly ``mode`` (e.g.
    ``0o600`` for keys). ``exclusive`` links it into place instead of replacing: if ``dest``
    exists by then, FileExistsError is raised and nothing is changed.
    """
    target = Path(dest)
    if target.is_dir():
        raise InputError("is a directory", source=target)
    if target.exists() and not target.is_file():
        raise InputError(
            "is not a regular file: privseg replaces only regular files", source=target
        )
    folder = make_parent(target)
    with private_dir(folder) as private:
        tmp = private / target.name
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if mode is not None else 0o666
        )
        os.close(fd)
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
        if exclusive:
            os.link(tmp, target)
        else:
            os.replace(tmp, target)


def private_file(path: Path) -> None:
    """Create ``path`` empty and 0600 if it is missing, or make it 0600 (owner only)."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


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
