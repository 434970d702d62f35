"""``privseg release tree``: rules out, ledger charged, evaluation internal, reports show it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from privseg.cli import main

BOUNDS = "recency=0:365,frequency=0:50"
KEYS = "loyalty=loyal,lapsed,other"


@pytest.fixture
def labels(tmp_path: Path) -> Path:
    rng = np.random.default_rng(11)
    n = 3000
    recency = rng.uniform(0, 365, n)
    frequency = rng.poisson(6, n)
    loyalty = np.where(recency > 200, "lapsed", np.where(frequency > 8, "loyal", "other"))
    path = tmp_path / "labels.csv"
    pd.DataFrame(
        {
            "外部联系人ID": [f"wm{i:06d}" for i in range(n)],
            "recency": recency.round(2),
            "frequency": frequency,
            "loyalty": loyalty,
        }
    ).to_csv(path, index=False)
    return path


def _tree(tmp_path: Path, labels: Path, *extra: str) -> tuple[int, str]:
    args = [
        "release", "tree", str(labels), "--target", "loyalty", "--features", "recency,frequency",
        "--bounds", BOUNDS, "--keys", KEYS, "--dataset", "crm", "--unit", "外部联系人ID",
        "--ledger", str(tmp_path / "b.db"), "--trail", str(tmp_path / "trail.jsonl"), *extra,
    ]  # fmt: skip
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.output


def _budget(tmp_path: Path, labels: Path, epsilon: str) -> None:
    """Population ``crm`` with ``epsilon``, and ``labels`` (made outside privseg) registered."""
    ledger = str(tmp_path / "b.db")
    for args in (
        ["budget", "set", "crm", "--epsilon", epsilon, "--ledger", ledger],
        ["budget", "register", "crm", str(labels), "--ledger", ledger],
    ):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output


def test_rules_as_table_text_and_json_charged_to_the_ledger(tmp_path: Path, labels: Path) -> None:
    _budget(tmp_path, labels, "2")
    out, report = tmp_path / "rules.csv", tmp_path / "tree.json"
    code, output = _tree(
        tmp_path, labels, "--epsilon", "1", "--out", str(out), "--report", str(report)
    )
    assert code == 0, output
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["target"] == "loyalty" and data["classes"] == ["loyal", "lapsed", "other"]
    assert {r["then"] for r in data["rules"]} == {"loyal", "lapsed", "other"}
    assert 0 < data["predicted_value"] <= 1
    assert "1-DP" in data["guarantee"]
    assert data["release"]["epsilon_spent"] == 1
    assert "1 spent, 1 remaining" in output
    rules = pd.read_csv(out)
    assert len(rules) == len(data["rules"])
    assert rules["text"].str.startswith("if ").all()
    assert "then loyalty = lapsed" in " ".join(rules["text"])
    assert "privseg: rule 1: if " in output  # the text rules on stderr too
    code, output = _tree(
        tmp_path, labels, "--epsilon", "0.5", "--depth", "2", "--out", str(tmp_path / "r.parquet")
    )
    assert code == 0, output
    status = CliRunner().invoke(
        main, ["budget", "status", "--ledger", str(tmp_path / "b.db"), "--format", "json"]
    )
    assert '"kind": "tree"' in status.output
    trail = tmp_path / "trail.jsonl"
    kinds = [json.loads(line)["metrics"].get("release_kind") for line in trail.open()]
    assert kinds == ["tree", "tree"]
    report_md = CliRunner().invoke(
        main,
        ["report", "budget", "--ledger", str(tmp_path / "b.db"), "--format", "md"],
    )
    assert report_md.exit_code == 0 and "tree" in report_md.output
    run = CliRunner().invoke(main, ["report", "run", "--trail", str(trail), "--format", "md"])
    assert run.exit_code == 0 and "release tree" in run.output


def test_over_budget_is_exit_4_and_writes_nothing(tmp_path: Path, labels: Path) -> None:
    _budget(tmp_path, labels, "0.5")
    out = tmp_path / "t.csv"
    code, output = _tree(tmp_path, labels, "--epsilon", "1", "--out", str(out))
    assert code == 4, output
    assert not out.exists()


def test_classes_and_bounds_must_be_declared(tmp_path: Path, labels: Path) -> None:
    _budget(tmp_path, labels, "2")
    result = CliRunner().invoke(
        main,
        [
            "release", "tree", str(labels), "--target", "loyalty", "--features", "recency",
            "--bounds", "recency=0:365", "--epsilon", "1", "--dataset", "crm", "--unit", "id",
            "--ledger", str(tmp_path / "b.db"), "--out", str(tmp_path / "t.csv"),
        ],
    )  # fmt: skip
    assert result.exit_code == 2 and "--keys" in result.output
    code, output = _tree(
        tmp_path, labels, "--features", "recency,frequency,monetary", "--epsilon", "1",
        "--out", str(tmp_path / "t.csv"),
    )  # fmt: skip
    assert code == 2 and "bounds" in output
    assert not (tmp_path / "t.csv").exists()


def test_evaluate_is_printed_internal_and_never_written(tmp_path: Path, labels: Path) -> None:
    _budget(tmp_path, labels, "2")
    out = tmp_path / "rules.csv"
    code, output = _tree(tmp_path, labels, "--epsilon", "1", "--out", str(out), "--evaluate")
    assert code == 0, output
    assert "INTERNAL" in output and "nonprivate_heldout_accuracy" in output
    table = pd.read_csv(out)
    assert list(table.columns[:3]) == ["rule", "conditions", "loyalty"]
    assert "heldout" not in out.read_text(encoding="utf-8")
