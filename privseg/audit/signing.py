"""Signing: the Ed25519 key that signs the trail (``~/.config/privseg/audit-signing.key`` or
``PRIVSEG_AUDIT_KEY``; created on first use with mode 0600), its public key written beside the
trail (``trail.jsonl.pub``, PEM), and the signed checkpoint.

A hash chain cannot show that its tail was cut off, so every append also rewrites a signed
checkpoint (trail id, record count and head hash) kept next to the signing key, in
``<key folder>/checkpoints/<sha256 of the trail's absolute path>.json``: deleting the last
records of the trail (or the whole trail) is then detected without coupling the trail to the
budget ledger. The checkpoint itself names its trail by the hash of its first line, not by
path, so a copy of it verifies a moved or copied trail.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from privseg._files import atomic_path, fsync_dir
from privseg.audit.records import ENV_KEY, canonical
from privseg.errors import IntegrityError, KeyFileError

__all__ = [
    "Checkpoint",
    "checkpoint_path",
    "default_key_path",
    "load_private_key",
    "load_public_pem",
    "private_pem",
    "public_pem",
    "read_checkpoint",
    "signed_checkpoint",
    "signer_id",
    "trail_id",
    "verify_signature",
    "write_checkpoint",
    "write_exclusive",
]


def default_key_path() -> Path:
    """``PRIVSEG_AUDIT_KEY`` or ``$XDG_CONFIG_HOME/privseg/audit-signing.key`` (~/.config)."""
    env = os.environ.get(ENV_KEY)
    if env:
        return Path(env)
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "privseg" / "audit-signing.key"


def checkpoint_path(trail: Path, key: Path) -> Path:
    """The trail's signed checkpoint, next to the signing key (apart from the trail)."""
    tag = hashlib.sha256(str(trail.absolute()).encode("utf-8")).hexdigest()[:32]
    return key.parent / "checkpoints" / f"{tag}.json"


def write_exclusive(path: Path, data: bytes, mode: int) -> bool:
    """Create ``path`` with ``data`` atomically (its folder too); False if it already existed."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        with atomic_path(path, mode=mode, exclusive=True) as tmp:
            tmp.write_bytes(data)
    except FileExistsError:
        return False
    return True


def load_private_key(path: Path, *, create: bool) -> Ed25519PrivateKey:
    """Load the signing key (refusing loose permissions); create it 0600 when asked."""
    if not path.exists():
        if not create:
            raise KeyFileError("audit signing key does not exist", source=path)
        write_exclusive(path, private_pem(Ed25519PrivateKey.generate()), 0o600)
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


def private_pem(key: Ed25519PrivateKey) -> bytes:
    """The private key as unencrypted PKCS#8 PEM (written 0600 only)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(key: Ed25519PublicKey) -> bytes:
    """The public key as PEM."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def signer_id(key: Ed25519PublicKey) -> str:
    """Short id of a public key: the first 16 hex digits of the SHA-256 of its raw bytes."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_pem(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file; IntegrityError otherwise."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except ValueError as error:
        raise IntegrityError(f"{path}: not a PEM public key") from error
    if not isinstance(key, Ed25519PublicKey):
        raise IntegrityError(f"{path}: not an Ed25519 public key")
    return key


def verify_signature(key: Ed25519PublicKey, signature: str, data: bytes) -> bool:
    """True if ``signature`` (hex) is ``key``'s signature of ``data``."""
    try:
        key.verify(bytes.fromhex(signature), data)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Checkpoint:
    """The signed record count and head hash of a trail.

    ``trail_id`` is the SHA-256 of the trail's first line, so a checkpoint names its trail
    wherever the trail is copied or moved (it is not tied to a path) and can be handed to an
    outside auditor with the trail (``privseg audit checkpoint``).
    """

    trail_id: str
    count: int
    head: str
    signer: str
    signature: str = ""

    def unsigned_bytes(self) -> bytes:
        """Canonical bytes the signature covers."""
        data = asdict(self)
        del data["signature"]
        return canonical(data)

    def to_bytes(self) -> bytes:
        """The checkpoint file's content (canonical JSON and a newline)."""
        return canonical(asdict(self)) + b"\n"


def trail_id(first_line: bytes) -> str:
    """A trail's identity: the SHA-256 of its first line (record 0)."""
    return hashlib.sha256(first_line).hexdigest()


def _legacy(
    data: dict[str, object], path: Path, trail: Path | None, key: Ed25519PublicKey
) -> Checkpoint:
    """A checkpoint of privseg before 0.x (bound to the trail's absolute path, no trail id)."""
    signature = str(data.pop("signature", ""))
    if not verify_signature(key, signature, canonical(data)):
        raise IntegrityError(f"checkpoint {path}: signature does not verify")
    if trail is None or data.get("trail") != str(trail.absolute()):
        raise IntegrityError(f"checkpoint {path} belongs to another trail")
    return Checkpoint(
        "", int(str(data["count"])), str(data["head"]), str(data["signer"]), signature
    )


def read_checkpoint(
    path: Path, key: Ed25519PublicKey, *, trail_id: str | None, trail: Path | None = None
) -> Checkpoint | None:
    """The checkpoint in ``path``, None if absent; IntegrityError if its signature does not
    verify under ``key`` or it names another trail than ``trail_id`` (a legacy checkpoint,
    which names a path instead, must name ``trail``)."""
    try:
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict):
            raise TypeError("not an object")
        if "trail" in data:
            return _legacy(data, path, trail, key)
        cp = Checkpoint(**data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError, KeyError) as error:
        raise IntegrityError(f"checkpoint {path} does not parse") from error
    if not verify_signature(key, cp.signature, cp.unsigned_bytes()):
        raise IntegrityError(f"checkpoint {path}: signature does not verify")
    if trail_id is not None and cp.trail_id != trail_id:
        raise IntegrityError(f"checkpoint {path} belongs to another trail")
    return cp


def signed_checkpoint(trail_id: str, count: int, head: str, key: Ed25519PrivateKey) -> Checkpoint:
    """A checkpoint of ``count`` records ending in ``head``, signed by ``key``."""
    cp = Checkpoint(trail_id, count, head, signer_id(key.public_key()))
    return replace(cp, signature=key.sign(cp.unsigned_bytes()).hex())


def write_checkpoint(path: Path, cp: Checkpoint, *, mode: int = 0o600) -> None:
    """Replace the checkpoint file ``path`` atomically (its folder is created 0700)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with atomic_path(path, mode=mode) as tmp:
        tmp.write_bytes(cp.to_bytes())
    fsync_dir(path.parent)
