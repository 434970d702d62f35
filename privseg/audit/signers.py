"""The trail's authorized signers, kept as signed records in its own chain.

A trail starts with one signer: the key of its first record (the *bootstrap* signer, whose
public key sits beside the trail as ``trail.jsonl.pub``), either explicitly (``audit signers
init``: a first record naming its own key and owner) or implicitly (any first record: its key
and operator; a trail written before signer lists existed is read the same way). Every later change is a record of the chain, signed by a key
that is authorized at that point: ``audit signers add`` (a new key and the name of its
owner), ``audit signers revoke`` and ``audit rotate-key`` (a new key replaces the signer's
own). The change's public key travels in the record's metrics (``signer_public``, hex in
groups of eight so no raw-value shape can match it), so the chain alone, plus the bootstrap
key, tells which keys may sign each record: ``SignerBook`` replays it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from privseg.audit.records import AuditRecord, Metric, parse_line
from privseg.audit.signing import signer_id, verify_signature
from privseg.errors import IntegrityError, PrivsegError, UnauthorizedSignerError

__all__ = [
    "ADD_COMMAND",
    "INIT_COMMAND",
    "REVOKE_COMMAND",
    "ROTATE_COMMAND",
    "Signer",
    "SignerAction",
    "SignerBook",
    "SignerChange",
    "change_metrics",
    "changes_of",
    "decode_public",
    "encode_public",
]

INIT_COMMAND = "audit signers init"
ADD_COMMAND = "audit signers add"
REVOKE_COMMAND = "audit signers revoke"
ROTATE_COMMAND = "audit rotate-key"

_ACTION = "signer_action"
_PUBLIC = "signer_public"
_NAME = "signer_name"
_REPLACES = "signer_replaces"
_MARK = b'"signer_action"'
_GROUP = 8


class SignerAction(StrEnum):
    """What a signer-list record does."""

    BOOTSTRAP = "bootstrap"  # the first record's key: explicit (``signers init``) or implicit
    ADD = "add"
    REVOKE = "revoke"
    ROTATE = "rotate"


def encode_public(key: Ed25519PublicKey) -> str:
    """The raw public key as hex in groups of eight (``1a2b3c4d:...``)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    return ":".join(raw[i : i + _GROUP] for i in range(0, len(raw), _GROUP))


def decode_public(text: str) -> Ed25519PublicKey:
    """The key ``encode_public`` wrote; ValueError otherwise."""
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text.replace(":", "")))


def change_metrics(
    action: SignerAction,
    key: Ed25519PublicKey,
    name: str,
    replaces: Ed25519PublicKey | None = None,
) -> dict[str, Metric]:
    """The metrics of a signer-list record (``replaces``: the key a rotation retires)."""
    metrics: dict[str, Metric] = {_ACTION: action.value, _PUBLIC: encode_public(key), _NAME: name}
    if replaces is not None:
        metrics[_REPLACES] = encode_public(replaces)
    return metrics


@dataclass(frozen=True)
class SignerChange:
    """One change of the signer list: record ``seq`` made by key ``by`` (run by ``operator``)."""

    seq: int
    started: str
    action: SignerAction
    key_id: str
    name: str
    by: str
    operator: str
    replaces: str | None = None

    @classmethod
    def of(cls, record: AuditRecord) -> tuple[SignerChange, Ed25519PublicKey] | None:
        """The change a record makes and its key, None for an ordinary record; ValueError if
        it claims to be a change but does not hold one."""
        metrics = dict(record.metrics)
        if _ACTION not in metrics:
            return None
        try:
            action = SignerAction(str(metrics[_ACTION]))
            key = decode_public(str(metrics[_PUBLIC]))
            old = metrics.get(_REPLACES)
            replaces = None if old is None else signer_id(decode_public(str(old)))
            name = str(metrics[_NAME])
        except KeyError as error:
            raise ValueError(f"signer change without {error}") from error
        if (action is SignerAction.ROTATE) != (replaces is not None):
            raise ValueError("only a rotation names the key it replaces")
        change = cls(
            record.seq,
            record.started,
            action,
            signer_id(key),
            name,
            record.signer,
            record.operator,
            replaces,
        )
        return change, key


