"""Pseudonym keys: 32 bytes of key material, key files (mode 0600) and the environment.

A key file holds the key as 64 lowercase hex characters and a newline; ``KEY_ENV`` may hold
the same 64 characters instead. The key id (first 16 hex characters of SHA-256 of the key
bytes) names a key in manifests and messages; the key itself is never printed.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from privseg._files import atomic_path
from privseg.errors import KeyFileError

__all__ = ["KEY_ENV", "Key", "load_key", "new_key_file", "read_key_file"]

KEY_ENV = "PRIVSEG_MASTER_KEY"
_HEX_KEY = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Key:
    """32 bytes of key material; ``repr`` never shows it, ``key_id`` names it safely.

    Keys normally come from a key file (``privseg keys new``, mode 0600):

    >>> from privseg.keys import new_key_file, read_key_file
    >>> key = new_key_file("marketing.key")
    >>> read_key_file("marketing.key") == key, len(key.key_id)
    (True, 16)
    >>> privseg.Key(bytes(32))
    Key()
    """

    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.material) != 32:
            raise KeyFileError("a key must be 32 bytes (64 hex characters)")

    @property
    def key_id(self) -> str:
        """First 16 hex characters of SHA-256 of the key bytes: safe to log."""
        return hashlib.sha256(self.material).hexdigest()[:16]


def _parse_hex(text: str, source: str) -> Key:
    body = text[:-1] if text.endswith("\n") else text
    if not _HEX_KEY.fullmatch(body):
        raise KeyFileError("expected 64 lowercase hex characters and a newline", source=source)
    return Key(bytes.fromhex(body))


def new_key_file(path: str | Path) -> Key:
    """Write a new random key as 64 lowercase hex characters and a newline, mode 0600.

    The file appears atomically (a 0600 temp file hard-linked into place) and an existing
    file is never overwritten.
    """
    dest = Path(path)
    if dest.exists():
        raise KeyFileError("refusing to overwrite an existing key file", source=dest)
    if not dest.parent.is_dir():
        raise KeyFileError("the key file's folder does not exist: create it first", source=dest)
    key = Key(secrets.token_bytes(32))
    try:
        with atomic_path(dest, mode=0o600, exclusive=True) as tmp:
            tmp.write_text(key.material.hex() + "\n", encoding="ascii")
    except FileExistsError as error:
        raise KeyFileError("refusing to overwrite an existing key file", source=dest) from error
    return key


def read_key_file(path: str | Path, *, insecure_permissions: bool = False) -> Key:
    """Read a key file; refuse one that group or others can read unless told otherwise."""
    source = Path(path)
    try:
        mode = source.stat().st_mode
        text = source.read_text(encoding="ascii")
    except FileNotFoundError as error:
        raise KeyFileError("key file not found", source=source) from error
    except (OSError, UnicodeDecodeError) as error:
        raise KeyFileError(
            f"cannot read key file ({type(error).__name__})", source=source
        ) from error
    if mode & (stat.S_IRWXG | stat.S_IRWXO) and not insecure_permissions:
        raise KeyFileError(
            f"key file mode is {stat.S_IMODE(mode):04o}: group or others can access it; "
            "run chmod 600 on it, or pass --insecure-key-permissions",
            source=source,
        )
    return _parse_hex(text, str(source))


def load_key(path: str | Path | None, *, insecure_permissions: bool = False) -> Key:
    """The key from ``path``, or else from the ``PRIVSEG_MASTER_KEY`` environment variable."""
    if path is not None:
        return read_key_file(path, insecure_permissions=insecure_permissions)
    value = os.environ.get(KEY_ENV)
    if value is None:
        raise KeyFileError(f"no key: pass a key file or set {KEY_ENV}")
    return _parse_hex(value.strip(), f"${KEY_ENV}")
