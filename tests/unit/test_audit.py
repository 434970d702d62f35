"""The audit trail: chain, signatures, checkpoint, tamper cases, concurrency, crashes, no raw values."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest

from privseg import audit
from privseg.audit import Problem
from privseg.audit import append as audit_append
from privseg.errors import IntegrityError, KeyFileError, PrivsegError, SourceNotFoundError

POLICY = "ab" * 32


@pytest.fixture
def key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config" / "audit-signing.key"
    monkeypatch.setenv(audit.ENV_KEY, str(path))
    return path


@pytest.fixture
def trail(tmp_path: Path, key: Path) -> Path:
    return tmp_path / "audits" / "trail.jsonl"


def _runs(trail: Path, n: int, *, command: str = "apply") -> None:
    for i in range(n):
        with audit.run(command, trail=trail, operator="tester", purpose="marketing") as rec:
            rec.add_column("手机号", ["phone_number"], "pseudonymize", output_columns=["手机号"])
            rec.set_metric("run", i)


def _lines(trail: Path) -> list[bytes]:
    return trail.read_bytes().splitlines(keepends=True)


def _write(trail: Path, lines: list[bytes]) -> None:
    trail.write_bytes(b"".join(lines))


def test_records_chain_sign_and_verify(trail: Path, key: Path) -> None:
    _runs(trail, 3)
    records = audit.read_records(trail)
    assert [r.seq for r in records] == [0, 1, 2]
    assert records[0].prev == audit.GENESIS
    assert [r.prev for r in records[1:]] == [r.digest() for r in records[:-1]]
    assert all(r.ok and r.operator == "tester" and r.command == "apply" for r in records)
    assert len({r.run_id for r in records}) == 3
    lines = trail.read_bytes().splitlines()
    assert lines == [r.canonical() for r in records]
    assert json.loads(lines[0]) == dict(sorted(json.loads(lines[0]).items()))
    result = audit.verify(trail)
    assert result.ok and result.records == 3, result


def test_signing_key_is_private_and_public_key_sits_beside_trail(trail: Path, key: Path) -> None:
    _runs(trail, 1)
    assert key.stat().st_mode & 0o777 == 0o600
    pub = audit.public_key_path(trail)
    assert pub.parent == trail.parent and pub.name == "trail.jsonl.pub"
    assert pub.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    cp = audit.checkpoint_path(trail, key)
    assert cp.parent.parent == key.parent and not cp.is_relative_to(trail.parent)
    assert json.loads(cp.read_text())["count"] == 1
    assert b"PRIVATE" not in trail.read_bytes() + pub.read_bytes()


def test_loose_key_permissions_are_refused(trail: Path, key: Path) -> None:
    _runs(trail, 1)
    key.chmod(0o644)
    with pytest.raises(KeyFileError, match="group or others"):
        _runs(trail, 1)


def _edit_byte(trail: Path) -> None:
    lines = _lines(trail)
    line = bytearray(lines[2])
    at = line.index(b'"operator":"tester"') + len(b'"operator":"t')
    line[at] = ord("X")
    lines[2] = bytes(line)
    _write(trail, lines)


def _break_json(trail: Path) -> None:
    lines = _lines(trail)
    lines[2] = lines[2][:10] + b"}" + lines[2][11:]
    _write(trail, lines)


def _remove(trail: Path) -> None:
    lines = _lines(trail)
    del lines[1]
    _write(trail, lines)


def _reorder(trail: Path) -> None:
    lines = _lines(trail)
    lines[1], lines[2] = lines[2], lines[1]
    _write(trail, lines)


def _duplicate(trail: Path) -> None:
    lines = _lines(trail)
    lines.insert(2, lines[0])
    _write(trail, lines)


def _truncate(trail: Path) -> None:
    _write(trail, _lines(trail)[:3])


def _torn(trail: Path) -> None:
    trail.write_bytes(trail.read_bytes() + b'{"columns":[{"act')


def _reformat(trail: Path) -> None:
    lines = _lines(trail)
    lines[3] = json.dumps(json.loads(lines[3]), indent=None).encode() + b"\n"
    _write(trail, lines)


@pytest.mark.parametrize(
    ("tamper", "problem", "line"),
    [
        (_edit_byte, Problem.ALTERED, 3),
        (_break_json, Problem.ALTERED, 3),
        (_reformat, Problem.ALTERED, 4),
        (_remove, Problem.REMOVED, 2),
        (_reorder, Problem.REORDERED, 2),
        (_duplicate, Problem.INSERTED, 3),
        (_truncate, Problem.TRUNCATED, 4),
        (_torn, Problem.TORN, 6),
    ],
)
def test_tampering_is_found_at_the_first_bad_record(
    trail: Path, tamper: object, problem: Problem, line: int
) -> None:
    _runs(trail, 5)
    tamper(trail)  # type: ignore[operator]
    result = audit.verify(trail)
    assert (result.problem, result.line) == (problem, line), result
    with pytest.raises(IntegrityError, match=f"line {line} .*{problem}"):
        audit.ensure_valid(trail)


def test_record_signed_for_another_trail_is_an_insertion(tmp_path: Path, trail: Path) -> None:
    other = tmp_path / "other" / "trail.jsonl"
    _runs(other, 3, command="screen")
    _runs(trail, 4)
    lines = _lines(trail)
    lines.insert(2, _lines(other)[2])  # validly signed by the same key, seq 2
    _write(trail, lines)
    result = audit.verify(trail)
    assert (result.problem, result.line) == (Problem.INSERTED, 3), result


def test_forged_record_appended_without_the_key_is_altered(trail: Path) -> None:
    _runs(trail, 2)
    last = json.loads(_lines(trail)[-1])
    forged = {**last, "seq": 2, "prev": audit.read_records(trail)[-1].digest()}
    trail.write_bytes(trail.read_bytes() + audit.canonical(forged) + b"\n")
    result = audit.verify(trail)
    assert (result.problem, result.line) == (Problem.ALTERED, 3), result


def test_checkpoint_guards_the_tail(trail: Path, key: Path) -> None:
    _runs(trail, 3)
    cp = audit.checkpoint_path(trail, key)
    saved = cp.read_bytes()
    data = json.loads(saved)
    cp.write_text(json.dumps({**data, "count": 2}))
    assert audit.verify(trail).problem is Problem.CHECKPOINT
    cp.unlink()
    unchecked = audit.verify(trail)  # a cut tail would go unseen: completeness unconfirmed
    assert unchecked.problem is None and unchecked.outcome is audit.Outcome.UNCONFIRMED
    assert "completeness not confirmed" in str(unchecked)
    with pytest.raises(IntegrityError, match="no checkpoint"):
        _runs(trail, 1)
    cp.write_bytes(saved)
    trail.unlink()
    result = audit.verify(trail)
    assert (result.problem, result.line) == (Problem.TRUNCATED, 1)


def test_public_key_replaced_beside_trail_is_caught(tmp_path: Path, trail: Path) -> None:
    _runs(trail, 1)
    other_trail = tmp_path / "x" / "trail.jsonl"
    with audit.run("screen", trail=other_trail, key=tmp_path / "other-key" / "k.key"):
        pass
    audit.public_key_path(trail).write_bytes(audit.public_key_path(other_trail).read_bytes())
    assert audit.verify(trail).problem is Problem.KEY
    with pytest.raises(IntegrityError, match="another key"):
        _runs(trail, 1)


def test_verify_with_only_public_material(tmp_path: Path, trail: Path, key: Path) -> None:
    _runs(trail, 2)
    handed = tmp_path / "auditor"
    handed.mkdir()
    cp = audit.export_checkpoint(handed / "cp.json", trail, key=key)
    assert cp.count == 2
    pem = handed / "signer.pem"
    pem.write_bytes(audit.public_key_path(trail).read_bytes())
    copy = handed / "trail.jsonl"  # another path: the checkpoint names the trail by content
    copy.write_bytes(trail.read_bytes())
    key.rename(tmp_path / "elsewhere.key")  # the auditor has no private key
    with pytest.raises(SourceNotFoundError, match="--public-key"):
        audit.verify(copy)
    audit.public_key_path(copy).write_bytes(pem.read_bytes())
    alone = audit.verify(copy)
    assert alone.outcome is audit.Outcome.UNCONFIRMED and "signer not confirmed" in str(alone)
    pinned = audit.verify(copy, public_key=pem, checkpoint=handed / "cp.json")
    assert pinned.outcome is audit.Outcome.OK, pinned
    by_id = audit.verify(copy, signer=cp.signer, checkpoint=handed / "cp.json")
    assert by_id.outcome is audit.Outcome.OK, by_id
    assert audit.verify(copy, signer="0" * 16).problem is Problem.KEY
    _write(copy, _lines(copy)[:1])
    cut = audit.verify(copy, public_key=pem, checkpoint=handed / "cp.json")
    assert cut.problem is Problem.TRUNCATED


def test_append_refuses_a_cut_tail(trail: Path) -> None:
    _runs(trail, 3)
    _write(trail, _lines(trail)[:2])
    with pytest.raises(IntegrityError, match="checkpoint"):
        _runs(trail, 1)
    assert len(_lines(trail)) == 2


def test_failed_run_is_recorded_with_its_error_class(trail: Path) -> None:
    with pytest.raises(KeyError), audit.run("screen", trail=trail) as rec:
        rec.add_column("备注", ["medical_health"], "drop", reason="Art. 6 not needed")
        raise KeyError("boom")
    (record,) = audit.read_records(trail)
    assert record.outcome == "KeyError" and not record.ok
    assert record.columns[0].output_columns == ()
    assert audit.verify(trail).ok


def test_broken_trail_stops_the_command_before_it_runs(trail: Path) -> None:
    _runs(trail, 2)
    _torn(trail)
    ran = False
    with pytest.raises(IntegrityError, match="torn"), audit.run("apply", trail=trail):
        ran = True
    assert not ran


def test_repair_drops_only_a_torn_last_line(trail: Path) -> None:
    _runs(trail, 2)
    intact = trail.read_bytes()
    assert audit.repair(trail) == []
    _torn(trail)
    assert len(audit.repair(trail)) == 1
    assert trail.read_bytes() == intact
    _runs(trail, 1)
    assert audit.verify(trail).records == 3


def test_tail_is_found_across_read_blocks(trail: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_append, "_TAIL_BLOCK", 7)
    _runs(trail, 3)
    assert audit.verify(trail).ok and audit.read_records(trail)[-1].seq == 2


def test_operator_and_trail_come_from_the_environment(
    tmp_path: Path, key: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(audit.ENV_TRAIL)
    monkeypatch.setenv(audit.ENV_OPERATOR, "compliance-officer")
    with audit.run("screen"):
        pass
    assert audit.read_records(tmp_path / "audits" / "trail.jsonl")[0].operator == (
        "compliance-officer"
    )
    monkeypatch.setenv(audit.ENV_TRAIL, str(tmp_path / "t.jsonl"))
    assert audit.default_trail() == tmp_path / "t.jsonl"


def test_recorder_keeps_inputs_budget_and_outputs(trail: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("a\n1\n")
    out = tmp_path / "out.csv"
    out.write_text("a\nx\n")
    fp = SimpleNamespace(sha256="cd" * 32, rows=1, columns=("a",))
    with audit.run("release count", trail=trail, policy_sha256=POLICY, purpose="p") as rec:
        rec.add_input(src, fp)
        rec.add_budget(0.25, 0.75)
        rec.add_budget(0.25, 0.5)
        rec.set_key_id("0f1e2d3c4b5a6978")
        rec.add_output(out)
    (r,) = audit.read_records(trail)
    assert r.inputs[0].rows == 1 and r.inputs[0].columns == ("a",)
    assert r.inputs[0].path == str(src.absolute())
    assert (r.epsilon_spent, r.epsilon_remaining) == (0.5, 0.5)
    assert r.outputs[0].rows is None and len(r.outputs[0].sha256) == 64
    assert (r.key_id, r.policy_sha256, r.command) == ("0f1e2d3c4b5a6978", POLICY, "release count")


RAW = [
    "13812345678",
    "+86 13812345678",
    "11010519491231002X",
    "zhang.san@example.com",
    "6222021234567890123",
    "192.168.1.20",
    "31.2304,121.4737",
    "o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
    "wmAbCdEfGhIjKlMnOpQrStUvWxYz0123",
]


@pytest.mark.parametrize("raw", RAW)
def test_raw_looking_values_are_refused(trail: Path, raw: str) -> None:
    with (
        pytest.raises(PrivsegError, match="looks like a raw value") as caught,
        audit.run("apply", trail=trail) as rec,
    ):
        rec.add_column(raw, ["phone_number"], "drop")
    assert raw not in str(caught.value)
    for field in ("reason", "consent"):
        with pytest.raises(PrivsegError, match="raw value"):
            audit.ColumnEntry("col", (), "keep", **{field: f"see {raw}"})
    recorder = audit.RunRecorder("apply", "tester")
    with pytest.raises(PrivsegError, match="raw value"):
        recorder.set_metric("note", raw)
    # The failed run was still audited, without the value.
    assert raw.encode() not in trail.read_bytes()


def test_non_ids_and_nan_are_refused() -> None:
    recorder = audit.RunRecorder("apply", "tester")
    with pytest.raises(PrivsegError, match="finite"):
        recorder.add_budget(float("nan"), 1.0)
    with pytest.raises(PrivsegError, match="id"):
        recorder.add_column("a", [], "drop it now")
    with pytest.raises(ValueError):
        recorder.add_column("a", ["not_a_category"], "drop")
    with pytest.raises(PrivsegError, match="SHA-256"):
        audit.DatasetRef("/x.csv", "nothex")


def test_no_raw_value_of_the_data_reaches_the_trail(trail: Path, tmp_path: Path) -> None:
    rows = [
        ("张伟", "13912345678", "11010519491231002X", "wei@example.cn", "6222021234567890123"),
        ("李娜", "13698765432", "440308199901011234", "na@example.cn", "6228481234567890127"),
    ]
    header = ("姓名", "手机号", "身份证号", "邮箱", "银行卡号")
    src = tmp_path / "customers.csv"
    src.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    fp = SimpleNamespace(sha256="ef" * 32, rows=len(rows), columns=header)
    cats = ["person_name", "phone_number", "national_id", "email", "financial_account"]
    with audit.run("apply", trail=trail, purpose="marketing") as rec:
        rec.add_input(src, fp)
        for name, cat in zip(header, cats, strict=True):
            rec.add_column(name, [cat], "pseudonymize", output_columns=[name])
    text = trail.read_text(encoding="utf-8")
    assert "手机号" in text
    for row in rows:
        for value in row:
            assert value not in text


# --------------------------------------------------------------------------- processes


def _worker(trail: str, key: str, n: int) -> None:
    os.environ[audit.ENV_KEY] = key
    for i in range(n):
        with audit.run("screen", trail=Path(trail), operator=f"p{os.getpid()}") as rec:
            rec.set_metric("i", i)


def test_concurrent_appends_from_processes(trail: Path, key: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_worker, args=(str(trail), str(key), 25)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    result = audit.verify(trail)
    assert result.ok and result.records == 100, result
    records = audit.read_records(trail)
    assert [r.seq for r in records] == list(range(100))
    assert len({r.operator for r in records}) == 4
    assert len({r.run_id for r in records}) == 100


def _crash_in_write(trail: str, key: str) -> None:
    os.environ[audit.ENV_KEY] = key

    def half_then_die(fd: int, line: bytes) -> None:
        os.write(fd, line[: len(line) // 2])
        os.kill(os.getpid(), signal.SIGKILL)

    audit_append.write_line = half_then_die  # type: ignore[assignment]
    _runs(Path(trail), 1)


def _crash_before_checkpoint(trail: str, key: str) -> None:
    os.environ[audit.ENV_KEY] = key

    def die(*args: object) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    audit_append.write_checkpoint = die  # type: ignore[assignment]
    _runs(Path(trail), 1)


def _in_child(target: object, trail: Path, key: Path) -> int | None:
    proc = multiprocessing.get_context("fork").Process(target=target, args=(str(trail), str(key)))
    proc.start()
    proc.join(60)
    return proc.exitcode


def test_crash_in_mid_write_leaves_no_half_record(trail: Path, key: Path) -> None:
    _runs(trail, 2)
    assert _in_child(_crash_in_write, trail, key) == -signal.SIGKILL
    result = audit.verify(trail)
    assert (result.problem, result.line, result.records) == (Problem.TORN, 3, 2)
    with pytest.raises(IntegrityError, match="repair"):
        _runs(trail, 1)
    assert audit.repair(trail)
    _runs(trail, 1)
    result = audit.verify(trail)
    assert result.ok and result.records == 3


def test_crash_before_the_checkpoint_is_rolled_forward(trail: Path, key: Path) -> None:
    _runs(trail, 2)
    assert _in_child(_crash_before_checkpoint, trail, key) == -signal.SIGKILL
    result = audit.verify(trail)
    assert result.ok and result.records == 3 and "not yet checkpointed" in result.detail
    _runs(trail, 1)
    result = audit.verify(trail)
    assert result.ok and result.records == 4 and not result.detail


# ---------------------------------------------------------------- recovery


def _last(trail: Path) -> audit.AuditRecord:
    return audit.read_records(trail)[-1]


def test_repair_after_a_lost_checkpoint_keeps_every_record(trail: Path, key: Path) -> None:
    _runs(trail, 3)
    before = trail.read_bytes()
    audit.checkpoint_path(trail, key).unlink()
    with pytest.raises(IntegrityError, match="audit repair"):
        _runs(trail, 1)
    done = audit.repair(trail)
    assert any("checkpointed 3 records" in line for line in done)
    assert trail.read_bytes().startswith(before)  # nothing dropped or rewritten
    record = _last(trail)
    assert record.command == "audit repair" and dict(record.metrics)["reason"] == (
        "checkpoint_missing"
    )
    assert audit.verify(trail).outcome is audit.Outcome.OK
    _runs(trail, 1)
    assert audit.verify(trail).records == 5


def test_repair_after_a_cut_tail_records_the_loss(trail: Path) -> None:
    _runs(trail, 3)
    _write(trail, _lines(trail)[:2])
    assert audit.verify(trail).problem is Problem.TRUNCATED
    audit.repair(trail)
    metrics = dict(_last(trail).metrics)
    assert metrics["reason"] == "records_cut_from_the_end"
    assert (metrics["records_found"], metrics["records_checkpointed"]) == (2, 3)
    assert audit.verify(trail).outcome is audit.Outcome.OK
    _runs(trail, 1)


def test_repair_never_rewrites_an_altered_or_replaced_trail(
    tmp_path: Path, trail: Path, key: Path
) -> None:
    _runs(trail, 2)
    lines = _lines(trail)
    altered = lines[0].replace(b"marketing", b"marketinG")
    _write(trail, [altered, lines[1]])
    with pytest.raises(IntegrityError, match="cannot repair"):
        audit.repair(trail)
    assert _lines(trail) == [altered, lines[1]]
    other = tmp_path / "other" / "trail.jsonl"
    _runs(other, 2)  # another valid trail signed by the same key
    trail.write_bytes(other.read_bytes())
    with pytest.raises(IntegrityError, match="another trail"):
        audit.repair(trail)


def test_verify_refuses_devices_as_trails(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="regular file"):
        audit.verify(Path("/dev/null"))
