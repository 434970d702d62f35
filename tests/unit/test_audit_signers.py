"""Several signers on one trail: the signer list in the chain, add, revoke, rotation, parallel
appends by several keys, forged signer changes, and the run report's signer tables."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from privseg import audit
from privseg._templates import ReportFormat
from privseg.audit import Problem, SignerAction
from privseg.audit import append as audit_append
from privseg.audit.records import SUCCESS, AuditRecord, parse_line
from privseg.audit.signers import change_metrics, decode_public, encode_public
from privseg.audit.signing import load_private_key, signer_id
from privseg.errors import InputError, IntegrityError, UnauthorizedSignerError
from privseg.report import render_run
from privseg.report.run import run_context


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    """Three signing keys in three key folders: two operators and a service account."""
    return {who: tmp_path / who / "audit-signing.key" for who in ("alice", "bob", "svc")}


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    return tmp_path / "shared" / "audits" / "trail.jsonl"


def _run(trail: Path, key: Path, operator: str, command: str = "screen") -> AuditRecord:
    with audit.run(command, trail=trail, key=key, operator=operator) as rec:
        rec.add_column("手机号", ["phone_number"], "screen")
    return audit.read_records(trail)[-1]


def _pub(key: Path, tmp_path: Path) -> Path:
    _, pem = audit.own_public_pem(key)
    out = tmp_path / f"{key.parent.name}.pub"
    out.write_bytes(pem)
    return out


def _team(trail: Path, keys: dict[str, Path], tmp_path: Path) -> None:
    """alice bootstraps the trail and adds bob and the service account."""
    _run(trail, keys["alice"], "alice")
    for who in ("bob", "svc"):
        audit.add_signer(_pub(keys[who], tmp_path), who, trail=trail, key=keys["alice"])


def _verify_all(trail: Path, keys: dict[str, Path]) -> None:
    """Every signer's view (with its own checkpoint) finds the trail intact."""
    for key in keys.values():
        result = audit.verify(trail, key=key)
        assert result.ok and not result.problem, result


def test_public_key_encoding_round_trips_and_never_looks_raw() -> None:
    for _ in range(300):
        public = Ed25519PrivateKey.generate().public_key()
        record = _change_record(change_metrics(SignerAction.ADD, public, "li.wei"))
        change = audit.SignerChange.of(record)  # the record passed the raw-value checks
        assert change is not None and change[0].key_id == signer_id(public)
        assert signer_id(decode_public(encode_public(public))) == signer_id(public)


def test_a_single_signer_trail_without_signer_records_keeps_verifying(
    trail: Path, keys: dict[str, Path]
) -> None:
    for _ in range(3):
        _run(trail, keys["alice"], "alice")
    assert audit.verify(trail, key=keys["alice"]).ok
    book = audit.signer_book(trail)
    alice = signer_id(load_private_key(keys["alice"], create=False).public_key())
    assert [(s.key_id, s.name, s.active) for s in book.signers] == [(alice, "alice", True)]
    assert [c.action for c in book.changes] == [SignerAction.BOOTSTRAP]


def test_unauthorized_key_gets_its_own_error_and_reads_nothing(
    trail: Path, keys: dict[str, Path]
) -> None:
    _run(trail, keys["alice"], "alice")
    ran = False
    with (
        pytest.raises(UnauthorizedSignerError, match="signers add") as caught,
        audit.run("screen", trail=trail, key=keys["bob"], operator="bob"),
    ):
        ran = True
    assert not ran and not isinstance(caught.value, IntegrityError)
    assert "alice" in str(caught.value)
    assert len(audit.read_records(trail)) == 1


def test_added_signers_sign_and_each_record_names_its_key_and_operator(
    trail: Path, keys: dict[str, Path], tmp_path: Path
) -> None:
    _team(trail, keys, tmp_path)
    records = [_run(trail, keys[who], who) for who in ("bob", "svc", "alice")]
    ids = {
        who: signer_id(load_private_key(k, create=False).public_key()) for who, k in keys.items()
    }
    assert [(r.signer, r.operator) for r in records] == [
        (ids["bob"], "bob"),
        (ids["svc"], "svc"),
        (ids["alice"], "alice"),
    ]
    _verify_all(trail, keys)
    with pytest.raises(InputError, match="already an authorized signer"):
        audit.add_signer(_pub(keys["bob"], tmp_path), "bob", trail=trail, key=keys["svc"])


def _worker(trail: str, key: str, who: str, n: int) -> None:
    for i in range(n):
        with audit.run("screen", trail=Path(trail), key=Path(key), operator=who) as rec:
            rec.set_metric("i", i)


