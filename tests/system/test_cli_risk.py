"""privseg risk, and apply's risk gate (generalize or refuse with exit 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from privseg.cli import main
from privseg.pseudonym import new_key_file

POLICY = """purpose: risk-test
description: test
lawful_basis: consent
controller: test
retention_days: 30
unit: id
fields:
  id: {action: pseudonymize, kind: other}
  age:
    action: generalize
    type: age
    width: 10
    ladder: [{action: generalize, type: age, width: 20}, {action: drop}]
  city: {action: keep, ladder: [{action: drop}]}
risk:
  quasi_identifiers: [age, city]
  k: K
  max_suppression: 0.0
"""


def _table(path: Path) -> None:
    ages = [str(20 + (i * 7) % 40) for i in range(60)]
    cities = [f"c{i % 6}" for i in range(60)]
    pd.DataFrame({"id": [f"u{i}" for i in range(60)], "age": ages, "city": cities}).to_csv(
        path, index=False
    )


def test_risk_json_md_html(tmp_path: Path) -> None:
    _table(tmp_path / "t.csv")
    runner = CliRunner()
    done = runner.invoke(
        main, ["risk", str(tmp_path / "t.csv"), "--quasi", "age,city", "--format", "json"]
    )
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert data["quasi_identifiers"] == ["age", "city"] and data["rows"] == 60
    for fmt in ("md", "html"):
        out = tmp_path / f"r.{fmt}"
        done = runner.invoke(
            main,
            ["risk", str(tmp_path / "t.csv"), "--quasi", "age", "--format", fmt, "--out", str(out)],
        )
        assert done.exit_code == 0, done.output
        assert "k-anonymity" in out.read_text(encoding="utf-8")
    assert "<svg" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_apply_generalizes_to_meet_k_or_refuses(tmp_path: Path) -> None:
    _table(tmp_path / "t.csv")
    new_key_file(tmp_path / "k.key")
    runner = CliRunner()
    for k, code in (("5", 0), ("61", 3)):
        policy = tmp_path / f"p{k}.yaml"
        policy.write_text(POLICY.replace("K", k), encoding="utf-8")
        out = tmp_path / f"o{k}.csv"
        done = runner.invoke(
            main,
            ["apply", str(tmp_path / "t.csv"), "--policy", str(policy), "--key",
             str(tmp_path / "k.key"), "--out", str(out), "--quiet"],
        )  # fmt: skip
        assert done.exit_code == code, done.output
    manifest = json.loads((tmp_path / "o5.csv.manifest.json").read_text(encoding="utf-8"))
    assert manifest["risk"]["before"]["k_anonymity"] < 5 <= manifest["risk"]["after"]["k_anonymity"]
    assert set(manifest["risk"]["levels"]) == {"age", "city"}
    assert not (tmp_path / "o61.csv").exists()
    measured = runner.invoke(
        main,
        [
            "risk",
            str(tmp_path / "o5.csv"),
            "--policy",
            str(tmp_path / "p5.yaml"),
            "--format",
            "json",
        ],
    )
    assert measured.exit_code == 0, measured.output
    data = json.loads(measured.stdout)
    assert data["quasi_identifiers_from"] == "policy" and data["k"] == 5
    assert data == manifest["risk"]["after"] | {
        "source": data["source"],
        "quasi_identifiers_from": "policy",
    }
    assert "best k reachable is 60" in done.output and "age, city" in done.output


def test_run_report_shows_risk_before_after_and_levels(tmp_path: Path) -> None:
    _table(tmp_path / "t.csv")
    new_key_file(tmp_path / "k.key")
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.replace("K", "5"), encoding="utf-8")
    trail = tmp_path / "trail.jsonl"
    runner = CliRunner()
    done = runner.invoke(
        main,
        ["apply", str(tmp_path / "t.csv"), "--policy", str(policy), "--key",
         str(tmp_path / "k.key"), "--out", str(tmp_path / "o.csv"), "--trail", str(trail)],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    manifest = json.loads((tmp_path / "o.csv.manifest.json").read_text(encoding="utf-8"))
    report = runner.invoke(main, ["report", "run", "--trail", str(trail), "--format", "md"])
    assert report.exit_code == 0, report.output
    row = next(
        line for line in report.stdout.splitlines() if line.startswith("| 0 | apply | o.csv")
    )
    before, after = manifest["risk"]["before"], manifest["risk"]["after"]
    assert f"{before['k_anonymity']} → {after['k_anonymity']}" in row
    for column, step in manifest["risk"]["generalized"].items():
        assert f"{column}: {step}" in row
