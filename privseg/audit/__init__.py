"""Hash-chained, signed, append-only audit trail of every run that reads personal data.

One JSON line per run (``records``), each carrying its position ``seq``, ``prev`` (SHA-256 of
the previous line) and an Ed25519 ``signature`` (``signing``, which also keeps a signed
checkpoint of the trail's head apart from it); lines are appended under a lock (``append``);
``run`` and its ``RunRecorder`` audit one command (``recorder``); ``verify`` reports the first
bad record. Several keys may sign one trail: the list of authorized signers is itself kept as
records in the chain (``signers``) and changed by ``team`` (add, revoke, rotate). Audit sits
at the bottom beside ``privseg.io``: it imports nothing above it and receives plain data
(paths, fingerprints, column names, category ids, counts).

The package re-exports the function ``verify``, which hides the submodule of that name as an
attribute: import from ``privseg.audit.verify`` with ``from ... import``.
"""

from __future__ import annotations

from privseg.audit.append import default_trail, public_key_path
from privseg.audit.recorder import RunRecorder, resolve_operator, run
from privseg.audit.records import (
    ENV_KEY,
    ENV_OPERATOR,
    ENV_TRAIL,
    FORMAT,
    GENESIS,
    SUCCESS,
    AuditRecord,
    ColumnEntry,
    DatasetRef,
    canonical,
)
from privseg.audit.recovery import export_checkpoint, repair
from privseg.audit.signers import Signer, SignerAction, SignerBook, SignerChange, changes_of
from privseg.audit.signing import checkpoint_path, default_key_path
from privseg.audit.team import (
    add_signer,
    bootstrap_signer,
    own_public_pem,
    revoke_signer,
    rotate_key,
    signer_book,
)
from privseg.audit.verify import (
    Outcome,
    Problem,
    VerifyResult,
    ensure_valid,
    read_records,
    verify,
)

__all__ = [
    "ENV_KEY",
    "ENV_OPERATOR",
    "ENV_TRAIL",
    "FORMAT",
    "GENESIS",
    "SUCCESS",
    "AuditRecord",
    "ColumnEntry",
    "DatasetRef",
    "Outcome",
    "Problem",
    "RunRecorder",
    "Signer",
    "SignerAction",
    "SignerBook",
    "SignerChange",
    "VerifyResult",
    "add_signer",
    "bootstrap_signer",
    "canonical",
    "changes_of",
    "checkpoint_path",
    "default_key_path",
    "default_trail",
    "ensure_valid",
    "export_checkpoint",
    "own_public_pem",
    "public_key_path",
    "read_records",
    "repair",
    "resolve_operator",
    "revoke_signer",
    "rotate_key",
    "run",
    "signer_book",
    "verify",
]
