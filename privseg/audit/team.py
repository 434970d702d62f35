"""Changing who may sign a trail: add a signer, revoke one, rotate one's own key.

Each change is one record of the chain, appended under the trail's lock by a key that is
authorized at that point (``signers`` explains the records); the list is checked under the
same lock, so two changes at once cannot, for instance, revoke the last two signers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from privseg.audit.append import append, default_trail, public_key_path, trail_lines
from privseg.audit.recorder import RunRecorder, resolve_operator
from privseg.audit.records import SUCCESS, AuditRecord, Metric, refuse_raw
from privseg.audit.signers import (
    ADD_COMMAND,
    INIT_COMMAND,
    REVOKE_COMMAND,
    ROTATE_COMMAND,
    SignerAction,
    SignerBook,
    SignerChange,
    change_metrics,
)
from privseg.audit.signing import (
    default_key_path,
    load_private_key,
    load_public_pem,
    public_pem,
    signer_id,
)
from privseg.errors import InputError, IntegrityError, PrivsegError, SourceNotFoundError

__all__ = [
    "add_signer",
    "bootstrap_signer",
    "own_public_pem",
    "revoke_signer",
    "rotate_key",
    "signer_book",
]


def own_public_pem(key: Path | None = None) -> tuple[str, bytes]:
    """The id and PEM public key of the signing key (created 0600 on first use)."""
    public = load_private_key(key or default_key_path(), create=True).public_key()
    return signer_id(public), public_pem(public)


def signer_book(trail: Path | None = None) -> SignerBook:
    """The trail's signer list, replayed from its signer records (each one's signature and
    authorization checked; ``verify`` checks every record)."""
    trail = trail or default_trail()
    lines, _ = trail_lines(trail)
    if not lines:
        raise SourceNotFoundError("audit trail does not exist or is empty", source=trail)
    pub = public_key_path(trail)
    if not pub.exists():
        raise IntegrityError(f"{pub}: the trail's public key is missing")
    return SignerBook(load_public_pem(pub)).replay(lines)


def _change(
    command: str,
    make: Callable[[SignerBook, str], tuple[SignerChange, dict[str, Metric]]],
    *,
    trail: Path | None,
    key: Path | None,
    operator: str | None,
    successor: Ed25519PrivateKey | None = None,
) -> SignerChange:
    """Append the change ``make`` builds from the current list and the signing key's id."""
    trail = trail or default_trail()
    key_path = key or default_key_path()
    own = signer_id(load_private_key(key_path, create=True).public_key())
    recorder = RunRecorder(command, resolve_operator(operator))
    made: list[SignerChange] = []

    def amend(book: SignerBook, record: AuditRecord) -> AuditRecord:
        change, metrics = make(book, own)
        problem = book.problem(change)
        if problem is not None:
            raise InputError(f"cannot {change.action.value} signer: {problem}", source=trail)
        made.append(change)
        return replace(record, metrics=tuple(sorted(metrics.items())))

    signed = append(
        recorder.record(SUCCESS), trail=trail, key=key_path, amend=amend, successor=successor
    )
    return replace(made[0], seq=signed.seq, started=signed.started, operator=signed.operator)


def _check_name(name: str) -> None:
    """A signer's name is a login: short, printable, never a raw personal value (exit 2)."""
    try:
        refuse_raw("signer_name", name)
    except PrivsegError as error:
        raise InputError(f"--name: {error}") from error
    if not name.strip():
        raise InputError("--name: the signer's login is empty")


def _pending(action: SignerAction, key: Ed25519PublicKey, name: str, by: str) -> SignerChange:
    return SignerChange(-1, "", action, signer_id(key), name, by, "")


def bootstrap_signer(
    name: str,
    *,
    trail: Path | None = None,
    key: Path | None = None,
    operator: str | None = None,
) -> SignerChange:
    """Start an empty trail with an explicit bootstrap: its first record makes the signing key
    (owned by ``name``) the first authorized signer."""
    _check_name(name)
    own_key = load_private_key(key or default_key_path(), create=True).public_key()

    def make(book: SignerBook, own: str) -> tuple[SignerChange, dict[str, Metric]]:
        if book.signers:
            raise InputError(
                "the trail already has signers; ask one of them to add your key", source=trail
            )
        change = _pending(SignerAction.BOOTSTRAP, own_key, name, own)
        return change, change_metrics(SignerAction.BOOTSTRAP, own_key, name)

    return _change(INIT_COMMAND, make, trail=trail, key=key, operator=operator)


def add_signer(
    public_key: Path,
    name: str,
    *,
    trail: Path | None = None,
    key: Path | None = None,
    operator: str | None = None,
) -> SignerChange:
    """Authorize the key in ``public_key`` (PEM) for ``name``, signed by an authorized key."""
    try:
        new = load_public_pem(public_key)
    except (FileNotFoundError, IsADirectoryError) as error:
        raise SourceNotFoundError("public key file does not exist", source=public_key) from error
    except IntegrityError as error:
        raise InputError("not a PEM Ed25519 public key", source=public_key) from error
    _check_name(name)

    def make(book: SignerBook, own: str) -> tuple[SignerChange, dict[str, Metric]]:
        change = _pending(SignerAction.ADD, new, name, own)
        return change, change_metrics(SignerAction.ADD, new, name)

    return _change(ADD_COMMAND, make, trail=trail, key=key, operator=operator)


def revoke_signer(
    key_id: str,
    *,
    trail: Path | None = None,
    key: Path | None = None,
    operator: str | None = None,
) -> SignerChange:
    """Revoke the signer ``key_id``: records it signs after this one are refused."""

    def make(book: SignerBook, own: str) -> tuple[SignerChange, dict[str, Metric]]:
        old = book.key(key_id)
        current = {s.key_id: s for s in book.signers}.get(key_id)
        if old is None or current is None:
            raise InputError(f"key {key_id} is not on the signer list", source=trail)
        change = _pending(SignerAction.REVOKE, old, current.name, own)
        return change, change_metrics(SignerAction.REVOKE, old, current.name)

    return _change(REVOKE_COMMAND, make, trail=trail, key=key, operator=operator)


def rotate_key(
    *, trail: Path | None = None, key: Path | None = None, operator: str | None = None
) -> SignerChange:
    """Replace the signing key by a new one: the old key signs the record that authorizes the
    new one and retires itself, then the key file holds the new key (the old one is gone;
    records it signed still verify with its public key, which the chain keeps)."""
    successor = Ed25519PrivateKey.generate()
    new = successor.public_key()

    def make(book: SignerBook, own: str) -> tuple[SignerChange, dict[str, Metric]]:
        old = book.key(own)
        current = {s.key_id: s for s in book.signers}.get(own)
        if old is None or current is None:
            raise InputError(f"key {own} is not on the signer list", source=trail)
        change = replace(_pending(SignerAction.ROTATE, new, current.name, own), replaces=own)
        return change, change_metrics(SignerAction.ROTATE, new, current.name, replaces=old)

    return _change(
        ROTATE_COMMAND, make, trail=trail, key=key, operator=operator, successor=successor
    )