@dataclass(frozen=True)
class Signer:
    """A key on the list: its id, its owner's name, the record that added it (0: the
    bootstrap signer) and, once revoked or rotated away, the record that did so; it may sign
    the records between them."""

    key_id: str
    name: str
    since: int
    until: int | None = None

    @property
    def active(self) -> bool:
        return self.until is None


class SignerBook:
    """The signer list replayed record by record: which keys may sign the next record."""

    def __init__(self, bootstrap: Ed25519PublicKey | None) -> None:
        self._bootstrap = bootstrap
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._signers: dict[str, Signer] = {}
        self.changes: list[SignerChange] = []

    @property
    def signers(self) -> tuple[Signer, ...]:
        """Every key that was ever on the list, in the order it was added."""
        return tuple(self._signers.values())

    def key(self, key_id: str) -> Ed25519PublicKey | None:
        """The public key with ``key_id`` known so far (bootstrap or added), else None."""
        if not self._signers and self._bootstrap is not None:
            return self._bootstrap if signer_id(self._bootstrap) == key_id else None
        return self._keys.get(key_id)

    def lineage(self, key_id: str) -> tuple[str, ...]:
        """``key_id`` and the key it was rotated from, if any (its owner's previous key)."""
        for change in reversed(self.changes):
            if change.key_id == key_id and change.replaces is not None:
                return key_id, change.replaces
        return (key_id,)

    def authorized(self, key_id: str) -> bool:
        """Whether ``key_id`` may sign the next record (anyone may sign an empty trail's first)."""
        if not self._signers:
            return self._bootstrap is None or signer_id(self._bootstrap) == key_id
        signer = self._signers.get(key_id)
        return signer is not None and signer.active

    def refusal(self, key_id: str, *, trail: str) -> str:
        """Why ``key_id`` may not sign, and how to be added."""
        signer = self._signers.get(key_id)
        why = "is not an authorized signer"
        if signer is not None and signer.until is not None:
            why = f"was revoked by record {signer.until}"
        names = ", ".join(f"{s.name} ({s.key_id})" for s in self._signers.values() if s.active)
        return (
            f"audit key {key_id} {why} of {trail}; export its public key with 'privseg audit "
            f"signers key --out me.pub' and ask an authorized signer ({names}) to run "
            f"'privseg audit signers add me.pub --name YOUR_LOGIN --trail {trail}'"
        )

    def apply(self, record: AuditRecord) -> None:
        """Take a verified, authorized record into account (the first one bootstraps)."""
        found = SignerChange.of(record)
        if not self._signers:
            key = self.key(record.signer)
            if key is None:
                raise IntegrityError("the first record's signer is not the bootstrap key")
            first = _first_change(record, found)
            self._keys[record.signer] = key
            self._signers[record.signer] = Signer(record.signer, first.name, record.seq)
            self.changes.append(first)
            if first.action is SignerAction.BOOTSTRAP and found is not None:
                return
        if found is None:
            return
        change, key = found
        problem = self.problem(change)
        if problem is not None:
            raise IntegrityError(f"record {record.seq}: {problem}")
        if change.action is SignerAction.REVOKE:
            self._retire(change.key_id, record.seq)
        else:
            if change.replaces is not None:
                self._retire(change.replaces, record.seq)
            self._keys[change.key_id] = key
            self._signers.pop(change.key_id, None)  # a re-added key moves to the end
            self._signers[change.key_id] = Signer(change.key_id, change.name, record.seq)
        self.changes.append(change)

    def problem(self, change: SignerChange) -> str | None:
        """Why ``change`` cannot apply to the list as it stands, None if it can."""
        if change.action is SignerAction.BOOTSTRAP and (
            self._signers or change.key_id != change.by
        ):
            return "only a trail's first record, signed by its own key, bootstraps it"
        if change.action is SignerAction.ADD and self.authorized(change.key_id):
            return f"key {change.key_id} is already an authorized signer"
        if change.action is SignerAction.REVOKE:
            if not self.authorized(change.key_id):
                return f"key {change.key_id} is not an authorized signer"
            if sum(s.active for s in self._signers.values()) < 2:
                return f"key {change.key_id} is the last authorized signer"
        if change.action is SignerAction.ROTATE and (
            change.replaces != change.by or change.key_id in self._keys
        ):
            return "a rotation replaces its signer's own key by a new key"
        return None

    def _retire(self, key_id: str, at: int) -> None:
        self._signers[key_id] = replace(self._signers[key_id], until=at)

    def replay(self, lines: Sequence[bytes]) -> SignerBook:
        """Take in a trail's signer changes (parsing only the first and last records and the
        lines that hold a change); IntegrityError if one of them is not signed by a key
        authorized at that point."""
        for number in _change_lines(lines):
            try:
                record = parse_line(lines[number])
            except (ValueError, KeyError, TypeError, PrivsegError) as error:
                raise IntegrityError(f"line {number + 1}: record does not parse") from error
            self.admit(record, line=number + 1)
        return self

    def admit(self, record: AuditRecord, *, line: int) -> None:
        """Check that ``record`` is signed by a key authorized for it, then ``apply`` it."""
        key = self.key(record.signer)
        if key is None and not self._signers:
            raise IntegrityError(
                f"line {line}: the public key beside the trail is another key than the one "
                "that signed the first record"
            )
        if key is None or not verify_signature(key, record.signature, record.unsigned_bytes()):
            raise IntegrityError(f"line {line}: signature does not verify")
        if not self.authorized(record.signer):
            raise IntegrityError(f"line {line}: signed by key {record.signer}, not authorized")
        try:
            self.apply(record)
        except ValueError as error:
            raise IntegrityError(f"line {line}: malformed signer change") from error

    def require(self, key_id: str, *, trail: str) -> None:
        """UnauthorizedSignerError unless ``key_id`` may sign the next record."""
        if not self.authorized(key_id):
            raise UnauthorizedSignerError(self.refusal(key_id, trail=trail))


