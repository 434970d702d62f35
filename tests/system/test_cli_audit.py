"""``privseg audit``: the real console script on a real trail."""

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
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    key = str(tmp_path / "keys" / "audit.key")
    monkeypatch.setenv(audit.ENV_KEY, key)
    return {**os.environ, audit.ENV_KEY: key}


@pytest.fixture
def trail(tmp_path: Path, env: dict[str, str]) -> Path:
    path = tmp_path / "audits" / "trail.jsonl"
    for command in ("screen", "apply", "release count"):
        with audit.run(command, trail=path, operator="officer", purpose="marketing") as rec:
            rec.add_column("手机号", ["phone_number"], "pseudonymize", output_columns=["手机号"])
    return path


def _privseg(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real console script (slow to start: used for the main paths only)."""
    return subprocess.run([PRIVSEG, *args], env=env, capture_output=True, text=True, timeout=120)


def _invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def test_verify_ok_then_tampered_exits_5(trail: Path, env: dict[str, str]) -> None:
    ok = _privseg("audit", "verify", "--trail", str(trail), env=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK") and "3 records" in ok.stdout
    lines = trail.read_bytes().splitlines(keepends=True)
    trail.write_bytes(lines[0] + lines[2])
    bad = _privseg("audit", "verify", "--trail", str(trail), env=env)
    assert bad.returncode == 5
    assert "line 2 (seq 1): removed" in bad.stderr


def test_verify_finds_a_cut_tail(trail: Path) -> None:
    trail.write_bytes(b"".join(trail.read_bytes().splitlines(keepends=True)[:2]))
    bad = _invoke("audit", "verify", "--trail", str(trail))
    assert bad.exit_code == 5 and "truncated" in bad.output


def test_trail_from_environment(trail: Path) -> None:
    done = _invoke("audit", "verify", env={audit.ENV_TRAIL: str(trail)})
    assert done.exit_code == 0 and "3 records" in done.output


def test_show_text_and_json(trail: Path) -> None:
    text = _invoke("audit", "show", "--trail", str(trail))
    assert text.exit_code == 0, text.output
    assert "#2" in text.output and "release count" in text.output and "3 runs" in text.output
    assert "手机号 [phone_number]: pseudonymize" in text.output
    done = _invoke("audit", "show", "--trail", str(trail), "--format", "json")
    assert done.exit_code == 0, done.output
    records = json.loads(done.output)
    assert [r["seq"] for r in records] == [0, 1, 2] and records[0]["operator"] == "officer"


def test_export_openlineage(trail: Path, env: dict[str, str]) -> None:
    done = _privseg("audit", "export", "--openlineage", "--trail", str(trail), env=env)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"] * 3
    assert events[5]["job"] == {
        "namespace": "privseg",
        "name": "release.count",
        "facets": events[5]["job"]["facets"],
    }
    usage = _invoke("audit", "export", "--trail", str(trail))
    assert usage.exit_code == 2 and "--openlineage" in usage.output


def test_repair_a_torn_line(trail: Path) -> None:
    trail.write_bytes(trail.read_bytes() + b'{"colu')
    torn = _invoke("audit", "verify", "--trail", str(trail))
    assert torn.exit_code == 5 and "line 4 (seq 3): torn" in torn.output
    fixed = _invoke("audit", "repair", "--trail", str(trail))
    assert fixed.exit_code == 0 and "dropped" in fixed.output
    assert _invoke("audit", "verify", "--trail", str(trail)).exit_code == 0
    again = _invoke("audit", "repair", "--trail", str(trail))
    assert again.exit_code == 0 and "nothing to repair" in again.output


def test_missing_trail_is_an_input_error(tmp_path: Path, env: dict[str, str]) -> None:
    done = _invoke("audit", "verify", "--trail", str(tmp_path / "none.jsonl"))
    assert done.exit_code == 2 and "does not exist" in done.output


def test_every_audit_command_has_examples() -> None:
    for name in ("verify", "show", "export", "repair"):
        done = _invoke("audit", name, "--help")
        assert done.exit_code == 0 and "Examples:" in done.output


def test_apply_is_audited_without_raw_values(tmp_path: Path, env: dict[str, str]) -> None:
    from privseg.demo import generator

    source = tmp_path / "customers.csv"
    table = generator.generate(200).customers
    table.to_csv(source, index=False)
    assert _invoke("keys", "new", str(tmp_path / "m.key")).exit_code == 0
    trail = tmp_path / "audits" / "trail.jsonl"
    args = ["apply", str(source), "--policy", "wecom-marketing", "--key", str(tmp_path / "m.key")]
    done = _invoke(*args, "--out", str(tmp_path / "out.csv"), "--trail", str(trail))
    assert done.exit_code == 0, done.output
    (record,) = audit.read_records(trail)
    assert record.command == "apply" and record.ok and record.inputs[0].rows == 200
    assert {c.name for c in record.columns} == set(table.columns)
    assert any(
        c.action == "pseudonymize" and "phone_number" in c.categories for c in record.columns
    )
    text = trail.read_text(encoding="utf-8")
    values = {v for col in table.columns for v in table[col].dropna().astype(str) if len(v) >= 8}
    assert values and not [v for v in values if v in text]
    assert audit.verify(trail).ok


def test_release_is_audited_with_budget_and_refusals(tmp_path: Path) -> None:
    table = tmp_path / "labels.csv"
    rows = [f"u{i:04d},{'ab'[i % 2]}" for i in range(60)]
    table.write_text("外部联系人ID,tier\n" + "\n".join(rows) + "\n", encoding="utf-8")
    ledger, trail = str(tmp_path / "budget.db"), tmp_path / "trail.jsonl"
    assert _invoke("budget", "set", "crm", "--epsilon", "1", "--ledger", ledger).exit_code == 0
    register = ["budget", "register", "crm", str(table), "--ledger", ledger]
    assert _invoke(*register).exit_code == 0  # made outside privseg: no lineage
    common = ["release", "counts", str(table), "--by", "tier", "--keys", "tier=a,b"]
    common += ["--dataset", "crm", "--unit", "外部联系人ID", "--ledger", ledger]
    common += ["--trail", str(trail), "--out", str(tmp_path / "c.csv")]
    assert _invoke(*common, "--epsilon", "0.75").exit_code == 0
    assert _invoke(*common, "--epsilon", "0.5").exit_code == 4
    ok, refused = audit.read_records(trail)
    assert (ok.command, ok.outcome, refused.outcome) == (
        "release counts",
        "success",
        "BudgetExceededError",
    )
    assert (ok.epsilon_spent, ok.epsilon_remaining) == (0.75, 0.25)
    assert dict(ok.metrics)["release_kind"] == "counts" and ok.outputs[0].rows == 2
    assert ok.columns[0].name == "tier" and ok.columns[0].action == "group_by"
    assert audit.verify(trail).ok


def test_demo_trail_verifies_and_holds_no_raw_demo_value(tmp_path: Path) -> None:
    from privseg.demo.pipeline import run_demo
    from privseg.io import read_table

    summary = run_demo(tmp_path / "demo", quiet=True, customers=300)
    trail = tmp_path / "demo" / "audits" / "trail.jsonl"
    assert summary.outputs["audit_trail"] == trail
    assert any(line.startswith("audit: trail verified") for line in summary.lines)
    key = tmp_path / "demo" / "keys" / "audit-signing.key"
    assert audit.verify(trail, key=key).ok and key.stat().st_mode & 0o777 == 0o600
    records = audit.read_records(trail)
    assert {"segment assign", "release counts"} <= {r.command for r in records}
    text = trail.read_text(encoding="utf-8")
    # Values of 8+ characters: shorter ones (amounts like 45.95) occur by chance in timestamps.
    for path in summary.data.values():
        table = read_table(path)
        values = {v for c in table.columns for v in table[c].dropna().astype(str) if len(v) >= 8}
        assert values and not [v for v in values if v in text], path
