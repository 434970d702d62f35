"""Recovery and hand-over: ``repair`` after a crash or a lost checkpoint, ``export_checkpoint``
for outside auditors.

``repair`` never drops or rewrites a complete signed record. It removes only a torn last line
(a crash in mid-write: not a complete record), then checks every record's signature and the
chain from the first record; if that holds, it signs a new checkpoint for the trail as it is
and appends an ``audit repair`` record saying why (checkpoint missing, records cut from the
end, records appended without a checkpoint), so the loss or gap stays on record. A trail that
does not verify, or does not extend its checkpoint (replaced by another one), is refused.
"""

from __future__ import annotations

import os
from pathlib import Path

from privseg._files import atomic_path
from privseg.audit.append import (
    current_trail_id,
    default_trail,
    drop_torn_line,
    line_hash,
    locked,
    own_checkpoint,
    public_key_path,
    signed_by,
    trail_lines,
)
from privseg.audit.recorder import run
from privseg.audit.signers import SignerBook
from privseg.audit.signing import (
    Checkpoint,
    checkpoint_path,
    default_key_path,
    load_private_key,
    load_public_pem,
    signed_checkpoint,
    write_checkpoint,
)
from privseg.audit.verify import Outcome, first_bad, verify
from privseg.errors import IntegrityError, SourceNotFoundError

__all__ = ["export_checkpoint", "repair"]


def repair(trail: Path | None = None, *, key: Path | None = None) -> list[str]:
    """Make a crashed or de-checkpointed trail usable again without dropping a signed record;
    returns what was done (empty when nothing was needed). IntegrityError if the records do
    not verify or the trail is not the checkpointed one."""
    trail = trail or default_trail()
    key_path = key or default_key_path()
    private = load_private_key(key_path, create=False)
    public = private.public_key()
    done: list[str] = []
    with locked(trail):
        if drop_torn_line(trail):
            done.append("dropped a torn last line (a crash in mid-write; not a complete record)")
        if not trail.exists():
            raise SourceNotFoundError("audit trail does not exist", source=trail)
        lines, _ = trail_lines(trail)
        pub = public_key_path(trail)
        book = SignerBook(load_public_pem(pub) if pub.exists() else public)
        bad = first_bad(str(trail), lines, book)
        if bad is not None:
            raise IntegrityError(f"cannot repair, records do not verify: {bad}")
        cp_path = checkpoint_path(trail, key_path)
        tid = current_trail_id(trail)
        try:
            cp, mine = own_checkpoint(cp_path, trail, public, book)
        except IntegrityError as error:
            raise IntegrityError(f"cannot repair: {error} (the trail was replaced?)") from None
        count = len(lines)
        reason = _reason(cp, lines, mine)
        if reason is None:
            return done
        if count == 0:
            os.unlink(cp_path)  # every record is gone: the next record starts a new chain
        else:
            assert tid is not None
            write_checkpoint(
                cp_path, signed_checkpoint(tid, count, line_hash(lines, count - 1), private)
            )
        done.append(f"checkpointed {count} records ({reason.replace('_', ' ')})")
    with run("audit repair", trail=trail, key=key_path) as record:
        record.set_metric("reason", reason)
        record.set_metric("records_found", count)
        record.set_metric("records_checkpointed", -1 if cp is None else cp.count)
    done.append("recorded the repair in the trail")
    return done


def _reason(cp: Checkpoint | None, lines: list[bytes], mine: tuple[str, ...]) -> str | None:
    """Why the trail needs a new checkpoint of the key (``mine``: its id and the one it was
    rotated from) (None: it does not); IntegrityError if the trail does not extend it. Records
    of other signers after it need none: their own checkpoints cover them."""
    count = len(lines)
    if cp is None:
        return "checkpoint_missing" if signed_by(lines, mine) else None
    if count < cp.count:
        return "records_cut_from_the_end"
    if line_hash(lines, cp.count - 1) != cp.head:
        raise IntegrityError("cannot repair: the trail does not extend its checkpoint")
    if not signed_by(lines, mine, cp.count):
        return None
    return "records_without_checkpoint"


def export_checkpoint(
    out: Path, trail: Path | None = None, *, key: Path | None = None
) -> Checkpoint:
    """Write a freshly signed checkpoint of the trail (which must verify OK) to ``out``, for an
    auditor to pass to ``privseg audit verify --checkpoint``; returns it."""
    trail = trail or default_trail()
    key_path = key or default_key_path()
    result = verify(trail, key=key_path)
    if result.outcome is not Outcome.OK:
        raise IntegrityError(f"cannot export a checkpoint: {result}")
    private = load_private_key(key_path, create=False)
    with locked(trail):
        lines, _ = trail_lines(trail)
        tid = current_trail_id(trail)
        if tid is None:
            raise IntegrityError(f"{trail}: an empty trail has no checkpoint")
        cp = signed_checkpoint(tid, len(lines), line_hash(lines, len(lines) - 1), private)
    with atomic_path(out, mode=0o644) as tmp:
        tmp.write_bytes(cp.to_bytes())
    return cp