def test_two_operators_and_a_service_account_append_in_parallel(
    trail: Path, keys: dict[str, Path], tmp_path: Path
) -> None:
    _team(trail, keys, tmp_path)
    ctx = multiprocessing.get_context("fork")
    procs = [
        ctx.Process(target=_worker, args=(str(trail), str(key), who, 8))
        for who, key in keys.items()
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    records = audit.read_records(trail)
    assert [r.seq for r in records] == list(range(27))
    assert sorted(r.operator for r in records[3:]) == sorted(["alice", "bob", "svc"] * 8)
    _verify_all(trail, keys)


def test_rotation_keeps_old_records_verifiable_and_retires_the_old_key(
    trail: Path, keys: dict[str, Path], tmp_path: Path
) -> None:
    _team(trail, keys, tmp_path)
    before = _run(trail, keys["bob"], "bob")
    old_copy = tmp_path / "stolen" / "bob.key"
    old_copy.parent.mkdir()
    shutil.copy2(keys["bob"], old_copy)
    change = audit.rotate_key(trail=trail, key=keys["bob"], operator="bob")
    assert change.replaces == before.signer and change.key_id != before.signer
    assert signer_id(load_private_key(keys["bob"], create=False).public_key()) == change.key_id
    after = _run(trail, keys["bob"], "bob")
    assert after.signer == change.key_id
    _verify_all(trail, keys)
    with pytest.raises(UnauthorizedSignerError, match=f"revoked by record {change.seq}"):
        _run(trail, old_copy, "bob")
    statuses = {s.key_id: s.active for s in audit.signer_book(trail).signers}
    assert statuses[before.signer] is False and statuses[change.key_id] is True


def test_revoked_key_is_refused_and_the_last_signer_stays(
    trail: Path, keys: dict[str, Path], tmp_path: Path
) -> None:
    _team(trail, keys, tmp_path)
    svc = _run(trail, keys["svc"], "svc")
    audit.revoke_signer(svc.signer, trail=trail, key=keys["bob"], operator="bob")
    with pytest.raises(UnauthorizedSignerError, match="was revoked"):
        _run(trail, keys["svc"], "svc")
    _verify_all(trail, {k: v for k, v in keys.items() if k != "svc"})
    alice = audit.read_records(trail)[0].signer
    audit.revoke_signer(alice, trail=trail, key=keys["alice"], operator="alice")
    bob = _run(trail, keys["bob"], "bob").signer
    with pytest.raises(InputError, match="last authorized signer"):
        audit.revoke_signer(bob, trail=trail, key=keys["bob"])
    with pytest.raises(InputError, match="not on the signer list"):
        audit.revoke_signer("0" * 16, trail=trail, key=keys["bob"])
    assert audit.verify(trail, key=keys["bob"]).ok


def _forge(trail: Path, signing: Ed25519PrivateKey, record: AuditRecord) -> None:
    """Append ``record`` chained and signed with ``signing``, bypassing privseg's checks."""
    lines = trail.read_bytes().splitlines()
    last = parse_line(lines[-1])
    chained = replace(
        record,
        seq=last.seq + 1,
        prev=audit.records.sha256_hex(lines[-1]),
        signer=signer_id(signing.public_key()),
        signature="",
    )
    signed = replace(chained, signature=signing.sign(chained.unsigned_bytes()).hex())
    with trail.open("ab") as handle:
        handle.write(signed.canonical() + b"\n")


def _change_record(metrics: dict[str, audit.records.Metric]) -> AuditRecord:
    rec = audit.RunRecorder("audit signers add", "mallory")
    rec.metrics.update(metrics)
    return rec.record(SUCCESS)


def _tampered(trail: Path, key: Path, problem: Problem, line: int, detail: str) -> None:
    """``verify`` finds ``problem`` at ``line`` and appends are refused (exit 5's error)."""
    result = audit.verify(trail, key=key)
    assert (result.problem, result.line) == (problem, line), result
    assert detail in result.detail
    with pytest.raises(IntegrityError):
        _run(trail, key, "alice")


def test_a_signer_change_by_an_unauthorized_key_is_tampering(
    trail: Path, keys: dict[str, Path]
) -> None:
    _run(trail, keys["alice"], "alice")
    mallory = Ed25519PrivateKey.generate()
    _forge(
        trail, mallory, _change_record(change_metrics(SignerAction.ADD, mallory.public_key(), "m"))
    )
    _tampered(trail, keys["alice"], Problem.UNAUTHORIZED, 2, "not on the signer list")


def test_records_of_a_revoked_key_are_refused_by_verify(
    trail: Path, keys: dict[str, Path], tmp_path: Path
) -> None:
    _team(trail, keys, tmp_path)
    svc = _run(trail, keys["svc"], "svc").signer
    audit.revoke_signer(svc, trail=trail, key=keys["alice"], operator="alice")
    svc_key = load_private_key(keys["svc"], create=False)
    _forge(trail, svc_key, _change_record({"n": 1}))
    _tampered(trail, keys["alice"], Problem.UNAUTHORIZED, 6, "not an authorized signer then")


def test_an_altered_signer_change_is_tampering(
    trail: Path, keys: dict[str, Path], tmp_path: Path
) -> None:
    _team(trail, keys, tmp_path)
    lines = trail.read_bytes().splitlines(keepends=True)
    data = json.loads(lines[1])
    other = Ed25519PrivateKey.generate().public_key()
    data["metrics"]["signer_public"] = encode_public(other)
    lines[1] = audit.canonical(data) + b"\n"
    trail.write_bytes(b"".join(lines))
    _tampered(trail, keys["alice"], Problem.ALTERED, 2, "signature does not verify")


def test_run_report_shows_who_signed_what_and_every_signer_change(
    trail: Path, keys: dict[str, Path], tmp_path: Path
) -> None:
    _team(trail, keys, tmp_path)
    _run(trail, keys["svc"], "nightly-job")
    rotated = audit.rotate_key(trail=trail, key=keys["bob"], operator="bob")
    records = audit.read_records(trail)
    verification = audit.verify(trail, key=keys["alice"])
    context = run_context(records, verification, trail=str(trail))
    rows = {row.key_id: row for row in context["signers"]}
    svc = records[3].signer
    assert rows[svc].name == "svc" and rows[svc].operators == ("nightly-job",)
    assert rows[svc].records == (3,) and rows[svc].status == "active"
    assert rows[rotated.replaces or ""].status == f"rotated to {rotated.key_id} by record 4"
    assert [c.action for c in context["signer_changes"]] == [
        SignerAction.BOOTSTRAP,
        SignerAction.ADD,
        SignerAction.ADD,
        SignerAction.ROTATE,
    ]
    for fmt in (ReportFormat.MD, ReportFormat.HTML):
        text = render_run(records, verification, fmt, trail=str(trail))
        assert rotated.key_id in text and "nightly-job" in text and "Signer changes" in text


def test_key_path_from_the_environment_signs(
    trail: Path, keys: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _team(trail, keys, tmp_path)
    monkeypatch.setenv(audit.ENV_KEY, str(keys["svc"]))
    with audit.run("screen", trail=trail, operator="svc"):
        pass
    assert audit.read_records(trail)[-1].signer == audit.own_public_pem()[0]
    assert os.stat(keys["svc"]).st_mode & 0o077 == 0


def test_explicit_bootstrap_starts_an_empty_trail_and_only_there(
    trail: Path, keys: dict[str, Path], tmp_path: Path
) -> None:
    change = audit.bootstrap_signer("wang.fang", trail=trail, key=keys["alice"], operator="w")
    first = audit.read_records(trail)[0]
    assert (change.seq, change.key_id, first.command) == (0, first.signer, "audit signers init")
    book = audit.signer_book(trail)
    assert [(s.key_id, s.name) for s in book.signers] == [(first.signer, "wang.fang")]
    assert [(c.action, c.name) for c in book.changes] == [(SignerAction.BOOTSTRAP, "wang.fang")]
    assert [c.name for c in audit.changes_of(audit.read_records(trail))] == ["wang.fang"]
    with pytest.raises(InputError, match="already has signers"):
        audit.bootstrap_signer("again", trail=trail, key=keys["alice"])
    with pytest.raises(UnauthorizedSignerError):
        audit.bootstrap_signer("bob", trail=trail, key=keys["bob"])
    audit.add_signer(_pub(keys["bob"], tmp_path), "bob", trail=trail, key=keys["alice"])
    _verify_all(trail, {"alice": keys["alice"]})
    bob = load_private_key(keys["bob"], create=False)  # authorized, but a bootstrap comes first
    _forge(
        trail, bob, _change_record(change_metrics(SignerAction.BOOTSTRAP, bob.public_key(), "b"))
    )
    _tampered(trail, keys["alice"], Problem.ALTERED, 3, "does not apply to the signer list")


def test_an_interrupted_rotation_says_where_the_new_key_is(
    trail: Path, keys: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(trail, keys["alice"], "alice")

    def crash(key_path: Path) -> None:
        raise KeyboardInterrupt  # killed after the record, before the key file was replaced

    monkeypatch.setattr(audit_append, "_promote_next_key", crash)
    with pytest.raises(KeyboardInterrupt):
        audit.rotate_key(trail=trail, key=keys["alice"], operator="alice")
    monkeypatch.undo()
    pending = keys["alice"].with_name(keys["alice"].name + ".next")
    with pytest.raises(UnauthorizedSignerError, match="interrupted 'privseg audit rotate-key'"):
        _run(trail, keys["alice"], "alice")
    assert pending.stat().st_mode & 0o077 == 0
    pending.replace(keys["alice"])
    # the checkpoint was not rewritten: the rotation record is the one record it may lag by
    assert _run(trail, keys["alice"], "alice").seq == 2
    assert audit.verify(trail, key=keys["alice"]).ok
