"""``privseg audit signers`` and ``rotate-key``: a team shares one project folder and its trail;
two operators (each with their own HOME) and a service account (``PRIVSEG_AUDIT_KEY``) sign it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from privseg import audit
from privseg.cli import main

PRIVSEG = shutil.which("privseg") or str(Path(sys.executable).with_name("privseg"))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shared working folder (trail in audits/trail.jsonl), with a small table."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "small.csv").write_text("客户,城市\nA,上海\nB,北京\n", encoding="utf-8")
    monkeypatch.chdir(folder)
    return folder


def _env(tmp_path: Path, who: str) -> dict[str, str | None]:
    """Operators sign with the key in their HOME; the service account with PRIVSEG_AUDIT_KEY."""
    service = who.startswith("svc")
    key = str(tmp_path / who / "audit.key") if service else None
    return {
        "HOME": str(tmp_path / f"home-{who}"),
        "XDG_CONFIG_HOME": None,
        audit.ENV_TRAIL: None,
        audit.ENV_KEY: key,
        audit.ENV_OPERATOR: who,
    }


def _invoke(tmp_path: Path, who: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=_env(tmp_path, who))


def _process(tmp_path: Path, who: str, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in _env(tmp_path, who)}
    env.update({k: v for k, v in _env(tmp_path, who).items() if v is not None})
    return subprocess.Popen(
        [PRIVSEG, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _verified_by_all(tmp_path: Path, *team: str) -> None:
    for who in team:
        result = _invoke(tmp_path, who, "audit", "verify")
        assert result.exit_code == 0 and result.output.startswith("OK"), (who, result.output)


def _key_id(tmp_path: Path, who: str, project: Path) -> str:
    out = project / f"{who}.pub"
    result = _invoke(tmp_path, who, "audit", "signers", "key", "--out", str(out))
    assert result.exit_code == 0, result.output
    return result.output.split("(key ")[1].rstrip(")\n")


@pytest.mark.slow  # three real processes start privseg at once
def test_a_team_shares_one_trail(tmp_path: Path, project: Path) -> None:
    first = _invoke(tmp_path, "alice", "screen", "small.csv")
    assert first.exit_code == 0, first.output
    refused = _invoke(tmp_path, "bob", "screen", "small.csv")
    assert refused.exit_code == 7, refused.output
    assert "not an authorized signer" in refused.output
    assert "privseg audit signers add" in refused.output and "alice" in refused.output
    bob, svc = _key_id(tmp_path, "bob", project), _key_id(tmp_path, "svc-etl", project)
    for who, name in (("bob", "bob"), ("svc-etl", "svc-etl")):
        added = _invoke(tmp_path, "alice", "audit", "signers", "add", f"{who}.pub", "--name", name)
        assert added.exit_code == 0, added.output
    _verified_by_all(tmp_path, "alice")  # the others have signed nothing yet: no checkpoint

    # two operators and the service account append at the same time, from real processes
    procs = [_process(tmp_path, who, "screen", "small.csv") for who in ("alice", "bob", "svc-etl")]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    _verified_by_all(tmp_path, "alice", "bob", "svc-etl")
    records = audit.read_records(project / "audits" / "trail.jsonl")
    assert [r.seq for r in records] == list(range(6))
    assert {(r.operator, r.signer) for r in records[3:]} >= {("bob", bob), ("svc-etl", svc)}

    # rotation: bob's old records still verify; his old key is gone from his HOME
    rotated = _invoke(tmp_path, "bob", "audit", "rotate-key")
    assert rotated.exit_code == 0 and f"rotated key {bob} to" in rotated.output
    assert _invoke(tmp_path, "bob", "screen", "small.csv").exit_code == 0
    _verified_by_all(tmp_path, "alice", "bob", "svc-etl")

    # revocation: the service account's later runs are refused, not treated as tampering
    revoked = _invoke(tmp_path, "alice", "audit", "signers", "revoke", svc)
    assert revoked.exit_code == 0, revoked.output
    after = _invoke(tmp_path, "svc-etl", "screen", "small.csv")
    assert after.exit_code == 7 and "was revoked by record" in after.output
    _verified_by_all(tmp_path, "alice", "bob")

    listed = _invoke(tmp_path, "alice", "audit", "signers", "list", "--format", "json")
    data = json.loads(listed.output)
    assert [c["action"] for c in data["changes"]] == ["bootstrap", "add", "add", "rotate", "revoke"]
    assert sum(s["active"] for s in data["signers"]) == 2

    report = _invoke(tmp_path, "alice", "report", "run", "--format", "md")
    assert report.exit_code == 0, report.output
    assert "Signer changes" in report.output and svc in report.output
    assert "revoked by record" in report.output and "svc-etl" in report.output


def test_a_forged_signer_list_change_is_tampering(tmp_path: Path, project: Path) -> None:
    assert _invoke(tmp_path, "alice", "screen", "small.csv").exit_code == 0
    _key_id(tmp_path, "bob", project)
    assert (
        _invoke(tmp_path, "alice", "audit", "signers", "add", "bob.pub", "--name", "bob").exit_code
        == 0
    )
    trail = project / "audits" / "trail.jsonl"
    lines = trail.read_bytes().splitlines(keepends=True)
    data = json.loads(lines[1])
    data["metrics"]["signer_name"] = "mallory"
    lines[1] = audit.canonical(data) + b"\n"
    trail.write_bytes(b"".join(lines))
    for who in ("alice", "bob"):
        bad = _invoke(tmp_path, who, "audit", "verify")
        assert bad.exit_code == 5 and "line 2 (seq 1): altered" in bad.output, bad.output
        stopped = _invoke(tmp_path, who, "screen", "small.csv")
        assert stopped.exit_code == 5, stopped.output


def test_signer_commands_refuse_bad_requests(tmp_path: Path, project: Path) -> None:
    assert _invoke(tmp_path, "alice", "screen", "small.csv").exit_code == 0
    _key_id(tmp_path, "bob", project)
    not_signer = _invoke(tmp_path, "bob", "audit", "signers", "add", "bob.pub", "--name", "bob")
    assert not_signer.exit_code == 7, not_signer.output
    alice = audit.read_records(project / "audits" / "trail.jsonl")[0].signer
    last = _invoke(tmp_path, "alice", "audit", "signers", "revoke", alice)
    assert last.exit_code == 2 and "last authorized signer" in last.output
    missing = _invoke(tmp_path, "alice", "audit", "signers", "add", "nope.pub", "--name", "x")
    assert missing.exit_code == 2 and "nope.pub" in missing.output
    email = _invoke(tmp_path, "alice", "audit", "signers", "add", "bob.pub", "--name", "b@x.cn")
    assert email.exit_code == 2 and "looks like a raw value" in email.output
    (project / "junk.pub").write_text("not a key\n", encoding="utf-8")
    junk = _invoke(tmp_path, "alice", "audit", "signers", "add", "junk.pub", "--name", "x")
    assert junk.exit_code == 2 and "not a PEM Ed25519 public key" in junk.output


def test_explicit_bootstrap_of_a_shared_trail(tmp_path: Path, project: Path) -> None:
    init = _invoke(tmp_path, "wang", "audit", "signers", "init", "--name", "wang.fang")
    assert init.exit_code == 0 and "at record 0" in init.output, init.output
    again = _invoke(tmp_path, "wang", "audit", "signers", "init", "--name", "wang.fang")
    assert again.exit_code == 2 and "already has signers" in again.output
    assert _invoke(tmp_path, "wang", "screen", "small.csv").exit_code == 0
    listed = _invoke(tmp_path, "li", "audit", "signers", "list")
    assert listed.exit_code == 0 and "bootstrap" in listed.output and "wang.fang" in listed.output
    _verified_by_all(tmp_path, "wang")


def test_an_outsider_verifies_a_team_trail_from_public_material(
    tmp_path: Path, project: Path
) -> None:
    assert _invoke(tmp_path, "alice", "screen", "small.csv").exit_code == 0
    _key_id(tmp_path, "bob", project)
    added = _invoke(tmp_path, "alice", "audit", "signers", "add", "bob.pub", "--name", "bob")
    assert added.exit_code == 0, added.output
    assert _invoke(tmp_path, "bob", "screen", "small.csv").exit_code == 0
    exported = _invoke(tmp_path, "bob", "audit", "checkpoint", "--out", "cp.json")
    assert exported.exit_code == 0, exported.output
    trail = project / "audits" / "trail.jsonl"
    alice = audit.read_records(trail)[0].signer  # the bootstrap signer, pinned by the auditor
    pinned = ("audit", "verify", "--signer", alice, "--checkpoint", "cp.json")
    outsider = _invoke(tmp_path, "auditor", *pinned)
    assert outsider.exit_code == 0 and outsider.output.startswith("OK"), outsider.output
    # a forged record appended after the handed-over checkpoint is still tampering
    lines = trail.read_bytes().splitlines(keepends=True)
    record = json.loads(lines[-1])
    record["operator"] = "mallory"
    trail.write_bytes(b"".join([*lines, audit.canonical(record) + b"\n"]))
    forged = _invoke(tmp_path, "auditor", *pinned)
    assert forged.exit_code == 5, forged.output