def changes_of(records: Sequence[AuditRecord]) -> list[SignerChange]:
    """Every signer change in ``records`` (the bootstrap first), read without verifying: for
    reports of a trail that ``verify`` has checked."""
    changes = []
    for record in records:
        try:
            found = SignerChange.of(record)
        except ValueError:
            found = None
        if record.seq == 0:
            changes.append(_first_change(record, found))
        if found is not None and found[0].action is not SignerAction.BOOTSTRAP:
            changes.append(found[0])
    return changes


def _first_change(
    record: AuditRecord, found: tuple[SignerChange, Ed25519PublicKey] | None
) -> SignerChange:
    """How a trail's first record bootstraps its signer list: explicitly (``audit signers
    init``: a bootstrap change of the key that signs it) or implicitly (its key, its operator)."""
    if found is not None and found[0].action is SignerAction.BOOTSTRAP:
        if found[0].key_id != record.signer:
            raise IntegrityError("the bootstrap record names another key than its signer's")
        return found[0]
    return SignerChange(
        record.seq,
        record.started,
        SignerAction.BOOTSTRAP,
        record.signer,
        record.operator,
        record.signer,
        record.operator,
    )


def _change_lines(lines: Sequence[bytes]) -> Iterable[int]:
    """Indexes of the first and last records and of the lines that may hold a signer change."""
    for number, line in enumerate(lines):
        if number in (0, len(lines) - 1) or (_MARK in line and _ACTION in _metric_names(line)):
            yield number


def _metric_names(line: bytes) -> set[str]:
    try:
        data = json.loads(line)
        return set(data["metrics"])
    except (ValueError, KeyError, TypeError):
        return {_ACTION}  # let parse_line name what is wrong
